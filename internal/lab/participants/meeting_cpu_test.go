package participants_test

import (
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/bridge"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/participants"
)

// TestCPUCostOfMeetingParticipants measures the CPU of the participants'
// browser in a real lab meeting (LAB_CPU_N participants, default 4; send-only
// with LAB_CPU_SENDONLY=1; the spec's frame rate and size changed with
// LAB_CPU_FPS, LAB_CPU_WIDTH, LAB_CPU_HEIGHT), over LAB_CPU_SECS seconds
// (default 20), and the bit rate the bridge receives from each. Opt in:
// LAB_CPU=1.
func TestCPUCostOfMeetingParticipants(t *testing.T) {
	if os.Getenv("LAB_CPU") == "" {
		t.Skip("set LAB_CPU=1 to measure")
	}
	n, secs := envInt("LAB_CPU_N", 4), envInt("LAB_CPU_SECS", 20)
	sendOnly := os.Getenv("LAB_CPU_SENDONLY") != ""
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	spec := media.NewSpec(n)
	spec.FPS = envInt("LAB_CPU_FPS", spec.FPS)
	spec.Width = envInt("LAB_CPU_WIDTH", spec.Width)
	spec.Height = envInt("LAB_CPU_HEIGHT", spec.Height)
	l, err := lab.Start(t.Context(), lab.Config{Room: "cpu", Participants: n, Spec: &spec, SendOnly: sendOnly, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	time.Sleep(5 * time.Second) // let encoders and bandwidth estimates settle
	root := l.Group.BrowserPID()
	bytesBefore := receivedBytes(l.Bridge.Stats())
	before, _ := participants.TreeCPUTicks(root)
	start := time.Now()
	time.Sleep(time.Duration(secs) * time.Second)
	after, procs := participants.TreeCPUTicks(root)
	elapsed := time.Since(start).Seconds()
	for id, b := range receivedBytes(l.Bridge.Stats()) {
		t.Logf("endpoint %s sends %.0f kbit/s (audio and video)", id, float64(b-bytesBefore[id])*8/1000/elapsed)
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	pct := float64(after-before) / ticksPerSecond / elapsed * 100
	if sendOnly {
		for _, c := range l.Bridge.Stats().Conferences {
			for id, es := range c.Endpoints {
				if es.LastN != 0 {
					t.Errorf("endpoint %s has lastN %d on the bridge, want 0", id, es.LastN)
				}
			}
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("%d meeting participants (send-only %v, %dx%d@%d): %.0f%% of one core over %.0f s (%d chromium processes); loadavg %s",
		n, sendOnly, spec.Width, spec.Height, spec.FPS, pct, elapsed, procs, load)
}

// receivedBytes sums the RTP bytes the bridge received from each endpoint.
func receivedBytes(st bridge.Stats) map[string]uint64 {
	out := map[string]uint64{}
	for _, c := range st.Conferences {
		for id, es := range c.Endpoints {
			for _, s := range es.Received {
				out[id] += s.Bytes
			}
		}
	}
	return out
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
