package composite

import (
	"fmt"
	"testing"
)

type box struct{ X, Y, W, H int }

func boxes(tiles []Tile) []box {
	var b []box
	for _, t := range tiles {
		b = append(b, box{t.X, t.Y, t.W, t.H})
	}
	return b
}

// people returns n people p0..p(n-1), named "P i", all with camera video.
func people(n int) []Person {
	ps := make([]Person, n)
	for i := range ps {
		ps[i] = Person{ID: fmt.Sprintf("p%d", i), Name: fmt.Sprintf("P %d", i), HasVideo: true}
	}
	return ps
}

// withShare marks id's video as a screen share.
func withShare(ps []Person, id string) []Person {
	for i := range ps {
		if ps[i].ID == id {
			ps[i].ScreenShare = true
		}
	}
	return ps
}

// The cases of the page's TestLayoutGridsAndStages, at 1280x720.
func TestArrangeGridsAndStages(t *testing.T) {
	cases := []struct {
		name     string
		people   []Person
		dominant string
		want     []box // nil: a stage layout, checked by stageID
		stageID  string
		share    bool
	}{
		{"one fills the frame", people(1), "", []box{{0, 0, 1280, 720}}, "", false},
		{"two side by side", people(2), "", []box{{0, 0, 640, 720}, {640, 0, 640, 720}}, "", false},
		{"three in 2x2 with the last row centred", people(3), "",
			[]box{{0, 0, 640, 360}, {640, 0, 640, 360}, {320, 360, 640, 360}}, "", false},
		{"four in 2x2", people(4), "",
			[]box{{0, 0, 640, 360}, {640, 0, 640, 360}, {0, 360, 640, 360}, {640, 360, 640, 360}}, "", false},
		{"five in 3x2, rounded as the page did", people(5), "",
			[]box{{0, 0, 427, 360}, {427, 0, 427, 360}, {853, 0, 427, 360}, {213, 360, 427, 360}, {640, 360, 427, 360}}, "", false},
		{"nine in 3x3", people(9), "p3", nil, "", false},
		{"ten: active speaker on stage", people(10), "p7", nil, "p7", false},
		{"ten, no speaker: the first joiner on stage", people(10), "", nil, "p0", false},
		{"share takes the stage", withShare(people(4), "p2"), "p1", nil, "p2", true},
		{"the speaker's share wins", withShare(withShare(people(4), "p1"), "p3"), "p1", nil, "p1", true},
		{"else the latest joiner's share", withShare(withShare(people(4), "p1"), "p3"), "p0", nil, "p3", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tiles := Arrange(1280, 720, c.people, c.dominant)
			if c.want != nil {
				if got := boxes(tiles); fmt.Sprint(got) != fmt.Sprint(c.want) {
					t.Errorf("boxes %v, want %v", got, c.want)
				}
				for i, tl := range tiles {
					if tl.Stage || tl.ID != c.people[i].ID || !tl.Video {
						t.Errorf("grid tile %d: %+v", i, tl)
					}
				}
				return
			}
			if c.stageID == "" {
				if len(tiles) != 9 || tiles[8] != (Tile{ID: "p8", Name: "P 8", X: 853, Y: 480, W: 427, H: 240, Video: true}) {
					t.Errorf("nine: %+v", tiles)
				}
				return
			}
			stage := tiles[0]
			if !stage.Stage || stage.ID != c.stageID || (box{stage.X, stage.Y, stage.W, stage.H}) != (box{0, 0, 1280, 576}) {
				t.Errorf("stage %+v", stage)
			}
			if stage.Screen != c.share || !stage.Video {
				t.Errorf("stage %+v, want screen %v", stage, c.share)
			}
			strip := tiles[1:]
			if len(strip) == 0 || len(strip) > 6 {
				t.Fatalf("strip of %d tiles", len(strip))
			}
			for _, s := range strip {
				if s.Stage || s.Screen || s.Y != 576 || s.H != 144 || s.W > 256 {
					t.Errorf("strip tile %+v", s)
				}
				if !c.share && s.ID == c.stageID {
					t.Errorf("speaker %s is both on stage and in the strip", c.stageID)
				}
			}
		})
	}
}

func TestArrangeStripGeometry(t *testing.T) {
	// A share with four people: all four in the strip (the sharer too),
	// 256 wide (144*16/9), centred.
	tiles := Arrange(1280, 720, withShare(people(4), "p2"), "")
	want := []box{{0, 0, 1280, 576}, {128, 576, 256, 144}, {384, 576, 256, 144}, {640, 576, 256, 144}, {896, 576, 256, 144}}
	if got := boxes(tiles); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("boxes %v, want %v", got, want)
	}
	// The sharer's one video is on the stage: their strip tile is a name tile.
	if tiles[3].ID != "p2" || tiles[3].Video {
		t.Errorf("sharer's strip tile %+v", tiles[3])
	}
	// Ten people, p7 speaking: six others fill the strip (1280/192), 1280/6 wide each.
	tiles = Arrange(1280, 720, people(10), "p7")
	want = []box{{0, 0, 1280, 576}, {0, 576, 213, 144}, {213, 576, 213, 144}, {427, 576, 213, 144},
		{640, 576, 213, 144}, {853, 576, 213, 144}, {1067, 576, 213, 144}}
	if got := boxes(tiles); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("boxes %v, want %v", got, want)
	}
}

func TestArrangeStripFollowsRecency(t *testing.T) {
	ps := people(12)
	ps[9].LastSpoke = 5
	ps[11].LastSpoke = 3
	ps[4].LastSpoke = 9 // the last speaker takes the stage when dominant is unknown
	tiles := Arrange(1280, 720, ps, "")
	var ids []string
	for _, tl := range tiles {
		ids = append(ids, tl.ID)
	}
	// Stage: p4. Strip: the recent speakers p9 and p11, then the first
	// joiners, six in all, in join order.
	want := "[p4 p0 p1 p2 p3 p9 p11]"
	if fmt.Sprint(ids) != want {
		t.Errorf("tiles %v, want %s", ids, want)
	}
}

func TestArrangeNameTilesAndEmpty(t *testing.T) {
	if tiles := Arrange(1280, 720, nil, ""); len(tiles) != 0 {
		t.Errorf("nobody: %+v", tiles)
	}
	ps := people(4)
	ps[1].HasVideo = false // a signalled mute turns the tile into a name tile
	tiles := Arrange(1280, 720, ps, "")
	if tiles[1].Video || !tiles[0].Video {
		t.Errorf("muted p1: %+v", tiles)
	}
	// A screen share that has not shown a picture does not take the stage.
	ps = withShare(people(4), "p3")
	ps[3].HasVideo = false
	tiles = Arrange(1280, 720, ps, "")
	if len(tiles) != 4 || tiles[0].Stage || tiles[3].Video {
		t.Errorf("share without a picture: %+v", tiles)
	}
	// A sharer alone: stage and one strip tile, their name.
	tiles = Arrange(1280, 720, withShare(people(1), "p0"), "")
	if len(tiles) != 2 || !tiles[0].Screen || tiles[1].ID != "p0" || tiles[1].Video {
		t.Errorf("sharer alone: %+v", tiles)
	}
}
