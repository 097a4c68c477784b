package ffmpeg

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"
)

// DecoderOptions say how a track's decoder runs.
type DecoderOptions struct {
	// Binary is the FFmpeg executable; default "ffmpeg" on PATH.
	Binary string
	// Width and Height (even) are the size every picture is scaled to,
	// keeping the aspect ratio (black bars); video only.
	Width, Height int
	// StopTimeout bounds Close; default 5 s.
	StopTimeout time.Duration
	Logger      *slog.Logger
}

func decoderDefaults(o DecoderOptions) DecoderOptions {
	if o.Binary == "" {
		o.Binary = "ffmpeg"
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// decoderInputArgs read one live Matroska track from stdin with as
// little delay as FFmpeg allows. The Matroska header names the codec and
// size, so a 32-byte probe is enough. Not -fflags nobuffer: it drops the
// packets read while probing, the first keyframe among them.
func decoderInputArgs() []string {
	return []string{
		"-hide_banner", "-nostdin", "-nostats",
		// info: the level showinfo logs at (see stampFilter).
		"-loglevel", "info",
		"-probesize", "32", "-analyzeduration", "0",
		"-flags", "low_delay", "-threads", "1",
		"-f", "matroska", "-i", "pipe:0",
		// Keep the track's own timestamps (FFmpeg would shift them to
		// start at 0), single-threaded filters, and every frame out as it
		// is made (raw output sits in a 32 KB buffer otherwise).
		"-copyts", "-filter_threads", "1", "-flush_packets", "1",
	}
}

// decoder is what the video and audio decoders share: FFmpeg with the
// track's Matroska on stdin, raw frames on stdout and their stamps on
// stderr.
type decoder struct {
	c       *child
	stdin   *os.File
	stdout  *os.File
	timeout time.Duration

	stamps chan stamp
	// abandon tells the reader to stop delivering (Kill, cancel, or a
	// Close that timed out).
	abandon     chan struct{}
	abandonOnce sync.Once
	readerDone  chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// startDecoder starts FFmpeg with args and runs read (the stdout reader)
// in a goroutine; read must return when d.abandon closes.
func startDecoder(ctx context.Context, opts DecoderOptions, args []string, read func(d *decoder)) (*decoder, error) {
	d := &decoder{
		timeout:    opts.StopTimeout,
		stamps:     make(chan stamp, 256),
		abandon:    make(chan struct{}),
		readerDone: make(chan struct{}),
	}
	inR, inW, err := pipePair()
	if err != nil {
		return nil, err
	}
	outR, outW, err := pipePair()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	d.stdin, d.stdout = inW, outR
	stampsClosed := false
	cio := childIO{
		stdin: inR, stdout: outW,
		stderrLine: func(line string) bool {
			if !isStampLine(line) {
				return false
			}
			if st, ok := parseStamp(line); ok {
				select {
				case d.stamps <- st:
				case <-d.readerDone: // nobody pairs them any more
				}
			}
			return true
		},
		stderrEnd: func() {
			if !stampsClosed {
				stampsClosed = true
				close(d.stamps)
			}
		},
	}
	c, err := startChild(ctx, opts.Binary, args, cio, opts.Logger)
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, err
	}
	d.c = c
	go func() {
		defer close(d.readerDone)
		defer d.stdout.Close()
		read(d)
	}()
	go func() {
		select {
		case <-ctx.Done():
			d.stop()
		case <-d.readerDone:
		}
	}()
	return d, nil
}

// nextFrame waits for the next stamp and reads its frame of size bytes
// from stdout. ok is false at the end of the output or when abandoned.
func (d *decoder) nextFrame(size int) (st stamp, frame []byte, ok bool) {
	if st, ok = d.nextStamp(); !ok {
		return stamp{}, nil, false
	}
	return st, d.readFrame(size), true
}

// nextAudioFrame is nextFrame for PCM, whose frames are as long as their
// stamps say.
func (d *decoder) nextAudioFrame() (st stamp, pcm []byte, ok bool) {
	if st, ok = d.nextStamp(); !ok {
		return stamp{}, nil, false
	}
	pcm = d.readFrame(st.samples * PCMFrameBytes)
	return st, pcm, pcm != nil
}

func (d *decoder) nextStamp() (stamp, bool) {
	select {
	case st, ok := <-d.stamps:
		return st, ok
	case <-d.abandon:
		return stamp{}, false
	}
}

// readFrame reads size bytes from stdout; nil at its end.
func (d *decoder) readFrame(size int) []byte {
	frame := make([]byte, size)
	if _, err := io.ReadFull(d.stdout, frame); err != nil {
		return nil
	}
	return frame
}

// stop abandons what is left to deliver.
func (d *decoder) stop() { d.abandonOnce.Do(func() { close(d.abandon) }) }

// Write feeds the next bytes of the track's Matroska stream. It blocks
// while FFmpeg is busy (and its pictures are not read); once FFmpeg has
// exited it fails at once.
func (d *decoder) Write(p []byte) (int, error) {
	n, err := d.stdin.Write(p)
	if err == nil {
		return n, nil
	}
	select {
	case <-d.c.done:
		if exitErr := d.c.exitError(""); exitErr != nil {
			return n, exitErr
		}
		return n, fmt.Errorf("%w: decoder exited: %v", ErrFailed, err)
	case <-time.After(time.Second):
		return n, fmt.Errorf("%w: write: %v", ErrFailed, err)
	}
}

// Done is closed when FFmpeg has exited.
func (d *decoder) Done() <-chan struct{} { return d.c.done }

// Err is FFmpeg's exit error once Done is closed; nil for a clean exit.
func (d *decoder) Err() error {
	if !d.c.exited() {
		return nil
	}
	return d.c.exitError("")
}

// CPUTime is the CPU time (user+system) FFmpeg used, once Done is closed.
func (d *decoder) CPUTime() time.Duration { return d.c.cpuTime() }

// StderrTail is FFmpeg's last lines of output, for error reports.
func (d *decoder) StderrTail() string { return d.c.tail.String() }

// Close is CloseWithin(StopTimeout).
func (d *decoder) Close() error { return d.CloseWithin(d.timeout) }

// CloseWithin ends the input and lets FFmpeg decode what it holds; the
// output channel closes after the last frame has been taken. Someone must
// go on reading it meanwhile: after timeout FFmpeg is killed and what is
// left is dropped. It returns FFmpeg's exit error.
func (d *decoder) CloseWithin(timeout time.Duration) error {
	d.closeOnce.Do(func() {
		d.stdin.Close()
		deadline := time.After(timeout)
		select {
		case <-d.readerDone:
		case <-deadline:
			d.c.log.Warn("ffmpeg decoder did not finish in time; killing it", "timeout", timeout)
			d.stop()
			killGroup(d.c.cmd)
			<-d.readerDone
		}
		<-d.c.done
		d.closeErr = d.c.exitError("")
	})
	return d.closeErr
}

// CloseInput ends the input without waiting: FFmpeg decodes what it
// holds and exits, and the output channel closes after the last frame
// has been taken, however long the reader takes (offline composition
// takes frames at its own pace).
func (d *decoder) CloseInput() error { return d.stdin.Close() }

// Kill ends FFmpeg at once; frames not yet taken are dropped and the
// output channel closes.
func (d *decoder) Kill() {
	d.stop()
	d.c.kill()
	d.stdin.Close()
	<-d.readerDone
}

// VideoDecoder decodes one video track (Matroska on its Write side) into
// I420 pictures of a fixed size. Besides Pictures it has Write, Close,
// CloseWithin, Kill, Done, Err, CPUTime and StderrTail.
type VideoDecoder struct {
	*decoder
	width, height int
	pictures      chan DecodedPicture
}

// DecodedPicture is one decoded picture, in presentation order.
type DecodedPicture struct {
	// PTS is the picture's timestamp in the track's Matroska stream.
	PTS           time.Duration
	Width, Height int
	// Frame is the whole I420 picture: Y (Width×Height), then U and V
	// (Width/2×Height/2 each). Y, U and V are its planes (sub-slices of
	// Frame). The receiver owns them.
	Frame   []byte
	Y, U, V []byte
}

// VideoArgs returns the video decoder's FFmpeg arguments.
func VideoArgs(opts DecoderOptions) []string {
	w, h := strconv.Itoa(opts.Width), strconv.Itoa(opts.Height)
	return append(decoderInputArgs(),
		"-map", "0:v:0",
		// Fit inside W×H and pad to it, so the size never changes, even
		// when the input's does (simulcast layer switch: FFmpeg rebuilds
		// the graph with the new input size). Timestamps in µs for the
		// stamp filter.
		"-vf", "scale="+w+":"+h+":force_original_aspect_ratio=decrease,"+
			"pad="+w+":"+h+":-1:-1,setsar=1,settb=AVTB,"+
			"showinfo@"+stampFilter+"=checksum=0",
		// One picture out per picture decoded: none dropped or repeated.
		"-fps_mode", "passthrough",
		"-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1",
	)
}

// StartVideoDecoder starts a decoder. Feed it with Write; read Pictures
// until it closes. Cancelling ctx kills it.
func StartVideoDecoder(ctx context.Context, opts DecoderOptions) (*VideoDecoder, error) {
	opts = decoderDefaults(opts)
	if opts.Width <= 0 || opts.Height <= 0 || opts.Width%2 != 0 || opts.Height%2 != 0 {
		return nil, fmt.Errorf("%w: picture size %dx%d must be even and positive", ErrFailed, opts.Width, opts.Height)
	}
	v := &VideoDecoder{width: opts.Width, height: opts.Height, pictures: make(chan DecodedPicture, 8)}
	d, err := startDecoder(ctx, opts, VideoArgs(opts), v.read)
	if err != nil {
		return nil, err
	}
	v.decoder = d
	return v, nil
}

// Pictures delivers the decoded pictures; it closes when FFmpeg has
// ended (Close, Kill, cancel or failure).
func (v *VideoDecoder) Pictures() <-chan DecodedPicture { return v.pictures }

func (v *VideoDecoder) read(d *decoder) {
	defer close(v.pictures)
	ySize := v.width * v.height
	cSize := ySize / 4
	for {
		st, frame, ok := d.nextFrame(I420Size(v.width, v.height))
		if !ok || frame == nil {
			return
		}
		if !st.ptsKnown {
			d.c.log.Debug("decoded picture without timestamp dropped")
			continue
		}
		pic := DecodedPicture{
			PTS: time.Duration(st.pts) * time.Microsecond, Width: v.width, Height: v.height,
			Frame: frame, Y: frame[:ySize], U: frame[ySize : ySize+cSize], V: frame[ySize+cSize:],
		}
		select {
		case v.pictures <- pic:
		case <-d.abandon:
			return
		}
	}
}
