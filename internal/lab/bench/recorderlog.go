package bench

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"
)

// recorderLog follows jitsi-recorder's JSON log (LOG_FORMAT=json) for the
// moments a benchmark times and for the warnings worth showing.
type recorderLog struct {
	mu      sync.Mutex
	partial []byte
	now     func() time.Time

	joined, recording time.Time
	videoCodec        string
	videoCopied       *bool
	warnings          []string
	tail              []string
}

const maxWarnings, maxTail = 20, 30

// logLine is the part of a recorder log line the benchmark reads.
type logLine struct {
	Time   time.Time `json:"time"`
	Level  string    `json:"level"`
	Msg    string    `json:"msg"`
	State  string    `json:"state"`
	Video  string    `json:"video"`
	Copied *bool     `json:"video_copied"`
}

func newRecorderLog() *recorderLog { return &recorderLog{now: time.Now} }

// Write takes the recorder's output in any pieces; it never fails.
func (r *recorderLog) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.partial = append(r.partial, p...)
	for {
		line, rest, ok := bytes.Cut(r.partial, []byte("\n"))
		if !ok {
			break
		}
		r.line(line)
		r.partial = append(r.partial[:0], rest...)
	}
	return len(p), nil
}

func (r *recorderLog) line(b []byte) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return
	}
	r.tail = append(r.tail, string(b))
	if len(r.tail) > maxTail {
		r.tail = r.tail[1:]
	}
	var l logLine
	if err := json.Unmarshal(b, &l); err != nil {
		return // FFmpeg or Chromium noise, kept in the tail only
	}
	at := l.Time
	if at.IsZero() {
		at = r.now()
	}
	switch {
	case l.Msg == "page state" && l.State == "joined" && r.joined.IsZero():
		r.joined = at
	case l.Msg == "recording started" && r.recording.IsZero():
		r.recording = at
	case l.Msg == "encoder":
		r.videoCodec, r.videoCopied = l.Video, l.Copied
	}
	if (l.Level == "WARN" || l.Level == "ERROR") && len(r.warnings) < maxWarnings {
		r.warnings = append(r.warnings, l.Level+" "+l.Msg)
	}
}

// logFacts is what the log said, read once the recorder has exited.
type logFacts struct {
	Joined, Recording time.Time
	VideoCodec        string
	VideoCopied       *bool
	Warnings, Tail    []string
}

func (r *recorderLog) facts() logFacts {
	r.mu.Lock()
	defer r.mu.Unlock()
	return logFacts{Joined: r.joined, Recording: r.recording, VideoCodec: r.videoCodec, VideoCopied: r.videoCopied,
		Warnings: append([]string(nil), r.warnings...), Tail: append([]string(nil), r.tail...)}
}
