package compose

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Live drives an engine against the wall clock for one output: frame n of
// the output is the composite at origin + n/FPS on the timeline, rendered
// delay after that moment has passed, so that each track's frames have
// arrived and been decoded. Video and audio run in loops of their own:
// audio never waits for a picture.
type Live struct {
	e      *Engine
	out    Output
	start  time.Time     // wall time of the output's first frame
	origin time.Duration // its timeline moment
	delay  time.Duration
	// alive is when the page last sent anything: frames up to then may
	// still come, later ones not yet. The output never goes past it, so
	// a browser that froze leaves no stretch of silence in the file.
	alive func() time.Time

	stop     chan struct{}
	stopOnce sync.Once
	until    atomic.Int64 // wall unix nanos to render up to once stopped
	done     chan struct{}
	err      error
	errOnce  sync.Once

	framesWritten atomic.Int64
	framesRepeat  atomic.Int64 // written again unrendered: the composite fell behind
	samples       atomic.Int64
}

// DefaultDelay is how far the live composite runs behind real time: the
// page's batching, the decoders' start and a jitter buffer's worth.
const DefaultDelay = time.Second

// RunLive starts rendering into out. start is the wall time the output
// begins at and origin its place on the recording's timeline.
func (e *Engine) RunLive(ctx context.Context, out Output, start time.Time, origin, delay time.Duration, alive func() time.Time) *Live {
	l := &Live{e: e, out: out, start: start, origin: origin, delay: delay, alive: alive, stop: make(chan struct{}), done: make(chan struct{})}
	var wg sync.WaitGroup
	if !e.opts.AudioOnly {
		wg.Add(1)
		go func() { defer wg.Done(); l.videoLoop(ctx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); l.audioLoop(ctx) }()
	go func() { wg.Wait(); close(l.done) }()
	return l
}

// Finish renders up to wall time until (not further than now allows) and
// ends the loops; Done closes when they have.
func (l *Live) Finish(until time.Time) {
	l.until.Store(until.UnixNano())
	l.stopOnce.Do(func() { close(l.stop) })
}

// Done closes when both loops ended.
func (l *Live) Done() <-chan struct{} { return l.done }

// Err is the first write error, after Done.
func (l *Live) Err() error { return l.err }

// Stats are the counts so far.
func (l *Live) Stats() (frames, repeated, samples int64) {
	return l.framesWritten.Load(), l.framesRepeat.Load(), l.samples.Load()
}

func (l *Live) fail(err error) { l.errOnce.Do(func() { l.err = err }) }

// lateAudio is how much longer than the delay the mix waits for a voice
// whose decoded audio comes late.
const lateAudio = 3 * time.Second

// dueAt is how much of the output should exist at now when running delay
// behind it.
func (l *Live) dueAt(now time.Time, rate int64, delay time.Duration) int64 {
	d := l.capAlive(now.Sub(l.start) - delay)
	if d < 0 {
		return 0
	}
	return int64(d) * rate / int64(time.Second)
}

// due is how much of the output should exist at wall time now, in units
// of rate per second.
func (l *Live) due(now time.Time, rate int64) int64 {
	d := l.capAlive(now.Sub(l.start) - l.delay)
	if l.stopped() {
		if u := time.Unix(0, l.until.Load()); now.Sub(l.start) > u.Sub(l.start) {
			// once stopped, the output ends at the stop moment, as soon
			// as the delay has passed since then
			d = u.Sub(l.start)
		}
	}
	if d < 0 {
		return 0
	}
	return int64(d) * rate / int64(time.Second)
}

// capAlive limits an output position to the page's last sign of life.
func (l *Live) capAlive(d time.Duration) time.Duration {
	if l.alive == nil {
		return d
	}
	if a := l.alive(); !a.IsZero() {
		d = min(d, a.Sub(l.start))
	}
	return d
}

func (l *Live) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// finished: stopped, and everything up to the stop moment is written.
func (l *Live) finished(written, rate int64) bool {
	if !l.stopped() {
		return false
	}
	u := time.Unix(0, l.until.Load())
	return written >= int64(u.Sub(l.start))*rate/int64(time.Second) || time.Now().After(u.Add(l.delay+time.Second))
}

func (l *Live) videoLoop(ctx context.Context) {
	fps := int64(l.e.opts.FPS)
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	var n int64
	var last []byte
	for {
		due := l.due(time.Now(), fps)
		for n < due {
			var frame []byte
			if due-n > fps/2 && last != nil {
				// Half a second behind: write the last picture again
				// instead of rendering, until caught up (the encoder
				// counts frames, so none may be left out).
				frame = last
				l.framesRepeat.Add(1)
			} else {
				frame = l.e.Video(l.origin + time.Duration(n)*time.Second/time.Duration(fps))
				last = frame
			}
			if err := l.out.WriteVideo(frame); err != nil {
				l.fail(err)
				return
			}
			n++
			l.framesWritten.Store(n)
		}
		if l.finished(n, fps) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-l.stop:
		}
	}
}

func (l *Live) audioLoop(ctx context.Context) {
	const step = 20 * time.Millisecond
	tick := time.NewTicker(step)
	defer tick.Stop()
	origin := int64(l.origin) * SampleRate / int64(time.Second)
	var n int64
	for {
		now := time.Now()
		due := l.due(now, SampleRate)
		if !l.stopped() {
			// A starved machine delivers some voices later than the
			// delay: wait for them, up to lateAudio more, rather than mix
			// silence in their place.
			if ready, ok := l.e.audioReady(now); ok && ready-origin < due {
				due = max(ready-origin, l.dueAt(now, SampleRate, l.delay+lateAudio), n)
			}
		}
		for n < due {
			k := min(due-n, SampleRate/10)
			pcm := l.e.Audio(origin+n, int(k))
			if err := l.out.WriteAudio(pcm); err != nil {
				l.fail(err)
				return
			}
			n += k
			l.samples.Store(n)
		}
		if l.finished(n, SampleRate) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-l.stop:
		}
	}
}
