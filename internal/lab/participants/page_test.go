package participants

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

// serveAssets serves the pages on loopback as the web front does, under /_lab/.
func serveAssets(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/_lab/", http.StripPrefix("/_lab/", http.FileServerFS(Assets())))
	ts := httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(ts.Close)
	return ts
}

func startLocalGroup(t *testing.T, n int) (*Group, media.Spec) {
	t.Helper()
	if _, err := browser.FindBinary(""); err != nil {
		t.Skip("chromium not installed: ", err)
	}
	ts := serveAssets(t)
	spec := media.NewSpec(n)
	g, err := Start(t.Context(), Config{BaseURL: ts.URL, Spec: spec, Local: true, JoinTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g, spec
}

func hexDistance(a, b string) int {
	pa, pb := parseHex(a), parseHex(b)
	d := 0
	for i := range pa {
		x := pa[i] - pb[i]
		if x < 0 {
			x = -x
		}
		d = max(d, x)
	}
	return d
}

func parseHex(h string) [3]int {
	var out [3]int
	if len(h) != 7 {
		return [3]int{-1000, -1000, -1000}
	}
	for i := range out {
		v, _ := strconv.ParseUint(h[1+2*i:3+2*i], 16, 8)
		out[i] = int(v)
	}
	return out
}

func TestLocalPageSendsColourCounterToneAndReceivesThemBack(t *testing.T) {
	g, spec := startLocalGroup(t, 1)
	me := spec.Participants[0]
	tabCtx := g.tab(0).ctx

	// The canvas has the participant's colour (away from the text).
	pixel := func() string {
		s, err := chromedp.Run(tabCtx, chromedp.Evaluate[string](`(() => {
			const d = document.getElementById('self-canvas').getContext('2d').getImageData(5, 5, 1, 1).data;
			return '#' + [d[0], d[1], d[2]].map(x => x.toString(16).padStart(2, '0')).join('');
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first, _ := g.Reports(t.Context())
	time.Sleep(1500 * time.Millisecond)
	if c := pixel(); c != me.Hex && c != "#ffffff" {
		t.Errorf("canvas colour %s, want %s", c, me.Hex)
	}

	// Wait for the loopback to carry video and the tone (and a marker beep).
	var r Report
	deadline := time.Now().Add(15 * time.Second)
	for {
		reports, err := g.Reports(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		r = reports[0]
		lb := r.Remotes["loopback"]
		beep := strconv.FormatFloat(spec.Markers.BeepHz, 'f', -1, 64)
		// The frame rate is averaged from the first frame: wait for it to
		// settle too (a loaded machine starts slowly).
		if lb.VideoFramesIncreasing && lb.Heard && lb.ToneMaxDB[beep] > HeardDB && lb.VideoColor != "" && lb.VideoFPS >= 15 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("loopback not received: %+v", r)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if r.Self.FramesSent <= first[0].Self.FramesSent {
		t.Errorf("frame counter did not advance: %d then %d", first[0].Self.FramesSent, r.Self.FramesSent)
	}
	lb := r.Remotes["loopback"]
	t.Logf("self: %+v", r.Self)
	t.Logf("loopback: %+v", lb)
	if lb.VideoFPS < 15 {
		t.Errorf("received %.1f fps, want about %d", lb.VideoFPS, spec.FPS)
	}
	if d := hexDistance(lb.VideoColor, me.Hex); d > 30 {
		t.Errorf("received colour %s, want about %s", lb.VideoColor, me.Hex)
	}
	if lb.PeakToneHz != me.ToneHz {
		t.Errorf("peak tone %g Hz, want %g", lb.PeakToneHz, me.ToneHz)
	}
	if lvl := lb.ToneLevelsDB[strconv.FormatFloat(me.ToneHz, 'f', -1, 64)]; lvl < -20 || lvl > -6 {
		t.Errorf("tone level %.1f dBFS, want about -12", lvl)
	}
	if r.Self.LastBeepAt%int64(spec.Markers.PeriodMS) != 0 {
		t.Errorf("beep at %d, not on a marker", r.Self.LastBeepAt)
	}

	// At the next marker the canvas is white, and afterwards coloured again.
	flash, err := chromedp.Run(tabCtx, chromedp.Evaluate[[]string](fmt.Sprintf(`(async () => {
		const period = %d, dur = %d;
		const px = () => { const d = document.getElementById('self-canvas').getContext('2d').getImageData(5, 5, 1, 1).data;
			return '#' + [d[0], d[1], d[2]].map(x => x.toString(16).padStart(2, '0')).join(''); };
		const sleep = ms => new Promise(r => setTimeout(r, ms));
		// Timers fire late on a loaded machine: a "before" sample taken
		// at or after the marker does not count, try the next marker.
		let next, before;
		for (let tries = 0; tries < 3; tries++) {
			next = Math.ceil((Date.now() + 500) / period) * period;
			await sleep(next - 300 - Date.now());
			before = px();
			if (Date.now() < next) break;
			before = 'late';
		}
		// Any white sample within the marker.
		let during = '';
		while (Date.now() < next + dur + 30 && during !== '#ffffff') {
			await sleep(Math.max(0, next - Date.now()) + 5);
			if (Date.now() >= next) during = px();
		}
		// Coloured again after it: a starved draw loop may take a while,
		// but not a whole second.
		let after = '';
		await sleep(next + dur + 20 - Date.now());
		while (Date.now() < next + dur + 1000) {
			after = px();
			if (after !== '#ffffff') break;
			await sleep(20);
		}
		return [before, during, after, String(window.labReport().self.lastFlashAt - next)];
	})()`, spec.Markers.PeriodMS, spec.Markers.DurationMS), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if flash[0] != me.Hex || flash[1] != "#ffffff" || flash[2] != me.Hex {
		t.Errorf("around a marker the canvas was %v, want %s, white, %s", flash[:3], me.Hex, me.Hex)
	}
	if off, _ := strconv.Atoi(flash[3]); off < 0 || off >= spec.Markers.DurationMS {
		t.Errorf("last flash frame %s ms after the marker, want within %d ms", flash[3], spec.Markers.DurationMS)
	}
	lines := Check([]Report{r}, spec, []int{0})
	if len(lines) != 1 || !lines[0].OK {
		t.Errorf("check: %v", lines)
	}
}

func TestLeaveAndJoinAgainInLocalMode(t *testing.T) {
	g, _ := startLocalGroup(t, 2)
	if err := g.Leave(1); err != nil {
		t.Fatal(err)
	}
	if err := g.Leave(1); err == nil {
		t.Error("second leave: want an error")
	}
	if p := g.Present(); len(p) != 1 || p[0] != 0 {
		t.Fatalf("present %v, want [0]", p)
	}
	reports, err := g.Reports(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if reports[1].Present || !reports[0].Present || reports[0].Self.Name != "Participant 1" {
		t.Fatalf("reports after leave: %+v", reports)
	}
	if err := g.Join(1); err != nil {
		t.Fatal(err)
	}
	reports, err = g.Reports(t.Context())
	if err != nil || !reports[1].Self.Joined || reports[1].Self.Name != "Participant 2" {
		t.Fatalf("reports after join: %+v %v", reports, err)
	}
	if g.BrowserPID() <= 0 {
		t.Error("no browser pid")
	}
}

func TestLateJoinerNotStartedUntilJoin(t *testing.T) {
	if _, err := browser.FindBinary(""); err != nil {
		t.Skip("chromium not installed: ", err)
	}
	ts := serveAssets(t)
	g, err := Start(t.Context(), Config{BaseURL: ts.URL, Spec: media.NewSpec(2), JoinAtStart: 1, Local: true})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if p := g.Present(); len(p) != 1 || p[0] != 0 {
		t.Fatalf("present at start %v, want [0]", p)
	}
	if err := g.Join(1); err != nil {
		t.Fatal(err)
	}
	if p := g.Present(); len(p) != 2 {
		t.Fatalf("present after join %v, want [0 1]", p)
	}
}

func TestCloseLeavesNoProcess(t *testing.T) {
	g, _ := startLocalGroup(t, 1)
	pid := g.BrowserPID()
	g.Close()
	g.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if !processAlive(pid) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("chromium %d still running after Close", pid)
}
