package tracks

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// timelineStart puts the test tracks 5 s into the recording, as for a
// participant who joined late: the files carry timeline positions.
const timelineStart = 5 * time.Second

type mkvCase struct {
	codec, probeName string
	frames           func(testing.TB) []testFrame
	width, height    int // passed to NewMKVWriter; 0 = read from the frame
}

func mkvCases(t testing.TB) []mkvCase {
	cases := []mkvCase{
		{"vp8", "vp8", func(t testing.TB) []testFrame { return videoFrames(t, "libvpx") }, 320, 180},
		{"vp9", "vp9", func(t testing.TB) []testFrame {
			return videoFrames(t, "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8")
		}, 0, 0},
		{"h264", "h264", func(t testing.TB) []testFrame { return h264Frames(t, "baseline") }, 0, 0},
		{"opus", "opus", opusFrames, 0, 0},
	}
	if hasEncoder(t, "libaom-av1") {
		cases = append(cases, mkvCase{"av1", "av1", func(t testing.TB) []testFrame {
			return videoFrames(t, "libaom-av1", "-cpu-used", "8", "-usage", "realtime")
		}, 0, 0})
	}
	return cases
}

func writeMKV(t testing.TB, path, codec string, w, h int, frames []testFrame) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := NewMKVWriter(f, codec, w, h, frames[0].data)
	if err != nil {
		t.Fatalf("NewMKVWriter: %v", err)
	}
	for i, fr := range frames {
		if err := m.WriteFrame(timelineStart+fr.at, fr.key, fr.data); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestMKVWriterPlaysInFFmpeg(t *testing.T) {
	needFFmpeg(t)
	for _, c := range mkvCases(t) {
		t.Run(c.codec, func(t *testing.T) {
			frames := c.frames(t)
			if !frames[0].key {
				t.Fatal("test stream does not start with a keyframe")
			}
			path := filepath.Join(t.TempDir(), c.codec+".mkv")
			writeMKV(t, path, c.codec, c.width, c.height, frames)

			stream := ffprobe(t, path, "-select_streams", "0",
				"-show_entries", "stream=codec_name,width,height,sample_rate,channels", "-of", "default=nw=1")
			if !strings.Contains(stream, "codec_name="+c.probeName+"\n") {
				t.Errorf("stream: %s", stream)
			}
			if c.codec != "opus" && !strings.Contains(stream, "width=320\nheight=180\n") {
				t.Errorf("size not 320x180: %s", stream)
			}
			pts := probedPackets(t, path)
			if len(pts) != len(frames) {
				t.Fatalf("ffprobe sees %d packets, wrote %d", len(pts), len(frames))
			}
			// Opus packets come out shifted by CodecDelay (pre-skip).
			shift := 0.0
			if c.codec == "opus" {
				shift = float64(opusCodecDelay) / 1e9
			}
			for i, p := range pts {
				want := (timelineStart + frames[i].at).Seconds() - shift
				if math.Abs(p-want) > 0.0011 {
					t.Fatalf("packet %d pts %.4f, want %.4f", i, p, want)
				}
			}
			n, stderr := decodedFrames(t, path)
			if stderr != "" {
				t.Errorf("ffmpeg complained: %s", stderr)
			}
			if c.codec != "opus" && n != len(frames) {
				t.Errorf("decoded %d frames of %d", n, len(frames))
			}
			if c.codec == "opus" && n < len(frames)-1 {
				t.Errorf("decoded %d audio frames of %d", n, len(frames))
			}
			t.Logf("%s: %d frames, %d bytes", c.codec, len(frames), fileSize(t, path))
		})
	}
}

// A file cut anywhere, as SIGKILL leaves it, still plays up to the cut.
func TestMKVWriterCutFilePlays(t *testing.T) {
	needFFmpeg(t)
	for _, c := range mkvCases(t) {
		t.Run(c.codec, func(t *testing.T) {
			frames := c.frames(t)
			dir := t.TempDir()
			path := filepath.Join(dir, "full.mkv")
			writeMKV(t, path, c.codec, c.width, c.height, frames)
			full, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// Cut in the middle of a frame's data, 60 % into the file.
			cutAt := len(full) * 6 / 10
			cut := filepath.Join(dir, "cut.mkv")
			if err := os.WriteFile(cut, full[:cutAt], 0o600); err != nil {
				t.Fatal(err)
			}
			n, stderr := decodedFrames(t, cut)
			for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
				if l != "" && !isTruncationMessage(l) {
					t.Errorf("unexpected ffmpeg error: %s", l)
				}
			}
			minFrames := len(frames) * 4 / 10 // video: bytes are front-loaded in keyframes
			if n < minFrames || n >= len(frames) {
				t.Errorf("decoded %d of %d frames from a 60%% cut", n, len(frames))
			}
			t.Logf("cut at %d/%d bytes: decoded %d/%d frames; stderr %q", cutAt, len(full), n, len(frames), stderr)
		})
	}
}

func isTruncationMessage(l string) bool {
	for _, s := range []string{"Read error", "End of file", "ended prematurely", "truncat", "Truncat", "EOF", "Invalid data"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func fileSize(t testing.TB, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// Clusters start at every video keyframe and at least every 2 s.
func TestMKVWriterClusters(t *testing.T) {
	var out bytes.Buffer
	m, err := NewMKVWriter(&out, "opus", 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	clusterID := []byte{0x1f, 0x43, 0xb6, 0x75}
	for i := range 250 { // 5 s of 20 ms packets
		if err := m.WriteFrame(time.Duration(i)*20*time.Millisecond, true, []byte{0xfc, 0xff, 0xfe}); err != nil {
			t.Fatal(err)
		}
	}
	if got := bytes.Count(out.Bytes(), clusterID); got != 3 {
		t.Errorf("5 s of audio in %d clusters, want 3", got)
	}

	out.Reset()
	v, err := NewMKVWriter(&out, "vp8", 16, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if err := v.WriteFrame(time.Duration(i)*33*time.Millisecond, i%10 == 0, []byte{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
	}
	if got := bytes.Count(out.Bytes(), clusterID); got != 3 {
		t.Errorf("3 keyframes in %d clusters, want 3", got)
	}
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(b []byte) (int, error) {
	if w.after <= 0 {
		return 0, os.ErrDeadlineExceeded
	}
	w.after--
	return len(b), nil
}

// After a failed write the stream may end mid-element; later writes must
// be refused rather than appended to it.
func TestMKVWriterErrorIsSticky(t *testing.T) {
	m, err := NewMKVWriter(&failingWriter{after: 2}, "opus", 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.WriteFrame(0, true, []byte{1}); err != nil {
		t.Fatalf("first frame: %v", err)
	}
	if err := m.WriteFrame(20*time.Millisecond, true, []byte{1}); err == nil {
		t.Fatal("write error not reported")
	}
	if err := m.WriteFrame(40*time.Millisecond, true, []byte{1}); err == nil {
		t.Fatal("write after failure accepted")
	}
}
