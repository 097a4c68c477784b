package compose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/ffmpeg"
	"github.com/jitsi-recorder/jitsi-recorder/internal/metadata"
	"github.com/jitsi-recorder/jitsi-recorder/internal/tracks"
)

// Progress is called as the offline composite advances: done of total
// (total is 0 when the recording's length is unknown, as after a kill).
type Progress func(done, total time.Duration)

// Compose builds the composite again from a recording's track files (in
// dir, named by rec.Tracks) and the events in its metadata, as fast as
// the decoders go, into out. It returns the length composed.
func Compose(ctx context.Context, rec metadata.Recording, dir string, opts Options, out Output, progress Progress) (time.Duration, error) {
	if len(rec.Tracks) == 0 {
		return 0, errors.New("the metadata lists no track files (recorded with CAPTURE=tracks?)")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e := New(ctx, opts)
	e.offline = true
	defer e.Close()
	for _, ev := range replay(rec) {
		e.Event(ev)
	}
	for i, tr := range rec.Tracks {
		if err := e.openTrackFile(ctx, i, tr, dir); err != nil {
			return 0, err
		}
	}
	total := time.Duration(rec.DurationSeconds * float64(time.Second))
	at, err := e.composeAll(ctx, newAsyncOutput(out), total, progress)
	return at, err
}

// composeAll renders picture after picture, each when every decoder has
// gone past it, and the audio up to the next one.
func (e *Engine) composeAll(ctx context.Context, out *asyncOutput, total time.Duration, progress Progress) (at time.Duration, err error) {
	defer func() {
		if cerr := out.close(); err == nil && cerr != nil {
			err = fmt.Errorf("encode: %w", cerr)
		}
	}()
	fps := int64(e.opts.FPS)
	var n, samples int64
	for {
		at = time.Duration(n) * time.Second / time.Duration(fps)
		if ctx.Err() != nil {
			return at, ctx.Err()
		}
		if e.allEnded(at) || (total > 0 && at >= total) {
			return at, nil
		}
		// The audio up to the next picture.
		upTo := (n + 1) * SampleRate / fps
		for _, a := range e.audios {
			a.waitPast(upTo)
		}
		if err := out.WriteAudio(e.Audio(samples, int(upTo-samples))); err != nil {
			return at, fmt.Errorf("encode: %w", err)
		}
		if !e.opts.AudioOnly {
			for _, v := range e.videos {
				v.waitPast(at)
			}
			if err := out.WriteVideo(e.Video(at)); err != nil {
				return at, fmt.Errorf("encode: %w", err)
			}
		}
		samples = upTo
		n++
		if progress != nil && n%fps == 0 {
			progress(at, total)
		}
	}
}

// allEnded: every decoder is done and has nothing left after at.
func (e *Engine) allEnded(at time.Duration) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	sample := int64(at) * SampleRate / int64(time.Second)
	for _, v := range e.videos {
		v.mu.Lock()
		left := !v.ended || (len(v.pending) > 0 && v.pending[len(v.pending)-1].pts > at)
		v.mu.Unlock()
		if left {
			return false
		}
	}
	for _, a := range e.audios {
		a.mu.Lock()
		left := !a.ended || len(a.pending) > 0 || a.drained > sample
		a.mu.Unlock()
		if left {
			return false
		}
	}
	return true
}

// openTrackFile starts a decoder on one track file.
func (e *Engine) openTrackFile(ctx context.Context, i int, tr metadata.Track, dir string) error {
	path := filepath.Join(dir, filepath.Base(tr.File))
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("track %s: %w", tr.File, err)
	}
	id := fmt.Sprintf("%s-%s-%d", tr.Participant, tr.Kind, i)
	var in decoderInput
	switch tracks.Kind(tr.Kind) {
	case tracks.Video:
		if e.opts.AudioOnly {
			f.Close()
			return nil
		}
		w, h := decodeSize(tracks.Timed{Width: tr.Width, Height: tr.Height}, e.opts.Width, e.opts.Height)
		dec, err := ffmpeg.StartVideoDecoder(ctx, ffmpeg.DecoderOptions{
			Binary: e.opts.FFmpeg, Width: w, Height: h, Logger: e.log.With("proc", "ffmpeg-decoder", "track", tr.File),
		})
		if err != nil {
			f.Close()
			return fmt.Errorf("decode %s: %w", tr.File, err)
		}
		v := newVideoTrack(tr.Participant, tr.SSRC, dec, w, h)
		go v.collect(true)
		e.videos[id] = v
		in = dec
	case tracks.Audio:
		dec, err := ffmpeg.StartAudioDecoder(ctx, ffmpeg.DecoderOptions{
			Binary: e.opts.FFmpeg, Logger: e.log.With("proc", "ffmpeg-decoder", "track", tr.File),
		})
		if err != nil {
			f.Close()
			return fmt.Errorf("decode %s: %w", tr.File, err)
		}
		a := newAudioTrack(id, dec)
		go a.collect(true)
		e.audios[id] = a
		in = dec
	default:
		f.Close()
		return fmt.Errorf("track %s: unknown kind %q", tr.File, tr.Kind)
	}
	go func() {
		defer f.Close()
		if _, err := io.Copy(in, f); err != nil {
			e.log.Debug("track file not fed whole", "file", tr.File, "err", err)
		}
		in.CloseInput()
	}()
	return nil
}

// replay turns the metadata's timeline back into the composite's events.
func replay(rec metadata.Recording) []Event {
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	var evs []Event
	for _, p := range rec.Participants {
		evs = append(evs, Event{At: sec(p.JoinedAt), Kind: Join, Participant: p.ID, Name: p.Name})
		if p.LeftAt != nil {
			evs = append(evs, Event{At: sec(*p.LeftAt), Kind: Leave, Participant: p.ID})
		}
	}
	for _, s := range rec.Speakers {
		evs = append(evs, Event{At: sec(s.At), Kind: Dominant, Participant: s.ID})
	}
	for _, v := range rec.VideoStates {
		evs = append(evs, Event{At: sec(v.At), Kind: TrackState, Participant: v.Participant, SSRC: v.SSRC,
			Muted: v.Muted, Removed: v.Removed, VideoType: v.VideoType})
	}
	return evs
}

// asyncOutput writes video and audio from goroutines of their own, so
// that the encoder can read whichever input it wants next (FFmpeg probes
// both inputs at its start, and later takes the one furthest behind)
// while the offline loop, which makes both in step, goes on.
type asyncOutput struct {
	video, audio chan []byte
	done         chan struct{}
	errc         chan error
	pool         chan []byte // spent video buffers
}

func newAsyncOutput(out Output) *asyncOutput {
	o := &asyncOutput{
		video: make(chan []byte, 4), audio: make(chan []byte, 64),
		done: make(chan struct{}), errc: make(chan error, 2), pool: make(chan []byte, 6),
	}
	run := func(in <-chan []byte, write func([]byte) error, recycle bool) {
		for b := range in {
			if err := write(b); err != nil {
				o.errc <- err
				for range in { // drain so the loop never blocks
				}
				return
			}
			if recycle {
				select {
				case o.pool <- b:
				default:
				}
			}
		}
		o.errc <- nil
	}
	go run(o.video, out.WriteVideo, true)
	go run(o.audio, out.WriteAudio, false)
	return o
}

func (o *asyncOutput) WriteVideo(frame []byte) error {
	var b []byte
	select {
	case b = <-o.pool:
	default:
	}
	o.video <- append(b[:0], frame...)
	return o.failed()
}

func (o *asyncOutput) WriteAudio(pcm []byte) error {
	o.audio <- append([]byte(nil), pcm...)
	return o.failed()
}

// failed returns a writer's error, if one has failed so far.
func (o *asyncOutput) failed() error {
	select {
	case err := <-o.errc:
		if err != nil {
			return err
		}
		o.errc <- nil
	default:
	}
	return nil
}

// close waits until everything queued is written; the first error.
func (o *asyncOutput) close() error {
	close(o.video)
	close(o.audio)
	var first error
	for range 2 {
		if err := <-o.errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}
