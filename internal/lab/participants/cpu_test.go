package participants

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCPUCostOfLocalParticipants measures the CPU the browser of three
// local-mode participants uses (each encodes and decodes its own media
// through a loopback peer connection). Opt in: LAB_CPU=1.
func TestCPUCostOfLocalParticipants(t *testing.T) {
	if os.Getenv("LAB_CPU") == "" {
		t.Skip("set LAB_CPU=1 to measure")
	}
	n := 3
	if v, err := strconv.Atoi(os.Getenv("LAB_CPU_N")); err == nil && v > 0 {
		n = v
	}
	g, _ := startLocalGroup(t, n)
	time.Sleep(3 * time.Second) // let encoders settle
	root := g.BrowserPID()
	before, procs := treeCPUTicks(root)
	start := time.Now()
	time.Sleep(10 * time.Second)
	after, _ := treeCPUTicks(root)
	secs := time.Since(start).Seconds()
	const ticksPerSecond = 100 // USER_HZ on Linux
	pct := float64(after-before) / ticksPerSecond / secs * 100
	t.Logf("%d local participants: %.0f%% of one core over %.0f s (%d chromium processes)", n, pct, secs, procs)
}

// treeCPUTicks sums utime+stime of root and its descendants.
func treeCPUTicks(root int) (ticks int64, procs int) {
	parent := map[int]int{}
	cpu := map[int]int64{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command name, which is in parentheses.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		parent[pid] = ppid
		cpu[pid] = ut + st
	}
	for pid, c := range cpu {
		for p := pid; p > 1; p = parent[p] {
			if p == root {
				ticks += c
				procs++
				break
			}
		}
	}
	return ticks, procs
}
