package recorder

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
	"github.com/jitsi-recorder/jitsi-recorder/internal/config"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/web"
	"github.com/jitsi-recorder/jitsi-recorder/internal/meeting"
)

// processesMentioning lists the live processes (not zombies) whose command
// line contains s: every Chromium process carries its profile directory
// (--user-data-dir, also in the zygote's rewritten command lines), FFmpeg
// its output file, however they were re-parented.
func processesMentioning(s string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(cmdline), s) {
			continue
		}
		if st, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil && strings.Contains(string(st), ") Z ") {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		out = append(out, e.Name()+":"+strings.TrimSpace(string(comm)))
	}
	return out
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func openFDs() int {
	entries, _ := os.ReadDir("/proc/self/fd")
	return len(entries)
}

// TestTwentyRunsInOneProcessLeaveNothingBehind records the lab meeting 20
// times in this process, stopping alternately at RECORD_DURATION and by
// cancellation (SIGTERM's path), and then finds no Chromium or FFmpeg
// process, no Chromium profile or temp file (TMPDIR points at a directory
// of its own for the runs), no new /dev/shm entry, and no growth in open
// files or goroutines.
func TestTwentyRunsInOneProcessLeaveNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("lab test skipped in -short mode")
	}
	if _, err := web.FindLibDir(); err != nil {
		t.Skip("lab needs lib-jitsi-meet: ", err)
	}
	if _, err := browser.FindBinary(""); err != nil {
		t.Skip("chromium not installed: ", err)
	}
	const cycles = 20
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	labLog := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	l, err := lab.Start(ctx, lab.Config{Room: "hygiene", Participants: 1, SendOnly: true, ParticipantsNice: lab.RecorderFirstNice, Logger: labLog})
	if err != nil {
		t.Fatal("lab: ", err)
	}
	defer l.Close()
	m, err := meeting.Parse(l.MeetingURL("hygiene"))
	if err != nil {
		t.Fatal(err)
	}

	// The lab's own browser started before TMPDIR changes; everything the
	// recorder creates in TMPDIR lands in tmp.
	recDir := filepath.Join(t.TempDir(), "recordings")
	tmp, err := os.MkdirTemp("", "jrh") // short: Chromium's socket path below it has a length limit
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	t.Setenv("TMPDIR", tmp)
	shmBefore := dirNames(t, "/dev/shm")
	runtime.GC()
	fdsBefore, goroutinesBefore := openFDs(), runtime.NumGoroutine()

	start := time.Now()
	for i := range cycles {
		logs := &syncBuffer{}
		cfg := config.Config{
			Meeting: m, RecordingsDir: recDir, OutputFile: fmt.Sprintf("cycle%02d.mp4", i), DisplayName: "Recorder",
			Width: 640, Height: 360, FPS: 30, VideoBitrate: 1_000_000, AudioBitrate: 128_000,
			JoinTimeout: 30 * time.Second, FFmpegPath: "ffmpeg",
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		}
		runCtx, stop := context.WithCancel(ctx)
		how := "duration"
		if i%2 == 0 {
			cfg.Duration = 2 * time.Second
		} else {
			how = "cancel"
			go func() { // cancel once media is on disk, as SIGTERM would
				for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
					if st, err := os.Stat(filepath.Join(recDir, cfg.OutputFile)); err == nil && st.Size() > 20_000 {
						if n := dirNames(t, tmp); !slices.ContainsFunc(n, func(s string) bool { return strings.HasPrefix(s, "jitsi-browser-") }) {
							t.Errorf("cycle %d: TMPDIR holds %v while recording, want the browser's work directory (else this test checks nothing)", i, n)
						}
						time.Sleep(time.Second)
						break
					}
				}
				stop()
			}()
		}
		cycleStart := time.Now()
		res, err := Run(runCtx, cfg)
		stop()
		if err != nil || res.Bytes == 0 {
			t.Fatalf("cycle %d (%s): %v, %d bytes\n%s", i, how, err, res.Bytes, logs.String())
		}
		_, dur := probe(t, res.File)
		t.Logf("cycle %2d stopped by %-8s %-8s: %6d bytes, %.2f s of media, run took %s", i, how, res.StopReason, res.Bytes, dur, time.Since(cycleStart).Round(10*time.Millisecond))
		if left := processesMentioning(tmp); len(left) > 0 {
			time.Sleep(2 * time.Second) // dying processes get a moment
			if left = processesMentioning(tmp); len(left) > 0 {
				t.Errorf("after cycle %d: Chromium processes left: %v", i, left)
			}
		}
	}
	t.Logf("%d cycles took %s", cycles, time.Since(start).Round(time.Second))

	var left []string
	for range 50 { // up to 5 s for anything still dying
		if left = append(processesMentioning(tmp), processesMentioning(recDir)...); len(left) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Errorf("processes left after %d runs: %v", cycles, left)
	}
	if names := dirNames(t, tmp); len(names) > 0 {
		t.Errorf("left in TMPDIR after %d runs (Chromium profiles or temp files): %v", cycles, names)
	}
	for _, name := range dirNames(t, "/dev/shm") {
		if !slices.Contains(shmBefore, name) {
			t.Errorf("new in /dev/shm after %d runs: %s", cycles, name)
		}
	}
	recs := dirNames(t, recDir)
	if len(recs) != 2*cycles { // an MP4 and its JSON per run, nothing else
		t.Errorf("recordings dir holds %d entries, want %d: %v", len(recs), 2*cycles, recs)
	}

	// Goroutines and descriptors may take a moment to wind down (chromedp's
	// readers, exec's copiers); a leak grows with every run, noise does not.
	var fds, goroutines int
	for range 50 {
		runtime.GC()
		fds, goroutines = openFDs(), runtime.NumGoroutine()
		if fds <= fdsBefore+5 && goroutines <= goroutinesBefore+10 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("open files %d -> %d, goroutines %d -> %d", fdsBefore, fds, goroutinesBefore, goroutines)
	if fds > fdsBefore+5 {
		t.Errorf("open files grew from %d to %d over %d runs", fdsBefore, fds, cycles)
	}
	if goroutines > goroutinesBefore+10 {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Errorf("goroutines grew from %d to %d over %d runs:\n%s", goroutinesBefore, goroutines, cycles, buf[:n])
	}
}
