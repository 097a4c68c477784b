package tracks

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The compositor feeds MKVWriter's output to `ffmpeg -f matroska -i
// pipe:0` as it is produced: every written frame must reach ffmpeg
// without waiting for later ones. With -c copy that is checked exactly
// (lag 0: the demuxer has each block as soon as it is written). Decoding
// video, ffmpeg 5.1's CLI holds back one frame, sometimes two, whatever
// the container, so that case allows a small lag.
//
// Note for users: do not pass -fflags nobuffer to such an ffmpeg: it
// drops the packets read while probing, i.e. the first keyframe, and the
// video then fails to decode until the next one.
func TestMKVWriterFeedsFFmpegLive(t *testing.T) {
	needFFmpeg(t)
	for _, c := range []struct {
		name, codec string
		frames      func(testing.TB) []testFrame
		ffmpegArgs  []string
		maxLag      int
	}{
		{"vp8-demux", "vp8", func(t testing.TB) []testFrame { return videoFrames(t, "libvpx") }, []string{"-c", "copy"}, 0},
		{"vp8-decode", "vp8", func(t testing.TB) []testFrame { return videoFrames(t, "libvpx") }, []string{"-fps_mode", "passthrough"}, 3},
		{"opus-demux", "opus", opusFrames, []string{"-c", "copy"}, 0},
		{"opus-decode", "opus", opusFrames, nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			frames := c.frames(t)
			args := []string{"-hide_banner", "-v", "error", "-probesize", "32", "-analyzeduration", "0",
				"-threads", "1", "-f", "matroska", "-i", "pipe:0", "-map", "0:0"}
			args = append(args, c.ffmpegArgs...)
			cmd := exec.Command("ffmpeg", append(args, "-f", "framecrc", "-flush_packets", "1", "pipe:1")...)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill() //nolint:errcheck // only matters after a failure
			out := make(chan struct{}, len(frames))
			go countFrameLines(stdout, out)

			m, err := NewMKVWriter(stdin, c.codec, 0, 0, frames[0].data)
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for i, fr := range frames {
				if err := m.WriteFrame(fr.at, fr.key, fr.data); err != nil {
					t.Fatal(err)
				}
				deadline := time.After(5 * time.Second)
				for got < i+1-c.maxLag {
					select {
					case <-out:
						got++
					case <-deadline:
						t.Fatalf("after writing %d frames ffmpeg output only %d", i+1, got)
					}
				}
			}
			stdin.Close()
			for range out {
				got++
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("ffmpeg: %v", err)
			}
			if got < len(frames)-1 {
				t.Errorf("ffmpeg output %d of %d frames", got, len(frames))
			}
		})
	}
}

func countFrameLines(r io.Reader, out chan<- struct{}) {
	defer close(out)
	s := bufio.NewScanner(r)
	for s.Scan() {
		if l := s.Text(); l != "" && !strings.HasPrefix(l, "#") {
			out <- struct{}{}
		}
	}
}
