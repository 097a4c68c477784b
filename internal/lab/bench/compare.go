package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// figureRow is one line of the side-by-side summary.
type figureRow struct {
	label string
	key   string
	prec  int
	// signed figures (A/V offsets) change sign: a ratio of them says
	// nothing, their difference does.
	signed bool
}

// comparisonRows is every figure of the one-mode summary, in its order.
func comparisonRows() []figureRow {
	return []figureRow{
		{"recorder tree CPU avg, cores", "cpu_avg_cores.recorder/total", 2, false},
		{"  go recorder", "cpu_avg_cores.recorder/" + PartRecorder, 2, false},
		{"  chromium", "cpu_avg_cores.recorder/" + PartChromium, 2, false},
		{"  ffmpeg", "cpu_avg_cores.recorder/" + PartFFmpeg, 2, false},
		{"  other", "cpu_avg_cores.recorder/" + PartOther, 2, false},
		{"recorder tree CPU peak, cores", "cpu_peak_cores.recorder/total", 2, false},
		{"recorder tree CPU-s (whole run)", "cpu_s.recorder/total", 1, false},
		{"recorder CPU-s per recorded min", "cpu_s_per_recorded_min.recorder/total", 1, false},
		{"recorder tree peak RSS MB", "rss_peak_mb.recorder/total", 0, false},
		{"  chromium", "rss_peak_mb.recorder/" + PartChromium, 0, false},
		{"  ffmpeg", "rss_peak_mb.recorder/" + PartFFmpeg, 0, false},
		{"recorder tree peak PSS MB", "pss_peak_mb.recorder/total", 0, false},
		{"recorder tree processes, peak", "procs_peak.recorder/total", 0, false},
		{"lab CPU avg, cores", "cpu_avg_cores.lab/total", 2, false},
		{"  participants chrome", "cpu_avg_cores.lab/" + PartParticipants, 2, false},
		{"  prosody", "cpu_avg_cores.lab/" + PartProsody, 2, false},
		{"  lab+bench process", "cpu_avg_cores.lab/" + PartLab, 2, false},
		{"lab senders drew, fps mean", "sender_fps_mean", 1, false},
		{"  lowest sender", "sender_fps_min", 1, false},
		{"machine busy avg, cores", "cpu_avg_cores.machine", 2, false},
		{"  outside both", "cpu_avg_cores.outside", 2, false},
		{"joined, s from start", "joined_s", 2, false},
		{"recording started, s", "recording_started_s", 2, false},
		{"first media on disk, s", "first_media_s", 2, false},
		{"join -> first media, s", "join_to_first_media_s", 2, false},
		{"exited, s", "exited_s", 1, false},
		{"file duration, s", "file_duration_s", 2, false},
		{"file MB", "file_mb", 2, false},
		{"bit rate, kbit/s", "bitrate_kbps", 0, false},
		{"video frames", "video_frames", 0, false},
		{"  of expected", "video_frames_expected", 0, false},
		{"  delivered %", "video_delivered_pct", 1, false},
		{"video fps", "video_fps", 1, false},
		{"repeated pictures", "video_repeated_frames", 0, false},
		{"same-timestamp frames", "video_same_timestamp_frames", 0, false},
		{"max gap, ms", "video_max_gap_ms", 0, false},
		{"longest frozen, ms", "video_frozen_max_ms", 0, false},
		{"participants visible", "video_participants_visible", 0, false},
		{"video from, s", "video_first_s", 2, false},
		{"video to, s", "video_last_s", 2, false},
		{"A/V offset mean, ms (+: video late)", "av_offset_mean_ms", 0, true},
		{"A/V max |offset|, ms", "av_offset_max_abs_ms", 0, false},
		{"A/V markers", "av_markers", 0, false},
		{"A/V first marker, ms", "av_offset_first_ms", 0, true},
		{"A/V the rest, mean ms", "av_offset_rest_mean_ms", 0, true},
		{"A/V the rest, max |offset| ms", "av_offset_rest_max_abs_ms", 0, false},
		{"sender flash late, mean ms", "sender_flash_late_mean_ms", 0, false},
		{"sender flash late, max ms", "sender_flash_late_max_ms", 0, false},
		{"tones present, min %", "audio_tone_present_min_pct", 0, false},
		{"tones present, mean %", "audio_tone_present_mean_pct", 0, false},
	}
}

// writeComparison prints two capture modes' figures side by side, with
// the second's median over the first's: "x0.72" is 28 % less.
func writeComparison(w io.Writer, sr ScenarioResult, v []modeView) {
	a, b := v[0], v[1]
	for _, m := range v {
		writeFailures(w, m)
	}
	fmt.Fprintf(w, "   %s: %d of %d runs ok; %s: %d of %d runs ok; figures are medians [min–max] over the ok runs (over all runs when none is)\n",
		a.Capture, a.OK, len(a.Runs), b.Capture, b.OK, len(b.Runs))
	row := func(label, x, y, rel string) {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("   %-36s %-22s %-22s %s", label, x, y, rel), " "))
	}
	row("", a.Capture, b.Capture, b.Capture+"/"+a.Capture)
	for _, r := range comparisonRows() {
		_, inA := a.Summary[r.key]
		_, inB := b.Summary[r.key]
		if !inA && !inB {
			continue
		}
		rel := ratio(a.Summary, b.Summary, r.key)
		if r.signed {
			rel = difference(a.Summary, b.Summary, r.key, r.prec)
		}
		row(r.label, fmtSpread(a.Summary, r.key, r.prec), fmtSpread(b.Summary, r.key, r.prec), rel)
	}
	row("audio present in", countOf(a.Runs, "audio_present"), countOf(b.Runs, "audio_present"), "")
	row("video", codecs(a.Runs), codecs(b.Runs), "")
	for _, m := range v {
		writeAffinity(w, sr, m)
		writeRunNotes(w, m)
	}
}

// ratio is b's median over a's, "–" when either is missing or a's is 0.
func ratio(a, b map[string]Spread, key string) string {
	x, okA := a[key]
	y, okB := b[key]
	if !okA || !okB || x.Median == 0 || math.IsNaN(x.Median) || math.IsNaN(y.Median) {
		return "–"
	}
	return fmt.Sprintf("x%.2f", y.Median/x.Median)
}

// difference is b's median minus a's, "Δ +5", for figures whose ratio
// means nothing; "–" when either is missing.
func difference(a, b map[string]Spread, key string, prec int) string {
	x, okA := a[key]
	y, okB := b[key]
	if !okA || !okB || math.IsNaN(x.Median) || math.IsNaN(y.Median) {
		return "–"
	}
	return fmt.Sprintf("Δ %+.*f", prec, y.Median-x.Median)
}

// writeTargets prints issue 11's targets for the scenario with each
// mode's median and verdict beside them.
func writeTargets(w io.Writer, sr ScenarioResult, v []modeView) {
	ts := targetsFor(sr.Name)
	if len(ts) == 0 || len(v) == 0 {
		return
	}
	note := "the lab on one CPU, the recorder on another"
	if !sr.Pinned {
		note = "they assume the lab on one CPU and the recorder on another; this run was NOT pinned"
	}
	fmt.Fprintf(w, "   targets (issue 11; medians of runs; %s):\n", note)
	row := func(label string, cell func(modeView) string) {
		l := fmt.Sprintf("   %-44s", label)
		for _, m := range v {
			l += fmt.Sprintf(" %-22s", cell(m))
		}
		fmt.Fprintln(w, strings.TrimRight(l, " "))
	}
	row("", func(m modeView) string { return m.Capture })
	for _, t := range ts {
		row(t.What+" "+t.String(), func(m modeView) string { return verdictText(t, m) })
	}
}

// verdictText is a target's median and verdict for one mode: "99.3 missed".
// A mode none of whose runs succeeded met nothing, whatever its failed
// runs cost.
func verdictText(t Target, m modeView) string {
	v, verdict := t.judge(m.Summary)
	if verdict == NoFigure {
		return "– " + NoFigure
	}
	if m.OK == 0 {
		verdict = Missed + " (no run ok)"
	}
	if t.Abs {
		return fmt.Sprintf("%+.*f %s", t.Prec, v, verdict)
	}
	return fmt.Sprintf("%.*f %s", t.Prec, v, verdict)
}
