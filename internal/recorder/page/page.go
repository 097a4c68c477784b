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
package page

import (
	"embed"
	"io/fs"
)

// EmitBinding is the name of the CDP binding (Runtime.addBinding) the page
// calls with one JSON event per call.
const EmitBinding = "__recorderEmit"

//go:embed recorder.html recorder.js
var files embed.FS

// Files returns the page's files; its root holds recorder.html and
// recorder.js.
func Files() fs.FS { return files }
