package browser

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// workDirPrefix names the directory each browser gets in the system's temp
// directory, followed by the owning process's PID: it holds the profile and
// is Chromium's TMPDIR, so its process-singleton socket directory
// (org.chromium.Chromium.*, left behind whenever Chromium is killed rather
// than quit) and its shared-memory files (--disable-dev-shm-usage puts them
// in TMPDIR) go away with it.
const workDirPrefix = "jitsi-browser-"

// newWorkDir first removes the work directories of processes that no
// longer exist (a recorder that was SIGKILLed could not clean up), then
// creates this browser's.
//
// Chromium puts a Unix socket below it, whose path must stay under 108
// bytes (Chromium aborts with "Socket path too long" otherwise): under a
// long TMPDIR the work directory goes to /tmp instead.
func newWorkDir(log *slog.Logger) (string, error) {
	parent := os.TempDir()
	name := fmt.Sprintf("%s%d-", workDirPrefix, os.Getpid())
	const random, socket = len("1234567890"), len("/org.chromium.Chromium.XXXXXX/SingletonSocket")
	if len(parent)+1+len(name)+random+socket > 107 {
		log.Debug("TMPDIR too long for Chromium's socket; its temp files go to /tmp", "tmpdir", parent)
		parent = "/tmp"
	}
	if n := removeStaleWorkDirs(parent); n > 0 {
		log.Debug("removed work directories of dead browsers", "count", n)
	}
	return os.MkdirTemp(parent, name)
}

// removeStaleWorkDirs removes the work directories in tmp whose owning
// process is gone, and returns how many. A PID that is alive, even if
// reused by another program, keeps its directory: better a leftover than
// a live browser's profile pulled away.
func removeStaleWorkDirs(tmp string) int {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), workDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			continue // alive (or not ours to judge)
		}
		dir := filepath.Join(tmp, e.Name())
		killProcessesUsing(filepath.Join(dir, "profile"))
		if os.RemoveAll(dir) == nil {
			n++
		}
	}
	return n
}

// killProcessesUsing SIGKILLs the processes whose command line names the
// profile directory, until none is found for a few passes in a row:
// Chromium's helpers (zygote, renderers) can outlive a killed browser
// process for a moment, or fork just as it dies. It gives up after 2 s.
func killProcessesUsing(profile string) {
	if profile == "" {
		return
	}
	want := []byte("--user-data-dir=" + profile)
	deadline := time.Now().Add(2 * time.Second)
	for quiet := 0; quiet < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		found := 0
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			if err != nil {
				continue
			}
			// The zygote's children rewrite their command line as one
			// space-separated string: match the argument either way.
			if i := bytes.Index(cmdline, want); i >= 0 {
				end := i + len(want)
				if end == len(cmdline) || cmdline[end] == 0 || cmdline[end] == ' ' {
					syscall.Kill(pid, syscall.SIGKILL)
					found++
				}
			}
		}
		if found == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// removeWorkDir removes dir, retrying a little: a helper that was just
// killed may still be writing in it.
func removeWorkDir(dir string) error {
	var err error
	for range 20 {
		if err = os.RemoveAll(dir); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}
