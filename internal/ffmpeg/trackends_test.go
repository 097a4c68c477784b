package ffmpeg

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestTrackEndsTellsAShortVideoFromTheAudio: a stream whose video stops 4 s
// before its audio (a browser encoder that fell behind) goes through FFmpeg
// as a recording does; TrackEnds finds each track's end where ffprobe does.
func TestTrackEndsTellsAShortVideoFromTheAudio(t *testing.T) {
	needFFmpeg(t)
	in := filepath.Join(t.TempDir(), "in.mkv")
	args := []string{"-hide_banner", "-loglevel", "error", "-y",
		"-t", "4", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
		"-t", "8", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-c:a", "libopus", "-f", "matroska", in}
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("make input: %v\n%s", err, b)
	}
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	out := muxH264(t, b, 8)
	video, audio, err := TrackEnds(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("video ends %s, audio %s; ffprobe: %.3f, %.3f s", video, audio, streamDuration(t, out, "v"), streamDuration(t, out, "a"))
	near := func(what string, got time.Duration, want float64) {
		if math.Abs(got.Seconds()-want) > 0.15 {
			t.Errorf("%s ends at %s, want %.2f s (ffprobe)", what, got, want)
		}
	}
	near("video", video, streamDuration(t, out, "v"))
	near("audio", audio, streamDuration(t, out, "a"))
	if video > 4200*time.Millisecond || audio < 7800*time.Millisecond {
		t.Errorf("video ends at %s, audio at %s: want about 4 s and 8 s", video, audio)
	}
}

func TestTrackEndsOfAWholeRecordingAgree(t *testing.T) {
	needFFmpeg(t)
	video, audio, err := TrackEnds(muxH264(t, makeInput(t, 5, "h264"), 5))
	if err != nil {
		t.Fatal(err)
	}
	if d := (audio - video).Abs(); d > 150*time.Millisecond || video < 4800*time.Millisecond {
		t.Errorf("video ends at %s, audio at %s: want both at about 5 s", video, audio)
	}
}

func TestTrackEndsRefusesWhatIsNotAFragmentedMP4(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.mp4")
	if err := os.WriteFile(junk, []byte("not a movie at all, just "+strconv.Itoa(42)+" bytes of text"), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, a, err := TrackEnds(junk); err == nil {
		t.Errorf("junk: video %s, audio %s, no error", v, a)
	}
	if _, _, err := TrackEnds(filepath.Join(dir, "missing.mp4")); err == nil {
		t.Error("missing file: no error")
	}
}

// muxH264 records an H.264 Matroska stream through Start as the recorder
// does, in pieces, and returns the closed file.
func muxH264(t *testing.T, in []byte, pieces int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.mp4")
	p, err := Start(t.Context(), Options{Output: out, VideoCodec: "h264"})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, p, in, pieces)
	if err := p.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return out
}
