package recorder

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// pageEvent is one event the page emits through the binding (see the page
// contract). Only the fields of its type are set.
type pageEvent struct {
	Type string  `json:"type"`
	T    float64 `json:"t"` // ms since the epoch, browser clock

	State string `json:"state"` // state

	Code    string `json:"code"` // error
	Message string `json:"message"`

	ID         string `json:"id"` // participant-*, dominant-speaker, track
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	VideoType  string `json:"videoType"`
	Muted      bool   `json:"muted"`
	Removed    bool   `json:"removed"`
	SSRC       uint32 `json:"ssrc"` // track (capture mode tracks)
	SourceName string `json:"sourceName"`

	// Frames is the batch of a frames event (capture mode tracks), left
	// for tracks.DecodeFrames.
	Frames json.RawMessage `json:"frames"`

	MimeType   string `json:"mimeType"` // encoder
	VideoCodec string `json:"videoCodec"`
	AudioCodec string `json:"audioCodec"`
	Container  string `json:"container"`

	Gen  int64  `json:"gen"` // chunk, encoder: the encoder generation
	Seq  int64  `json:"seq"` // chunk
	Data string `json:"data"`

	Reason   string `json:"reason"`   // reconnecting
	Attempts int    `json:"attempts"` // reconnected

	Participants int     `json:"participants"` // stats
	VideoTracks  int     `json:"videoTracks"`
	AudioTracks  int     `json:"audioTracks"`
	FPS          float64 `json:"fps"`
	DrawShare    float64 `json:"drawShare"` // of the page's main thread, drawing the composite
}

func decodeEvent(payload string) (pageEvent, error) {
	var ev pageEvent
	if err := json.Unmarshal([]byte(payload), &ev); err != nil {
		return ev, fmt.Errorf("decode page event: %w", err)
	}
	if ev.Type == "" {
		return ev, fmt.Errorf("decode page event: no type")
	}
	return ev, nil
}

// time is the event's timestamp, or now when the page sent none.
func (ev pageEvent) time() time.Time {
	if ev.T <= 0 || math.IsNaN(ev.T) {
		return time.Now()
	}
	sec, frac := math.Modf(ev.T / 1000)
	return time.Unix(int64(sec), int64(frac*1e9))
}

// startOptions are the arguments of window.recorder.start (page contract).
type startOptions struct {
	Domain             string   `json:"domain"`
	Room               string   `json:"room"`
	Tenant             string   `json:"tenant"`
	JWT                string   `json:"jwt"`
	Password           string   `json:"password"`
	DisplayName        string   `json:"displayName"`
	Width              int      `json:"width"`
	Height             int      `json:"height"`
	FPS                int      `json:"fps"`
	VideoBitsPerSecond int      `json:"videoBitsPerSecond"`
	AudioBitsPerSecond int      `json:"audioBitsPerSecond"`
	ChunkMs            int      `json:"chunkMs"`
	MimeTypes          []string `json:"mimeTypes"`
	AudioOnly          bool     `json:"audioOnly"`
	// Capture is "tracks" (hand over encoded frames) or "composite".
	Capture string `json:"capture"`
	// ReconnectTimeoutMs bounds the rejoins after the meeting was lost
	// (absent: the page's default).
	ReconnectTimeoutMs int64 `json:"reconnectTimeoutMs,omitempty"`
	// NoMediaMs without inbound media makes a media-gap.
	NoMediaMs int64 `json:"noMediaMs"`
	// RejoinAfterMs of no media while tracks are unmuted makes the page
	// rejoin; 0 disables that.
	RejoinAfterMs int64 `json:"rejoinAfterMs"`
	// ConfigOverrides are the #config.x=y values of the room URL.
	ConfigOverrides map[string]any `json:"configOverrides,omitempty"`
}

// mimeTypes in order of preference: H.264 can be copied into MP4. Audio
// as PCM first: FFmpeg converts the audio to AAC either way, and Chromium's
// MediaRecorder stamps Opus audio about 50 ms late against the video (the
// lab's flash-and-beep markers read -46 ms straight from the sender's own
// tracks with Opus, +8 ms with PCM).
var mimeTypes = []string{
	"video/x-matroska;codecs=avc1,pcm",
	"video/x-matroska;codecs=avc1,opus",
	"video/webm;codecs=h264,opus",
	"video/webm;codecs=vp8,opus",
}

// startExpression is the JavaScript that starts the page. The options are
// JSON, which is a valid JS literal (encoding/json escapes <, >, & and the
// line separators), so no value can break out of it. It resolves to "" or
// to "error:<code>", so a rejected start is not a CDP exception.
func startExpression(opts startOptions) (string, error) {
	b, err := json.Marshal(opts)
	if err != nil {
		return "", err
	}
	return `(async () => {
	if (!window.recorder || typeof window.recorder.start !== "function") throw new Error("not-jitsi");
	await window.recorder.start(` + string(b) + `);
	return "";
})().catch(e => "error:" + ((e && e.message) || String(e)))`, nil
}

const stopExpression = `(async () => {
	if (window.recorder && typeof window.recorder.stop === "function") await window.recorder.stop();
	return "";
})().catch(e => "error:" + ((e && e.message) || String(e)))`

// setPaceExpression asks the page for a composite frame rate (%d); it
// returns "" or what went wrong.
const setPaceExpression = `(() => {
	if (!window.recorder || typeof window.recorder.setPace !== "function") return "the page cannot change its frame rate";
	return window.recorder.setPace(%d);
})()`

// restartEncoderExpression asks the page for a new MediaRecorder; it
// resolves to "" or "error:<message>".
const restartEncoderExpression = `(async () => {
	if (!window.recorder || typeof window.recorder.restartEncoder !== "function") return "error:the page cannot restart its encoder";
	const r = await window.recorder.restartEncoder();
	return typeof r === "string" ? r : "";
})().catch(e => "error:" + ((e && e.message) || String(e)))`
