package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/jitsi-recorder/jitsi-recorder/internal/compose"
	"github.com/jitsi-recorder/jitsi-recorder/internal/ffmpeg"
	"github.com/jitsi-recorder/jitsi-recorder/internal/logging"
	"github.com/jitsi-recorder/jitsi-recorder/internal/metadata"
)

// composeUsage is printed for `jitsi-recorder compose --help`.
const composeUsage = `Usage: jitsi-recorder compose [-o OUT.mp4] [--ffmpeg-path PATH] RECORDING.json

Builds a recording's composite (grid, active speaker, screen share, names,
everyone's audio mixed) again from its per-participant track files, as fast
as the machine allows: after the recorder was killed, or its composite was
lost. RECORDING.json is the metadata file of a recording made with
CAPTURE=tracks; the track files it lists are read from its directory.
The output (default <recording>.composed.mp4 beside it) is never overwritten.

Exit codes: 0 composed, 2 bad input, 6 FFmpeg or output failure.
`

// runCompose is the compose subcommand; it returns the exit code.
func runCompose(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("compose", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("o", "", "output file (default <recording>.composed.mp4)")
	ffmpegPath := fs.String("ffmpeg-path", "ffmpeg", "FFmpeg executable")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(os.Stdout, composeUsage)
			return 0
		}
		fmt.Fprintf(stderr, "jitsi-recorder compose: %v (see jitsi-recorder compose --help)\n", err)
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "jitsi-recorder compose: want one RECORDING.json (see jitsi-recorder compose --help)")
		return 2
	}
	metaPath := fs.Arg(0)
	rec, err := readRecording(metaPath)
	if err != nil {
		fmt.Fprintf(stderr, "jitsi-recorder compose: %v\n", err)
		return 2
	}
	if *out == "" {
		*out = strings.TrimSuffix(metaPath, filepath.Ext(metaPath)) + ".composed.mp4"
	}
	// Claimed before FFmpeg writes: never overwrite a file.
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		fmt.Fprintf(stderr, "jitsi-recorder compose: %v\n", err)
		return 2
	}
	f.Close()

	log := logging.New(stderr, "text", slog.LevelWarn)
	enc := rec.Encoder
	opts := compose.Options{FFmpeg: *ffmpegPath, Width: enc.Width, Height: enc.Height, FPS: enc.FPS,
		AudioOnly: !hasVideo(rec), Logger: log}
	if opts.FPS == 0 {
		opts.FPS = 30
	}
	encoder, err := ffmpeg.StartEncoder(ctx, ffmpeg.EncoderOptions{
		Binary: *ffmpegPath, Output: *out, Width: opts.Width, Height: opts.Height, FPS: opts.FPS,
		VideoBitrate: enc.VideoBitrate, AudioBitrate: enc.AudioBitrate, AudioOnly: opts.AudioOnly, Logger: log,
	})
	if err != nil {
		os.Remove(*out)
		fmt.Fprintf(stderr, "jitsi-recorder compose: %v\n", err)
		return 6
	}
	started := time.Now()
	bar := newBar(stderr, rec)
	composed, err := compose.Compose(ctx, rec, filepath.Dir(metaPath), opts, encoder, bar.progress)
	bar.finish()
	if cerr := encoder.CloseWithin(10 * time.Second); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "jitsi-recorder compose: %s: %v\n", *out, err)
		return 6
	}
	took := time.Since(started)
	fmt.Fprintf(stderr, "composed %s of media into %s in %s (%.1fx real time)\n",
		composed.Round(time.Millisecond), *out, took.Round(time.Millisecond), composed.Seconds()/max(took.Seconds(), 0.001))
	return 0
}

func readRecording(path string) (metadata.Recording, error) {
	var rec metadata.Recording
	b, err := os.ReadFile(path)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("%s: not a recording's metadata: %w", path, err)
	}
	if len(rec.Tracks) == 0 {
		return rec, fmt.Errorf("%s lists no track files: only recordings made with CAPTURE=tracks can be composed again", path)
	}
	return rec, nil
}

// hasVideo: an audio-only recording has no video tracks.
func hasVideo(rec metadata.Recording) bool {
	for _, t := range rec.Tracks {
		if t.Kind == "video" {
			return true
		}
	}
	return false
}

// bar shows the composite's progress on a terminal; elsewhere it says
// nothing until the end.
type bar struct {
	pb *progressbar.ProgressBar
}

func newBar(w io.Writer, rec metadata.Recording) *bar {
	f, ok := w.(*os.File)
	if !ok || !logging.IsTerminal(f) {
		return &bar{}
	}
	total := int64(rec.DurationSeconds)
	if total <= 0 {
		total = -1 // unknown length (a killed recorder): a spinner
	}
	return &bar{pb: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("composing"),
		progressbar.OptionSetItsString("s"), progressbar.OptionShowIts(), progressbar.OptionShowCount(),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())}
}

func (b *bar) progress(done, _ time.Duration) {
	if b.pb != nil {
		b.pb.Set64(int64(done.Seconds()))
	}
}

func (b *bar) finish() {
	if b.pb != nil {
		b.pb.Finish()
	}
}
