package composite

import (
	"syscall"
	"testing"
	"time"
)

// reportCPU adds the process's CPU time per operation to a benchmark: on a
// shared machine wall time also counts the time spent waiting for a core.
func reportCPU(b *testing.B, run func()) {
	b.Helper()
	before := cpuTime(b)
	n := 0
	for b.Loop() {
		run()
		n++
	}
	b.ReportMetric(float64(cpuTime(b)-before)/float64(n), "cpu-ns/op")
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
