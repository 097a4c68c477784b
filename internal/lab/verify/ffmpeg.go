package verify

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// tools is the one place in this package that knows how ffprobe and ffmpeg
// are started, how their output is read and how they are stopped.
type tools struct {
	ffmpeg  string
	ffprobe string
	log     *slog.Logger
}

func defaultTools(log *slog.Logger) tools {
	if log == nil {
		log = slog.Default()
	}
	return tools{ffmpeg: "ffmpeg", ffprobe: "ffprobe", log: log}
}

// stderrTail is how much of a failed run's stderr goes into its error.
const stderrTail = 6

// run starts prog in its own process group (so cancelling ctx kills it and
// anything it spawned), hands its stdout to onStdout and every stderr line to
// onLine, and waits for it. onStdout must read until EOF or return an error;
// on error the process is killed rather than left blocked on a full pipe.
func (t tools) run(ctx context.Context, prog string, args []string, onStdout func(io.Reader) error, onLine func(string)) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(runCtx, prog, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("%s stdout: %w", prog, err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("%s stderr: %w", prog, err)
	}
	t.log.Debug("run", "prog", prog, "args", strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", prog, err)
	}

	var tail []string
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			if onLine != nil {
				onLine(line)
			}
			tail = append(tail, line)
			if len(tail) > stderrTail {
				tail = tail[1:]
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()

	var readErr error
	if onStdout != nil {
		readErr = onStdout(stdout)
	}
	if readErr != nil {
		cancel() // kill the process group; it may be blocked writing to us
	}
	_, _ = io.Copy(io.Discard, stdout)
	<-stderrDone
	waitErr := cmd.Wait()

	switch {
	case ctx.Err() != nil: // killed because ctx ended: that is the cause
		return fmt.Errorf("%s: %w", prog, ctx.Err())
	case readErr != nil:
		return fmt.Errorf("read %s output: %w", prog, readErr)
	case waitErr != nil:
		return fmt.Errorf("%s: %w: %s", prog, waitErr, strings.Join(tail, " | "))
	}
	return nil
}
