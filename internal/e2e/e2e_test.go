// Package e2e records meetings in the lab with the real jitsi-recorder
// binary (real Chromium, FFmpeg, Prosody, lib-jitsi-meet) and checks what
// the recordings contain with the lab's verifier.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/verify"
	"github.com/jitsi-recorder/jitsi-recorder/internal/metadata"
)

var recorderBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "jr-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	recorderBin = filepath.Join(dir, "jitsi-recorder")
	out, err := exec.Command("go", "build", "-o", recorderBin, "../../cmd/jitsi-recorder").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build jitsi-recorder: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startLab starts a lab whose spec has total participants, joinAtStart of
// them joining now. It is closed when the test ends.
//
// The participants send the crowd shape (320x180 at 15 fps): three of them
// cost about half a core, against a whole one at 640x360@30 (LAB_CPU=1 in
// internal/lab/participants). CI's 2 cores are shared with other machines'
// work, and what the lab takes the recorder under test does not get; the
// recorder's output is the same 1280x720 at 30 fps.
func startLab(t *testing.T, room string, total, joinAtStart int) *lab.Lab {
	t.Helper()
	spec := media.NewSpec(total).WithShape(media.CrowdShape())
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	l, err := lab.Start(t.Context(), lab.Config{Room: room, Participants: joinAtStart, Spec: &spec, SendOnly: true, ParticipantsNice: lab.RecorderFirstNice, Logger: log})
	if err != nil {
		t.Fatalf("start lab: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// recording is one jitsi-recorder process.
type recording struct {
	cmd    *exec.Cmd
	tag    string
	dir    string
	file   string
	stderr *bytes.Buffer
	start  time.Time
}

// startRecorder runs jitsi-recorder on room with extra environment. Every
// process it starts inherits a unique tag in its environment, so the test
// can find leftovers however they were re-parented.
func startRecorder(t *testing.T, l *lab.Lab, room string, env ...string) *recording {
	t.Helper()
	return startRecorderUnder(t, l, room, func(bin, _ string) []string { return []string{bin} }, env...)
}

func (r *recording) path() string { return filepath.Join(r.dir, r.file) }

// wait waits for the recorder to exit within d and returns its exit code.
func (r *recording) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(d):
		r.cmd.Process.Kill()
		<-done
		t.Fatalf("jitsi-recorder did not exit within %s", d)
	}
	return r.cmd.ProcessState.ExitCode()
}

// waitRecording waits until the output file has media in it.
func (r *recording) waitRecording(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if st, err := os.Stat(r.path()); err == nil && st.Size() > 50_000 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no media written to %s within %s", r.path(), d)
}

func (r *recording) metadata(t *testing.T) metadata.Recording {
	t.Helper()
	b, err := os.ReadFile(metadata.PathFor(r.path()))
	if err != nil {
		t.Fatalf("read metadata: %v", err)
	}
	var m metadata.Recording
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("parse metadata: %v", err)
	}
	return m
}

func verifyFile(t *testing.T, path string, spec media.Spec) verify.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	rep, err := verify.Verify(ctx, path, spec)
	if err != nil {
		t.Fatalf("verify %s: %v", path, err)
	}
	var b bytes.Buffer
	verify.WriteSummary(&b, rep)
	t.Logf("verifier:\n%s", b.String())
	return rep
}

// assertNoLeftovers fails if any process still carries tag in its
// environment: Chromium, its helpers or FFmpeg outliving the recorder.
func assertNoLeftovers(t *testing.T, tag string) {
	t.Helper()
	var left []string
	for i := 0; i < 50; i++ { // give dying processes up to 5 s
		left = processesTagged(tag)
		if len(left) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("processes left after the recorder: %v", left)
}

func processesTagged(tag string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	needle := []byte(tag + "\x00")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(env, needle) {
			continue
		}
		comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		if st, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil && strings.Contains(string(st), ") Z ") {
			continue // a zombie holds no resources; its parent reaps it
		}
		out = append(out, e.Name()+":"+strings.TrimSpace(string(comm)))
	}
	return out
}

func probeDuration(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "default=nw=1:nk=1", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("ffprobe duration %q: %v", out, err)
	}
	return d
}

func signal(t *testing.T, r *recording, sig syscall.Signal) {
	t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}
