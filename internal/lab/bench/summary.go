package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

func writeMachine(w io.Writer, r Result) {
	m := r.Machine
	fmt.Fprintf(w, "machine: %d CPUs, load average at start %.2f %.2f %.2f, /proc sampled every %s\nrecorder: %s\n",
		m.CPUs, m.LoadAverage[0], m.LoadAverage[1], m.LoadAverage[2], m.SampleEvery, r.Recorder)
	fmt.Fprintf(w, "%s\nlab's participant browser at nice %d (the recorder at 0)\n", m.Pinning, m.LabNice)
}

// writeScenario prints one scenario's medians, with [min–max] over runs.
func writeScenario(w io.Writer, sr ScenarioResult) {
	fmt.Fprintf(w, "\n== %s: %d participants sending %s, recorder at %s %d fps, %.0f s per run\n",
		sr.Name, sr.Participants, sr.SendersAre, sr.Resolution, sr.FPS, sr.DurationS)
	fmt.Fprintf(w, "   load average at start %.2f", sr.LoadAtStart)
	if sr.LoadWaited != "" {
		fmt.Fprintf(w, " (waited %s)", sr.LoadWaited)
	}
	fmt.Fprintln(w)
	if len(sr.Captures) == 2 {
		fmt.Fprintf(w, "   capture %s and %s, taking turns run by run\n", sr.Captures[0], sr.Captures[1])
	}
	if sr.Unsupported != "" {
		fmt.Fprintf(w, "   not supported: %s\n", sr.Unsupported)
		return
	}
	views := sr.views()
	if len(views) == 2 {
		writeComparison(w, sr, views)
	} else {
		for _, v := range views {
			fmt.Fprintf(w, "   capture %s\n", v.Capture)
			writeMode(w, sr, v)
		}
	}
	writeTargets(w, sr, views)
}

// writeMode prints one capture mode's medians, with [min–max] over runs.
func writeMode(w io.Writer, sr ScenarioResult, v modeView) {
	okRuns, s := v.OK, v.Summary
	writeFailures(w, v)
	if okRuns > 0 {
		fmt.Fprintf(w, "   %d of %d runs ok; figures are medians [min–max] over them\n", okRuns, len(v.Runs))
	} else {
		// What the failed runs cost still tells whether the machine was
		// starved; there is no file to judge.
		fmt.Fprintf(w, "   no run ok; resource figures are medians [min–max] over the %d failed runs\n", len(v.Runs))
	}
	f := func(key string, prec int) string { return fmtSpread(s, key, prec) }
	fmt.Fprintf(w, "   %-22s %-22s %-22s %-20s %s\n", "CPU in cores", "avg while recording", "peak (any sample)", "CPU-s (whole run)", "peak RSS MB (summed)")
	row := func(label, part string) {
		if _, ok := s["cpu_s."+part]; !ok {
			return
		}
		fmt.Fprintf(w, "   %-22s %-22s %-22s %-20s %s\n", label,
			f("cpu_avg_cores."+part, 2), f("cpu_peak_cores."+part, 2), f("cpu_s."+part, 1), f("rss_peak_mb."+part, 0))
	}
	row("recorder tree", "recorder/total")
	row("  go recorder", "recorder/"+PartRecorder)
	row("  chromium", "recorder/"+PartChromium)
	row("  ffmpeg", "recorder/"+PartFFmpeg)
	row("  other", "recorder/"+PartOther)
	row("lab (not recorder)", "lab/total")
	row("  participants chrome", "lab/"+PartParticipants)
	row("  prosody", "lab/"+PartProsody)
	row("  lab+bench process", "lab/"+PartLab)
	row("  other", "lab/"+PartOther)
	fmt.Fprintf(w, "   %-22s %-22s %-22s\n", "machine busy", f("cpu_avg_cores.machine", 2), f("cpu_peak_cores.machine", 2))
	fmt.Fprintf(w, "   %-22s %-22s\n", "  outside both", f("cpu_avg_cores.outside", 2))
	fmt.Fprintf(w, "   recorder tree: %s CPU-s per recorded minute (whole run: join, record, finalise); peak PSS %s MB; up to %s processes\n",
		f("cpu_s_per_recorded_min.recorder/total", 1),
		f("pss_peak_mb.recorder/total", 0), f("procs_peak.recorder/total", 0))
	fmt.Fprintf(w, "   from recorder start: joined %s s, recording started %s s, first media fragment on disk %s s, exited %s s\n",
		f("joined_s", 2), f("recording_started_s", 2), f("first_media_s", 2), f("exited_s", 1))
	fmt.Fprintf(w, "   join -> first media on disk %s s; lab senders drew %s fps (lowest sender %s) of %d asked\n",
		f("join_to_first_media_s", 2), f("sender_fps_mean", 1), f("sender_fps_min", 1), sr.senders().FPS)
	writeAffinity(w, sr, v)
	if okRuns == 0 {
		if ws := warnings(v.Runs); ws != "" {
			fmt.Fprintf(w, "   recorder warnings: %s\n", ws)
		}
		return
	}
	fmt.Fprintf(w, "   file: %s s, %s MB, %s kbit/s; video %s\n",
		f("file_duration_s", 2), f("file_mb", 2), f("bitrate_kbps", 0), codecs(v.Runs))
	fmt.Fprintf(w, "   video: %s frames of %s expected (%s %%), %s fps; repeated pictures %s, same-timestamp frames %s; max gap %s ms, longest frozen %s ms; participants visible %s of %d\n",
		f("video_frames", 0), f("video_frames_expected", 0), f("video_delivered_pct", 1), f("video_fps", 1),
		f("video_repeated_frames", 0), f("video_same_timestamp_frames", 0), f("video_max_gap_ms", 0),
		f("video_frozen_max_ms", 0), f("video_participants_visible", 0), sr.Participants)
	fmt.Fprintf(w, "   video frames span %s..%s s of the file\n", f("video_first_s", 2), f("video_last_s", 2))
	fmt.Fprintf(w, "   A/V: offset mean %s ms, max |offset| %s ms over %s markers (positive: video late); first marker %s ms, the rest mean %s ms, max |offset| %s ms\n",
		f("av_offset_mean_ms", 0), f("av_offset_max_abs_ms", 0), f("av_markers", 0),
		f("av_offset_first_ms", 0), f("av_offset_rest_mean_ms", 0), f("av_offset_rest_max_abs_ms", 0))
	fmt.Fprintf(w, "   lab senders drew the marker flash %s ms late on average (max %s ms): video late at the source, part of the offset above\n",
		f("sender_flash_late_mean_ms", 0), f("sender_flash_late_max_ms", 0))
	fmt.Fprintf(w, "   audio: present in %s runs; participant tones present min %s %%, mean %s %%\n",
		countOf(v.Runs, "audio_present"), f("audio_tone_present_min_pct", 0), f("audio_tone_present_mean_pct", 0))
	writeRunNotes(w, v)
}

// writeFailures names each failed run of a mode.
func writeFailures(w io.Writer, v modeView) {
	for i, r := range v.Runs {
		if r.Error != "" {
			fmt.Fprintf(w, "   %s run %d FAILED: %s\n", v.Capture, i+1, r.Error)
		}
	}
}

// writeRunNotes prints a mode's recorder warnings and leftover processes.
func writeRunNotes(w io.Writer, v modeView) {
	if ws := warnings(v.Runs); ws != "" {
		fmt.Fprintf(w, "   %s: recorder warnings: %s\n", v.Capture, ws)
	}
	for i, r := range v.Runs {
		if len(r.Orphans) > 0 {
			fmt.Fprintf(w, "   %s run %d: processes outlived the recorder (killed): %s\n", v.Capture, i+1, strings.Join(r.Orphans, ", "))
		}
	}
}

// writeAffinity prints the CPUs each tree was allowed mid-recording, and
// says so when a pinned run's trees were not on their CPUs alone.
func writeAffinity(w io.Writer, sr ScenarioResult, v modeView) {
	rec, lab := distinct(v.Runs, func(r RunResult) string { return r.RecorderCPUs }), distinct(v.Runs, func(r RunResult) string { return r.LabCPUs })
	if rec == "" && lab == "" {
		return
	}
	fmt.Fprintf(w, "   %s: CPUs allowed mid-recording: recorder tree %s; lab %s", v.Capture, orDash(rec), orDash(lab))
	if sr.Pinned && (strings.ContainsAny(rec, " ,-") || strings.ContainsAny(lab, " ,-") || rec == lab) {
		fmt.Fprint(w, " (NOT as pinned: some process escaped its CPU)")
	}
	fmt.Fprintln(w)
}

// distinct is the distinct non-empty values of a run field, joined by "; ".
func distinct(runs []RunResult, field func(RunResult) string) string {
	seen := map[string]bool{}
	var out []string
	for _, r := range runs {
		if v := field(r); v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return strings.Join(out, "; ")
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// countOf is how many runs without error have a figure equal to 1.
func countOf(runs []RunResult, key string) string {
	n, ok := 0, 0
	for _, r := range runs {
		if r.Error != "" {
			continue
		}
		ok++
		if r.Figures[key] == 1 {
			n++
		}
	}
	return fmt.Sprintf("%d of %d", n, ok)
}

func fmtSpread(s map[string]Spread, key string, prec int) string {
	v, ok := s[key]
	if !ok {
		return "–"
	}
	if v.N == 1 || v.Min == v.Max {
		return fmt.Sprintf("%.*f", prec, v.Median)
	}
	return fmt.Sprintf("%.*f [%.*f–%.*f]", prec, v.Median, prec, v.Min, prec, v.Max)
}

func codecs(runs []RunResult) string {
	seen := map[string]bool{}
	var out []string
	for _, r := range runs {
		if r.VideoCodec == "" {
			continue
		}
		c := r.VideoCodec
		if r.VideoCopied != nil && *r.VideoCopied {
			c += " (copied by FFmpeg)"
		} else if r.VideoCopied != nil {
			c += " (re-encoded by FFmpeg)"
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return "codec unknown"
	}
	return "from the page as " + strings.Join(out, ", ")
}

// warnings counts the recorder's warning messages over all runs.
func warnings(runs []RunResult) string {
	n := map[string]int{}
	for _, r := range runs {
		for _, w := range r.Warnings {
			n[w]++
		}
	}
	var out []string
	for w, c := range n {
		out = append(out, fmt.Sprintf("%s ×%d", w, c))
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}
