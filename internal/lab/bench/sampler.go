package bench

import (
	"github.com/jitsi-recorder/jitsi-recorder/internal/procfs"

	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Parts of the recorder's process tree and of the lab.
const (
	PartRecorder     = "recorder"     // the jitsi-recorder Go process itself
	PartChromium     = "chromium"     // the recorder's Chromium and all its helpers
	PartFFmpeg       = "ffmpeg"       // the recorder's FFmpeg
	PartOther        = "other"        // anything else below the root
	PartLab          = "lab"          // this process: lab servers, bench, sampler
	PartParticipants = "participants" // the lab participants' Chromium
	PartProsody      = "prosody"
)

// treeSpec says how to find and split one process tree.
type treeSpec struct {
	root     int
	rootPart string
	// partOf names the part of a process below the root from the process
	// itself or its nearest ancestor that matches; "" means no match.
	partOf func(p procfs.Proc) string
}

// classify assigns each process of the tree to a part: the root's own, or
// that of the process itself or its nearest named ancestor, else "other".
func (t treeSpec) classify(procs map[int]procfs.Proc, pids []int) map[int]string {
	out := make(map[int]string, len(pids))
	for _, pid := range pids {
		part := PartOther
		for cur, hops := pid, 0; hops < 64; hops++ {
			if cur == t.root {
				if pid == t.root {
					part = t.rootPart
				}
				break // an unnamed child of the root stays "other"
			}
			p, ok := procs[cur]
			if !ok {
				break
			}
			if name := t.partOf(p); name != "" {
				part = name
				break
			}
			cur = p.PPID
		}
		out[pid] = part
	}
	return out
}

func recorderParts(p procfs.Proc) string {
	switch {
	case strings.HasPrefix(p.Comm, "chrom"):
		return PartChromium
	case p.Comm == "ffmpeg":
		return PartFFmpeg
	}
	return ""
}

func labParts(browserPID int) func(p procfs.Proc) string {
	return func(p procfs.Proc) string {
		switch {
		case browserPID != 0 && p.PID == browserPID:
			return PartParticipants
		case strings.HasPrefix(p.Comm, "lua") || strings.HasPrefix(p.Comm, "prosody"):
			return PartProsody
		case strings.HasPrefix(p.Comm, "chrom"):
			return PartParticipants
		}
		return ""
	}
}

// procKey tells a process apart from a later one reusing its PID.
type procKey struct {
	pid   int
	start uint64
}

// Sample is one instant's reading of both trees.
type Sample struct {
	At time.Time
	// DT is the time since the previous sample (0 for the first).
	DT time.Duration
	// CPUTicks is CPU used since the previous sample per part, in clock
	// ticks; "recorder/…" parts belong to the recorder tree, "lab/…" to the lab.
	CPUTicks map[string]uint64
	// RSSKB is the summed VmRSS per part.
	RSSKB map[string]uint64
	// RecorderPSSKB is the recorder tree's summed Pss.
	RecorderPSSKB uint64
	// RecorderProcs is how many processes the recorder tree has.
	RecorderProcs int
	// MachineBusyTicks is the whole machine's non-idle time since the
	// previous sample (summed over CPUs), from /proc/stat.
	MachineBusyTicks uint64
	MachineDT        time.Duration

	// The breakdown, by process label (see processLabel): CPU ticks since
	// the previous sample, summed RSS, summed PSS (recorder tree only) and
	// how many processes have the label.
	ProcTicks map[string]uint64
	ProcRSSKB map[string]uint64
	ProcPSSKB map[string]uint64
	ProcCount map[string]int
	// ThreadTicks is CPU ticks since the previous sample by
	// "<process label>|<thread name>", for Chromium and FFmpeg processes.
	ThreadTicks map[string]uint64
}

// Sampler reads /proc at a fixed interval: the recorder's process tree and
// the lab's (this process and its descendants outside the recorder's).
type Sampler struct {
	fs       procfs.FS
	recorder int
	lab      int
	browser  int
	every    time.Duration

	mu         sync.Mutex
	samples    []Sample
	prev       map[procKey]uint64
	prevBusy   uint64
	prevAt     time.Time
	prevBusyAt time.Time
	seen       map[procKey]string // every recorder-tree process ever seen
	labels     map[procKey]string // breakdown label, read once per process
	prevThread map[threadKey]uint64
}

func newSampler(fs procfs.FS, recorderPID, labPID, browserPID int, every time.Duration) *Sampler {
	return &Sampler{fs: fs, recorder: recorderPID, lab: labPID, browser: browserPID, every: every,
		seen: map[procKey]string{}, labels: map[procKey]string{}}
}

// Run samples until ctx ends.
func (s *Sampler) Run(ctx context.Context) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	s.sample(time.Now())
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.sample(now)
		}
	}
}

// sample takes one reading. CPU is the utime+stime delta per process; a
// process first seen after the first sample was born since the previous
// one, so all its ticks count. Ticks of a process that exits between two
// samples are lost (at most one interval's worth).
func (s *Sampler) sample(time.Time) {
	// Timestamps are taken at the reads, not at the tick: on a busy
	// machine the sampler runs late and the reads take a while.
	busyAt, busy := time.Now(), machineBusyTicks(s.fs.Root)
	now := time.Now()
	procs := s.fs.List()
	recPIDs := procfs.Descendants(procs, s.recorder)
	inRec := make(map[int]bool, len(recPIDs))
	for _, pid := range recPIDs {
		inRec[pid] = true
	}
	var labPIDs []int
	for _, pid := range procfs.Descendants(procs, s.lab) {
		if !inRec[pid] {
			labPIDs = append(labPIDs, pid)
		}
	}
	recParts := treeSpec{root: s.recorder, rootPart: PartRecorder, partOf: recorderParts}.classify(procs, recPIDs)
	labPartsOf := treeSpec{root: s.lab, rootPart: PartLab, partOf: labParts(s.browser)}.classify(procs, labPIDs)

	s.mu.Lock()
	defer s.mu.Unlock()
	first := s.prev == nil
	smp := Sample{At: now, CPUTicks: map[string]uint64{}, RSSKB: map[string]uint64{}, RecorderProcs: len(recPIDs),
		ProcTicks: map[string]uint64{}, ProcRSSKB: map[string]uint64{}, ProcPSSKB: map[string]uint64{},
		ProcCount: map[string]int{}, ThreadTicks: map[string]uint64{}}
	if !first {
		smp.DT = now.Sub(s.prevAt)
	}
	cur := make(map[procKey]uint64, len(recPIDs)+len(labPIDs))
	curThread := make(map[threadKey]uint64, len(s.prevThread))
	account := func(tree string, parts map[int]string, pids []int) {
		for _, pid := range pids {
			p := procs[pid]
			k := procKey{pid, p.Start}
			cur[k] = p.Ticks
			part := tree + "/" + parts[pid]
			label, ok := s.labels[k]
			if !ok {
				label = processLabel(s.fs, part, p)
				// Between fork and exec a process has no command line
				// yet: ask again next time.
				if !strings.HasSuffix(label, ":unknown") {
					s.labels[k] = label
				}
			}
			if !first {
				d := p.Ticks - min(s.prev[k], p.Ticks)
				smp.CPUTicks[part] += d
				smp.ProcTicks[label] += d
			}
			smp.RSSKB[part] += p.RSSKB
			smp.ProcRSSKB[label] += p.RSSKB
			smp.ProcCount[label]++
			if tree == "recorder" {
				pss := s.fs.PSSKB(pid)
				smp.RecorderPSSKB += pss
				smp.ProcPSSKB[label] += pss
				s.seen[k] = p.Comm
			}
			if !hasThreadBreakdown(parts[pid]) {
				continue
			}
			for _, t := range threadsOf(s.fs, pid) {
				curThread[t.key] = t.ticks
				if prev, seen := s.prevThread[t.key]; seen || !first {
					smp.ThreadTicks[label+"|"+t.name] += t.ticks - min(prev, t.ticks)
				}
			}
		}
	}
	account("recorder", recParts, recPIDs)
	account("lab", labPartsOf, labPIDs)
	s.prevThread = curThread
	if !first && busy >= s.prevBusy {
		smp.MachineBusyTicks = busy - s.prevBusy
		smp.MachineDT = busyAt.Sub(s.prevBusyAt)
	}
	s.prev, s.prevBusy, s.prevAt, s.prevBusyAt = cur, busy, now, busyAt
	s.samples = append(s.samples, smp)
}

// hasThreadBreakdown says whether a part's threads are worth naming: the
// Go processes' threads are anonymous runtime threads.
func hasThreadBreakdown(part string) bool {
	switch part {
	case PartChromium, PartFFmpeg, PartParticipants:
		return true
	}
	return false
}

// Samples returns the readings so far.
func (s *Sampler) Samples() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.samples...)
}

// Survivors returns the recorder-tree processes ever seen that still run
// (same PID and start time): orphans once the recorder has exited.
func (s *Sampler) Survivors() map[int]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[int]string{}
	for k, comm := range s.seen {
		if k.pid == s.recorder {
			continue
		}
		p, err := s.fs.Read(k.pid)
		if err != nil || p.Start != k.start {
			continue
		}
		if st, err := os.ReadFile(s.fs.Root + "/" + strconv.Itoa(k.pid) + "/stat"); err == nil && bytes.Contains(st, []byte(") Z ")) {
			continue // a zombie holds nothing; its parent reaps it
		}
		out[k.pid] = comm
	}
	return out
}

// machineBusyTicks is the first line of /proc/stat minus idle and iowait.
func machineBusyTicks(root string) uint64 {
	b, err := os.ReadFile(root + "/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var total uint64
	for i, v := range f[1:] {
		if i >= 8 { // guest times are already counted in user
			break
		}
		n, _ := strconv.ParseUint(v, 10, 64)
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		total += n
	}
	return total
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every
// mainstream Linux, asked of getconf in case this one differs.
func clockTicks() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err != nil {
		return 100
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || n <= 0 {
		return 100
	}
	return float64(n)
}
