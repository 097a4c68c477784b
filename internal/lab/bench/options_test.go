package bench

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

func TestOptionsDefaultToBothCapturesAndPinningOnTwoCPUs(t *testing.T) {
	o, err := parseOptions(nil, []int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.Captures, []string{CaptureComposite, CaptureTracks}) {
		t.Errorf("captures %v, want composite then tracks", o.Captures)
	}
	if want := (Pinning{On: true, LabCPU: 0, RecorderCPU: 1}); !o.Pin || o.Pinning != want {
		t.Errorf("pin %v, pinning %+v, want %+v", o.Pin, o.Pinning, want)
	}
	if o.Runs != 3 || o.Duration != 30*time.Second || len(o.Scenarios) != 1 || o.Scenarios[0].Name != "720p-4" {
		t.Errorf("runs %d, duration %s, scenarios %+v", o.Runs, o.Duration, o.Scenarios)
	}
}

func TestOptionsDoNotPinOnOneCPUAndSaySo(t *testing.T) {
	o, err := parseOptions(nil, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	if o.Pin || o.Pinning.On {
		t.Errorf("pinned on one CPU: %+v", o.Pinning)
	}
	// Asked for explicitly, still not possible: off, with the reason.
	o, err = parseOptions([]string{"--pin=true"}, []int{3})
	if err != nil {
		t.Fatal(err)
	}
	if o.Pinning.On || o.Pinning.Note == "" {
		t.Errorf("--pin=true on one CPU: %+v, want off with a note", o.Pinning)
	}
}

func TestOptionsTakePinCaptureAndSenders(t *testing.T) {
	o, err := parseOptions([]string{"--pin=false", "--capture", "tracks", "--scenario", "all", "--senders", "320x180@15", "--runs", "2"}, []int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	if o.Pinning.On || !reflect.DeepEqual(o.Captures, []string{CaptureTracks}) || o.Runs != 2 {
		t.Errorf("pinning %+v, captures %v, runs %d", o.Pinning, o.Captures, o.Runs)
	}
	for _, sc := range o.Scenarios {
		if sc.senders() != (media.Shape{Width: 320, Height: 180, FPS: 15}) {
			t.Errorf("%s sends %s, want the --senders override", sc.Name, sc.senders())
		}
	}
	for _, sc := range Scenarios {
		if sc.Senders != (media.Shape{}) {
			t.Errorf("--senders changed the scenario table: %s sends %s", sc.Name, sc.Senders)
		}
	}
}

func TestOptionsRejectBadValuesAsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--capture", "mixed"},
		{"--runs", "0"},
		{"--duration", "2s"},
		{"--lab-nice", "20"},
		{"--scenario", "4k-100"},
		{"--senders", "big"},
		{"--pin=maybe"},
		{"stray"},
	} {
		if _, err := parseOptions(args, []int{0, 1}); !errors.Is(err, ErrUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func TestScenariosSendLikeLaptopsAsTheIssueAsks(t *testing.T) {
	want := map[string]int{"audio-only-4": 4, "720p-2": 2, "720p-4": 4, "720p-9": 9, "1080p-4": 4}
	for _, sc := range Scenarios {
		if sc.senders() != media.DefaultShape() || sc.senders().String() != "640x360@30" {
			t.Errorf("%s: senders %s, want 640x360@30", sc.Name, sc.senders())
		}
		if n, ok := want[sc.Name]; !ok || n != sc.Participants || sc.FPS != 30 {
			t.Errorf("%s: %d participants at %d fps", sc.Name, sc.Participants, sc.FPS)
		}
	}
	if sc, _ := pickScenarios("1080p-4"); sc[0].resolution() != "1920x1080" {
		t.Errorf("1080p-4 records %s", sc[0].resolution())
	}
}
