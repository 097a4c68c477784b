package ffmpeg

import (
	"strconv"
	"strings"
)

// Raw video and PCM carry no timestamps, so the decoders put FFmpeg's
// showinfo (ashowinfo) filter last in the graph, named stampFilter: it
// logs one line per picture (PCM frame) in output order, with its pts in
// the graph's time base (set just before it, so pts is exact: pts_time
// has only six significant digits) and, for audio, nb_samples. The n-th
// line belongs to the n-th picture on stdout. showinfo's own counter n
// restarts when FFmpeg rebuilds the graph (the input's size changed), so
// the order of the lines is what pairs them, not n.
const stampFilter = "stamp"

// stamp is one output frame's timing, from its showinfo line.
type stamp struct {
	pts      int64 // in the graph's output time base
	ptsKnown bool  // false for a frame without pts ("pts:NOPTS")
	samples  int   // audio only: samples per channel
}

// parseStamp reads a line of the stamp filter. frame is true for a
// frame's line; the filter's other messages (config, color_range, side
// data) and every other line give false.
func parseStamp(line string) (s stamp, frame bool) {
	if !strings.HasPrefix(line, "[showinfo@"+stampFilter+" @ ") &&
		!strings.HasPrefix(line, "[ashowinfo@"+stampFilter+" @ ") {
		return stamp{}, false
	}
	pts, ok := field(line, " pts:")
	if !ok || !strings.Contains(line, " n:") {
		return stamp{}, false
	}
	s.pts, s.ptsKnown = parseInt(pts)
	if n, ok := field(line, " nb_samples:"); ok {
		v, _ := parseInt(n)
		s.samples = int(max(v, 0))
	}
	return s, true
}

// isStampLine: a line of the stamp filter, whatever it says.
func isStampLine(line string) bool {
	return strings.HasPrefix(line, "[showinfo@"+stampFilter+" @ ") ||
		strings.HasPrefix(line, "[ashowinfo@"+stampFilter+" @ ")
}

// field is the value after key, past the padding FFmpeg puts in front
// ("pts:   3000"), up to the next space.
func field(line, key string) (string, bool) {
	i := strings.Index(line, key)
	if i < 0 {
		return "", false
	}
	v := strings.TrimLeft(line[i+len(key):], " ")
	if j := strings.IndexByte(v, ' '); j >= 0 {
		v = v[:j]
	}
	return v, v != ""
}

func parseInt(s string) (int64, bool) {
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}
