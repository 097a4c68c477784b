package ffmpeg

import (
	"sync"
	"testing"
	"time"
)

func TestZZDebugSmallHole(t *testing.T) {
	frames := opusFrames(t, 4, 5*time.Second, hole{1500 * time.Millisecond, 1520 * time.Millisecond})
	d, _ := StartAudioDecoder(t.Context(), DecoderOptions{})
	var chunks []PCMChunk
	var wg sync.WaitGroup
	wg.Go(func() {
		for c := range d.PCM() {
			chunks = append(chunks, c)
		}
	})
	feedFrames(t, d, "opus", frames, false)
	d.Close()
	wg.Wait()
	first, left := pcmTimeline(t, chunks)
	for ms := 6470; ms < 6560; ms += 5 {
		t.Logf("%d ms: %d", ms, peak(left, first, time.Duration(ms)*time.Millisecond, time.Duration(ms+5)*time.Millisecond))
	}
	for i, c := range chunks[70:80] {
		t.Logf("chunk %d at %d (%.4f) n %d", 70+i, c.FirstSample, float64(c.FirstSample)/48000, len(c.Samples)/2)
	}
}
