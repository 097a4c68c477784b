package media

import "testing"

func TestParseShapeReadsSizeAndRate(t *testing.T) {
	sh, err := ParseShape("320x180@15")
	if err != nil {
		t.Fatal(err)
	}
	if sh != (Shape{320, 180, 15}) || sh.String() != "320x180@15" {
		t.Errorf("got %+v (%s)", sh, sh)
	}
}

func TestParseShapeRejectsShapesTheMarkersOrEncodersCannotCarry(t *testing.T) {
	for _, s := range []string{"320x180", "320x180@5", "321x180@15", "4000x2000@30", "x@", "320x180@120"} {
		if _, err := ParseShape(s); err == nil {
			t.Errorf("ParseShape(%q) accepted", s)
		}
	}
}

func TestNewSpecSendsTheDefaultShape(t *testing.T) {
	s := NewSpec(2)
	if (Shape{s.Width, s.Height, s.FPS}) != DefaultShape() {
		t.Errorf("NewSpec shape %dx%d@%d, want %s", s.Width, s.Height, s.FPS, DefaultShape())
	}
	if c := s.WithShape(CrowdShape()); c.Width != 320 || c.FPS != 15 || len(c.Participants) != 2 {
		t.Errorf("WithShape: %+v", c)
	}
}
