// Package verify reads a recording with ffprobe/ffmpeg and checks it against
// the media the lab's synthetic participants sent (package media): which
// participants' tones and colours are in it, whether the video moves, and
// how far audio and video are apart at each sync marker.
//
// Sign convention: an A/V offset is flash time minus beep time. Positive
// means the video is late (audio leads); negative means the video is early.
package verify

import (
	"context"
	"fmt"
	"math"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

// Report is what Verify measured in one file. Times are seconds on the
// file's timeline (0 = the earliest stream's start); -1 means "never".
type Report struct {
	File      string   `json:"file"`
	DurationS float64  `json:"duration_s"`
	Streams   []Stream `json:"streams"`

	Audio AudioReport  `json:"audio"`
	Tones []ToneReport `json:"tones"`

	Video  VideoReport   `json:"video"`
	Colors []ColorReport `json:"colors"`

	Markers    []MarkerReport `json:"markers"`
	AVOffsetMS OffsetStats    `json:"av_offset_ms"`
}

// AudioReport describes the first audio stream as decoded (48 kHz mono).
type AudioReport struct {
	Present   bool    `json:"present"`
	DurationS float64 `json:"duration_s"`
	PeakDBFS  float64 `json:"peak_dbfs"`
	RMSDBFS   float64 `json:"rms_dbfs"`
	// Windows is how many analysis windows (WindowS long, every HopS)
	// the tone fractions are counted over.
	Windows int     `json:"windows"`
	WindowS float64 `json:"window_s"`
	HopS    float64 `json:"hop_s"`
	// BeepsS are the onsets of the marker beeps.
	BeepsS []float64 `json:"beeps_s"`
}

// ToneReport is one expected participant tone.
type ToneReport struct {
	Name string  `json:"name"`
	Hz   float64 `json:"hz"`
	// PresentFraction is the share of analysis windows the tone is in.
	PresentFraction float64 `json:"present_fraction"`
	// FirstS and LastS are the centres of the first and last window the
	// tone is in, -1 if none.
	FirstS float64 `json:"first_s"`
	LastS  float64 `json:"last_s"`

	present []bool // per analysis window, for PresentBetween
}

// PresentBetween is the share of analysis windows centred in [fromS, toS]
// that the tone is in: its presence while a participant was in the meeting.
// It is -1 when no window falls in the span.
func (t ToneReport) PresentBetween(fromS, toS float64) float64 {
	n, in := 0, 0
	for i, ok := range t.present {
		if ts := toneTime(i); ts < fromS || ts > toS {
			continue
		}
		n++
		if ok {
			in++
		}
	}
	if n == 0 {
		return -1
	}
	return float64(in) / float64(n)
}

// VideoReport describes the first video stream, every decoded frame with
// its own timestamp (no frame rate conversion).
type VideoReport struct {
	Present            bool    `json:"present"`
	Frames             int     `json:"frames"`
	DistinctTimestamps int     `json:"distinct_timestamps"`
	FirstS             float64 `json:"first_s"`
	LastS              float64 `json:"last_s"`
	// FPS is measured: frames per second between the first and last frame.
	FPS float64 `json:"fps"`
	// MaxGapS is the longest time between two consecutive frames.
	MaxGapS float64 `json:"max_gap_s"`
	// ChangingFraction is the share of consecutive frames that differ.
	ChangingFraction float64 `json:"changing_fraction"`
	// FrozenMaxS is the longest time one picture stayed on screen.
	FrozenMaxS float64 `json:"frozen_max_s"`
	// Stills are the times one picture stayed on screen for StillMinS or
	// longer, in order: where the video stood still, not only how long at
	// most (a check can leave out the start, before anyone's video came).
	Stills []Span `json:"stills"`
	// FlashesS are the onsets of the marker flashes (first white frame).
	FlashesS []float64 `json:"flashes_s"`
}

// Span is a stretch of the file, in seconds.
type Span struct {
	FromS float64 `json:"from_s"`
	ToS   float64 `json:"to_s"`
}

// StillMinS is the shortest still that VideoReport.Stills lists: a few
// frames of a camera at 15 fps shown in a 30 fps composite repeat for
// 67 ms, a camera that stalls for half a second is something to see.
const StillMinS = 0.5

// ColorReport is one expected participant colour.
type ColorReport struct {
	Name  string `json:"name"`
	Color string `json:"color"`
	// Visible is true when the colour covered a tile-sized area in at least
	// a few frames.
	Visible bool `json:"visible"`
	// Fraction is the share of frames in which the colour covered at least
	// 0.5 % of the frame.
	Fraction float64 `json:"fraction"`
	FirstS   float64 `json:"first_s"`
	LastS    float64 `json:"last_s"`
}

// MarkerReport is one detected beep and the flash paired with it.
type MarkerReport struct {
	BeepS float64 `json:"beep_s"`
	// FlashS is the nearest flash within MaxPairingS, -1 if none.
	FlashS  float64 `json:"flash_s"`
	Matched bool    `json:"matched"`
	// OffsetMS is (FlashS - BeepS) * 1000: positive = video late.
	OffsetMS float64 `json:"offset_ms"`
}

// OffsetStats summarises the matched markers' offsets in milliseconds.
type OffsetStats struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

// MaxPairingS is how far apart a beep and a flash may be to be paired.
const MaxPairingS = 1.0

// Verify measures the recording at path against the lab media in spec.
// Audio-only and video-only files are fine: the missing half is reported
// as not present. It returns an error only when the file cannot be read.
func Verify(ctx context.Context, path string, spec media.Spec) (Report, error) {
	return verify(ctx, defaultTools(nil), path, spec)
}

func verify(ctx context.Context, t tools, path string, spec media.Spec) (Report, error) {
	rep := Report{File: path}
	duration, streams, err := t.probe(ctx, path)
	if err != nil {
		return rep, fmt.Errorf("verify %s: %w", path, err)
	}
	rep.DurationS, rep.Streams = duration, streams
	hasAudio, hasVideo := false, false
	for _, s := range streams {
		hasAudio = hasAudio || s.Type == "audio"
		hasVideo = hasVideo || s.Type == "video"
	}
	if !hasAudio && !hasVideo {
		return rep, fmt.Errorf("verify %s: no audio or video stream", path)
	}

	tones := make([]float64, len(spec.Participants))
	colors := make([]media.RGB, len(spec.Participants))
	for i, p := range spec.Participants {
		tones[i], colors[i] = p.ToneHz, p.Color
	}

	// Audio and video are decoded at the same time: two ffmpeg processes
	// use two cores. If one fails, the other is stopped.
	decodeCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	a := newAudioAnalyzer(tones, spec.Markers.BeepHz)
	v := newVideoAnalyzer(colors)
	audioErr := make(chan error, 1)
	go func() {
		if !hasAudio {
			audioErr <- nil
			return
		}
		audioErr <- t.decodeAudio(decodeCtx, path, a)
	}()
	if hasVideo {
		if err := t.decodeVideo(decodeCtx, path, v); err != nil {
			cancel()
			<-audioErr
			return rep, fmt.Errorf("verify %s: %w", path, err)
		}
	}
	if err := <-audioErr; err != nil {
		return rep, fmt.Errorf("verify %s: %w", path, err)
	}

	if hasAudio {
		rep.Audio = audioReport(a.result)
		for i, p := range spec.Participants {
			rep.Tones = append(rep.Tones, toneReport(p, a.result.present[i]))
		}
		rep.Audio.BeepsS = beepOnsets(a.result.beepAmp, a.result.beepSeen)
	}
	if hasVideo {
		rep.Video = videoReport(v.stats)
		rep.Colors = colorReports(spec.Participants, v.stats)
	}
	rep.Markers, rep.AVOffsetMS = pairMarkers(rep.Audio.BeepsS, rep.Video.FlashesS)

	if rep.DurationS == 0 { // the container did not say: use what was decoded
		rep.DurationS = math.Max(rep.Audio.DurationS, rep.Video.LastS)
	}
	return rep, nil
}

func audioReport(a audioAnalysis) AudioReport {
	r := AudioReport{
		Present:   true,
		DurationS: float64(a.samples) / sampleRate,
		PeakDBFS:  dbfs(a.peak),
		WindowS:   float64(toneWindow) / sampleRate,
		HopS:      float64(toneHop) / sampleRate,
	}
	if a.samples > 0 {
		r.RMSDBFS = dbfs(math.Sqrt(a.sumSq / float64(a.samples)))
	}
	if len(a.present) > 0 {
		r.Windows = len(a.present[0])
	}
	return r
}

// dbfs is a level in dB relative to full scale, floored at -120.
func dbfs(v float64) float64 {
	if v <= 1e-6 {
		return -120
	}
	return math.Round(20*math.Log10(v)*10) / 10
}

// pairMarkers pairs each beep with the nearest flash within MaxPairingS.
func pairMarkers(beeps, flashes []float64) ([]MarkerReport, OffsetStats) {
	var out []MarkerReport
	var st OffsetStats
	sum := 0.0
	for _, b := range beeps {
		m := MarkerReport{BeepS: b, FlashS: -1}
		best := math.Inf(1)
		for _, f := range flashes {
			if d := math.Abs(f - b); d <= MaxPairingS && d < best {
				best, m.FlashS, m.Matched = d, f, true
			}
		}
		if m.Matched {
			m.OffsetMS = (m.FlashS - m.BeepS) * 1000
			if st.N == 0 || m.OffsetMS < st.Min {
				st.Min = m.OffsetMS
			}
			if st.N == 0 || m.OffsetMS > st.Max {
				st.Max = m.OffsetMS
			}
			st.N++
			sum += m.OffsetMS
		}
		out = append(out, m)
	}
	if st.N > 0 {
		st.Mean = sum / float64(st.N)
	}
	return out, st
}
