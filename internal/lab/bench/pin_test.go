package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/jitsi-recorder/jitsi-recorder/internal/procfs"
)

func TestPlanPinningTakesTheFirstTwoAllowedCPUs(t *testing.T) {
	if got := planPinning(true, []int{2, 5, 7}); got != (Pinning{On: true, LabCPU: 2, RecorderCPU: 5}) {
		t.Errorf("got %+v", got)
	}
	if got := planPinning(false, []int{0, 1}); got.On || got.Note != "" {
		t.Errorf("--pin=false: %+v", got)
	}
	got := planPinning(true, []int{0})
	if got.On || !strings.Contains(got.Note, "1 CPU") {
		t.Errorf("one CPU: %+v", got)
	}
	if s := got.String(); !strings.HasPrefix(s, "not pinned: 1 CPU") {
		t.Errorf("header %q", s)
	}
	if s := (Pinning{On: true, LabCPU: 0, RecorderCPU: 1}).String(); !strings.Contains(s, "on CPU 0") || !strings.Contains(s, "alone on CPU 1") {
		t.Errorf("header %q", s)
	}
}

func TestRecorderCommandRunsUnderTasksetWhenPinned(t *testing.T) {
	cmd, err := recorderCommand("/bin/true", Pinning{})
	if err != nil || !reflect.DeepEqual(cmd.Args, []string{"/bin/true"}) {
		t.Errorf("unpinned: %v, %v", cmd.Args, err)
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Skip("no taskset here")
	}
	cmd, err = recorderCommand("/bin/true", Pinning{On: true, RecorderCPU: 1})
	if err != nil || len(cmd.Args) != 4 || cmd.Args[1] != "-c" || cmd.Args[2] != "1" || cmd.Args[3] != "/bin/true" {
		t.Errorf("pinned: %v, %v", cmd.Args, err)
	}
}

func TestCPUsAllowedAndTreeAffinityReadStatus(t *testing.T) {
	f := newFakeProc(t)
	f.set(10, 1, "jitsi-recorder", 0, 1, 0, 0)
	f.set(11, 10, "chromium", 0, 2, 0, 0)
	f.set(12, 10, "ffmpeg", 0, 3, 0, 0)
	status := func(pid int, cpus string) {
		p := filepath.Join(f.root, strconv.Itoa(pid), "status")
		b, _ := os.ReadFile(p)
		f.write(p, string(b)+"Cpus_allowed:\t2\nCpus_allowed_list:\t"+cpus+"\n")
	}
	status(10, "1")
	status(11, "1")
	status(12, "0-1")
	if got := cpusAllowed(f.root, 11); got != "1" {
		t.Errorf("cpusAllowed %q", got)
	}
	if got := cpusAllowed(f.root, 99); got != "" {
		t.Errorf("a gone process: %q", got)
	}
	fs := procfs.FS{Root: f.root}
	if got := treeAffinity(fs, 10, nil); got != "0-1 1" {
		t.Errorf("tree %q, want the escaped FFmpeg's 0-1 beside 1", got)
	}
	if got := treeAffinity(fs, 10, map[int]bool{12: true}); got != "1" {
		t.Errorf("tree without 12: %q", got)
	}
}

// TestPinSelfPinsEveryThreadAndChildrenAndRestores pins this test process
// for real, as the bench pins jitsi-lab.
func TestPinSelfPinsEveryThreadAndChildrenAndRestores(t *testing.T) {
	allowed, err := allowedCPUs()
	if err != nil {
		t.Fatal(err)
	}
	if len(allowed) < 2 {
		t.Skipf("%d CPU: nothing to pin apart", len(allowed))
	}
	cpu := allowed[1]
	restore, err := pinSelf(cpu)
	if err != nil {
		t.Fatal(err)
	}
	restored := false
	defer func() {
		if !restored {
			restore()
		}
	}()
	want := strconv.Itoa(cpu)
	tids, err := threadIDs("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, tid := range tids {
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &set); err == nil && !reflect.DeepEqual(cpusOf(&set), []int{cpu}) {
			t.Errorf("thread %d on %v, want [%d]", tid, cpusOf(&set), cpu)
		}
	}
	// A child forked from any thread inherits it.
	for i := 0; i < 4; i++ {
		out, err := exec.Command("grep", "Cpus_allowed_list", "/proc/self/status").Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(strings.TrimPrefix(string(out), "Cpus_allowed_list:")); got != want {
			t.Errorf("child on %q, want %q", got, want)
		}
	}
	restored = true
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	after, err := allowedCPUs()
	if err != nil || !reflect.DeepEqual(after, allowed) {
		t.Errorf("after restore %v (%v), want %v", after, err, allowed)
	}
}
