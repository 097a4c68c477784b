package verify

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

// synth returns durS seconds of 48 kHz samples from f(t).
func synth(durS float64, f func(t float64) float64) []float64 {
	out := make([]float64, int(durS*sampleRate))
	for i := range out {
		out[i] = f(float64(i) / sampleRate)
	}
	return out
}

func sine(hz, amp, t float64) float64 { return amp * math.Sin(2*math.Pi*hz*t) }

func analyse(samples []float64, tones []float64, beepHz float64) audioAnalysis {
	a := newAudioAnalyzer(tones, beepHz)
	// Feed in uneven chunks, as a pipe delivers them.
	for len(samples) > 0 {
		n := min(len(samples), 7919)
		a.feed(samples[:n])
		samples = samples[n:]
	}
	return a.result
}

func presentFraction(p []bool) float64 {
	n := 0
	for _, ok := range p {
		if ok {
			n++
		}
	}
	return float64(n) / float64(len(p))
}

func TestToneDetectorIgnoresNeighbourToneSilenceAndNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name    string
		signal  func(t float64) float64
		want550 bool
	}{
		{"550 alone", func(t float64) float64 { return sine(550, 0.3, t) }, true},
		{"quiet 550 under loud 440 and 660", func(t float64) float64 {
			return sine(440, 0.5, t) + sine(550, 0.08, t) + sine(660, 0.5, t)
		}, true},
		{"loud neighbours 440 and 660 only", func(t float64) float64 { return sine(440, 0.5, t) + sine(660, 0.5, t) }, false},
		{"neighbour 110 Hz above only", func(t float64) float64 { return sine(660, 0.9, t) }, false},
		{"silence", func(float64) float64 { return 0 }, false},
		{"dither-level noise", func(float64) float64 { return (rng.Float64() - 0.5) / 32768 }, false},
		{"loud white noise", func(float64) float64 { return rng.Float64() - 0.5 }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := analyse(synth(2, c.signal), []float64{550}, 3000)
			got := presentFraction(res.present[0])
			t.Logf("550 Hz present in %.3f of %d windows", got, len(res.present[0]))
			if c.want550 && got < 0.99 {
				t.Errorf("550 Hz present %.3f, want all windows", got)
			}
			if !c.want550 && got > 0 {
				t.Errorf("550 Hz present %.3f, want none", got)
			}
		})
	}
}

func TestBeepOnsetWithinMilliseconds(t *testing.T) {
	onsets := []float64{1.2345, 3.5, 6.0071}
	signal := func(t float64) float64 {
		v := sine(440, 0.3, t) + sine(550, 0.3, t) + sine(660, 0.3, t)
		for _, o := range onsets {
			if t >= o && t < o+0.1 {
				v += sine(3000, 0.2, t)
			}
		}
		return v
	}
	res := analyse(synth(8, signal), []float64{440}, 3000)
	got := beepOnsets(res.beepAmp, res.beepSeen)
	if len(got) != len(onsets) {
		t.Fatalf("beeps at %v, want %v", got, onsets)
	}
	for i, o := range onsets {
		t.Logf("beep at %.4f s read as %.4f s (%+.2f ms)", o, got[i], (got[i]-o)*1000)
		if math.Abs(got[i]-o) > 0.002 {
			t.Errorf("beep at %.4f s read as %.4f s", o, got[i])
		}
	}
}

// TestBeepBrokenInTwoIsOneMarker: a beep with a 30 ms hole in it (as one
// came out of a loaded e2e run) is one onset, at its start.
func TestBeepBrokenInTwoIsOneMarker(t *testing.T) {
	signal := func(t float64) float64 {
		v := sine(440, 0.3, t)
		if (t >= 1 && t < 1.05) || (t >= 1.08 && t < 1.18) || (t >= 4 && t < 4.1) {
			v += sine(3000, 0.2, t)
		}
		return v
	}
	res := analyse(synth(6, signal), []float64{440}, 3000)
	got := beepOnsets(res.beepAmp, res.beepSeen)
	if len(got) != 2 || math.Abs(got[0]-1) > 0.002 || math.Abs(got[1]-4) > 0.002 {
		t.Errorf("beeps at %v, want [1 4]", got)
	}
}

func TestShortClickIsNotABeep(t *testing.T) {
	signal := func(t float64) float64 {
		if t >= 1 && t < 1.015 {
			return sine(3000, 0.5, t)
		}
		return sine(440, 0.3, t)
	}
	res := analyse(synth(3, signal), []float64{440}, 3000)
	if got := beepOnsets(res.beepAmp, res.beepSeen); len(got) != 0 {
		t.Errorf("15 ms click read as beeps at %v", got)
	}
}

func TestToneReportTimes(t *testing.T) {
	signal := func(t float64) float64 {
		if t >= 1.5 && t < 4 {
			return sine(770, 0.2, t)
		}
		return 0
	}
	res := analyse(synth(6, signal), []float64{770}, 0)
	r := toneReport(media.ParticipantAt(3), res.present[0])
	t.Logf("%+v", r)
	if math.Abs(r.FirstS-1.5) > 0.06 || math.Abs(r.LastS-4) > 0.06 {
		t.Errorf("tone 1.5..4 s read as %.3f..%.3f s", r.FirstS, r.LastS)
	}
	if math.Abs(r.PresentFraction-2.5/6) > 0.03 {
		t.Errorf("present fraction %.3f, want ~%.3f", r.PresentFraction, 2.5/6)
	}
}

func TestToneReportPresentBetweenCountsOnlyTheSpan(t *testing.T) {
	present := make([]bool, 100) // windows every toneHop samples
	for i := 50; i < 100; i++ {
		present[i] = true
	}
	r := toneReport(media.ParticipantAt(0), present)
	if f := r.PresentFraction; f < 0.49 || f > 0.51 {
		t.Fatalf("whole-file fraction %.2f, want 0.5", f)
	}
	from := toneTime(50)
	if f := r.PresentBetween(from, toneTime(99)); f != 1 {
		t.Fatalf("fraction after the join %.2f, want 1", f)
	}
	if f := r.PresentBetween(1e6, 2e6); f != -1 {
		t.Fatalf("empty span gave %.2f, want -1", f)
	}
}
