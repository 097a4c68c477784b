package bench

import (
	"github.com/jitsi-recorder/jitsi-recorder/internal/procfs"

	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// fakeProc writes a /proc-shaped directory for the sampler to read.
type fakeProc struct {
	t    *testing.T
	root string
}

func newFakeProc(t *testing.T) fakeProc {
	return fakeProc{t: t, root: t.TempDir()}
}

// set writes one process: utime+stime split as ticks/2 each, start time.
func (f fakeProc) set(pid, ppid int, comm string, ticks, start, rssKB, pssKB uint64) {
	f.t.Helper()
	dir := filepath.Join(f.root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	u, s := ticks/2, ticks-ticks/2
	// Fields 3..22 of proc(5): state ppid pgrp session tty tpgid flags
	// minflt cminflt majflt cmajflt utime stime cutime cstime priority nice
	// threads itrealvalue starttime, then vsize and more.
	stat := fmt.Sprintf("%d (%s) S %d 1 1 0 -1 0 0 0 0 0 %d %d 0 0 20 0 1 0 %d 1000 10\n", pid, comm, ppid, u, s, start)
	f.write(filepath.Join(dir, "stat"), stat)
	f.write(filepath.Join(dir, "status"), fmt.Sprintf("Name:\t%s\nVmPeak:\t 999999 kB\nVmRSS:\t %d kB\nThreads:\t1\n", comm, rssKB))
	f.write(filepath.Join(dir, "smaps_rollup"), fmt.Sprintf("00400000-7fff [rollup]\nRss:  %d kB\nPss:  %d kB\n", rssKB, pssKB))
}

func (f fakeProc) remove(pid int) {
	os.RemoveAll(filepath.Join(f.root, strconv.Itoa(pid)))
}

func (f fakeProc) machine(busy, idle uint64) {
	f.write(filepath.Join(f.root, "stat"), fmt.Sprintf("cpu  %d 0 0 %d 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n", busy, idle))
}

func (f fakeProc) write(path, s string) {
	f.t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func TestClassifyAssignsHelpersToTheirNearestNamedAncestor(t *testing.T) {
	procs := map[int]procfs.Proc{
		100: {PID: 100, PPID: 1, Comm: "jitsi-recorder"},
		101: {PID: 101, PPID: 100, Comm: "chromium"},
		102: {PID: 102, PPID: 101, Comm: "chrome_crashpad"},
		103: {PID: 103, PPID: 101, Comm: "cat"}, // a helper with another name
		104: {PID: 104, PPID: 100, Comm: "ffmpeg"},
		105: {PID: 105, PPID: 100, Comm: "sh"},
	}
	got := treeSpec{root: 100, rootPart: PartRecorder, partOf: recorderParts}.classify(procs, procfs.Descendants(procs, 100))
	want := map[int]string{100: PartRecorder, 101: PartChromium, 102: PartChromium, 103: PartChromium, 104: PartFFmpeg, 105: PartOther}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestLabPartsSplitParticipantsProsodyAndTheLabItself(t *testing.T) {
	procs := map[int]procfs.Proc{
		10: {PID: 10, PPID: 1, Comm: "jitsi-lab"},
		11: {PID: 11, PPID: 10, Comm: "headless_shell"}, // the participants' browser by PID
		12: {PID: 12, PPID: 11, Comm: "headless_shell"},
		13: {PID: 13, PPID: 10, Comm: "lua5.4"},
	}
	got := treeSpec{root: 10, rootPart: PartLab, partOf: labParts(11)}.classify(procs, procfs.Descendants(procs, 10))
	want := map[int]string{10: PartLab, 11: PartParticipants, 12: PartParticipants, 13: PartProsody}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestDescendantsWalksPPidLinksAndLeavesOthersOut(t *testing.T) {
	f := newFakeProc(t)
	f.set(1, 0, "init", 0, 1, 0, 0)
	f.set(100, 1, "jitsi-recorder", 0, 10, 0, 0)
	f.set(101, 100, "chromium", 0, 11, 0, 0)
	f.set(102, 101, "chromium", 0, 12, 0, 0) // zygote
	f.set(103, 102, "chromium", 0, 13, 0, 0) // renderer below the zygote
	f.set(104, 100, "ffmpeg", 0, 14, 0, 0)
	f.set(200, 1, "prosody", 0, 20, 0, 0)
	f.set(201, 200, "lua5.4", 0, 21, 0, 0)
	procs := procfs.FS{Root: f.root}.List()
	if got, want := procfs.Descendants(procs, 100), []int{100, 101, 102, 103, 104}; !reflect.DeepEqual(got, want) {
		t.Errorf("Descendants(100) = %v, want %v", got, want)
	}
	if got := procfs.Descendants(procs, 999); got != nil {
		t.Errorf("descendants of a missing root = %v, want none", got)
	}
}
