package composite

import (
	"math"
	"slices"
)

// Person is one remote participant as the layout sees them.
type Person struct {
	ID, Name string
	// HasVideo: a video track that is unmuted and has shown a picture.
	HasVideo bool
	// ScreenShare: their video is a screen share (videoType 'desktop').
	ScreenShare bool
	// LastSpoke is when they were last the dominant speaker, on any
	// increasing clock (0: never). It picks who fills the strip and who
	// takes the stage when the dominant speaker is unknown, as the page's
	// lastSpoke did; all zero means join order.
	LastSpoke int64
}

// Tile is where one person goes on the canvas.
type Tile struct {
	ID, Name   string
	X, Y, W, H int
	// Video: draw their video, else a name tile.
	Video bool
	Stage bool
	// Screen: the tile shows their screen share (the stage of a share
	// layout); its label reads "Name (screen)".
	Screen bool
}

// stripShare is the part of the canvas height the strip under a stage takes.
const stripShare = 0.2

// maxGrid is the most people the grid holds; more put the speaker on stage.
const maxGrid = 9

// Arrange lays out people (in joining order) on a w×h canvas; dominant is
// the active speaker's ID ("" none). A screen share takes the stage with
// everybody in a strip beneath; up to 9 people share a grid; more get the
// active speaker on stage. No people: no tiles.
func Arrange(w, h int, people []Person, dominant string) []Tile {
	share := pickShare(people, dominant)
	if len(people) == 0 {
		return nil
	}
	if share < 0 && len(people) <= maxGrid {
		return arrangeGrid(w, h, people)
	}
	return arrangeStage(w, h, people, dominant, share)
}

// pickShare returns the index of the screen share for the stage, -1 for
// none: the active speaker's, else the latest joiner's (the page took the
// one that started last; join order is the nearest Arrange knows).
func pickShare(people []Person, dominant string) int {
	best := -1
	for i, p := range people {
		if !p.ScreenShare || !p.HasVideo {
			continue
		}
		if p.ID == dominant {
			return i
		}
		best = i
	}
	return best
}

// gridShape returns columns and rows for n tiles: 1 -> 1x1, 2 -> 2x1,
// 3-4 -> 2x2, 5-6 -> 3x2, 7-9 -> 3x3.
func gridShape(n int) (cols, rows int) {
	switch {
	case n <= 1:
		return 1, 1
	case n == 2:
		return 2, 1
	case n <= 4:
		return 2, 2
	case n <= 6:
		return 3, 2
	}
	return 3, 3
}

func arrangeGrid(w, h int, people []Person) []Tile {
	n := len(people)
	cols, rows := gridShape(n)
	cw := float64(w) / float64(cols)
	ch := float64(h) / float64(rows)
	tiles := make([]Tile, 0, n)
	for i, p := range people {
		row := i / cols
		inRow := min(cols, n-row*cols)
		x0 := (float64(w) - float64(inRow)*cw) / 2 // centre an incomplete last row
		t := cameraTile(p)
		t.X, t.Y, t.W, t.H = rect(x0+float64(i%cols)*cw, float64(row)*ch, cw, ch)
		tiles = append(tiles, t)
	}
	return tiles
}

// arrangeStage puts the share (index share) or else the speaker on a stage
// with a strip of the others beneath.
func arrangeStage(w, h int, people []Person, dominant string, share int) []Tile {
	stripH := jsRound(float64(h) * stripShare)
	var stage Tile
	others := make([]int, 0, len(people)) // indexes into people, i.e. join order
	if share >= 0 {
		p := people[share]
		stage = Tile{ID: p.ID, Name: p.Name, Video: true, Screen: true}
		for i := range people {
			others = append(others, i)
		}
	} else {
		speaker := slices.IndexFunc(people, func(p Person) bool { return p.ID == dominant })
		if speaker < 0 {
			speaker = byRecency(people, allIndexes(len(people)))[0]
		}
		stage = cameraTile(people[speaker])
		for i := range people {
			if i != speaker {
				others = append(others, i)
			}
		}
	}
	stage.Stage = true
	stage.X, stage.Y, stage.W, stage.H = 0, 0, w, h-stripH
	tiles := []Tile{stage}

	maxStrip := max(1, int(math.Floor(float64(w)/(float64(stripH)*4/3))))
	others = byRecency(people, others)
	others = others[:min(len(others), maxStrip)]
	slices.Sort(others) // keep the strip in join order so that tiles do not jump around
	if len(others) == 0 {
		return tiles
	}
	tw := min(float64(stripH)*16/9, float64(w)/float64(len(others)))
	x0 := (float64(w) - tw*float64(len(others))) / 2
	for i, o := range others {
		t := cameraTile(people[o])
		t.X, t.Y, t.W, t.H = rect(x0+float64(i)*tw, float64(h-stripH), tw, float64(stripH))
		tiles = append(tiles, t)
	}
	return tiles
}

// cameraTile is a person's camera tile; a screen share is no camera, so
// its owner's strip tile is a name tile.
func cameraTile(p Person) Tile {
	return Tile{ID: p.ID, Name: p.Name, Video: p.HasVideo && !p.ScreenShare}
}

// byRecency orders the indexes by who spoke last, then by who joined first.
func byRecency(people []Person, idx []int) []int {
	out := slices.Clone(idx)
	slices.SortStableFunc(out, func(a, b int) int {
		if people[a].LastSpoke != people[b].LastSpoke {
			if people[a].LastSpoke > people[b].LastSpoke {
				return -1
			}
			return 1
		}
		return a - b
	})
	return out
}

func allIndexes(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// rect rounds each coordinate on its own, as the page did (neighbours may
// share a pixel column; the painter's inset keeps them apart).
func rect(x, y, w, h float64) (int, int, int, int) {
	return jsRound(x), jsRound(y), jsRound(w), jsRound(h)
}

// jsRound is JavaScript's Math.round: halves go up.
func jsRound(f float64) int { return int(math.Floor(f + 0.5)) }
