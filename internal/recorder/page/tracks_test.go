package page

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab"
)

// framesBatch is one 'frames' event of track capture (docs/page-contract.md).
type framesBatch struct {
	T        int64      `json:"t"`
	Frames   []tapFrame `json:"frames"`
	Received time.Time  `json:"-"`
}

type tapFrame struct {
	S   uint32  `json:"s"`
	K   string  `json:"k"`
	C   string  `json:"c"`
	TS  uint32  `json:"ts"`
	R   float64 `json:"r"`
	Key *bool   `json:"key"`
	W   int     `json:"w"`
	H   int     `json:"h"`
	P   string  `json:"p"`
	Src string  `json:"src"`
	D   string  `json:"d"`
}

func (h *harness) framesBatches() []framesBatch {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]framesBatch(nil), h.frames...)
}

// tapDebug is window.recorder.debug() in track capture mode.
type tapDebug struct {
	Mode          string `json:"mode"`
	Compositor    bool   `json:"compositor"`
	Mixer         bool   `json:"mixer"`
	Encoder       bool   `json:"encoder"`
	Canvases      int    `json:"canvases"`
	MediaElements int    `json:"mediaElements"`
	Tapped        struct {
		Audio, Video, Bytes, Batches, Dropped int
	} `json:"tapped"`
}

// countCreations wraps MediaRecorder, document.createElement and
// OffscreenCanvas so that the test sees whether the page makes any of the
// composite's parts (window.__created).
const countCreations = `(() => {
	const c = window.__created = { mediaRecorder: 0, canvas: 0, offscreen: 0, audioContext: 0, media: 0 };
	const MR = window.MediaRecorder;
	window.MediaRecorder = function (...a) { c.mediaRecorder++; return new MR(...a); };
	window.MediaRecorder.isTypeSupported = t => MR.isTypeSupported(t);
	const ce = document.createElement.bind(document);
	document.createElement = (tag, ...r) => {
		const t = String(tag).toLowerCase();
		if (t === 'canvas') c.canvas++;
		if (t === 'audio' || t === 'video') c.media++;
		return ce(tag, ...r);
	};
	if (window.OffscreenCanvas) {
		const OC = window.OffscreenCanvas;
		window.OffscreenCanvas = function (...a) { c.offscreen++; return new OC(...a); };
	}
	const AC = window.AudioContext;
	window.AudioContext = function (...a) { c.audioContext++; return new AC(...a); };
})()`

type created struct {
	MediaRecorder, Canvas, Offscreen, AudioContext, Media int
}

// TestLabTrackCaptureTapsEachParticipantsFrames records a lab meeting of two
// participants (real Prosody, the lab's focus and bridge, the 2021
// lib-jitsi-meet, real Chromium senders) in track capture mode. From the
// frames events: each participant's Opus audio and VP8 video arrive with
// the participant's id (the bridge's own SSRC table says whose they are);
// each SSRC's first video frame is a VP8 keyframe; RTP timestamps rise;
// receive times are close to now; batches come every 50 ms or so. The page
// makes no canvas, media element, AudioContext or MediaRecorder and emits
// no encoder or chunk event; it reaches 'recording' once joined.
func TestLabTrackCaptureTapsEachParticipantsFrames(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the lab: Prosody and Chromium participants")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	l, err := lab.Start(ctx, lab.Config{Room: "track-tap", Participants: 2, SendOnly: true, ParticipantsNice: lab.RecorderFirstNice, Logger: log})
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
	if err := h.eval(countCreations); err != nil {
		t.Fatal(err)
	}
	opts := strings.Replace(startOpts(`,"capture":"tracks"`), `"room":"Team-Sync"`, `"room":"track-tap"`, 1)
	started := time.Now()
	if err := h.eval(`window.recorder.start(` + opts + `).then(() => undefined)`); err != nil {
		t.Fatalf("start: %v\n%s", err, h.describe())
	}
	joined := h.waitFor(func(e event) bool { return e.Type == "state" && e.State == "joined" }, time.Second)
	rec := h.waitFor(func(e event) bool { return e.Type == "state" && e.State == "recording" }, time.Second)
	t.Logf("joined %d ms after start(), recording %d ms after joined", joined.T-started.UnixMilli(), rec.T-joined.T)

	// Both participants' audio and video tracks, then some seconds of media.
	h.waitFor(func(e event) bool {
		n := 0
		for _, e := range h.snapshot() {
			if e.Type == "track" && !strings.Contains(e.Raw, `"removed":true`) {
				n++
			}
		}
		return n >= 4
	}, 30*time.Second)
	time.Sleep(8 * time.Second)
	stats := h.waitFor(func(e event) bool { return e.Type == "stats" }, 5*time.Second)
	t.Logf("stats: %s", stats.Raw)
	meta := evalValue[map[string]any](h, `window.recorder._test.tapMetadata()`)
	t.Logf("worker saw metadata fields: %v", meta)
	dbg := evalValue[tapDebug](h, `window.recorder.debug()`)
	made := evalValue[created](h, `window.__created`)
	t.Logf("debug: %+v; created: %+v", dbg, made)

	// A main thread that cannot emit for a second, with the pending bound
	// lowered to 20 kB: video is shed and each video SSRC resumes with a
	// keyframe (asked for from the sender); audio is kept.
	busyFrom := time.Now()
	if err := h.eval(`(() => { window.recorder._test.setTapMaxPending(20000); const t = Date.now(); while (Date.now() - t < 1000) {} })()`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	busyTo := time.Now()
	if err := h.eval(`window.recorder._test.setTapMaxPending(0)`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	dbg2 := evalValue[tapDebug](h, `window.recorder.debug()`)
	meta2 := evalValue[map[string]any](h, `window.recorder._test.tapMetadata()`)
	t.Logf("after the busy second: dropped %d frames; worker %v", dbg2.Tapped.Dropped, meta2["counts"])
	if dbg2.Tapped.Dropped == 0 {
		t.Error("nothing was shed over the lowered bound")
	}

	if err := h.eval(`window.recorder.stop()`); err != nil {
		t.Fatal("stop: ", err)
	}
	h.waitFor(func(e event) bool { return e.Type == "stopped" }, 10*time.Second)
	// The last batch goes out before 'stopped', none after it.
	time.Sleep(300 * time.Millisecond)
	evs := h.snapshot()
	stoppedAt := index(evs, func(e event) bool { return e.Type == "stopped" })
	for i, e := range evs[stoppedAt:] {
		if e.Type == "frames" {
			t.Errorf("frames event %d after 'stopped'", i)
		}
	}

	// Whose SSRC is whose, from the bridge (endpoint id = participant id).
	ownerOf := map[uint32]string{}
	for _, c := range l.Bridge.Stats().Conferences {
		for id, ep := range c.Endpoints {
			for _, s := range ep.Sources {
				ownerOf[s] = id
			}
		}
	}
	names := map[string]string{} // participant id -> display name
	for _, e := range h.snapshot() {
		switch e.Type {
		case "participant-joined":
			names[e.ID] = e.Name
		case "chunk", "encoder":
			t.Errorf("track capture emitted %s", e.Raw)
		case "error":
			t.Errorf("unexpected %s", e.Raw)
		case "track":
			if !strings.Contains(e.Raw, `"ssrc":`) || !strings.Contains(e.Raw, `"sourceName":`) {
				t.Errorf("track event without ssrc/sourceName: %s", e.Raw)
			}
		}
	}
	if len(names) != 2 {
		t.Fatalf("participants %v, want 2", names)
	}
	for _, p := range l.Spec.Participants[:2] {
		found := false
		for _, n := range names {
			found = found || n == p.Name
		}
		if !found {
			t.Errorf("participant %q did not join (joined: %v)", p.Name, names)
		}
	}

	type streamInfo struct {
		p, kind, codec string
		frames, keys   int
		bytes          int
		first          tapFrame
		lastTS         uint32
		firstR, lastR  float64
		sizes          map[string]bool
		gapTS          uint32 // the largest RTP timestamp step around the busy second
		gapKey         bool   // whether the frame after it was a keyframe
	}
	streams := map[uint32]*streamInfo{}
	batches := h.framesBatches()
	var nonEmpty, total, maxFrames, maxBytes int
	var gaps []float64
	var prev time.Time
	for _, b := range batches {
		if !prev.IsZero() {
			gaps = append(gaps, float64(b.Received.Sub(prev).Milliseconds()))
		}
		prev = b.Received
		if len(b.Frames) > 0 {
			nonEmpty++
		}
		bytes := 0
		for _, f := range b.Frames {
			total++
			data, err := base64.StdEncoding.DecodeString(f.D)
			if err != nil || len(data) == 0 {
				t.Errorf("ssrc %d: bad data (%d bytes, %v)", f.S, len(data), err)
				continue
			}
			bytes += len(data)
			if now := float64(b.T); f.R < now-5000 || f.R > now+50 {
				t.Errorf("ssrc %d: receive time %.1f is %.0f ms from the batch's time %d", f.S, f.R, f.R-now, b.T)
			}
			if f.R < float64(started.UnixMilli()) || f.R > float64(time.Now().UnixMilli()) {
				t.Errorf("ssrc %d: receive time %.1f outside the test (%d..now)", f.S, f.R, started.UnixMilli())
			}
			if want := ownerOf[f.S]; f.P != want {
				t.Errorf("ssrc %d attributed to %q, the bridge says %q", f.S, f.P, want)
			}
			s := streams[f.S]
			if s == nil {
				s = &streamInfo{p: f.P, kind: f.K, codec: f.C, first: f, firstR: f.R, sizes: map[string]bool{}}
				streams[f.S] = s
				if f.K == "v" {
					if f.Key == nil || !*f.Key {
						t.Errorf("ssrc %d: first video frame is no keyframe", f.S)
					} else if len(data) < 10 || data[0]&1 != 0 || data[3] != 0x9d || data[4] != 0x01 || data[5] != 0x2a {
						t.Errorf("ssrc %d: first keyframe is not a VP8 keyframe: % x", f.S, data[:min(10, len(data))])
					}
				}
			} else {
				if d := int32(f.TS - s.lastTS); d <= 0 {
					t.Errorf("ssrc %d (%s): RTP timestamp %d after %d", f.S, f.K, f.TS, s.lastTS)
				} else if f.R > float64(busyFrom.UnixMilli()-500) && f.R < float64(busyTo.UnixMilli()+2500) && uint32(d) > s.gapTS {
					s.gapTS = uint32(d)
					s.gapKey = f.Key != nil && *f.Key
				}
				if f.P != s.p || f.C != s.codec || f.K != s.kind {
					t.Errorf("ssrc %d changed: %+v after p=%s k=%s c=%s", f.S, f, s.p, s.kind, s.codec)
				}
			}
			if s.frames == 0 {
				t.Logf("ssrc %d (%s): first frame received %.0f ms after 'recording'", f.S, f.K, f.R-float64(rec.T))
			}
			s.lastTS = f.TS
			s.lastR = f.R
			s.frames++
			s.bytes += len(data)
			if f.Key != nil && *f.Key {
				s.keys++
			}
			if f.W > 0 {
				s.sizes[fmt.Sprintf("%dx%d", f.W, f.H)] = true
			}
		}
		maxFrames = max(maxFrames, len(b.Frames))
		maxBytes = max(maxBytes, bytes)
	}
	sort.Float64s(gaps)
	if len(gaps) > 0 {
		t.Logf("%d batches (%d with frames), %d frames; frames per batch max %d, bytes per batch max %d; batch interval median %.0f ms, p95 %.0f ms, max %.0f ms",
			len(batches), nonEmpty, total, maxFrames, maxBytes, gaps[len(gaps)/2], gaps[len(gaps)*95/100], gaps[len(gaps)-1])
		if gaps[len(gaps)/2] > 100 {
			t.Errorf("median batch interval %.0f ms, want about 50", gaps[len(gaps)/2])
		}
	}

	// Per participant: Opus audio and VP8 video.
	have := map[string]map[string]bool{}
	for ssrc, s := range streams {
		secs := (s.lastR - s.firstR) / 1000
		t.Logf("ssrc %d: %s (%s) %s %s: %d frames in %.1f s (%.1f/s), %d keyframes, %.0f kbit/s, sizes %v",
			ssrc, s.p, names[s.p], s.kind, s.codec, s.frames, secs, float64(s.frames)/secs, s.keys, float64(s.bytes)*8/secs/1000, keys(s.sizes))
		if have[s.p] == nil {
			have[s.p] = map[string]bool{}
		}
		have[s.p][s.kind+"/"+s.codec] = s.frames > 0
		if s.kind == "v" {
			t.Logf("ssrc %d: largest RTP timestamp step around the busy second %d (%.0f ms), then keyframe %v", ssrc, s.gapTS, float64(s.gapTS)/90, s.gapKey)
			if s.gapTS > 90*200 && !s.gapKey {
				t.Errorf("ssrc %d: video resumed after %.0f ms without a keyframe", ssrc, float64(s.gapTS)/90)
			}
		} else if s.gapTS > 48*100 {
			t.Errorf("ssrc %d: audio has a %.0f ms hole", ssrc, float64(s.gapTS)/48)
		}
		if s.kind == "v" && float64(s.frames)/secs < 10 {
			t.Errorf("ssrc %d: %.1f video frames/s", ssrc, float64(s.frames)/secs)
		}
		if s.kind == "a" && float64(s.frames)/secs < 40 {
			t.Errorf("ssrc %d: %.1f audio frames/s, want ~50", ssrc, float64(s.frames)/secs)
		}
	}
	for id, name := range names {
		if !have[id]["a/opus"] || !have[id]["v/vp8"] {
			t.Errorf("participant %s (%s): streams %v, want a/opus and v/vp8", id, name, have[id])
		}
	}

	// None of the composite's parts.
	if dbg.Mode != "tracks" || dbg.Compositor || dbg.Mixer || dbg.Encoder || dbg.Canvases != 0 || dbg.MediaElements != 0 {
		t.Errorf("debug %+v: want track capture without compositor, mixer, encoder, canvas or media elements", dbg)
	}
	if made != (created{}) {
		t.Errorf("the page created %+v", made)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
