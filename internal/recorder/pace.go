package recorder

import "time"

// pacer is the back-pressure between the browser's encoder and the
// compositor. Chromium's MediaRecorder has no queue limit the page can see:
// on a CPU-starved machine the composite frames it cannot encode in time
// wait in its task queue (3.7 MB each at 720p), the renderer grows by
// gigabytes and the file ends short of the meeting. The one place that
// sees the queue is the media FFmpeg has written against the clock, so the
// recorder watches that lag and lowers the page's composite frame rate
// while it grows, then raises it again once the encoder keeps up. A file
// at a lower frame rate for a while beats a file that stops short.
type pacer struct {
	target, min int // frames per second: VIDEO_FPS, and the floor
	fps         int // what the page is asked for now

	// The lag of a healthy pipeline is not zero (a chunk in the page, a
	// fragment in FFmpeg) and depends on the settings, so what counts is
	// the lag above the lowest one lately seen.
	samples    []lagSample
	lastChange time.Time
	lagAtDrop  time.Duration // the lag when the rate was last lowered
	calmSince  time.Time
}

type lagSample struct {
	at  time.Time
	lag time.Duration
}

const (
	// paceSettle: a segment's first seconds show a lag that is still
	// filling up (nothing written yet); they would make the floor too low.
	paceSettle = 5 * time.Second
	// paceWindow is how long a lowest lag counts as the floor; a slow
	// drift of the pipeline's own delay leaves it behind.
	paceWindow = 2 * time.Minute
	// paceBehind: this much lag above the floor is a queue building up.
	paceBehind = 1500 * time.Millisecond
	// paceCaughtUp: within this of the floor the encoder keeps up.
	paceCaughtUp = 500 * time.Millisecond
	// paceReact: a lower rate needs a few seconds to show in the lag.
	paceReact = 3 * time.Second
	// paceDraining: a lag this much below the one at the last drop is a
	// queue that drains.
	paceDraining = 250 * time.Millisecond
	// paceCalm: how long the encoder must keep up before a higher rate.
	paceCalm = 20 * time.Second
	// minPaceFPS is the lowest composite rate the pacer asks for.
	minPaceFPS = 5
)

func newPacer(target int) *pacer {
	lowest := minPaceFPS
	if target < lowest {
		lowest = target
	}
	return &pacer{target: target, min: lowest, fps: target}
}

// reset forgets the lag history: a new segment (a new FFmpeg) has a lag
// of its own. The page's rate stays as it is.
func (p *pacer) reset() {
	p.samples = p.samples[:0]
	p.calmSince, p.lagAtDrop = time.Time{}, 0
}

// observe takes the lag of the current segment, age after its start, and
// returns the frame rate the page should draw at; changed says it differs
// from the last one returned.
func (p *pacer) observe(now time.Time, age, lag time.Duration) (fps int, changed bool) {
	if age < paceSettle {
		return p.fps, false
	}
	p.samples = append(p.samples, lagSample{now, lag})
	keep := 0
	for keep < len(p.samples)-1 && now.Sub(p.samples[keep].at) > paceWindow {
		keep++
	}
	p.samples = p.samples[keep:]
	floor := lag
	for _, s := range p.samples {
		if s.lag < floor {
			floor = s.lag
		}
	}
	excess := lag - floor
	switch {
	case excess > paceBehind:
		p.calmSince = time.Time{}
		// A queue that drains after a drop needs no second one.
		draining := p.lagAtDrop != 0 && lag < p.lagAtDrop-paceDraining
		if p.fps > p.min && now.Sub(p.lastChange) >= paceReact && !draining {
			p.fps = max(p.min, p.fps*2/3)
			p.lastChange, p.lagAtDrop = now, lag
			return p.fps, true
		}
	case excess < paceCaughtUp:
		p.lagAtDrop = 0
		if p.calmSince.IsZero() {
			p.calmSince = now
		}
		if p.fps < p.target && now.Sub(p.calmSince) >= paceCalm && now.Sub(p.lastChange) >= paceCalm {
			p.fps = min(p.target, (p.fps*3+1)/2)
			p.lastChange = now
			p.calmSince = now
			return p.fps, true
		}
	default:
		p.calmSince = time.Time{}
	}
	return p.fps, false
}

// pace feeds the current segment's lag to the attempt's pacer and passes a
// new frame rate on to the page. Audio-only recordings have no composite.
func (s *session) pace(a *attempt, sg *segment, now time.Time, lag time.Duration) {
	if s.cfg.AudioOnly || s.cfg.FPS <= 0 {
		return
	}
	if a.pace == nil {
		// A new browser's page draws at VIDEO_FPS again.
		a.pace = newPacer(s.cfg.FPS)
		if s.pacedFPS != 0 && s.pacedFPS != s.cfg.FPS {
			s.meta.FrameRateChanged(now, s.cfg.FPS)
		}
		s.pacedFPS = s.cfg.FPS
	}
	if a.pacedSeg != sg {
		a.pace.reset()
		a.pacedSeg = sg
	}
	was := a.pace.fps
	fps, changed := a.pace.observe(now, now.Sub(sg.startedAt), lag)
	if !changed {
		return
	}
	s.meta.FrameRateChanged(now, fps)
	s.pacedFPS = fps
	if fps < was {
		s.log.Warn("the browser's encoder is falling behind: composite frame rate lowered",
			"fps", fps, "was", was, "behind", lag.Round(100*time.Millisecond).String())
	} else {
		s.log.Info("the browser's encoder keeps up again: composite frame rate raised", "fps", fps, "was", was)
	}
	go s.setPace(a, fps)
}
