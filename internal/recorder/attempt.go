package recorder

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
	"github.com/jitsi-recorder/jitsi-recorder/internal/compose"
	"github.com/jitsi-recorder/jitsi-recorder/internal/config"
	"github.com/jitsi-recorder/jitsi-recorder/internal/recorder/page"
)

// attempt is one browser instance with the recorder page in it: the
// first one, and a new one after each browser restart. Its chunks flow
// page -> binding -> readBindings -> chunks -> writeChunks -> FFmpeg.
type attempt struct {
	n       int
	started time.Time
	b       *browser.Browser
	ctx     context.Context // bounds the readers; outlives record() for finalize
	// stop ends the readers; the writer then ends after the last chunk.
	stop context.CancelFunc

	events chan pageEvent
	chunks chan chunk // sent and closed by readBindings only
	// frames carries the page's frames batches (capture mode tracks);
	// sent and closed by readBindings only, like chunks.
	frames chan []byte
	// engine composes this browser's tracks (capture mode tracks);
	// reopen asks writeFrames for a new segment on it.
	engine  *compose.Engine
	reopen  chan chan error
	crashed chan struct{}
	hung    chan error // the CDP watchdog's timeout

	joinCtx    context.Context
	cancelJoin context.CancelFunc
	startDone  chan error // the page's start(): joined and recording
	joined     bool
	joinedAt   time.Time

	// restarted receives the result of window.recorder.restartEncoder.
	restarted chan error

	// minGen: chunks of older encoder generations are dropped (their
	// FFmpeg died; the page restarted its encoder).
	minGen     atomic.Int64
	lastChunk  atomic.Int64 // unix nanos of the last chunk from the page
	writerDone chan struct{}

	pendingError *Error // a page error reported before start() failed

	// pace lowers the page's frame rate while the encoder falls behind;
	// pacedSeg is the segment whose lag it has been watching.
	pace     *pacer
	pacedSeg *segment
}

// startAttempt starts a browser, its readers and writer, and the page's
// join (asynchronously: startDone reports it).
func (s *session) startAttempt(n int) (*attempt, error) {
	cfg := s.cfg
	started := time.Now()
	b, err := browser.Start(s.sessCtx, browser.Options{
		Binary: cfg.ChromiumPath, WindowWidth: cfg.Width, WindowHeight: cfg.Height,
		Logger: s.log, Output: s.chromiumOut, ExtraFlags: recorderFlags(),
	})
	if err != nil {
		hint := "install Debian's chromium or set CHROMIUM_PATH"
		if errors.Is(err, browser.ErrSandboxUnavailable) {
			hint = "allow unprivileged user namespaces for this user, or run the recorder as root (sandbox off)"
		}
		return nil, &Error{Kind: KindBrowser, What: "start chromium", Err: err, Hint: hint}
	}
	s.browsers = append(s.browsers, b)
	a := &attempt{
		n: n, b: b, started: started,
		events:     make(chan pageEvent, 256),
		chunks:     make(chan chunk, 120),
		frames:     make(chan []byte, 256),
		reopen:     make(chan chan error),
		crashed:    make(chan struct{}),
		hung:       make(chan error, 1),
		startDone:  make(chan error, 1),
		restarted:  make(chan error, 1),
		writerDone: make(chan struct{}),
	}
	a.ctx, a.stop = context.WithCancel(b.Context())
	tab := b.Context()

	// Subscribe before navigating so no event is lost.
	bindings := chromedp.Events(a.ctx, runtime.BindingCalled)
	crashed := chromedp.Events(a.ctx, inspector.TargetCrashed)
	console := chromedp.Console(a.ctx)
	if _, err := chromedp.Call(tab, runtime.AddBinding, runtime.AddBindingParams{Name: page.EmitBinding}); err != nil {
		a.stop()
		return nil, &Error{Kind: KindBrowser, What: "add page binding", Err: err}
	}
	if err := enableInterception(tab, cfg.Meeting.PageURL()); err != nil {
		a.stop()
		return nil, &Error{Kind: KindBrowser, What: "intercept recorder page", Err: err}
	}
	go servePage(a.ctx, s.files, cfg.Meeting.PageURL(), s.log)
	go s.readBindings(a, bindings)
	go s.logConsole(console)
	go func() {
		for _, err := range crashed {
			if err == nil {
				close(a.crashed)
			}
			return
		}
	}()
	if cfg.Capture == config.CaptureTracks {
		a.engine = compose.New(s.sessCtx, compose.Options{
			FFmpeg: cfg.FFmpegPath, Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS,
			AudioOnly: cfg.AudioOnly, Logger: s.log,
		})
		go s.writeFrames(a)
	} else {
		go s.writeChunks(a)
	}

	a.joinCtx, a.cancelJoin = context.WithTimeout(tab, cfg.JoinTimeout)
	go func() { a.startDone <- s.startPage(a.joinCtx) }()
	return a, nil
}

// close ends the attempt's browser at once: SIGKILL, so a hung or stopped
// Chromium goes too. Its processes are reaped in the background (run
// waits for them before it returns).
func (s *session) closeAttempt(a *attempt) {
	a.cancelJoin()
	a.stop()
	a.b.Kill()
	if a.engine != nil {
		a.engine.Close()
	}
	s.closing.Add(1)
	go func() {
		defer s.closing.Done()
		a.b.Close()
	}()
}

// watchdog evaluates a trivial expression in the page every
// watchdogEvery; no answer within watchdogTimeout means the renderer or
// the browser hangs, which a restart cures.
func (s *session) watchdog(a *attempt) {
	tick := time.NewTicker(s.t.watchdogEvery)
	defer tick.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(a.b.Context(), s.t.watchdogTimeout)
		start := time.Now()
		_, err := chromedp.Run(ctx, chromedp.Evaluate[int]("1"))
		cancel()
		if a.ctx.Err() != nil {
			return
		}
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			a.hung <- fmt.Errorf("the page did not answer for %s", time.Since(start).Round(time.Second))
			return
		}
		if err != nil {
			s.log.Debug("watchdog", "err", err)
		}
	}
}

// restartEncoder asks the page for a new MediaRecorder (generation+1,
// chunks from seq 0) on the same composite stream.
func (s *session) restartEncoder(a *attempt) error {
	ctx, cancel := context.WithTimeout(a.b.Context(), s.t.restartEncoder)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](restartEncoderExpression, chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("restart the page's encoder: %w", err)
	}
	if msg, ok := strings.CutPrefix(res, "error:"); ok {
		return fmt.Errorf("restart the page's encoder: %s", s.redact.Replace(msg))
	}
	return nil
}

// setPace asks the page to draw the composite at fps frames a second
// (VIDEO_FPS at most). It runs beside the session loop: a busy page may
// take a while to answer, and a lost call is made good by the next one.
func (s *session) setPace(a *attempt, fps int) {
	ctx, cancel := context.WithTimeout(a.b.Context(), s.t.setPace)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(setPaceExpression, fps)))
	if err == nil && res != "" {
		err = errors.New(s.redact.Replace(res))
	}
	if err != nil {
		s.log.Warn("could not change the page's frame rate", "fps", fps, "err", err)
	}
}

// readBindings decodes the page's events: chunks go to the writer, the
// rest to the session loop. Chunks are closed after "stopped", which the
// page emits after its last chunk.
func (s *session) readBindings(a *attempt, events iter.Seq2[runtime.EventBindingCalled, error]) {
	closed := false
	closeChunks := func() {
		if !closed {
			closed = true
			close(a.chunks)
			close(a.frames)
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
			a.lastChunk.Store(time.Now().UnixNano())
			select {
			case a.chunks <- chunk{gen: pe.Gen, seq: pe.Seq, data: pe.Data}:
			case <-a.ctx.Done():
				return
			}
			continue
		}
		if pe.Type == "frames" {
			if closed {
				continue
			}
			a.lastChunk.Store(time.Now().UnixNano())
			select {
			case a.frames <- pe.Frames:
			case <-a.ctx.Done():
				return
			}
			continue
		}
		if pe.Type == "stopped" {
			closeChunks()
		}
		select {
		case a.events <- pe:
		default:
			s.log.Warn("page event dropped: session busy", "type", pe.Type)
		}
	}
}
