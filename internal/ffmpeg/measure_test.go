package ffmpeg

import (
	"os"
	"slices"
	"testing"
	"time"
)

// Measurements, not checks: FFMPEG_MEASURE=1 go test -run Measure -v
// ./internal/ffmpeg
func TestMeasureVideoDecoder(t *testing.T) {
	if os.Getenv("FFMPEG_MEASURE") == "" {
		t.Skip("set FFMPEG_MEASURE=1")
	}
	needFFmpeg(t)
	frames := vp8Frames(t, "640x360", 20, 0)
	for _, size := range [][2]int{{640, 360}, {320, 180}} {
		d, err := StartVideoDecoder(t.Context(), DecoderOptions{Width: size[0], Height: size[1]})
		if err != nil {
			t.Fatal(err)
		}
		pics := collectPictures(d)
		written := feedFrames(t, d, "vp8", frames, true)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		var lat []time.Duration
		for _, p := range <-pics {
			lat = append(lat, p.at.Sub(written[p.PTS]))
		}
		slices.Sort(lat)
		media := frames[len(frames)-1].at + time.Second/30
		t.Logf("640x360@30 VP8 → %dx%d: %d pictures, CPU %v for %v (%.1f%% of a core); latency median %v p90 %v p99 %v max %v",
			size[0], size[1], len(lat), d.CPUTime(), media, 100*d.CPUTime().Seconds()/media.Seconds(),
			lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)*99/100], lat[len(lat)-1])
	}
}
