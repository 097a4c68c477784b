package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/participants"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/verify"
	"github.com/jitsi-recorder/jitsi-recorder/internal/procfs"
)

// Scenario is one meeting shape to record.
type Scenario struct {
	Name          string `json:"name"`
	Participants  int    `json:"participants"`
	Width, Height int    `json:"-"`
	FPS           int    `json:"fps"`
	// AudioOnly asks for a recording without video.
	AudioOnly bool `json:"audio_only"`
	// Senders is the video the lab's participants send; zero means the
	// lab's default (media.DefaultShape).
	Senders media.Shape `json:"-"`
}

// senders is the shape the participants send in this scenario.
func (s Scenario) senders() media.Shape {
	if s.Senders == (media.Shape{}) {
		return media.DefaultShape()
	}
	return s.Senders
}

func (s Scenario) resolution() string { return fmt.Sprintf("%dx%d", s.Width, s.Height) }

// runConfig is what one run needs besides its scenario.
type runConfig struct {
	Recorder string
	Duration time.Duration
	Every    time.Duration // sampling interval
	Clock    float64       // clock ticks per second
	Log      *slog.Logger
	ProcRoot string
	// LabNice is the nice value the lab's participant browser runs at
	// (0: as the recorder).
	LabNice int
	// Keep is a directory to keep the recording in, as KeepAs.mp4 with
	// its verifier report as KeepAs.json; "" throws it away.
	Keep, KeepAs string
	// Capture is the recorder's CAPTURE; "" leaves it to the recorder's
	// default (or the environment).
	Capture string
	// Pinning puts the lab and the recorder on a CPU each.
	Pinning Pinning
}

// RunResult is one fresh lab + recorder run: its figures by key (see
// cpuFigures and runFigures), or why it failed.
type RunResult struct {
	Figures  map[string]float64 `json:"figures"`
	ExitCode int                `json:"exit_code"`
	Error    string             `json:"error,omitempty"`
	// VideoCodec is what the recorder page's MediaRecorder produced;
	// VideoCopied says FFmpeg copied it rather than re-encoding.
	VideoCodec  string   `json:"video_codec,omitempty"`
	VideoCopied *bool    `json:"video_copied,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
	// Orphans are recorder-tree processes still running after it exited
	// (killed by the benchmark).
	Orphans []string `json:"orphans,omitempty"`
	// Capture is the recorder's CAPTURE in this run.
	Capture string `json:"capture,omitempty"`
	// RecorderCPUs and LabCPUs are the CPUs each tree's processes were
	// allowed mid-recording (distinct Cpus_allowed_list values): proof
	// of the pinning, or of its absence.
	RecorderCPUs string `json:"recorder_cpus,omitempty"`
	LabCPUs      string `json:"lab_cpus,omitempty"`
}

// runOnce starts a lab with the scenario's participants, records it with
// the real jitsi-recorder for cfg.Duration while sampling both process
// trees, then verifies the file. Everything it starts is stopped before it
// returns, also when ctx ends.
func runOnce(ctx context.Context, sc Scenario, cfg runConfig) (res RunResult) {
	res.Figures = map[string]float64{}
	res.ExitCode = -1
	res.Capture = cfg.Capture
	if l1, ok := loadAverage1(cfg.ProcRoot); ok {
		res.Figures["load1_at_start"] = l1
	}
	fail := func(err error) RunResult { res.Error = err.Error(); return res }

	// Pinned, the lab (this process and all it starts, which inherit its
	// affinity) runs on its CPU until the meeting is over; verifying the
	// file afterwards has every CPU again.
	unpin := func() {}
	if cfg.Pinning.On {
		restore, err := pinSelf(cfg.Pinning.LabCPU)
		if err != nil {
			return fail(err)
		}
		var once sync.Once
		unpin = func() {
			once.Do(func() {
				if err := restore(); err != nil {
					cfg.Log.Warn("could not unpin the bench", "err", err)
				}
			})
		}
		defer unpin()
	}

	// The lab lives for the run: a bound well past the recorder's own limit.
	labCtx, stopLab := context.WithTimeout(ctx, cfg.Duration+5*time.Minute)
	defer stopLab()
	spec := media.NewSpec(sc.Participants).WithShape(sc.senders())
	l, err := lab.Start(labCtx, lab.Config{Room: "bench", Participants: sc.Participants, Spec: &spec, SendOnly: true, ParticipantsNice: cfg.LabNice, Logger: cfg.Log})
	if err != nil {
		return fail(fmt.Errorf("start lab: %w", err))
	}
	defer l.Close()
	sendersBefore, sendersBeforeAt := senderReports(ctx, l), time.Now()

	dir, err := os.MkdirTemp("", "jitsi-lab-bench-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "bench.mp4")

	logs := newRecorderLog()
	cmd, err := recorderCommand(cfg.Recorder, cfg.Pinning)
	if err != nil {
		return fail(err)
	}
	cmd.Env = append(os.Environ(),
		"ROOM_URL="+l.MeetingURL("bench"),
		"RECORD_DURATION="+strconv.Itoa(int(math.Round(cfg.Duration.Seconds()))),
		"RECORDINGS_DIR="+dir,
		"OUTPUT_FILE=bench.mp4",
		"RESOLUTION="+sc.resolution(),
		"VIDEO_FPS="+strconv.Itoa(sc.FPS),
		"LOG_FORMAT=json",
		"LOG_LEVEL=info",
		"AUDIO_ONLY="+strconv.FormatBool(sc.AudioOnly),
	)
	if cfg.Capture != "" {
		cmd.Env = append(cmd.Env, "CAPTURE="+cfg.Capture) // the last one wins
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	// Its own process group, so a stop reaches Chromium and FFmpeg too
	// even if the recorder cannot pass it on.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("start %s: %w", cfg.Recorder, err))
	}
	pid := cmd.Process.Pid
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	sampler := newSampler(procfs.FS{Root: cfg.ProcRoot}, pid, os.Getpid(), groupBrowserPID(l), cfg.Every)
	sampleCtx, stopSampling := context.WithCancel(context.WithoutCancel(ctx))
	sampled := make(chan struct{})
	go func() { defer close(sampled); sampler.Run(sampleCtx) }()

	firstMedia := make(chan time.Time, 1)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go watchFirstFragment(watchCtx, file, firstMedia)
	affinity := make(chan [2]string, 1)
	go readAffinity(watchCtx, procfs.FS{Root: cfg.ProcRoot}, pid, 5*time.Second+cfg.Duration/2, affinity)

	// The recorder gives up joining after 60 s (JOIN_TIMEOUT), records for
	// the duration, then finalises within seconds.
	limit := time.NewTimer(cfg.Duration + 90*time.Second)
	defer limit.Stop()
	var waitErr error
	select {
	case waitErr = <-done:
	case <-ctx.Done():
		waitErr = stopRecorder(pid, done)
		res.Error = "interrupted"
	case <-limit.C:
		waitErr = stopRecorder(pid, done)
		res.Error = fmt.Sprintf("recorder still running after %s: stopped", cfg.Duration+90*time.Second)
	}
	exited := time.Now()
	stopSampling()
	<-sampled
	stopWatch()
	res.Orphans = reapOrphans(sampler)
	senders, sendersAt := senderReports(ctx, l), time.Now()
	l.Close() // the meeting is over; verifying needs the CPU, not the lab
	unpin()
	select {
	case a := <-affinity:
		res.RecorderCPUs, res.LabCPUs = a[0], a[1]
	default:
	}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}

	facts := logs.facts()
	res.VideoCodec, res.VideoCopied, res.Warnings = facts.VideoCodec, facts.VideoCopied, facts.Warnings
	since := func(t time.Time) float64 { return t.Sub(started).Seconds() }
	if !facts.Joined.IsZero() {
		res.Figures["joined_s"] = since(facts.Joined)
	}
	if !facts.Recording.IsZero() {
		res.Figures["recording_started_s"] = since(facts.Recording)
	}
	select {
	case t := <-firstMedia:
		res.Figures["first_media_s"] = since(t)
	default:
	}
	res.Figures["exited_s"] = since(exited)
	if j, ok := res.Figures["joined_s"]; ok {
		if m, ok := res.Figures["first_media_s"]; ok {
			res.Figures["join_to_first_media_s"] = m - j
		}
	}

	// Averages over the recording proper: from "recording started" (else
	// the start) to the planned end.
	from := facts.Recording
	if from.IsZero() {
		from = started
	}
	to := from.Add(cfg.Duration)
	if exited.Before(to) {
		to = exited
	}
	for k, v := range cpuFigures(sampler.Samples(), from, to, cfg.Clock) {
		res.Figures[k] = v
	}
	for k, v := range flashLateFigures(senders, from, to) {
		res.Figures[k] = v
	}
	for k, v := range senderFPSFigures(sendersBefore, senders, sendersAt.Sub(sendersBeforeAt)) {
		res.Figures[k] = v
	}

	if res.Error == "" && (waitErr != nil || res.ExitCode != 0) {
		res.Error = fmt.Sprintf("jitsi-recorder exited with code %d (%v); last log lines: %v", res.ExitCode, waitErr, lastN(facts.Tail, 5))
	}
	if res.Error != "" {
		return res
	}
	verifyCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	rep, err := verify.Verify(verifyCtx, file, l.Spec)
	if err != nil {
		return fail(fmt.Errorf("verify: %w", err))
	}
	st, err := os.Stat(file)
	if err != nil {
		return fail(err)
	}
	for k, v := range outputFigures(rep, st.Size(), cfg.Duration.Seconds(), sc.FPS) {
		res.Figures[k] = v
	}
	if cfg.Keep != "" {
		if err := keepRecording(file, rep, cfg.Keep, cfg.KeepAs); err != nil {
			cfg.Log.Warn("could not keep the recording", "err", err)
		}
	}
	if d := rep.DurationS; d > 0 {
		res.Figures["cpu_s_per_recorded_min.recorder/total"] = res.Figures["cpu_s.recorder/total"] / (d / 60)
	}
	return res
}

func lastN(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// groupBrowserPID is the lab participants' Chromium, 0 without participants.
func groupBrowserPID(l *lab.Lab) int {
	if l.Group == nil {
		return 0
	}
	return l.Group.BrowserPID()
}

// stopRecorder asks the recorder to finish (SIGTERM finalises the file),
// then kills its whole process group if it has not exited within 10 s.
func stopRecorder(pid int, done <-chan error) error {
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		return errors.New("jitsi-recorder did not exit after SIGKILL")
	}
}

// reapOrphans waits up to 5 s for the recorder tree's processes to go,
// then kills the ones left and names them.
func reapOrphans(s *Sampler) []string {
	var left map[int]string
	for i := 0; i < 50; i++ {
		if left = s.Survivors(); len(left) == 0 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	var out []string
	for pid, comm := range left {
		syscall.Kill(pid, syscall.SIGKILL)
		out = append(out, fmt.Sprintf("%d:%s", pid, comm))
	}
	return out
}

// watchFirstFragment sends the time the file first holds a media fragment.
func watchFirstFragment(ctx context.Context, path string, out chan<- time.Time) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if ok, _ := hasFragment(path); ok {
				out <- now
				return
			}
		}
	}
}

// outputFigures is what the verifier and the file size say. Expected
// frames are the asked duration times the asked frame rate, so time lost
// at the start counts as missing frames too.
func outputFigures(rep verify.Report, size int64, durationS float64, fps int) map[string]float64 {
	out := map[string]float64{
		"file_duration_s": rep.DurationS,
		"file_mb":         float64(size) / 1e6,
	}
	if rep.DurationS > 0 {
		out["bitrate_kbps"] = float64(size) * 8 / rep.DurationS / 1000
	}
	if v := rep.Video; v.Present {
		expected := durationS * float64(fps)
		out["video_frames"] = float64(v.Frames)
		out["video_frames_expected"] = expected
		if expected > 0 {
			out["video_delivered_pct"] = 100 * float64(v.Frames) / expected
		}
		out["video_fps"] = v.FPS
		// Where the frames start and end in the file: frames missing at
		// the start or end, not gaps, when the span is short.
		out["video_first_s"] = v.FirstS
		out["video_last_s"] = v.LastS
		if v.Frames > 1 {
			// Frames that repeat the previous picture: the composite drew
			// nothing new (the source did not move or the page was late).
			out["video_repeated_frames"] = math.Round((1 - v.ChangingFraction) * float64(v.Frames-1))
		}
		out["video_same_timestamp_frames"] = float64(v.Frames - v.DistinctTimestamps)
		out["video_max_gap_ms"] = 1000 * v.MaxGapS
		out["video_frozen_max_ms"] = 1000 * v.FrozenMaxS
		visible := 0
		for _, c := range rep.Colors {
			if c.Visible {
				visible++
			}
		}
		out["video_participants_visible"] = float64(visible)
	}
	if a := rep.AVOffsetMS; a.N > 0 {
		out["av_markers"] = float64(a.N)
		out["av_offset_mean_ms"] = a.Mean
		out["av_offset_max_abs_ms"] = math.Max(math.Abs(a.Min), math.Abs(a.Max))
	}
	// The first marker apart from the rest: the page's playout alignment
	// converges over the first seconds.
	var rest []float64
	for _, m := range rep.Markers {
		if !m.Matched {
			continue
		}
		if _, ok := out["av_offset_first_ms"]; !ok {
			out["av_offset_first_ms"] = m.OffsetMS
			continue
		}
		rest = append(rest, m.OffsetMS)
	}
	if len(rest) > 0 {
		sum, worst := 0.0, 0.0
		for _, o := range rest {
			sum += o
			worst = math.Max(worst, math.Abs(o))
		}
		out["av_offset_rest_mean_ms"] = sum / float64(len(rest))
		out["av_offset_rest_max_abs_ms"] = worst
	}
	out["audio_present"] = b2f(rep.Audio.Present)
	if len(rep.Tones) > 0 {
		lo, sum := 1.0, 0.0
		for _, t := range rep.Tones {
			lo = math.Min(lo, t.PresentFraction)
			sum += t.PresentFraction
		}
		out["audio_tone_present_min_pct"] = 100 * lo
		out["audio_tone_present_mean_pct"] = 100 * sum / float64(len(rep.Tones))
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// keepRecording copies the recording and writes the verifier's report beside it.
func keepRecording(file string, rep verify.Report, dir, name string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".mp4"), b, 0o644); err != nil {
		return err
	}
	j, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name+".json"), j, 0o644)
}

// senderReports reads what the lab's participants measured of themselves;
// nil if they cannot say (the figures are then left out).
func senderReports(ctx context.Context, l *lab.Lab) []participants.Report {
	if l.Group == nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	reps, err := l.Group.Reports(rctx)
	if err != nil {
		return nil
	}
	return reps
}

// flashLateFigures: how late the lab's senders drew the marker flashes of
// the recording's window, in ms. The recording's A/V offset includes it:
// a sender whose timer fires late puts its flash in a later frame, while
// its beep is scheduled on the audio clock.
func flashLateFigures(reps []participants.Report, from, to time.Time) map[string]float64 {
	var late []float64
	for _, r := range reps {
		for _, fl := range r.Self.FlashLate {
			at := time.UnixMilli(fl[0])
			if !at.Before(from) && at.Before(to) {
				late = append(late, float64(fl[1]))
			}
		}
	}
	if len(late) == 0 {
		return nil
	}
	sum, worst := 0.0, 0.0
	for _, v := range late {
		sum += v
		worst = math.Max(worst, v)
	}
	return map[string]float64{"sender_flash_late_mean_ms": sum / float64(len(late)), "sender_flash_late_max_ms": worst}
}

// senderFPSFigures: the frame rate the lab's senders drew at between two
// reports, mean and lowest over the participants. A lab starved of its
// CPU sends fewer frames than its shape asks, and the recorder then has
// less to decode than the scenario says.
func senderFPSFigures(before, after []participants.Report, elapsed time.Duration) map[string]float64 {
	if elapsed <= 0 {
		return nil
	}
	start := map[int]int{}
	for _, r := range before {
		start[r.Self.Index] = r.Self.FramesSent
	}
	var fps []float64
	for _, r := range after {
		if n, ok := start[r.Self.Index]; ok && r.Self.FramesSent >= n {
			fps = append(fps, float64(r.Self.FramesSent-n)/elapsed.Seconds())
		}
	}
	if len(fps) == 0 {
		return nil
	}
	sum, lo := 0.0, fps[0]
	for _, v := range fps {
		sum += v
		lo = math.Min(lo, v)
	}
	return map[string]float64{"sender_fps_mean": sum / float64(len(fps)), "sender_fps_min": lo}
}

// readAffinity sends, after wait (mid-recording), the CPUs the recorder's
// tree and the lab's other processes may run on.
func readAffinity(ctx context.Context, fs procfs.FS, recorderPID int, wait time.Duration, out chan<- [2]string) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(wait):
	}
	inRec := map[int]bool{}
	for _, p := range procfs.Descendants(fs.List(), recorderPID) {
		inRec[p] = true
	}
	out <- [2]string{treeAffinity(fs, recorderPID, nil), treeAffinity(fs, os.Getpid(), inRec)}
}
