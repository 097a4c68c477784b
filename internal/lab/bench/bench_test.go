package bench

import (
	"bytes"
	"log/slog"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSmokeRecordsTwoParticipantsWithPlausibleFigures runs the real thing
// once, briefly: a 2-participant lab, jitsi-recorder for 10 s. It checks
// the figures are there and plausible, not any timing target.
func TestSmokeRecordsTwoParticipantsWithPlausibleFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium, Prosody and FFmpeg for about a minute")
	}
	bin := filepath.Join(t.TempDir(), "jitsi-recorder")
	if out, err := exec.Command("go", "build", "-o", bin, "../../../cmd/jitsi-recorder").CombinedOutput(); err != nil {
		t.Fatalf("build jitsi-recorder: %v\n%s", err, out)
	}
	var logs bytes.Buffer
	cfg := runConfig{Recorder: bin, Duration: 10 * time.Second, Every: 500 * time.Millisecond, Clock: clockTicks(),
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})), ProcRoot: "/proc"}
	// Pinned as the bench runs by default: the lab on one CPU, the
	// recorder on another (this test process is the lab; it is unpinned
	// again before the file is verified).
	allowed, err := allowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Pinning = planPinning(true, allowed)
	if !cfg.Pinning.On {
		t.Logf("smoke run %s", cfg.Pinning)
	}
	sc := Scenario{Name: "smoke", Participants: 2, Width: 1280, Height: 720, FPS: 30}
	r := runOnce(t.Context(), sc, cfg)
	if r.Error != "" {
		t.Fatalf("run failed: %s\nlab log:\n%s", r.Error, logs.String())
	}
	f := r.Figures
	var out bytes.Buffer
	writeScenario(&out, ScenarioResult{Scenario: sc, Resolution: sc.resolution(), DurationS: 10, Runs: []RunResult{r}, Pinned: cfg.Pinning.On})
	t.Logf("figures:\n%s", out.String())

	checks := []struct {
		key    string
		lo, hi float64
	}{
		{"cpu_avg_cores.recorder/total", 0.01, 64},
		{"cpu_s.recorder/chromium", 0.01, 1e4},
		{"cpu_s.lab/participants", 0.01, 1e4},
		{"rss_peak_mb.recorder/total", 50, 1e5},
		{"pss_peak_mb.recorder/total", 20, 1e5},
		{"rss_peak_mb.recorder/ffmpeg", 1, 1e4},
		{"joined_s", 0.01, 120},
		{"first_media_s", 0.01, 120},
		{"join_to_first_media_s", 0.01, 120},
		{"video_frames", 1, 1e6},
		{"bitrate_kbps", 1, 1e6},
		// The breakdown: the recorder's renderer does the work and is
		// named by its --type=; its main thread has a share.
		{"proc_cpu_avg_cores.recorder/chromium:renderer", 0.001, 64},
		{"proc_pss_peak_mb.recorder/chromium:renderer", 5, 1e5},
		{"proc_rss_peak_mb.lab/participants:renderer", 5, 1e5},
		{"video_last_s", 1, 1e4},
	}
	for _, c := range checks {
		v, ok := f[c.key]
		if !ok || v < c.lo || v > c.hi {
			t.Errorf("%s = %v (present %v), want in [%v, %v]", c.key, v, ok, c.lo, c.hi)
		}
	}
	if f["joined_s"] > f["first_media_s"] {
		t.Errorf("joined at %.2f s after the first media at %.2f s", f["joined_s"], f["first_media_s"])
	}
	if p := cfg.Pinning; p.On {
		if r.RecorderCPUs != strconv.Itoa(p.RecorderCPU) || r.LabCPUs != strconv.Itoa(p.LabCPU) {
			t.Errorf("CPUs allowed mid-recording: recorder tree %q, lab %q; want %d and %d", r.RecorderCPUs, r.LabCPUs, p.RecorderCPU, p.LabCPU)
		}
		if after, err := allowedCPUs(); err != nil || !reflect.DeepEqual(after, allowed) {
			t.Errorf("the test process runs on %v (%v) after the run, want %v again", after, err, allowed)
		}
	}
	if len(r.Orphans) > 0 {
		t.Errorf("processes outlived the recorder: %v", r.Orphans)
	}
	if !strings.Contains(out.String(), "recorder tree") {
		t.Errorf("summary lacks the recorder tree:\n%s", out.String())
	}
}
