package composite

import (
	"image"
	"math"
	"unicode/utf16"
)

// The page's look: colours, the gap between tiles and the label box.
var (
	background = hex("#111111") // the canvas behind the tiles
	tileBack   = hex("#1c1c1c") // a tile behind its video or name
	nameColour = hex("#dddddd") // the name under a name tile's circle
	waitColour = hex("#888888")
	white      = hex("#ffffff")
	black      = hex("#000000")
)

// palette colours a name tile's circle, picked by a hash of the person's ID.
var palette = [...]string{"#5d6d7e", "#6c5b7b", "#355c7d", "#4f6d5a", "#7d5a50", "#56667a", "#6b6b47", "#4a5d73"}

const (
	gap        = 2   // a tile's content is inset by gap so that neighbours stay apart
	labelAlpha = 154 // the label box is black at 0.6 opacity (of 256)
)

// Painter paints tiles into a canvas. It caches scaling tables and
// rendered text; it is not safe for concurrent use.
type Painter struct {
	scalers map[scaleKey]*scaler
	tmp     []byte
	text    *textCache
	colours struct{ background, tileBack, name, wait, white, black yuvColour }
	circles [len(palette)]yuvColour
}

// NewPainter returns a painter with empty caches.
func NewPainter() *Painter {
	p := &Painter{scalers: map[scaleKey]*scaler{}, text: newTextCache()}
	p.colours.background = toYUV(background)
	p.colours.tileBack = toYUV(tileBack)
	p.colours.name = toYUV(nameColour)
	p.colours.wait = toYUV(waitColour)
	p.colours.white = toYUV(white)
	p.colours.black = toYUV(black)
	for i, s := range palette {
		p.circles[i] = toYUV(hex(s))
	}
	return p
}

// Clear paints the background.
func (p *Painter) Clear(dst *Picture) {
	fillRect(dst, image.Rect(0, 0, dst.W, dst.H), p.colours.background)
}

// DrawWaiting paints the empty canvas's "Waiting for participants…".
func (p *Painter) DrawWaiting(dst *Picture) {
	size := max(1, jsRound(float64(dst.H)/24))
	p.text.drawText(dst, "Waiting for participants…", size, false, float64(dst.W)/2, float64(dst.H)/2, true,
		p.colours.wait, image.Rect(0, 0, dst.W, dst.H))
}

// inner is a tile's content area: its rectangle inset by gap.
func inner(t Tile) image.Rectangle {
	return image.Rect(t.X+gap, t.Y+gap, t.X+t.W-gap, t.Y+t.H-gap)
}

// DrawVideo scales src into the tile keeping its aspect ratio, letterboxed
// on the tile background as the page did, then draws the name label. A nil
// or empty src draws the name tile instead.
func (p *Painter) DrawVideo(dst *Picture, t Tile, src *Picture) {
	r := inner(t)
	if r.Dx() <= 0 || r.Dy() <= 0 {
		return
	}
	if src == nil || src.W <= 0 || src.H <= 0 {
		p.DrawNameTile(dst, t)
		return
	}
	fillRect(dst, r, p.colours.tileBack)
	w, h := r.Dx(), r.Dy()
	scale := math.Min(float64(w)/float64(src.W), float64(h)/float64(src.H))
	dw := max(1, min(w, jsRound(float64(src.W)*scale)))
	dh := max(1, min(h, jsRound(float64(src.H)*scale)))
	at := image.Pt(r.Min.X+(w-dw)/2, r.Min.Y+(h-dh)/2)
	p.scalePicture(dst, image.Rectangle{Min: at, Max: at.Add(image.Pt(dw, dh))}, src)
	p.drawLabel(dst, labelText(t), r)
}

// planes returns views of the picture's three planes.
func (p *Picture) planes() (y, u, v plane) {
	cw, _ := chromaSize(p.W, p.H)
	return plane{p.Y, p.W}, plane{p.U, cw}, plane{p.V, cw}
}

// scalePicture paints src into r (which lies within dst), plane by plane.
func (p *Painter) scalePicture(dst *Picture, r image.Rectangle, src *Picture) {
	dy, du, dv := dst.planes()
	sy, su, sv := src.planes()
	p.tmp = p.scaler(scaleKey{src.W, src.H, r.Dx(), r.Dy()}).scaleInto(dy, r.Min.X, r.Min.Y, sy, p.tmp)
	cr := chromaRect(r)
	scw, sch := chromaSize(src.W, src.H)
	cs := p.scaler(scaleKey{scw, sch, cr.Dx(), cr.Dy()})
	p.tmp = cs.scaleInto(du, cr.Min.X, cr.Min.Y, su, p.tmp)
	p.tmp = cs.scaleInto(dv, cr.Min.X, cr.Min.Y, sv, p.tmp)
}

func (p *Painter) scaler(k scaleKey) *scaler {
	if s, ok := p.scalers[k]; ok {
		return s
	}
	if len(p.scalers) >= maxCached { // sources change size now and then; start afresh rather than grow
		clear(p.scalers)
	}
	s := newScaler(k)
	p.scalers[k] = s
	return s
}

// labelText is what a tile's label says: a screen share says so.
func labelText(t Tile) string {
	if t.Screen {
		return t.Name + " (screen)"
	}
	return t.Name
}

// fontSize is the label and name size for a tile of content height h.
func fontSize(h int) int {
	return max(11, min(26, jsRound(float64(h)/14)))
}

// drawLabel paints the name at the bottom left of the content area r:
// white text on a translucent black box.
func (p *Painter) drawLabel(dst *Picture, text string, r image.Rectangle) {
	w, h := r.Dx(), r.Dy()
	fs := fontSize(h)
	text = p.text.fit(text, fs, w-2*fs)
	tw := p.text.width(text, fs, false)
	pad := jsRound(float64(fs) * 0.4)
	bh := fs + 2*pad
	bx := r.Min.X + pad
	by := r.Max.Y - bh - pad
	blendRect(dst, image.Rect(bx, by, bx+tw+2*pad, by+bh).Intersect(r), p.colours.black, labelAlpha)
	p.text.drawText(dst, text, fs, false, float64(bx+pad), float64(by)+float64(bh)/2, false, p.colours.white, r)
}

// DrawNameTile paints a person without video: the tile background, a
// circle in their colour with their initials and their name beneath. A
// screen share's tile also gets its label, as on the page.
func (p *Painter) DrawNameTile(dst *Picture, t Tile) {
	r := inner(t)
	if r.Dx() <= 0 || r.Dy() <= 0 {
		return
	}
	fillRect(dst, r, p.colours.tileBack)
	x, y, w, h := float64(r.Min.X), float64(r.Min.Y), float64(r.Dx()), float64(r.Dy())
	radius := math.Max(8, math.Min(w, h)*0.2)
	cx := x + w/2
	cy := y + h/2 - radius*0.25
	fillCircle(dst, cx, cy, radius, p.circles[colourIndex(t.ID)], r)
	p.text.drawText(dst, initials(t.Name), max(1, jsRound(radius*0.8)), true, cx, cy, true, p.colours.white, r)
	fs := fontSize(r.Dy())
	name := p.text.fit(t.Name, fs, r.Dx()-8)
	p.text.drawText(dst, name, fs, false, cx, math.Min(y+h-float64(fs), cy+radius+float64(fs)), true, p.colours.name, r)
	if t.Screen {
		p.drawLabel(dst, labelText(t), r)
	}
}

// colourIndex hashes an ID as the page's colourFor did (over UTF-16 code units).
func colourIndex(id string) int {
	var h uint32
	for _, u := range utf16.Encode([]rune(id)) {
		h = h*31 + uint32(u)
	}
	return int(h % uint32(len(palette)))
}
