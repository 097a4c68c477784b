package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// loadAverage1 is the 1-minute load average from root/loadavg.
func loadAverage1(root string) (float64, bool) {
	b, err := os.ReadFile(filepath.Join(root, "loadavg"))
	if err != nil {
		return 0, false
	}
	var l float64
	if _, err := fmt.Sscan(string(b), &l); err != nil {
		return 0, false
	}
	return l, true
}

// waitForLoad waits until the 1-minute load average is below max, at most
// for limit: on a shared machine other work distorts the figures. It
// returns how long it waited, the last load average read, and whether it
// got below max.
func waitForLoad(ctx context.Context, root string, max float64, limit time.Duration) (time.Duration, float64, bool) {
	start := time.Now()
	deadline := start.Add(limit)
	for {
		l, ok := loadAverage1(root)
		if !ok || l < max {
			return time.Since(start), l, ok
		}
		if time.Now().After(deadline) {
			return time.Since(start), l, false
		}
		select {
		case <-ctx.Done():
			return time.Since(start), l, false
		case <-time.After(5 * time.Second):
		}
	}
}
