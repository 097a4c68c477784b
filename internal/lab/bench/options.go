package bench

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

// options is the bench command line, checked.
type options struct {
	Scenarios   []Scenario
	Duration    time.Duration
	Runs        int // per capture mode
	Captures    []string
	Pin         bool // asked for; see Pinning for what the machine allows
	JSON        bool
	JSONOut     string
	Recorder    string
	Every       time.Duration
	From        string
	Breakdown   bool
	MaxLoad     float64
	LoadWait    time.Duration
	LabNice     int
	Keep        string
	Pinning     Pinning
	AllowedCPUs []int
}

// parseOptions reads the bench arguments. allowed is the CPUs this
// process may run on: --pin defaults to true when there are two.
func parseOptions(args []string, allowed []int) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	scenario := fs.String("scenario", "720p-4", "scenario name or all")
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "recording length per run")
	fs.IntVar(&o.Runs, "runs", 3, "fresh lab + recorder runs per scenario and capture mode")
	capture := fs.String("capture", "both", "the recorder's CAPTURE: composite, tracks, or both (runs alternate)")
	fs.BoolVar(&o.Pin, "pin", len(allowed) >= 2, "lab on the first CPU, recorder alone on the second (default when there are 2)")
	fs.BoolVar(&o.JSON, "json", false, "print JSON instead of the text summary")
	fs.StringVar(&o.JSONOut, "json-out", "", "also write the JSON to this file")
	fs.StringVar(&o.Recorder, "recorder", "", "jitsi-recorder binary (default: beside jitsi-lab, else on PATH)")
	fs.DurationVar(&o.Every, "sample-every", 500*time.Millisecond, "/proc sampling interval")
	fs.StringVar(&o.From, "from", "", "print the text summary of a saved --json-out file and exit")
	senders := fs.String("senders", "", "video the lab's participants send, WxH@FPS (default: per scenario)")
	fs.BoolVar(&o.Breakdown, "breakdown", false, "print the per-process and per-thread breakdown too (always in --json)")
	fs.Float64Var(&o.MaxLoad, "max-load", 0, "before each scenario wait until the 1-minute load average is below this (0: don't wait)")
	fs.DurationVar(&o.LoadWait, "load-wait", 10*time.Minute, "longest wait for --max-load; then run anyway and say so")
	fs.IntVar(&o.LabNice, "lab-nice", lab.RecorderFirstNice, "nice value of the lab's participant browser, so it yields the cores to the recorder (0: equal priority)")
	fs.StringVar(&o.Keep, "keep", "", "keep each run's recording in this directory (for a closer look at frames and sync)")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	if o.From != "" {
		return o, nil
	}
	if o.Duration < 5*time.Second || o.Runs < 1 || o.Every < 50*time.Millisecond {
		return o, fmt.Errorf("%w: --duration must be >= 5s, --runs >= 1, --sample-every >= 50ms", ErrUsage)
	}
	if o.LabNice < 0 || o.LabNice > 19 {
		return o, fmt.Errorf("%w: --lab-nice must be 0..19", ErrUsage)
	}
	var err error
	if o.Captures, err = parseCapture(*capture); err != nil {
		return o, err
	}
	if o.Scenarios, err = pickScenarios(*scenario); err != nil {
		return o, err
	}
	if *senders != "" {
		shape, err := media.ParseShape(*senders)
		if err != nil {
			return o, fmt.Errorf("%w: %v", ErrUsage, err)
		}
		for i := range o.Scenarios {
			o.Scenarios[i].Senders = shape
		}
	}
	o.AllowedCPUs = allowed
	o.Pinning = planPinning(o.Pin, allowed)
	return o, nil
}
