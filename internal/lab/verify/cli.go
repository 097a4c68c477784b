package verify

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

const usage = "usage: jitsi-lab verify FILE [--participants N | --spec spec.json] [--json]"

// ErrUsage marks the errors Main returns for bad arguments (exit code 2),
// as opposed to a file that cannot be read. -h gives flag.ErrHelp.
var ErrUsage = errors.New(usage)

func usageErr(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), ErrUsage)
}

// Main is `jitsi-lab verify`: args are what follows "verify". It prints a
// human summary of the report, or the report as JSON with --json. Without
// --participants or --spec it looks for every participant the lab can make.
func Main(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("participants", 0, "number of synthetic participants (media.NewSpec)")
	specPath := fs.String("spec", "", "spec.json written by the lab")
	asJSON := fs.Bool("json", false, "print the report as JSON")

	// Accept flags before and after FILE.
	var files []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return fmt.Errorf("%w: %w", err, ErrUsage)
			}
			return usageErr("%v", err)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) != 1 {
		return usageErr("want exactly one FILE, got %d", len(files))
	}
	if *n != 0 && *specPath != "" {
		return usageErr("--participants and --spec exclude each other")
	}

	spec := media.NewSpec(media.MaxParticipants)
	switch {
	case *specPath != "":
		s, err := loadSpec(*specPath)
		if err != nil {
			return err
		}
		spec = s
	case *n < 0 || *n > media.MaxParticipants:
		return usageErr("--participants must be 1..%d", media.MaxParticipants)
	case *n > 0:
		spec = media.NewSpec(*n)
	}

	rep, err := Verify(ctx, files[0], spec)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return WriteSummary(stdout, rep)
}

// loadSpec reads a spec.json. Participant colours travel as "#rrggbb" (the
// RGB field is not serialised), so they are parsed back here.
func loadSpec(path string) (media.Spec, error) {
	var s media.Spec
	data, err := os.ReadFile(path)
	if err != nil {
		return s, fmt.Errorf("read spec: %w", err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("parse spec %s: %w", path, err)
	}
	for i := range s.Participants {
		c, err := parseHex(s.Participants[i].Hex)
		if err != nil {
			return s, fmt.Errorf("parse spec %s: participant %d: %w", path, i, err)
		}
		s.Participants[i].Color = c
	}
	return s, nil
}

func parseHex(h string) (media.RGB, error) {
	v, err := strconv.ParseUint(strings.TrimPrefix(h, "#"), 16, 32)
	if err != nil || len(strings.TrimPrefix(h, "#")) != 6 {
		return media.RGB{}, fmt.Errorf("colour %q is not #rrggbb", h)
	}
	return media.RGB{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v)}, nil
}

// WriteSummary prints the report for a person.
func WriteSummary(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %.2f s\n", r.File, r.DurationS)
	for _, s := range r.Streams {
		switch s.Type {
		case "video":
			fmt.Fprintf(&b, "  stream %d: video %s %dx%d, claims %.3g fps\n", s.Index, s.Codec, s.Width, s.Height, s.FPS)
		case "audio":
			fmt.Fprintf(&b, "  stream %d: audio %s %d Hz, %d ch\n", s.Index, s.Codec, s.SampleRate, s.Channels)
		default:
			fmt.Fprintf(&b, "  stream %d: %s %s\n", s.Index, s.Type, s.Codec)
		}
	}
	if r.Audio.Present {
		fmt.Fprintf(&b, "audio: %.2f s, peak %.1f dBFS, rms %.1f dBFS\n", r.Audio.DurationS, r.Audio.PeakDBFS, r.Audio.RMSDBFS)
		for _, t := range r.Tones {
			fmt.Fprintf(&b, "  tone %4.0f Hz %-16s present %5.1f %%%s\n", t.Hz, t.Name, 100*t.PresentFraction, span(t.FirstS, t.LastS))
		}
	} else {
		b.WriteString("audio: none\n")
	}
	if r.Video.Present {
		v := r.Video
		fmt.Fprintf(&b, "video: %d frames (%d distinct timestamps) %.2f..%.2f s, %.2f fps, max gap %.0f ms\n",
			v.Frames, v.DistinctTimestamps, v.FirstS, v.LastS, v.FPS, 1000*v.MaxGapS)
		fmt.Fprintf(&b, "  changing %.1f %% of frames, longest frozen %.2f s\n", 100*v.ChangingFraction, v.FrozenMaxS)
		if len(v.Stills) > 0 {
			var ss []string
			for _, s := range v.Stills {
				ss = append(ss, fmt.Sprintf("%.2f..%.2f", s.FromS, s.ToS))
			}
			fmt.Fprintf(&b, "  still for %.1f s or longer: %s s\n", StillMinS, strings.Join(ss, ", "))
		}
		for _, c := range r.Colors {
			vis := "not visible"
			if c.Visible {
				vis = "visible"
			}
			fmt.Fprintf(&b, "  colour %s %-16s %-11s %5.1f %% of frames%s\n", c.Color, c.Name, vis, 100*c.Fraction, span(c.FirstS, c.LastS))
		}
	} else {
		b.WriteString("video: none\n")
	}
	fmt.Fprintf(&b, "markers: %d beeps, %d flashes\n", len(r.Audio.BeepsS), len(r.Video.FlashesS))
	for _, m := range r.Markers {
		if m.Matched {
			fmt.Fprintf(&b, "  beep %7.3f s  flash %7.3f s  offset %+6.0f ms\n", m.BeepS, m.FlashS, m.OffsetMS)
		} else {
			fmt.Fprintf(&b, "  beep %7.3f s  no flash within %.0f s\n", m.BeepS, MaxPairingS)
		}
	}
	if o := r.AVOffsetMS; o.N > 0 {
		fmt.Fprintf(&b, "A/V offset (flash - beep; + = video late): mean %+.0f ms, min %+.0f, max %+.0f over %d markers\n", o.Mean, o.Min, o.Max, o.N)
	} else {
		b.WriteString("A/V offset: no matched markers\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func span(first, last float64) string {
	if first < 0 {
		return ""
	}
	return fmt.Sprintf(", %.2f..%.2f s", first, last)
}
