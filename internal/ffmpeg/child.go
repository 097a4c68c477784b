package ffmpeg

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// child is an FFmpeg process started the way Start starts one: in its own
// process group, killed with the recorder (Pdeathsig) and when ctx ends.
// Its pipes are plain *os.File pipes owned by the caller, so exec.Cmd
// copies nothing and a write to a dead FFmpeg fails at once (EPIPE)
// instead of blocking.
type child struct {
	cmd     *exec.Cmd
	log     *slog.Logger
	done    chan struct{}
	waitErr error
	tail    *tailBuffer
}

// childIO says which of FFmpeg's descriptors are wired to what. Files
// given here are the child's ends: startChild closes them in the parent.
type childIO struct {
	stdin  *os.File
	stdout *os.File
	extra  []*os.File // fd 3, 4, ...
	// stderrLine sees every line of FFmpeg's stderr first; lines it does
	// not take (returns false) go to the tail for error reports.
	stderrLine func(line string) bool
	// stderrEnd, if set, is called once stderr is read to its end.
	stderrEnd func()
}

// startChild starts bin with args. The caller's pipe ends in cio are
// closed in the parent whether or not the start succeeds.
func startChild(ctx context.Context, bin string, args []string, cio childIO, log *slog.Logger) (*child, error) {
	childEnds := append([]*os.File{cio.stdin, cio.stdout}, cio.extra...)
	defer func() {
		for _, f := range childEnds {
			if f != nil {
				f.Close()
			}
		}
	}()
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%w: %s not found (install Debian's ffmpeg package or set FFMPEG_PATH): %v", ErrFailed, bin, err)
	}
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: stderr pipe: %v", ErrFailed, err)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return killGroup(cmd) }
	if cio.stdin != nil { // nil leaves /dev/null
		cmd.Stdin = cio.stdin
	}
	if cio.stdout != nil {
		cmd.Stdout = cio.stdout
	}
	cmd.Stderr = stderrW
	cmd.ExtraFiles = cio.extra
	c := &child{cmd: cmd, log: log, done: make(chan struct{}), tail: &tailBuffer{max: 20}}

	stderrDone := make(chan struct{})
	started := make(chan error, 1)
	go func() {
		// As in Start: Pdeathsig fires when the starting thread exits, so
		// this goroutine keeps its thread until FFmpeg has exited.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := cmd.Start()
		stderrW.Close()
		if err != nil {
			stderrR.Close()
			started <- err
			return
		}
		started <- nil
		// Read all of stderr before Wait, so Err sees the last lines.
		<-stderrDone
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("%w: start %s: %v", ErrFailed, path, err)
	}
	log.Debug("ffmpeg started", "pid", cmd.Process.Pid, "args", strings.Join(args, " "))
	go func() {
		defer close(stderrDone)
		defer stderrR.Close()
		c.readStderr(stderrR, cio.stderrLine)
		if cio.stderrEnd != nil {
			cio.stderrEnd()
		}
	}()
	return c, nil
}

func (c *child) readStderr(r io.Reader, take func(string) bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if take != nil && take(line) {
			continue
		}
		c.tail.add(line)
		c.log.Debug("ffmpeg", "line", line)
	}
	// A line too long for the scanner must not leave FFmpeg blocked on
	// a full stderr pipe.
	io.Copy(io.Discard, r)
}

// exited reports whether FFmpeg has exited.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// exitError is FFmpeg's exit error with the reason from its last lines;
// output names the file it writes, if any, for the disk-full case.
func (c *child) exitError(output string) error {
	if c.waitErr == nil {
		return nil
	}
	tail := c.tail.String()
	if strings.Contains(tail, "No space left on device") {
		return fmt.Errorf("%w: writing %s: %w", ErrFailed, output, ErrDiskFull)
	}
	if tail == "" {
		return fmt.Errorf("%w: %v", ErrFailed, c.waitErr)
	}
	return fmt.Errorf("%w: %v: %s", ErrFailed, c.waitErr, lastLine(tail))
}

// kill ends the process group at once and waits for the exit.
func (c *child) kill() {
	killGroup(c.cmd)
	<-c.done
}

// waitWithin waits up to timeout for FFmpeg to exit, then kills it. It
// reports whether it had to kill.
func (c *child) waitWithin(timeout time.Duration) (killed bool) {
	select {
	case <-c.done:
		return false
	case <-time.After(timeout):
		c.log.Warn("ffmpeg did not finish in time; killing it", "timeout", timeout)
		c.kill()
		return true
	}
}

// cpuTime is the CPU (user+system) FFmpeg used, once it has exited.
func (c *child) cpuTime() time.Duration {
	if !c.exited() || c.cmd.ProcessState == nil {
		return 0
	}
	return c.cmd.ProcessState.UserTime() + c.cmd.ProcessState.SystemTime()
}

// pipePair makes a pipe whose child end is closed by startChild.
func pipePair() (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: pipe: %v", ErrFailed, err)
	}
	return r, w, nil
}
