package tracks

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Test media: real encoded frames made by ffmpeg, split back into the
// per-frame form the page's receiver transform delivers.

type testFrame struct {
	at   time.Duration
	key  bool
	data []byte
}

func needFFmpeg(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
}

func hasEncoder(t testing.TB, name string) bool {
	out, err := exec.Command("ffmpeg", "-hide_banner", "-encoders").Output()
	if err != nil {
		t.Fatalf("ffmpeg -encoders: %v", err)
	}
	return bytes.Contains(out, []byte(" "+name+" "))
}

func runFFmpeg(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-hide_banner", "-v", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// videoFrames encodes 2 s of 320x180 test pattern at 30 fps with a
// keyframe every second, into IVF (vp8, vp9, av1) and returns its frames.
func videoFrames(t testing.TB, encoder string, extra ...string) []testFrame {
	t.Helper()
	path := filepath.Join(t.TempDir(), "v.ivf")
	args := []string{"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-t", "2",
		"-c:v", encoder, "-g", "30", "-b:v", "500k"}
	args = append(args, extra...)
	runFFmpeg(t, append(args, "-f", "ivf", path)...)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := packetKeyFlags(t, path)
	if len(raw) < 32 || string(raw[:4]) != "DKIF" {
		t.Fatalf("not an IVF file")
	}
	rate := binary.LittleEndian.Uint32(raw[16:])
	scale := binary.LittleEndian.Uint32(raw[20:])
	var frames []testFrame
	for p := int(binary.LittleEndian.Uint16(raw[6:])); p+12 <= len(raw); {
		size := int(binary.LittleEndian.Uint32(raw[p:]))
		pts := int64(binary.LittleEndian.Uint64(raw[p+4:]))
		data := raw[p+12 : p+12+size]
		frames = append(frames, testFrame{
			at:   time.Duration(pts) * time.Second * time.Duration(scale) / time.Duration(rate),
			data: data,
		})
		p += 12 + size
	}
	if len(keys) != len(frames) {
		t.Fatalf("ffprobe saw %d packets, IVF parse %d", len(keys), len(frames))
	}
	for i := range frames {
		frames[i].key = keys[i]
	}
	return frames
}

// packetKeyFlags asks ffprobe which packets of a file are keyframes.
func packetKeyFlags(t testing.TB, path string) []bool {
	t.Helper()
	out := ffprobe(t, path, "-show_entries", "packet=flags", "-of", "csv=p=0")
	var keys []bool
	for _, l := range strings.Fields(out) {
		keys = append(keys, strings.HasPrefix(l, "K"))
	}
	return keys
}

// h264Frames encodes like WebRTC's H.264: no B-frames, SPS/PPS repeated
// at every IDR, Annex B; access units are split at the AUDs.
func h264Frames(t testing.TB, profile string) []testFrame {
	t.Helper()
	path := filepath.Join(t.TempDir(), "v.h264")
	runFFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30", "-t", "2",
		"-c:v", "libx264", "-profile:v", profile, "-bf", "0", "-g", "30", "-pix_fmt", "yuv420p",
		"-x264-params", "aud=1:repeat-headers=1", "-f", "h264", path)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	aud := []byte{0, 0, 0, 1, 9}
	var frames []testFrame
	for i, au := range bytes.Split(raw, aud)[1:] {
		data := append(append([]byte{}, aud...), au...)
		key := false
		for _, n := range splitAnnexB(data) {
			key = key || (len(n) > 0 && n[0]&0x1f == 5)
		}
		frames = append(frames, testFrame{at: time.Duration(i) * time.Second / 30, key: key, data: data})
	}
	return frames
}

// opusFrames encodes 2 s of a 440 Hz tone into 20 ms Opus packets (Ogg)
// and returns the packets.
func opusFrames(t testing.TB) []testFrame {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.opus")
	runFFmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2",
		"-ac", "2", "-c:a", "libopus", "-frame_duration", "20", "-f", "ogg", path)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	packets := oggPackets(t, raw)
	if len(packets) < 3 {
		t.Fatalf("ogg has %d packets", len(packets))
	}
	var frames []testFrame
	for i, p := range packets[2:] { // skip OpusHead, OpusTags
		frames = append(frames, testFrame{at: time.Duration(i) * 20 * time.Millisecond, key: true, data: p})
	}
	return frames
}

func oggPackets(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var packets [][]byte
	var cur []byte
	for len(b) > 0 {
		if len(b) < 27 || string(b[:4]) != "OggS" {
			t.Fatalf("bad ogg page")
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

func ffprobe(t testing.TB, path string, args ...string) string {
	t.Helper()
	cmd := exec.Command("ffprobe", append([]string{"-v", "error"}, append(args, path)...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe %v %s: %v", args, path, err)
	}
	return string(out)
}

// probedPackets returns the pts (seconds) of every packet of stream 0.
func probedPackets(t testing.TB, path string) []float64 {
	t.Helper()
	out := ffprobe(t, path, "-select_streams", "0", "-show_entries", "packet=pts_time", "-of", "csv=p=0")
	var pts []float64
	for _, l := range strings.Fields(out) {
		v, err := strconv.ParseFloat(l, 64)
		if err != nil {
			t.Fatalf("pts %q: %v", l, err)
		}
		pts = append(pts, v)
	}
	return pts
}

// decodedFrames decodes stream 0 with ffmpeg and returns how many frames
// came out and what ffmpeg said on stderr.
func decodedFrames(t testing.TB, path string) (int, string) {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-v", "error", "-i", path, "-map", "0:0", "-f", "framecrc", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg decode %s: %v\n%s", path, err, stderr.String())
	}
	n := 0
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			n++
		}
	}
	return n, stderr.String()
}
