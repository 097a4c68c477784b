package page

import (
	"context"
	"log/slog"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab"
)

// inbound is what window.recorder._test.inboundBytes() returns.
type inbound struct {
	Audio       int64 `json:"audio"`
	Video       int64 `json:"video"`
	Connections int   `json:"connections"`
	JVB         bool  `json:"jvb"`
}

// TestLabAudioOnlyReceivesNoVideoSurvivesFaults records audio-only from a
// lab meeting with the real lib-jitsi-meet, Prosody and the lab's bridge:
// no video byte arrives while the participant's tone is recorded; a bridge
// that stops forwarding opens and closes a media gap; a Prosody restart
// makes the page rejoin and the recording go on.
func TestLabAudioOnlyReceivesNoVideoSurvivesFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the lab: Prosody and Chromium participants")
	}
	needFFmpeg(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	l, err := lab.Start(ctx, lab.Config{Room: "team-sync", Participants: 1, SendOnly: true, ParticipantsNice: lab.RecorderFirstNice, Logger: log})
	if err != nil {
		t.Skip("lab unavailable: ", err)
	}
	defer l.Close()
	labURL, err := url.Parse(l.Web.URL())
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, deployment{proxy: httputil.NewSingleHostReverseProxy(labURL)})
	h.open("/_recorder")
	if err := h.eval(`window.recorder.start(` + startOpts(`,"audioOnly":true,"noMediaMs":3000,"rejoinAfterMs":0,"reconnectTimeoutMs":90000`) + `).then(() => undefined)`); err != nil {
		t.Fatalf("start: %v\n%s", err, h.describe())
	}
	isAudio := func(e event) bool {
		return e.Type == "track" && e.Kind == "audio" && !strings.Contains(e.Raw, `"removed":true`)
	}
	h.waitFor(isAudio, 30*time.Second)
	time.Sleep(5 * time.Second)

	in := evalValue[inbound](h, `window.recorder._test.inboundBytes()`)
	t.Logf("after the join: %+v", in)
	if !in.JVB || in.Connections == 0 {
		t.Errorf("the bridge connection was not found through the conference: %+v", in)
	}
	if in.Audio == 0 || in.Video != 0 {
		t.Errorf("inbound bytes %+v, want audio only", in)
	}
	for conf, c := range l.Bridge.Stats().Conferences {
		for id, ep := range c.Endpoints {
			if len(ep.Sources) == 0 && ep.LastN != 0 { // the recorder sends nothing
				t.Errorf("bridge: recorder endpoint %s/%s has lastN %d", conf, id, ep.LastN)
			}
		}
	}

	// The bridge stops forwarding: a gap, closed when media flows again.
	l.Bridge.SetPaused(true)
	h.waitFor(isGap("start"), 20*time.Second)
	l.Bridge.SetPaused(false)
	h.waitFor(isGap("end"), 20*time.Second)

	// Prosody restarts: the page rejoins while recording.
	h.clearEvents()
	restarted := time.Now()
	if err := l.Prosody.Restart(ctx); err != nil {
		t.Fatal("restart prosody: ", err)
	}
	rc := h.waitFor(func(e event) bool { return e.Type == "reconnecting" }, 30*time.Second)
	done := h.waitFor(func(e event) bool { return e.Type == "reconnected" }, 90*time.Second)
	t.Logf("%s then %s (%.1f s after the restart began)", rc.Raw, done.Raw, time.Since(restarted).Seconds())
	if rc.Reason != "connection-lost" && rc.Reason != "conference-lost" {
		t.Errorf("reconnecting reason %q", rc.Reason)
	}
	h.waitFor(isAudio, 60*time.Second)
	before := evalValue[inbound](h, `window.recorder._test.inboundBytes()`)
	time.Sleep(3 * time.Second)
	after := evalValue[inbound](h, `window.recorder._test.inboundBytes()`)
	t.Logf("after the rejoin: %+v -> %+v", before, after)
	if after.Audio <= before.Audio || after.Video != 0 {
		t.Errorf("after the rejoin: inbound %+v -> %+v, want audio growing and no video", before, after)
	}
	for _, e := range h.snapshot() {
		if e.Type == "error" {
			t.Errorf("unexpected %s", e.Raw)
		}
	}
	if err := h.eval(`window.recorder.stop()`); err != nil {
		t.Fatal("stop: ", err)
	}
	h.waitFor(func(e event) bool { return e.Type == "stopped" }, 10*time.Second)

	// The file has the participant's tone.
	file := filepath.Join(t.TempDir(), "a.webm")
	if err := os.WriteFile(file, h.file(), 0o644); err != nil {
		t.Fatal(err)
	}
	p := ffprobe(t, file)
	if len(p.Streams) != 1 || p.Streams[0]["codec_name"] != "opus" {
		t.Errorf("streams %v", p.Streams)
	}
	pcm := pcmAt(t, file, 4.0, 1.0)
	tone := l.Spec.Participants[0].ToneHz
	if pt, pc := goertzel(pcm, 48000, tone), goertzel(pcm, 48000, 1230); pt < 100*pc {
		t.Errorf("tone %.0f Hz: power %.3g, control %.3g", tone, pt, pc)
	}
}
