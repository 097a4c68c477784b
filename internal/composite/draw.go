package composite

import (
	"image"
	"math"
)

// Drawing primitives on I420 pictures. Rectangles are in luma pixels and
// are clipped to the picture; a chroma sample belongs to a rectangle when
// any of its 2×2 luma pixels does.

// yuvColour is a colour converted once for painting.
type yuvColour struct{ y, u, v uint8 }

func toYUV(c RGB) yuvColour {
	y, u, v := c.yuv()
	return yuvColour{y, u, v}
}

// clip intersects r with the picture.
func (p *Picture) clip(r image.Rectangle) image.Rectangle {
	return r.Intersect(image.Rect(0, 0, p.W, p.H))
}

// chromaRect is the chroma area of a luma rectangle.
func chromaRect(r image.Rectangle) image.Rectangle {
	return image.Rect(r.Min.X/2, r.Min.Y/2, (r.Max.X+1)/2, (r.Max.Y+1)/2)
}

// fillRect paints r one colour.
func fillRect(dst *Picture, r image.Rectangle, c yuvColour) {
	r = dst.clip(r)
	if r.Empty() {
		return
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		fill(dst.Y[y*dst.W+r.Min.X:y*dst.W+r.Max.X], c.y)
	}
	cw, _ := chromaSize(dst.W, dst.H)
	cr := chromaRect(r)
	for y := cr.Min.Y; y < cr.Max.Y; y++ {
		fill(dst.U[y*cw+cr.Min.X:y*cw+cr.Max.X], c.u)
		fill(dst.V[y*cw+cr.Min.X:y*cw+cr.Max.X], c.v)
	}
}

// blendRect lays colour c over r with opacity alpha (0..256).
func blendRect(dst *Picture, r image.Rectangle, c yuvColour, alpha int) {
	r = dst.clip(r)
	if r.Empty() {
		return
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		blendRow(dst.Y[y*dst.W+r.Min.X:y*dst.W+r.Max.X], c.y, alpha)
	}
	cw, _ := chromaSize(dst.W, dst.H)
	cr := chromaRect(r)
	for y := cr.Min.Y; y < cr.Max.Y; y++ {
		blendRow(dst.U[y*cw+cr.Min.X:y*cw+cr.Max.X], c.u, alpha)
		blendRow(dst.V[y*cw+cr.Min.X:y*cw+cr.Max.X], c.v, alpha)
	}
}

func blendRow(row []byte, c uint8, alpha int) {
	for i, b := range row {
		row[i] = mix(b, c, alpha)
	}
}

// mix moves b towards c by alpha/256.
func mix(b, c uint8, alpha int) uint8 {
	return uint8((int(b)*(256-alpha) + int(c)*alpha + 128) >> 8)
}

// drawMask paints colour c through an alpha mask whose top-left corner
// goes at (x, y), clipped to clip. Chroma takes the mean coverage of its
// 2×2 luma pixels.
func drawMask(dst *Picture, m *image.Alpha, x, y int, c yuvColour, clip image.Rectangle) {
	b := m.Bounds()
	r := dst.clip(clip.Intersect(image.Rect(x, y, x+b.Dx(), y+b.Dy())))
	if r.Empty() {
		return
	}
	cover := func(px, py int) int { // 0..255, zero outside r
		if px < r.Min.X || px >= r.Max.X || py < r.Min.Y || py >= r.Max.Y {
			return 0
		}
		return int(m.Pix[(py-y)*m.Stride+(px-x)])
	}
	for py := r.Min.Y; py < r.Max.Y; py++ {
		row := dst.Y[py*dst.W : (py+1)*dst.W]
		mrow := m.Pix[(py-y)*m.Stride:]
		for px := r.Min.X; px < r.Max.X; px++ {
			if a := int(mrow[px-x]); a != 0 {
				row[px] = mix(row[px], c.y, a+a>>7) // 255 -> 256
			}
		}
	}
	cw, _ := chromaSize(dst.W, dst.H)
	cr := chromaRect(r)
	for cy := cr.Min.Y; cy < cr.Max.Y; cy++ {
		for cx := cr.Min.X; cx < cr.Max.X; cx++ {
			a := cover(2*cx, 2*cy) + cover(2*cx+1, 2*cy) + cover(2*cx, 2*cy+1) + cover(2*cx+1, 2*cy+1)
			if a == 0 {
				continue
			}
			a = a * 256 / (4 * 255)
			i := cy*cw + cx
			dst.U[i] = mix(dst.U[i], c.u, a)
			dst.V[i] = mix(dst.V[i], c.v, a)
		}
	}
}

// fillCircle paints an antialiased disc, clipped to clip. Each row fills
// its inner span at once and works out coverage only near the edge.
func fillCircle(dst *Picture, cx, cy, radius float64, c yuvColour, clip image.Rectangle) {
	bound := image.Rect(int(cx-radius-1), int(cy-radius-1), int(cx+radius+2), int(cy+radius+2))
	r := dst.clip(clip.Intersect(bound))
	if r.Empty() {
		return
	}
	circleRows(dst.Y, dst.W, r, cx, cy, radius, c.y)
	cw, _ := chromaSize(dst.W, dst.H)
	cr := chromaRect(r)
	// In chroma samples the disc is half as large.
	circleRows(dst.U, cw, cr, cx/2, cy/2, radius/2, c.u)
	circleRows(dst.V, cw, cr, cx/2, cy/2, radius/2, c.v)
}

func circleRows(pix []byte, stride int, r image.Rectangle, cx, cy, radius float64, c uint8) {
	inner := math.Max(0, radius-0.5)
	outer := radius + 0.5
	for y := r.Min.Y; y < r.Max.Y; y++ {
		dy := float64(y) + 0.5 - cy
		if math.Abs(dy) >= outer {
			continue
		}
		ho := math.Sqrt(outer*outer - dy*dy)
		hi := 0.0
		if math.Abs(dy) < inner {
			hi = math.Sqrt(inner*inner - dy*dy)
		}
		row := pix[y*stride : (y+1)*stride]
		// Pixels whose centre lies within hi of cx are fully covered.
		fullFrom := max(r.Min.X, int(math.Ceil(cx-hi-0.5)))
		fullTo := min(r.Max.X, int(math.Floor(cx+hi-0.5))+1)
		if hi > 0 && fullFrom < fullTo {
			fill(row[fullFrom:fullTo], c)
		} else {
			fullFrom, fullTo = r.Max.X, r.Max.X
		}
		edge := func(from, to int) {
			for x := max(from, r.Min.X); x < min(to, r.Max.X); x++ {
				dx := float64(x) + 0.5 - cx
				a := radius - math.Sqrt(dx*dx+dy*dy) + 0.5
				if a <= 0 {
					continue
				}
				row[x] = mix(row[x], c, int(math.Min(a, 1)*256))
			}
		}
		left := int(math.Floor(cx - ho - 0.5))
		right := int(math.Ceil(cx+ho-0.5)) + 1
		if fullFrom >= fullTo {
			edge(left, right)
			continue
		}
		edge(left, fullFrom)
		edge(fullTo, right)
	}
}
