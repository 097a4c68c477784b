// Package ffmpeg is the one place that knows FFmpeg: it turns the browser's
// MediaRecorder stream (Matroska/WebM on stdin) into a fragmented MP4 file
// that stays playable at every moment, even if the process is killed.
package ffmpeg

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrFailed is wrapped by errors about FFmpeg itself (start, exit status).
var ErrFailed = errors.New("ffmpeg failed")

// ErrDiskFull is wrapped when FFmpeg could not write because the disk is full.
var ErrDiskFull = errors.New("no space left on device")

// Options say what to write and how.
type Options struct {
	// Binary is the FFmpeg executable; default "ffmpeg" on PATH.
	Binary string
	// Output is the MP4 file to write (overwritten).
	Output string
	// VideoCodec is the input's video codec as the page reports it ("h264",
	// "vp8", "vp9", "av1"; "" means unknown). Only H.264 is copied; anything
	// else is transcoded with libx264.
	VideoCodec string
	// AudioOnly drops video.
	AudioOnly bool
	// VideoBitrate is used when transcoding (bits/s); default 2.5 Mbit/s.
	VideoBitrate int
	// AudioBitrate for AAC (bits/s); default 128 kbit/s.
	AudioBitrate int
	// FPS is the nominal frame rate, used for the keyframe interval when
	// transcoding; default 30.
	FPS int
	// MaxDuration, if set, ends the file at this media time: audio and
	// video end together there, however late the stop comes. FFmpeg then
	// exits by itself; Write discards what follows.
	MaxDuration time.Duration
	// StopTimeout bounds Close; default 5 s.
	StopTimeout time.Duration
	Logger      *slog.Logger
}

// Progress is what has been fed and written so far.
type Progress struct {
	InputBytes  int64
	OutputBytes int64
	// MediaSeconds is how much of the timeline FFmpeg has written (its
	// -progress out_time): behind the wall clock when the browser's
	// encoder falls behind.
	MediaSeconds float64
}

// Process is a running FFmpeg fed through Write.
type Process struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	opts  Options
	log   *slog.Logger
	in    atomic.Int64
	// outTimeUs is the last -progress out_time_us.
	outTimeUs atomic.Int64
	// reachedMax: FFmpeg ended the file at MaxDuration; input is discarded.
	reachedMax atomic.Bool
	done       chan struct{}
	waitErr    error
	tail       *tailBuffer

	closeOnce sync.Once
	closeErr  error
}

// AudioFilter re-times the decoded audio by its input timestamps
// (aresample's async mode: gaps are filled with silence, overlaps trimmed)
// and starts it at time 0. Without it FFmpeg counts samples, and each gap
// in the browser's audio moves all later audio earlier against the video.
const AudioFilter = "aresample=async=1:first_pts=0"

// CanCopyVideo reports whether the codec can go into MP4 without transcoding.
func CanCopyVideo(codec string) bool {
	c := strings.ToLower(codec)
	return c == "h264" || c == "avc1" || strings.HasPrefix(c, "avc1.")
}

// Args returns FFmpeg's arguments for opts, without the binary.
func Args(opts Options) []string {
	opts = withDefaults(opts)
	args := []string{
		"-hide_banner", "-nostdin", "-loglevel", "warning",
		// The first chunk carries the Matroska header with codec private
		// data, so little probing is needed; less probing means less data
		// held back in FFmpeg if it is killed.
		"-probesize", "1M", "-analyzeduration", "1M",
		"-f", "matroska", "-i", "pipe:0",
		// key=value progress on stderr twice a second: out_time_us says
		// how much media is written (see Progress).
		"-progress", "pipe:2", "-stats_period", "0.5",
	}
	if opts.AudioOnly {
		args = append(args, "-vn", "-map", "0:a:0?")
	} else {
		args = append(args, "-map", "0:v:0?", "-map", "0:a:0?")
		if CanCopyVideo(opts.VideoCodec) {
			args = append(args, "-c:v", "copy")
		} else {
			br := strconv.Itoa(opts.VideoBitrate)
			args = append(args,
				"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
				"-b:v", br, "-maxrate", br, "-bufsize", strconv.Itoa(opts.VideoBitrate*2),
				"-g", strconv.Itoa(opts.FPS*2), "-pix_fmt", "yuv420p",
			)
		}
		// MediaRecorder's Matroska claims 1000 fps; keep its timestamps.
		args = append(args, "-fps_mode", "passthrough")
	}
	args = append(args,
		// Audio follows its timestamps, not its sample count: where the
		// browser dropped audio (a busy machine), silence fills the gap,
		// and extra samples are dropped, so later audio is not pulled
		// earlier against the video; the stream starts at 0 like the video.
		"-af", AudioFilter,
		"-c:a", "aac", "-b:a", strconv.Itoa(opts.AudioBitrate),
		// Fragmented MP4: an empty moov up front and a fragment about every
		// second, so the file is playable at every moment, even after SIGKILL.
		"-movflags", "+frag_keyframe+empty_moov+default_base_moof",
		"-frag_duration", "1000000",
		// Write each fragment out at once: without this a low-bitrate
		// stream sits in FFmpeg's 32 KB output buffer for many seconds.
		"-flush_packets", "1",
	)
	if opts.MaxDuration > 0 {
		args = append(args, "-t", strconv.FormatFloat(opts.MaxDuration.Seconds(), 'f', 3, 64))
	}
	args = append(args, "-f", "mp4", "-y", opts.Output)
	return args
}

func withDefaults(o Options) Options {
	if o.Binary == "" {
		o.Binary = "ffmpeg"
	}
	if o.VideoBitrate == 0 {
		o.VideoBitrate = 2_500_000
	}
	if o.AudioBitrate == 0 {
		o.AudioBitrate = 128_000
	}
	if o.FPS == 0 {
		o.FPS = 30
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Start launches FFmpeg in its own process group. Cancelling ctx kills it
// (the partial file stays playable); Close ends it cleanly.
func Start(ctx context.Context, opts Options) (*Process, error) {
	opts = withDefaults(opts)
	if opts.Output == "" {
		return nil, fmt.Errorf("%w: no output file", ErrFailed)
	}
	bin, err := exec.LookPath(opts.Binary)
	if err != nil {
		return nil, fmt.Errorf("%w: %s not found (install Debian's ffmpeg package or set FFMPEG_PATH): %v", ErrFailed, opts.Binary, err)
	}
	args := Args(opts)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return killGroup(cmd) }
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFailed, err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFailed, err)
	}
	p := &Process{cmd: cmd, stdin: stdin, opts: opts, log: opts.Logger, done: make(chan struct{}), tail: &tailBuffer{max: 20}}
	stderrDone := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		// Pdeathsig kills FFmpeg if the recorder itself is killed, so it
		// never outlives it. The kernel sends it when the starting *thread*
		// exits, so this goroutine keeps its thread until FFmpeg has exited
		// (https://go.dev/issue/27505).
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		<-stderrDone
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("%w: start %s: %v", ErrFailed, bin, err)
	}
	p.log.Debug("ffmpeg started", "pid", cmd.Process.Pid, "args", strings.Join(args, " "))
	go func() {
		defer close(stderrDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			if key, value, ok := progressLine(line); ok {
				if key == "out_time_us" {
					if us, err := strconv.ParseInt(value, 10, 64); err == nil && us >= 0 {
						p.outTimeUs.Store(us)
					}
				}
				continue
			}
			p.tail.add(line)
			p.log.Debug("ffmpeg", "line", line)
		}
	}()
	return p, nil
}

// Write feeds the next bytes of the input stream. It blocks while FFmpeg
// is busy; a write after FFmpeg died returns its error.
func (p *Process) Write(b []byte) (int, error) {
	if p.reachedMax.Load() {
		return len(b), nil
	}
	n, err := p.stdin.Write(b)
	p.in.Add(int64(n))
	if err != nil {
		select {
		case <-p.done:
			if err := p.exitError(); err != nil || p.opts.MaxDuration <= 0 {
				return n, err
			}
			// FFmpeg wrote MaxDuration and finished the file.
			p.reachedMax.Store(true)
			return len(b), nil
		case <-time.After(time.Second):
		}
		return n, fmt.Errorf("%w: write: %v", ErrFailed, err)
	}
	return n, nil
}

// ReachedMaxDuration reports whether FFmpeg ended the file at MaxDuration
// by itself (a clean exit while input was still coming).
func (p *Process) ReachedMaxDuration() bool {
	select {
	case <-p.done:
		return p.opts.MaxDuration > 0 && p.exitError() == nil
	default:
		return false
	}
}

// Done is closed when FFmpeg has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is FFmpeg's exit error, once Done is closed; nil for a clean exit.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.exitError()
	default:
		return nil
	}
}

func (p *Process) exitError() error {
	if p.waitErr == nil {
		return nil
	}
	tail := p.tail.String()
	if strings.Contains(tail, "No space left on device") {
		return fmt.Errorf("%w: writing %s: %w", ErrFailed, p.opts.Output, ErrDiskFull)
	}
	if tail == "" {
		return fmt.Errorf("%w: %v", ErrFailed, p.waitErr)
	}
	return fmt.Errorf("%w: %v: %s", ErrFailed, p.waitErr, lastLine(tail))
}

// Progress reports bytes fed, the output file's size and the media time
// written.
func (p *Process) Progress() Progress {
	pr := Progress{InputBytes: p.in.Load(), MediaSeconds: float64(p.outTimeUs.Load()) / 1e6}
	if st, err := os.Stat(p.opts.Output); err == nil {
		pr.OutputBytes = st.Size()
	}
	return pr
}

// Close ends the input so FFmpeg writes the last fragment and exits; after
// StopTimeout it kills the process group. It returns FFmpeg's exit error.
func (p *Process) Close() error { return p.CloseWithin(p.opts.StopTimeout) }

// CloseWithin is Close with its own timeout instead of StopTimeout.
func (p *Process) CloseWithin(timeout time.Duration) error {
	p.closeOnce.Do(func() {
		p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(timeout):
			p.log.Warn("ffmpeg did not finish in time; killing it", "timeout", timeout)
			killGroup(p.cmd)
			<-p.done
		}
		p.closeErr = p.exitError()
	})
	return p.closeErr
}

// Kill ends FFmpeg at once (the fragmented file stays readable).
func (p *Process) Kill() {
	killGroup(p.cmd)
	<-p.done
}

// StderrTail is FFmpeg's last lines of output, for error reports.
func (p *Process) StderrTail() string { return p.tail.String() }

func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return cmd.Process.Kill()
	}
	return nil
}

// tailBuffer keeps the last max lines.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (t *tailBuffer) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := bytes.LastIndexByte([]byte(s), '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// SniffVideoCodec names the video codec declared in a Matroska header
// (the first chunk of the stream): "h264", "vp8", "vp9", "av1" or "".
func SniffVideoCodec(header []byte) string {
	for _, c := range []struct{ id, name string }{
		{"V_MPEG4/ISO/AVC", "h264"}, {"V_VP8", "vp8"}, {"V_VP9", "vp9"}, {"V_AV1", "av1"},
	} {
		if bytes.Contains(header, []byte(c.id)) {
			return c.name
		}
	}
	return ""
}

// progressLine splits one line of -progress output ("out_time_us=1500000"):
// a lower-case key, "=", and a value without spaces (after the padding
// FFmpeg puts in front of some). FFmpeg's own messages never look like that.
func progressLine(line string) (key, value string, ok bool) {
	key, value, ok = strings.Cut(line, "=")
	value = strings.TrimLeft(value, " ") // "bitrate= 142.3kbits/s"
	if !ok || key == "" || strings.ContainsAny(value, " \t") {
		return "", "", false
	}
	for _, r := range key {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return "", "", false
		}
	}
	return key, value, true
}
