package recorder

import (
	"testing"
	"time"
)

// feed runs the pacer over one lag per second, from lagAt(second), and
// returns the rate after each second and every change it asked for.
func feed(p *pacer, seconds int, lagAt func(s int) time.Duration) (rates []int, changes []int) {
	start := time.Unix(1_700_000_000, 0)
	for s := 0; s < seconds; s++ {
		fps, changed := p.observe(start.Add(time.Duration(s)*time.Second), time.Duration(s)*time.Second, lagAt(s))
		rates = append(rates, fps)
		if changed {
			changes = append(changes, fps)
		}
	}
	return rates, changes
}

func TestPacerLeavesASteadyPipelineAlone(t *testing.T) {
	// A healthy pipeline lags by its own delay, whatever it is, with jitter.
	for _, base := range []time.Duration{900 * time.Millisecond, 2 * time.Second, 4 * time.Second} {
		p := newPacer(30)
		_, changes := feed(p, 300, func(s int) time.Duration {
			return base + time.Duration(s%3)*300*time.Millisecond
		})
		if len(changes) != 0 {
			t.Errorf("lag steady at %s: the pacer changed the rate %v", base, changes)
		}
	}
}

func TestPacerIgnoresTheFillingStart(t *testing.T) {
	// Nothing is written yet in a segment's first seconds: the lag is the
	// segment's age, then drops to the pipeline's delay.
	p := newPacer(30)
	_, changes := feed(p, 60, func(s int) time.Duration {
		if s < 4 {
			return time.Duration(s) * time.Second
		}
		return 2 * time.Second
	})
	if len(changes) != 0 {
		t.Errorf("start-up lag made the pacer change the rate: %v", changes)
	}
}

func TestPacerLowersTheRateWhileTheQueueGrowsAndNotBelowItsFloor(t *testing.T) {
	p := newPacer(30)
	// 2 s steady for 10 s, then the queue grows by 0.5 s every second for good.
	rates, changes := feed(p, 120, func(s int) time.Duration {
		if s < 10 {
			return 2 * time.Second
		}
		return 2*time.Second + time.Duration(s-10)*500*time.Millisecond
	})
	if len(changes) == 0 || changes[0] != 20 {
		t.Fatalf("a growing queue: changes %v, want a first drop 30 -> 20", changes)
	}
	for i := 1; i < len(changes); i++ {
		if changes[i] >= changes[i-1] {
			t.Fatalf("a queue that keeps growing raised the rate: %v", changes)
		}
	}
	if last := rates[len(rates)-1]; last != minPaceFPS {
		t.Errorf("rate after 110 s of a growing queue = %d, want the floor %d", last, minPaceFPS)
	}
	// The first drop comes once the excess passes paceBehind: 3.5 s lag at s=13.
	if rates[12] != 30 || rates[14] != 20 {
		t.Errorf("rates around the first drop = %v, want 30 until 1.5 s above the floor, then 20", rates[10:16])
	}
}

func TestPacerStopsLoweringOnceTheQueueDrainsThenRaisesTheRateAgain(t *testing.T) {
	p := newPacer(30)
	// The queue grows from s=10 to s=16 (5 s above the floor), drains by
	// 0.5 s a second from then on, and stays at the floor after s=26.
	lagAt := func(s int) time.Duration {
		switch {
		case s < 10:
			return 2 * time.Second
		case s < 16:
			return 2*time.Second + time.Duration(s-10)*time.Second
		case s < 26:
			return 7*time.Second - time.Duration(s-16)*500*time.Millisecond
		default:
			return 2 * time.Second
		}
	}
	rates, changes := feed(p, 150, lagAt)
	lowest := 30
	for _, r := range rates[:26] {
		lowest = min(lowest, r)
	}
	// Two drops at most while it grew (s=12, s=15); none while it drained.
	if lowest < 13 {
		t.Errorf("lowest rate %d while the queue grew for 6 s then drained; changes %v", lowest, changes)
	}
	if rates[len(rates)-1] != 30 {
		t.Errorf("rate %d 2 min after the queue drained, want 30 again; changes %v", rates[len(rates)-1], changes)
	}
	for i, r := range rates[26:46] {
		if r > lowest {
			t.Errorf("raised to %d only %d s after the queue drained: too soon", r, i)
			break
		}
	}
}

func TestPacerNeverAsksForMoreThanVideoFPSOrLessThanItsFloor(t *testing.T) {
	p := newPacer(3)
	rates, _ := feed(p, 60, func(s int) time.Duration { return time.Duration(s) * time.Second })
	for _, r := range rates {
		if r != 3 {
			t.Fatalf("VIDEO_FPS 3 under a growing queue: asked for %d, want 3 throughout", r)
		}
	}
}
