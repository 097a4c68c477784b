package recorder

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/compose"
	"github.com/jitsi-recorder/jitsi-recorder/internal/ffmpeg"
	"github.com/jitsi-recorder/jitsi-recorder/internal/metadata"
	"github.com/jitsi-recorder/jitsi-recorder/internal/tracks"
)

// Capture mode tracks: the page hands over each receiver's encoded frames
// (page -> binding -> readBindings -> frames -> writeFrames); Go places
// them on the timeline, writes each participant's track file as received,
// and feeds the attempt's compose.Engine, whose composite an FFmpeg
// encoder writes into the segment's MP4.

// writeFrames routes an attempt's frames batches. The first batch opens
// the attempt's segment; a dead encoder's segment is replaced on request
// (reopen) while the engine and its decoders go on.
func (s *session) writeFrames(a *attempt) {
	defer close(a.writerDone)
	var (
		seg    *segment
		failed bool
		warned bool
	)
	for {
		select {
		case raw, ok := <-a.frames:
			if !ok {
				return
			}
			if failed {
				continue // drain so the reader never blocks
			}
			frames, err := tracks.DecodeFrames(raw)
			if err != nil && !warned {
				warned = true
				s.log.Warn("bad frames from the page", "err", err)
			}
			if seg == nil && len(frames) == 0 && !s.timelineStarted() {
				continue // the page's heartbeat while it joins: no media yet
			}
			if seg == nil {
				if a.ctx.Err() != nil {
					failed = true
					continue
				}
				seg, err = s.openComposedSegment(a)
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
			if err := s.routeFrames(a, frames); err != nil {
				s.writerErr <- err
				failed = true
				continue
			}
			s.chunksWritten.Add(1)
			seg.lastWrite.Store(time.Now().UnixNano())
		case reply := <-a.reopen:
			if failed {
				reply <- errors.New("the recording cannot go on")
				continue
			}
			next, err := s.openComposedSegment(a)
			if err != nil {
				reply <- err
				continue
			}
			seg = next
			reply <- nil
			s.segStarted <- seg
		}
	}
}

// routeFrames places frames on the timeline, writes them to their track
// files and hands them to the composite. Only a track file that cannot
// be written (disk full) is an error.
func (s *session) routeFrames(a *attempt, frames []tracks.Frame) error {
	s.routeMu.Lock()
	defer s.routeMu.Unlock()
	if s.router == nil {
		s.mu.Lock()
		start := s.timelineStart
		s.mu.Unlock()
		s.router = tracks.NewRouter(start)
	}
	for _, f := range frames {
		t, ok := s.router.Route(f)
		if !ok {
			continue
		}
		if err := s.trackFiles.Write(t); err != nil {
			return err
		}
		if err := a.engine.Frame(t); err != nil {
			s.log.Warn("the composite cannot decode a track", "track", t.Track.ID, "err", err)
		}
	}
	return nil
}

// reopenSegment asks the attempt's writer for a new segment after its
// encoder died; the page goes on sending.
func (s *session) reopenSegment(a *attempt) error {
	reply := make(chan error, 1)
	select {
	case a.reopen <- reply:
	case <-a.writerDone:
		return errors.New("the attempt's writer has ended")
	}
	return <-reply
}

// openComposedSegment claims the next segment file and starts its
// encoder, fed by the attempt's engine from the segment's start on.
func (s *session) openComposedSegment(a *attempt) (*segment, error) {
	now := time.Now()
	s.mu.Lock()
	if s.timelineStart.IsZero() {
		// The first media starts the timeline: the frames are placed on
		// it from here.
		s.timelineStart = now
	}
	timelineStart := s.timelineStart
	index := s.segmentCount + 1
	reason := s.nextReason
	s.mu.Unlock()
	if reason == "" {
		reason = metadata.SegmentStart
	}
	startedAt := now
	if index == 1 {
		startedAt = timelineStart
	}
	var maxDuration time.Duration
	if s.cfg.Duration > 0 {
		maxDuration = s.cfg.Duration - startedAt.Sub(timelineStart)
		if maxDuration <= 0 {
			return nil, errNothingLeft
		}
	}
	path, err := claimSegment(s.outPath, index)
	if err != nil {
		return nil, err
	}
	enc, err := ffmpeg.StartEncoder(s.sessCtx, ffmpeg.EncoderOptions{
		Binary: s.cfg.FFmpegPath, Output: path,
		Width: s.cfg.Width, Height: s.cfg.Height, FPS: s.cfg.FPS,
		VideoBitrate: s.cfg.VideoBitrate, AudioBitrate: s.cfg.AudioBitrate,
		AudioOnly: s.cfg.AudioOnly, MaxDuration: maxDuration,
		StopTimeout: s.t.ffmpegClose, Logger: s.log.With("proc", "ffmpeg"),
	})
	if err != nil {
		if index > 1 {
			os.Remove(path)
		}
		return nil, err
	}
	alive := func() time.Time {
		if n := a.lastChunk.Load(); n > 0 {
			return time.Unix(0, n)
		}
		return time.Time{}
	}
	live := a.engine.RunLive(s.sessCtx, enc, startedAt, startedAt.Sub(timelineStart), compose.DefaultDelay, alive)
	s.mu.Lock()
	s.segmentCount = index
	s.mu.Unlock()
	s.meta.SetEncoder(metadata.Encoder{
		VideoCodec: "h264", AudioCodec: "aac", Container: "mp4 (fragmented)",
		Width: s.cfg.Width, Height: s.cfg.Height, FPS: s.cfg.FPS, VideoBitrate: s.cfg.VideoBitrate, AudioBitrate: s.cfg.AudioBitrate,
	})
	s.log.Debug("composite encoder started", "segment", filepath.Base(path), "origin", startedAt.Sub(timelineStart).String())
	return &segment{index: index, path: path, reason: reason, attempt: a, ff: &composedSink{enc: enc, live: live, engine: a.engine, alive: alive},
		startedAt: startedAt, maxDuration: maxDuration}, nil
}

// composedSink is a segment written by the composite's encoder.
type composedSink struct {
	enc    *ffmpeg.Encoder
	live   *compose.Live
	engine *compose.Engine
	alive  func() time.Time // the page's last batch
}

func (c *composedSink) Done() <-chan struct{}     { return c.enc.Done() }
func (c *composedSink) Err() error                { return c.enc.Err() }
func (c *composedSink) ReachedMaxDuration() bool  { return c.enc.ReachedMaxDuration() }
func (c *composedSink) Progress() ffmpeg.Progress { return c.enc.Progress() }

func (c *composedSink) Kill() {
	c.live.Finish(time.Now())
	c.enc.Kill()
}

// CloseWithin renders the composite up to now and then closes the
// encoder. A segment is closed when its browser is done (a stop, a
// browser restart): the page sends no more, so the decoders are flushed
// first and the composite's last second, which it renders a delay
// behind the clock, holds their last pictures and samples.
func (c *composedSink) CloseWithin(d time.Duration) error {
	until := time.Now()
	if a := c.alive(); !a.IsZero() && a.Before(until) {
		until = a // a frozen page's file ends where its media did
	}
	c.engine.Flush(min(d, compose.DefaultDelay))
	c.live.Finish(until)
	select {
	case <-c.live.Done():
	case <-time.After(d):
	}
	return c.enc.CloseWithin(d)
}

// timelineStarted: the page recorded or the first media came.
func (s *session) timelineStarted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.timelineStart.IsZero()
}

// timelineAt is t's place on the recording's timeline (0 before it starts).
func (s *session) timelineAt(t time.Time) time.Duration {
	s.mu.Lock()
	start := s.timelineStart
	s.mu.Unlock()
	if start.IsZero() || t.Before(start) {
		return 0
	}
	return t.Sub(start)
}

// composeEvent hands a page event that changes the composite to the
// attempt's engine, and notes video changes in the metadata.
func (s *session) composeEvent(a *attempt, ev pageEvent) {
	if a.engine == nil {
		return
	}
	at := s.timelineAt(ev.time())
	switch ev.Type {
	case "participant-joined":
		a.engine.Event(compose.Event{At: at, Kind: compose.Join, Participant: ev.ID, Name: ev.Name})
	case "participant-left":
		a.engine.Event(compose.Event{At: at, Kind: compose.Leave, Participant: ev.ID})
	case "participant-renamed":
		a.engine.Event(compose.Event{At: at, Kind: compose.Rename, Participant: ev.ID, Name: ev.Name})
	case "dominant-speaker":
		a.engine.Event(compose.Event{At: at, Kind: compose.Dominant, Participant: ev.ID})
	case "track":
		if ev.Kind != "video" || ev.SSRC == 0 {
			return
		}
		a.engine.Event(compose.Event{At: at, Kind: compose.TrackState, Participant: ev.ID, SSRC: ev.SSRC,
			Muted: ev.Muted, Removed: ev.Removed, VideoType: ev.VideoType})
		s.meta.VideoChanged(ev.time(), ev.ID, ev.SSRC, ev.Muted, ev.Removed, ev.VideoType)
	}
}

// trackMetadata lists the track files for the metadata.
func (s *session) trackMetadata() []metadata.Track {
	if s.trackFiles == nil {
		return nil
	}
	var out []metadata.Track
	for _, in := range s.trackFiles.Infos() {
		out = append(out, metadata.Track{
			File: in.File, Participant: in.Participant, Kind: string(in.Kind), Codec: in.Codec, SSRC: in.SSRC,
			StartAt: in.Start.Seconds(), Frames: in.Frames, SizeBytes: in.Bytes, Width: in.Width, Height: in.Height,
		})
	}
	return out
}

// trackStem is the track files' name stem: the recording's without .mp4.
func trackStem(outPath string) string {
	return strings.TrimSuffix(filepath.Base(outPath), ".mp4")
}
