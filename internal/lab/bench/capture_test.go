package bench

import (
	"errors"
	"reflect"
	"testing"
)

func TestRunOrderAlternatesTheModes(t *testing.T) {
	got := runOrder([]string{CaptureComposite, CaptureTracks}, 3)
	want := []string{"composite", "tracks", "composite", "tracks", "composite", "tracks"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if got := runOrder([]string{CaptureTracks}, 2); !reflect.DeepEqual(got, []string{"tracks", "tracks"}) {
		t.Errorf("one mode: %v", got)
	}
}

func TestParseCapture(t *testing.T) {
	for in, want := range map[string][]string{
		"composite": {"composite"},
		"tracks":    {"tracks"},
		"both":      {"composite", "tracks"},
	} {
		if got, err := parseCapture(in); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseCapture("Tracks"); !errors.Is(err, ErrUsage) {
		t.Errorf("unknown mode: %v, want a usage error", err)
	}
}

func TestViewsSplitRunsByModeAndReadOldResultsAsComposite(t *testing.T) {
	sr := ScenarioResult{Captures: []string{"composite", "tracks"}, Runs: []RunResult{
		{Capture: "composite", Figures: map[string]float64{"x": 1}},
		{Capture: "tracks", Figures: map[string]float64{"x": 10}},
		{Capture: "composite", Figures: map[string]float64{"x": 3}},
		{Capture: "tracks", Figures: map[string]float64{"x": 99}, Error: "exit 9"},
	}}
	v := sr.views()
	if len(v) != 2 || v[0].Capture != "composite" || v[1].Capture != "tracks" {
		t.Fatalf("views %+v", v)
	}
	if v[0].OK != 2 || v[0].Summary["x"].Median != 2 || len(v[0].Runs) != 2 {
		t.Errorf("composite: %+v", v[0])
	}
	if v[1].OK != 1 || v[1].Summary["x"].Median != 10 || len(v[1].Runs) != 2 {
		t.Errorf("tracks: the failed run must be left out of the median: %+v", v[1])
	}
	// Saved by a bench without modes: one composite view.
	old := ScenarioResult{Runs: []RunResult{{Figures: map[string]float64{"x": 5}}}}
	if v := old.views(); len(v) != 1 || v[0].Capture != CaptureComposite || v[0].Summary["x"].Median != 5 {
		t.Errorf("old result: %+v", v)
	}
	// No run ok: the spread is over the failed ones.
	bad := ScenarioResult{Captures: []string{"tracks"}, Runs: []RunResult{{Capture: "tracks", Error: "x", Figures: map[string]float64{"cpu": 0.5}}}}
	if v := bad.views(); v[0].OK != 0 || v[0].Summary["cpu"].Median != 0.5 {
		t.Errorf("failed runs: %+v", v)
	}
}
