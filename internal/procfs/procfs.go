// Package procfs reads processes from /proc (or a directory shaped like it,
// in tests): pid, parent, command name, CPU ticks, memory. The benchmark and
// the tests that look for leftover processes share it.
package procfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Proc is one process as read from /proc at one instant.
type Proc struct {
	PID   int
	PPID  int
	Comm  string
	Start uint64 // start time in clock ticks after boot: tells a reused PID apart
	Ticks uint64 // utime + stime, in clock ticks
	RSSKB uint64 // VmRSS
}

// FS reads processes from a /proc-shaped directory (a fake one in tests).
type FS struct{ Root string }

// List reads every process it can; processes that vanish while being read
// are skipped, they are gone anyway.
func (fs FS) List() map[int]Proc {
	entries, err := os.ReadDir(fs.Root)
	if err != nil {
		return nil
	}
	out := make(map[int]Proc, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, err := fs.Read(pid)
		if err != nil {
			continue
		}
		out[pid] = p
	}
	return out
}

func (fs FS) Read(pid int) (Proc, error) {
	dir := filepath.Join(fs.Root, strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return Proc{}, err
	}
	p, err := ParseStat(stat)
	if err != nil {
		return Proc{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	if status, err := os.ReadFile(filepath.Join(dir, "status")); err == nil {
		p.RSSKB = StatusField(status, "VmRSS:")
	}
	return p, nil
}

// PSSKB is the process's proportional set size: its shared pages divided
// among the processes sharing them, so a tree's PSS adds up honestly where
// summed RSS counts Chromium's shared pages once per helper.
func (fs FS) PSSKB(pid int) uint64 {
	b, err := os.ReadFile(filepath.Join(fs.Root, strconv.Itoa(pid), "smaps_rollup"))
	if err != nil {
		return 0
	}
	return StatusField(b, "Pss:")
}

// ParseStat reads /proc/PID/stat. The command name is in parentheses and may
// itself hold spaces and parentheses, so the fields after it are found from
// the last ')'.
func ParseStat(b []byte) (Proc, error) {
	open, close := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || close < open {
		return Proc{}, fmt.Errorf("stat: no command name in %q", b)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:open])))
	if err != nil {
		return Proc{}, fmt.Errorf("stat: pid: %w", err)
	}
	// Fields after ')' start with field 3 (state); see proc(5).
	f := strings.Fields(string(b[close+1:]))
	if len(f) < 20 {
		return Proc{}, fmt.Errorf("stat: %d fields after the command name, want >= 20", len(f))
	}
	num := func(i int) uint64 { v, _ := strconv.ParseUint(f[i-3], 10, 64); return v }
	return Proc{
		PID:   pid,
		PPID:  int(num(4)),
		Comm:  string(b[open+1 : close]),
		Ticks: num(14) + num(15), // utime + stime
		Start: num(22),
	}, nil
}

// StatusField reads a "Name:   1234 kB" line's number.
func StatusField(b []byte, name string) uint64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		f := strings.Fields(line[len(name):])
		if len(f) == 0 {
			return 0
		}
		v, _ := strconv.ParseUint(f[0], 10, 64)
		return v
	}
	return 0
}

// Descendants returns root and every process below it, following PPid
// links; root first, the rest in PID order. A root that is not in procs
// yields nothing.
func Descendants(procs map[int]Proc, root int) []int {
	if _, ok := procs[root]; !ok {
		return nil
	}
	children := map[int][]int{}
	for pid, p := range procs {
		if pid != root { // a PID 0 parent or a loop must not recurse forever
			children[p.PPID] = append(children[p.PPID], pid)
		}
	}
	out := []int{root}
	seen := map[int]bool{root: true}
	for i := 0; i < len(out); i++ {
		for _, c := range children[out[i]] {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	sort.Ints(out[1:])
	return out
}

// Renice sets every thread of root's process tree to nice and returns how
// many it set. Linux keeps nice per thread, and threads and processes
// started later inherit it from the one that starts them, so a browser's
// zygote carries it to renderers forked after the call.
func (fs FS) Renice(root, nice int) (threads int, err error) {
	if root <= 0 {
		return 0, nil
	}
	for _, pid := range Descendants(fs.List(), root) {
		tasks, err := os.ReadDir(filepath.Join(fs.Root, strconv.Itoa(pid), "task"))
		if err != nil {
			continue // gone
		}
		for _, task := range tasks {
			tid, err := strconv.Atoi(task.Name())
			if err != nil {
				continue
			}
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil {
				if errors.Is(err, syscall.ESRCH) {
					continue // exited meanwhile
				}
				return threads, fmt.Errorf("renice thread %d: %w", tid, err)
			}
			threads++
		}
	}
	return threads, nil
}
