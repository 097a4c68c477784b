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
// VIDEO_FPS gives VIDEO_FPS back, not more.
func TestSetPaceLowersAndRestoresTheCompositeFrameRate(t *testing.T) {
	needFFmpeg(t)
	h := newHarness(t, fakeDeployment(t))
	startRecording(t, h, "")

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
	// Media time 0 is the page's encoder start; the paced window in
	// media time, a second inside each end to be clear of the switch.
	start := time.UnixMilli(evalStart(t, h))
	from := pacedFrom.Sub(start).Seconds() + 1
	to := pacedTo.Sub(start).Seconds() - 1
	n := 0
	for _, p := range pts {
		if p >= from && p < to {
			n++
		}
	}
	if to-from < 2 {
		t.Fatalf("paced window %.1f..%.1f s too short to judge", from, to)
	}
	if rate := float64(n) / (to - from); rate < 8 || rate > 12 {
		t.Errorf("file holds %.1f frames/s between %.1f and %.1f s (paced at 10), %d frames in all", rate, from, to, len(pts))
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
