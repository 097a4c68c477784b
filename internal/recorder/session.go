// Package recorder runs one recording: it starts Chromium, serves the
// recorder page at the deployment's origin, joins the meeting through it,
// pipes the page's MediaRecorder chunks into FFmpeg, watches the meeting
// and the media, and finalizes the file and its metadata when it stops.
package recorder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
	"github.com/jitsi-recorder/jitsi-recorder/internal/config"
	"github.com/jitsi-recorder/jitsi-recorder/internal/ffmpeg"
	"github.com/jitsi-recorder/jitsi-recorder/internal/logging"
	"github.com/jitsi-recorder/jitsi-recorder/internal/metadata"
	"github.com/jitsi-recorder/jitsi-recorder/internal/recorder/page"
	"github.com/jitsi-recorder/jitsi-recorder/internal/tracks"
)

// Why a recording stopped without error.
const (
	StopDuration     = "duration"      // RECORD_DURATION reached
	StopSignal       = "signal"        // the context was cancelled (SIGINT/SIGTERM)
	StopAlone        = "alone"         // nobody else in the meeting for ALONE_TIMEOUT
	StopMeetingEnded = "meeting-ended" // the page left the conference by itself
	StopError        = "error"
)

// Timings of the session; variables of the session so tests can shorten them.
type timings struct {
	stopPage    time.Duration // window.recorder.stop() and the "stopped" event
	ffmpegClose time.Duration // FFmpeg's last fragment after stdin closes
	// A stop nobody waits for (duration reached, alone, meeting ended) may
	// take longer: on a CPU-starved machine the page's last chunks and
	// FFmpeg's last fragment come late, and giving up loses the file's end.
	stopPageUnhurried    time.Duration
	ffmpegCloseUnhurried time.Duration
	stallWarn            time.Duration // no chunk for this long: warn
	stallFail            time.Duration // no chunk for this long: restart the browser
	watchEvery           time.Duration
	metadataEach         time.Duration
	// The CDP watchdog evaluates a trivial expression every watchdogEvery;
	// no answer within watchdogTimeout restarts the browser.
	watchdogEvery   time.Duration
	watchdogTimeout time.Duration
	restartEncoder  time.Duration // window.recorder.restartEncoder()
	setPace         time.Duration // window.recorder.setPace()
	// At most restartLimit browser (and, separately, FFmpeg) restarts in
	// any restartWindow; one more ends the recording.
	restartLimit  int
	restartWindow time.Duration
}

// tracksMetadataEach is how often the metadata is written in capture
// mode tracks.
const tracksMetadataEach = 2 * time.Second

var defaultTimings = timings{
	stopPage:    3 * time.Second,
	ffmpegClose: 1500 * time.Millisecond,

	stopPageUnhurried:    10 * time.Second,
	ffmpegCloseUnhurried: 5 * time.Second,
	stallWarn:            5 * time.Second,
	stallFail:            30 * time.Second,
	watchEvery:           time.Second,
	metadataEach:         30 * time.Second,
	watchdogEvery:        5 * time.Second,
	watchdogTimeout:      10 * time.Second,
	restartEncoder:       10 * time.Second,
	setPace:              5 * time.Second,
	restartLimit:         3,
	restartWindow:        10 * time.Minute,
}

// Result describes a finished recording.
type Result struct {
	File         string        // the MP4; "" when nothing was recorded
	MetadataFile string        // the JSON beside it
	Duration     time.Duration // from the first media to the stop
	Bytes        int64
	StopReason   string // one of the Stop* constants
}

// Run records the meeting in cfg until RECORD_DURATION, cancellation of
// ctx (then it finalizes the file: leave the page, flush FFmpeg, in < 5 s),
// the meeting ending or the recorder being alone for ALONE_TIMEOUT. Errors
// are *Error (see ExitCode); the recording made so far is kept.
func Run(ctx context.Context, cfg config.Config) (Result, error) {
	return run(ctx, cfg, page.Files(), defaultTimings)
}

type session struct {
	cfg   config.Config
	log   *slog.Logger
	t     timings
	files fs.FS

	outPath  string
	metaPath string
	meta     *metadata.Tracker
	redact   *strings.Replacer

	// sessCtx outlives record() by the finalize step: Chromium and FFmpeg
	// hang off it, and it ends when run returns.
	sessCtx     context.Context
	chromiumOut io.Writer
	browsers    []*browser.Browser // every browser started, closed by run
	closing     sync.WaitGroup     // browsers being reaped in the background

	att *attempt // the current browser instance

	// Capture mode tracks: frames placed on the timeline (routeMu: the
	// writers of an old and a new browser may overlap) and written to
	// per-participant files.
	routeMu    sync.Mutex
	router     *tracks.Router
	trackFiles *tracks.Set

	segStarted    chan *segment // from the writers, with a segment's first chunk
	writerErr     chan error    // from the writers: the recording cannot go on
	chunksWritten atomic.Int64

	mu            sync.Mutex
	videoCodec    string    // from the encoder event
	segmentCount  int       // segments opened so far
	nextReason    string    // reason of the next segment
	timelineStart time.Time // first media of segment 1

	// Owned by the session loop (record, finalize).
	segs            []*segment // every segment, in order
	cur             *segment   // being written; nil between segments
	browserRestarts limiter
	ffmpegRestarts  limiter
	// pacedFPS is the composite frame rate the metadata last noted (0:
	// none yet), so that a new browser's full rate is noted too.
	pacedFPS int
}

func run(ctx context.Context, cfg config.Config, files fs.FS, t timings) (res Result, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	m := cfg.Meeting
	s := &session{
		cfg: cfg, log: log, t: t, files: files,
		segStarted:      make(chan *segment, 8),
		writerErr:       make(chan error, 8),
		browserRestarts: limiter{max: t.restartLimit, window: t.restartWindow},
		ffmpegRestarts:  limiter{max: t.restartLimit, window: t.restartWindow},
	}
	var secrets []string
	for _, v := range []string{m.JWT, cfg.Password} {
		if v != "" {
			secrets = append(secrets, v, "[redacted]")
		}
	}
	s.redact = strings.NewReplacer(secrets...)

	// Whatever can fail without joining fails before the output is
	// claimed and Chromium starts.
	if err := preflight(ctx, cfg); err != nil {
		return Result{}, err
	}
	if err := s.prepareOutput(time.Now()); err != nil {
		return Result{}, err
	}
	// Space for the final metadata is held from the start, so a recording
	// that fills the disk still says what it holds and why it stopped.
	reserve, err := metadata.Reserve(s.metaPath, metadata.ReserveSize)
	if err != nil {
		s.removeEmptyOutput()
		kind := KindOutput
		if errors.Is(err, syscall.ENOSPC) {
			kind = KindDiskFull
		}
		return Result{}, &Error{Kind: kind, What: "prepare " + cfg.RecordingsDir, Err: err, Hint: "free space in " + cfg.RecordingsDir}
	}
	defer reserve.Release()
	res.File, res.MetadataFile = s.outPath, s.metaPath
	if cfg.Capture == config.CaptureTracks {
		s.trackFiles = tracks.NewSet(cfg.RecordingsDir, trackStem(s.outPath), log.With("part", "tracks"))
	}
	s.meta = metadata.NewTracker(metadata.Recording{
		Room: m.Room, Tenant: m.Tenant, Domain: m.Domain, URL: m.Redacted(),
		File: filepath.Base(s.outPath), Layout: "composite: screen share, else active speaker, else grid",
		Encoder: metadata.Encoder{Container: "mp4 (fragmented)", Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS,
			VideoBitrate: cfg.VideoBitrate, AudioBitrate: cfg.AudioBitrate},
	})
	log.Info("recording meeting", "url", m.Redacted(), "room", m.Room, "output", s.outPath)

	sessCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	s.sessCtx = sessCtx

	if browser.NeedsNoSandbox() {
		log.Warn("running as root: Chromium's sandbox is off (run as a normal user to keep it on)")
	}
	chromiumOut := logging.NewLineWriter(log.With("proc", "chromium"), "chromium output", s.redact.Replace)
	defer chromiumOut.Close()
	s.chromiumOut = chromiumOut
	defer func() {
		// No browser outlives the recording, whichever attempt it was.
		for _, b := range s.browsers {
			b.Close()
		}
		s.closing.Wait()
	}()
	a, err := s.startAttempt(1)
	if err != nil {
		s.removeEmptyOutput()
		return Result{}, err
	}
	s.att = a

	stopReason, runErr := s.record(ctx)
	stoppedAt := time.Now()
	if cfg.Progress != nil {
		cfg.Progress("") // the live line ends with the recording
	}

	// Finalize: whatever happened, the files must end cleanly.
	pageLeft := s.finalize(stopReason)
	defer func() {
		// Let the page leave the meeting politely before Chromium goes.
		closedWithin(pageLeft, time.Second)
		if s.att != nil {
			s.att.stop()
			if s.att.engine != nil {
				s.att.engine.Close()
			}
		}
	}()
	if len(s.segs) == 0 || s.chunksWritten.Load() == 0 {
		for _, sg := range s.segs {
			sg.ff.Kill()
		}
		s.removeEmptyOutput()
		os.Remove(s.metaPath) // a periodic update may have written one
		res.File, res.MetadataFile = "", ""
		if runErr == nil && stopReason != StopSignal {
			runErr = &Error{Kind: KindOutput, What: "record", Err: errors.New("the page produced no media"), Hint: "run with LOG_LEVEL=debug for details"}
		}
		res.StopReason = stopReason
		return res, runErr
	}
	if sg := s.cur; sg != nil {
		closeWithin := s.t.ffmpegClose
		if unhurried(stopReason) {
			closeWithin = s.t.ffmpegCloseUnhurried
		}
		if cerr := sg.ff.CloseWithin(closeWithin); cerr != nil && runErr == nil && !sg.ff.ReachedMaxDuration() {
			runErr = outputError(cerr, s.cfg.RecordingsDir)
		}
		if runErr == nil {
			// A file that stops short must not pass for a whole recording.
			runErr = incompleteError(sg, stoppedAt)
		}
		if runErr == nil && !s.cfg.AudioOnly {
			runErr = videoShortError(sg, log)
		}
	}
	end := time.Now()
	var media float64
	for _, sg := range s.segs {
		size := sg.size()
		res.Bytes += size
		media += sg.ff.Progress().MediaSeconds
		if !sg.ended {
			s.meta.SegmentEnded(sg.file(), end, size, sg.ff.Progress().MediaSeconds)
		}
	}
	if runErr == nil && media == 0 && stoppedAt.Sub(s.segs[0].startedAt) > incompleteAfter {
		// Chunks came but FFmpeg wrote nothing of them (a page that hung
		// after its first chunk, then a restart that had not recorded yet).
		runErr = &Error{Kind: KindIncomplete, What: "record", Err: errors.New("no media was written"), Hint: starvedHint}
	}
	if runErr != nil {
		stopReason = StopError
	}
	if s.trackFiles != nil {
		if err := s.trackFiles.Close(); err != nil {
			log.Warn("track files not closed cleanly", "err", err)
		}
		s.meta.SetTracks(s.trackMetadata())
	}
	snap := s.meta.Snapshot(end, res.Bytes, stopReason, runErr)
	res.Duration = time.Duration(snap.DurationSeconds * float64(time.Second))
	res.StopReason = stopReason
	if werr := metadata.WriteReserved(s.metaPath, snap, reserve); werr != nil {
		log.Warn("metadata not written", "err", werr)
		if runErr == nil {
			runErr = &Error{Kind: KindOutput, What: "write metadata", Err: werr, Hint: "check RECORDINGS_DIR is writable and not full"}
		}
	}
	log.Info("recording finished", "file", s.outPath, "segments", len(s.segs), "duration", res.Duration.Round(time.Millisecond).String(),
		"bytes", res.Bytes, "reason", stopReason, "participants", len(snap.Participants),
		"browser_restarts", snap.BrowserRestarts, "ffmpeg_restarts", snap.FFmpegRestarts, "reconnects", snap.Reconnects)
	return res, runErr
}

// recorderFlags are the recorder's additions to the browser's flags.
//
// The page is fulfilled by interception, so Chromium knows no IP address for
// it and treats it as a public site; Local Network Access then blocks its
// WebSocket and WebRTC to a deployment on a private or loopback address (a
// LAN install, the lab) with ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS. The
// page is our own and talks only to the deployment, so the checks are off.
func recorderFlags() map[string]string {
	disabled := browser.Flags(browser.Options{})["disable-features"]
	if disabled != "" {
		disabled += ","
	}
	disabled += "LocalNetworkAccessChecks,LocalNetworkAccessChecksWebSockets,LocalNetworkAccessChecksWebRTC"
	return map[string]string{"disable-features": disabled}
}

// prepareOutput creates the recordings directory and claims the output
// file (never overwriting one), so a bad path fails before joining.
func (s *session) prepareOutput(now time.Time) error {
	name := s.cfg.OutputFile
	if name == "" {
		name = config.DefaultOutputFile(s.cfg.Meeting.Room, now)
	}
	dir := s.cfg.RecordingsDir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &Error{Kind: KindOutput, What: "create recordings directory", Err: err, Hint: "check RECORDINGS_DIR"}
	}
	s.outPath = filepath.Join(dir, name)
	s.metaPath = metadata.PathFor(s.outPath)
	f, err := os.OpenFile(s.outPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return &Error{Kind: KindUsage, What: "create " + s.outPath, Err: errors.New("file exists"), Hint: "choose another OUTPUT_FILE or move the old recording"}
		}
		return &Error{Kind: KindOutput, What: "create " + s.outPath, Err: err, Hint: "check RECORDINGS_DIR is writable"}
	}
	return f.Close()
}

// removeEmptyOutput removes the claimed file if nothing was written to it.
func (s *session) removeEmptyOutput() {
	if st, err := os.Stat(s.outPath); err == nil && st.Size() == 0 {
		os.Remove(s.outPath)
	}
}

// outputError classifies a failure to write the recording into dir.
func outputError(err error, dir string) *Error {
	if errors.Is(err, ffmpeg.ErrDiskFull) || errors.Is(err, syscall.ENOSPC) {
		return &Error{Kind: KindDiskFull, What: "write recording", Err: fmt.Errorf("%w in %s", ffmpeg.ErrDiskFull, dir),
			Hint: "free space in " + dir + "; the recording so far is kept"}
	}
	return &Error{Kind: KindOutput, What: "write recording", Err: err, Hint: "run with LOG_LEVEL=debug to see FFmpeg's output"}
}

// loop is the session loop's state besides the session's own.
type loop struct {
	recording   bool
	recStart    time.Time
	durationC   <-chan time.Time
	aloneSince  time.Time
	lastStats   pageEvent
	stallWarned bool
	lagWarned   bool // the encoder is behind real time
	lastFPSWarn time.Time
	state       string
	// reconnecting: the page lost the meeting and rejoins; nobody is
	// there meanwhile, which is not "alone".
	reconnecting bool
	// seen are the ids of every participant reported so far.
	seen map[string]bool
}

// record joins and records until a stop condition; it returns why it
// stopped, and the error if that was a failure. It restarts FFmpeg or the
// browser when they fail, within the limits.
func (s *session) record(ctx context.Context) (string, error) {
	cfg, log := s.cfg, s.log
	l := loop{seen: map[string]bool{}}
	watch := time.NewTicker(s.t.watchEvery)
	defer watch.Stop()
	metaEvery := s.t.metadataEach
	if cfg.Capture == config.CaptureTracks {
		// The metadata names the track files and the events a composite
		// is rebuilt from: kept current, so a killed recorder's tracks
		// can be composed again.
		metaEvery = min(metaEvery, tracksMetadataEach)
	}
	metaTick := time.NewTicker(metaEvery)
	defer metaTick.Stop()

	startRecording := func(at time.Time) {
		if l.recording {
			return
		}
		s.mu.Lock()
		if s.timelineStart.IsZero() {
			s.timelineStart = at
		}
		at = s.timelineStart // a tracks writer may have started it
		s.mu.Unlock()
		l.recording, l.recStart, l.aloneSince = true, at, time.Now()
		s.meta.Started(at)
		if cfg.Duration > 0 {
			l.durationC = time.After(cfg.Duration - time.Since(at))
		}
		log.Info("recording started", "duration", durationText(cfg.Duration), "alone_timeout", cfg.AloneTimeout.String())
	}

	// browserFault replaces the browser: the current segment ends, a new
	// browser joins again and its media goes into a new segment.
	browserFault := func(why string) error {
		now := time.Now()
		old := s.att
		old.stop() // the writer ends: the segment can be closed
		gapFrom := now
		if sg := s.cur; sg != nil {
			gapFrom = sg.endedAt(now)
			s.endSegment(sg, gapFrom, true)
		}
		if !s.browserRestarts.allow(now) {
			log.Error("browser failed too often; giving up", "reason", why, "limit", s.t.restartLimit, "window", s.t.restartWindow.String())
			s.closeAttempt(old)
			s.att = nil // nothing left to stop
			return &Error{Kind: KindBrowser, What: "record", Err: fmt.Errorf("%s; the browser failed %d times within %s", why, len(s.browserRestarts.times), s.t.restartWindow),
				Hint: "check memory limits (Chromium needs about 1 GB) and run with LOG_LEVEL=debug to see Chromium's output"}
		}
		log.Warn("browser failed; restarting it", "reason", why)
		if l.recording {
			s.meta.GapStarted(gapFrom, metadata.GapBrowserRestart)
			s.meta.LeftAll(now) // whoever is still there joins again
		}
		s.meta.BrowserRestarted()
		s.closeAttempt(old)
		s.mu.Lock()
		s.nextReason = metadata.SegmentBrowserRestart
		s.mu.Unlock()
		l.stallWarned, l.reconnecting, l.state = false, false, ""
		a, err := s.startAttempt(old.n + 1)
		if err != nil {
			s.att = nil
			return err
		}
		s.att = a
		return nil
	}

	for {
		a := s.att
		var ffDone <-chan struct{}
		if s.cur != nil {
			ffDone = s.cur.ff.Done()
		}
		select {
		case <-ctx.Done():
			log.Info("stopping: signal received")
			return StopSignal, nil

		case <-l.durationC:
			log.Info("stopping: duration reached", "duration", cfg.Duration.String())
			return StopDuration, nil

		case err := <-a.startDone:
			if err == nil {
				a.joined, a.joinedAt = true, time.Now()
				go s.watchdog(a)
				if a.n > 1 {
					log.Info("browser restarted", "attempt", a.n, "took", time.Since(a.started).Round(time.Millisecond).String())
					if s.meta.Present() == 0 {
						l.aloneSince = time.Now()
					}
				}
				startRecording(time.Now())
				continue
			}
			if a.pendingError != nil {
				return StopError, a.pendingError
			}
			return StopError, s.joinError(err, a.joinCtx, l.state == "lobby")

		case ev := <-a.events:
			if stop, err, done := s.handleEvent(a, &l, ev, startRecording); done {
				return stop, err
			}

		case sg := <-s.segStarted:
			if sg.attempt != s.att {
				// A late segment of a browser that was given up.
				sg.ff.Kill()
				if sg.size() == 0 {
					os.Remove(sg.path)
				}
				continue
			}
			if prev := s.cur; prev != nil {
				s.endSegment(prev, time.Now(), true)
			}
			s.cur = sg
			s.segs = append(s.segs, sg)
			startRecording(sg.startedAt)
			s.meta.SegmentStarted(sg.file(), sg.startedAt, sg.reason)
			if sg.index > 1 {
				s.meta.GapEnded(sg.startedAt, metadata.GapFFmpegRestart)
				s.meta.GapEnded(sg.startedAt, metadata.GapBrowserRestart)
				log.Info("new segment started", "file", sg.path, "segment", sg.index, "reason", sg.reason)
			}

		case <-ffDone:
			sg := s.cur
			if sg.ff.ReachedMaxDuration() {
				log.Info("stopping: duration reached (the file has it)", "duration", cfg.Duration.String())
				return StopDuration, nil
			}
			ferr := errOr(sg.ff.Err(), errors.New("exited with no error"))
			if errors.Is(ferr, ffmpeg.ErrDiskFull) {
				log.Error("disk full: stopping the recording", "dir", cfg.RecordingsDir, "segment", sg.path)
				s.endSegment(sg, sg.endedAt(time.Now()), false)
				return StopError, outputError(ferr, cfg.RecordingsDir)
			}
			now := time.Now()
			if !s.ffmpegRestarts.allow(now) {
				log.Error("ffmpeg failed too often; giving up", "err", ferr, "limit", s.t.restartLimit, "window", s.t.restartWindow.String())
				s.endSegment(sg, sg.endedAt(now), false)
				e := outputError(fmt.Errorf("ffmpeg exited %d times within %s, last: %w", len(s.ffmpegRestarts.times), s.t.restartWindow, ferr), cfg.RecordingsDir)
				return StopError, e
			}
			log.Warn("ffmpeg exited; starting a new segment", "err", ferr, "segment", sg.path)
			s.endSegment(sg, sg.endedAt(now), false)
			s.meta.GapStarted(sg.endedAt(now), metadata.GapFFmpegRestart)
			s.meta.FFmpegRestarted()
			s.mu.Lock()
			s.nextReason = metadata.SegmentFFmpegRestart
			s.mu.Unlock()
			// The dead FFmpeg's generation is over: its remaining chunks
			// are dropped, the page's next encoder starts a new file.
			if sg.attempt == a {
				if a.engine != nil {
					// The composite goes on: a new encoder, a new file.
					go func() { a.restarted <- s.reopenSegment(a) }()
				} else {
					a.minGen.Store(sg.gen + 1)
					go func() { a.restarted <- s.restartEncoder(a) }()
				}
			}

		case err := <-a.restarted:
			if err != nil {
				// The page cannot give a new stream: a new browser can.
				log.Warn("the page could not restart its encoder", "err", err)
				if err := browserFault("the page could not restart its encoder"); err != nil {
					return StopError, err
				}
			}

		case err := <-s.writerErr:
			return StopError, outputError(err, cfg.RecordingsDir)

		case <-a.b.Done():
			if err := browserFault("chromium exited"); err != nil {
				return StopError, err
			}
		case <-a.crashed:
			if err := browserFault("the recorder page crashed"); err != nil {
				return StopError, err
			}
		case err := <-a.hung:
			if err := browserFault("CDP watchdog: " + err.Error()); err != nil {
				return StopError, err
			}

		case <-metaTick.C:
			if l.recording {
				s.meta.SetTracks(s.trackMetadata())
				if err := metadata.Write(s.metaPath, s.liveSnapshot()); err != nil {
					log.Warn("metadata not updated", "err", err)
				}
			}

		case now := <-watch.C:
			if !l.recording || !a.joined {
				continue
			}
			if cfg.AloneTimeout > 0 && !l.reconnecting && !l.aloneSince.IsZero() && s.meta.Present() == 0 && now.Sub(l.aloneSince) >= cfg.AloneTimeout {
				log.Info("stopping: alone in the meeting", "for", cfg.AloneTimeout.String())
				return StopAlone, nil
			}
			since := now.Sub(a.joinedAt)
			if last := a.lastChunk.Load(); last > 0 {
				since = now.Sub(time.Unix(0, last))
			}
			switch {
			case since >= s.t.stallFail:
				if err := browserFault(fmt.Sprintf("no media from the page for %s", since.Round(time.Second))); err != nil {
					return StopError, err
				}
				continue
			case since >= s.t.stallWarn && !l.stallWarned:
				l.stallWarned = true
				log.Warn("no media from the page", "for", since.Round(time.Second).String())
			case since < s.t.stallWarn && l.stallWarned:
				l.stallWarned = false
				log.Info("media flowing again")
			}
			if sg := s.cur; sg != nil {
				// Media written lags the clock by a chunk or two; more means
				// the browser's encoder cannot keep up, and the file will
				// end short of the meeting (exit 9).
				want, got := sg.shortfall(now)
				lag := want - got
				if a.engine == nil {
					s.pace(a, sg, now, lag)
				}
				switch {
				case lag > encoderLagWarn && !l.lagWarned:
					l.lagWarned = true
					log.Warn("the browser's encoder is behind real time (CPU starved?)", "behind", lag.Round(100*time.Millisecond).String())
				case lag < encoderLagWarn/2 && l.lagWarned:
					l.lagWarned = false
					log.Info("the browser's encoder caught up")
				}
			}
			if cfg.Progress != nil {
				cfg.Progress(fmt.Sprintf("REC %s  %s  %d participant(s)  %.0f fps",
					clock(now.Sub(l.recStart)), humanBytes(s.totalBytes()), s.meta.Present(), l.lastStats.FPS))
			}
		}
	}
}

// handleEvent handles one page event; done says the recording stops.
func (s *session) handleEvent(a *attempt, l *loop, ev pageEvent, startRecording func(time.Time)) (stop string, err error, done bool) {
	cfg, log := s.cfg, s.log
	if !s.isOwnGhost(a, l, ev) {
		s.composeEvent(a, ev)
	}
	switch ev.Type {
	case "state":
		if ev.State != l.state {
			l.state = ev.State
			log.Info("page state", "state", ev.State)
		}
		switch ev.State {
		case "recording":
			startRecording(ev.time())
		case "left":
			if l.recording && a.joined {
				log.Info("stopping: the recorder left the meeting (meeting ended)")
				return StopMeetingEnded, nil, true
			}
		}
	case "error":
		perr := pageError("join "+cfg.Meeting.Room, ev.Code, s.redact.Replace(ev.Message))
		if l.recording && a.joined {
			perr.What = "record " + cfg.Meeting.Room
			log.Error("page error while recording", "code", ev.Code, "message", s.redact.Replace(ev.Message))
			return StopError, perr, true
		}
		log.Debug("page error", "code", ev.Code, "message", s.redact.Replace(ev.Message))
		if a.pendingError == nil {
			a.pendingError = perr
		}
		if ev.Code == "not-jitsi" && !a.joined {
			// The page cannot join at all: no need to wait for start().
			return StopError, perr, true
		}
	case "participant-joined":
		if s.isOwnGhost(a, l, ev) {
			log.Info("ignoring the previous browser's recorder, still in the meeting until the server drops it", "id", ev.ID, "name", ev.Name)
			return "", nil, false
		}
		l.seen[ev.ID] = true
		s.meta.Joined(ev.ID, ev.Name, ev.time())
		l.aloneSince = time.Time{}
		log.Info("participant joined", "id", ev.ID, "name", ev.Name, "present", s.meta.Present())
	case "participant-left":
		s.meta.Left(ev.ID, ev.time())
		log.Info("participant left", "id", ev.ID, "present", s.meta.Present())
		if s.meta.Present() == 0 && l.aloneSince.IsZero() {
			l.aloneSince = time.Now()
		}
	case "participant-renamed":
		s.meta.Renamed(ev.ID, ev.Name)
		log.Info("participant renamed", "id", ev.ID, "name", ev.Name)
	case "dominant-speaker":
		s.meta.Speaker(ev.ID, ev.time())
		log.Debug("dominant speaker", "id", ev.ID)
	case "track":
		log.Debug("track", "id", ev.ID, "kind", ev.Kind, "video_type", ev.VideoType, "muted", ev.Muted, "ssrc", ev.SSRC)
	case "encoder":
		s.mu.Lock()
		s.videoCodec = ev.VideoCodec
		s.mu.Unlock()
		s.meta.SetEncoder(metadata.Encoder{
			MimeType: ev.MimeType, VideoCodec: ev.VideoCodec, AudioCodec: ev.AudioCodec,
			VideoCopied: ffmpeg.CanCopyVideo(ev.VideoCodec), Container: "mp4 (fragmented)",
			Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, VideoBitrate: cfg.VideoBitrate, AudioBitrate: cfg.AudioBitrate,
		})
		log.Info("encoder", "mime_type", ev.MimeType, "video", ev.VideoCodec, "audio", ev.AudioCodec,
			"video_copied", ffmpeg.CanCopyVideo(ev.VideoCodec), "gen", ev.Gen)
	case "stats":
		l.lastStats = ev
		log.Debug("stats", "participants", ev.Participants, "video_tracks", ev.VideoTracks,
			"audio_tracks", ev.AudioTracks, "fps", ev.FPS, "draw_share", ev.DrawShare)
		want := cfg.FPS
		if a.pace != nil {
			want = a.pace.fps // lowered on purpose: not news
		}
		if a.engine == nil && l.recording && ev.FPS > 0 && ev.FPS < 0.6*float64(want) && time.Since(l.lastFPSWarn) > 30*time.Second {
			l.lastFPSWarn = time.Now()
			log.Warn("composite frame rate is low (CPU starved?)", "fps", ev.FPS, "want", want)
		}
	case "reconnecting":
		l.reconnecting = true
		s.meta.GapStarted(ev.time(), metadata.GapReconnecting)
		giveUp := cfg.ReconnectTimeout
		if giveUp == 0 {
			giveUp = defaultReconnectTimeout
		}
		log.Warn("lost the meeting; reconnecting", "reason", ev.Reason, "give_up_after", giveUp.String())
	case "reconnected":
		l.reconnecting = false
		s.meta.GapEnded(ev.time(), metadata.GapReconnecting)
		s.meta.Reconnected()
		if s.meta.Present() == 0 {
			l.aloneSince = time.Now()
		}
		log.Info("reconnected to the meeting", "attempts", ev.Attempts)
	case "media-gap":
		switch ev.State {
		case "start":
			s.meta.GapStarted(ev.time(), metadata.GapNoMedia)
			log.Warn("no media from the meeting", "since", ev.time().UTC().Format(time.RFC3339), "for", time.Since(ev.time()).Round(100*time.Millisecond).String())
		case "end":
			s.meta.GapEnded(ev.time(), metadata.GapNoMedia)
			log.Info("media from the meeting again", "gap", s.openGapLength(ev.time()))
		}
	case "stopped":
		if l.recording && a.joined {
			log.Info("stopping: the page stopped recording")
			return StopMeetingEnded, nil, true
		}
	default:
		log.Debug("unknown page event", "type", ev.Type)
	}
	return "", nil, false
}

// ghostWindow: after a browser restart, the meeting still holds the
// killed browser's recorder for a while (its server session was not
// closed); the new page reports it among the participants already there.
const ghostWindow = 10 * time.Second

// isOwnGhost reports whether a participant is the recorder of a previous
// browser of this session: after a restart, someone with the recorder's
// display name never seen before, reported while the new page joins.
func (s *session) isOwnGhost(a *attempt, l *loop, ev pageEvent) bool {
	if a.n == 1 || l.seen[ev.ID] || ev.Name != s.cfg.DisplayName {
		return false
	}
	return !a.joined || time.Since(a.joinedAt) < ghostWindow
}

// endSegment accounts for a segment's end; closeIt also ends its FFmpeg
// (stdin EOF: it writes the last fragment).
func (s *session) endSegment(sg *segment, at time.Time, closeIt bool) {
	if closeIt {
		if err := sg.ff.CloseWithin(s.t.ffmpegClose); err != nil {
			s.log.Debug("ffmpeg close", "segment", sg.file(), "err", err)
		}
	}
	if !sg.ended {
		sg.ended = true
		s.meta.SegmentEnded(sg.file(), at, sg.size(), sg.ff.Progress().MediaSeconds)
	}
	if s.cur == sg {
		s.cur = nil
	}
}

func (s *session) totalBytes() int64 {
	var n int64
	for _, sg := range s.segs {
		n += sg.size()
	}
	return n
}

func (s *session) liveSnapshot() metadata.Recording {
	if sg := s.cur; sg != nil {
		s.meta.SegmentSize(sg.file(), sg.size())
	}
	return s.meta.Snapshot(time.Time{}, s.totalBytes(), "", nil)
}

// openGapLength is how long the no-media gap that ends at end lasted, as
// text for the log.
func (s *session) openGapLength(end time.Time) string {
	gaps := s.meta.Snapshot(time.Time{}, 0, "", nil).Gaps
	for i := len(gaps) - 1; i >= 0; i-- {
		if g := gaps[i]; g.Reason == metadata.GapNoMedia && g.To != nil {
			return (time.Duration((*g.To - g.From) * float64(time.Second))).Round(100 * time.Millisecond).String()
		}
	}
	return ""
}

// defaultReconnectTimeout is the page's when start() gets none.
const defaultReconnectTimeout = 2 * time.Minute

// noMediaMs without inbound media is a media gap (page contract).
const noMediaMs = 4000

// startPage navigates to the recorder page and calls window.recorder.start.
func (s *session) startPage(ctx context.Context) error {
	cfg := s.cfg
	if err := chromedp.Do(ctx, chromedp.Navigate(cfg.Meeting.PageURL())); err != nil {
		return fmt.Errorf("load recorder page: %w", err)
	}
	expr, err := startExpression(startOptions{
		Domain: cfg.Meeting.Domain, Room: cfg.Meeting.Room, Tenant: cfg.Meeting.Tenant,
		JWT: cfg.Meeting.JWT, Password: cfg.Password, DisplayName: cfg.DisplayName,
		Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS,
		VideoBitsPerSecond: cfg.VideoBitrate, AudioBitsPerSecond: cfg.AudioBitrate,
		ChunkMs: int(chunkLength / time.Millisecond), MimeTypes: mimeTypes, ConfigOverrides: cfg.Meeting.ConfigOverrides,
		AudioOnly:          cfg.AudioOnly,
		Capture:            cfg.Capture,
		ReconnectTimeoutMs: cfg.ReconnectTimeout.Milliseconds(),
		NoMediaMs:          noMediaMs,
		RejoinAfterMs:      cfg.NoMediaTimeout.Milliseconds(),
	})
	if err != nil {
		return err
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("start recorder page: %w", err)
	}
	if code, ok := strings.CutPrefix(res, "error:"); ok {
		return &pageStartError{code: s.redact.Replace(code)}
	}
	return nil
}

type pageStartError struct{ code string }

func (e *pageStartError) Error() string { return e.code }

// joinError classifies a failed start.
func (s *session) joinError(err error, joinCtx context.Context, inLobby bool) error {
	what := "join " + s.cfg.Meeting.Room
	var pe *pageStartError
	switch {
	case errors.As(err, &pe):
		code, msg, _ := strings.Cut(pe.code, ":")
		if _, known := pageErrors[code]; !known {
			code, msg = "other", pe.code
		}
		return pageError(what, code, strings.TrimSpace(msg))
	case errors.Is(joinCtx.Err(), context.DeadlineExceeded) && inLobby:
		return &Error{Kind: KindJoinTimeout, What: what, Err: fmt.Errorf("still waiting in the lobby after %s", s.cfg.JoinTimeout),
			Hint: "ask a moderator to admit the recorder, or raise JOIN_TIMEOUT"}
	case errors.Is(joinCtx.Err(), context.DeadlineExceeded):
		return &Error{Kind: KindJoinTimeout, What: what, Err: fmt.Errorf("not recording after %s", s.cfg.JoinTimeout),
			Hint: "check the deployment is reachable, or raise JOIN_TIMEOUT if a lobby needs longer"}
	}
	return &Error{Kind: KindBrowser, What: what, Err: err, Hint: "run with LOG_LEVEL=debug for details"}
}

// finalize stops the page (its last chunk, then "stopped") and waits for
// the writer to hand everything to FFmpeg; run then closes FFmpeg. It
// takes at most stopPage + 1 s, so with FFmpeg's close the whole stop
// stays under 5 s. The page leaves the meeting after "stopped"; pageLeft
// is closed when it is done (or gave up), so the caller can give it a
// moment.
func (s *session) finalize(reason string) (pageLeft <-chan struct{}) {
	start := time.Now()
	stopPage := s.t.stopPage
	if unhurried(reason) {
		stopPage = s.t.stopPageUnhurried
	}
	left := make(chan struct{})
	a := s.att
	if a == nil {
		close(left)
		return left
	}
	select {
	case <-a.b.Done():
		close(left)
	default:
		go func() {
			defer close(left)
			stopCtx, cancel := context.WithTimeout(a.b.Context(), stopPage+2*time.Second)
			defer cancel()
			res, err := chromedp.Run(stopCtx, chromedp.Evaluate[string](stopExpression, chromedp.EvalAwaitPromise))
			if err != nil || res != "" {
				s.log.Debug("page stop", "result", res, "err", err)
			}
		}()
	}
	if !a.joined && (s.cur == nil || s.cur.attempt != a) {
		// A browser still joining (a restart) has no media to wait for.
		a.stop()
	}
	// After "stopped" the reader closes the chunks and the writer ends once
	// it wrote them all.
	if !closedWithin(a.writerDone, stopPage) {
		if s.chunksWritten.Load() > 0 {
			s.log.Warn("page did not confirm its last chunk; finishing with what arrived")
		}
		a.stop() // the reader closes the chunks; the writer drains them
		if !closedWithin(a.writerDone, time.Second) {
			s.log.Warn("media writer still busy; closing FFmpeg anyway")
		}
	}
	// A segment may have started while the loop was no longer looking.
	for {
		select {
		case sg := <-s.segStarted:
			if prev := s.cur; prev != nil {
				s.endSegment(prev, time.Now(), true)
			}
			s.cur = sg
			s.segs = append(s.segs, sg)
			s.meta.SegmentStarted(sg.file(), sg.startedAt, sg.reason)
			continue
		default:
		}
		break
	}
	s.log.Debug("page stopped", "took", time.Since(start).Round(time.Millisecond).String(), "reason", reason)
	return left
}

// unhurried reports whether nobody waits for a stop for this reason: a
// signal must finish within 5 s; a failure has nothing more to wait for.
func unhurried(reason string) bool {
	return reason == StopDuration || reason == StopAlone || reason == StopMeetingEnded
}

func closedWithin(ch <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		d = time.Millisecond
	}
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

func (s *session) logConsole(msgs iter.Seq2[chromedp.ConsoleMessage, error]) {
	for m, err := range msgs {
		if err != nil {
			return
		}
		text := s.redact.Replace(m.Text)
		if m.IsException() {
			s.log.Warn("page exception", "text", text, "url", m.URL, "line", m.Line+1)
			continue
		}
		s.log.Debug("page console", "type", string(m.Type), "text", text)
	}
}

func errOr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

func durationText(d time.Duration) string {
	if d == 0 {
		return "until the meeting ends"
	}
	return d.String()
}

func clock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d kB", n/1024)
	}
}
