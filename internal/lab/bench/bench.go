// Package bench measures what one recording costs: it runs the real
// jitsi-recorder against fresh lab meetings and samples the recorder's
// whole process tree (the Go process, Chromium and its helpers, FFmpeg)
// from /proc, apart from the lab's own processes, then checks the file
// with the lab's verifier.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

// ErrUsage marks a bad command line.
var ErrUsage = errors.New("usage")

// Scenarios are the meeting shapes bench knows, in the order "all" runs them.
var Scenarios = []Scenario{
	{Name: "audio-only-4", Participants: 4, Width: 1280, Height: 720, FPS: 30, AudioOnly: true},
	{Name: "720p-2", Participants: 2, Width: 1280, Height: 720, FPS: 30},
	// Four default senders took 0.96-1.0 core on the machine of
	// 2026-12-01 (0.73 a week before): with the recorder's 0.75 the two
	// cores were full, the recorder's renderer queued frames (3 GB) and
	// all six runs, before and after the PCM change, wrote 2 s of video. At 15 fps
	// they take 0.7 and the recorder still composites and encodes 30 fps;
	// it decodes half the frames (~0.04 core less).
	{Name: "720p-4", Participants: 4, Width: 1280, Height: 720, FPS: 30, Senders: media.Shape{Width: 640, Height: 360, FPS: 15}},
	// The lab's senders share the 2 cores with the recorder. Nine default
	// senders (640x360@30) alone take 1.48 cores, nine at the crowd shape
	// (320x180@15) 0.85 (TestCPUCostOfMeetingParticipants, send-only).
	{Name: "720p-9", Participants: 9, Width: 1280, Height: 720, FPS: 30, Senders: media.CrowdShape()},
	// With default senders (0.7 core) and any other work on the machine a
	// 1080p recording fell behind and produced seconds of video, so the
	// scenario measures the recorder with crowd-shape senders (0.45 core);
	// --senders 640x360@30 measures it with the default ones.
	{Name: "1080p-4", Participants: 4, Width: 1920, Height: 1080, FPS: 30, Senders: media.CrowdShape()},
}

// Machine is what the figures should be read against.
type Machine struct {
	CPUs        int        `json:"cpus"`
	LoadAverage [3]float64 `json:"load_average_at_start"`
	ClockTicks  float64    `json:"clock_ticks_per_s"`
	SampleEvery string     `json:"sample_every"`
	LabNice     int        `json:"lab_nice"`
}

// ScenarioResult is every run of one scenario and their spread.
type ScenarioResult struct {
	Scenario
	Resolution string `json:"resolution"`
	SendersAre string `json:"senders"` // WxH@FPS the lab's participants send
	// LoadAtStart is the 1-minute load average when the scenario started,
	// after waiting for it to drop below --max-load.
	LoadAtStart float64           `json:"load1_at_start"`
	LoadWaited  string            `json:"load_waited,omitempty"`
	DurationS   float64           `json:"duration_s"`
	Unsupported string            `json:"unsupported,omitempty"`
	Runs        []RunResult       `json:"runs"`
	Summary     map[string]Spread `json:"summary"` // over the runs without error
}

// Result is the whole benchmark.
type Result struct {
	Recorder  string           `json:"recorder"`
	Machine   Machine          `json:"machine"`
	Scenarios []ScenarioResult `json:"scenarios"`
}

// Main runs `jitsi-lab bench` with args (after "bench").
func Main(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	scenario := fs.String("scenario", "720p-4", "scenario name or all")
	d := fs.Duration("duration", 30*time.Second, "recording length per run")
	runs := fs.Int("runs", 3, "fresh lab + recorder runs per scenario")
	asJSON := fs.Bool("json", false, "print JSON instead of the text summary")
	jsonOut := fs.String("json-out", "", "also write the JSON to this file")
	recorderBin := fs.String("recorder", "", "jitsi-recorder binary (default: beside jitsi-lab, else on PATH)")
	every := fs.Duration("sample-every", 500*time.Millisecond, "/proc sampling interval")
	from := fs.String("from", "", "print the text summary of a saved --json-out file and exit")
	senders := fs.String("senders", "", "video the lab's participants send, WxH@FPS (default: per scenario)")
	breakdown := fs.Bool("breakdown", false, "print the per-process and per-thread breakdown too (always in --json)")
	maxLoad := fs.Float64("max-load", 0, "before each scenario wait until the 1-minute load average is below this (0: don't wait)")
	loadWait := fs.Duration("load-wait", 10*time.Minute, "longest wait for --max-load; then run anyway and say so")
	labNice := fs.Int("lab-nice", lab.RecorderFirstNice, "nice value of the lab's participant browser, so it yields the cores to the recorder (0: equal priority)")
	keep := fs.String("keep", "", "keep each run's recording in this directory (for a closer look at frames and sync)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if *from != "" {
		return reprint(*from, stdout, *breakdown)
	}
	if *d < 5*time.Second || *runs < 1 || *every < 50*time.Millisecond {
		return fmt.Errorf("%w: --duration must be >= 5s, --runs >= 1, --sample-every >= 50ms", ErrUsage)
	}
	picked, err := pickScenarios(*scenario)
	if err != nil {
		return err
	}
	if *senders != "" {
		shape, err := media.ParseShape(*senders)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrUsage, err)
		}
		for i := range picked {
			picked[i].Senders = shape
		}
	}
	bin, err := FindRecorder(*recorderBin)
	if err != nil {
		return err
	}
	res := Result{Recorder: bin, Machine: machine(*every)}
	if !*asJSON {
		writeMachine(stdout, res)
	}
	audioOnly := recorderSupportsAudioOnly(ctx, bin)
	if *labNice < 0 || *labNice > 19 {
		return fmt.Errorf("%w: --lab-nice must be 0..19", ErrUsage)
	}
	res.Machine.LabNice = *labNice
	if !*asJSON {
		fmt.Fprintf(stdout, "lab's participant browser at nice %d (the recorder at 0)\n", *labNice)
	}
	cfg := runConfig{Recorder: bin, Duration: *d, Every: *every, Clock: res.Machine.ClockTicks, Log: log, ProcRoot: "/proc", Keep: *keep, LabNice: *labNice}
	if *keep != "" {
		if err := os.MkdirAll(*keep, 0o755); err != nil {
			return fmt.Errorf("--keep: %w", err)
		}
	}
	for _, sc := range picked {
		if ctx.Err() != nil {
			break
		}
		sr := ScenarioResult{Scenario: sc, Resolution: sc.resolution(), SendersAre: sc.senders().String(), DurationS: d.Seconds()}
		if *maxLoad > 0 {
			waited, l1, ok := waitForLoad(ctx, "/proc", *maxLoad, *loadWait)
			sr.LoadWaited = fmt.Sprintf("%s until the load average was %.2f", waited.Round(time.Second), l1)
			if !ok {
				sr.LoadWaited = fmt.Sprintf("%s, load average still %.2f (>= %.2f): ran anyway", waited.Round(time.Second), l1, *maxLoad)
				log.Warn("machine still busy, running anyway", "scenario", sc.Name, "load1", l1, "waited", waited)
			}
		}
		sr.LoadAtStart, _ = loadAverage1("/proc")
		if sc.AudioOnly && !audioOnly {
			sr.Unsupported = "jitsi-recorder has no audio-only setting (none in its --help)"
		}
		for i := 0; sr.Unsupported == "" && i < *runs && ctx.Err() == nil; i++ {
			log.Info("bench run", "scenario", sc.Name, "run", i+1, "of", *runs)
			cfg.KeepAs = fmt.Sprintf("%s-run%d", sc.Name, i+1)
			r := runOnce(ctx, sc, cfg)
			if r.Error != "" {
				log.Warn("bench run failed", "scenario", sc.Name, "run", i+1, "err", r.Error)
			} else {
				log.Info("bench run done", "scenario", sc.Name, "run", i+1,
					"recorder_cores", fmt.Sprintf("%.2f", r.Figures["cpu_avg_cores.recorder/total"]))
			}
			sr.Runs = append(sr.Runs, r)
		}
		var ok []map[string]float64
		for _, r := range sr.Runs {
			if r.Error == "" {
				ok = append(ok, r.Figures)
			}
		}
		sr.Summary = spreads(ok)
		res.Scenarios = append(res.Scenarios, sr)
		if !*asJSON {
			writeScenario(stdout, sr)
			if *breakdown {
				writeBreakdown(stdout, sr)
			}
		}
	}
	if *asJSON {
		if err := writeJSON(stdout, res); err != nil {
			return err
		}
	}
	if *jsonOut != "" {
		f, err := os.Create(*jsonOut)
		if err != nil {
			return err
		}
		werr := writeJSON(f, res)
		if err := errors.Join(werr, f.Close()); err != nil {
			return fmt.Errorf("write %s: %w", *jsonOut, err)
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	for _, sr := range res.Scenarios {
		for _, r := range sr.Runs {
			if r.Error != "" {
				return errors.New("some runs failed (see above)")
			}
		}
	}
	return nil
}

// reprint prints the text summary of a result saved as JSON.
func reprint(path string, w io.Writer, breakdown bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var res Result
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	writeMachine(w, res)
	for _, sr := range res.Scenarios {
		writeScenario(w, sr)
		if breakdown {
			writeBreakdown(w, sr)
		}
	}
	return nil
}

func writeJSON(w io.Writer, res Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

func pickScenarios(name string) ([]Scenario, error) {
	if name == "all" {
		return Scenarios, nil
	}
	var out []Scenario
	for _, n := range strings.Split(name, ",") {
		found := false
		for _, s := range Scenarios {
			if s.Name == strings.TrimSpace(n) {
				out, found = append(out, s), true
			}
		}
		if !found {
			var names []string
			for _, s := range Scenarios {
				names = append(names, s.Name)
			}
			return nil, fmt.Errorf("%w: unknown scenario %q (know %s, all)", ErrUsage, n, strings.Join(names, ", "))
		}
	}
	return out, nil
}

// FindRecorder returns the jitsi-recorder binary to run: explicit if given,
// else the one beside the jitsi-lab executable, else the one on PATH.
func FindRecorder(explicit string) (string, error) {
	if explicit != "" {
		return exec.LookPath(explicit)
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "jitsi-recorder")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("jitsi-recorder"); err == nil {
		return p, nil
	}
	return "", errors.New("jitsi-recorder binary not found beside jitsi-lab or on PATH (run scripts/setup.sh or go build -o bin/ ./cmd/..., or pass --recorder PATH)")
}

// recorderSupportsAudioOnly reads the recorder's --help for a setting.
func recorderSupportsAudioOnly(ctx context.Context, bin string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	h := strings.ToLower(string(out))
	return strings.Contains(h, "audio-only") || strings.Contains(h, "audio_only")
}

func machine(every time.Duration) Machine {
	m := Machine{CPUs: runtime.NumCPU(), ClockTicks: clockTicks(), SampleEvery: every.String()}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscan(string(b), &m.LoadAverage[0], &m.LoadAverage[1], &m.LoadAverage[2])
	}
	return m
}

func writeMachine(w io.Writer, r Result) {
	m := r.Machine
	fmt.Fprintf(w, "machine: %d CPUs, load average at start %.2f %.2f %.2f, /proc sampled every %s\nrecorder: %s\n",
		m.CPUs, m.LoadAverage[0], m.LoadAverage[1], m.LoadAverage[2], m.SampleEvery, r.Recorder)
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
	if sr.Unsupported != "" {
		fmt.Fprintf(w, "   not supported: %s\n", sr.Unsupported)
		return
	}
	okRuns := 0
	for i, r := range sr.Runs {
		if r.Error != "" {
			fmt.Fprintf(w, "   run %d FAILED: %s\n", i+1, r.Error)
			continue
		}
		okRuns++
	}
	s := sr.Summary
	if okRuns > 0 {
		fmt.Fprintf(w, "   %d of %d runs ok; figures are medians [min–max] over them\n", okRuns, len(sr.Runs))
	} else {
		// What the failed runs cost still tells whether the machine was
		// starved; there is no file to judge.
		var all []map[string]float64
		for _, r := range sr.Runs {
			all = append(all, r.Figures)
		}
		s = spreads(all)
		fmt.Fprintf(w, "   no run ok; resource figures are medians [min–max] over the %d failed runs\n", len(sr.Runs))
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
	if okRuns == 0 {
		if ws := warnings(sr.Runs); ws != "" {
			fmt.Fprintf(w, "   recorder warnings: %s\n", ws)
		}
		return
	}
	fmt.Fprintf(w, "   file: %s s, %s MB, %s kbit/s; video %s\n",
		f("file_duration_s", 2), f("file_mb", 2), f("bitrate_kbps", 0), codecs(sr.Runs))
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
		countOf(sr.Runs, "audio_present"), f("audio_tone_present_min_pct", 0), f("audio_tone_present_mean_pct", 0))
	if ws := warnings(sr.Runs); ws != "" {
		fmt.Fprintf(w, "   recorder warnings: %s\n", ws)
	}
	for i, r := range sr.Runs {
		if len(r.Orphans) > 0 {
			fmt.Fprintf(w, "   run %d: processes outlived the recorder (killed): %s\n", i+1, strings.Join(r.Orphans, ", "))
		}
	}
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
