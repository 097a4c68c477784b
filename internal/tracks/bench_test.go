package tracks

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

// BenchmarkRouteAndWrite measures the CPU cost of the Go side per frame:
// routing, Matroska framing and the write system call into a file.
func BenchmarkRouteAndWrite(b *testing.B) {
	needFFmpeg(b)
	for _, c := range []struct {
		name, codec string
		kind        Kind
		frames      func(testing.TB) []testFrame
		ticks       time.Duration // RTP ticks per frame
	}{
		{"vp8", "vp8", Video, func(t testing.TB) []testFrame { return videoFrames(t, "libvpx") }, 3000},
		{"h264", "h264", Video, func(t testing.TB) []testFrame { return h264Frames(t, "baseline") }, 3000},
		{"opus", "opus", Audio, opusFrames, 960},
	} {
		b.Run(c.name, func(b *testing.B) {
			frames := c.frames(b)
			set := NewSet(b.TempDir(), "bench", discardLog())
			r := NewRouter(epoch)
			var bytes int64
			i := 0
			for b.Loop() {
				f := frames[i%len(frames)]
				in := Frame{SSRC: 1, Kind: c.kind, Codec: c.codec, RTPTime: uint32(i) * uint32(c.ticks),
					Received: epoch.Add(time.Duration(i) * 20 * time.Millisecond),
					Keyframe: f.key || i == 0, Participant: "p", Data: f.data}
				tm, ok := r.Route(in)
				if ok {
					if err := set.Write(tm); err != nil {
						b.Fatal(err)
					}
				}
				bytes += int64(len(f.data))
				i++
			}
			b.StopTimer()
			b.ReportMetric(float64(bytes)/b.Elapsed().Seconds()/1e6, "MB/s")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
			set.Close()
		})
	}
}

// BenchmarkMKVWriteFrame isolates the Matroska framing (no file).
func BenchmarkMKVWriteFrame(b *testing.B) {
	data := make([]byte, 2000)
	m, err := NewMKVWriter(io.Discard, "vp8", 640, 360, nil)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if err := m.WriteFrame(time.Duration(i)*33*time.Millisecond, i%60 == 0, data); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.SetBytes(int64(len(data)))
}

// BenchmarkDecodeFrames measures the page-event side: JSON and base64 of
// a 50 ms batch (1 video frame of ~2 kB and 3 audio frames).
func BenchmarkDecodeFrames(b *testing.B) {
	video := base64.StdEncoding.EncodeToString(make([]byte, 2000))
	audio := base64.StdEncoding.EncodeToString(make([]byte, 120))
	raw := json.RawMessage(`[{"s":1,"k":"v","c":"vp8","ts":1,"r":1733300000000.25,"key":false,"p":"a","src":"a-v0","d":"` + video + `"},` +
		strings.Repeat(`{"s":2,"k":"a","c":"opus","ts":1,"r":1733300000000.25,"p":"a","src":"a-a0","d":"`+audio+`"},`, 2) +
		`{"s":2,"k":"a","c":"opus","ts":1,"r":1733300000000.25,"p":"a","src":"a-a0","d":"` + audio + `"}]`)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := DecodeFrames(raw); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(4*b.N)/b.Elapsed().Seconds(), "frames/s")
}
