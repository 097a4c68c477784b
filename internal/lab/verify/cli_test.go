package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

func TestMainPrintsSummaryAndJSON(t *testing.T) {
	t.Parallel()
	p := media.ParticipantAt(1)
	f := generate(t, "cli.mp4", flashVideo(p.Hex, 4, 2.0), beepAudio(p.ToneHz, 4, 1.95))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var human bytes.Buffer
	if err := Main(ctx, []string{f, "--participants", "2"}, &human); err != nil {
		t.Fatalf("Main: %v", err)
	}
	t.Logf("summary:\n%s", human.String())
	for _, want := range []string{"tone  550 Hz Participant 2", "#28b43c Participant 2    visible", "offset    +50 ms"} {
		if !strings.Contains(human.String(), want) {
			t.Errorf("summary lacks %q", want)
		}
	}

	// The lab writes the spec as JSON; colours travel as #rrggbb.
	specJSON, err := json.Marshal(media.NewSpec(2))
	if err != nil {
		t.Fatal(err)
	}
	specPath := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(specPath, specJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	var js bytes.Buffer
	if err := Main(ctx, []string{"--spec", specPath, f, "--json"}, &js); err != nil {
		t.Fatalf("Main --json: %v", err)
	}
	var rep Report
	if err := json.Unmarshal(js.Bytes(), &rep); err != nil {
		t.Fatalf("JSON output: %v\n%s", err, js.String())
	}
	if len(rep.Colors) != 2 || rep.Colors[0].Visible || !rep.Colors[1].Visible {
		t.Errorf("colours from spec.json: %+v", rep.Colors)
	}
	if rep.AVOffsetMS.N != 1 {
		t.Errorf("markers: %+v", rep.Markers)
	}
}

func TestMainRejectsBadArguments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, args := range [][]string{
		{},
		{"a.mp4", "b.mp4"},
		{"a.mp4", "--participants", "2", "--spec", "s.json"},
		{"a.mp4", "--participants", "99"},
		{"a.mp4", "--bogus"},
	} {
		if err := Main(ctx, args, &bytes.Buffer{}); !errors.Is(err, ErrUsage) {
			t.Errorf("Main(%q) = %v, want a usage error", args, err)
		}
	}
	if err := Main(ctx, []string{"-h"}, &bytes.Buffer{}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("Main(-h) = %v, want flag.ErrHelp", err)
	}
	err := Main(ctx, []string{filepath.Join(t.TempDir(), "missing.mp4")}, &bytes.Buffer{})
	if err == nil || errors.Is(err, ErrUsage) {
		t.Errorf("Main on a missing file = %v, want a read error", err)
	}
}
