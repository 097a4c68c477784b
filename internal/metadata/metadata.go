// Package metadata keeps the facts about a recording (who was there when,
// who spoke, how it was encoded, why it stopped) and writes them as the
// JSON file beside the recording. It never holds a JWT or password.
package metadata

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Recording is the JSON document.
type Recording struct {
	Room      string    `json:"room"`
	Tenant    string    `json:"tenant,omitempty"`
	Domain    string    `json:"domain"`
	URL       string    `json:"url"` // without JWT
	File      string    `json:"file"`
	SizeBytes int64     `json:"sizeBytes"`
	Start     time.Time `json:"start,omitzero"`
	End       time.Time `json:"end,omitzero"`
	// DurationSeconds is End-Start.
	DurationSeconds float64 `json:"durationSeconds"`
	Layout          string  `json:"layout"`
	Encoder         Encoder `json:"encoder"`
	// Participants are the remote participants, in order of joining.
	Participants []Participant `json:"participants"`
	// Speakers is the dominant-speaker timeline.
	Speakers   []SpeakerChange `json:"dominantSpeakers"`
	StopReason string          `json:"stopReason,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// Encoder says how the recording was made.
type Encoder struct {
	MimeType     string `json:"mimeType"` // what the page's MediaRecorder produced
	VideoCodec   string `json:"videoCodec"`
	AudioCodec   string `json:"audioCodec"`
	VideoCopied  bool   `json:"videoCopied"` // H.264 copied, not re-encoded
	Container    string `json:"container"`   // of the output file
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FPS          int    `json:"fps"`
	VideoBitrate int    `json:"videoBitrate"`
	AudioBitrate int    `json:"audioBitrate"`
}

// Participant is one remote participant. Offsets are seconds from the
// recording's start; someone present before the start has joinedAt 0.
type Participant struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	JoinedAt float64  `json:"joinedAt"`
	LeftAt   *float64 `json:"leftAt,omitempty"`
}

// SpeakerChange is the moment someone became the dominant speaker.
type SpeakerChange struct {
	At   float64 `json:"at"`
	ID   string  `json:"id"`
	Name string  `json:"name,omitempty"`
}

// Tracker collects events while recording. It is safe for concurrent use.
type Tracker struct {
	mu      sync.Mutex
	rec     Recording
	started bool
	present map[string]int // id -> index in rec.Participants, while present
	names   map[string]string
}

// NewTracker starts a document with the fixed facts filled in.
func NewTracker(base Recording) *Tracker {
	if base.Participants == nil {
		base.Participants = []Participant{}
	}
	if base.Speakers == nil {
		base.Speakers = []SpeakerChange{}
	}
	return &Tracker{rec: base, present: map[string]int{}, names: map[string]string{}}
}

// Started marks the recording's start (the time of its first media).
func (t *Tracker) Started(at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.started {
		t.started = true
		t.rec.Start = at.UTC()
	}
}

// SetEncoder records the encoder settings.
func (t *Tracker) SetEncoder(e Encoder) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rec.Encoder = e
}

func (t *Tracker) offset(at time.Time) float64 {
	if !t.started || at.Before(t.rec.Start) {
		return 0
	}
	return math.Round(at.Sub(t.rec.Start).Seconds()*1000) / 1000
}

// Joined notes a participant arriving (again).
func (t *Tracker) Joined(id, name string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.present[id]; ok {
		return
	}
	if name == "" {
		name = t.names[id]
	}
	t.names[id] = name
	t.rec.Participants = append(t.rec.Participants, Participant{ID: id, Name: name, JoinedAt: t.offset(at)})
	t.present[id] = len(t.rec.Participants) - 1
}

// Left notes a participant leaving.
func (t *Tracker) Left(id string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.present[id]
	if !ok {
		return
	}
	off := t.offset(at)
	t.rec.Participants[i].LeftAt = &off
	delete(t.present, id)
}

// Renamed updates a participant's display name.
func (t *Tracker) Renamed(id, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.names[id] = name
	if i, ok := t.present[id]; ok {
		t.rec.Participants[i].Name = name
	}
}

// Speaker notes a new dominant speaker.
func (t *Tracker) Speaker(id string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.rec.Speakers); n > 0 && t.rec.Speakers[n-1].ID == id {
		return
	}
	t.rec.Speakers = append(t.rec.Speakers, SpeakerChange{At: t.offset(at), ID: id, Name: t.names[id]})
}

// Present is how many remote participants are in the meeting now.
func (t *Tracker) Present() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.present)
}

// Names of the participants present now, sorted.
func (t *Tracker) PresentNames() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for id := range t.present {
		out = append(out, t.names[id])
	}
	sort.Strings(out)
	return out
}

// Snapshot returns the document as of now; end is zero while recording.
func (t *Tracker) Snapshot(end time.Time, size int64, stopReason string, err error) Recording {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.rec
	r.Participants = append(make([]Participant, 0, len(t.rec.Participants)), t.rec.Participants...)
	r.Speakers = append(make([]SpeakerChange, 0, len(t.rec.Speakers)), t.rec.Speakers...)
	r.SizeBytes = size
	r.StopReason = stopReason
	if err != nil {
		r.Error = err.Error()
	}
	if !end.IsZero() && t.started {
		r.End = end.UTC()
		r.DurationSeconds = math.Round(end.Sub(r.Start).Seconds()*1000) / 1000
		for i := range r.Participants {
			if r.Participants[i].LeftAt == nil {
				left := r.DurationSeconds
				r.Participants[i].LeftAt = &left
			}
		}
	}
	return r
}

// Write stores r as indented JSON at path, atomically (temp file + rename)
// so a reader never sees half a file.
func Write(path string, r Recording) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write metadata: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write metadata %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write metadata %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write metadata %s: %w", path, err)
	}
	return nil
}

// PathFor is the metadata file beside a recording: x.mp4 -> x.json.
func PathFor(recording string) string {
	return strings.TrimSuffix(recording, filepath.Ext(recording)) + ".json"
}
