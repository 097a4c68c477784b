package composite

import "fmt"

// Picture is a planar I420 (yuv420p) picture; strides equal widths
// (Y: W, U/V: (W+1)/2) and the chroma planes have (H+1)/2 rows.
type Picture struct {
	W, H    int
	Y, U, V []byte

	buf []byte // Y, U and V back to back, when the planes live in one buffer
}

// NewPicture returns a black w×h picture, its planes in one buffer.
func NewPicture(w, h int) *Picture {
	p, _ := WrapI420(w, h, make([]byte, I420Size(w, h)))
	p.Fill(RGB{})
	return p
}

// I420Size is the size of a w×h I420 frame: Y, then U, then V.
func I420Size(w, h int) int {
	cw, ch := chromaSize(w, h)
	return w*h + 2*cw*ch
}

// WrapI420 makes a picture of a raw I420 frame (as FFmpeg's rawvideo
// yuv420p writes it) without copying: the picture's planes are b.
func WrapI420(w, h int, b []byte) (*Picture, error) {
	if w <= 0 || h <= 0 || len(b) != I420Size(w, h) {
		return nil, fmt.Errorf("composite: %d bytes is no %dx%d I420 frame (%d bytes)", len(b), w, h, I420Size(w, h))
	}
	cw, ch := chromaSize(w, h)
	y, c := w*h, cw*ch
	return &Picture{W: w, H: h, Y: b[:y:y], U: b[y : y+c : y+c], V: b[y+c:], buf: b}, nil
}

// Bytes returns the picture as one raw I420 frame, as FFmpeg's rawvideo
// yuv420p reads it. For a picture from NewPicture or WrapI420 that is its
// own buffer, no copy.
func (p *Picture) Bytes() []byte {
	y := len(p.Y)
	if len(p.buf) == I420Size(p.W, p.H) && len(p.Y) > 0 && &p.buf[0] == &p.Y[0] &&
		&p.buf[y] == &p.U[0] && &p.buf[y+len(p.U)] == &p.V[0] {
		return p.buf
	}
	return append(append(append(make([]byte, 0, I420Size(p.W, p.H)), p.Y...), p.U...), p.V...)
}

// chromaSize is the size of the U and V planes of a w×h picture.
func chromaSize(w, h int) (int, int) { return (w + 1) / 2, (h + 1) / 2 }

// Fill paints the whole picture one colour.
func (p *Picture) Fill(c RGB) {
	y, u, v := c.yuv()
	fill(p.Y, y)
	fill(p.U, u)
	fill(p.V, v)
}

// At returns the colour of the pixel at (x, y).
func (p *Picture) At(x, y int) RGB {
	cw, _ := chromaSize(p.W, p.H)
	i := (y/2)*cw + x/2
	return rgbFromYUV(p.Y[y*p.W+x], p.U[i], p.V[i])
}

// fill sets every byte of b to v, doubling copies so that it runs at memmove speed.
func fill(b []byte, v byte) {
	if len(b) == 0 {
		return
	}
	b[0] = v
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}
