package bench

import (
	"fmt"
	"math"
)

// Target is one of issue 11's targets for a scenario: a figure's median
// over the runs (the lab on one CPU, the recorder on another) against a
// limit.
type Target struct {
	What   string
	Key    string // the figure's key (see cpuFigures, outputFigures)
	AtMost bool   // the figure must be <= Limit; else >= Limit
	Abs    bool   // judge the figure's magnitude: within ±Limit
	Limit  float64
	Unit   string
	Prec   int
}

// Verdicts beside a figure.
const (
	Met      = "met"
	Missed   = "missed"
	NoFigure = "no figure"
)

// String is the target as printed: ">= 99.5 %", "within ±20 ms".
func (t Target) String() string {
	op := ">= "
	switch {
	case t.Abs:
		op = "within ±"
	case t.AtMost:
		op = "<= "
	}
	return fmt.Sprintf("%s%.*f %s", op, t.Prec, t.Limit, t.Unit)
}

// judge reads the target's figure from a summary: its median, and
// whether that meets the target. A figure the runs did not produce is
// neither met nor missed.
func (t Target) judge(s map[string]Spread) (float64, string) {
	sp, ok := s[t.Key]
	if !ok || math.IsNaN(sp.Median) {
		return 0, NoFigure
	}
	v := sp.Median
	if t.Abs {
		v = math.Abs(v)
	}
	if (t.AtMost || t.Abs) && v <= t.Limit || !t.AtMost && !t.Abs && v >= t.Limit {
		return sp.Median, Met
	}
	return sp.Median, Missed
}

// targetsFor is issue 11's targets for a scenario. Join to first media
// applies to every scenario (a recording that starts late loses the
// meeting's first words), so a scenario the issue does not name has that one.
func targetsFor(scenario string) []Target {
	frames := func(pct float64) Target {
		return Target{What: "frames delivered", Key: "video_delivered_pct", Limit: pct, Unit: "%", Prec: 1}
	}
	cpu := func(cores float64) Target {
		return Target{What: "recorder tree CPU, avg", Key: "cpu_avg_cores.recorder/total", AtMost: true, Limit: cores, Unit: "core", Prec: 2}
	}
	pss := func(mb float64) Target {
		return Target{What: "recorder tree peak PSS", Key: "pss_peak_mb.recorder/total", AtMost: true, Limit: mb, Unit: "MB", Prec: 0}
	}
	var out []Target
	switch scenario {
	case "720p-4":
		out = []Target{
			frames(99.5),
			{What: "A/V offset, mean", Key: "av_offset_mean_ms", Abs: true, Limit: 20, Unit: "ms", Prec: 0},
			{What: "A/V offset, every marker", Key: "av_offset_max_abs_ms", Abs: true, Limit: 40, Unit: "ms", Prec: 0},
			{What: "every tone present", Key: "audio_tone_present_min_pct", Limit: 98, Unit: "% of windows", Prec: 0},
			cpu(0.6),
			pss(400),
		}
	case "720p-9":
		out = []Target{frames(99), cpu(0.8)}
	case "1080p-4":
		out = []Target{frames(99)}
	case "audio-only-4":
		out = []Target{cpu(0.1), pss(250)}
	}
	return append(out, Target{What: "join -> first media on disk", Key: "join_to_first_media_s", AtMost: true, Limit: 3, Unit: "s", Prec: 1})
}
