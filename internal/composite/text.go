package composite

import (
	"fmt"
	"image"
	"strings"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Text is set in the Go fonts, embedded, so no system font is needed (the
// page used the browser's sans-serif, fonts-liberation on the image).

// maxCached bounds each text cache; past it the cache starts afresh
// (names and tile sizes change rarely, so this is almost never hit).
const maxCached = 512

type faceKey struct {
	size int
	bold bool
}

type textKey struct {
	text string
	size int
	bold bool
}

type fitKey struct {
	text       string
	size, maxW int
}

// label is rendered text: its alpha mask and where the baseline sits in it.
type label struct {
	mask     *image.Alpha
	ascent   int // baseline, from the mask's top
	descent  int
	advance  int // the pen's advance: the width for layout
	leftSide int // the mask starts this far left of the pen
}

// textCache renders and keeps text masks per (text, size, weight).
type textCache struct {
	regular, bold *opentype.Font
	faces         map[faceKey]font.Face
	labels        map[textKey]*label
	fitted        map[fitKey]string
}

func newTextCache() *textCache {
	return &textCache{
		regular: mustParse(goregular.TTF),
		bold:    mustParse(gobold.TTF),
		faces:   map[faceKey]font.Face{},
		labels:  map[textKey]*label{},
		fitted:  map[fitKey]string{},
	}
}

func mustParse(ttf []byte) *opentype.Font {
	f, err := opentype.Parse(ttf)
	if err != nil {
		panic(fmt.Sprintf("composite: embedded font: %v", err)) // cannot happen with the embedded fonts
	}
	return f
}

// face returns a face whose em is size pixels, as CSS "<size>px".
func (c *textCache) face(size int, bold bool) font.Face {
	k := faceKey{size, bold}
	if f, ok := c.faces[k]; ok {
		return f
	}
	src := c.regular
	if bold {
		src = c.bold
	}
	f, err := opentype.NewFace(src, &opentype.FaceOptions{Size: float64(size), DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		panic(fmt.Sprintf("composite: font face: %v", err)) // only for a non-positive size, which callers avoid
	}
	if len(c.faces) >= maxCached {
		clear(c.faces)
	}
	c.faces[k] = f
	return f
}

// width measures text in pixels.
func (c *textCache) width(text string, size int, bold bool) int {
	return font.MeasureString(c.face(size, bold), text).Ceil()
}

// fit shortens text with an ellipsis until it is at most maxW wide, as the page's fitText.
func (c *textCache) fit(text string, size, maxW int) string {
	k := fitKey{text, size, maxW}
	if s, ok := c.fitted[k]; ok {
		return s
	}
	s := text
	if c.width(text, size, false) > maxW {
		for utf8.RuneCountInString(s) > 1 && c.width(s+"…", size, false) > maxW {
			_, n := utf8.DecodeLastRuneInString(s)
			s = s[:len(s)-n]
		}
		s += "…"
	}
	if len(c.fitted) >= maxCached {
		clear(c.fitted)
	}
	c.fitted[k] = s
	return s
}

// label renders text (cached).
func (c *textCache) label(text string, size int, bold bool) *label {
	k := textKey{text, size, bold}
	if l, ok := c.labels[k]; ok {
		return l
	}
	face := c.face(size, bold)
	m := face.Metrics()
	bounds, adv := font.BoundString(face, text)
	left := min(0, bounds.Min.X.Floor())
	right := max(adv.Ceil(), bounds.Max.X.Ceil())
	l := &label{ascent: m.Ascent.Ceil(), descent: m.Descent.Ceil(), advance: adv.Ceil(), leftSide: -left}
	l.mask = image.NewAlpha(image.Rect(0, 0, max(1, right-left), l.ascent+l.descent))
	d := font.Drawer{Dst: l.mask, Src: image.Opaque, Face: face, Dot: fixed.P(-left, l.ascent)}
	d.DrawString(text)
	if len(c.labels) >= maxCached {
		clear(c.labels)
	}
	c.labels[k] = l
	return l
}

// drawText paints text with its pen at x and its vertical middle at midY
// (CSS textBaseline 'middle'); align centre puts the middle of its advance at x.
func (c *textCache) drawText(dst *Picture, text string, size int, bold bool, x, midY float64, centre bool, col yuvColour, clip image.Rectangle) {
	l := c.label(text, size, bold)
	if centre {
		x -= float64(l.advance) / 2
	}
	// 'middle' is the middle of the em box: the baseline sits half the
	// ascent-descent difference below it.
	baseline := midY + float64(l.ascent-l.descent)/2
	drawMask(dst, l.mask, jsRound(x)-l.leftSide, jsRound(baseline)-l.ascent, col, clip)
}

// initials are what a name tile shows in its circle: the first letters of
// the first two words, or the first two of a single word; "?" for none.
func initials(name string) string {
	words := strings.Fields(name)
	if len(words) == 0 {
		return "?"
	}
	var letters []rune
	if len(words) == 1 {
		letters = []rune(words[0])
		letters = letters[:min(2, len(letters))]
	} else {
		a, _ := utf8.DecodeRuneInString(words[0])
		b, _ := utf8.DecodeRuneInString(words[1])
		letters = []rune{a, b}
	}
	return strings.ToUpper(string(letters))
}
