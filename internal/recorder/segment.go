package recorder

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/ffmpeg"
	"github.com/jitsi-recorder/jitsi-recorder/internal/metadata"
)

type chunk struct {
	gen  int64 // the page's encoder generation
	seq  int64 // from 0 in each generation
	data string
}

// sink is what writes a segment's file: FFmpeg fed the page's stream
// (*ffmpeg.Process), or the composite made outside the browser
// (*composedSink).
type sink interface {
	Done() <-chan struct{}
	Err() error
	Kill()
	CloseWithin(d time.Duration) error
	ReachedMaxDuration() bool
	Progress() ffmpeg.Progress
}

// segment is one output file, written by one FFmpeg from one encoder
// generation of one attempt's page.
type segment struct {
	index   int // 1 for OUTPUT_FILE, k for <stem>.part<k>.mp4
	path    string
	reason  string // metadata.Segment* constant
	attempt *attempt
	gen     int64
	ff      sink
	// startedAt is when its media starts: the first chunk arrived a chunk
	// length after the encoder started.
	startedAt time.Time
	// maxDuration is FFmpeg's -t: what is left of RECORD_DURATION (0: none).
	maxDuration time.Duration
	lastWrite   atomic.Int64 // unix nanos of the last chunk written
	ended       bool         // set by the session loop once accounted for
}

func (sg *segment) file() string { return filepath.Base(sg.path) }

func (sg *segment) size() int64 {
	if st, err := os.Stat(sg.path); err == nil {
		return st.Size()
	}
	return 0
}

// endedAt is the end of its media: the last chunk written (each chunk
// holds about the second before it arrived).
func (sg *segment) endedAt(fallback time.Time) time.Time {
	if n := sg.lastWrite.Load(); n > 0 {
		if t := time.Unix(0, n); t.Before(fallback) {
			return t
		}
	}
	return fallback
}

// segmentPath is segment k's file: OUTPUT_FILE for the first,
// <stem>.part<k>.mp4 beside it for the others.
func segmentPath(first string, k int) string {
	if k <= 1 {
		return first
	}
	return strings.TrimSuffix(first, ".mp4") + ".part" + strconv.Itoa(k) + ".mp4"
}

// claimSegment returns segment index's path, created unless it is the
// first (OUTPUT_FILE, claimed before the recording starts).
func claimSegment(first string, index int) (string, error) {
	path := segmentPath(first, index)
	if index <= 1 {
		return path, nil
	}
	if err := claim(path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return "", &Error{Kind: KindOutput, What: "create " + path, Err: errors.New("file exists"), Hint: "move the old recording's segments away"}
		}
		return "", outputError(fmt.Errorf("create %s: %w", path, err), filepath.Dir(path))
	}
	return path, nil
}

// claim creates path, never overwriting a file.
func claim(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// writeChunks feeds an attempt's chunks to FFmpeg in order. The first
// chunk of each encoder generation (a Matroska header: it says the codec)
// starts a new segment with its own FFmpeg; chunks of generations the
// session gave up on are dropped.
func (s *session) writeChunks(a *attempt) {
	defer close(a.writerDone)
	var (
		seg    *segment
		gen    int64 = -1
		next   int64
		broken bool // this generation's FFmpeg failed: drop the rest
		failed bool
	)
	for c := range a.chunks {
		if failed || c.gen < a.minGen.Load() {
			continue // drain so the reader never blocks
		}
		if c.gen != gen {
			if seg != nil && !closed(seg.ff.Done()) {
				s.log.Warn("the page started a new encoder generation by itself", "gen", c.gen)
			}
			gen, next, seg, broken = c.gen, 0, nil, false
		}
		if broken {
			continue
		}
		switch {
		case c.seq < next:
			s.log.Warn("duplicate media chunk dropped", "seq", c.seq)
			continue
		case c.seq > next:
			if seg == nil {
				s.log.Error("first media chunk missing; cannot decode the stream", "gen", c.gen, "seq", c.seq)
				s.writerErr <- fmt.Errorf("media stream starts at chunk %d, not 0", c.seq)
				failed = true
				continue
			}
			s.log.Warn("media chunks missing: the recording has a gap", "from", next, "to", c.seq-1)
		}
		next = c.seq + 1
		data, err := base64.StdEncoding.DecodeString(c.data)
		if err != nil {
			s.log.Warn("bad media chunk", "seq", c.seq, "err", err)
			continue
		}
		if seg == nil {
			if a.ctx.Err() != nil {
				failed = true // the attempt is over: no new file for it
				continue
			}
			seg, err = s.openSegment(a, c.gen, data)
			if errors.Is(err, errNothingLeft) {
				failed = true
				continue
			}
			if err != nil {
				s.writerErr <- err
				failed = true
				continue
			}
			s.segStarted <- seg
		}
		if _, err := seg.ff.(*ffmpeg.Process).Write(data); err != nil {
			// FFmpeg died: the session loop sees its Done and decides.
			s.log.Debug("write to ffmpeg failed", "segment", seg.file(), "err", err)
			broken = true
			continue
		}
		s.chunksWritten.Add(1)
		seg.lastWrite.Store(time.Now().UnixNano())
	}
}

// errNothingLeft: RECORD_DURATION is used up; no new segment.
var errNothingLeft = errors.New("record duration used up")

// openSegment claims the next segment file and starts its FFmpeg with
// the generation's first chunk (whose header says the codec).
func (s *session) openSegment(a *attempt, gen int64, header []byte) (*segment, error) {
	now := time.Now()
	s.mu.Lock()
	index := s.segmentCount + 1
	reason := s.nextReason
	codec := s.videoCodec
	timelineStart := s.timelineStart
	s.mu.Unlock()
	if reason == "" {
		reason = metadata.SegmentStart
	}
	// The first chunk arrives one chunk length after the encoder started.
	startedAt := now.Add(-chunkLength)
	switch {
	case timelineStart.IsZero():
		startedAt = now
	case index == 1:
		startedAt = timelineStart // the timeline starts with its media
	}
	var maxDuration time.Duration
	if s.cfg.Duration > 0 {
		maxDuration = s.cfg.Duration
		if index > 1 && !timelineStart.IsZero() {
			// RECORD_DURATION counts the whole timeline: this segment
			// gets what is left.
			maxDuration -= startedAt.Sub(timelineStart)
			if maxDuration <= 0 {
				return nil, errNothingLeft
			}
		}
	}
	path, err := claimSegment(s.outPath, index)
	if err != nil {
		return nil, err
	}
	if sniffed := ffmpeg.SniffVideoCodec(header); sniffed != "" {
		codec = sniffed // the stream itself is the truth
	}
	s.log.Debug("starting ffmpeg", "segment", filepath.Base(path), "video_codec", codec, "copy_video", ffmpeg.CanCopyVideo(codec),
		"max_duration", maxDuration.String())
	ff, err := ffmpeg.Start(s.sessCtx, ffmpeg.Options{
		Binary: s.cfg.FFmpegPath, Output: path, VideoCodec: codec,
		VideoBitrate: s.cfg.VideoBitrate, AudioBitrate: s.cfg.AudioBitrate, FPS: s.cfg.FPS,
		AudioOnly: s.cfg.AudioOnly,
		// The file ends at RECORD_DURATION of media even if the stop
		// reaches the page late (a busy machine).
		MaxDuration: maxDuration,
		StopTimeout: s.t.ffmpegClose, Logger: s.log.With("proc", "ffmpeg"),
	})
	if err != nil {
		if index > 1 {
			os.Remove(path)
		}
		return nil, err
	}
	s.mu.Lock()
	s.segmentCount = index
	s.mu.Unlock()
	return &segment{index: index, path: path, reason: reason, attempt: a, gen: gen, ff: ff, startedAt: startedAt, maxDuration: maxDuration}, nil
}

// chunkLength is the page's MediaRecorder timeslice (startOptions.ChunkMs).
const chunkLength = time.Second

// limiter allows at most max events in any window.
type limiter struct {
	max    int
	window time.Duration
	times  []time.Time
}

// allow records an event at now and reports whether it is within the
// limit.
func (l *limiter) allow(now time.Time) bool {
	kept := l.times[:0]
	for _, t := range l.times {
		if now.Sub(t) < l.window {
			kept = append(kept, t)
		}
	}
	l.times = append(kept, now)
	return len(l.times) <= l.max
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// encoderLagWarn is how far the media written may fall behind the clock
// while recording before the recorder warns.
const encoderLagWarn = 5 * time.Second

// incompleteAfter is how far the last file's media may fall short of the
// time it was recorded for: the page's last chunk and FFmpeg's last
// fragment take about a second, a lost last chunk another.
const incompleteAfter = 3 * time.Second

// shortfall returns the media sg should hold by stoppedAt (the time since
// its start, at most its RECORD_DURATION share) and the media FFmpeg has
// written: the browser's encoder falling behind real time (a CPU-starved
// machine) shows as the difference.
func (sg *segment) shortfall(stoppedAt time.Time) (want, got time.Duration) {
	want = stoppedAt.Sub(sg.startedAt)
	if sg.maxDuration > 0 && want > sg.maxDuration {
		want = sg.maxDuration
	}
	got = time.Duration(sg.ff.Progress().MediaSeconds * float64(time.Second))
	return want, got
}

// incompleteError reports a last segment that holds clearly less media
// than it was recorded for; nil when it is complete.
func incompleteError(sg *segment, stoppedAt time.Time) error {
	want, got := sg.shortfall(stoppedAt)
	if want-got <= incompleteAfter {
		return nil
	}
	return &Error{
		Kind: KindIncomplete, What: "record " + sg.file(),
		Err: fmt.Errorf("the file holds %s of media for the last %s of the meeting: the browser's encoder fell behind",
			got.Round(100*time.Millisecond), want.Round(100*time.Millisecond)),
		Hint: starvedHint,
	}
}

// videoShortError reports a last segment whose video ends clearly before
// its audio; nil when the tracks end together. FFmpeg's progress, and so
// incompleteError, follows the furthest track, while a starved browser's
// video encoder can fall seconds behind the audio, which then reaches the
// stop alone. A file that cannot be read for its tracks is logged, not
// failed: FFmpeg closed it cleanly.
func videoShortError(sg *segment, log *slog.Logger) error {
	video, audio, err := ffmpeg.TrackEnds(sg.path)
	if err != nil {
		log.Warn("could not read where the file's tracks end", "file", sg.file(), "err", err)
		return nil
	}
	log.Debug("track ends", "file", sg.file(), "video", video.String(), "audio", audio.String())
	if audio-video <= incompleteAfter {
		return nil
	}
	return &Error{
		Kind: KindIncomplete, What: "record " + sg.file(),
		Err: fmt.Errorf("the video ends %s before the audio (%s of %s): the browser's encoder fell behind",
			(audio - video).Round(100*time.Millisecond), video.Round(100*time.Millisecond), audio.Round(100*time.Millisecond)),
		Hint: starvedHint,
	}
}

// starvedHint is the fix for a recording that fell behind real time.
const starvedHint = "the machine is short of CPU: give the recorder a core of its own, or lower VIDEO_FPS or the resolution"
