package bench

import (
	"math"
	"testing"
)

func TestTargetVerdicts(t *testing.T) {
	sum := func(v float64) map[string]Spread { return map[string]Spread{"k": {Median: v, Min: v, Max: v, N: 1}} }
	atLeast := Target{Key: "k", Limit: 99.5}
	atMost := Target{Key: "k", AtMost: true, Limit: 0.6}
	within := Target{Key: "k", Abs: true, Limit: 20}
	cases := []struct {
		t    Target
		v    float64
		want string
	}{
		{atLeast, 99.5, Met}, {atLeast, 99.49, Missed}, {atLeast, 100, Met},
		{atMost, 0.6, Met}, {atMost, 0.61, Missed}, {atMost, 0, Met},
		{within, -20, Met}, {within, 20, Met}, {within, -21, Missed}, {within, 35, Missed}, {within, 0, Met},
	}
	for _, c := range cases {
		v, got := c.t.judge(sum(c.v))
		if got != c.want || v != c.v {
			t.Errorf("%s with %v: %v %s, want %s", c.t, c.v, v, got, c.want)
		}
	}
	if _, got := atLeast.judge(map[string]Spread{}); got != NoFigure {
		t.Errorf("missing figure: %s", got)
	}
	if _, got := atLeast.judge(map[string]Spread{"k": {Median: math.NaN()}}); got != NoFigure {
		t.Errorf("NaN figure: %s", got)
	}
}

func TestTargetsAreTheIssues(t *testing.T) {
	text := func(ts []Target) map[string]string {
		out := map[string]string{}
		for _, t := range ts {
			out[t.Key] = t.String()
		}
		return out
	}
	want := map[string]map[string]string{
		"720p-4": {
			"video_delivered_pct":          ">= 99.5 %",
			"av_offset_mean_ms":            "within ±20 ms",
			"av_offset_max_abs_ms":         "within ±40 ms",
			"audio_tone_present_min_pct":   ">= 98 % of windows",
			"cpu_avg_cores.recorder/total": "<= 0.60 core",
			"pss_peak_mb.recorder/total":   "<= 400 MB",
			"join_to_first_media_s":        "<= 3.0 s",
		},
		"720p-9":       {"video_delivered_pct": ">= 99.0 %", "cpu_avg_cores.recorder/total": "<= 0.80 core", "join_to_first_media_s": "<= 3.0 s"},
		"1080p-4":      {"video_delivered_pct": ">= 99.0 %", "join_to_first_media_s": "<= 3.0 s"},
		"audio-only-4": {"cpu_avg_cores.recorder/total": "<= 0.10 core", "pss_peak_mb.recorder/total": "<= 250 MB", "join_to_first_media_s": "<= 3.0 s"},
		"720p-2":       {"join_to_first_media_s": "<= 3.0 s"},
	}
	for sc, w := range want {
		got := text(targetsFor(sc))
		if len(got) != len(w) {
			t.Errorf("%s: targets %v, want %v", sc, got, w)
			continue
		}
		for k, v := range w {
			if got[k] != v {
				t.Errorf("%s: %s is %q, want %q", sc, k, got[k], v)
			}
		}
	}
}
