package tracks

// bitReader reads big-endian bit fields from codec headers. Reading past
// the end yields zeros and sets failed, so parsers check once at the end.
type bitReader struct {
	b      []byte
	pos    int // in bits
	failed bool
}

func (r *bitReader) bits(n int) uint64 {
	var v uint64
	for range n {
		if r.pos >= len(r.b)*8 {
			r.failed = true
			return 0
		}
		bit := r.b[r.pos/8] >> (7 - r.pos%8) & 1
		v = v<<1 | uint64(bit)
		r.pos++
	}
	return v
}

// ue reads an Exp-Golomb coded unsigned integer (H.264 §9.1).
func (r *bitReader) ue() uint64 {
	zeros := 0
	for r.bits(1) == 0 {
		if r.failed || zeros > 31 {
			r.failed = true
			return 0
		}
		zeros++
	}
	return 1<<zeros - 1 + r.bits(zeros)
}

// se reads an Exp-Golomb coded signed integer.
func (r *bitReader) se() int64 {
	k := r.ue()
	if k&1 == 1 {
		return int64(k+1) / 2
	}
	return -int64(k / 2)
}
