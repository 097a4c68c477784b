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
	SizeBytes int64     `json:"sizeBytes"` // all segments together
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

	// Segments are the files of the recording in order: a new one starts
	// after FFmpeg or the browser had to be restarted. The first is File.
	Segments []Segment `json:"segments"`
	// Gaps are the stretches of the timeline without (meeting) media.
	Gaps []Gap `json:"gaps"`
	// FrameRates are the changes of the composite's frame rate: the
	// recorder lowers it while the browser's encoder falls behind (a
	// CPU-starved machine) and raises it again when it keeps up. Empty
	// when the whole recording ran at Encoder.FPS.
	FrameRates []FrameRateChange `json:"frameRates,omitempty"`
	// Tracks are the per-participant track files (CAPTURE=tracks): each
	// participant's audio and video as received, not transcoded.
	Tracks []Track `json:"tracks,omitempty"`
	// VideoStates are the changes of the participants' video streams
	// (muted, screen share) that the composite followed; with
	// Participants and Speakers they are enough to compose again from
	// Tracks.
	VideoStates     []VideoState `json:"videoStates,omitempty"`
	Reconnects      int          `json:"reconnects"`
	BrowserRestarts int          `json:"browserRestarts"`
	FFmpegRestarts  int          `json:"ffmpegRestarts"`
}

// Why a segment started.
const (
	SegmentStart          = "start"
	SegmentFFmpegRestart  = "ffmpeg-restart"
	SegmentBrowserRestart = "browser-restart"
)

// Why the timeline has a gap.
const (
	GapNoMedia        = "no-media"
	GapReconnecting   = "reconnecting"
	GapFFmpegRestart  = "ffmpeg-restart"
	GapBrowserRestart = "browser-restart"
)

// Segment is one file of the recording. Offsets are seconds on the
// recording's timeline (0 = first media of the first segment); EndAt is
// nil while the segment is being written.
type Segment struct {
	File      string   `json:"file"`
	StartAt   float64  `json:"startAt"`
	EndAt     *float64 `json:"endAt,omitempty"`
	SizeBytes int64    `json:"sizeBytes"`
	// MediaSeconds is how much media the file holds (FFmpeg's count):
	// less than EndAt-StartAt when the browser's encoder fell behind.
	MediaSeconds float64 `json:"mediaSeconds"`
	Reason       string  `json:"reason"`
}

// Gap is a stretch of the timeline without media from the meeting (the
// file shows frozen or black tiles) or without a file at all (a restart).
// To is nil while the gap is open.
type Gap struct {
	From   float64  `json:"from"`
	To     *float64 `json:"to,omitempty"`
	Reason string   `json:"reason"`
}

// Track is one participant's stream, written as received into File. Its
// timestamps are on the recording's timeline (seconds from Start), so
// StartAt is also the file's first timestamp.
type Track struct {
	File        string   `json:"file"`
	Participant string   `json:"participant"`
	Kind        string   `json:"kind"` // audio or video
	Codec       string   `json:"codec"`
	SSRC        uint32   `json:"ssrc"`
	StartAt     float64  `json:"startAt"`
	EndAt       *float64 `json:"endAt,omitempty"`
	Frames      int64    `json:"frames"`
	SizeBytes   int64    `json:"sizeBytes"`
	Width       int      `json:"width,omitempty"`
	Height      int      `json:"height,omitempty"`
}

// VideoState is a participant's video stream (by SSRC) changing at At.
type VideoState struct {
	At          float64 `json:"at"`
	Participant string  `json:"participant"`
	SSRC        uint32  `json:"ssrc"`
	Muted       bool    `json:"muted"`
	Removed     bool    `json:"removed,omitempty"`
	VideoType   string  `json:"videoType,omitempty"`
}

// FrameRateChange is the moment the composite went to FPS frames a second.
type FrameRateChange struct {
	At  float64 `json:"at"`
	FPS int     `json:"fps"`
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
	if base.Segments == nil {
		base.Segments = []Segment{}
	}
	if base.Gaps == nil {
		base.Gaps = []Gap{}
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

// LeftAll notes everyone present leaving at once (the recorder lost the
// meeting); whoever is still there joins again when it is back.
func (t *Tracker) LeftAll(at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	off := t.offset(at)
	for id, i := range t.present {
		t.rec.Participants[i].LeftAt = &off
		delete(t.present, id)
	}
}

// SegmentStarted notes a new segment file.
func (t *Tracker) SegmentStarted(file string, at time.Time, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rec.Segments = append(t.rec.Segments, Segment{File: file, StartAt: t.offset(at), Reason: reason})
}

// SegmentEnded notes the end of a segment, its final size and the media
// seconds it holds.
func (t *Tracker) SegmentEnded(file string, at time.Time, size int64, mediaSeconds float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.rec.Segments {
		if sg := &t.rec.Segments[i]; sg.File == file {
			end := max(t.offset(at), sg.StartAt)
			sg.EndAt, sg.SizeBytes = &end, size
			sg.MediaSeconds = math.Round(mediaSeconds*1000) / 1000
		}
	}
}

// SegmentSize updates a segment's size while it is written.
func (t *Tracker) SegmentSize(file string, size int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range t.rec.Segments {
		if t.rec.Segments[i].File == file {
			t.rec.Segments[i].SizeBytes = size
		}
	}
}

// GapStarted opens a gap; a gap of the same reason that is open already
// stays as it is.
func (t *Tracker) GapStarted(at time.Time, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.openGap(reason) >= 0 {
		return
	}
	t.rec.Gaps = append(t.rec.Gaps, Gap{From: t.offset(at), Reason: reason})
}

// GapEnded closes the open gap of that reason, if any.
func (t *Tracker) GapEnded(at time.Time, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i := t.openGap(reason); i >= 0 {
		to := max(t.offset(at), t.rec.Gaps[i].From)
		t.rec.Gaps[i].To = &to
	}
}

// FrameRateChanged notes the composite's new frame rate.
func (t *Tracker) FrameRateChanged(at time.Time, fps int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rec.FrameRates = append(t.rec.FrameRates, FrameRateChange{At: t.offset(at), FPS: fps})
}

func (t *Tracker) openGap(reason string) int {
	for i := len(t.rec.Gaps) - 1; i >= 0; i-- {
		if g := t.rec.Gaps[i]; g.Reason == reason && g.To == nil {
			return i
		}
	}
	return -1
}

// SetTracks replaces the list of track files.
func (t *Tracker) SetTracks(tracks []Track) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rec.Tracks = tracks
}

// VideoChanged notes a participant's video stream changing.
func (t *Tracker) VideoChanged(at time.Time, participant string, ssrc uint32, muted, removed bool, videoType string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rec.VideoStates = append(t.rec.VideoStates, VideoState{At: t.offset(at), Participant: participant, SSRC: ssrc,
		Muted: muted, Removed: removed, VideoType: videoType})
}

// Reconnected counts a rejoin after the meeting was lost.
func (t *Tracker) Reconnected() { t.count(&t.rec.Reconnects) }

// BrowserRestarted counts a restart of the browser.
func (t *Tracker) BrowserRestarted() { t.count(&t.rec.BrowserRestarts) }

// FFmpegRestarted counts a restart of FFmpeg.
func (t *Tracker) FFmpegRestarted() { t.count(&t.rec.FFmpegRestarts) }

func (t *Tracker) count(n *int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	*n++
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
	r.Segments = append(make([]Segment, 0, len(t.rec.Segments)), t.rec.Segments...)
	r.Gaps = append(make([]Gap, 0, len(t.rec.Gaps)), t.rec.Gaps...)
	r.Tracks = append([]Track(nil), t.rec.Tracks...)
	r.VideoStates = append([]VideoState(nil), t.rec.VideoStates...)
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
		// The recording is over: whatever is open ends with it.
		for i := range r.Segments {
			if r.Segments[i].EndAt == nil {
				r.Segments[i].EndAt = &r.DurationSeconds
			}
		}
		for i := range r.Gaps {
			if r.Gaps[i].To == nil {
				r.Gaps[i].To = &r.DurationSeconds
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
