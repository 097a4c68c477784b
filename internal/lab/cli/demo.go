package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/bench"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/verify"
)

// demo is the first-run experience: a lab meeting, recorded by the real
// jitsi-recorder command exactly as a user would run it, then verified.
func demo(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	n := fs.Int("participants", 3, "synthetic participants")
	d := fs.Duration("duration", 20*time.Second, "recording length")
	out := fs.String("out", "recordings", "recordings directory")
	recorderBin := fs.String("recorder", "", "jitsi-recorder binary (default: beside jitsi-lab, else on PATH)")
	if err := parse(fs, args); err != nil {
		return err
	}
	bin, err := bench.FindRecorder(*recorderBin)
	if err != nil {
		return err
	}
	l, err := lab.Start(ctx, lab.Config{Room: "demo", Participants: *n, SendOnly: true, ParticipantsNice: lab.RecorderFirstNice, Logger: log})
	if err != nil {
		return err
	}
	defer l.Close()

	file := "demo_" + time.Now().UTC().Format("2006-01-02T15-04-05Z") + ".mp4"
	roomURL := l.MeetingURL("demo")
	fmt.Fprintf(stdout, "recording %s for %s:\n  ROOM_URL=%s RECORD_DURATION=%d RECORDINGS_DIR=%s OUTPUT_FILE=%s %s\n",
		roomURL, *d, roomURL, int(d.Seconds()), *out, file, bin)
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(),
		"ROOM_URL="+roomURL,
		"RECORD_DURATION="+strconv.Itoa(int(d.Seconds())),
		"RECORDINGS_DIR="+*out,
		"OUTPUT_FILE="+file,
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("jitsi-recorder: %w", err)
	}
	path := filepath.Join(*out, file)
	rep, err := verify.Verify(ctx, path, l.Spec)
	if err != nil {
		return fmt.Errorf("verify %s: %w", path, err)
	}
	fmt.Fprintf(stdout, "\nrecorded %s (metadata: %s)\n", path, path[:len(path)-len(filepath.Ext(path))]+".json")
	return verify.WriteSummary(stdout, rep)
}
