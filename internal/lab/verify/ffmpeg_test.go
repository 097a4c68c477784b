package verify

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

// A file that never delivers data (a FIFO nobody writes) must not hang the
// verifier: the context ends the run and ffprobe is killed with its group.
func TestVerifyStopsWhenContextEnds(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "stuck.mp4")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Verify(ctx, fifo, media.NewSpec(1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v to stop", took)
	}
}

func TestParseShowinfoLine(t *testing.T) {
	line := "[Parsed_showinfo_1 @ 0x55d0c8a4c0c0] n:  61 pts:  31232 pts_time:2.0333  duration:    512 duration_time:0.0333333 fmt:rgb24"
	ts, ok := parseShowinfo(line)
	if !ok || ts != 2.0333 {
		t.Errorf("parseShowinfo = %v, %v; want 2.0333", ts, ok)
	}
	for _, other := range []string{
		"[Parsed_showinfo_1 @ 0x55d0c8a4c0c0]   color_range:tv color_space:bt709",
		"frame=  100 fps=0.0 q=-0.0 size=N/A time=00:00:03.33",
	} {
		if _, ok := parseShowinfo(other); ok {
			t.Errorf("parseShowinfo(%q) took it for a frame", other)
		}
	}
}
