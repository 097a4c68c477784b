package tracks

import "time"

const (
	// offsetWindow is how long the earliest-arrival estimate remembers a
	// sample: long enough that jitter and late frames never define the
	// offset, short enough to follow clock drift and lasting delay changes.
	offsetWindow = 10 * time.Second
	// reanchorThreshold is how far a frame may arrive from where the
	// estimate expects it before we assume the media clock restarted
	// (sender restart, SSRC reuse, timestamp jump) and start over.
	reanchorThreshold = 2 * time.Second
	// reanchorPersistence is how long frames must keep arriving that late
	// before it is taken for a timestamp jump rather than a stall.
	reanchorPersistence = time.Second
)

// clockRate is the RTP clock of a kind: WebRTC video is always 90 kHz and
// Opus always 48 kHz.
func clockRate(k Kind) int64 {
	if k == Audio {
		return 48000
	}
	return 90000
}

// offsetSample is one frame's (arrival − media time).
type offsetSample struct {
	received time.Time
	offset   time.Duration
}

// mediaClock maps one RTP stream's timestamps to wall-clock playout
// times with an earliest-arrival estimate: offset = min over the last
// offsetWindow of (arrival − media time), media time being the unwrapped
// RTP timestamp over the clock rate. A frame plays at media time + offset.
type mediaClock struct {
	rate     int64
	started  bool
	lastRTP  uint32
	extended int64     // unwrapped RTP timestamp of the last frame
	base     time.Time // wall time of media time 0; keeps durations small
	// window holds samples with increasing offsets (a monotonic deque),
	// so its head is the minimum over the window.
	window []offsetSample
	// lateSince is when frames started arriving far later than expected.
	lateSince time.Time
	reanchors int
}

func newMediaClock(k Kind) *mediaClock {
	return &mediaClock{rate: clockRate(k)}
}

// playout returns the estimated wall-clock playout time of a frame.
func (c *mediaClock) playout(rtp uint32, received time.Time) time.Time {
	if !c.started {
		c.anchor(rtp, received)
	} else {
		// Unwrap: the signed 32-bit difference is the step, so a wrap of
		// the 32-bit counter is a small step forward.
		c.extended += int64(int32(rtp - c.lastRTP))
		c.lastRTP = rtp
	}
	c.expire(received)
	offset := received.Sub(c.base) - c.mediaTime()
	if len(c.window) > 0 {
		switch deviation := offset - c.window[0].offset; {
		case deviation < -reanchorThreshold:
			// Media time leapt ahead of the wall clock: a new timestamp
			// base. The old samples say nothing about it.
			c.restart(rtp, received)
			offset = 0
		case deviation > reanchorThreshold:
			// Far later than expected: a network stall (the backlog then
			// arrives in a burst and the estimate is right for it) or a
			// timestamp base that went back (the lateness persists).
			if c.lateSince.IsZero() {
				c.lateSince = received
			}
			if received.Sub(c.lateSince) < reanchorPersistence {
				return c.base.Add(c.mediaTime() + c.window[0].offset)
			}
			c.restart(rtp, received)
			offset = 0
		}
	}
	c.lateSince = time.Time{}
	c.push(offsetSample{received: received, offset: offset})
	return c.base.Add(c.mediaTime() + c.window[0].offset)
}

func (c *mediaClock) restart(rtp uint32, received time.Time) {
	c.reanchors++
	c.anchor(rtp, received)
}

func (c *mediaClock) anchor(rtp uint32, received time.Time) {
	c.started = true
	c.lastRTP = rtp
	c.extended = 0
	c.base = received
	c.window = c.window[:0]
	c.lateSince = time.Time{}
}

func (c *mediaClock) mediaTime() time.Duration {
	sec := c.extended / c.rate
	rem := c.extended % c.rate
	return time.Duration(sec)*time.Second + time.Duration(rem)*time.Second/time.Duration(c.rate)
}

func (c *mediaClock) push(s offsetSample) {
	for len(c.window) > 0 && c.window[len(c.window)-1].offset >= s.offset {
		c.window = c.window[:len(c.window)-1]
	}
	c.window = append(c.window, s)
}

// expire forgets samples older than offsetWindow.
func (c *mediaClock) expire(now time.Time) {
	cutoff := now.Add(-offsetWindow)
	drop := 0
	for drop < len(c.window) && c.window[drop].received.Before(cutoff) {
		drop++
	}
	if drop > 0 {
		c.window = append(c.window[:0], c.window[drop:]...)
	}
}
