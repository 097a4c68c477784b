package page

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSetPaceLowersAndRestoresTheCompositeFrameRate: setPace(10) makes the
// page draw, and the file hold, about 10 frames a second; a rate above
// VIDEO_FPS gives VIDEO_FPS back, not more. Before that, a still picture
// is recorded at the full rate.
func TestSetPaceLowersAndRestoresTheCompositeFrameRate(t *testing.T) {
	needFFmpeg(t)
	h := newHarness(t, fakeDeployment(t))
	startRecording(t, h, "")
	// A still picture: the compositor has nothing new to draw, and the
	// file must keep its frame rate all the same.
	if err := h.eval(`fakeMeeting.freezeVideo('a1')`); err != nil {
		t.Fatal(err)
	}

	statsAfter := func(since time.Time) event {
		t.Helper()
		// A stats period that starts after since: it saw only the new rate.
		return h.waitFor(func(e event) bool { return e.Type == "stats" && e.T >= since.Add(2100*time.Millisecond).UnixMilli() }, 10*time.Second)
	}
	full := statsAfter(time.Now())
	if full.Fps < 25 || full.Fps > 33 {
		t.Fatalf("composite at %.1f fps before setPace, want about 30", full.Fps)
	}

	if got := evalValue[string](h, `window.recorder.setPace(10)`); got != "" {
		t.Fatalf("setPace(10): %q", got)
	}
	pacedFrom := time.Now()
	paced := statsAfter(pacedFrom)
	if paced.Fps < 8.5 || paced.Fps > 11.5 {
		t.Errorf("composite at %.1f fps after setPace(10)", paced.Fps)
	}
	h.waitFor(func(e event) bool { return e.Type == "stats" && e.T >= paced.T+1 }, 10*time.Second)
	pacedTo := time.Now()

	if got := evalValue[string](h, `window.recorder.setPace(1000)`); got != "" {
		t.Fatalf("setPace(1000): %q", got)
	}
	back := statsAfter(time.Now())
	if back.Fps < 25 || back.Fps > 33 {
		t.Errorf("composite at %.1f fps after setPace(1000), want VIDEO_FPS (30) again", back.Fps)
	}
	stopRecording(t, h)

	// The file: frames per second of media inside the paced window.
	raw := filepath.Join(t.TempDir(), "paced.mkv")
	if err := os.WriteFile(raw, h.genFile(0), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time",
		"-of", "csv=p=0", raw).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var pts []float64
	for _, line := range strings.Fields(string(out)) {
		if v, err := strconv.ParseFloat(strings.TrimSuffix(line, ","), 64); err == nil {
			pts = append(pts, v)
		}
	}
	if len(pts) == 0 {
		t.Fatal("no video packets in the file")
	}
	// Media time 0 is the page's encoder start; the windows in media
	// time, a second inside each end to be clear of the switch.
	start := time.UnixMilli(evalStart(t, h))
	rate := func(from, to float64) float64 {
		t.Helper()
		if to-from < 2 {
			t.Fatalf("window %.1f..%.1f s too short to judge", from, to)
		}
		n := 0
		for _, p := range pts {
			if p >= from && p < to {
				n++
			}
		}
		return float64(n) / (to - from)
	}
	// At full rate the file keeps 30 fps even where the picture does not
	// change: the compositor redraws only what moved.
	fullTo := pacedFrom.Sub(start).Seconds() - 1
	if r := rate(1, fullTo); r < 27 || r > 33 {
		t.Errorf("file holds %.1f frames/s between 1 and %.1f s (VIDEO_FPS 30), %d frames in all", r, fullTo, len(pts))
	}
	from, to := pacedFrom.Sub(start).Seconds()+1, pacedTo.Sub(start).Seconds()-1
	if r := rate(from, to); r < 8 || r > 12 {
		t.Errorf("file holds %.1f frames/s between %.1f and %.1f s (paced at 10), %d frames in all", r, from, to, len(pts))
	}
}

// evalStart returns the unix milliseconds of gen 0's encoder start.
func evalStart(t *testing.T, h *harness) int64 {
	t.Helper()
	for _, e := range h.snapshot() {
		if e.Type == "encoder" && e.Gen == 0 {
			return e.T
		}
	}
	t.Fatal("no encoder event")
	return 0
}
