// Package cli implements the jitsi-lab command's subcommands.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/bench"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/focus"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/verify"
)

const usage = `jitsi-lab: a Jitsi-compatible meeting on loopback, for tests and demos

  jitsi-lab up     [--participants N] [--room R] [--password P] [--addr A]
                   [--senders WxH@FPS] [--send-only]
                   start the lab and print the meeting URL; Ctrl-C stops all
  jitsi-lab check  [--participants N] [--duration D] [--leave-one]
                   start the lab, let the participants talk for D, exit 0
                   only if each decoded every other's video and heard them
  jitsi-lab verify FILE [--participants N | --spec spec.json] [--json]
                   check a recording against the lab's known media
  jitsi-lab demo   [--participants N] [--duration D] [--out DIR]
                   start the lab, record it with jitsi-recorder, verify
  jitsi-lab bench  [--scenario S|all] [--duration D] [--runs N] [--json]
                   [--capture composite|tracks|both] [--pin=true|false]
                   [--breakdown] [--senders WxH@FPS] [--max-load L] [--keep DIR]
                   measure what one recording costs (CPU, memory, quality)
                   against issue 11's targets; --capture both (default)
                   alternates the recorder's capture modes run by run and
                   prints them side by side; --pin (default with 2 CPUs) puts
                   the lab on the first CPU and the recorder alone on the
                   second; --breakdown adds CPU and memory per Chromium
                   process and thread; --max-load waits (up to --load-wait)
                   for a quiet machine

Exit codes: 0 ok, 1 failure, 2 bad usage.
`

// Main runs one subcommand and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel()}))
	var err error
	switch args[0] {
	case "up":
		err = up(ctx, args[1:], stdout, log)
	case "check":
		err = check(ctx, args[1:], stdout, log)
	case "verify":
		err = verify.Main(ctx, args[1:], stdout)
	case "demo":
		err = demo(ctx, args[1:], stdout, log)
	case "bench":
		err = bench.Main(ctx, args[1:], stdout, log)
	default:
		fmt.Fprintf(stderr, "jitsi-lab: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue), errors.Is(err, flag.ErrHelp), errors.Is(err, verify.ErrUsage), errors.Is(err, bench.ErrUsage):
		fmt.Fprintf(stderr, "jitsi-lab %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "jitsi-lab %s: %v\n", args[0], err)
		return 1
	}
}

type usageError struct{ error }

func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	return nil
}

func up(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	n := fs.Int("participants", 3, "synthetic participants that join")
	room := fs.String("room", "demo", "room name")
	password := fs.String("password", "", "room password (empty: none)")
	addr := fs.String("addr", "127.0.0.1:0", "web front listen address (loopback)")
	senders := fs.String("senders", media.DefaultShape().String(), "video the participants send, WxH@FPS")
	sendOnly := fs.Bool("send-only", false, "participants send but receive no video (cheap; as for a recording)")
	if err := parse(fs, args); err != nil {
		return err
	}
	shape, err := media.ParseShape(*senders)
	if err != nil {
		return usageError{err}
	}
	spec := media.NewSpec(*n).WithShape(shape)
	cfg := lab.Config{Room: *room, Participants: *n, Spec: &spec, SendOnly: *sendOnly, WebAddr: *addr, Logger: log}
	if *password != "" {
		cfg.Rooms = map[string]focus.RoomOptions{*room: {Password: *password}}
	}
	l, err := lab.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	fmt.Fprintf(stdout, "meeting: %s\n", l.MeetingURL(*room))
	specJSON, _ := json.Marshal(l.Spec)
	fmt.Fprintf(stdout, "media: %s\n", specJSON)
	fmt.Fprintln(stdout, "Ctrl-C stops the lab")
	<-ctx.Done()
	return nil
}

func check(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	n := fs.Int("participants", 3, "synthetic participants")
	d := fs.Duration("duration", 20*time.Second, "how long they talk before the check")
	leaveOne := fs.Bool("leave-one", false, "the last participant leaves half-way; the others must see it go")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *n < 2 {
		return usageError{errors.New("--participants must be at least 2")}
	}
	l, err := lab.Start(ctx, lab.Config{Room: "check", Participants: *n, Logger: log})
	if err != nil {
		return err
	}
	defer l.Close()
	res, err := lab.RunCheck(ctx, l, *d, *leaveOne)
	if err != nil {
		return err
	}
	for _, line := range res.Lines {
		fmt.Fprintln(stdout, line)
	}
	if !res.OK {
		return errors.New("check failed")
	}
	fmt.Fprintf(stdout, "check passed: %d participants, %s\n", *n, *d)
	return nil
}
