package lab

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/focus"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/participants"
	"github.com/jitsi-recorder/jitsi-recorder/internal/procfs"
)

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// TestThreeParticipantsSeeAndHearEachOtherAndSeeOneLeave is what
// `jitsi-lab check --participants 3 --duration 20s --leave-one` does.
func TestThreeParticipantsSeeAndHearEachOtherAndSeeOneLeave(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prosody and Chromium")
	}
	l, err := Start(t.Context(), Config{Room: "check", Participants: 3, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	res, err := RunCheck(t.Context(), l, 20*time.Second, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range res.Lines {
		t.Log(line)
	}
	if !res.OK {
		t.Fatal("check failed")
	}
	if got := len(res.Lines); got != 4 { // 2 remaining participants + 2 saw-leave lines
		t.Fatalf("%d lines, want 4", got)
	}
}

// TestPasswordRoomAdmitsOnlyWithThePassword: Prosody's own MUC password,
// configured by the focus, is enforced on lib-jitsi-meet clients.
func TestPasswordRoomAdmitsOnlyWithThePassword(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prosody and Chromium")
	}
	l, err := Start(t.Context(), Config{
		Room: "secret", Participants: 1, Logger: testLogger(t),
		Rooms: map[string]focus.RoomOptions{"secret": {Password: "hunter2"}},
	})
	if err != nil {
		t.Fatalf("participant with the password: %v", err)
	}
	defer l.Close()
	g, err := participants.Start(t.Context(), participants.Config{
		BaseURL: l.Web.URL(), Room: "secret", Password: "wrong",
		Spec: media.NewSpec(2), JoinAtStart: 2, JoinTimeout: 20 * time.Second,
		Logger: testLogger(t), Browser: browser.Options{},
	})
	if err == nil {
		g.Close()
		t.Fatal("joined with a wrong password")
	}
	if !strings.Contains(err.Error(), "password") {
		t.Fatalf("error %q does not name the password", err)
	}
	t.Logf("wrong password refused: %v", err)
}

// TestParticipantsNiceReachesEveryBrowserProcess: ParticipantsNice lowers
// the priority of the whole participants' browser, and a participant who
// joins later (a renderer forked after Start) has it too.
func TestParticipantsNiceReachesEveryBrowserProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prosody and Chromium")
	}
	spec := media.NewSpec(2)
	l, err := Start(t.Context(), Config{Room: "nice", Participants: 1, Spec: &spec, SendOnly: true, ParticipantsNice: 7, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	fs := procfs.FS{Root: "/proc"}
	before := len(procfs.Descendants(fs.List(), l.Group.BrowserPID()))
	if err := l.Group.Join(1); err != nil {
		t.Fatalf("late join: %v", err)
	}
	tree := procfs.Descendants(fs.List(), l.Group.BrowserPID())
	if len(tree) <= before {
		t.Fatalf("the late joiner added no process to the browser's %d", before)
	}
	for _, pid := range tree {
		// The raw syscall answers 20 - nice.
		prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, pid)
		if err != nil {
			continue // exited meanwhile
		}
		if 20-prio != 7 {
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			t.Errorf("pid %d: nice %d, want 7 (%.120s)", pid, 20-prio, strings.ReplaceAll(string(cmd), "\x00", " "))
		}
	}
	t.Logf("%d processes at nice 7 (%d before the late join)", len(tree), before)
	// Refused before any browser starts.
	if g, err := participants.Start(t.Context(), participants.Config{BaseURL: l.Web.URL(), Room: "rude", Spec: spec, Nice: -5, Logger: testLogger(t)}); err == nil {
		g.Close()
		t.Error("a negative nice value was accepted")
	}
}
