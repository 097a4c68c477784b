package tracks

import (
	"math/rand/v2"
	"testing"
	"time"
)

var epoch = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// sentFrame is a synthetic video frame: when the sender captured it
// (the truth), its RTP timestamp, and when it arrived.
type sentFrame struct {
	sent, received time.Time
	rtp            uint32
}

// stream30fps makes n frames at 30 fps starting at RTP timestamp rtp0,
// arriving after 50 ms plus uniform jitter of up to 80 ms, with 20 %
// loss.
func stream30fps(n int, rtp0 uint32, rng *rand.Rand) []sentFrame {
	var out []sentFrame
	for i := range n {
		if rng.IntN(5) == 0 {
			continue
		}
		sent := epoch.Add(time.Duration(i) * time.Second / 30)
		jitter := time.Duration(rng.IntN(80)) * time.Millisecond
		out = append(out, sentFrame{sent: sent, received: sent.Add(50*time.Millisecond + jitter), rtp: rtp0 + uint32(i*3000)})
	}
	return out
}

func abs(d time.Duration) time.Duration { return max(d, -d) }

// checkPlayout asserts that, once the estimate has seen a second of
// frames, every frame plays at its capture time + the minimum delay.
func checkPlayout(t *testing.T, c *mediaClock, frames []sentFrame, tolerance time.Duration) {
	t.Helper()
	for i, f := range frames {
		got := c.playout(f.rtp, f.received)
		want := f.sent.Add(50 * time.Millisecond)
		if f.sent.Sub(epoch) > time.Second && abs(got.Sub(want)) > tolerance {
			t.Fatalf("frame %d: playout %v off by %v", i, got.Sub(epoch), got.Sub(want))
		}
	}
}

func TestClockJitterAndLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := newMediaClock(Video)
	checkPlayout(t, c, stream30fps(900, 12345, rng), 10*time.Millisecond)
	if c.reanchors != 0 {
		t.Errorf("%d re-anchors", c.reanchors)
	}
}

func TestClockLateFramesDoNotMoveIt(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	frames := stream30fps(300, 0, rng)
	for i := range frames {
		if i%10 == 0 {
			frames[i].received = frames[i].received.Add(700 * time.Millisecond)
		}
	}
	c := newMediaClock(Video)
	checkPlayout(t, c, frames, 10*time.Millisecond)
}

func TestClockRTPWrapAround(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	// Starts 1 s before the 32-bit timestamp wraps and runs 3 s.
	c := newMediaClock(Video)
	checkPlayout(t, c, stream30fps(90, 1<<32-90000, rng), 10*time.Millisecond)
	if c.reanchors != 0 {
		t.Errorf("wrap-around caused %d re-anchors", c.reanchors)
	}
}

// A network stall delivers 3 s of frames late in a burst: they keep
// their media-time positions, nothing re-anchors.
func TestClockStall(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	frames := stream30fps(300, 0, rng)
	stallEnd := epoch.Add(6 * time.Second)
	for i := range frames {
		if frames[i].sent.After(epoch.Add(3*time.Second)) && frames[i].received.Before(stallEnd) {
			frames[i].received = stallEnd.Add(time.Duration(i) * time.Millisecond)
		}
	}
	c := newMediaClock(Video)
	checkPlayout(t, c, frames, 10*time.Millisecond)
	if c.reanchors != 0 {
		t.Errorf("stall caused %d re-anchors", c.reanchors)
	}
}

// The sender restarts with a timestamp base 10 s back (or far ahead):
// the clock re-anchors and places later frames right again.
func TestClockTimestampJump(t *testing.T) {
	for _, jump := range []int64{-10 * 90000, 1 << 30} {
		rng := rand.New(rand.NewPCG(9, 10))
		frames := stream30fps(600, 5000, rng)
		for i := range frames {
			if frames[i].sent.Sub(epoch) >= 10*time.Second {
				frames[i].rtp = uint32(int64(frames[i].rtp) + jump)
			}
		}
		c := newMediaClock(Video)
		var last time.Time
		for _, f := range frames {
			last = c.playout(f.rtp, f.received)
		}
		if c.reanchors != 1 {
			t.Errorf("jump %d: %d re-anchors, want 1", jump, c.reanchors)
		}
		want := frames[len(frames)-1].sent.Add(50 * time.Millisecond)
		// After re-anchoring the estimate is only as good as the jitter
		// seen since.
		if abs(last.Sub(want)) > 20*time.Millisecond {
			t.Errorf("jump %d: last frame off by %v", jump, last.Sub(want))
		}
	}
}

// A lasting delay increase is followed once the window forgets the old
// samples; a drifting sender clock is followed continuously.
func TestClockFollowsDelayChangeAndDrift(t *testing.T) {
	c := newMediaClock(Audio)
	var got, want time.Time
	for i := range 1500 { // 30 s of 20 ms packets
		sent := epoch.Add(time.Duration(i) * 20 * time.Millisecond)
		delay := 40 * time.Millisecond
		if i >= 500 {
			delay += 300 * time.Millisecond
		}
		// The sender's clock runs 100 ppm slow.
		rtp := uint32(float64(i*960) * (1 - 100e-6))
		got = c.playout(rtp, sent.Add(delay))
		want = sent.Add(delay)
	}
	if abs(got.Sub(want)) > 2*time.Millisecond {
		t.Errorf("after delay change and drift, off by %v", got.Sub(want))
	}
	if c.reanchors != 0 {
		t.Errorf("%d re-anchors", c.reanchors)
	}
}
