package browser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shortTempDir is a fresh directory under /tmp: t.TempDir's paths are too
// long to nest Chromium's socket in.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "jb-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func entriesOf(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestCloseRemovesProfileAndTempFiles: Chromium killed at Close leaves its
// process-singleton directory (org.chromium.Chromium.*) in TMPDIR unless
// TMPDIR is the browser's own work directory, removed with the profile.
func TestCloseRemovesProfileAndTempFiles(t *testing.T) {
	if _, err := FindBinary(""); err != nil {
		t.Skip("chromium not installed: ", err)
	}
	tmp := shortTempDir(t)
	t.Setenv("TMPDIR", tmp)
	b, err := Start(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := entriesOf(t, tmp)
	if len(names) != 1 || !strings.HasPrefix(names[0], fmt.Sprintf("%s%d-", workDirPrefix, os.Getpid())) {
		t.Fatalf("TMPDIR holds %v, want one work directory", names)
	}
	inside := entriesOf(t, filepath.Join(tmp, names[0]))
	t.Logf("work directory while running: %v", inside)
	if processesUsing(tmp) == 0 {
		t.Fatal("no chromium process uses the work directory")
	}
	b.Close()
	if left := entriesOf(t, tmp); len(left) != 0 {
		t.Errorf("left in TMPDIR after Close: %v", left)
	}
	if n := processesLeft(tmp); n != 0 {
		t.Errorf("%d chromium processes left", n)
	}
}

func TestCancelledContextAlsoCleansUp(t *testing.T) {
	if _, err := FindBinary(""); err != nil {
		t.Skip("chromium not installed: ", err)
	}
	tmp := shortTempDir(t)
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithCancel(t.Context())
	if _, err := Start(ctx, Options{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	var left []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if left = entriesOf(t, tmp); len(left) == 0 && processesUsing(tmp) == 0 {
			return
		}
	}
	t.Fatalf("10 s after cancel: TMPDIR holds %v, %d processes left", left, processesUsing(tmp))
}

// TestStaleWorkDirsOfDeadProcessesAreRemoved: a recorder that was SIGKILLed
// could not remove its browser's directory; the next start does, and
// leaves those whose owner still holds the lock (another live recorder,
// whatever PID namespace it is in) and those without a lock alone.
func TestStaleWorkDirsOfDeadProcessesAreRemoved(t *testing.T) {
	tmp := shortTempDir(t)
	t.Setenv("TMPDIR", tmp)
	log := slog.New(slog.DiscardHandler)
	live, err := newWorkDir(log)
	if err != nil {
		t.Fatal(err)
	}
	defer live.remove()
	dead, err := newWorkDir(log)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dead.path, "profile", "Default"), 0o700)
	dead.lock.Close()                                     // its owner died: the kernel dropped the lock
	unlocked := filepath.Join(tmp, workDirPrefix+"1-789") // no lock file: being created, or not ours
	other := filepath.Join(tmp, "chromedp-runner42")
	for _, d := range []string{unlocked, other} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if n := removeStaleWorkDirs(tmp); n != 1 {
		t.Errorf("removed %d, want 1", n)
	}
	if _, err := os.Stat(dead.path); !os.IsNotExist(err) {
		t.Errorf("stale %s kept", dead.path)
	}
	for _, keep := range []string{live.path, unlocked, other} {
		if _, err := os.Stat(keep); err != nil {
			t.Errorf("%s removed", keep)
		}
	}
}

// TestBlockedUserNamespacesAreNamed reproduces a host that forbids
// unprivileged user namespaces: the test re-runs itself in a user namespace
// of its own (as that namespace's root it may set user.max_user_namespaces
// to 0 for everything below), drops to a normal user there, and starts
// Chromium with its sandbox on.
func TestBlockedUserNamespacesAreNamed(t *testing.T) {
	if _, err := FindBinary(""); err != nil {
		t.Skip("chromium not installed: ", err)
	}
	const inside = "JR_TEST_NO_USERNS"
	if os.Getenv(inside) != "" {
		if err := os.WriteFile("/proc/sys/user/max_user_namespaces", []byte("0"), 0); err != nil {
			t.Fatalf("block user namespaces: %v", err)
		}
		if err := syscall.Setresgid(65534, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Setresuid(65534, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		_, err := Start(t.Context(), Options{})
		t.Logf("start as uid %d without user namespaces: %v", os.Geteuid(), err)
		if !errors.Is(err, ErrSandboxUnavailable) {
			t.Fatalf("got %v, want ErrSandboxUnavailable", err)
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to map users into a test user namespace")
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBlockedUserNamespacesAreNamed$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), inside+"=1", "TMPDIR=/tmp", "HOME=/tmp")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}},
	}
	out, err := cmd.CombinedOutput()
	t.Logf("inside the user namespace:\n%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: TestBlockedUserNamespacesAreNamed") {
		t.Fatalf("re-run: %v", err)
	}
}
