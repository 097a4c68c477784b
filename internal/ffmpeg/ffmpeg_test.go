package ffmpeg

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skip(bin, " not installed")
		}
	}
}

// makeInput writes a live-style Matroska stream like MediaRecorder's:
// a moving test picture and a tone, keyframes every 3 s.
func makeInput(t *testing.T, seconds int, vcodec string) []byte {
	t.Helper()
	return makeInputSized(t, seconds, vcodec, "320x240")
}

func makeInputSized(t *testing.T, seconds int, vcodec, size string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "in.mkv")
	args := []string{"-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(seconds)}
	if vcodec == "h264" {
		args = append(args, "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "baseline", "-g", "90")
	} else {
		args = append(args, "-c:v", "libvpx", "-deadline", "realtime", "-g", "90")
	}
	args = append(args, "-c:a", "libopus", "-live", "1", "-f", "matroska", out)
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("make input: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type probe struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		CodecType string `json:"codec_type"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func ffprobe(t *testing.T, file string) (codecs []string, duration float64) {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	var p probe
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Streams {
		codecs = append(codecs, s.CodecName)
	}
	duration, _ = strconv.ParseFloat(p.Format.Duration, 64)
	return codecs, duration
}

// feed writes b in 1-second-sized pieces, as the page's chunks arrive.
func feed(t *testing.T, p *Process, b []byte, pieces int) {
	t.Helper()
	size := len(b)/pieces + 1
	for len(b) > 0 {
		n := min(size, len(b))
		if _, err := p.Write(b[:n]); err != nil {
			t.Fatalf("write: %v", err)
		}
		b = b[n:]
	}
}

func TestH264OpusStreamBecomesPlayableMP4WithCopiedVideo(t *testing.T) {
	needFFmpeg(t)
	in := makeInput(t, 6, "h264")
	if got := SniffVideoCodec(in[:min(4096, len(in))]); got != "h264" {
		t.Fatalf("sniffed %q", got)
	}
	out := filepath.Join(t.TempDir(), "out.mp4")
	p, err := Start(t.Context(), Options{Output: out, VideoCodec: "h264"})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, p, in, 6)
	if err := p.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	codecs, dur := ffprobe(t, out)
	t.Logf("codecs %v duration %.3f s, progress %+v", codecs, dur, p.Progress())
	if strings.Join(codecs, ",") != "h264,aac" {
		t.Fatalf("codecs %v, want h264,aac", codecs)
	}
	if dur < 5.8 || dur > 6.3 {
		t.Fatalf("duration %.3f, want ~6", dur)
	}
	if pr := p.Progress(); pr.InputBytes != int64(len(in)) || pr.OutputBytes == 0 {
		t.Fatalf("progress %+v, fed %d", pr, len(in))
	}
	// The media time FFmpeg reports having written is the file's.
	if got := p.Progress().MediaSeconds; got < dur-0.3 || got > dur+0.1 {
		t.Fatalf("progress media %.3f s, file %.3f s", got, dur)
	}
	if strings.Contains(p.StderrTail(), "out_time") {
		t.Fatalf("progress lines in the error tail: %q", p.StderrTail())
	}
}

func TestProgressLinesAreToldApartFromMessages(t *testing.T) {
	for line, want := range map[string]bool{
		"out_time_us=1500000":       true,
		"progress=continue":         true,
		"bitrate=N/A":               true,
		"bitrate= 142.3kbits/s":     true,
		"speed=1.01x":               true,
		"[aac @ 0x5] Too many bits": false,
		"Error while decoding stream #0:1: Invalid data found": false,
		"Qavg=5":  false,
		"=nokey":  false,
		"nothing": false,
	} {
		if _, _, got := progressLine(line); got != want {
			t.Errorf("progressLine(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestVP8StreamIsTranscodedToH264(t *testing.T) {
	needFFmpeg(t)
	in := makeInput(t, 3, "vp8")
	if got := SniffVideoCodec(in[:min(4096, len(in))]); got != "vp8" {
		t.Fatalf("sniffed %q", got)
	}
	out := filepath.Join(t.TempDir(), "out.mp4")
	p, err := Start(t.Context(), Options{Output: out, VideoCodec: "vp8", VideoBitrate: 500_000})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, p, in, 3)
	if err := p.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	codecs, dur := ffprobe(t, out)
	if strings.Join(codecs, ",") != "h264,aac" || dur < 2.8 || dur > 3.3 {
		t.Fatalf("codecs %v duration %.3f", codecs, dur)
	}
}

func TestKilledFFmpegLeavesReadablePartialFile(t *testing.T) {
	needFFmpeg(t)
	in := makeInput(t, 10, "h264")
	out := filepath.Join(t.TempDir(), "out.mp4")
	p, err := Start(t.Context(), Options{Output: out, VideoCodec: "h264"})
	if err != nil {
		t.Fatal(err)
	}
	// Feed 6 of the 10 seconds, let FFmpeg write them, then SIGKILL it.
	half := in[:len(in)*6/10]
	feed(t, p, half, 6)
	waitStableSize(t, out)
	start := time.Now()
	p.Kill()
	t.Logf("killed in %s", time.Since(start))
	if p.Err() == nil {
		t.Fatal("want an exit error after kill")
	}
	codecs, dur := ffprobe(t, out)
	t.Logf("partial file: codecs %v duration %.3f s (fed ~6 s)", codecs, dur)
	if len(codecs) != 2 || dur < 4 || dur > 6.5 {
		t.Fatalf("partial file: codecs %v duration %.3f, want ~5-6 s", codecs, dur)
	}
}

func TestCloseReportsFFmpegFailure(t *testing.T) {
	needFFmpeg(t)
	out := filepath.Join(t.TempDir(), "out.mp4")
	p, err := Start(t.Context(), Options{Output: out, VideoCodec: "h264"})
	if err != nil {
		t.Fatal(err)
	}
	p.Write(bytes.Repeat([]byte("not matroska "), 1000))
	if err := p.Close(); err == nil {
		t.Fatal("want error for garbage input")
	} else {
		t.Logf("error: %v", err)
	}
}

func TestCancelKillsFFmpeg(t *testing.T) {
	needFFmpeg(t)
	ctx, cancel := context.WithCancel(t.Context())
	p, err := Start(ctx, Options{Output: filepath.Join(t.TempDir(), "out.mp4")})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("ffmpeg still running after cancel")
	}
}

func TestMissingBinaryIsReported(t *testing.T) {
	if _, err := Start(t.Context(), Options{Binary: "/nonexistent/ffmpeg", Output: "x.mp4"}); err == nil {
		t.Fatal("want error")
	}
}

// waitStableSize waits until file has not grown for 1 s (up to 15 s): one
// unchanged reading 200 ms later may only mean FFmpeg was not scheduled.
func waitStableSize(t *testing.T, file string) {
	t.Helper()
	var last int64 = -1
	stable := 0
	for range 75 {
		time.Sleep(200 * time.Millisecond)
		st, err := os.Stat(file)
		if err != nil || st.Size() == 0 {
			continue
		}
		if st.Size() == last {
			stable++
		} else {
			stable = 0
		}
		if stable == 5 {
			return
		}
		last = st.Size()
	}
}

func TestLowBitrateFragmentsReachTheFileWhileStreaming(t *testing.T) {
	needFFmpeg(t)
	in := makeInputSized(t, 6, "h264", "96x64")
	out := filepath.Join(t.TempDir(), "out.mp4")
	p, err := Start(t.Context(), Options{Output: out, VideoCodec: "h264"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	feed(t, p, in[:len(in)/2], 3)
	waitStableSize(t, out)
	got := p.Progress().OutputBytes
	t.Logf("fed %d of %d bytes, file has %d bytes before close", len(in)/2, len(in), got)
	if got < int64(len(in))/4 {
		t.Fatalf("only %d bytes written while streaming: fragments held in FFmpeg's buffer", got)
	}
}

// TestAudioGapKeepsLaterAudioInPlace: the browser may drop audio on a busy
// machine, leaving a gap in the Opus timestamps. The beep after the gap
// must stay at its time, not move earlier by the gap's length.
func TestAudioGapKeepsLaterAudioInPlace(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "gap.mkv")
	// A 3 kHz beep at 4.5 s; the audio between 3.0 and 3.3 s is missing.
	gen := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30:duration=6",
		"-f", "lavfi", "-i", "sine=frequency=3000:sample_rate=48000:duration=6",
		"-af", "volume='between(t,4.5,4.6)':eval=frame,aselect='not(between(t,3,3.3))'",
		"-c:v", "libx264", "-preset", "veryfast", "-profile:v", "baseline",
		"-c:a", "libopus", "-f", "matroska", in)
	if b, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("make input: %v\n%s", err, b)
	}
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.mp4")
	p, err := Start(t.Context(), Options{Output: out, VideoCodec: "h264"})
	if err != nil {
		t.Fatal(err)
	}
	feed(t, p, data, 10)
	if err := p.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	beep := firstLoudSample(t, out, 3.5)
	t.Logf("beep at %.3f s", beep)
	if beep < 4.47 || beep > 4.55 {
		t.Errorf("beep after a 300 ms audio gap at %.3f s, want 4.50 s", beep)
	}
	va, aa := streamDuration(t, out, "v"), streamDuration(t, out, "a")
	if d := aa - va; d < -0.1 || d > 0.1 {
		t.Errorf("audio %.3f s, video %.3f s: want them to end together", aa, va)
	}
}

// firstLoudSample decodes file's audio and returns the time of the first
// sample after from that is louder than -20 dBFS.
func firstLoudSample(t *testing.T, file string, from float64) float64 {
	t.Helper()
	pcm, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", file,
		"-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "s16le", "-").Output()
	if err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	for i := int(from*48000) * 2; i+1 < len(pcm); i += 2 {
		v := int16(uint16(pcm[i]) | uint16(pcm[i+1])<<8)
		if v > 3277 || v < -3277 {
			return float64(i/2) / 48000
		}
	}
	t.Fatalf("no loud sample after %.1f s in %s", from, file)
	return 0
}

func streamDuration(t *testing.T, file, stream string) float64 {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", stream+":0",
		"-show_entries", "stream=duration", "-of", "default=nw=1:nk=1", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		t.Fatalf("stream %s duration %q: %v", stream, b, err)
	}
	return d
}

// TestMaxDurationEndsTheFileThereAndDiscardsTheRest: with MaxDuration the
// file ends at that media time with audio and video together, FFmpeg exits
// by itself, and writes after that neither fail nor block.
func TestMaxDurationEndsTheFileThereAndDiscardsTheRest(t *testing.T) {
	needFFmpeg(t)
	in := makeInput(t, 8, "h264")
	out := filepath.Join(t.TempDir(), "out.mp4")
	p, err := Start(t.Context(), Options{Output: out, VideoCodec: "h264", MaxDuration: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Like the recorder: the stream comes in about as fast as it plays.
	size := len(in)/40 + 1
	for b := in; len(b) > 0; b = b[min(size, len(b)):] {
		if _, err := p.Write(b[:min(size, len(b))]); err != nil {
			t.Fatalf("write: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("ffmpeg did not end at MaxDuration")
	}
	if !p.ReachedMaxDuration() {
		t.Errorf("ReachedMaxDuration false after a clean exit; ffmpeg: %s", p.StderrTail())
	}
	if err := p.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	_, dur := ffprobe(t, out)
	va, aa := streamDuration(t, out, "v"), streamDuration(t, out, "a")
	t.Logf("file %.3f s, video %.3f s, audio %.3f s", dur, va, aa)
	if dur < 2.9 || dur > 3.1 || va < 2.85 || aa < 2.9 {
		t.Errorf("file %.3f s (video %.3f, audio %.3f), want 3 s with both streams to the end", dur, va, aa)
	}
}
