package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/jitsi-recorder/jitsi-recorder/internal/procfs"
)

// Pinning gives the lab and the recorder a core each, as a deployment
// gives the recorder a machine (or a CPU quota) of its own: the lab (this
// process, and so everything it starts: the participants' browser,
// Prosody) on one CPU, the recorder's whole tree on another. Unpinned,
// the two share every core and the recorder's figures depend on what the
// lab's senders cost that day.
type Pinning struct {
	On          bool   `json:"on"`
	LabCPU      int    `json:"lab_cpu"`
	RecorderCPU int    `json:"recorder_cpu"`
	Note        string `json:"note,omitempty"` // why it is off, when asked for
}

// String is the run header's line.
func (p Pinning) String() string {
	if !p.On {
		if p.Note != "" {
			return "not pinned: " + p.Note
		}
		return "not pinned: the lab and the recorder share every CPU"
	}
	return fmt.Sprintf("pinned: the lab (jitsi-lab, its participants' browser, Prosody) on CPU %d, the recorder's tree alone on CPU %d",
		p.LabCPU, p.RecorderCPU)
}

// planPinning decides the pinning from --pin and the CPUs this process
// may run on (its affinity, which a container's cpuset may narrow): the
// first of them for the lab, the second for the recorder.
func planPinning(want bool, allowed []int) Pinning {
	switch {
	case !want:
		return Pinning{}
	case len(allowed) < 2:
		return Pinning{Note: fmt.Sprintf("%d CPU available, pinning needs 2", len(allowed))}
	}
	return Pinning{On: true, LabCPU: allowed[0], RecorderCPU: allowed[1]}
}

// allowedCPUs is the CPUs this process may run on, in ascending order.
func allowedCPUs() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("read CPU affinity: %w", err)
	}
	return cpusOf(&set), nil
}

func cpusOf(set *unix.CPUSet) []int {
	var out []int
	for cpu := 0; cpu < len(set)*64 && len(out) < set.Count(); cpu++ {
		if set.IsSet(cpu) {
			out = append(out, cpu)
		}
	}
	return out
}

// pinSelf puts every thread of this process on cpu and returns what puts
// them back. sched_setaffinity(0) pins only the calling thread, and Go
// forks children from whichever thread runs the goroutine; a child
// inherits that thread's affinity. So each thread in /proc/self/task is
// pinned, and the list is read again until a pass finds no new thread
// (one may be born meanwhile from a thread not yet pinned); threads born
// later of pinned threads are pinned already.
func pinSelf(cpu int) (restore func() error, err error) {
	var old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return nil, fmt.Errorf("read CPU affinity: %w", err)
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := setAllThreads(&set); err != nil {
		setAllThreads(&old)
		return nil, fmt.Errorf("pin jitsi-lab to CPU %d: %w", cpu, err)
	}
	return func() error {
		if err := setAllThreads(&old); err != nil {
			return fmt.Errorf("unpin jitsi-lab: %w", err)
		}
		return nil
	}, nil
}

func setAllThreads(set *unix.CPUSet) error {
	done := map[int]bool{}
	for pass := 0; pass < 10; pass++ {
		tids, err := threadIDs("/proc/self/task")
		if err != nil {
			return err
		}
		fresh := 0
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			fresh++
			// A thread that exited since the listing is no error.
			if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
				return fmt.Errorf("thread %d: %w", tid, err)
			}
			done[tid] = true
		}
		if fresh == 0 {
			return nil
		}
	}
	return fmt.Errorf("threads kept appearing while setting the affinity")
}

func threadIDs(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list threads: %w", err)
	}
	var out []int
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, tid)
		}
	}
	return out, nil
}

// recorderCommand is the command that starts the recorder: under
// `taskset -c CPU` when pinned. taskset sets its own affinity and then
// execs the recorder (same PID, so the sampler's root is right), so the
// recorder's first instruction, every thread the Go runtime starts and
// every child (Chromium, FFmpeg) run on that CPU. Setting the affinity
// after cmd.Start instead would race: the runtime's threads exist by then
// with the lab's CPU, and sched_setaffinity(pid) moves only the main one.
func recorderCommand(bin string, p Pinning) (*exec.Cmd, error) {
	if !p.On {
		return exec.Command(bin), nil
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return nil, fmt.Errorf("pin the recorder: taskset not found (install util-linux, or pass --pin=false): %w", err)
	}
	return exec.Command(taskset, "-c", strconv.Itoa(p.RecorderCPU), bin), nil
}

// cpusAllowed is a process's Cpus_allowed_list from root/PID/status
// ("1", "0-1"), "" if it cannot be read (the process is gone).
func cpusAllowed(root string, pid int) string {
	b, err := os.ReadFile(filepath.Join(root, strconv.Itoa(pid), "status"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// treeAffinity is the distinct Cpus_allowed_list values of pid's process
// tree, leaving out the PIDs in skip: "1" when the whole tree is pinned
// to CPU 1, "0-1 1" when something in it escaped the pinning.
func treeAffinity(fs procfs.FS, pid int, skip map[int]bool) string {
	seen := map[string]bool{}
	var out []string
	for _, p := range procfs.Descendants(fs.List(), pid) {
		if skip[p] {
			continue
		}
		if a := cpusAllowed(fs.Root, p); a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}
