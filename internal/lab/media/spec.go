// Package media describes the known media the lab's synthetic participants
// send, so that a recording can be checked against it: who is in it (colour,
// tone), that video moves (frame counter) and how far audio and video are
// apart (sync markers: a white flash and a beep in the same instant).
package media

import (
	"fmt"
	"time"
)

// RGB is an 8-bit sRGB colour.
type RGB struct{ R, G, B uint8 }

// Hex returns the colour as #rrggbb.
func (c RGB) Hex() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// Participant is the media one synthetic participant sends.
type Participant struct {
	Index  int     `json:"index"`
	Name   string  `json:"name"`
	Color  RGB     `json:"-"`
	Hex    string  `json:"color"`
	ToneHz float64 `json:"tone_hz"`
}

// Markers are the sync markers every participant sends. They are aligned to
// the wall clock, so all participants flash and beep at the same instants:
// whenever unix-time-in-ms modulo PeriodMS is below DurationMS.
type Markers struct {
	PeriodMS   int     `json:"period_ms"`
	DurationMS int     `json:"duration_ms"`
	BeepHz     float64 `json:"beep_hz"`
}

// Spec is everything a verifier needs to know about the lab's media.
type Spec struct {
	Width        int           `json:"width"`
	Height       int           `json:"height"`
	FPS          int           `json:"fps"`
	Markers      Markers       `json:"markers"`
	Participants []Participant `json:"participants"`
}

// Strongly saturated colours that stay far apart after H.264/VP8 and
// scaling, and far from the white of a flash and the black of an empty tile.
var palette = []RGB{
	{220, 40, 40},   // red
	{40, 180, 60},   // green
	{50, 90, 230},   // blue
	{230, 200, 30},  // yellow
	{200, 50, 200},  // magenta
	{30, 190, 200},  // cyan
	{240, 130, 20},  // orange
	{120, 60, 170},  // purple
	{140, 90, 40},   // brown
	{120, 120, 120}, // grey
}

// MaxParticipants is how many distinct participants the palette allows.
var MaxParticipants = len(palette)

// DefaultMarkers flash and beep for 100 ms every 5 s at 3 kHz, well above
// every participant tone.
func DefaultMarkers() Markers { return Markers{PeriodMS: 5000, DurationMS: 100, BeepHz: 3000} }

// ParticipantAt returns the media of the i-th synthetic participant (0-based):
// tones 440, 550, 660, ... Hz, one colour each.
func ParticipantAt(i int) Participant {
	c := palette[i%len(palette)]
	return Participant{
		Index:  i,
		Name:   fmt.Sprintf("Participant %d", i+1),
		Color:  c,
		Hex:    c.Hex(),
		ToneHz: 440 + 110*float64(i),
	}
}

// NewSpec returns the spec for n participants sending DefaultShape.
func NewSpec(n int) Spec {
	s := Spec{Markers: DefaultMarkers()}.WithShape(DefaultShape())
	for i := 0; i < n; i++ {
		s.Participants = append(s.Participants, ParticipantAt(i))
	}
	return s
}

// MarkerTimes returns the wall-clock instants of the markers in [from, to).
func (m Markers) MarkerTimes(from, to time.Time) []time.Time {
	period := time.Duration(m.PeriodMS) * time.Millisecond
	first := from.Truncate(period)
	if first.Before(from) {
		first = first.Add(period)
	}
	var out []time.Time
	for t := first; t.Before(to); t = t.Add(period) {
		out = append(out, t)
	}
	return out
}

// Shape is the size and frame rate of the video the participants send.
type Shape struct {
	Width, Height, FPS int
}

func (s Shape) String() string { return fmt.Sprintf("%dx%d@%d", s.Width, s.Height, s.FPS) }

// DefaultShape is what NewSpec sends: enough for a tile of a 720p or
// 1080p composite to show the name and counter sharply.
func DefaultShape() Shape { return Shape{Width: 640, Height: 360, FPS: 30} }

// CrowdShape is a cheaper shape for meetings of many participants on a
// small machine: a quarter of the pixels at half the frame rate still
// carries the colour, name, counter, tone and markers (a 100 ms flash
// still spans a frame or two). Nine send-only senders cost 0.85 instead of
// 1.48 cores and send 150 instead of 520 kbit/s each.
func CrowdShape() Shape { return Shape{Width: 320, Height: 180, FPS: 15} }

// ParseShape reads "WxH@FPS", e.g. "320x180@15".
func ParseShape(s string) (Shape, error) {
	var sh Shape
	if _, err := fmt.Sscanf(s, "%dx%d@%d", &sh.Width, &sh.Height, &sh.FPS); err != nil {
		return Shape{}, fmt.Errorf("sender shape %q: want WxH@FPS, e.g. 320x180@15", s)
	}
	// At 10 fps or more a frame falls inside every 100 ms flash.
	if sh.Width < 64 || sh.Height < 36 || sh.Width > 1920 || sh.Height > 1080 || sh.FPS < 10 || sh.FPS > 60 {
		return Shape{}, fmt.Errorf("sender shape %q: want 64x36..1920x1080 at 10..60 fps", s)
	}
	if sh.Width%2 != 0 || sh.Height%2 != 0 {
		return Shape{}, fmt.Errorf("sender shape %q: width and height must be even", s)
	}
	return sh, nil
}

// WithShape returns the spec sending video of shape sh.
func (s Spec) WithShape(sh Shape) Spec {
	s.Width, s.Height, s.FPS = sh.Width, sh.Height, sh.FPS
	return s
}
