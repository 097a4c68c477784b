// Package compose makes the recording's composite outside the browser: it
// decodes each participant's track with an FFmpeg decoder, lays the
// pictures out on one canvas as the meeting's events say (grid, active
// speaker, screen share, name tiles), mixes everyone's audio and hands
// both to one encoder. The same engine runs live, behind the timeline's
// live edge, and offline, from the track files on disk.
package compose

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/composite"
	"github.com/jitsi-recorder/jitsi-recorder/internal/tracks"
)

// SampleRate is the mix's rate; the PCM is stereo s16le.
const SampleRate = 48000

// Options say what the composite looks like.
type Options struct {
	FFmpeg        string // FFmpeg binary for the decoders; "" = "ffmpeg"
	Width, Height int
	FPS           int
	AudioOnly     bool
	Logger        *slog.Logger
}

// Output takes the composite: raw I420 pictures at FPS and 48 kHz stereo
// s16le PCM (an ffmpeg.Encoder).
type Output interface {
	WriteVideo(frame []byte) error
	WriteAudio(pcm []byte) error
}

// Engine holds the meeting's state and its tracks' decoders. Frames and
// events go in as they arrive; Video and Audio render what the timeline
// holds up to a moment. Safe for concurrent use.
type Engine struct {
	opts Options
	log  *slog.Logger
	ctx  context.Context
	// offline: the decoders read track files and wait for the composite
	// instead of dropping what it has not taken.
	offline bool

	mu      sync.Mutex
	events  []Event // not applied yet, ordered by At
	meeting *meeting
	videos  map[string]*videoTrack // by tracks.Info.ID
	audios  map[string]*audioTrack

	painter *composite.Painter // used by Video only
	canvas  *composite.Picture
	// What the canvas shows: the tiles of the last layout, and the
	// picture last painted into each (nil: a name tile).
	lastTiles []composite.Tile
	drawn     map[int]*composite.Picture
	mixer     *composite.Mixer
	mixBuf    []int16
	pcmBuf    []byte
}

// New returns an engine whose decoders hang off ctx.
func New(ctx context.Context, opts Options) *Engine {
	if opts.FPS <= 0 {
		opts.FPS = 30
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Engine{
		opts: opts, log: opts.Logger, ctx: ctx,
		meeting: newMeeting(),
		videos:  map[string]*videoTrack{},
		audios:  map[string]*audioTrack{},
		mixer:   composite.NewMixer(),
	}
	if !opts.AudioOnly {
		e.painter = composite.NewPainter()
		e.canvas = composite.NewPicture(opts.Width, opts.Height)
		e.drawn = map[int]*composite.Picture{}
	}
	return e
}

// Event queues a change of the meeting; it takes effect when the
// composite reaches its time.
func (e *Engine) Event(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i := sort.Search(len(e.events), func(i int) bool { return e.events[i].At > ev.At })
	e.events = append(e.events, Event{})
	copy(e.events[i+1:], e.events[i:])
	e.events[i] = ev
}

// Frame hands one placed frame to its track's decoder, starting the
// decoder on the track's first frame.
func (e *Engine) Frame(t tracks.Timed) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := t.Track.ID
	switch t.Track.Kind {
	case tracks.Video:
		if e.opts.AudioOnly {
			return nil
		}
		v := e.videos[id]
		if v == nil {
			var err error
			v, err = e.startVideo(t)
			if err != nil {
				return fmt.Errorf("decode %s: %w", id, err)
			}
			e.videos[id] = v
		}
		return v.feedFrame(t)
	case tracks.Audio:
		a := e.audios[id]
		if a == nil {
			var err error
			a, err = e.startAudio(t)
			if err != nil {
				return fmt.Errorf("decode %s: %w", id, err)
			}
			e.audios[id] = a
		}
		return a.feed.push(t)
	}
	return nil
}

// applyUntil applies the queued events up to at; the caller holds mu.
func (e *Engine) applyUntil(at time.Duration) {
	n := 0
	for n < len(e.events) && e.events[n].At <= at {
		e.meeting.apply(e.events[n])
		n++
	}
	e.events = e.events[n:]
}

// Video renders the composite at timeline moment at into a picture of
// Width×Height I420 bytes. The returned slice is reused by the next call.
func (e *Engine) Video(at time.Duration) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.applyUntil(at)
	for _, v := range e.videos {
		v.advance(at)
	}
	pictures := map[string]map[uint32]*composite.Picture{}
	for _, v := range e.videos {
		if v.current == nil {
			continue
		}
		if pictures[v.participant] == nil {
			pictures[v.participant] = map[uint32]*composite.Picture{}
		}
		pictures[v.participant][v.ssrc] = v.current
	}
	people, shown := e.meeting.layoutPeople(pictures)
	tiles := composite.Arrange(e.opts.Width, e.opts.Height, people, e.meeting.dominant)
	// Only tiles with a new picture are painted again, unless the
	// layout changed: scaling is nearly all of the composite's cost.
	full := !slices.Equal(tiles, e.lastTiles)
	if full {
		e.painter.Clear(e.canvas)
		e.lastTiles = tiles
		clear(e.drawn)
	}
	if len(tiles) == 0 && full {
		e.painter.DrawWaiting(e.canvas)
	}
	for i, tile := range tiles {
		var pic *composite.Picture
		if ssrc, ok := shown[tile.ID]; ok && tile.Video {
			pic = pictures[tile.ID][ssrc]
		}
		if !full && e.drawn[i] == pic && pic != nil {
			continue
		}
		e.drawn[i] = pic
		if pic != nil {
			e.painter.DrawVideo(e.canvas, tile, pic)
		} else if full {
			e.painter.DrawNameTile(e.canvas, tile)
		}
	}
	return e.canvas.Bytes()
}

// Audio mixes n stereo samples from sample index from (timeline sample
// 0 is timeline 0) into interleaved s16le bytes, reused by the next call.
func (e *Engine) Audio(from int64, n int) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.applyUntil(time.Duration(from) * time.Second / SampleRate)
	limit := int64(math.MaxInt64)
	if e.offline {
		limit = from + int64(n) + offlineAudioAhead
	}
	for _, a := range e.audios {
		a.drain(e.mixer, limit)
	}
	if cap(e.mixBuf) < 2*n {
		e.mixBuf = make([]int16, 2*n)
	}
	buf := e.mixBuf[:2*n]
	e.mixer.Mix(from, n, buf)
	e.pcmBuf = appendPCM(e.pcmBuf[:0], buf)
	return e.pcmBuf
}

// Flush ends the decoders' input, so that they hand over every picture
// and sample of the frames fed so far, and waits for that, at most
// timeout. The engine takes no more frames after it.
func (e *Engine) Flush(timeout time.Duration) {
	e.mu.Lock()
	var waits []func() bool
	for _, v := range e.videos {
		if v.feed != nil {
			v.feed.close()
		}
		waits = append(waits, v.hasEnded)
	}
	for _, a := range e.audios {
		if a.feed != nil {
			a.feed.close()
		}
		waits = append(waits, a.hasEnded)
	}
	e.mu.Unlock()
	deadline := time.Now().Add(timeout)
	for _, ended := range waits {
		for !ended() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// speakingWithin: a voice whose decoder gave PCM this recently is being
// heard, and the live mix waits for it when it comes late.
const speakingWithin = time.Second

// audioReady is the timeline sample up to which every voice being heard
// has been decoded; ok is false when nobody is heard.
func (e *Engine) audioReady(now time.Time) (ready int64, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range e.audios {
		a.mu.Lock()
		if !a.ended && now.Sub(a.lastChunkAt) < speakingWithin && (!ok || a.deliveredEnd < ready) {
			ready, ok = a.deliveredEnd, true
		}
		a.mu.Unlock()
	}
	return ready, ok
}

// Close stops every decoder.
func (e *Engine) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, v := range e.videos {
		v.dec.Kill()
	}
	for _, a := range e.audios {
		a.dec.Kill()
	}
}
