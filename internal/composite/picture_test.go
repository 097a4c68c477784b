package composite

import (
	"bytes"
	"image/png"
	"testing"
)

func TestPictureBytesAndWrap(t *testing.T) {
	p := NewPicture(5, 3) // odd: chroma 3×2
	if len(p.Y) != 15 || len(p.U) != 6 || len(p.V) != 6 || I420Size(5, 3) != 27 {
		t.Fatalf("planes %d %d %d", len(p.Y), len(p.U), len(p.V))
	}
	p.Fill(RGB{200, 100, 50})
	b := p.Bytes()
	if &b[0] != &p.Y[0] || len(b) != 27 {
		t.Error("Bytes copied a contiguous picture")
	}
	w, err := WrapI420(5, 3, b)
	if err != nil || w.At(4, 2) != p.At(4, 2) {
		t.Fatalf("wrap: %v", err)
	}
	if _, err := WrapI420(5, 3, b[:26]); err == nil {
		t.Error("a short frame wrapped")
	}
	// Planes set by hand are assembled.
	q := &Picture{W: 5, H: 3, Y: bytes.Clone(p.Y), U: bytes.Clone(p.U), V: bytes.Clone(p.V)}
	if !bytes.Equal(q.Bytes(), b) {
		t.Error("assembled bytes differ")
	}
}

func TestColourRoundTripAndPNG(t *testing.T) {
	for _, c := range []RGB{{0, 0, 0}, {255, 255, 255}, {17, 17, 17}, red, green, blue} {
		p := NewPicture(2, 2)
		p.Fill(c)
		if got := p.At(1, 1); !near(got, c, 2) {
			t.Errorf("%v came back %v", c, got)
		}
	}
	p := NewPicture(3, 3)
	p.Fill(yellow)
	var buf bytes.Buffer
	if err := p.PNG(&buf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	r, g, bl, _ := img.At(2, 2).RGBA()
	if !near(RGB{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)}, yellow, 2) {
		t.Errorf("png pixel %d %d %d", r>>8, g>>8, bl>>8)
	}
}
