package page

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// computeLayout runs the page's pure layout function.
func computeLayout(t *testing.T, h *harness, n int, dominant, shareOwner string) layout {
	t.Helper()
	share := "null"
	if shareOwner != "" {
		share = fmt.Sprintf(`{participantId:%q}`, shareOwner)
	}
	expr := fmt.Sprintf(`window.recorder._test.computeLayout(1280, 720,
  Array.from({length:%d}, (_, i) => ({id:'p'+i, name:'P '+i, order:i, lastSpoke:0})), %q, %s)`, n, dominant, share)
	return evalValue[layout](h, expr)
}

func rects(l layout) []tileRect {
	var r []tileRect
	for _, t := range l.Tiles {
		r = append(r, t.Rect)
	}
	return r
}

func TestLayoutGridsAndStages(t *testing.T) {
	h := newHarness(t, fakeDeployment(t))
	h.open("/_recorder")
	cases := []struct {
		name      string
		n         int
		dominant  string
		share     string
		wantMode  string
		wantRects []tileRect
		stageID   string
	}{
		{"one fills the frame", 1, "", "", "grid", []tileRect{{0, 0, 1280, 720}}, ""},
		{"two side by side", 2, "", "", "grid", []tileRect{{0, 0, 640, 720}, {640, 0, 640, 720}}, ""},
		{"three in 2x2 with the last row centred", 3, "", "", "grid",
			[]tileRect{{0, 0, 640, 360}, {640, 0, 640, 360}, {320, 360, 640, 360}}, ""},
		{"four in 2x2", 4, "", "", "grid",
			[]tileRect{{0, 0, 640, 360}, {640, 0, 640, 360}, {0, 360, 640, 360}, {640, 360, 640, 360}}, ""},
		{"ten: active speaker on stage", 10, "p7", "", "speaker", nil, "p7"},
		{"share takes the stage", 4, "p1", "p2", "share", nil, "p2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := computeLayout(t, h, c.n, c.dominant, c.share)
			if l.Mode != c.wantMode {
				t.Fatalf("mode %q, want %q", l.Mode, c.wantMode)
			}
			if c.wantRects != nil {
				if got := rects(l); fmt.Sprint(got) != fmt.Sprint(c.wantRects) {
					t.Errorf("rects %v, want %v", got, c.wantRects)
				}
				return
			}
			stage := l.Tiles[0]
			if !stage.Stage || stage.ParticipantID != c.stageID || stage.Rect != (tileRect{0, 0, 1280, 576}) {
				t.Errorf("stage %+v", stage)
			}
			if c.share != "" && stage.Source != "desktop" {
				t.Errorf("stage source %q, want desktop", stage.Source)
			}
			strip := l.Tiles[1:]
			if len(strip) == 0 || len(strip) > 6 {
				t.Fatalf("strip of %d tiles", len(strip))
			}
			for _, s := range strip {
				if s.Stage || s.Rect.Y != 576 || s.Rect.H != 144 || s.Rect.W > 256 {
					t.Errorf("strip tile %+v", s)
				}
				if c.share == "" && s.ParticipantID == c.stageID {
					t.Errorf("speaker %s is both on stage and in the strip", c.stageID)
				}
			}
		})
	}
}

// TestLayoutFollowsLibEvents drives the page through lib-jitsi-meet events
// (the fake lib) and checks debug() after each change.
func TestLayoutFollowsLibEvents(t *testing.T) {
	h := newHarness(t, fakeDeployment(t))
	h.open("/_recorder?scenario=join")
	if err := h.eval(`window.recorder.start(` + startOpts("") + `)`); err != nil {
		t.Fatalf("start: %v\n%s", err, h.describe())
	}
	debug := func() layout { return evalValue[layout](h, `window.recorder.debug()`) }
	waitLayout := func(what string, ok func(layout) bool) layout {
		t.Helper()
		var l layout
		for i := 0; i < 100; i++ {
			if l = debug(); ok(l) {
				return l
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s: layout %+v", what, l)
		return l
	}
	add := func(ids ...string) {
		var b strings.Builder
		for _, id := range ids {
			fmt.Fprintf(&b, "fakeMeeting.addRemote(%q, 'Name %s', '#808080', 500);", id, id)
		}
		if err := h.eval(b.String()); err != nil {
			t.Fatal(err)
		}
	}

	if l := debug(); l.Mode != "empty" {
		t.Fatalf("before anyone joined: %+v", l)
	}
	add("p0")
	l := waitLayout("one with video", func(l layout) bool { return len(l.Tiles) == 1 && l.Tiles[0].Video })
	if l.Tiles[0].Rect != (tileRect{0, 0, 1280, 720}) || l.Tiles[0].Name != "Name p0" {
		t.Errorf("one: %+v", l.Tiles[0])
	}
	add("p1")
	waitLayout("two", func(l layout) bool {
		return l.Mode == "grid" && len(l.Tiles) == 2 && l.Tiles[1].Rect == tileRect{640, 0, 640, 720}
	})
	add("p2", "p3")
	waitLayout("four", func(l layout) bool { return len(l.Tiles) == 4 && l.Tiles[3].Rect == tileRect{640, 360, 640, 360} })

	// A signalled video mute turns the tile into a name tile at once.
	h.eval(`fakeMeeting.muteVideo('p1', true)`)
	l = debug()
	if tl, _ := l.tile("p1", "camera"); tl.Video {
		t.Errorf("muted p1 still shows video: %+v", tl)
	}
	h.eval(`fakeMeeting.muteVideo('p1', false)`)
	h.eval(`fakeMeeting.rename('p2', 'Renamed')`)
	if tl, _ := debug().tile("p2", "camera"); tl.Name != "Renamed" {
		t.Errorf("rename: %+v", tl)
	}

	// An older lib's camera track switching to desktop puts it on stage.
	h.eval(`fakeMeeting.setVideoType('p3', 'desktop')`)
	l = debug()
	if l.Mode != "share" || l.Tiles[0].ParticipantID != "p3" || l.Tiles[0].Source != "desktop" || !l.Tiles[0].Stage {
		t.Errorf("share: %+v", l)
	}
	h.eval(`fakeMeeting.setVideoType('p3', 'camera')`)
	if l = debug(); l.Mode != "grid" {
		t.Errorf("after the share: %+v", l)
	}

	add("p4", "p5", "p6", "p7", "p8", "p9")
	l = waitLayout("ten", func(l layout) bool { return l.Mode == "speaker" })
	h.eval(`fakeMeeting.dominant('p6')`)
	l = debug()
	if l.Tiles[0].ParticipantID != "p6" || !l.Tiles[0].Stage {
		t.Errorf("ten with p6 speaking: %+v", l.Tiles[0])
	}
	h.eval(`fakeMeeting.removeRemote('p6')`)
	l = debug()
	for _, tl := range l.Tiles {
		if tl.ParticipantID == "p6" {
			t.Errorf("p6 left but still has a tile")
		}
	}
	if l.Mode != "grid" || len(l.Tiles) != 9 {
		t.Errorf("nine after a leave: mode %s, %d tiles", l.Mode, len(l.Tiles))
	}
	if err := h.eval(`window.recorder.stop()`); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range h.snapshot() {
		switch e.Type {
		case "participant-joined", "participant-left", "participant-renamed", "dominant-speaker":
			kinds = append(kinds, e.Type+":"+e.ID)
		}
	}
	got := strings.Join(kinds, " ")
	for _, want := range []string{"participant-joined:p0", "participant-renamed:p2", "dominant-speaker:p6", "participant-left:p6"} {
		if !strings.Contains(got, want) {
			t.Errorf("events %q lack %q", got, want)
		}
	}
}

// TestScreenShareTrackTakesStage uses the test hooks: a participant with a
// camera and a separate desktop track (newer libs send both).
func TestScreenShareTrackTakesStage(t *testing.T) {
	h := newHarness(t, fakeDeployment(t))
	h.open("/_recorder")
	if err := h.eval(`window.recorder._test.startEncoding(` + startOpts("") + `)`); err != nil {
		t.Fatal(err)
	}
	mk := `(c) => { const cv = document.createElement('canvas'); cv.width = 320; cv.height = 180;
  const x = cv.getContext('2d'); setInterval(() => { x.fillStyle = c; x.fillRect(0, 0, 320, 180); }, 50);
  return cv.captureStream(20).getVideoTracks()[0]; }`
	if err := h.eval(`(() => { const mk = ` + mk + `;
  window.recorder._test.addParticipant('a', 'Ann', new MediaStream([mk('#f00')]));
  window.recorder._test.addParticipant('b', 'Ben', new MediaStream([mk('#0f0')]));
  window.recorder._test.addTrack('b', 'b/screen', mk('#00f'), 'desktop');
})()`); err != nil {
		t.Fatal(err)
	}
	l := evalValue[layout](h, `window.recorder.debug()`)
	if l.Mode != "share" || l.Tiles[0].ParticipantID != "b" || l.Tiles[0].Source != "desktop" {
		t.Fatalf("share layout %+v", l)
	}
	if _, ok := l.tile("b", "camera"); !ok {
		t.Errorf("sharer's camera not in the strip: %+v", l)
	}
	if _, ok := l.tile("a", "camera"); !ok {
		t.Errorf("a not in the strip: %+v", l)
	}
	if err := h.eval(`window.recorder.stop()`); err != nil {
		t.Fatal(err)
	}
}
