package compose

import (
	"sort"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/composite"
)

// Event is something that changes what the composite shows, at a moment on
// the recording's timeline. The live engine gets them from the page as they
// happen; the offline composer replays them from the metadata.
type Event struct {
	At   time.Duration
	Kind EventKind
	// Participant the event is about (all kinds).
	Participant string
	Name        string // Join, Rename
	// Video track state (TrackState): which of the participant's streams,
	// whether it is muted, removed, and what it carries.
	SSRC      uint32
	Muted     bool
	Removed   bool
	VideoType string // "camera" or "desktop"
}

// EventKind says what an Event changes.
type EventKind string

const (
	Join       EventKind = "join"
	Leave      EventKind = "leave"
	Rename     EventKind = "rename"
	Dominant   EventKind = "dominant"
	TrackState EventKind = "track"
)

// person is one remote participant as the composite knows them.
type person struct {
	id, name  string
	order     int
	lastSpoke int64                  // when they were last the dominant speaker (the meeting's count)
	video     map[uint32]*videoState // by SSRC
}

type videoState struct {
	muted     bool
	removed   bool
	videoType string
}

// meeting is the layout's view of the meeting at one timeline moment.
type meeting struct {
	people   map[string]*person
	joined   int
	dominant string
	spoke    int64 // counts dominant-speaker changes
}

func newMeeting() *meeting { return &meeting{people: map[string]*person{}} }

func (m *meeting) apply(ev Event) {
	p := m.people[ev.Participant]
	switch ev.Kind {
	case Join:
		if p == nil {
			m.joined++
			m.people[ev.Participant] = &person{id: ev.Participant, name: ev.Name, order: m.joined, video: map[uint32]*videoState{}}
		} else if ev.Name != "" {
			p.name = ev.Name
		}
	case Leave:
		delete(m.people, ev.Participant)
		if m.dominant == ev.Participant {
			m.dominant = ""
		}
	case Rename:
		if p != nil {
			p.name = ev.Name
		}
	case Dominant:
		m.dominant = ev.Participant
		if p != nil {
			m.spoke++
			p.lastSpoke = m.spoke
		}
	case TrackState:
		if p == nil {
			// A track can be reported before its owner's presence.
			m.apply(Event{Kind: Join, Participant: ev.Participant})
			p = m.people[ev.Participant]
		}
		v := p.video[ev.SSRC]
		if v == nil {
			v = &videoState{videoType: "camera"}
			p.video[ev.SSRC] = v
		}
		v.muted, v.removed = ev.Muted, ev.Removed
		if ev.VideoType != "" {
			v.videoType = ev.VideoType
		}
	}
}

// shownVideo picks the participant's stream to show among those with a
// picture: an unmuted screen share first, else an unmuted camera. A
// stream the page has not reported (yet) counts as an unmuted camera.
func (p *person) shownVideo(pics map[uint32]*composite.Picture) (ssrc uint32, desktop, ok bool) {
	best := -1
	for s := range pics {
		v := p.video[s]
		if v != nil && (v.muted || v.removed) {
			continue
		}
		rank := 0
		if v != nil && v.videoType == "desktop" {
			rank = 1
		}
		if rank > best || (rank == best && s < ssrc) {
			best, ssrc, desktop = rank, s, rank == 1
		}
	}
	return ssrc, desktop, best >= 0
}

// peopleInOrder returns the layout's people in joining order.
func (m *meeting) peopleInOrder() []*person {
	out := make([]*person, 0, len(m.people))
	for _, p := range m.people {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].order < out[j].order })
	return out
}

// layoutPeople is the input of composite.Arrange plus which stream each
// person shows.
func (m *meeting) layoutPeople(pictures map[string]map[uint32]*composite.Picture) ([]composite.Person, map[string]uint32) {
	var people []composite.Person
	shown := map[string]uint32{}
	for _, p := range m.peopleInOrder() {
		name := p.name
		if name == "" {
			name = fallbackName(p.id)
		}
		ssrc, desktop, ok := p.shownVideo(pictures[p.id])
		if ok {
			shown[p.id] = ssrc
		}
		people = append(people, composite.Person{ID: p.id, Name: name, HasVideo: ok, ScreenShare: desktop, LastSpoke: p.lastSpoke})
	}
	return people, shown
}

// fallbackName is what the page called someone without a display name.
func fallbackName(id string) string {
	if len(id) > 4 {
		id = id[:4]
	}
	return "Participant " + id
}
