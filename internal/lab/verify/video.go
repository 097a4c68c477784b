package verify

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

// Frames are decoded at this size: small enough to be quick, large enough
// that a participant's running frame counter still changes pixels when
// tiles are scaled down into a grid.
const (
	frameW = 320
	frameH = 180
)

const (
	// A frame differs from the previous one when either a few pixels
	// changed a lot (a participant's frame counter: a digit is a few dozen
	// pixels at this size) or many pixels changed a little (a scrolling
	// gradient). Re-encoding a still picture at a keyframe stays below
	// both: measured on a still at x264 crf 35, at most 4 pixels moved by
	// more than 24 and 786 (1.4 %) by more than 8, while a scrolling
	// testsrc moves at least 2519 (4.4 %) by more than 8.
	strongChange    = 32
	minStrongPixels = 6
	weakChange      = 8
	minWeakShare    = 0.03
	// A pixel is part of a flash when all channels are at least this.
	whiteMin = 200
	// A pixel shows a participant when it is within this RGB distance of
	// its colour. The palette's colours are >= 78 apart, so this allows for
	// H.264 colour shifts and limited-range rounding without ambiguity.
	colorMaxDist = 38
	// A participant is seen in a frame when (after erosion) its colour
	// covers at least this fraction of the frame: a tile in a 4x4 grid is
	// ~6 %, so this is well below any tile and well above stray pixels.
	colorMinArea = 0.005
	// Colour labels are computed on every colorStride-th pixel; a label
	// only counts when its neighbours one label away agree, which erodes
	// blended lines where two tiles meet (red next to yellow is orange).
	colorStride = 2
)

// frameStats is what one decoded frame showed.
type frameStats struct {
	pts      float64
	changed  bool      // differs from the previous frame
	white    float64   // fraction of near-white pixels
	coverage []float64 // per expected participant colour
}

// videoAnalyzer measures raw rgb24 frames one by one.
type videoAnalyzer struct {
	colors []media.RGB
	prev   []byte
	stats  []frameStats
	labels []int8
}

func newVideoAnalyzer(colors []media.RGB) *videoAnalyzer {
	return &videoAnalyzer{colors: colors, labels: make([]int8, (frameW/colorStride)*(frameH/colorStride))}
}

func (v *videoAnalyzer) readFrames(r io.Reader) error {
	cur := make([]byte, frameW*frameH*3)
	for {
		if _, err := io.ReadFull(r, cur); err != nil {
			if err == io.EOF {
				return nil
			}
			if err == io.ErrUnexpectedEOF {
				return nil // a truncated last frame: ffmpeg was cut short
			}
			return err
		}
		v.frame(cur)
		if v.prev == nil {
			v.prev = make([]byte, len(cur))
		}
		v.prev, cur = cur, v.prev
	}
}

func (v *videoAnalyzer) frame(px []byte) {
	st := frameStats{coverage: make([]float64, len(v.colors))}
	white, strong, weak := 0, 0, 0
	for i := 0; i < len(px); i += 3 {
		r, g, b := px[i], px[i+1], px[i+2]
		if r >= whiteMin && g >= whiteMin && b >= whiteMin {
			white++
		}
		if v.prev != nil {
			d := max(absDiff(r, v.prev[i]), absDiff(g, v.prev[i+1]), absDiff(b, v.prev[i+2]))
			if d > strongChange {
				strong++
			}
			if d > weakChange {
				weak++
			}
		}
	}
	const pixels = frameW * frameH
	st.white = float64(white) / pixels
	st.changed = v.prev != nil && (strong >= minStrongPixels || float64(weak) >= minWeakShare*pixels)
	v.colorCoverage(px, st.coverage)
	v.stats = append(v.stats, st)
}

func (v *videoAnalyzer) colorCoverage(px []byte, coverage []float64) {
	if len(v.colors) == 0 {
		return
	}
	lw, lh := frameW/colorStride, frameH/colorStride
	for y := 0; y < lh; y++ {
		for x := 0; x < lw; x++ {
			i := ((y*colorStride)*frameW + x*colorStride) * 3
			v.labels[y*lw+x] = nearestColor(v.colors, px[i], px[i+1], px[i+2])
		}
	}
	counts := make([]int, len(v.colors))
	for y := 1; y < lh-1; y++ {
		for x := 1; x < lw-1; x++ {
			l := v.labels[y*lw+x]
			if l < 0 || v.labels[y*lw+x-1] != l || v.labels[y*lw+x+1] != l || v.labels[(y-1)*lw+x] != l || v.labels[(y+1)*lw+x] != l {
				continue
			}
			counts[l]++
		}
	}
	for i, c := range counts {
		coverage[i] = float64(c) / float64(lw*lh)
	}
}

func nearestColor(colors []media.RGB, r, g, b byte) int8 {
	for i, c := range colors {
		dr, dg, db := int(r)-int(c.R), int(g)-int(c.G), int(b)-int(c.B)
		if dr*dr+dg*dg+db*db <= colorMaxDist*colorMaxDist {
			return int8(i)
		}
	}
	return -1
}

func absDiff(a, b byte) byte {
	if a > b {
		return a - b
	}
	return b - a
}

// parseShowinfo returns the pts_time of a showinfo frame line, if it is one.
func parseShowinfo(line string) (float64, bool) {
	if !strings.Contains(line, "Parsed_showinfo") || !strings.Contains(line, " n:") {
		return 0, false
	}
	_, rest, ok := strings.Cut(line, "pts_time:")
	if !ok {
		return 0, false
	}
	field, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
	t, err := strconv.ParseFloat(field, 64)
	if err != nil || math.IsNaN(t) {
		return 0, false
	}
	return t, true
}

// decodeVideo decodes the first video stream to small rgb24 frames, every
// decoded frame as it is (no frame rate conversion, so duplicates and gaps
// stay visible), with each frame's time from showinfo.
func (t tools) decodeVideo(ctx context.Context, path string, v *videoAnalyzer) error {
	var pts []float64
	args := []string{"-nostdin", "-hide_banner", "-nostats", "-v", "info",
		"-i", path, "-map", "0:v:0", "-an", "-sn", "-dn",
		"-vf", fmt.Sprintf("scale=%d:%d:flags=area,showinfo", frameW, frameH),
		"-fps_mode", "passthrough", "-pix_fmt", "rgb24", "-f", "rawvideo", "-"}
	err := t.run(ctx, t.ffmpeg, args, v.readFrames, func(line string) {
		if ts, ok := parseShowinfo(line); ok {
			pts = append(pts, ts)
		}
	})
	if err != nil {
		return fmt.Errorf("decode video of %s: %w", path, err)
	}
	if len(pts) < len(v.stats) {
		return fmt.Errorf("decode video of %s: %d frames but %d timestamps", path, len(v.stats), len(pts))
	}
	for i := range v.stats {
		v.stats[i].pts = pts[i]
	}
	return nil
}

// videoReport summarises the frames: timing, motion and flashes.
func videoReport(stats []frameStats) VideoReport {
	r := VideoReport{Present: true, Frames: len(stats)}
	if len(stats) == 0 {
		return r
	}
	r.FirstS, r.LastS = stats[0].pts, stats[len(stats)-1].pts
	distinct, changed := 1, 0
	var intervals []float64
	for i := 1; i < len(stats); i++ {
		d := stats[i].pts - stats[i-1].pts
		if d > 0 {
			distinct++
			intervals = append(intervals, d)
		}
		r.MaxGapS = math.Max(r.MaxGapS, d)
		if stats[i].changed {
			changed++
		}
	}
	r.DistinctTimestamps = distinct
	if span := r.LastS - r.FirstS; span > 0 {
		r.FPS = float64(len(stats)-1) / span
	}
	frameDur := 0.0
	if len(intervals) > 0 {
		sort.Float64s(intervals)
		frameDur = intervals[len(intervals)/2]
	}
	if len(stats) > 1 {
		r.ChangingFraction = float64(changed) / float64(len(stats)-1)
	}
	// FrozenMaxS: the longest time one picture stayed, counting a gap in
	// the timestamps as frozen too.
	start := stats[0].pts
	still := func(end float64) {
		r.FrozenMaxS = math.Max(r.FrozenMaxS, end-start)
		if end-start >= StillMinS {
			r.Stills = append(r.Stills, Span{FromS: start, ToS: end})
		}
	}
	for i := 1; i < len(stats); i++ {
		if stats[i].changed {
			still(stats[i].pts)
			start = stats[i].pts
		}
	}
	still(r.LastS + frameDur)
	r.FlashesS = flashOnsets(stats)
	return r
}

// flashOnsets finds the marker flashes: the first frame of each run of
// frames whose near-white share is well above the usual level. "Well
// above" is relative to the brightest frame, since the flash covers the
// whole frame for one participant but only its tiles in a grid.
func flashOnsets(stats []frameStats) []float64 {
	whites := make([]float64, len(stats))
	for i, s := range stats {
		whites[i] = s.white
	}
	sorted := append([]float64(nil), whites...)
	sort.Float64s(sorted)
	base, top := sorted[len(sorted)/2], sorted[len(sorted)-1]
	if top-base < 0.02 {
		return nil
	}
	threshold := base + math.Max(0.01, 0.3*(top-base))
	var onsets []float64
	for i, w := range whites {
		if w < threshold || (i > 0 && whites[i-1] >= threshold) {
			continue
		}
		if len(onsets) > 0 && stats[i].pts-onsets[len(onsets)-1] < markerMinSpacingS {
			continue
		}
		onsets = append(onsets, stats[i].pts)
	}
	return onsets
}

// colorReports summarises when each expected participant's colour was seen.
func colorReports(ps []media.Participant, stats []frameStats) []ColorReport {
	out := make([]ColorReport, 0, len(ps))
	for i, p := range ps {
		r := ColorReport{Name: p.Name, Color: p.Color.Hex(), FirstS: -1, LastS: -1}
		n := 0
		for _, s := range stats {
			if s.coverage[i] < colorMinArea {
				continue
			}
			n++
			if r.FirstS < 0 {
				r.FirstS = s.pts
			}
			r.LastS = s.pts
		}
		if len(stats) > 0 {
			r.Fraction = float64(n) / float64(len(stats))
		}
		r.Visible = n >= minVisibleFrames
		out = append(out, r)
	}
	return out
}

// minVisibleFrames: a colour seen in fewer frames is a blend, not a tile.
const minVisibleFrames = 3
