package ffmpeg

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/tracks"
)

// encodedFrame is one encoded frame and its place on the track's timeline.
type encodedFrame struct {
	at   time.Duration
	key  bool
	data []byte
}

// vp8Frames encodes seconds of testsrc2 at size with libvpx (realtime,
// keyframe every second), starting at offset.
func vp8Frames(t *testing.T, size string, seconds int, offset time.Duration) []encodedFrame {
	t.Helper()
	path := filepath.Join(t.TempDir(), "v.ivf")
	runTool(t, "ffmpeg", "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30",
		"-t", strconv.Itoa(seconds), "-c:v", "libvpx", "-deadline", "realtime", "-b:v", "800k", "-g", "30", "-f", "ivf", path)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 32 || string(raw[:4]) != "DKIF" {
		t.Fatal("not an IVF file")
	}
	rate := time.Duration(binary.LittleEndian.Uint32(raw[16:]))
	scale := time.Duration(binary.LittleEndian.Uint32(raw[20:]))
	var frames []encodedFrame
	for p := int(binary.LittleEndian.Uint16(raw[6:])); p+12 <= len(raw); {
		size := int(binary.LittleEndian.Uint32(raw[p:]))
		pts := time.Duration(binary.LittleEndian.Uint64(raw[p+4:]))
		data := raw[p+12 : p+12+size]
		// VP8 frame tag: bit 0 clear on keyframes.
		frames = append(frames, encodedFrame{at: offset + pts*time.Second*scale/rate, key: data[0]&1 == 0, data: data})
		p += 12 + size
	}
	return frames
}

func runTool(t *testing.T, name string, args ...string) {
	t.Helper()
	if b, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, b)
	}
}

// feedFrames muxes frames as Matroska into w the way the compositor
// does; realTime paces them by their timestamps. It returns when each
// frame was written.
func feedFrames(t *testing.T, w interface{ Write([]byte) (int, error) }, codec string, frames []encodedFrame, realTime bool) map[time.Duration]time.Time {
	t.Helper()
	written, err := muxFrames(w, codec, frames, realTime)
	if err != nil {
		t.Fatal(err)
	}
	return written
}

func muxFrames(w interface{ Write([]byte) (int, error) }, codec string, frames []encodedFrame, realTime bool) (map[time.Duration]time.Time, error) {
	m, err := tracks.NewMKVWriter(w, codec, 0, 0, frames[0].data)
	if err != nil {
		return nil, err
	}
	written := make(map[time.Duration]time.Time, len(frames))
	start := time.Now()
	for _, f := range frames {
		if realTime {
			time.Sleep(time.Until(start.Add(f.at - frames[0].at)))
		}
		if err := m.WriteFrame(f.at, f.key, f.data); err != nil {
			return written, fmt.Errorf("write frame at %v: %w", f.at, err)
		}
		written[f.at.Round(time.Millisecond)] = time.Now()
	}
	return written, nil
}

type gotPicture struct {
	DecodedPicture
	at time.Time
}

func collectPictures(d *VideoDecoder) <-chan []gotPicture {
	out := make(chan []gotPicture, 1)
	go func() {
		var got []gotPicture
		for p := range d.Pictures() {
			got = append(got, gotPicture{p, time.Now()})
		}
		out <- got
	}()
	return out
}

func TestVideoDecoderDeliversEveryPictureScaledWithItsTimestamp(t *testing.T) {
	needFFmpeg(t)
	frames := vp8Frames(t, "640x360", 3, 0)
	d, err := StartVideoDecoder(t.Context(), DecoderOptions{Width: 320, Height: 240})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Kill()
	pics := collectPictures(d)
	written := feedFrames(t, d, "vp8", frames, true)
	if err := d.Close(); err != nil {
		t.Fatalf("close: %v\n%s", err, d.StderrTail())
	}
	got := <-pics
	if len(got) != len(frames) {
		t.Fatalf("%d pictures from %d frames", len(got), len(frames))
	}
	var lat []time.Duration
	for i, p := range got {
		if want := frames[i].at.Round(time.Millisecond); p.PTS != want {
			t.Fatalf("picture %d at %v, want %v", i, p.PTS, want)
		}
		if p.Width != 320 || p.Height != 240 || len(p.Frame) != I420Size(320, 240) ||
			len(p.Y) != 320*240 || len(p.U) != 160*120 || len(p.V) != 160*120 {
			t.Fatalf("picture %d: %dx%d, %d bytes", i, p.Width, p.Height, len(p.Frame))
		}
		lat = append(lat, p.at.Sub(written[p.PTS]))
	}
	// 640x360 fits 320x240 as 320x180 between 30-line black bars.
	p := got[len(got)/2]
	if p.Y[0] != 16 || p.Y[320*239] != 16 || p.U[0] != 128 || p.Y[320*120+160] == 16 {
		t.Fatalf("bars or picture missing: Y top %d bottom %d U %d middle %d", p.Y[0], p.Y[320*239], p.U[0], p.Y[320*120+160])
	}
	slices.Sort(lat)
	t.Logf("latency frame written → picture out: median %v, p90 %v, max %v; cpu %v for %v of video",
		lat[len(lat)/2], lat[len(lat)*9/10], lat[len(lat)-1], d.CPUTime(), frames[len(frames)-1].at)
}

// A simulcast layer switch changes the picture size mid-stream; the
// output size must not change and no picture may be lost.
func TestVideoDecoderKeepsItsSizeWhenTheInputSizeChanges(t *testing.T) {
	needFFmpeg(t)
	var frames []encodedFrame
	for i, size := range []string{"640x360", "320x180", "1280x720"} {
		frames = append(frames, vp8Frames(t, size, 1, time.Duration(i)*time.Second)...)
	}
	d, err := StartVideoDecoder(t.Context(), DecoderOptions{Width: 640, Height: 360})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Kill()
	pics := collectPictures(d)
	feedFrames(t, d, "vp8", frames, false)
	if err := d.Close(); err != nil {
		t.Fatalf("close: %v\n%s", err, d.StderrTail())
	}
	got := <-pics
	if len(got) != len(frames) {
		t.Fatalf("%d pictures from %d frames\n%s", len(got), len(frames), d.StderrTail())
	}
	for i, p := range got {
		if p.PTS != frames[i].at.Round(time.Millisecond) || len(p.Frame) != I420Size(640, 360) {
			t.Fatalf("picture %d: at %v (want %v), %d bytes", i, p.PTS, frames[i].at, len(p.Frame))
		}
	}
}

// hole is a stretch of a track whose packets are lost.
type hole struct{ from, to time.Duration }

// opusFrames encodes a 440 Hz tone as 20 ms Opus packets (from Ogg),
// placed from offset on; packets whose time falls in a hole are left out.
func opusFrames(t *testing.T, seconds int, offset time.Duration, holes ...hole) []encodedFrame {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.opus")
	runTool(t, "ffmpeg", "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", strconv.Itoa(seconds), "-ac", "2", "-c:a", "libopus", "-frame_duration", "20", "-f", "ogg", path)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	packets := oggPackets(t, raw)
	var frames []encodedFrame
	for i, p := range packets[2:] { // after OpusHead and OpusTags
		at := time.Duration(i) * 20 * time.Millisecond
		if slices.ContainsFunc(holes, func(h hole) bool { return at >= h.from && at < h.to }) {
			continue
		}
		frames = append(frames, encodedFrame{at: offset + at, key: true, data: p})
	}
	return frames
}

// oggPackets splits an Ogg stream into its packets.
func oggPackets(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var packets [][]byte
	var cur []byte
	for len(b) > 0 {
		if len(b) < 27 || string(b[:4]) != "OggS" {
			t.Fatal("bad Ogg page")
		}
		nseg := int(b[26])
		lacing := b[27 : 27+nseg]
		body := b[27+nseg:]
		for _, l := range lacing {
			cur = append(cur, body[:l]...)
			body = body[l:]
			if l < 255 {
				packets = append(packets, cur)
				cur = nil
			}
		}
		b = body
	}
	return packets
}

// pcmTimeline lays the chunks out on one slice of left-channel samples
// from sample first on; it fails on overlaps and gaps.
func pcmTimeline(t *testing.T, chunks []PCMChunk) (first int64, left []int16) {
	t.Helper()
	first = chunks[0].FirstSample
	next := first
	for _, c := range chunks {
		if c.FirstSample != next {
			t.Fatalf("chunk at sample %d, the previous one ended at %d", c.FirstSample, next)
		}
		for i := 0; i < len(c.Samples); i += 2 {
			left = append(left, c.Samples[i])
		}
		next += int64(len(c.Samples) / 2)
	}
	return first, left
}

// peak is the largest magnitude in samples [from, to) of the timeline.
func peak(left []int16, first int64, from, to time.Duration) int {
	m := 0
	a := max(int64(from.Seconds()*PCMRate)-first, 0)
	b := min(int64(to.Seconds()*PCMRate)-first, int64(len(left)))
	for _, s := range left[a:b] {
		m = max(m, int(s), -int(s))
	}
	return m
}

// A track that starts at 5 s and lacks its packets from 7 s to 8 s and
// one 20 ms packet at 6.5 s: the PCM starts at sample 5×48000, has a
// second of silence in the long hole's place, and the lost packet's 20 ms
// are filled too, so that everything after stays in place.
func TestAudioDecoderPlacesSamplesByTimestamp(t *testing.T) {
	needFFmpeg(t)
	frames := opusFrames(t, 4, 5*time.Second,
		hole{1500 * time.Millisecond, 1520 * time.Millisecond}, hole{2 * time.Second, 3 * time.Second})
	d, err := StartAudioDecoder(t.Context(), DecoderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Kill()
	var chunks []PCMChunk
	var wg sync.WaitGroup
	wg.Go(func() {
		for c := range d.PCM() {
			chunks = append(chunks, c)
		}
	})
	feedFrames(t, d, "opus", frames, false)
	if err := d.Close(); err != nil {
		t.Fatalf("close: %v\n%s", err, d.StderrTail())
	}
	wg.Wait()
	if len(chunks) == 0 {
		t.Fatalf("no PCM\n%s", d.StderrTail())
	}
	first, left := pcmTimeline(t, chunks)
	end := time.Duration(first+int64(len(left))) * time.Second / PCMRate
	t.Logf("first sample %d (%.4f s), end %v, %d chunks", first, float64(first)/PCMRate, end, len(chunks))
	// Matroska has millisecond timestamps; Opus' pre-skip is applied by
	// FFmpeg in whole samples: within a millisecond.
	if diff := first - 5*PCMRate; diff < -48 || diff > 48 {
		t.Fatalf("first sample %d, want %d", first, 5*PCMRate)
	}
	// libopus codes 4 s plus its 312-sample delay: 201 packets of 20 ms,
	// 6.5 ms of which the decoder drops: the last ends at 9.0135 s.
	if want := 9013500 * time.Microsecond; end < want-2*time.Millisecond || end > want+2*time.Millisecond {
		t.Fatalf("audio ends at %v, want %v", end, want)
	}
	for _, w := range []struct {
		from, to time.Duration
		loud     bool
	}{
		// The packet lost at 6.5 s (its audio is 6.4935-6.5135 s: the
		// decoder drops the first 6.5 ms of the track) is silence; with
		// FFmpeg's default min_hard_comp it would hold the next packet.
		{5100 * time.Millisecond, 6490 * time.Millisecond, true},
		{6496 * time.Millisecond, 6511 * time.Millisecond, false},
		{6516 * time.Millisecond, 6950 * time.Millisecond, true},
		{7030 * time.Millisecond, 7970 * time.Millisecond, false},
		{8050 * time.Millisecond, 8950 * time.Millisecond, true},
	} {
		p := peak(left, first, w.from, w.to)
		if (p > 1000) != w.loud {
			t.Fatalf("peak %d between %v and %v; want loud=%v", p, w.from, w.to, w.loud)
		}
	}
}

// The process dying must unblock a Write stuck on a full pipe (nobody
// reads the pictures, so FFmpeg stops reading its input).
func TestKillUnblocksDecoderWrite(t *testing.T) {
	needFFmpeg(t)
	frames := vp8Frames(t, "640x360", 4, 0)
	d, err := StartVideoDecoder(t.Context(), DecoderOptions{Width: 640, Height: 360})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		m, err := tracks.NewMKVWriter(d, "vp8", 0, 0, frames[0].data)
		if err != nil {
			return
		}
		for {
			for _, f := range frames {
				if m.WriteFrame(f.at, f.key, f.data) != nil {
					return
				}
			}
		}
	}()
	select {
	case <-done:
		t.Fatal("writes ended before the kill")
	case <-time.After(2 * time.Second):
	}
	d.Kill()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Write still blocked after Kill")
	}
	for range d.Pictures() { // closed after Kill
	}
	if d.Err() == nil {
		t.Fatal("Err nil after Kill")
	}
}

func TestDecoderCloseTimesOutWhenNobodyReads(t *testing.T) {
	needFFmpeg(t)
	frames := vp8Frames(t, "640x360", 2, 0)
	d, err := StartVideoDecoder(t.Context(), DecoderOptions{Width: 640, Height: 360})
	if err != nil {
		t.Fatal(err)
	}
	go muxFrames(d, "vp8", frames[:30], false)
	time.Sleep(time.Second)
	start := time.Now()
	d.CloseWithin(500 * time.Millisecond)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %v", took)
	}
	n := 0
	for range d.Pictures() {
		n++
	}
	t.Logf("%d pictures left in the channel", n)
}

func TestDecoderRejectsOddSize(t *testing.T) {
	if _, err := StartVideoDecoder(t.Context(), DecoderOptions{Width: 321, Height: 240}); err == nil {
		t.Fatal("want error")
	}
}
