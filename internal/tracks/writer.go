package tracks

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// fileMode keeps recordings away from other users on the host.
const fileMode = 0o640

// Set writes every track to its own Matroska file in one directory:
// <stem>.<participant>.<kind>.<n>.mkv, n counting that participant's
// tracks of that kind from 1. It is safe for concurrent use.
type Set struct {
	dir, stem string
	log       *slog.Logger

	mu     sync.Mutex
	files  map[*Info]*trackFile
	order  []*trackFile
	counts map[string]int
	closed bool
}

type trackFile struct {
	info Info // the Set's copy, with File and the counters
	f    *os.File
	mkv  *MKVWriter
	// err refuses all later writes of the track once its file is unusable.
	err error
}

// NewSet writes files into dir, named after stem.
func NewSet(dir, stem string, log *slog.Logger) *Set {
	return &Set{
		dir:    dir,
		stem:   stem,
		log:    log,
		files:  make(map[*Info]*trackFile),
		counts: make(map[string]int),
	}
}

// Write appends a frame to its track's file, creating the file on the
// track's first frame. Once a track's file failed (it exists already, the
// disk is full, ...) every later write of that track returns the error:
// the stream may end mid-block and appending would hide that.
func (s *Set) Write(t Timed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("tracks: write to closed set")
	}
	if t.Track == nil {
		return errors.New("tracks: frame without a track")
	}
	tf := s.files[t.Track]
	if tf == nil {
		tf = s.create(t)
	}
	if tf.err != nil {
		return fmt.Errorf("track %s: %w", tf.info.ID, tf.err)
	}
	if err := tf.mkv.WriteFrame(t.At, t.Keyframe, t.Data); err != nil {
		if tf.mkv.err == nil {
			// Only this frame was bad (e.g. not Annex B); the file is fine.
			return fmt.Errorf("track %s: %w", tf.info.ID, err)
		}
		tf.err = fmt.Errorf("%w: %w", ErrWriterFailed, err)
		s.log.Error("track file failed; dropping the rest of the track",
			"track", tf.info.ID, "file", tf.info.File, "err", err)
		return fmt.Errorf("track %s: %w", tf.info.ID, err)
	}
	tf.info.Frames++
	tf.info.Bytes += int64(len(t.Data))
	if t.Width > 0 && t.Height > 0 {
		tf.info.Width, tf.info.Height = t.Width, t.Height
	}
	return nil
}

// create opens the file of a new track. A failure is recorded in the
// trackFile so it is reported on every write, not retried per frame.
func (s *Set) create(t Timed) *trackFile {
	// Count by the sanitized id so that two ids which sanitize alike get
	// distinct numbers instead of colliding on O_EXCL.
	participant := sanitizeID(t.Track.Participant)
	key := participant + "." + string(t.Track.Kind)
	s.counts[key]++
	name := fmt.Sprintf("%s.%s.%d.mkv", s.stem, key, s.counts[key])
	tf := &trackFile{info: *t.Track}
	tf.info.File = name
	s.files[t.Track] = tf
	s.order = append(s.order, tf)

	path := filepath.Join(s.dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, fileMode)
	if err != nil {
		tf.err = fmt.Errorf("create track file: %w", err)
		s.log.Error("cannot create track file", "track", tf.info.ID, "err", err)
		return tf
	}
	m, err := NewMKVWriter(f, t.Track.Codec, t.Width, t.Height, t.Data)
	if err != nil {
		tf.err = fmt.Errorf("start %s: %w", path, err)
		s.log.Error("cannot start track file", "track", tf.info.ID, "file", path, "err", err)
		f.Close()
		return tf
	}
	tf.f, tf.mkv = f, m
	tf.info.Width, tf.info.Height = m.Size()
	s.log.Info("track file started", "track", tf.info.ID, "file", name,
		"codec", t.Track.Codec, "ssrc", t.Track.SSRC, "start", t.Track.Start)
	return tf
}

// Infos returns a snapshot of every track written so far, in the order
// their files were created.
func (s *Set) Infos() []Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	infos := make([]Info, 0, len(s.order))
	for _, tf := range s.order {
		infos = append(infos, tf.info)
	}
	return infos
}

// Close closes every file; later writes fail.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for _, tf := range s.order {
		if tf.f == nil {
			continue
		}
		_ = tf.mkv.Close() // its only error is a write failure, already reported
		if err := tf.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", tf.info.File, err))
		}
	}
	return errors.Join(errs...)
}

// sanitizeID keeps a participant id safe as a file name part.
func sanitizeID(id string) string {
	const maxLen = 64
	var b strings.Builder
	for _, r := range id {
		if b.Len() >= maxLen {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}
