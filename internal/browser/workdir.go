package browser

import (
	"bytes"
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

// lockName is the file in a work directory its owner holds an exclusive
// flock on for as long as the browser lives. The kernel drops the lock when
// the owner dies, however it dies, so a lock that can be taken marks a
// stale directory: unlike a PID, this also holds when /tmp is shared
// between PID namespaces (containers).
const lockName = "owner.lock"

// workDir is a browser's work directory and the lock that claims it.
type workDir struct {
	path string
	lock *os.File
}

// newWorkDir first removes the work directories of processes that no
// longer exist (a recorder that was SIGKILLed could not clean up), then
// creates and locks this browser's.
//
// Chromium puts a Unix socket below it, whose path must stay under 108
// bytes (Chromium aborts with "Socket path too long" otherwise): under a
// long TMPDIR the work directory goes to /tmp instead.
func newWorkDir(log *slog.Logger) (*workDir, error) {
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
	path, err := os.MkdirTemp(parent, name)
	if err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(path, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	}
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		os.RemoveAll(path)
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &workDir{path: path, lock: lock}, nil
}

// remove ends the claim and removes the directory, retrying a little: a
// helper that was just killed may still be writing in it.
func (w *workDir) remove() error {
	var err error
	for range 20 {
		if err = os.RemoveAll(w.path); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	w.lock.Close() // after the removal: nobody may take it for stale before
	return err
}

// removeStaleWorkDirs removes the work directories in tmp whose lock can
// be taken (their owner is gone), and returns how many. A directory
// without a lock file is being created, or is not ours: it stays.
func removeStaleWorkDirs(tmp string) int {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), workDirPrefix) || !e.IsDir() {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		lock, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			lock.Close() // held: its browser lives
			continue
		}
		killProcessesUsing(filepath.Join(dir, "profile"))
		if os.RemoveAll(dir) == nil {
			n++
		}
		lock.Close()
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
