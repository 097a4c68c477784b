package page

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/ffmpeg"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/participants"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/verify"
)

// TestRecordingPipelineKeepsAudioAndVideoInSync measures the recorder's own
// pipeline, without WebRTC: a local participant built by the lab's sender
// (a canvas that flashes white and a WebAudio beep, both at the same
// wall-clock instants) goes through the compositor, the WebAudio mix,
// MediaRecorder and FFmpeg, and the lab's verifier reads the A/V offset at
// each marker. What WebRTC adds is measured by the end-to-end tests.
func TestRecordingPipelineKeepsAudioAndVideoInSync(t *testing.T) {
	needFFmpeg(t)
	spec := media.NewSpec(1)
	spec.Markers.PeriodMS = 2000 // more markers in a short recording
	synth, err := fs.ReadFile(participants.Assets(), "synth.js")
	if err != nil {
		t.Fatal(err)
	}
	p := spec.Participants[0]
	senderOpts, err := json.Marshal(map[string]any{
		"width": spec.Width, "height": spec.Height, "fps": spec.FPS, "color": p.Hex, "name": p.Name, "toneHz": p.ToneHz,
		"markers": map[string]any{"period_ms": spec.Markers.PeriodMS, "duration_ms": spec.Markers.DurationMS, "beep_hz": spec.Markers.BeepHz},
	})
	if err != nil {
		t.Fatal(err)
	}

	h := newHarness(t, fakeDeployment(t))
	h.open("/_recorder")
	if err := h.eval(string(synth)); err != nil {
		t.Fatalf("load synth.js: %v", err)
	}
	if err := h.eval(`window.recorder._test.startEncoding(` + startOpts("") + `).then(() => undefined)`); err != nil {
		t.Fatalf("start: %v\n%s", err, h.describe())
	}
	add := `(async () => {
    const ctx = new AudioContext({ sampleRate: 48000 });
    await ctx.resume();
    window.__sender = new LabSynth.Sender(ctx, ` + string(senderOpts) + `);
    const s = window.__sender;
    document.body.appendChild(s.canvas); // as on the lab's participant page: captured at its frame rate
    window.recorder._test.addParticipant('p1', ` + jsQuote(p.Name) + `, new MediaStream([ s.videoTrack(), s.audioTrack() ]));
    // The sender's own tracks, recorded as they are: the reference. PCM,
    // because MediaRecorder stamps Opus audio ~50 ms late: an Opus
    // reference hid exactly that offset in the recorder's output.
    const raw = new MediaRecorder(new MediaStream([ s.videoTrack(), s.audioTrack() ]), { mimeType: 'video/x-matroska;codecs=avc1,pcm' });
    window.__raw = { mr: raw, parts: [] };
    raw.ondataavailable = e => window.__raw.parts.push(e.data);
    raw.start(1000);
})()`
	if err := h.eval(add); err != nil {
		t.Fatalf("add participant: %v", err)
	}
	meter := startBusyMeter()
	time.Sleep(12 * time.Second)
	rawData := evalValue[string](h, `new Promise((resolve, reject) => {
    const r = window.__raw;
    r.mr.onstop = () => {
        const fr = new FileReader();
        fr.onload = () => resolve(String(fr.result).split(';base64,')[1]);
        fr.onerror = () => reject(fr.error);
        fr.readAsDataURL(new Blob(r.parts));
    };
    r.mr.stop();
})`)
	if err := h.eval(`window.recorder.stop()`); err != nil {
		t.Fatal("stop: ", err)
	}
	h.waitFor(func(e event) bool { return e.Type == "stopped" }, 5*time.Second)
	busy, stalled := meter.busy(), meter.stallShare() // over the recording, not FFmpeg's work below
	raw, err := base64.StdEncoding.DecodeString(rawData)
	if err != nil {
		t.Fatal(err)
	}

	// The sender's own recording is the reference for how far apart its
	// flash and beep already are; a headless tab captures its canvas at a
	// few fps when the machine is busy, and then it has too few markers.
	sender, senderOK := measureSync(t, "sender", raw, spec)
	recorded, ok := measureSync(t, "recorder", h.file(), spec)
	if !ok {
		if busy {
			// A starved renderer captures the flashes at a few fps.
			t.Skipf("recorder: %d markers matched on a busy machine: nothing to measure", recorded.N)
		}
		t.Fatalf("recorder: %d markers matched, want >= 3", recorded.N)
	}
	added := recorded.Mean
	if senderOK {
		added -= sender.Mean
	}
	t.Logf("A/V offset (flash - beep; + = video late): through the recorder %+.0f ms (min %+.0f, max %+.0f), sender's own tracks %+.0f ms (%d markers): the recorder adds %+.0f ms (machine busy: %v, CPU stalled %.0f %% of the time)",
		recorded.Mean, recorded.Min, recorded.Max, sender.Mean, sender.N, added, busy, 100*stalled)
	// Within about a frame (33 ms) when the machine has CPU to spare; a
	// starved renderer only gets the hard limit.
	limit := 40.0
	if busy {
		limit = 100
	}
	if math.Abs(added) > limit {
		t.Errorf("the recording pipeline moves audio against video by %+.0f ms, want within ±%.0f ms", added, limit)
	}
}

// measureSync puts a MediaRecorder stream through FFmpeg as the recorder
// does and returns the verifier's A/V offsets.
func measureSync(t *testing.T, what string, stream []byte, spec media.Spec) (verify.OffsetStats, bool) {
	t.Helper()
	out := filepath.Join(t.TempDir(), what+".mp4")
	ff, err := ffmpeg.Start(t.Context(), ffmpeg.Options{Output: out, VideoCodec: "h264"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ff.Write(stream); err != nil {
		t.Fatal(err)
	}
	if err := ff.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	rep, err := verify.Verify(ctx, out, spec)
	if err != nil {
		t.Fatalf("verify %s: %v", what, err)
	}
	var sum bytes.Buffer
	verify.WriteSummary(&sum, rep)
	t.Logf("%s, verifier:\n%s", what, sum.String())
	if dir := os.Getenv("KEEP_SYNC_RECORDINGS"); dir != "" {
		b, _ := os.ReadFile(out)
		os.WriteFile(filepath.Join(dir, what+".mp4"), b, 0o644)
	}
	return rep.AVOffsetMS, rep.AVOffsetMS.N >= 3
}

func jsQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
