package procfs

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestReniceReachesEveryProcessOfTheTree(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 30 & sleep 30 & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	fs := FS{Root: "/proc"}
	var kids []int
	for deadline := time.Now().Add(5 * time.Second); len(kids) < 3 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		kids = Descendants(fs.List(), cmd.Process.Pid)
	}
	if len(kids) < 3 {
		t.Fatalf("children of the shell: %v", kids)
	}
	n, err := fs.Renice(cmd.Process.Pid, 7)
	if err != nil || n < 3 {
		t.Fatalf("renice: %d threads, %v", n, err)
	}
	for _, pid := range append([]int{cmd.Process.Pid}, kids...) {
		// The raw syscall answers 20 - nice.
		if prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, pid); err != nil || 20-prio != 7 {
			t.Errorf("pid %d: nice %d (%v), want 7", pid, 20-prio, err)
		}
	}
	for _, pid := range kids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
