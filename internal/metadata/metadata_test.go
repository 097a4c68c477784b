package metadata

import (
	"encoding/json"
	"os"
	"path/filepath"
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
