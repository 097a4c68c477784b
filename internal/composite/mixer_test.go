package composite

import (
	"fmt"
	"testing"
)

// stereo returns n stereo samples with left = v and right = -v.
func stereo(n int, v int16) []int16 {
	pcm := make([]int16, 2*n)
	for i := 0; i < n; i++ {
		pcm[2*i], pcm[2*i+1] = v, -v
	}
	return pcm
}

// mix runs Mix and returns the left channel.
func mixLeft(m *Mixer, from int64, n int) []int16 {
	out := make([]int16, 2*n)
	for i := range out {
		out[i] = 999 // Mix must overwrite everything
	}
	m.Mix(from, n, out)
	left := make([]int16, n)
	for i := range left {
		left[i] = out[2*i]
		if out[2*i+1] != -out[2*i] && !(out[2*i] == 32767 && out[2*i+1] == -32768) {
			panic(fmt.Sprintf("right channel %d for left %d", out[2*i+1], out[2*i]))
		}
	}
	return left
}

func TestMixerPlacementAndGaps(t *testing.T) {
	m := NewMixer()
	m.Put("a", 2, stereo(3, 100)) // samples 2..4
	m.Put("a", 7, stereo(2, 200)) // 5..6 are a gap: silence
	got := fmt.Sprint(mixLeft(m, 0, 10))
	if want := "[0 0 100 100 100 0 0 200 200 0]"; got != want {
		t.Errorf("mix %s, want %s", got, want)
	}
	// Nothing left: silence.
	if got := fmt.Sprint(mixLeft(m, 10, 3)); got != "[0 0 0]" {
		t.Errorf("after: %s", got)
	}
}

func TestMixerOverlapSumsSources(t *testing.T) {
	m := NewMixer()
	m.Put("a", 0, stereo(4, 1000))
	m.Put("b", 2, stereo(4, 10))
	m.Put("c", 3, stereo(1, -5))
	m.Put("a", 1, stereo(1, 3000)) // a's own overlap replaces
	got := fmt.Sprint(mixLeft(m, 0, 7))
	if want := "[1000 3000 1010 1005 10 10 0]"; got != want {
		t.Errorf("mix %s, want %s", got, want)
	}
}

func TestMixerSaturates(t *testing.T) {
	m := NewMixer()
	m.Put("a", 0, []int16{30000, -30000, 100, -100})
	m.Put("b", 0, []int16{30000, -30000, -200, 200})
	m.Put("c", 0, []int16{-10000, 10000, 0, 0})
	out := make([]int16, 4)
	m.Mix(0, 2, out)
	// The sum saturates once, after all sources are added.
	if want := "[32767 -32768 -100 100]"; fmt.Sprint(out) != want {
		t.Errorf("mix %v, want %s", out, want)
	}
}

func TestMixerDropsLate(t *testing.T) {
	m := NewMixer()
	m.Put("a", 0, stereo(10, 1))
	mixLeft(m, 0, 5)
	m.Put("a", 3, stereo(4, 7)) // 3, 4 are late; 5, 6 replace
	if d := m.Dropped(); d != 2 {
		t.Errorf("dropped %d, want 2", d)
	}
	if got := fmt.Sprint(mixLeft(m, 5, 6)); got != "[7 7 1 1 1 0]" {
		t.Errorf("mix %s", got)
	}
	m.Put("b", 0, stereo(4, 1)) // a new source is late too
	if d := m.Dropped(); d != 6 {
		t.Errorf("dropped %d, want 6", d)
	}
}

func TestMixerBoundsAhead(t *testing.T) {
	m := NewMixer()
	m.Put("a", 0, stereo(MaxAhead-10, 1))
	m.Put("a", MaxAhead-10, stereo(30, 2)) // 20 beyond the bound
	if d := m.Dropped(); d != 20 {
		t.Errorf("dropped %d, want 20", d)
	}
	out := mixLeft(m, 0, MaxAhead)
	if out[0] != 1 || out[MaxAhead-11] != 1 || out[MaxAhead-10] != 2 || out[MaxAhead-1] != 2 {
		t.Errorf("edges %d %d %d %d", out[0], out[MaxAhead-11], out[MaxAhead-10], out[MaxAhead-1])
	}
	// Once mixed, the ring makes room again and wraps.
	m.Put("a", MaxAhead, stereo(MaxAhead, 3))
	if d := m.Dropped(); d != 20 {
		t.Errorf("dropped %d after making room, want 20", d)
	}
	if got := mixLeft(m, MaxAhead, MaxAhead); got[0] != 3 || got[MaxAhead-1] != 3 {
		t.Errorf("wrapped mix %d..%d", got[0], got[MaxAhead-1])
	}
}

func TestMixerEarlierPutAndGrowth(t *testing.T) {
	m := NewMixer()
	m.Put("a", 100000, stereo(5, 4)) // far from zero, before any Mix
	m.Put("a", 99990, stereo(3, 6))  // earlier: the ring extends backwards
	got := mixLeft(m, 99990, 20)
	want := "[6 6 6 0 0 0 0 0 0 0 4 4 4 4 4 0 0 0 0 0]"
	if fmt.Sprint(got) != want {
		t.Errorf("mix %v, want %s", got, want)
	}
	// Growth keeps what is held across the wrap.
	m = NewMixer()
	for i := range 30 {
		m.Put("a", int64(i*1000), stereo(1000, int16(i+1)))
		if i%4 == 3 {
			got := mixLeft(m, int64((i-3)*1000), 2000)
			if got[0] != int16(i-2) || got[1999] != int16(i-1) {
				t.Fatalf("step %d: %d..%d", i, got[0], got[1999])
			}
			m.Put("a", int64((i-3)*1000), stereo(1, 0)) // late
		}
	}
}

func TestMixerRemove(t *testing.T) {
	m := NewMixer()
	m.Put("a", 0, stereo(4, 5))
	m.Put("b", 0, stereo(4, 7))
	m.Remove("a")
	m.Remove("nobody")
	if got := fmt.Sprint(mixLeft(m, 0, 4)); got != "[7 7 7 7]" {
		t.Errorf("mix %s", got)
	}
	m.Put("a", 4, stereo(2, 1)) // back again: a new source
	if got := fmt.Sprint(mixLeft(m, 4, 3)); got != "[1 1 0]" {
		t.Errorf("mix %s", got)
	}
}

func BenchmarkMix(b *testing.B) {
	m := NewMixer()
	pcm := stereo(960, 100) // 20 ms
	out := make([]int16, 2*960)
	var at int64
	reportCPU(b, func() {
		for s := range 8 {
			m.Put(fmt.Sprint("s", s), at, pcm)
		}
		m.Mix(at, 960, out)
		at += 960
	})
}

// Decoders Put while the engine Mixes.
func TestMixerConcurrentPutAndMix(t *testing.T) {
	m := NewMixer()
	done := make(chan struct{})
	for s := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				m.Put(fmt.Sprint("s", s), int64(i*480), stereo(480, 1))
			}
		}()
	}
	out := make([]int16, 2*480)
	for i := range 100 {
		m.Mix(int64(i*480), 480, out)
	}
	for range 4 {
		<-done
	}
	m.Mix(100*480, 480, out)
	if m.Dropped() < 0 {
		t.Error("negative drops")
	}
}
