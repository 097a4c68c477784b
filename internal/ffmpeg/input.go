package ffmpeg

import (
	"math"
	"os"
	"sync/atomic"
	"time"
)

// input is one raw pipe into the encoder, cut at MaxDuration. The cut is
// made here rather than left to FFmpeg's -t alone: FFmpeg (5.1) reads
// each input in a thread and, after -t, waits for every thread to see
// more data or EOF before it finishes the file, so a writer that stops
// at the limit would leave it waiting. Ending the pipe at the limit lets
// it finish at once.
type input struct {
	f       *os.File
	limit   int64 // bytes, 0 = none
	written int64 // only touched by the one writing goroutine
	ended   atomic.Bool
}

// maxBytes is how many bytes of a stream with unitsPerSecond units of
// unitBytes each make up d (whole units, rounded up); 0 for no limit.
func maxBytes(d time.Duration, unitsPerSecond, unitBytes int) int64 {
	if d <= 0 {
		return 0
	}
	return int64(math.Ceil(d.Seconds()*float64(unitsPerSecond))) * int64(unitBytes)
}

// write passes b on, up to the limit, and returns how much it passed;
// what is past the limit is discarded. The write that reaches the limit
// ends the pipe.
func (in *input) write(b []byte) (int, error) {
	if in.ended.Load() {
		return 0, nil
	}
	part := b
	if in.limit > 0 && in.written+int64(len(b)) >= in.limit {
		part = b[:in.limit-in.written]
	}
	n, err := in.f.Write(part)
	in.written += int64(n)
	if err != nil {
		return n, err
	}
	if in.limit > 0 && in.written >= in.limit {
		in.ended.Store(true)
		in.f.Close()
	}
	return n, nil
}

// full reports whether the input reached its limit.
func (in *input) full() bool { return in.ended.Load() }
