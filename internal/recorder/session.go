// Package recorder runs one recording: it starts Chromium, serves the
// recorder page at the deployment's origin, joins the meeting through it,
// pipes the page's MediaRecorder chunks into FFmpeg, watches the meeting
// and the media, and finalizes the file and its metadata when it stops.
package recorder

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
	"github.com/jitsi-recorder/jitsi-recorder/internal/config"
	"github.com/jitsi-recorder/jitsi-recorder/internal/ffmpeg"
	"github.com/jitsi-recorder/jitsi-recorder/internal/logging"
	"github.com/jitsi-recorder/jitsi-recorder/internal/metadata"
	"github.com/jitsi-recorder/jitsi-recorder/internal/recorder/page"
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
	stallFail            time.Duration // no chunk for this long: give up
	watchEvery           time.Duration
	metadataEach         time.Duration
}

var defaultTimings = timings{
	stopPage:    3 * time.Second,
	ffmpegClose: 1500 * time.Millisecond,

	stopPageUnhurried:    10 * time.Second,
	ffmpegCloseUnhurried: 5 * time.Second,
	stallWarn:            5 * time.Second,
	stallFail:            30 * time.Second,
	watchEvery:           time.Second,
	metadataEach:         30 * time.Second,
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

type chunk struct {
	seq  int64
	data string
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

	// readerCtx bounds the goroutines that read the page's events; it
	// outlives record() so finalize still gets the last chunks.
	readerCtx  context.Context
	stopReader context.CancelFunc

	events chan pageEvent
	chunks chan chunk // sent and closed by readBindings only

	mu         sync.Mutex
	videoCodec string          // from the encoder event
	ff         *ffmpeg.Process // set by the writer with the first chunk

	ffStarted     chan struct{} // one signal when ff is set
	writerErr     chan error
	writerDone    chan struct{}
	lastChunk     atomic.Int64 // unix nanos
	chunksWritten atomic.Int64
}

func (s *session) ffmpeg() *ffmpeg.Process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ff
}

func run(ctx context.Context, cfg config.Config, files fs.FS, t timings) (res Result, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	m := cfg.Meeting
	s := &session{
		cfg: cfg, log: log, t: t, files: files,
		events:     make(chan pageEvent, 256),
		chunks:     make(chan chunk, 120),
		ffStarted:  make(chan struct{}, 1),
		writerErr:  make(chan error, 1),
		writerDone: make(chan struct{}),
	}
	var secrets []string
	for _, v := range []string{m.JWT, cfg.Password} {
		if v != "" {
			secrets = append(secrets, v, "[redacted]")
		}
	}
	s.redact = strings.NewReplacer(secrets...)

	if err := s.prepareOutput(time.Now()); err != nil {
		return Result{}, err
	}
	res.File, res.MetadataFile = s.outPath, s.metaPath
	s.meta = metadata.NewTracker(metadata.Recording{
		Room: m.Room, Tenant: m.Tenant, Domain: m.Domain, URL: m.Redacted(),
		File: filepath.Base(s.outPath), Layout: "composite: screen share, else active speaker, else grid",
		Encoder: metadata.Encoder{Container: "mp4 (fragmented)", Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS,
			VideoBitrate: cfg.VideoBitrate, AudioBitrate: cfg.AudioBitrate},
	})
	log.Info("recording meeting", "url", m.Redacted(), "room", m.Room, "output", s.outPath)

	// The session outlives ctx by the finalize step: Chromium and FFmpeg
	// hang off sessCtx, which ends when run returns.
	sessCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()

	if browser.NeedsNoSandbox() {
		log.Warn("running as root: Chromium's sandbox is off (run as a normal user to keep it on)")
	}
	chromiumOut := logging.NewLineWriter(log.With("proc", "chromium"), "chromium output", s.redact.Replace)
	defer chromiumOut.Close()
	b, err := browser.Start(sessCtx, browser.Options{
		Binary: cfg.ChromiumPath, WindowWidth: cfg.Width, WindowHeight: cfg.Height,
		Logger: log, Output: chromiumOut, ExtraFlags: recorderFlags(),
	})
	if err != nil {
		s.removeEmptyOutput()
		return Result{}, &Error{Kind: KindBrowser, What: "start chromium", Err: err, Hint: "install Debian's chromium or set CHROMIUM_PATH"}
	}
	defer b.Close()
	s.readerCtx, s.stopReader = context.WithCancel(b.Context())
	defer s.stopReader()

	stopReason, runErr := s.record(ctx, b)
	if cfg.Progress != nil {
		cfg.Progress("") // the live line ends with the recording
	}

	// Finalize: whatever happened, the file must end cleanly.
	ff, recorded, pageLeft := s.finalize(b, stopReason)
	defer func() {
		// Let the page leave the meeting politely before Chromium goes.
		closedWithin(pageLeft, time.Second)
		s.stopReader()
	}()
	if !recorded {
		s.removeEmptyOutput()
		os.Remove(s.metaPath) // a periodic update may have written one
		res.File, res.MetadataFile = "", ""
		if runErr == nil && stopReason != StopSignal {
			runErr = &Error{Kind: KindOutput, What: "record", Err: errors.New("the page produced no media"), Hint: "run with LOG_LEVEL=debug for details"}
		}
		res.StopReason = stopReason
		return res, runErr
	}
	if ff != nil {
		closeWithin := s.t.ffmpegClose
		if unhurried(stopReason) {
			closeWithin = s.t.ffmpegCloseUnhurried
		}
		if cerr := ff.CloseWithin(closeWithin); cerr != nil && runErr == nil {
			runErr = outputError(cerr)
		}
		res.Bytes = ff.Progress().OutputBytes
	}
	end := time.Now()
	if runErr != nil {
		stopReason = StopError
	}
	snap := s.meta.Snapshot(end, res.Bytes, stopReason, runErr)
	res.Duration = time.Duration(snap.DurationSeconds * float64(time.Second))
	res.StopReason = stopReason
	if werr := metadata.Write(s.metaPath, snap); werr != nil {
		log.Warn("metadata not written", "err", werr)
		if runErr == nil {
			runErr = &Error{Kind: KindOutput, What: "write metadata", Err: werr, Hint: "check RECORDINGS_DIR is writable and not full"}
		}
	}
	log.Info("recording finished", "file", s.outPath, "duration", res.Duration.Round(time.Millisecond).String(),
		"bytes", res.Bytes, "reason", stopReason, "participants", len(snap.Participants))
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

func outputError(err error) *Error {
	if errors.Is(err, ffmpeg.ErrDiskFull) {
		return &Error{Kind: KindOutput, What: "write recording", Err: err, Hint: "free space in RECORDINGS_DIR"}
	}
	return &Error{Kind: KindOutput, What: "write recording", Err: err, Hint: "run with LOG_LEVEL=debug to see FFmpeg's output"}
}

// record joins and records until a stop condition; it returns why it
// stopped, and the error if that was a failure.
func (s *session) record(ctx context.Context, b *browser.Browser) (string, error) {
	cfg, log := s.cfg, s.log
	tab, readerCtx := b.Context(), s.readerCtx

	// Subscribe before navigating so no event is lost.
	bindings := chromedp.Events(readerCtx, runtime.BindingCalled)
	crashed := chromedp.Events(readerCtx, inspector.TargetCrashed)
	console := chromedp.Console(readerCtx)
	if _, err := chromedp.Call(tab, runtime.AddBinding, runtime.AddBindingParams{Name: page.EmitBinding}); err != nil {
		return StopError, &Error{Kind: KindBrowser, What: "add page binding", Err: err}
	}
	if err := enableInterception(tab, cfg.Meeting.PageURL()); err != nil {
		return StopError, &Error{Kind: KindBrowser, What: "intercept recorder page", Err: err}
	}
	go servePage(readerCtx, s.files, cfg.Meeting.PageURL(), log)
	go s.readBindings(bindings)
	go s.logConsole(console)
	browserGone := make(chan struct{})
	go func() {
		for _, err := range crashed {
			if err == nil {
				close(browserGone)
			}
			return
		}
	}()
	go s.writeChunks(tab)

	joinCtx, cancelJoin := context.WithTimeout(tab, cfg.JoinTimeout)
	defer cancelJoin()
	startDone := make(chan error, 1)
	go func() { startDone <- s.startPage(joinCtx) }()

	var (
		recording    bool
		recStart     time.Time
		durationC    <-chan time.Time
		aloneSince   time.Time
		ff           *ffmpeg.Process
		ffDone       <-chan struct{}
		lastStats    pageEvent
		stallWarned  bool
		lastFPSWarn  time.Time
		state        string
		pendingError *Error
	)
	watch := time.NewTicker(s.t.watchEvery)
	defer watch.Stop()
	metaTick := time.NewTicker(s.t.metadataEach)
	defer metaTick.Stop()

	startRecording := func(at time.Time) {
		if recording {
			return
		}
		recording, recStart, aloneSince = true, at, time.Now()
		s.meta.Started(at)
		if cfg.Duration > 0 {
			durationC = time.After(cfg.Duration - time.Since(at))
		}
		log.Info("recording started", "duration", durationText(cfg.Duration), "alone_timeout", cfg.AloneTimeout.String())
	}

	for {
		select {
		case <-ctx.Done():
			log.Info("stopping: signal received")
			return StopSignal, nil

		case <-durationC:
			log.Info("stopping: duration reached", "duration", cfg.Duration.String())
			return StopDuration, nil

		case err := <-startDone:
			startDone = nil
			if err == nil {
				startRecording(time.Now())
				continue
			}
			if pendingError != nil {
				return StopError, pendingError
			}
			return StopError, s.joinError(err, joinCtx)

		case ev := <-s.events:
			switch ev.Type {
			case "state":
				if ev.State != state {
					state = ev.State
					log.Info("page state", "state", ev.State)
				}
				switch ev.State {
				case "recording":
					startRecording(ev.time())
				case "left":
					if recording {
						log.Info("stopping: the recorder left the meeting (meeting ended)")
						return StopMeetingEnded, nil
					}
				}
			case "error":
				perr := pageError("join "+cfg.Meeting.Room, ev.Code, s.redact.Replace(ev.Message))
				if recording {
					perr.What = "record " + cfg.Meeting.Room
					log.Error("page error while recording", "code", ev.Code, "message", s.redact.Replace(ev.Message))
					return StopError, perr
				}
				log.Debug("page error", "code", ev.Code, "message", s.redact.Replace(ev.Message))
				if pendingError == nil {
					pendingError = perr
				}
				if ev.Code == "not-jitsi" && startDone != nil {
					// The page cannot join at all: no need to wait for start().
					return StopError, perr
				}
			case "participant-joined":
				s.meta.Joined(ev.ID, ev.Name, ev.time())
				aloneSince = time.Time{}
				log.Info("participant joined", "id", ev.ID, "name", ev.Name, "present", s.meta.Present())
			case "participant-left":
				s.meta.Left(ev.ID, ev.time())
				log.Info("participant left", "id", ev.ID, "present", s.meta.Present())
				if s.meta.Present() == 0 && aloneSince.IsZero() {
					aloneSince = time.Now()
				}
			case "participant-renamed":
				s.meta.Renamed(ev.ID, ev.Name)
				log.Info("participant renamed", "id", ev.ID, "name", ev.Name)
			case "dominant-speaker":
				s.meta.Speaker(ev.ID, ev.time())
				log.Debug("dominant speaker", "id", ev.ID)
			case "track":
				log.Debug("track", "id", ev.ID, "kind", ev.Kind, "video_type", ev.VideoType, "muted", ev.Muted)
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
					"video_copied", ffmpeg.CanCopyVideo(ev.VideoCodec))
			case "stats":
				lastStats = ev
				log.Debug("stats", "participants", ev.Participants, "video_tracks", ev.VideoTracks,
					"audio_tracks", ev.AudioTracks, "fps", ev.FPS)
				if recording && ev.FPS > 0 && ev.FPS < 0.6*float64(cfg.FPS) && time.Since(lastFPSWarn) > 30*time.Second {
					lastFPSWarn = time.Now()
					log.Warn("composite frame rate is low (CPU starved?)", "fps", ev.FPS, "want", cfg.FPS)
				}
			case "stopped":
				if recording {
					log.Info("stopping: the page stopped recording")
					return StopMeetingEnded, nil
				}
			default:
				log.Debug("unknown page event", "type", ev.Type)
			}

		case <-s.ffStarted:
			ff = s.ffmpeg()
			ffDone = ff.Done()
			if !recording {
				startRecording(time.Now())
			}

		case <-ffDone:
			if ff.ReachedMaxDuration() {
				log.Info("stopping: duration reached (the file has it)", "duration", cfg.Duration.String())
				return StopDuration, nil
			}
			return StopError, outputError(fmt.Errorf("ffmpeg exited early: %w", errOr(ff.Err(), errors.New("no error reported"))))

		case err := <-s.writerErr:
			return StopError, outputError(err)

		case <-b.Done():
			return StopError, &Error{Kind: KindBrowser, What: "record", Err: errors.New("chromium exited"), Hint: "run with LOG_LEVEL=debug to see Chromium's output"}
		case <-browserGone:
			return StopError, &Error{Kind: KindBrowser, What: "record", Err: errors.New("the recorder page crashed"), Hint: "check memory limits (Chromium needs about 1 GB)"}

		case <-metaTick.C:
			if recording {
				size := int64(0)
				if ff != nil {
					size = ff.Progress().OutputBytes
				}
				if err := metadata.Write(s.metaPath, s.meta.Snapshot(time.Time{}, size, "", nil)); err != nil {
					log.Warn("metadata not updated", "err", err)
				}
			}

		case now := <-watch.C:
			if !recording {
				continue
			}
			if cfg.AloneTimeout > 0 && !aloneSince.IsZero() && s.meta.Present() == 0 && now.Sub(aloneSince) >= cfg.AloneTimeout {
				log.Info("stopping: alone in the meeting", "for", cfg.AloneTimeout.String())
				return StopAlone, nil
			}
			last := s.lastChunk.Load()
			since := now.Sub(recStart)
			if last > 0 {
				since = now.Sub(time.Unix(0, last))
			}
			switch {
			case since >= s.t.stallFail:
				return StopError, &Error{Kind: KindBrowser, What: "record", Err: fmt.Errorf("no media from the page for %s", since.Round(time.Second)), Hint: "run with LOG_LEVEL=debug to see the page's console"}
			case since >= s.t.stallWarn && !stallWarned:
				stallWarned = true
				log.Warn("no media from the page", "for", since.Round(time.Second).String())
			case since < s.t.stallWarn && stallWarned:
				stallWarned = false
				log.Info("media flowing again")
			}
			if cfg.Progress != nil {
				var size int64
				if ff != nil {
					size = ff.Progress().OutputBytes
				}
				cfg.Progress(fmt.Sprintf("REC %s  %s  %d participant(s)  %.0f fps",
					clock(now.Sub(recStart)), humanBytes(size), s.meta.Present(), lastStats.FPS))
			}
		}
	}
}

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
		ChunkMs: 1000, MimeTypes: mimeTypes, ConfigOverrides: cfg.Meeting.ConfigOverrides,
		AudioOnly: cfg.AudioOnly,
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
func (s *session) joinError(err error, joinCtx context.Context) error {
	what := "join " + s.cfg.Meeting.Room
	var pe *pageStartError
	switch {
	case errors.As(err, &pe):
		code, msg, _ := strings.Cut(pe.code, ":")
		if _, known := pageErrors[code]; !known {
			code, msg = "other", pe.code
		}
		return pageError(what, code, strings.TrimSpace(msg))
	case errors.Is(joinCtx.Err(), context.DeadlineExceeded):
		return &Error{Kind: KindJoinTimeout, What: what, Err: fmt.Errorf("not recording after %s", s.cfg.JoinTimeout),
			Hint: "check the deployment is reachable, or raise JOIN_TIMEOUT if a lobby needs longer"}
	}
	return &Error{Kind: KindBrowser, What: what, Err: err, Hint: "run with LOG_LEVEL=debug for details"}
}

// readBindings decodes the page's events: chunks go to the writer, the
// rest to the session loop. Chunks are closed after "stopped", which the
// page emits after its last chunk.
func (s *session) readBindings(events iter.Seq2[runtime.EventBindingCalled, error]) {
	closed := false
	closeChunks := func() {
		if !closed {
			closed = true
			close(s.chunks)
		}
	}
	defer closeChunks()
	for ev, err := range events {
		if err != nil {
			return
		}
		if ev.Name != page.EmitBinding {
			continue
		}
		pe, err := decodeEvent(ev.Payload)
		if err != nil {
			s.log.Warn("bad page event", "err", err)
			continue
		}
		if pe.Type == "chunk" {
			if closed {
				s.log.Warn("media chunk after the page stopped dropped", "seq", pe.Seq)
				continue
			}
			select {
			case s.chunks <- chunk{seq: pe.Seq, data: pe.Data}:
			case <-s.readerCtx.Done():
				return
			}
			continue
		}
		if pe.Type == "stopped" {
			closeChunks()
		}
		select {
		case s.events <- pe:
		default:
			s.log.Warn("page event dropped: session busy", "type", pe.Type)
		}
	}
}

// writeChunks feeds the chunks to FFmpeg in order, starting FFmpeg with
// the first one (whose header says the codec).
func (s *session) writeChunks(ctx context.Context) {
	defer close(s.writerDone)
	var ff *ffmpeg.Process
	var next int64
	failed := false
	for c := range s.chunks {
		if failed {
			continue // drain so the reader never blocks
		}
		switch {
		case c.seq < next:
			s.log.Warn("duplicate media chunk dropped", "seq", c.seq)
			continue
		case c.seq > next:
			if ff == nil {
				s.log.Error("first media chunk missing; cannot decode the stream", "seq", c.seq)
				s.writerErr <- fmt.Errorf("media stream starts at chunk %d, not 0", c.seq)
				failed = true
				continue
			}
			s.log.Warn("media chunks missing: the recording has a gap", "from", next, "to", c.seq-1)
		}
		next = c.seq + 1
		data, err := base64.StdEncoding.DecodeString(c.data)
		if err != nil {
			s.log.Warn("bad media chunk", "seq", c.seq, "err", err)
			continue
		}
		if ff == nil {
			ff, err = s.startFFmpeg(ctx, data)
			if err != nil {
				s.writerErr <- err
				failed = true
				continue
			}
			s.mu.Lock()
			s.ff = ff
			s.mu.Unlock()
			s.ffStarted <- struct{}{}
		}
		if _, err := ff.Write(data); err != nil {
			s.writerErr <- err
			failed = true
			continue
		}
		s.chunksWritten.Add(1)
		s.lastChunk.Store(time.Now().UnixNano())
	}
}

func (s *session) startFFmpeg(ctx context.Context, header []byte) (*ffmpeg.Process, error) {
	s.mu.Lock()
	codec := s.videoCodec
	s.mu.Unlock()
	if sniffed := ffmpeg.SniffVideoCodec(header); sniffed != "" {
		codec = sniffed // the stream itself is the truth
	}
	s.log.Debug("starting ffmpeg", "video_codec", codec, "copy_video", ffmpeg.CanCopyVideo(codec))
	return ffmpeg.Start(ctx, ffmpeg.Options{
		Binary: s.cfg.FFmpegPath, Output: s.outPath, VideoCodec: codec,
		VideoBitrate: s.cfg.VideoBitrate, AudioBitrate: s.cfg.AudioBitrate, FPS: s.cfg.FPS,
		AudioOnly: s.cfg.AudioOnly,
		// The file ends at RECORD_DURATION of media even if the stop
		// reaches the page late (a busy machine).
		MaxDuration: s.cfg.Duration,
		StopTimeout: s.t.ffmpegClose, Logger: s.log.With("proc", "ffmpeg"),
	})
}

// finalize stops the page (its last chunk, then "stopped"), waits for the
// writer to hand everything to FFmpeg, and returns FFmpeg for closing.
// recorded is false when no media reached FFmpeg. It takes at most
// stopPage + 1 s, so with FFmpeg's close the whole stop stays under 5 s.
// The page leaves the meeting after "stopped"; pageLeft is closed when
// it is done (or gave up), so the caller can give it a moment.
func (s *session) finalize(b *browser.Browser, reason string) (ff *ffmpeg.Process, recorded bool, pageLeft <-chan struct{}) {
	start := time.Now()
	stopPage := s.t.stopPage
	if unhurried(reason) {
		stopPage = s.t.stopPageUnhurried
	}
	left := make(chan struct{})
	select {
	case <-b.Done():
		close(left)
	default:
		go func() {
			defer close(left)
			stopCtx, cancel := context.WithTimeout(b.Context(), stopPage+2*time.Second)
			defer cancel()
			res, err := chromedp.Run(stopCtx, chromedp.Evaluate[string](stopExpression, chromedp.EvalAwaitPromise))
			if err != nil || res != "" {
				s.log.Debug("page stop", "result", res, "err", err)
			}
		}()
	}
	// After "stopped" the reader closes the chunks and the writer ends once
	// it wrote them all.
	if !closedWithin(s.writerDone, stopPage) {
		if s.chunksWritten.Load() > 0 {
			s.log.Warn("page did not confirm its last chunk; finishing with what arrived")
		}
		s.stopReader() // the reader closes the chunks; the writer drains them
		if !closedWithin(s.writerDone, time.Second) {
			s.log.Warn("media writer still busy; closing FFmpeg anyway")
		}
	}
	ff = s.ffmpeg()
	s.log.Debug("page stopped", "took", time.Since(start).Round(time.Millisecond).String(), "reason", reason)
	return ff, ff != nil && s.chunksWritten.Load() > 0, left
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
