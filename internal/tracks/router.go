package tracks

import (
	"fmt"
	"time"
)

// Info describes one track. The Router fills in its identity and Start;
// File, Frames, Bytes, Width and Height are kept by the Set writing it.
type Info struct {
	ID          string
	Participant string
	Kind        Kind
	Codec       string
	SSRC        uint32
	File        string
	// Start is the timeline offset of the track's first frame.
	Start         time.Duration
	Frames, Bytes int64
	Width, Height int
}

// Timed is a frame placed on the recording's timeline.
type Timed struct {
	Track         *Info
	At            time.Duration
	Keyframe      bool
	Width, Height int
	Data          []byte
}

// DropCounts counts frames the Router did not route.
type DropCounts struct {
	// Unowned frames had no participant and an SSRC no track has used.
	Unowned int64
	// BeforeKeyframe are video frames of a track that had no keyframe
	// yet (or since it was last taken over), which no decoder could use.
	BeforeKeyframe int64
}

// trackKey identifies a track. The codec is part of it because a track's
// file has one codec; the SSRC because Jitsi rewrites SSRCs, so one SSRC
// carries different participants over time.
type trackKey struct {
	participant string
	kind        Kind
	codec       string
	ssrc        uint32
}

type streamKey struct {
	kind Kind
	ssrc uint32
}

type routedTrack struct {
	info  *Info
	clock *mediaClock
	last  time.Duration
	// started is false until the first routed frame (a keyframe for video).
	started bool
	// needKeyframe is set while video frames cannot be decoded: before the
	// first keyframe and after another participant used the SSRC.
	needKeyframe bool
}

// Router assigns frames to tracks and places them on the timeline.
//
// Frames whose participant is "" go to the track that last used their
// SSRC; if there is none they are dropped and counted, not held: Route
// has one frame out per frame in, the page normally knows the owner
// before media flows, and a video track could not start before its next
// keyframe anyway.
//
// A Router is not safe for concurrent use.
type Router struct {
	start   time.Time
	tracks  map[trackKey]*routedTrack
	current map[streamKey]*routedTrack // last track seen on each SSRC
	counts  map[string]int             // tracks per participant+kind, for IDs
	dropped DropCounts
}

// NewRouter places frames relative to timelineStart, the wall-clock time
// of the recording's position 0.
func NewRouter(timelineStart time.Time) *Router {
	return &Router{
		start:   timelineStart,
		tracks:  make(map[trackKey]*routedTrack),
		current: make(map[streamKey]*routedTrack),
		counts:  make(map[string]int),
	}
}

// Route places a frame on its track's timeline. It returns false for a
// frame that is dropped (see DropCounts).
func (r *Router) Route(f Frame) (Timed, bool) {
	t := r.trackFor(f)
	if t == nil {
		r.dropped.Unowned++
		return Timed{}, false
	}
	// Every frame feeds the clock, including ones dropped below, so the
	// offset estimate is ready when the keyframe comes.
	playout := t.clock.playout(f.RTPTime, f.Received)
	if t.needKeyframe {
		if !f.Keyframe {
			r.dropped.BeforeKeyframe++
			return Timed{}, false
		}
		t.needKeyframe = false
	}
	at := max(playout.Sub(r.start), 0)
	if !t.started {
		t.started = true
		t.info.Start = at
	}
	// A track never goes back in time: Matroska needs ordered blocks, and
	// the clock can step back when it re-anchors.
	at = max(at, t.last)
	t.last = at
	return Timed{
		Track:    t.info,
		At:       at,
		Keyframe: f.Keyframe || f.Kind == Audio,
		Width:    f.Width,
		Height:   f.Height,
		Data:     f.Data,
	}, true
}

// Dropped reports the frames dropped so far.
func (r *Router) Dropped() DropCounts { return r.dropped }

func (r *Router) trackFor(f Frame) *routedTrack {
	sk := streamKey{f.Kind, f.SSRC}
	cur := r.current[sk]
	if f.Participant == "" {
		if cur == nil || cur.info.Codec != f.Codec {
			return nil
		}
		return cur
	}
	key := trackKey{f.Participant, f.Kind, f.Codec, f.SSRC}
	t := r.tracks[key]
	if t == nil {
		r.counts[f.Participant+"/"+string(f.Kind)]++
		n := r.counts[f.Participant+"/"+string(f.Kind)]
		t = &routedTrack{
			info: &Info{
				ID:          fmt.Sprintf("%s-%s-%d", f.Participant, f.Kind, n),
				Participant: f.Participant,
				Kind:        f.Kind,
				Codec:       f.Codec,
				SSRC:        f.SSRC,
			},
			clock:        newMediaClock(f.Kind),
			needKeyframe: f.Kind == Video,
		}
		r.tracks[key] = t
	} else if cur != t && f.Kind == Video {
		// Taken back after someone else used the SSRC: the decoder state
		// of this track is gone until its next keyframe.
		t.needKeyframe = true
	}
	r.current[sk] = t
	return t
}
