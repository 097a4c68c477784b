package ffmpeg

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// solidI420 is a w×h picture of one colour (Y, U, V values).
func solidI420(w, h int, y, u, v byte) []byte {
	b := make([]byte, I420Size(w, h))
	ys := w * h
	for i := range b {
		switch {
		case i < ys:
			b[i] = y
		case i < ys+ys/4:
			b[i] = u
		default:
			b[i] = v
		}
	}
	return b
}

// colourFrames is one solid picture per second, a different colour each.
func colourFrames(w, h int) [][]byte {
	return [][]byte{
		solidI420(w, h, 81, 90, 240),  // red
		solidI420(w, h, 145, 54, 34),  // green
		solidI420(w, h, 41, 240, 110), // blue
		solidI420(w, h, 210, 16, 146), // yellow
	}
}

// sinePCM is stereo s16le of a 440 Hz tone, starting at sample from.
func sinePCM(from, samples int) []byte {
	b := make([]byte, samples*PCMFrameBytes)
	for i := range samples {
		s := int16(8000 * math.Sin(2*math.Pi*440*float64(from+i)/PCMRate))
		binary.LittleEndian.PutUint16(b[i*4:], uint16(s))
		binary.LittleEndian.PutUint16(b[i*4+2:], uint16(s))
	}
	return b
}

type streamProbe struct {
	Streams []struct {
		CodecType  string `json:"codec_type"`
		CodecName  string `json:"codec_name"`
		Width      int    `json:"width"`
		Height     int    `json:"height"`
		StartTime  string `json:"start_time"`
		Duration   string `json:"duration"`
		NbReadPkts string `json:"nb_read_packets"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func probeStreams(t *testing.T, file string) streamProbe {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-count_packets", "-show_streams", "-show_format", "-of", "json", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	var p streamProbe
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func atof(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// writeAV writes seconds of colour pictures and tone from two goroutines,
// as the compositor does, each paced by its own delay per write.
func writeAV(t *testing.T, e *Encoder, w, h, fps, seconds int, videoDelay, audioDelay time.Duration) (videoTook, audioTook time.Duration) {
	t.Helper()
	frames := colourFrames(w, h)
	start := time.Now()
	type result struct {
		err  error
		took time.Duration
	}
	video := make(chan result, 1)
	go func() {
		for n := range fps * seconds {
			if err := e.WriteVideo(frames[(n/fps)%len(frames)]); err != nil {
				video <- result{err, time.Since(start)}
				return
			}
			time.Sleep(videoDelay)
		}
		video <- result{nil, time.Since(start)}
	}()
	const chunk = PCMRate / 50 // 20 ms
	for s := 0; s < PCMRate*seconds; s += chunk {
		if err := e.WriteAudio(sinePCM(s, chunk)); err != nil {
			t.Fatalf("write audio: %v", err)
		}
		time.Sleep(audioDelay)
	}
	audioTook = time.Since(start)
	r := <-video
	if r.err != nil {
		t.Fatalf("write video: %v", r.err)
	}
	return r.took, audioTook
}

func TestEncoderWritesThreeSecondsOfPicturesAndTone(t *testing.T) {
	needFFmpeg(t)
	out := filepath.Join(t.TempDir(), "out.mp4")
	e, err := StartEncoder(t.Context(), EncoderOptions{Output: out, Width: 640, Height: 360, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	writeAV(t, e, 640, 360, 30, 3, 0, 0)
	if err := e.CloseWithin(10 * time.Second); err != nil {
		t.Fatalf("close: %v\n%s", err, e.StderrTail())
	}
	p := probeStreams(t, out)
	t.Logf("probe %+v, progress %+v, cpu %v", p, e.Progress(), e.CPUTime())
	if len(p.Streams) != 2 || p.Streams[0].CodecName != "h264" || p.Streams[1].CodecName != "aac" {
		t.Fatalf("streams %+v, want h264 and aac", p.Streams)
	}
	v, a := p.Streams[0], p.Streams[1]
	if v.Width != 640 || v.Height != 360 || v.NbReadPkts != "90" {
		t.Fatalf("video %dx%d with %s frames, want 640x360 with 90", v.Width, v.Height, v.NbReadPkts)
	}
	if d := atof(p.Format.Duration); d < 2.95 || d > 3.1 {
		t.Fatalf("duration %.3f, want ~3", d)
	}
	if d := atof(a.Duration); d < 2.95 || d > 3.1 {
		t.Fatalf("audio duration %.3f, want ~3", d)
	}
	if vs, as := atof(v.StartTime), atof(a.StartTime); math.Abs(vs-as) > 0.03 {
		t.Fatalf("video starts at %.3f, audio at %.3f", vs, as)
	}
	if pr := e.Progress(); pr.MediaSeconds < 2.9 || pr.OutputBytes == 0 {
		t.Fatalf("progress %+v", pr)
	}
	// The colour of second 2 (blue) is at 2.5 s.
	if y := lumaAt(t, out, 2.5); y < 22 || y > 36 {
		t.Fatalf("luma at 2.5 s is %d, want ~29 (blue, 41 in limited range)", y)
	}
}

// lumaAt is the top-left pixel's Y at time at.
func lumaAt(t *testing.T, file string, at float64) int {
	t.Helper()
	b, err := exec.Command("ffmpeg", "-v", "error", "-ss", strconv.FormatFloat(at, 'f', 3, 64), "-i", file,
		"-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:").Output()
	if err != nil || len(b) == 0 {
		t.Fatalf("read picture at %.1f: %v", at, err)
	}
	return int(b[0])
}

// The two inputs are written from two goroutines and neither may wait
// for the other. FFmpeg takes packets from the input that is behind, so
// the one ahead is held in its read-ahead queue: audio can run about
// 90 s ahead of video, video about 2 s ahead of audio (64 pictures);
// beyond that WriteVideo waits until audio catches up, but never blocks
// WriteAudio.
func TestEncoderInputsDoNotBlockEachOther(t *testing.T) {
	needFFmpeg(t)
	for _, tc := range []struct {
		name                   string
		videoDelay, audioDelay time.Duration
	}{
		{"audio ahead", 30 * time.Millisecond, 0},
		{"video ahead", 0, 15 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.mp4")
			e, err := StartEncoder(t.Context(), EncoderOptions{Output: out, Width: 320, Height: 240, Preset: "ultrafast"})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Kill()
			// 10 s of each: the slow side takes 8-10 s to write.
			videoTook, audioTook := writeAV(t, e, 320, 240, 30, 10, tc.videoDelay, tc.audioDelay)
			t.Logf("video written in %v, audio in %v", videoTook, audioTook)
			if tc.videoDelay > 0 {
				if audioTook > 3*time.Second {
					t.Fatalf("10 s of audio took %v to write: held back by the slow video", audioTook)
				}
			} else {
				if audioTook > 12*time.Second {
					t.Fatalf("slow audio took %v: held back by the video", audioTook)
				}
				if videoTook > audioTook {
					t.Fatalf("video done after audio")
				}
				if videoTook < audioTook-4*time.Second {
					t.Fatalf("video done %v before audio: more read-ahead than expected", audioTook-videoTook)
				}
			}
			if err := e.CloseWithin(10 * time.Second); err != nil {
				t.Fatalf("close: %v", err)
			}
			p := probeStreams(t, out)
			if d := atof(p.Format.Duration); d < 9.9 || d > 10.2 {
				t.Fatalf("duration %.3f, want ~10", d)
			}
		})
	}
}

func TestEncoderAudioOnly(t *testing.T) {
	needFFmpeg(t)
	out := filepath.Join(t.TempDir(), "out.mp4")
	e, err := StartEncoder(t.Context(), EncoderOptions{Output: out, AudioOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.WriteVideo(make([]byte, e.FrameSize())); err != ErrAudioOnly {
		t.Fatalf("WriteVideo on audio-only: %v", err)
	}
	if err := e.WriteAudio(sinePCM(0, 2*PCMRate)); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	p := probeStreams(t, out)
	if len(p.Streams) != 1 || p.Streams[0].CodecName != "aac" {
		t.Fatalf("streams %+v, want aac only", p.Streams)
	}
	if d := atof(p.Format.Duration); d < 1.95 || d > 2.1 {
		t.Fatalf("duration %.3f, want ~2", d)
	}
}

func TestEncoderMaxDurationEndsFileAndDiscardsTheRest(t *testing.T) {
	needFFmpeg(t)
	out := filepath.Join(t.TempDir(), "out.mp4")
	e, err := StartEncoder(t.Context(), EncoderOptions{Output: out, Width: 320, Height: 240, Preset: "ultrafast", MaxDuration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	writeAV(t, e, 320, 240, 30, 5, 0, 0)
	select {
	case <-e.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("FFmpeg did not stop at MaxDuration")
	}
	if !e.ReachedMaxDuration() {
		t.Fatalf("ReachedMaxDuration false; err %v", e.Err())
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if d := atof(probeStreams(t, out).Format.Duration); d < 1.95 || d > 2.1 {
		t.Fatalf("duration %.3f, want 2", d)
	}
}

func TestKilledEncoderLeavesReadableFileAndUnblocksWriters(t *testing.T) {
	needFFmpeg(t)
	out := filepath.Join(t.TempDir(), "out.mp4")
	e, err := StartEncoder(t.Context(), EncoderOptions{Output: out, Width: 320, Height: 240, Preset: "ultrafast"})
	if err != nil {
		t.Fatal(err)
	}
	// 3 s of both, then video as fast as it goes: a write is most likely
	// in progress (or blocked on a full pipe) at the kill, and must end.
	writeAV(t, e, 320, 240, 30, 3, 0, 0)
	waitStableSize(t, out)
	blocked := make(chan error, 1)
	go func() {
		frame := make([]byte, e.FrameSize())
		for {
			if err := e.WriteVideo(frame); err != nil {
				blocked <- err
				return
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	e.Kill()
	select {
	case err := <-blocked:
		t.Logf("blocked write ended with: %v", err)
	case <-time.After(3 * time.Second):
		t.Fatal("WriteVideo still blocked after Kill")
	}
	if e.Err() == nil {
		t.Fatal("Err nil after SIGKILL")
	}
	if d := atof(probeStreams(t, out).Format.Duration); d < 1.9 {
		t.Fatalf("partial file lasts %.3f s", d)
	}
}

func TestEncoderCancelKillsFFmpeg(t *testing.T) {
	needFFmpeg(t)
	ctx, cancel := context.WithCancel(t.Context())
	e, err := StartEncoder(ctx, EncoderOptions{Output: filepath.Join(t.TempDir(), "out.mp4"), Width: 320, Height: 240})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-e.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("cancel did not end FFmpeg")
	}
	if err := e.WriteAudio(sinePCM(0, 960)); err == nil {
		t.Fatal("write to a killed encoder succeeded")
	}
}
