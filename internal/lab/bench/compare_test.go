package bench

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// bothModes is a 720p-4 scenario with a composite and a tracks run.
func bothModes(pinned bool) ScenarioResult {
	sc, _ := pickScenarios("720p-4")
	composite := map[string]float64{
		"cpu_avg_cores.recorder/total": 0.80, "pss_peak_mb.recorder/total": 509, "video_delivered_pct": 99.3,
		"av_offset_mean_ms": 21, "av_offset_max_abs_ms": 57, "audio_tone_present_min_pct": 95,
		"joined_s": 2, "first_media_s": 4.2, "join_to_first_media_s": 2.2, "audio_present": 1,
	}
	tracks := map[string]float64{
		"cpu_avg_cores.recorder/total": 0.40, "pss_peak_mb.recorder/total": 300, "video_delivered_pct": 99.8,
		"av_offset_mean_ms": -5, "av_offset_max_abs_ms": 30, "audio_tone_present_min_pct": 99,
		"joined_s": 2, "first_media_s": 5.5, "join_to_first_media_s": 3.5, "audio_present": 1,
	}
	return ScenarioResult{Scenario: sc[0], Resolution: "1280x720", SendersAre: "640x360@30", DurationS: 30, Pinned: pinned,
		Captures: []string{CaptureComposite, CaptureTracks},
		Runs: []RunResult{
			{Capture: CaptureComposite, Figures: composite, RecorderCPUs: "1", LabCPUs: "0"},
			{Capture: CaptureTracks, Figures: tracks, RecorderCPUs: "1", LabCPUs: "0"},
		}}
}

// line is the summary line starting with label (after the indent), its
// fields split on runs of 2+ spaces.
func line(t *testing.T, text, label string) []string {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), label) {
			return regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(l), -1)
		}
	}
	t.Fatalf("no line %q in:\n%s", label, text)
	return nil
}

func TestSummaryPutsBothModesSideBySideWithTheRatio(t *testing.T) {
	var out bytes.Buffer
	writeScenario(&out, bothModes(true))
	text := out.String()
	t.Logf("\n%s", text)
	if got := line(t, text, "recorder tree CPU avg, cores"); strings.Join(got, "|") != "recorder tree CPU avg, cores|0.80|0.40|x0.50" {
		t.Errorf("CPU line %q", got)
	}
	if got := line(t, text, "recorder tree peak PSS MB"); strings.Join(got, "|") != "recorder tree peak PSS MB|509|300|x0.59" {
		t.Errorf("PSS line %q", got)
	}
	if got := line(t, text, "A/V offset mean"); got[1] != "21" || got[2] != "-5" || got[3] != "Δ -26" {
		t.Errorf("A/V line %q", got)
	}
	// Figures neither mode has (a scenario without video) are left out.
	if strings.Contains(text, "longest frozen") {
		t.Errorf("a row without figures is printed:\n%s", text)
	}
	for _, want := range []string{"capture composite and tracks, taking turns", "composite: 1 of 1 runs ok; tracks: 1 of 1 runs ok",
		"composite: CPUs allowed mid-recording: recorder tree 1; lab 0"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q", want)
		}
	}
}

func TestSummaryJudgesEachModeAgainstTheTargets(t *testing.T) {
	var out bytes.Buffer
	writeScenario(&out, bothModes(true))
	text := out.String()
	checks := map[string][2]string{
		"frames delivered >= 99.5 %":             {"99.3 missed", "99.8 met"},
		"A/V offset, mean within ±20 ms":         {"+21 missed", "-5 met"},
		"A/V offset, every marker within ±40 ms": {"+57 missed", "+30 met"},
		"every tone present >= 98 % of windows":  {"95 missed", "99 met"},
		"recorder tree CPU, avg <= 0.60 core":    {"0.80 missed", "0.40 met"},
		"recorder tree peak PSS <= 400 MB":       {"509 missed", "300 met"},
		"join -> first media on disk <= 3.0 s":   {"2.2 met", "3.5 missed"},
	}
	for label, want := range checks {
		got := line(t, text, label)
		if len(got) != 3 || got[1] != want[0] || got[2] != want[1] {
			t.Errorf("%s: %q, want %q", label, got, want)
		}
	}
	if !strings.Contains(text, "targets (issue 11; medians of runs; the lab on one CPU, the recorder on another)") {
		t.Errorf("targets header missing:\n%s", text)
	}
	out.Reset()
	writeScenario(&out, bothModes(false))
	if !strings.Contains(out.String(), "this run was NOT pinned") {
		t.Errorf("an unpinned run's targets do not say so:\n%s", out.String())
	}
}

func TestSummaryOfOneModeKeepsTheLongFormWithTargets(t *testing.T) {
	sr := bothModes(true)
	sr.Captures, sr.Runs = []string{CaptureTracks}, sr.Runs[1:]
	var out bytes.Buffer
	writeScenario(&out, sr)
	text := out.String()
	for _, want := range []string{"capture tracks\n", "1 of 1 runs ok", "recorder tree", "join -> first media on disk 3.50 s"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	if got := line(t, text, "frames delivered >= 99.5 %"); len(got) != 2 || got[1] != "99.8 met" {
		t.Errorf("target line %q", got)
	}
}

func TestAModeWithoutAGoodRunMissesItsTargets(t *testing.T) {
	sr := bothModes(true)
	sr.Runs[1].Error = "jitsi-recorder exited with code 9"
	var out bytes.Buffer
	writeScenario(&out, sr)
	text := out.String()
	if got := line(t, text, "recorder tree CPU, avg <= 0.60 core"); got[2] != "0.40 missed (no run ok)" {
		t.Errorf("CPU target of a failed mode: %q", got)
	}
	if !strings.Contains(text, "tracks run 1 FAILED: jitsi-recorder exited with code 9") {
		t.Errorf("the failure is not named:\n%s", text)
	}
}

func TestRatioAndDifferenceNeedBothFigures(t *testing.T) {
	a := map[string]Spread{"k": {Median: 2}, "zero": {Median: 0}}
	b := map[string]Spread{"k": {Median: 3}, "zero": {Median: 1}}
	if got := ratio(a, b, "k"); got != "x1.50" {
		t.Errorf("ratio %s", got)
	}
	if got := ratio(a, b, "zero"); got != "–" {
		t.Errorf("over zero: %s", got)
	}
	if got := ratio(a, map[string]Spread{}, "k"); got != "–" {
		t.Errorf("missing: %s", got)
	}
	if got := difference(a, b, "k", 0); got != "Δ +1" {
		t.Errorf("difference %s", got)
	}
	if got := difference(map[string]Spread{}, b, "k", 0); got != "–" {
		t.Errorf("difference without a: %s", got)
	}
}
