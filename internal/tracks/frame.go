// Package tracks turns the encoded frames the recorder page taps from each
// WebRTC receiver into per-participant tracks: it places every frame on the
// recording's timeline and writes each track, as received (no transcoding),
// into a Matroska file that stays playable if the process is killed.
package tracks

import "time"

// Kind is a track's media kind.
type Kind string

const (
	Audio Kind = "audio"
	Video Kind = "video"
)

// Frame is one encoded frame as the page's receiver transform saw it.
type Frame struct {
	SSRC  uint32
	Kind  Kind
	Codec string // lower case: "opus", "vp8", "vp9", "av1", "h264"
	// RTPTime is the frame's RTP timestamp (90 kHz video, 48 kHz Opus).
	RTPTime uint32
	// Received is when the browser received the frame (wall clock).
	Received time.Time
	Keyframe bool // video only
	// Width and Height are set on video keyframes when the browser knows them.
	Width, Height int
	// Participant is the endpoint that owned the SSRC when the frame
	// arrived ("" when the page did not know yet); Source is the
	// lib-jitsi-meet source name, if any.
	Participant string
	Source      string
	Data        []byte
}
