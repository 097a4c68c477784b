package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/jitsi-recorder/jitsi-recorder/internal/procfs"
)

// The breakdown splits a part further: each process by its role (for
// Chromium, the --type= and --utility-sub-type= of its command line) and
// each thread by its name, which is where Chromium's time goes: the
// renderer's main thread draws the composite, "Compositor" and
// "CompositorTileW" raster it, WebRTC threads depacketise and decode,
// "ThreadPool…" workers run the video encoder and decoders, the network
// service moves the packets.

// chromiumRole names a Chromium process's role from its command line.
// Chromium may later overwrite its command line with a process title, so
// the caller reads it once, when it first sees the process.
func chromiumRole(cmdline []byte) string {
	args := strings.Fields(string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
	typ, sub := "", ""
	renderer, webUI := false, false
	for _, a := range args {
		switch {
		case a == "--top-chrome-webui":
			// Headless Chromium still renders its (invisible) browser UI
			// in a renderer of its own, apart from the page's.
			webUI = true
		case strings.HasPrefix(a, "--type="):
			typ = strings.TrimPrefix(a, "--type=")
		case strings.HasPrefix(a, "--utility-sub-type="):
			sub = strings.TrimPrefix(a, "--utility-sub-type=")
		case strings.HasPrefix(a, "--renderer-client-id="):
			renderer = true
		}
	}
	switch {
	case typ == "utility" && sub != "":
		// network.mojom.NetworkService -> utility:network
		name, _, _ := strings.Cut(sub, ".")
		return "utility:" + name
	case typ == "renderer" && webUI:
		return "renderer:browser-ui"
	case typ != "":
		return typ
	case renderer:
		return "renderer" // a title without --type= but with a renderer's flag
	case len(args) == 0:
		return "unknown"
	}
	return "browser"
}

// processLabel is the breakdown's name for a process of part (e.g.
// "recorder/chromium"): the part, and a role for the parts that have
// several kinds of process.
func processLabel(fs procfs.FS, part string, p procfs.Proc) string {
	_, name, _ := strings.Cut(part, "/")
	if name != PartChromium && name != PartParticipants {
		return part
	}
	if strings.HasPrefix(p.Comm, "chrome_crashpad") {
		return part + ":crashpad"
	}
	b, _ := os.ReadFile(filepath.Join(fs.Root, strconv.Itoa(p.PID), "cmdline"))
	return part + ":" + chromiumRole(b)
}

// threadKey tells a thread apart from a later one reusing its id.
type threadKey struct {
	tid   int
	start uint64
}

// thread is one thread's name and CPU ticks so far.
type thread struct {
	key   threadKey
	name  string
	ticks uint64
}

// threadsOf reads every thread of pid; threads that end meanwhile are skipped.
func threadsOf(fs procfs.FS, pid int) []thread {
	dir := filepath.Join(fs.Root, strconv.Itoa(pid), "task")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := make([]thread, 0, len(entries))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "stat"))
		if err != nil {
			continue
		}
		t, err := procfs.ParseStat(b)
		if err != nil {
			continue
		}
		out = append(out, thread{key: threadKey{t.PID, t.Start}, name: threadName(t.Comm), ticks: t.Ticks})
	}
	return out
}

// threadName folds numbered threads of one pool into one name
// ("ThreadPoolForeg" stays, "dav1d-worker-3" becomes "dav1d-worker-").
func threadName(comm string) string {
	n := strings.TrimRight(comm, "0123456789")
	if n == "" {
		return comm
	}
	return n
}

// writeBreakdown prints the scenario's per-process and per-thread
// medians, each capture mode's apart.
func writeBreakdown(w io.Writer, sr ScenarioResult) {
	views := sr.views()
	for _, v := range views {
		if len(views) > 1 {
			fmt.Fprintf(w, "   capture %s:\n", v.Capture)
		}
		writeBreakdownOf(w, v.Summary)
	}
}

func writeBreakdownOf(w io.Writer, s map[string]Spread) {
	if len(s) == 0 {
		return
	}
	f := func(key string, prec int) string { return fmtSpread(s, key, prec) }
	fmt.Fprintf(w, "   breakdown by process (medians over runs; memory peaks per row):\n")
	fmt.Fprintf(w, "   %-38s %-20s %-18s %-18s %s\n", "process", "CPU cores avg", "peak RSS MB", "peak PSS MB", "count")
	for _, l := range labelsByCPU(s, "proc_cpu_avg_cores.", "") {
		fmt.Fprintf(w, "   %-38s %-20s %-18s %-18s %s\n", l, f("proc_cpu_avg_cores."+l, 3),
			f("proc_rss_peak_mb."+l, 0), f("proc_pss_peak_mb."+l, 0), f("procs_peak."+l, 0))
	}
	for _, tree := range []struct{ prefix, title string }{{"recorder/", "recorder tree"}, {"lab/", "lab"}} {
		fmt.Fprintf(w, "   busiest threads of the %s (summed over same-named threads of a process kind):\n", tree.title)
		for i, l := range labelsByCPU(s, "thread_cpu_avg_cores.", tree.prefix) {
			if i == 15 {
				break
			}
			proc, th, _ := strings.Cut(l, "|")
			fmt.Fprintf(w, "     %-34s %-18s %s\n", proc, th, f("thread_cpu_avg_cores."+l, 3))
		}
	}
}

// labelsByCPU is the labels of the keys with prefix whose label starts
// with tree, busiest (by median) first.
func labelsByCPU(s map[string]Spread, prefix, tree string) []string {
	var out []string
	for k := range s {
		if l, ok := strings.CutPrefix(k, prefix); ok && strings.HasPrefix(l, tree) {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := s[prefix+out[i]].Median, s[prefix+out[j]].Median
		if a != b {
			return a > b
		}
		return out[i] < out[j]
	})
	return out
}
