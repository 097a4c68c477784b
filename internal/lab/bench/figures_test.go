package bench

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestCoresIsCPUTimeOverWallTime(t *testing.T) {
	if got := cores(150, 100, 1); got != 1.5 {
		t.Errorf("150 ticks in 1 s at 100 Hz = %v cores, want 1.5", got)
	}
	if got := cores(50, 100, 0); got != 0 {
		t.Errorf("zero interval gives %v, want 0", got)
	}
}

func TestCPUFiguresAverageOverTheWindowAndPeakOverAll(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	samples := []Sample{
		{At: at(0), RSSKB: map[string]uint64{"recorder/chromium": 100 * 1024}},
		// start-up burst, before the window
		{At: at(1), DT: time.Second, MachineDT: time.Second, MachineBusyTicks: 200,
			CPUTicks: map[string]uint64{"recorder/chromium": 180, "recorder/ffmpeg": 0, "lab/participants": 20},
			RSSKB:    map[string]uint64{"recorder/chromium": 300 * 1024, "recorder/ffmpeg": 10 * 1024}, RecorderPSSKB: 200 * 1024},
		{At: at(2), DT: time.Second, MachineDT: time.Second, MachineBusyTicks: 150,
			CPUTicks: map[string]uint64{"recorder/chromium": 50, "recorder/ffmpeg": 10, "lab/participants": 60},
			RSSKB:    map[string]uint64{"recorder/chromium": 250 * 1024, "recorder/ffmpeg": 40 * 1024}, RecorderPSSKB: 150 * 1024},
		{At: at(3), DT: time.Second, MachineDT: time.Second, MachineBusyTicks: 150,
			CPUTicks: map[string]uint64{"recorder/chromium": 70, "recorder/ffmpeg": 10, "lab/participants": 40},
			RSSKB:    map[string]uint64{"recorder/chromium": 260 * 1024, "recorder/ffmpeg": 45 * 1024}, RecorderPSSKB: 160 * 1024},
	}
	got := cpuFigures(samples, at(1), at(3), 100)
	want := map[string]float64{
		"cpu_avg_cores.recorder/chromium": 0.6, // (50+70)/100/2
		"cpu_avg_cores.recorder/ffmpeg":   0.1,
		"cpu_avg_cores.recorder/total":    0.7,
		"cpu_avg_cores.lab/total":         0.5,
		"cpu_avg_cores.machine":           1.5,
		"cpu_avg_cores.outside":           0.3,
		"cpu_peak_cores.recorder/total":   1.8,
		"cpu_peak_cores.machine":          2.0,
		"cpu_s.recorder/chromium":         3.0,
		"cpu_s.recorder/total":            3.2,
		"rss_peak_mb.recorder/chromium":   300,
		"rss_peak_mb.recorder/ffmpeg":     45,
		"rss_peak_mb.recorder/total":      310, // the peak of the sum, not the sum of the peaks
		"pss_peak_mb.recorder/total":      200,
	}
	for k, v := range want {
		if math.Abs(got[k]-v) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestMedianOfOddAndEvenCounts(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median(3,1,2) = %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median(4,1,3,2) = %v", got)
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing should be NaN")
	}
}

func TestSpreadsSkipRunsWithoutTheFigure(t *testing.T) {
	s := spreads([]map[string]float64{{"a": 1, "b": 5}, {"a": 3}, {"a": 2, "b": math.NaN()}})
	if a := s["a"]; a.Median != 2 || a.Min != 1 || a.Max != 3 || a.N != 3 {
		t.Errorf("a = %+v", a)
	}
	if b := s["b"]; b.Median != 5 || b.N != 1 {
		t.Errorf("b = %+v", b)
	}
}

func TestPickScenariosTakesNamesListsAndAll(t *testing.T) {
	got, err := pickScenarios("720p-2, 1080p-4")
	if err != nil || len(got) != 2 || got[0].Name != "720p-2" || got[1].Width != 1920 {
		t.Errorf("got %+v, %v", got, err)
	}
	if all, _ := pickScenarios("all"); len(all) != len(Scenarios) {
		t.Errorf("all gives %d scenarios", len(all))
	}
	if _, err := pickScenarios("4k-100"); !errors.Is(err, ErrUsage) {
		t.Errorf("unknown scenario: %v, want a usage error", err)
	}
}
