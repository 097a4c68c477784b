package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/metadata"
)

// processesMentioning lists the live processes whose command line contains
// s: every Chromium process names its profile (also in the zygote's
// rewritten command lines, and in sandboxed processes whose environment
// carries no tag), FFmpeg its output file.
func processesMentioning(s string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(cmdline), s) || isZombie(atoi(e.Name())) {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		out = append(out, e.Name()+":"+strings.TrimSpace(string(comm)))
	}
	return out
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestTwentyRecorderProcessesLeaveNothingBehind runs the real binary 20
// times against one lab meeting, stopping alternately at RECORD_DURATION
// and by SIGTERM, and then finds no process of theirs (by environment tag
// and by command line), nothing in their TMPDIR (Chromium profiles, its
// socket directories, temp files) and no new /dev/shm entry.
func TestTwentyRecorderProcessesLeaveNothingBehind(t *testing.T) {
	const runs = 20
	l := startLab(t, "cycles", 1, 1)
	tmp, err := os.MkdirTemp("", "jrh") // short: Chromium's socket path below it has a length limit
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	recDir := t.TempDir()
	shmBefore := names(t, "/dev/shm")

	start := time.Now()
	for i := range runs {
		file := fmt.Sprintf("run%02d.mp4", i)
		tag := fmt.Sprintf("JR_E2E_TAG=%s-%d-%d", t.Name(), i, time.Now().UnixNano())
		cmd := exec.Command(recorderBin)
		cmd.Env = append(os.Environ(), tag, "TMPDIR="+tmp, "ROOM_URL="+l.MeetingURL("cycles"),
			"RECORDINGS_DIR="+recDir, "OUTPUT_FILE="+file, "LOG_FORMAT=text", "RESOLUTION=640x360")
		how := "duration"
		if i%2 == 0 {
			cmd.Env = append(cmd.Env, "RECORD_DURATION=2")
		} else {
			how = "SIGTERM"
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		runStart := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		if how == "SIGTERM" {
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if st, err := os.Stat(filepath.Join(recDir, file)); err == nil && st.Size() > 20_000 {
					break
				}
			}
			time.Sleep(time.Second)
			if n := names(t, tmp); !slices.ContainsFunc(n, func(s string) bool { return strings.HasPrefix(s, "jitsi-browser-") }) {
				t.Errorf("run %d: TMPDIR holds %v while recording, want the browser's work directory (else this test checks nothing)", i, n)
			}
			cmd.Process.Signal(syscall.SIGTERM)
		}
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("run %d (%s) did not end within 60 s:\n%s", i, how, out.String())
		}
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("run %d (%s): exit code %d\n%s", i, how, code, out.String())
		}
		st, err := os.Stat(filepath.Join(recDir, file))
		if err != nil || st.Size() == 0 {
			t.Fatalf("run %d (%s): no recording: %v", i, how, err)
		}
		t.Logf("run %2d stopped by %-8s: %7d bytes, took %s", i, how, st.Size(), time.Since(runStart).Round(10*time.Millisecond))
		assertNoLeftovers(t, tag)
	}
	t.Logf("%d runs took %s", runs, time.Since(start).Round(time.Second))

	var left []string
	for range 50 {
		if left = append(processesMentioning(tmp), processesMentioning(recDir)...); len(left) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Errorf("processes left after %d runs: %v", runs, left)
	}
	if n := names(t, tmp); len(n) > 0 {
		t.Errorf("left in TMPDIR after %d runs (profiles, Chromium's socket dirs, temp files): %v", runs, n)
	}
	for _, n := range names(t, "/dev/shm") {
		if !slices.Contains(shmBefore, n) {
			t.Errorf("new in /dev/shm after %d runs: %s", runs, n)
		}
	}
	// Each run leaves its MP4, its JSON and the track files the JSON
	// lists (CAPTURE=tracks), and nothing else.
	var want []string
	for _, n := range names(t, recDir) {
		if strings.HasSuffix(n, ".json") {
			want = append(want, n, strings.TrimSuffix(n, ".json")+".mp4")
			want = append(want, trackFilesOf(t, filepath.Join(recDir, n))...)
		}
	}
	slices.Sort(want)
	if got := names(t, recDir); len(got) < 2*runs || !slices.Equal(got, want) {
		t.Errorf("recordings dir holds %d entries, want an MP4, a JSON and its track files per run (%d runs): %v", len(got), runs, got)
	}
}

// TestSIGKILLedRecorderFilesAreRemovedByTheNextRun: a SIGKILLed recorder
// cannot clean up; its Chromium dies with it (parent-death signal) but the
// browser's work directory (profile, socket directory) stays until the
// next recorder starts, which removes it.
func TestSIGKILLedRecorderFilesAreRemovedByTheNextRun(t *testing.T) {
	l := startLab(t, "killed", 1, 1)
	tmp, err := os.MkdirTemp("", "jrk")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	env := []string{"TMPDIR=" + tmp, "RESOLUTION=640x360"}

	killed := startRecorder(t, l, "killed", env...)
	killed.waitRecording(t, 40*time.Second)
	t.Logf("in TMPDIR while recording: %v", names(t, tmp))
	signal(t, killed, syscall.SIGKILL)
	killed.wait(t, 10*time.Second)
	assertNoLeftovers(t, killed.tag)
	stale := names(t, tmp)
	t.Logf("left in TMPDIR by the SIGKILLed recorder: %v", stale)
	if len(stale) == 0 {
		t.Fatal("nothing left behind by a SIGKILLed recorder: the test cannot show the cleanup")
	}

	next := startRecorder(t, l, "killed", append(env, "RECORD_DURATION=2", "OUTPUT_FILE=next.mp4")...)
	if code := next.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("next run: exit code %d", code)
	}
	if n := names(t, tmp); len(n) > 0 {
		t.Errorf("TMPDIR after the next run: %v (want the SIGKILLed run's files gone too)", n)
	}
}

// trackFilesOf lists the track files a recording's metadata names.
func trackFilesOf(t *testing.T, metaPath string) []string {
	t.Helper()
	b, err := os.ReadFile(metaPath)
	if err != nil {
		t.Fatal(err)
	}
	var m metadata.Recording
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", metaPath, err)
	}
	var out []string
	for _, tr := range m.Tracks {
		out = append(out, tr.File)
	}
	return out
}
