// Package page holds the recorder's in-browser page: recorder.html and
// recorder.js. Go serves them at the deployment's own origin (by CDP Fetch
// interception of <origin>/<tenant/>_recorder*), so the page loads the
// deployment's config.js and lib-jitsi-meet, joins the meeting, composes the
// remote video on a canvas, mixes the remote audio with WebAudio and records
// both with one MediaRecorder.
//
// The page talks to Go through the CDP binding EmitBinding: it calls
// __recorderEmit(JSON.stringify(event)) for every event (state, error,
// participant-joined/left/renamed, dominant-speaker, track, encoder, chunk,
// stats, stopped). Go drives it with window.recorder.start(opts) and
// window.recorder.stop(); window.recorder.debug() returns the current layout.
// The full contract is in the design notes shared with the Go side.
//
// Encoder generations: {type:'chunk', gen, seq, data} and {type:'encoder',
// gen, mimeType, videoCodec, audioCodec, container, t}. gen is 0 for the
// first MediaRecorder of a page load; window.recorder.restartEncoder()
// stops it and starts gen+1 on the same composite stream (seq from 0, chunk
// 0 starts a new Matroska header; t = the new file's time 0, epoch ms) and
// resolves "" once it records, else "error:<msg>". The old generation's
// last chunks may still arrive after that.
//
// Faults, once the page reached state 'recording' (before that a failure
// fails start() as it always did):
//   - {type:'reconnecting', reason, t}: the meeting was lost; reason is
//     'connection-lost' (XMPP connection failed or disconnected),
//     'conference-lost' (conference failed or left without stop()) or
//     'no-media' (a media gap of rejoinAfterMs). The page emits
//     participant-left (after track removed) for everyone, keeps drawing and
//     encoding, disposes the old conference and connection and joins again
//     after 1, 2, 4, 8, 10, 10... s until reconnectTimeoutMs has passed.
//   - {type:'reconnected', attempts, t}: joined again; participant-joined
//     and track events follow as usual.
//   - giving up: {type:'error', code:'connection-failed', message:'gave up
//     reconnecting after N s: ...'} then state 'left'. Refusals during a
//     rejoin (password-*, members-only, lobby, auth-failed) and 'kicked' at
//     any time are fatal the same way, with their own code.
//   - {type:'media-gap', state:'start'|'end', t}: while joined with an
//     unmuted remote track, the inbound RTP bytes (getStats of the bridge
//     connection) did not grow for noMediaMs (start, t = last growth) /
//     grew again (end, t = now). A gap also ends when, joined, nobody has
//     been unmuted for noMediaMs (t = since then); one open while
//     reconnecting stays open until media flows again.
//
// While reconnecting, the join states (connecting, connected, joining,
// lobby, joined) are not emitted again: the page stays 'recording'.
//
// start(opts) takes reconnectTimeoutMs (default 120000), noMediaMs (4000)
// and rejoinAfterMs (30000; 0 = never rejoin for lack of media).
//
// audioOnly receives no video at all: the conference is created with
// channelLastN and startLastN 0, and setLastN(0) plus receiver constraints
// with lastN 0 are sent on join; video tracks are neither attached nor
// reported (no track events of kind video).
//
// Track capture (start({capture: 'tracks', ...}), CaptureTracks): the page
// makes no canvas, WebAudio mix, media element or MediaRecorder. Each remote
// RTCRtpReceiver gets an RTCRtpScriptTransform whose worker copies every
// encoded frame; the page emits them in {type:'frames'} batches (every
// 50 ms while frames flow, an empty one at least every second), and 'track'
// events carry ssrc and sourceName. It emits no 'encoder' or 'chunk'
// events; 'recording' comes as soon as it joined (t = then), and start()
// resolves {mimeType: "", capture: "tracks"}. The stats event's fps is
// video frames tapped per second (afps audio, bytesPerSecond,
// pendingBytes, droppedFrames). Joining, participant/track events, the
// media watchdog, reconnects and stop() are as in the composite mode.
// Wire format: docs/page-contract.md.
package page

import (
	"embed"
	"io/fs"
)

// Capture modes: start()'s capture option.
const (
	// CaptureComposite is the default: one composite file in 'chunk' events.
	CaptureComposite = "composite"
	// CaptureTracks taps each receiver's encoded frames ('frames' events).
	CaptureTracks = "tracks"
)

// EmitBinding is the name of the CDP binding (Runtime.addBinding) the page
// calls with one JSON event per call.
const EmitBinding = "__recorderEmit"

//go:embed recorder.html recorder.js
var files embed.FS

// Files returns the page's files; its root holds recorder.html and
// recorder.js.
func Files() fs.FS { return files }
