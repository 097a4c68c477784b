package compose

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/composite"
	"github.com/jitsi-recorder/jitsi-recorder/internal/ffmpeg"
	"github.com/jitsi-recorder/jitsi-recorder/internal/tracks"
)

// Bounds of what waits for the composite. Pictures are decoded ahead of
// the composite by the engine's delay; keeping more than keepAhead of
// them means the composite is far behind, and the oldest go.
const (
	keepAhead = 3 * time.Second
	// Offline, decoders run ahead of the composite by at most this many
	// pictures, or this much audio.
	offlineAhead      = 30
	offlineAudioAhead = 2 * SampleRate
	feedQueue         = 256 // encoded frames waiting for a decoder's stdin
	audioAhead        = 10 * time.Second
)

// feeder writes a track's encoded frames, muxed as Matroska, to its
// decoder's stdin from a goroutine of its own, so a slow decoder never
// blocks the engine. A full queue drops video until the next keyframe.
type feeder struct {
	kind    tracks.Kind
	queue   chan []byte
	mkv     *tracks.MKVWriter
	buf     bytes.Buffer
	waitKey bool
	dropped int64
	closed  bool
}

// decoderInput is a decoder's stdin.
type decoderInput interface {
	io.Writer
	CloseInput() error
}

func newFeeder(t tracks.Timed, w decoderInput) (*feeder, error) {
	f := &feeder{kind: t.Track.Kind, queue: make(chan []byte, feedQueue)}
	mkv, err := tracks.NewMKVWriter(&f.buf, t.Track.Codec, t.Width, t.Height, t.Data)
	if err != nil {
		return nil, err
	}
	f.mkv = mkv
	go func() {
		defer w.CloseInput() // the decoder flushes what it holds and ends
		for b := range f.queue {
			if _, err := w.Write(b); err != nil {
				for range f.queue { // the decoder is gone: drain
				}
				return
			}
		}
	}()
	return f, nil
}

// push muxes one frame and queues its bytes (with the header before the
// first frame).
func (f *feeder) push(t tracks.Timed) error {
	if f.closed {
		return nil
	}
	if f.waitKey {
		if f.kind == tracks.Video && !t.Keyframe {
			f.dropped++
			return nil
		}
		f.waitKey = false
	}
	if err := f.mkv.WriteFrame(t.At, t.Keyframe, t.Data); err != nil {
		return err
	}
	b := bytes.Clone(f.buf.Bytes())
	f.buf.Reset()
	select {
	case f.queue <- b:
	default:
		f.dropped++
		if f.kind == tracks.Video {
			f.waitKey = true
		}
	}
	return nil
}

// close ends the decoder's input once what is queued is written.
func (f *feeder) close() {
	if !f.closed {
		f.closed = true
		close(f.queue)
	}
}

// videoTrack is one video stream being decoded for the composite.
type videoTrack struct {
	participant string
	ssrc        uint32
	dec         *ffmpeg.VideoDecoder
	feed        *feeder
	width       int
	height      int

	mu      sync.Mutex
	cond    *sync.Cond
	pending []pictureAt // decoded, not shown yet, in PTS order
	current *composite.Picture
	ended   bool // the decoder is done
}

type pictureAt struct {
	pts time.Duration
	pic *composite.Picture
}

// decodeSize is the size a track is decoded to: its own (from its first
// keyframe), within the canvas; FFmpeg scales later layer switches to it.
func decodeSize(t tracks.Timed, cw, ch int) (int, int) {
	w, h := t.Width, t.Height
	if w <= 0 || h <= 0 {
		w, h = cw/2, ch/2
	}
	if w > cw || h > ch {
		// fit inside the canvas, keeping the aspect ratio
		if w*ch > h*cw {
			h, w = h*cw/w, cw
		} else {
			w, h = w*ch/h, ch
		}
	}
	return w &^ 1, h &^ 1
}

func (e *Engine) startVideo(t tracks.Timed) (*videoTrack, error) {
	w, h := decodeSize(t, e.opts.Width, e.opts.Height)
	dec, err := ffmpeg.StartVideoDecoder(e.ctx, ffmpeg.DecoderOptions{
		Binary: e.opts.FFmpeg, Width: w, Height: h,
		Logger: e.log.With("proc", "ffmpeg-decoder", "track", t.Track.ID),
	})
	if err != nil {
		return nil, err
	}
	fd, err := newFeeder(t, dec)
	if err != nil {
		dec.Kill()
		return nil, err
	}
	v := newVideoTrack(t.Track.Participant, t.Track.SSRC, dec, w, h)
	v.feed = fd
	go v.collect(false)
	e.log.Debug("video track decoding", "track", t.Track.ID, "codec", t.Track.Codec, "size", fmt.Sprintf("%dx%d", w, h))
	return v, nil
}

func (v *videoTrack) feedFrame(t tracks.Timed) error { return v.feed.push(t) }

// collect reads the decoder's pictures as they come. Live, it never
// waits for the composite (the oldest go beyond keepAhead); offline, it
// waits while offlineAhead pictures are pending, which holds the decoder.
func (v *videoTrack) collect(offline bool) {
	for dp := range v.dec.Pictures() {
		pic := pictureOf(dp, v.width, v.height)
		if pic == nil {
			continue
		}
		v.mu.Lock()
		for offline && len(v.pending) >= offlineAhead {
			v.cond.Wait()
		}
		v.pending = append(v.pending, pictureAt{pts: dp.PTS, pic: pic})
		if n := len(v.pending); !offline && n > 1 && v.pending[n-1].pts-v.pending[0].pts > keepAhead {
			v.pending = v.pending[1:]
		}
		v.cond.Broadcast()
		v.mu.Unlock()
	}
	v.mu.Lock()
	v.ended = true
	v.cond.Broadcast()
	v.mu.Unlock()
}

// advance makes the newest picture at or before at current.
func (v *videoTrack) advance(at time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for n < len(v.pending) && v.pending[n].pts <= at {
		v.current = v.pending[n].pic
		n++
	}
	if n > 0 {
		v.pending = v.pending[n:]
		v.cond.Broadcast()
	}
}

// waitPast waits until the decoder has given a picture later than at, or
// ended: then advance(at) knows what to show (offline only).
func (v *videoTrack) waitPast(at time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for !v.ended && (len(v.pending) == 0 || v.pending[len(v.pending)-1].pts <= at) {
		if len(v.pending) >= offlineAhead {
			return // full: what is pending covers at
		}
		v.cond.Wait()
	}
}

// audioTrack is one audio stream being decoded for the mix.
type audioTrack struct {
	id   string
	dec  *ffmpeg.AudioDecoder
	feed *feeder

	mu      sync.Mutex
	cond    *sync.Cond
	pending []ffmpeg.PCMChunk
	drained int64 // the end of the PCM moved to the mixer
	ended   bool
	// The end of the PCM decoded so far, and when it last grew: a voice
	// that is being heard.
	deliveredEnd int64
	lastChunkAt  time.Time
}

func (e *Engine) startAudio(t tracks.Timed) (*audioTrack, error) {
	dec, err := ffmpeg.StartAudioDecoder(e.ctx, ffmpeg.DecoderOptions{
		Binary: e.opts.FFmpeg,
		Logger: e.log.With("proc", "ffmpeg-decoder", "track", t.Track.ID),
	})
	if err != nil {
		return nil, err
	}
	fd, err := newFeeder(t, dec)
	if err != nil {
		dec.Kill()
		return nil, err
	}
	a := newAudioTrack(t.Track.ID, dec)
	a.feed = fd
	go a.collect(false)
	return a, nil
}

// collect reads the decoder's PCM as it comes; offline it waits while
// offlineAudioAhead samples are pending.
func (a *audioTrack) collect(offline bool) {
	for c := range a.dec.PCM() {
		a.mu.Lock()
		for offline && a.pendingSamples() >= offlineAudioAhead {
			a.cond.Wait()
		}
		a.lastChunkAt = time.Now()
		a.deliveredEnd = max(a.deliveredEnd, c.FirstSample+int64(len(c.Samples)/2))
		a.pending = append(a.pending, c)
		a.cond.Broadcast()
		a.mu.Unlock()
	}
	a.mu.Lock()
	a.ended = true
	a.cond.Broadcast()
	a.mu.Unlock()
}

func (a *audioTrack) pendingSamples() int64 {
	var n int64
	for _, c := range a.pending {
		n += int64(len(c.Samples) / 2)
	}
	return n
}

// drain moves decoded PCM that starts before limit into the mixer (live:
// limit is math.MaxInt64, everything).
func (a *audioTrack) drain(m *composite.Mixer, limit int64) {
	a.mu.Lock()
	n := 0
	for n < len(a.pending) && a.pending[n].FirstSample < limit {
		n++
	}
	moved := a.pending[:n]
	a.pending = a.pending[n:]
	if n > 0 {
		last := moved[n-1]
		a.drained = last.FirstSample + int64(len(last.Samples)/2)
	}
	a.cond.Broadcast()
	a.mu.Unlock()
	for _, c := range moved {
		m.Put(a.id, c.FirstSample, c.Samples)
	}
}

// waitPast waits until the decoder has given PCM reaching past sample,
// or ended (offline only).
func (a *audioTrack) waitPast(sample int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for !a.ended {
		if n := len(a.pending); n > 0 {
			last := a.pending[n-1]
			if last.FirstSample+int64(len(last.Samples)/2) > sample || a.pendingSamples() >= offlineAudioAhead {
				return
			}
		} else if a.drained > sample {
			return
		}
		a.cond.Wait()
	}
}

func newVideoTrack(participant string, ssrc uint32, dec *ffmpeg.VideoDecoder, w, h int) *videoTrack {
	v := &videoTrack{participant: participant, ssrc: ssrc, dec: dec, width: w, height: h}
	v.cond = sync.NewCond(&v.mu)
	return v
}

func newAudioTrack(id string, dec *ffmpeg.AudioDecoder) *audioTrack {
	a := &audioTrack{id: id, dec: dec}
	a.cond = sync.NewCond(&a.mu)
	return a
}

// pictureOf wraps a decoded picture without copying it; a picture of the
// wrong size (which the decoder never gives) is dropped as nil.
func pictureOf(dp ffmpeg.DecodedPicture, w, h int) *composite.Picture {
	pic, err := composite.WrapI420(w, h, dp.Frame)
	if err != nil {
		return nil
	}
	return pic
}

func (v *videoTrack) hasEnded() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.ended
}

func (a *audioTrack) hasEnded() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ended
}
