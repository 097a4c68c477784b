package composite

import (
	"image"
	"image/color"
	"image/png"
	"io"
)

// PNG writes the picture as an RGB PNG: a debugging aid for looking at a composite.
func (p *Picture) PNG(w io.Writer) error {
	img := image.NewRGBA(image.Rect(0, 0, p.W, p.H))
	for y := 0; y < p.H; y++ {
		for x := 0; x < p.W; x++ {
			c := p.At(x, y)
			img.SetRGBA(x, y, color.RGBA{c.R, c.G, c.B, 255})
		}
	}
	return png.Encode(w, img)
}
