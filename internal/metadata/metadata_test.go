package metadata

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTrackerRecordsOffsetsFromStart(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tr := NewTracker(Recording{Room: "daily", Domain: "meet.example.org", URL: "https://meet.example.org/daily", Layout: "composite"})
	tr.Joined("a1", "Alice", t0.Add(-10*time.Second)) // before the start
	tr.Started(t0)
	tr.Joined("b2", "Bob", t0.Add(2500*time.Millisecond))
	tr.Speaker("a1", t0.Add(3*time.Second))
	tr.Speaker("a1", t0.Add(4*time.Second)) // same speaker: no new entry
	tr.Renamed("b2", "Bobby")
	tr.Speaker("b2", t0.Add(5*time.Second))
	tr.Left("b2", t0.Add(8*time.Second))
	if tr.Present() != 1 {
		t.Fatalf("present %d", tr.Present())
	}
	r := tr.Snapshot(t0.Add(10*time.Second), 1234, "duration", nil)
	if r.DurationSeconds != 10 || len(r.Participants) != 2 || len(r.Speakers) != 2 {
		t.Fatalf("%+v", r)
	}
	a, b := r.Participants[0], r.Participants[1]
	if a.JoinedAt != 0 || *a.LeftAt != 10 || b.Name != "Bobby" || b.JoinedAt != 2.5 || *b.LeftAt != 8 {
		t.Fatalf("participants %+v %+v / %v %v", a, b, *a.LeftAt, *b.LeftAt)
	}
	if r.Speakers[1] != (SpeakerChange{At: 5, ID: "b2", Name: "Bobby"}) {
		t.Fatalf("speakers %+v", r.Speakers)
	}
}

func TestWriteIsValidJSONBesideRecording(t *testing.T) {
	dir := t.TempDir()
	rec := filepath.Join(dir, "daily_2026.mp4")
	path := PathFor(rec)
	if filepath.Base(path) != "daily_2026.json" {
		t.Fatal(path)
	}
	tr := NewTracker(Recording{Room: "daily", File: filepath.Base(rec)})
	if err := Write(path, tr.Snapshot(time.Time{}, 0, "", nil)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["participants"].([]any); !ok || strings.Contains(string(b), "jwt") {
		t.Fatalf("bad document:\n%s", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temp files left: %v", entries)
	}
}

func TestTrackerRecordsSegmentsGapsAndRestarts(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tr := NewTracker(Recording{Room: "daily", File: "daily.mp4"})
	tr.Started(t0)
	tr.Joined("a1", "Alice", t0)
	tr.SegmentStarted("daily.mp4", t0, SegmentStart)
	tr.GapStarted(t0.Add(2*time.Second), GapNoMedia)
	tr.GapStarted(t0.Add(3*time.Second), GapNoMedia) // already open: no second gap
	tr.GapEnded(t0.Add(4*time.Second), GapNoMedia)
	tr.SegmentEnded("daily.mp4", t0.Add(10*time.Second), 1000, 9.0004)
	tr.GapStarted(t0.Add(10*time.Second), GapBrowserRestart)
	tr.LeftAll(t0.Add(10 * time.Second))
	tr.BrowserRestarted()
	tr.SegmentStarted("daily.part2.mp4", t0.Add(15*time.Second), SegmentBrowserRestart)
	tr.GapEnded(t0.Add(15*time.Second), GapBrowserRestart)
	tr.Joined("a1", "", t0.Add(16*time.Second))
	tr.GapStarted(t0.Add(18*time.Second), GapReconnecting)
	tr.Reconnected()
	tr.FFmpegRestarted()
	tr.SegmentSize("daily.part2.mp4", 500)
	tr.FrameRateChanged(t0.Add(5500*time.Millisecond), 20)
	tr.FrameRateChanged(t0.Add(19*time.Second), 30)

	live := tr.Snapshot(time.Time{}, 1500, "", nil)
	if live.Segments[1].EndAt != nil || live.Gaps[2].To != nil || live.Segments[1].SizeBytes != 500 {
		t.Fatalf("while recording, the last segment and gap are open: %+v %+v", live.Segments, live.Gaps)
	}
	r := tr.Snapshot(t0.Add(20*time.Second), 1500, "duration", nil)
	b, _ := json.Marshal(r)
	t.Logf("%s", b)
	if len(r.Segments) != 2 || r.Segments[0].StartAt != 0 || *r.Segments[0].EndAt != 10 || r.Segments[0].SizeBytes != 1000 || r.Segments[0].MediaSeconds != 9 ||
		r.Segments[1].StartAt != 15 || *r.Segments[1].EndAt != 20 || r.Segments[1].Reason != SegmentBrowserRestart {
		t.Fatalf("segments %s", b)
	}
	wantGaps := []struct {
		from, to float64
		reason   string
	}{{2, 4, GapNoMedia}, {10, 15, GapBrowserRestart}, {18, 20, GapReconnecting}}
	if len(r.Gaps) != len(wantGaps) {
		t.Fatalf("gaps %s", b)
	}
	for i, g := range wantGaps {
		if r.Gaps[i].From != g.from || r.Gaps[i].To == nil || *r.Gaps[i].To != g.to || r.Gaps[i].Reason != g.reason {
			t.Fatalf("gap %d: %s", i, b)
		}
	}
	if want := []FrameRateChange{{5.5, 20}, {19, 30}}; !slices.Equal(r.FrameRates, want) {
		t.Fatalf("frame rates %+v, want %+v", r.FrameRates, want)
	}
	if r.Reconnects != 1 || r.BrowserRestarts != 1 || r.FFmpegRestarts != 1 {
		t.Fatalf("counts %s", b)
	}
	if len(r.Participants) != 2 || *r.Participants[0].LeftAt != 10 || r.Participants[1].Name != "Alice" || r.Participants[1].JoinedAt != 16 {
		t.Fatalf("participants across the restart %s", b)
	}
	for _, key := range []string{`"segments":[`, `"gaps":[`, `"reconnects":1`, `"browserRestarts":1`, `"ffmpegRestarts":1`, `"startAt":15`, `"from":10,"to":15`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}
