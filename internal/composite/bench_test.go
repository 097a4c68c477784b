package composite

import (
	"fmt"
	"testing"
)

// BenchmarkCompose measures one composite frame: background, every tile's
// video scaled in, and the name labels.
func BenchmarkCompose(b *testing.B) {
	cases := []struct {
		w, h, n    int
		srcW, srcH int
	}{
		{1280, 720, 4, 640, 360},
		{1280, 720, 9, 640, 360},
		{1280, 720, 1, 1280, 720},
		{1920, 1080, 4, 640, 360},
		{1920, 1080, 9, 640, 360},
		{1920, 1080, 4, 1280, 720},
	}
	for _, c := range cases {
		b.Run(fmt.Sprintf("%dx%d/%d_tiles_of_%dx%d", c.w, c.h, c.n, c.srcW, c.srcH), func(b *testing.B) {
			tiles := Arrange(c.w, c.h, people(c.n), "")
			cams := map[string]*Picture{}
			for i, t := range tiles {
				src := NewPicture(c.srcW, c.srcH)
				for j := range src.Y {
					src.Y[j] = byte(j*7 + i)
				}
				cams[t.ID] = src
			}
			p := NewPainter()
			dst := NewPicture(c.w, c.h)
			compose(p, dst, tiles, cams, nil) // warm the caches
			reportCPU(b, func() { compose(p, dst, tiles, cams, nil) })
		})
	}
}

// BenchmarkNameTiles: a grid of people without video.
func BenchmarkNameTiles(b *testing.B) {
	ps := people(9)
	for i := range ps {
		ps[i].HasVideo = false
	}
	tiles := Arrange(1280, 720, ps, "")
	p := NewPainter()
	dst := NewPicture(1280, 720)
	compose(p, dst, tiles, nil, nil)
	reportCPU(b, func() { compose(p, dst, tiles, nil, nil) })
}
