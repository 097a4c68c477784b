package verify

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

// sampleRate is the rate every file's audio is decoded to.
const sampleRate = 48000

// Tone analysis: 100 ms Hann windows every 50 ms. 100 ms gives 10 Hz
// resolution, and the Hann side lobes of a tone 110 Hz away are ~80 dB down.
const (
	toneWindow = sampleRate / 10
	toneHop    = sampleRate / 20
)

// Beep onset analysis: 10 ms Hann windows every 2.5 ms. The onset is where
// the beep's amplitude reaches half its plateau: for any symmetric window
// that is the window centred on the onset, so the hop (not the window)
// bounds the resolution, and interpolating between hops refines it further.
const (
	beepWindow = sampleRate / 100
	beepHop    = sampleRate / 400
)

// A tone is present in a window when it stands out of the spectrum next to
// it (so codec noise and broadband sound do not make it, and a quieter
// participant under louder ones still counts), carries a noticeable share
// of the window's power, and is above an absolute floor (so near-silence
// does not make it). The side probes sit toneProbeHz either side: beyond
// the Hann main lobe (20 Hz) and far from the neighbouring tones (110 Hz).
const (
	toneProbeHz     = 30
	toneMinContrast = 100 // 20 dB
	toneMinShare    = 0.002
	toneMinAmp      = 0.001 // -60 dBFS
	beepMinShare    = 0.04
	beepMinAmp      = 0.003 // -50 dBFS
)

// markerMinSpacingS: marker periods are seconds apart, so a beep or a
// flash onset this close after another belongs to the same marker.
const markerMinSpacingS = 0.5

// Beep runs: gaps up to beepMaxGap are bridged, runs shorter than beepMinRun
// are ignored (a marker beep lasts Markers.DurationMS, 100 ms).
const (
	beepMaxGap = 0.020
	beepMinRun = 0.040
)

// goertzel estimates one frequency in a window: its amplitude and the share
// of the window's power it carries (1 for a pure tone).
type goertzel struct {
	coeff, sumW, sumW2 float64
}

func newGoertzel(freq float64, w []float64) goertzel {
	g := goertzel{coeff: 2 * math.Cos(2*math.Pi*freq/sampleRate)}
	for _, v := range w {
		g.sumW += v
		g.sumW2 += v * v
	}
	return g
}

// measure returns amplitude and power share of the frequency in x, whose
// windowed power (sum of (w*x)^2 / sum of w^2) is power.
func (g goertzel) measure(x, w []float64, power float64) (amp, share float64) {
	var s1, s2 float64
	for i, v := range x {
		s := v*w[i] + g.coeff*s1 - s2
		s2, s1 = s1, s
	}
	mag2 := s1*s1 + s2*s2 - g.coeff*s1*s2
	if mag2 < 0 {
		mag2 = 0
	}
	amp = 2 * math.Sqrt(mag2) / g.sumW
	if power > 0 {
		share = amp * amp / 2 / power
	}
	return amp, share
}

func hann(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 0.5 - 0.5*math.Cos(2*math.Pi*(float64(i)+0.5)/float64(n))
	}
	return w
}

func windowPower(x, w []float64) float64 {
	var p, sw2 float64
	for i, v := range x {
		p += v * v * w[i] * w[i]
		sw2 += w[i] * w[i]
	}
	return p / sw2
}

// audioAnalysis is what one pass over the decoded audio found.
type audioAnalysis struct {
	samples  int64
	peak     float64
	sumSq    float64
	present  [][]bool // [tone][window]
	beepAmp  []float64
	beepSeen []bool
}

// audioAnalyzer consumes mono float samples and slides the tone and beep
// windows over them, keeping only what the windows still need.
type audioAnalyzer struct {
	tones     []float64
	toneW     []float64
	toneG     []goertzel
	sideG     [][2]goertzel
	beepW     []float64
	beepG     goertzel
	buf       []float64
	bufStart  int64 // absolute index of buf[0]
	nextTone  int64
	nextBeep  int64
	result    audioAnalysis
	beepValid bool
}

func newAudioAnalyzer(tones []float64, beepHz float64) *audioAnalyzer {
	a := &audioAnalyzer{tones: tones, toneW: hann(toneWindow), beepW: hann(beepWindow)}
	for _, f := range tones {
		a.toneG = append(a.toneG, newGoertzel(f, a.toneW))
		a.sideG = append(a.sideG, [2]goertzel{newGoertzel(f-toneProbeHz, a.toneW), newGoertzel(f+toneProbeHz, a.toneW)})
	}
	if beepHz > 0 {
		a.beepG = newGoertzel(beepHz, a.beepW)
		a.beepValid = true
	}
	a.result.present = make([][]bool, len(tones))
	return a
}

func (a *audioAnalyzer) feed(samples []float64) {
	for _, v := range samples {
		a.result.sumSq += v * v
		if math.Abs(v) > a.result.peak {
			a.result.peak = math.Abs(v)
		}
	}
	a.result.samples += int64(len(samples))
	a.buf = append(a.buf, samples...)
	end := a.bufStart + int64(len(a.buf))
	for a.nextTone+toneWindow <= end {
		x := a.buf[a.nextTone-a.bufStart:][:toneWindow]
		p := windowPower(x, a.toneW)
		for i, g := range a.toneG {
			amp, share := g.measure(x, a.toneW, p)
			below, _ := a.sideG[i][0].measure(x, a.toneW, p)
			above, _ := a.sideG[i][1].measure(x, a.toneW, p)
			side := max(below, above)
			present := amp >= toneMinAmp && share >= toneMinShare && amp*amp >= toneMinContrast*side*side
			a.result.present[i] = append(a.result.present[i], present)
		}
		a.nextTone += toneHop
	}
	for a.beepValid && a.nextBeep+beepWindow <= end {
		x := a.buf[a.nextBeep-a.bufStart:][:beepWindow]
		amp, share := a.beepG.measure(x, a.beepW, windowPower(x, a.beepW))
		a.result.beepAmp = append(a.result.beepAmp, amp)
		a.result.beepSeen = append(a.result.beepSeen, amp >= beepMinAmp && share >= beepMinShare)
		a.nextBeep += beepHop
	}
	keep := min(a.nextTone, a.nextBeep)
	if !a.beepValid {
		keep = a.nextTone
	}
	if drop := keep - a.bufStart; drop > 0 && drop > int64(len(a.buf))/2 {
		a.buf = append(a.buf[:0], a.buf[drop:]...)
		a.bufStart = keep
	}
}

// readS16 feeds little-endian signed 16-bit mono PCM from r to the analyzer.
func (a *audioAnalyzer) readS16(r io.Reader) error {
	br := bufio.NewReaderSize(r, 64*1024)
	raw := make([]byte, 32*1024)
	samples := make([]float64, 0, len(raw)/2)
	var carry []byte
	for {
		n, err := br.Read(raw[len(carry):])
		copy(raw, carry)
		data := raw[:len(carry)+n]
		even := len(data) &^ 1
		samples = samples[:0]
		for i := 0; i < even; i += 2 {
			samples = append(samples, float64(int16(binary.LittleEndian.Uint16(data[i:])))/32768)
		}
		a.feed(samples)
		carry = append(carry[:0], data[even:]...)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// decodeAudio decodes the first audio stream to 48 kHz mono and analyses it.
// aresample with first_pts=0 pads a late start and fills gaps with silence,
// so sample index / 48000 is the file's time, the same clock the video
// frames' timestamps use.
func (t tools) decodeAudio(ctx context.Context, path string, a *audioAnalyzer) error {
	args := []string{"-nostdin", "-hide_banner", "-nostats", "-v", "error",
		"-i", path, "-map", "0:a:0", "-vn", "-sn", "-dn",
		"-af", fmt.Sprintf("aresample=%d:async=1:first_pts=0", sampleRate),
		"-ac", "1", "-ar", fmt.Sprint(sampleRate), "-f", "s16le", "-"}
	if err := t.run(ctx, t.ffmpeg, args, a.readS16, nil); err != nil {
		return fmt.Errorf("decode audio of %s: %w", path, err)
	}
	return nil
}

// toneTime is the centre of tone window i in seconds.
func toneTime(i int) float64 { return (float64(i*toneHop) + toneWindow/2) / sampleRate }

// beepTime is the centre of beep window i in seconds.
func beepTime(i float64) float64 { return (i*beepHop + beepWindow/2) / sampleRate }

// toneReport summarises one tone's presence windows.
func toneReport(p media.Participant, present []bool) ToneReport {
	r := ToneReport{Name: p.Name, Hz: p.ToneHz, FirstS: -1, LastS: -1, present: present}
	n := 0
	for i, ok := range present {
		if !ok {
			continue
		}
		n++
		if r.FirstS < 0 {
			r.FirstS = toneTime(i)
		}
		r.LastS = toneTime(i)
	}
	if len(present) > 0 {
		r.PresentFraction = float64(n) / float64(len(present))
	}
	return r
}

// beepOnsets finds the marker beeps: runs of windows where the beep
// frequency is present, each refined to where its amplitude first reaches
// half the run's median amplitude.
func beepOnsets(amp []float64, seen []bool) []float64 {
	maxGap := int(beepMaxGap * sampleRate / beepHop)
	minRun := int(beepMinRun * sampleRate / beepHop)
	var onsets []float64
	for i := 0; i < len(seen); {
		if !seen[i] {
			i++
			continue
		}
		start, end, gap := i, i, 0
		for j := i + 1; j < len(seen) && gap <= maxGap; j++ {
			if seen[j] {
				end, gap = j, 0
			} else {
				gap++
			}
		}
		i = end + 1
		if end-start+1 < minRun {
			continue
		}
		onset := halfRise(amp, start, end)
		// A beep broken in two is one marker: counted twice, its second
		// half would pair with the same flash and read as video 100 ms
		// early. Seen once under load, at the start of a stream; the
		// receiver concealing or stretching audio is our guess at why.
		if len(onsets) > 0 && onset-onsets[len(onsets)-1] < markerMinSpacingS {
			continue
		}
		onsets = append(onsets, onset)
	}
	return onsets
}

// halfRise returns the time at which amp first reaches half the median of
// amp[start..end], interpolated between windows, looking a window length
// before start (where the beep's share was still too small to count).
func halfRise(amp []float64, start, end int) float64 {
	run := append([]float64(nil), amp[start:end+1]...)
	sort.Float64s(run)
	half := run[len(run)/2] / 2
	from := max(start-beepWindow/beepHop, 0)
	for k := from; k <= end; k++ {
		if amp[k] < half {
			continue
		}
		if k == from {
			return beepTime(float64(k))
		}
		frac := (half - amp[k-1]) / (amp[k] - amp[k-1])
		return beepTime(float64(k-1) + frac)
	}
	return beepTime(float64(start))
}
