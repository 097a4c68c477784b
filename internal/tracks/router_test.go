package tracks

import (
	"testing"
	"time"
)

func videoFrame(p string, ssrc uint32, i int, key bool) Frame {
	return Frame{
		SSRC: ssrc, Kind: Video, Codec: "vp8", RTPTime: uint32(i * 3000),
		Received:    epoch.Add(time.Duration(i) * time.Second / 30),
		Keyframe:    key,
		Participant: p,
		Data:        []byte{byte(i)},
	}
}

func TestRouterWaitsForKeyframeAndPlacesOnTimeline(t *testing.T) {
	r := NewRouter(epoch.Add(-2 * time.Second)) // recording started 2 s before
	for i := range 3 {
		if _, ok := r.Route(videoFrame("alice", 7, i, false)); ok {
			t.Fatalf("delta frame %d before the first keyframe routed", i)
		}
	}
	first, ok := r.Route(videoFrame("alice", 7, 3, true))
	if !ok {
		t.Fatal("keyframe not routed")
	}
	if want := 2*time.Second + 100*time.Millisecond; abs(first.At-want) > time.Millisecond {
		t.Errorf("first frame at %v, want %v", first.At, want)
	}
	if first.Track.Start != first.At || first.Track.ID != "alice-video-1" || first.Track.SSRC != 7 {
		t.Errorf("track = %+v", *first.Track)
	}
	next, ok := r.Route(videoFrame("alice", 7, 4, false))
	if !ok || next.Track != first.Track || next.At <= first.At {
		t.Errorf("next frame %v %+v", ok, next)
	}
	if d := r.Dropped(); d.BeforeKeyframe != 3 || d.Unowned != 0 {
		t.Errorf("dropped %+v", d)
	}
}

func TestRouterSSRCRewriting(t *testing.T) {
	r := NewRouter(epoch)
	// Unknown owner and never-seen SSRC: dropped.
	if _, ok := r.Route(videoFrame("", 9, 0, true)); ok {
		t.Fatal("unowned frame routed")
	}
	a, _ := r.Route(videoFrame("alice", 9, 1, true))
	// Owner not known yet for this batch: goes to the SSRC's track.
	anon, ok := r.Route(videoFrame("", 9, 2, false))
	if !ok || anon.Track != a.Track {
		t.Fatalf("unowned frame went to %+v", anon.Track)
	}
	// The bridge hands SSRC 9 to bob: a new track, waiting for its keyframe.
	if _, ok := r.Route(videoFrame("bob", 9, 3, false)); ok {
		t.Fatal("bob's delta routed before his keyframe")
	}
	b, ok := r.Route(videoFrame("bob", 9, 4, true))
	if !ok || b.Track == a.Track || b.Track.Participant != "bob" {
		t.Fatalf("bob's keyframe: %v %+v", ok, b.Track)
	}
	// Back to alice: her track again, but only from her next keyframe.
	if _, ok := r.Route(videoFrame("alice", 9, 5, false)); ok {
		t.Fatal("alice's delta routed after bob used the SSRC")
	}
	back, ok := r.Route(videoFrame("alice", 9, 6, true))
	if !ok || back.Track != a.Track {
		t.Fatalf("alice's return went to %+v", back.Track)
	}
	if d := r.Dropped(); d.Unowned != 1 || d.BeforeKeyframe != 2 {
		t.Errorf("dropped %+v", d)
	}
}

// The timeline of a track never goes back, even when the clock does.
func TestRouterMonotonic(t *testing.T) {
	r := NewRouter(epoch)
	f := Frame{SSRC: 1, Kind: Audio, Codec: "opus", Participant: "p", Data: []byte{1}}
	var last time.Duration
	for i := range 200 {
		f.RTPTime = uint32(i * 960)
		f.Received = epoch.Add(time.Duration(i) * 20 * time.Millisecond)
		if i == 100 { // sender restart: timestamps 30 s back
			f.RTPTime -= 30 * 48000
		}
		if i > 100 {
			f.RTPTime = uint32((i-100)*960) - 30*48000 + 100*960
		}
		got, ok := r.Route(f)
		if !ok {
			t.Fatalf("audio frame %d dropped", i)
		}
		if got.At < last {
			t.Fatalf("frame %d at %v before previous %v", i, got.At, last)
		}
		last = got.At
	}
}
