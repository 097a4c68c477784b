// Command jitsi-recorder joins a Jitsi Meet meeting as a silent participant
// in headless Chromium and records it to a fragmented MP4 file (playable at
// every moment) with a JSON metadata file beside it.
//
// Usage:
//
//	ROOM_URL=https://meet.example.org/myroom jitsi-recorder
//	jitsi-recorder --room-url https://meet.example.org/myroom --duration 1h
//	jitsi-recorder compose recordings/myroom_2026-12-04T10-00-00Z.json
//
// Run jitsi-recorder --help for every setting, its environment variable and
// its default.
//
// Exit codes:
//
//	0  recorded and finished: duration reached, SIGINT/SIGTERM, meeting ended or recorder alone
//	1  other failure
//	2  bad input or usage (see the message)
//	3  join failed: deployment unreachable, not a Jitsi Meet deployment, conference or JWT refused
//	4  refused: room password missing or wrong, members-only room, lobby not passed, kicked
//	5  browser (Chromium) failure: it failed more than 3 times in 10 minutes, or could not start
//	6  FFmpeg or output failure: FFmpeg failed more than 3 times in 10 minutes, or the file could not be written
//	7  join timeout (JOIN_TIMEOUT)
//	8  disk full: the recording so far is kept; free space in RECORDINGS_DIR
//	9  incomplete: the browser's encoder fell behind (CPU starved); the file is kept but holds less media than was recorded
//
// Faults during a recording do not end it: when FFmpeg dies, the recording
// goes on in a new file (<name>.part2.mp4, ...); when Chromium crashes or
// hangs, a new one joins again and records into a new file; when the
// meeting is lost, the page rejoins (RECONNECT_TIMEOUT). The metadata file
// lists the segments, the gaps and the restarts.
//
// Errors are printed as one line: "jitsi-recorder: <what>: <why> (<fix hint>)".
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/jitsi-recorder/jitsi-recorder/internal/config"
	"github.com/jitsi-recorder/jitsi-recorder/internal/logging"
	"github.com/jitsi-recorder/jitsi-recorder/internal/recorder"
)

func main() { os.Exit(run()) }

func run() int {
	if len(os.Args) > 1 && os.Args[1] == "compose" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runCompose(ctx, os.Args[2:], os.Stderr)
	}
	cfg, err := config.Parse(os.Args[1:], os.Getenv, os.Stdout)
	if errors.Is(err, config.ErrHelp) {
		fmt.Fprint(os.Stdout, "\n"+recorder.ExitCodesHelp)
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, recorder.Describe(err))
		return recorder.ExitCode(err)
	}

	var logOut io.Writer = os.Stderr
	format := cfg.LogFormat
	if logging.IsTerminal(os.Stderr) {
		term := logging.NewTerminal(os.Stderr)
		defer term.Clear()
		logOut, cfg.Progress = term, term.SetStatus
		if format == "auto" {
			format = "text"
		}
	}
	cfg.Logger = logging.New(logOut, format, cfg.LogLevel)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := recorder.Run(ctx, cfg)
	if err != nil {
		if t, ok := logOut.(*logging.Terminal); ok {
			t.Clear()
		}
		fmt.Fprintln(os.Stderr, recorder.Describe(err))
		return recorder.ExitCode(err)
	}
	cfg.Logger.Info("done", "file", res.File, "metadata", res.MetadataFile, "reason", res.StopReason)
	return 0
}
