package composite

import "sync"

// SampleRate is the mixer's rate: 48 kHz, stereo, s16le.
const SampleRate = 48000

// MaxAhead bounds what a source may hold: samples more than this far
// beyond its oldest unmixed sample are dropped (and counted).
const MaxAhead = 10 * SampleRate

// Mixer mixes participants' 48 kHz stereo s16le PCM, placed by sample
// index on the timeline. Decoders Put while the engine Mixes, so it is
// safe for concurrent use.
type Mixer struct {
	mu      sync.Mutex
	sources map[string]*ring
	done    int64 // samples before this were mixed out (or skipped)
	dropped int64
	acc     []int32 // the sum before saturation, reused
}

// NewMixer returns an empty mixer at the start of the timeline.
func NewMixer() *Mixer {
	return &Mixer{sources: map[string]*ring{}}
}

// Dropped counts the stereo samples Put threw away: late (already mixed
// out) or too far ahead (beyond MaxAhead).
func (m *Mixer) Dropped() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dropped
}

// Put places interleaved stereo pcm at firstSample on the timeline.
// Samples whose time was already mixed out are dropped, as are samples
// beyond what the source may hold. A source's own samples that overlap
// replace the earlier ones; gaps between Puts are silence.
func (m *Mixer) Put(source string, firstSample int64, pcm []int16) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := int64(len(pcm) / 2)
	lo, hi := firstSample, firstSample+n
	if lo < m.done { // late
		m.dropped += min(n, m.done-lo)
		lo = m.done
	}
	if lo >= hi {
		return
	}
	r := m.sources[source]
	if r == nil {
		r = &ring{base: lo, end: lo}
		m.sources[source] = r
	}
	m.dropped += r.put(lo, pcm[2*(lo-firstSample):2*n])
}

// Mix writes n stereo samples starting at sample index from into out
// (len 2n): the saturating sum of every source, silence where nobody has
// data. Everything before from+n is then freed, and later Puts for that
// time are dropped.
func (m *Mixer) Mix(from int64, n int, out []int16) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out = out[:2*n]
	if cap(m.acc) < 2*n {
		m.acc = make([]int32, 2*n)
	}
	acc := m.acc[:2*n]
	clear(acc)
	to := from + int64(n)
	for _, r := range m.sources {
		r.addTo(acc, from, to)
	}
	for i, v := range acc {
		out[i] = int16(max(-32768, min(32767, v)))
	}
	m.done = max(m.done, to)
	for _, r := range m.sources {
		r.free(m.done)
	}
}

// Remove forgets a source and whatever it had not yet had mixed.
func (m *Mixer) Remove(source string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sources, source)
}

// ring holds one source's samples [base, end) of the timeline; sample i
// lives at slot i mod the ring's size (in stereo samples). It grows on
// demand up to MaxAhead.
type ring struct {
	buf       []int16 // interleaved stereo
	base, end int64
}

func (r *ring) size() int64 { return int64(len(r.buf) / 2) }

// put stores pcm (interleaved) from sample lo on and returns how many
// stereo samples it had to drop for lying beyond MaxAhead.
func (r *ring) put(lo int64, pcm []int16) (dropped int64) {
	hi := lo + int64(len(pcm)/2)
	if r.base >= r.end { // empty: start where the data starts
		r.base, r.end = lo, lo
	}
	base := min(r.base, lo)
	limit := base + MaxAhead
	if hi > limit {
		dropped += hi - limit
		pcm = pcm[:2*max(0, limit-lo)]
		hi = max(lo, limit)
	}
	if r.end > limit { // an earlier start pushes the tail of what was held out
		dropped += r.end - limit
		r.end = limit
	}
	if lo >= hi {
		return dropped
	}
	end := max(r.end, hi)
	r.grow(end - base)
	// What lies between the held data and the new data is silence.
	if base < r.base {
		r.zero(base, r.base)
		r.base = base
	}
	if lo > r.end {
		r.zero(r.end, lo)
	}
	r.write(lo, pcm)
	r.end = end
	return dropped
}

// grow makes room for n stereo samples, keeping what is held.
func (r *ring) grow(n int64) {
	if n <= r.size() {
		return
	}
	size := max(r.size()*2, 4800) // from 100 ms, doubling
	for size < n {
		size *= 2
	}
	size = min(size, MaxAhead)
	old := *r
	r.buf = make([]int16, 2*size)
	if old.end > old.base {
		held := make([]int16, 2*(old.end-old.base))
		old.read(old.base, held)
		r.write(old.base, held)
	}
}

// write copies pcm into the slots from sample at on, wrapping.
func (r *ring) write(at int64, pcm []int16) {
	for len(pcm) > 0 {
		i := 2 * (at % r.size())
		c := copy(r.buf[i:], pcm)
		pcm = pcm[c:]
		at += int64(c / 2)
	}
}

// read copies from the slots from sample at on into out, wrapping.
func (r *ring) read(at int64, out []int16) {
	for len(out) > 0 {
		i := 2 * (at % r.size())
		c := copy(out, r.buf[i:])
		out = out[c:]
		at += int64(c / 2)
	}
}

// zero silences samples [from, to).
func (r *ring) zero(from, to int64) {
	for from < to {
		i := 2 * (from % r.size())
		c := min(int64(len(r.buf))-i, 2*(to-from))
		clear(r.buf[i : i+c])
		from += c / 2
	}
}

// addTo adds the held samples within [from, to) into acc, which starts at from.
func (r *ring) addTo(acc []int32, from, to int64) {
	lo, hi := max(from, r.base), min(to, r.end)
	for lo < hi {
		i := 2 * (lo % r.size())
		c := min(int64(len(r.buf))-i, 2*(hi-lo))
		dst := acc[2*(lo-from) : 2*(lo-from)+c]
		for k, v := range r.buf[i : i+c] {
			dst[k] += int32(v)
		}
		lo += c / 2
	}
}

// free lets go of samples before done.
func (r *ring) free(done int64) {
	r.base = max(r.base, done)
	if r.base >= r.end {
		r.base, r.end = done, done
	}
}
