package bench

import (
	"fmt"
	"strings"
)

// The recorder's capture modes (its CAPTURE setting): composite, the
// browser draws, mixes and encodes; tracks, the browser hands over each
// participant's encoded media and Go composes with FFmpeg.
const (
	CaptureComposite = "composite"
	CaptureTracks    = "tracks"
)

// parseCapture reads --capture: one mode, or both (composite first, the
// mode the ratios are taken against).
func parseCapture(s string) ([]string, error) {
	switch strings.TrimSpace(s) {
	case CaptureComposite:
		return []string{CaptureComposite}, nil
	case CaptureTracks:
		return []string{CaptureTracks}, nil
	case "both":
		return []string{CaptureComposite, CaptureTracks}, nil
	}
	return nil, fmt.Errorf("%w: --capture %q: want composite, tracks or both", ErrUsage, s)
}

// runOrder is the capture mode of each run of a scenario: runs of each
// mode, the modes taking turns (composite, tracks, composite, tracks...),
// so that a machine that gets busier or quieter during the scenario
// weighs on both alike rather than on whichever ran last.
func runOrder(modes []string, runs int) []string {
	out := make([]string, 0, len(modes)*runs)
	for i := 0; i < runs; i++ {
		out = append(out, modes...)
	}
	return out
}

// captureOf is a run's capture mode; runs saved before the bench knew
// modes were all composite.
func captureOf(r RunResult) string {
	if r.Capture == "" {
		return CaptureComposite
	}
	return r.Capture
}
