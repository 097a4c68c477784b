package composite

import "encoding/binary"

// Bilinear scaling of one plane with precomputed tables. Weights are 8-bit
// fixed point. Each destination row first blends its two source rows into
// a scratch row (eight samples at a time in a uint64), then samples that
// row horizontally.

// scaleKey identifies the tables for one source size and one destination size.
type scaleKey struct{ sw, sh, dw, dh int }

// scaler holds the taps of every destination column and row: the first of
// the two source samples and the weight (0..256) of the second, packed as
// first<<9 | weight.
type scaler struct {
	key    scaleKey
	cols   []uint32
	rows   []uint32
	sameW  bool // no horizontal scaling: the blended row is the output
	tmpLen int
}

const (
	tapShift = 9
	tapMask  = 1<<tapShift - 1
)

func newScaler(k scaleKey) *scaler {
	return &scaler{
		key:   k,
		cols:  taps(k.sw, k.dw),
		rows:  taps(k.sh, k.dh),
		sameW: k.sw == k.dw,
		// Room for the right edge's second tap and for whole uint64 words.
		tmpLen: k.sw + 8,
	}
}

// taps maps destination sample centres onto the source (pixel centres
// aligned, edges clamped).
func taps(src, dst int) []uint32 {
	t := make([]uint32, dst)
	ratio := float64(src) / float64(dst)
	for i := range t {
		f := (float64(i)+0.5)*ratio - 0.5
		if f < 0 {
			f = 0
		}
		i0 := int(f)
		w := int((f-float64(i0))*256 + 0.5)
		if i0 >= src-1 {
			i0, w = src-1, 0
		}
		t[i] = uint32(i0)<<tapShift | uint32(w)
	}
	return t
}

// plane is a view of one image plane.
type plane struct {
	pix    []byte
	stride int
}

// scaleInto paints the whole of src (key.sw×sh) into dst at (dx, dy),
// key.dw×dh large. tmp is scratch, returned for reuse.
func (s *scaler) scaleInto(dst plane, dx, dy int, src plane, tmp []byte) []byte {
	sw, sh, dw := s.key.sw, s.key.sh, s.key.dw
	if cap(tmp) < s.tmpLen {
		tmp = make([]byte, s.tmpLen)
	}
	tmp = tmp[:s.tmpLen]
	for j, r := range s.rows {
		y0 := int(r >> tapShift)
		fy := uint64(r & tapMask)
		r0 := src.pix[y0*src.stride : y0*src.stride+sw]
		out := dst.pix[(dy+j)*dst.stride+dx : (dy+j)*dst.stride+dx+dw]
		row := r0
		if fy != 0 && y0+1 < sh {
			blendRows(tmp[:sw], r0, src.pix[(y0+1)*src.stride:(y0+1)*src.stride+sw], fy)
			row = tmp[:sw]
		}
		if s.sameW {
			copy(out, row)
			continue
		}
		if &row[0] != &tmp[0] {
			copy(tmp, row)
		}
		tmp[sw] = tmp[sw-1] // the right edge's second tap
		sampleRow(out, tmp, s.cols)
	}
	return tmp
}

const evenBytes = 0x00ff00ff00ff00ff

// blendRows sets t = a + (b-a)*f/256 for f in 1..256, eight samples per
// step: the even and odd bytes of a word sit in 16-bit lanes, where the
// weighted sum (at most 255*256) cannot carry into the next lane.
func blendRows(t, a, b []byte, f uint64) {
	g := 256 - f
	n := len(t) &^ 7
	for i := 0; i < n; i += 8 {
		va := binary.LittleEndian.Uint64(a[i:])
		vb := binary.LittleEndian.Uint64(b[i:])
		even := ((va&evenBytes)*g + (vb&evenBytes)*f + 0x0080008000800080) >> 8
		odd := ((va>>8&evenBytes)*g + (vb>>8&evenBytes)*f + 0x0080008000800080) & ^uint64(evenBytes)
		binary.LittleEndian.PutUint64(t[i:], even&evenBytes|odd)
	}
	for i := n; i < len(t); i++ {
		t[i] = byte((uint64(a[i])*g + uint64(b[i])*f + 128) >> 8)
	}
}

// sampleRow fills out from row through the column taps; row has one
// sample beyond the last tap's first. Kept out of line: inlined into
// scaleInto, its loop variables spill to the stack and it runs at half
// the speed.
//
//go:noinline
func sampleRow(out, row []byte, cols []uint32) {
	out = out[:len(cols)]
	for i, c := range cols {
		x := int(c >> tapShift)
		if x+1 >= len(row) { // never (taps stay within the row); it lets the compiler drop the bounds checks
			break
		}
		a := int32(row[x])
		b := int32(row[x+1])
		out[i] = byte((a<<8 + (b-a)*int32(c&tapMask) + 128) >> 8)
	}
}
