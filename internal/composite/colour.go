package composite

import "fmt"

// RGB is an 8-bit sRGB colour.
type RGB struct{ R, G, B uint8 }

// hex parses "#rrggbb"; it panics on a malformed constant, which is a bug.
func hex(s string) RGB {
	var c RGB
	if _, err := fmt.Sscanf(s, "#%02x%02x%02x", &c.R, &c.G, &c.B); err != nil {
		panic("composite: bad colour " + s)
	}
	return c
}

// yuv converts to BT.601 limited range.
func (c RGB) yuv() (y, u, v uint8) {
	r, g, b := float64(c.R), float64(c.G), float64(c.B)
	fy := 16 + (65.481*r+128.553*g+24.966*b)/255
	fu := 128 + (-37.797*r-74.203*g+112.0*b)/255
	fv := 128 + (112.0*r-93.786*g-18.214*b)/255
	return clampByte(fy), clampByte(fu), clampByte(fv)
}

// rgbFromYUV is the inverse of yuv.
func rgbFromYUV(y, u, v uint8) RGB {
	fy := (float64(y) - 16) * 255 / 219
	fu := (float64(u) - 128) * 255 / 224
	fv := (float64(v) - 128) * 255 / 224
	r := fy + 1.402*fv
	g := fy - 0.344136*fu - 0.714136*fv
	b := fy + 1.772*fu
	return RGB{clampByte(r), clampByte(g), clampByte(b)}
}

func clampByte(f float64) uint8 {
	f += 0.5
	if f < 0 {
		return 0
	}
	if f > 255 {
		return 255
	}
	return uint8(f)
}
