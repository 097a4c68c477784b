package composite

import (
	"image"
	"os"
	"path/filepath"
	"testing"
)

// solid returns a w×h picture of one colour.
func solid(w, h int, c RGB) *Picture {
	p := NewPicture(w, h)
	p.Fill(c)
	return p
}

// near reports whether two colours differ by at most tol per channel
// (I420 rounding and chroma subsampling move a colour a little).
func near(a, b RGB, tol int) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) <= tol && int(y)-int(x) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}

func centre(t Tile) (int, int) { return t.X + t.W/2, t.Y + t.H/2 }

// compose paints a layout as the engine will: background, then each tile
// from the pictures by ID (a Screen tile from screens).
func compose(p *Painter, dst *Picture, tiles []Tile, cams, screens map[string]*Picture) {
	p.Clear(dst)
	for _, t := range tiles {
		src := cams[t.ID]
		if t.Screen {
			src = screens[t.ID]
		}
		if t.Video && src != nil {
			p.DrawVideo(dst, t, src)
		} else {
			p.DrawNameTile(dst, t)
		}
	}
}

// writePNG writes the composite for a human to look at: into
// $COMPOSITE_PNG_DIR when set, else into the test's temporary directory.
func writePNG(t *testing.T, pic *Picture, name string) {
	t.Helper()
	dir := os.Getenv("COMPOSITE_PNG_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pic.PNG(f); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// countLight counts pixels within r brighter than the name colour's luma
// allows for a background: text.
func countLight(pic *Picture, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := pic.At(x, y); c.R > 180 && c.G > 180 && c.B > 180 {
				n++
			}
		}
	}
	return n
}

var (
	red    = RGB{220, 40, 40}
	green  = RGB{40, 200, 60}
	blue   = RGB{40, 60, 220}
	yellow = RGB{230, 210, 40}
)

func TestPaintFourPeople(t *testing.T) {
	ps := people(4)
	ps[3].HasVideo = false
	ps[3].Name = "Dora Explorer"
	tiles := Arrange(1280, 720, ps, "")
	cams := map[string]*Picture{
		"p0": solid(640, 360, red),
		"p1": solid(320, 240, green), // 4:3: pillarboxed
		"p2": solid(1280, 720, blue),
	}
	p := NewPainter()
	dst := NewPicture(1280, 720)
	compose(p, dst, tiles, cams, nil)
	writePNG(t, dst, "four.png")

	for i, want := range []RGB{red, green, blue} {
		x, y := centre(tiles[i])
		if got := dst.At(x, y); !near(got, want, 6) {
			t.Errorf("tile %d centre %v, want %v", i, got, want)
		}
	}
	// Between tiles: the canvas background.
	if got := dst.At(640, 100); !near(got, background, 3) {
		t.Errorf("gap %v, want background %v", got, background)
	}
	// The green 4:3 source is pillarboxed on the tile background.
	if got := dst.At(tiles[1].X+10, tiles[1].Y+100); !near(got, tileBack, 3) {
		t.Errorf("pillarbox %v, want tile background %v", got, tileBack)
	}
	// A label: white text on a darkened box at the bottom left.
	lab := image.Rect(tiles[0].X+2, tiles[0].Y+tiles[0].H-50, tiles[0].X+200, tiles[0].Y+tiles[0].H-2)
	if n := countLight(dst, lab); n < 20 {
		t.Errorf("label of p0: %d light pixels", n)
	}
	if got := dst.At(tiles[0].X+2+12, tiles[0].Y+tiles[0].H-2-12); got.R > 120 {
		t.Errorf("label box %v: not darkened", got)
	}
	// The name tile: its background in the corners, the circle in the
	// person's colour, light text (initials and name) inside.
	nt := tiles[3]
	if got := dst.At(nt.X+10, nt.Y+10); !near(got, tileBack, 3) {
		t.Errorf("name tile corner %v, want %v", got, tileBack)
	}
	circle := hex(palette[colourIndex("p3")])
	radius := 0.2 * float64(nt.H-2*gap)
	cx, cy := nt.X+nt.W/2, nt.Y+nt.H/2-int(radius*0.25)
	if got := dst.At(cx-int(radius*0.8), cy); !near(got, circle, 6) {
		t.Errorf("circle %v, want %v", got, circle)
	}
	if n := countLight(dst, image.Rect(cx-int(radius), cy-int(radius), cx+int(radius), cy+int(radius))); n < 50 {
		t.Errorf("initials: %d light pixels", n)
	}
	if n := countLight(dst, image.Rect(nt.X, cy+int(radius), nt.X+nt.W, nt.Y+nt.H)); n < 50 {
		t.Errorf("name: %d light pixels", n)
	}
}

func TestPaintScreenShare(t *testing.T) {
	ps := withShare(people(3), "p1")
	tiles := Arrange(1280, 720, ps, "")
	cams := map[string]*Picture{"p0": solid(640, 360, red), "p2": solid(640, 480, green)}
	screens := map[string]*Picture{"p1": solid(1920, 1080, yellow)}
	p := NewPainter()
	dst := NewPicture(1280, 720)
	compose(p, dst, tiles, cams, screens)
	writePNG(t, dst, "share.png")

	stage := tiles[0]
	if x, y := centre(stage); !near(dst.At(x, y), yellow, 6) {
		t.Errorf("stage centre %v, want yellow", dst.At(x, y))
	}
	// The stage is wider than 16:9: the share is pillarboxed.
	if got := dst.At(stage.X+20, stage.Y+stage.H/2); !near(got, tileBack, 3) {
		t.Errorf("stage side %v, want tile background", got)
	}
	want := map[string]RGB{"p0": red, "p2": green}
	for _, tl := range tiles[1:] {
		x, y := tl.X+tl.W/2, tl.Y+tl.H/3 // above the label
		got := dst.At(x, y)
		if c, ok := want[tl.ID]; ok {
			if !near(got, c, 6) {
				t.Errorf("strip %s: %v, want %v", tl.ID, got, c)
			}
			continue
		}
		// The sharer's strip tile is a name tile: background at the corner.
		if got := dst.At(tl.X+4, tl.Y+4); !near(got, tileBack, 3) {
			t.Errorf("sharer's strip tile corner %v", got)
		}
	}
}

func TestPaintWaiting(t *testing.T) {
	p := NewPainter()
	dst := NewPicture(1280, 720)
	p.Clear(dst)
	p.DrawWaiting(dst)
	if n := countLight(dst, image.Rect(0, 0, 1280, 720)); n != 0 {
		t.Errorf("waiting text is grey, found %d light pixels", n)
	}
	grey := 0
	for x := 400; x < 880; x++ {
		if c := dst.At(x, 360); c.R > 60 {
			grey++
		}
	}
	if grey == 0 {
		t.Error("no waiting text on the middle row")
	}
}

func TestFitAndInitials(t *testing.T) {
	tc := newTextCache()
	long := "Bartholomew Fitzgerald-Montgomery the Third"
	s := tc.fit(long, 14, 100)
	if tc.width(s, 14, false) > 100 || s[len(s)-len("…"):] != "…" {
		t.Errorf("fit %q (%d px)", s, tc.width(s, 14, false))
	}
	if tc.fit("Ann", 14, 100) != "Ann" {
		t.Error("a short name changed")
	}
	for in, want := range map[string]string{"": "?", "  ": "?", "ann": "AN", "Ann Lee": "AL", "émile zola x": "ÉZ", "A": "A"} {
		if got := initials(in); got != want {
			t.Errorf("initials(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScaleIdentityAndEdges(t *testing.T) {
	src := NewPicture(5, 3)
	for i := range src.Y {
		src.Y[i] = byte(i * 10)
	}
	dst := NewPicture(5, 3)
	s := newScaler(scaleKey{5, 3, 5, 3})
	sy, _, _ := src.planes()
	dy, _, _ := dst.planes()
	s.scaleInto(dy, 0, 0, sy, nil)
	for i := range src.Y {
		if dst.Y[i] != src.Y[i] {
			t.Fatalf("identity: %v, want %v", dst.Y, src.Y)
		}
	}
	// 1×1 sources and destinations do not index out of range.
	one := NewPicture(1, 1)
	big := NewPicture(7, 7)
	p := NewPainter()
	p.scalePicture(big, image.Rect(0, 0, 7, 7), one)
	p.scalePicture(one, image.Rect(0, 0, 1, 1), big)
}

// Every layout size on odd and even canvases, with sources of odd sizes,
// paints within bounds.
func TestPaintAnyLayout(t *testing.T) {
	p := NewPainter()
	sizes := [][2]int{{1280, 720}, {1920, 1080}, {641, 361}, {33, 17}}
	srcs := []*Picture{solid(640, 360, red), solid(321, 181, green), solid(1, 1, blue), solid(180, 320, yellow)}
	for _, sz := range sizes {
		dst := NewPicture(sz[0], sz[1])
		for n := 0; n <= 13; n++ {
			ps := people(n)
			if n%3 == 1 {
				ps[n/2].HasVideo = false
			}
			if n%4 == 2 {
				ps[n-1].ScreenShare = true
			}
			tiles := Arrange(sz[0], sz[1], ps, "p1")
			p.Clear(dst)
			if len(tiles) == 0 {
				p.DrawWaiting(dst)
			}
			for i, tl := range tiles {
				if tl.Video {
					p.DrawVideo(dst, tl, srcs[i%len(srcs)])
				} else {
					p.DrawNameTile(dst, tl)
				}
			}
		}
	}
}
