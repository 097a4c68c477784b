package bench

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/procfs"
)

// cmdline writes a process's NUL-separated command line.
func (f fakeProc) cmdline(pid int, args ...string) {
	f.write(filepath.Join(f.root, strconv.Itoa(pid), "cmdline"), strings.Join(args, "\x00")+"\x00")
}

// thread writes one thread of pid with its name and CPU ticks.
func (f fakeProc) thread(pid, tid int, name string, ticks, start uint64) {
	f.t.Helper()
	dir := filepath.Join(f.root, strconv.Itoa(pid), "task", strconv.Itoa(tid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	f.write(filepath.Join(dir, "stat"), fmt.Sprintf("%d (%s) S %d 1 1 0 -1 0 0 0 0 0 %d %d 0 0 20 0 1 0 %d 1000 10\n",
		tid, name, pid, ticks/2, ticks-ticks/2, start))
}

func TestChromiumRoleComesFromTypeAndUtilitySubType(t *testing.T) {
	cases := map[string]string{
		"/usr/lib/chromium/chromium\x00--headless=new\x00--no-sandbox":                                         "browser",
		"/usr/lib/chromium/chromium\x00--type=renderer\x00--renderer-client-id=5":                              "renderer",
		"/usr/lib/chromium/chromium\x00--type=utility\x00--utility-sub-type=network.mojom.NetworkService":      "utility:network",
		"/usr/lib/chromium/chromium\x00--type=utility\x00--utility-sub-type=audio.mojom.AudioService\x00--x=1": "utility:audio",
		"/usr/lib/chromium/chromium\x00--type=zygote\x00--no-zygote-sandbox":                                   "zygote",
		// A process title that replaced the command line keeps a renderer's flags.
		"chromedp-runner123 --change-stack-guard-on-fork=enable --renderer-client-id=18 --lang=en-US": "renderer",
		"": "unknown",
	}
	for in, want := range cases {
		if got := chromiumRole([]byte(in)); got != want {
			t.Errorf("chromiumRole(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestThreadNameFoldsNumberedPoolThreads(t *testing.T) {
	for in, want := range map[string]string{"dav1d-worker-3": "dav1d-worker-", "Compositor": "Compositor", "12": "12", "ThreadPoolForeg": "ThreadPoolForeg"} {
		if got := threadName(in); got != want {
			t.Errorf("threadName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSamplerBreaksCPUAndMemoryDownByProcessRoleAndThread(t *testing.T) {
	f := newFakeProc(t)
	f.machine(0, 0)
	f.set(1, 0, "init", 0, 1, 0, 0)
	f.set(10, 1, "jitsi-lab", 0, 5, 1_000, 0)
	f.set(20, 10, "jitsi-recorder", 0, 7, 10_000, 9_000)
	f.set(21, 20, "chromium", 0, 8, 200_000, 80_000)
	f.cmdline(21, "/usr/lib/chromium/chromium", "--headless=new")
	f.set(22, 21, "chromium", 0, 9, 300_000, 200_000)
	f.cmdline(22, "/usr/lib/chromium/chromium", "--type=renderer")
	f.thread(22, 22, "chromium", 0, 9)
	f.thread(22, 30, "Compositor", 0, 9)
	f.set(23, 21, "chromium", 0, 9, 100_000, 20_000)
	f.cmdline(23, "/usr/lib/chromium/chromium", "--type=utility", "--utility-sub-type=network.mojom.NetworkService")
	s := newSampler(procfs.FS{Root: f.root}, 20, 10, 0, time.Second)
	s.sample(time.Time{})

	f.set(22, 21, "chromium", 50, 9, 320_000, 210_000)
	// The renderer retitles itself: its role was read at first sight.
	f.cmdline(22, "chromedp-runner1 --lang=en-US")
	f.thread(22, 22, "chromium", 30, 9)
	f.thread(22, 30, "Compositor", 15, 9)
	f.thread(22, 31, "VideoEncoder", 5, 12) // born since: all its ticks count
	f.set(23, 21, "chromium", 4, 9, 100_000, 20_000)
	s.sample(time.Time{})

	got := s.Samples()[1]
	if got.ProcTicks["recorder/chromium:renderer"] != 50 || got.ProcTicks["recorder/chromium:utility:network"] != 4 {
		t.Errorf("process ticks %v", got.ProcTicks)
	}
	if got.ProcPSSKB["recorder/chromium:renderer"] != 210_000 || got.ProcRSSKB["recorder/chromium:browser"] != 200_000 {
		t.Errorf("memory: PSS %v RSS %v", got.ProcPSSKB, got.ProcRSSKB)
	}
	want := map[string]uint64{
		"recorder/chromium:renderer|chromium":     30,
		"recorder/chromium:renderer|Compositor":   15,
		"recorder/chromium:renderer|VideoEncoder": 5,
	}
	for k, v := range want {
		if got.ThreadTicks[k] != v {
			t.Errorf("thread %s = %d ticks, want %d (all %v)", k, got.ThreadTicks[k], v, got.ThreadTicks)
		}
	}
	if _, ok := got.ThreadTicks["recorder/recorder|jitsi-recorder"]; ok {
		t.Error("the Go recorder's anonymous threads were broken down")
	}

	// 50 ticks over a 2 s window at 100 ticks/s: 0.25 core.
	at := time.Now()
	samples := []Sample{
		{At: at, ProcRSSKB: got.ProcRSSKB, ProcCount: got.ProcCount},
		{At: at.Add(2 * time.Second), DT: 2 * time.Second, ProcTicks: got.ProcTicks, ThreadTicks: got.ThreadTicks,
			ProcRSSKB: got.ProcRSSKB, ProcPSSKB: got.ProcPSSKB, ProcCount: got.ProcCount},
	}
	fig := breakdownFigures(samples, at, at.Add(2*time.Second), 100)
	if c := fig["proc_cpu_avg_cores.recorder/chromium:renderer"]; c != 0.25 {
		t.Errorf("renderer %.3f cores, want 0.25", c)
	}
	if c := fig["thread_cpu_avg_cores.recorder/chromium:renderer|Compositor"]; c != 0.075 {
		t.Errorf("compositor %.3f cores, want 0.075", c)
	}
	if m := fig["proc_pss_peak_mb.recorder/chromium:renderer"]; m < 205 || m > 206 {
		t.Errorf("renderer PSS %.1f MB, want 205", m)
	}

	var out bytes.Buffer
	writeBreakdown(&out, ScenarioResult{Runs: []RunResult{{Figures: fig}}})
	for _, want := range []string{"recorder/chromium:renderer", "Compositor", "0.250"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("breakdown text lacks %q:\n%s", want, out.String())
		}
	}
}

func TestWaitForLoadReturnsOnceTheLoadIsLowOrTheLimitPasses(t *testing.T) {
	f := newFakeProc(t)
	f.write(filepath.Join(f.root, "loadavg"), "1.50 2.00 3.00 1/100 42\n")
	if _, l, ok := waitForLoad(t.Context(), f.root, 2.5, time.Minute); !ok || l != 1.5 {
		t.Errorf("got load %.2f ok %v, want 1.50 below 2.5", l, ok)
	}
	f.write(filepath.Join(f.root, "loadavg"), "7.00 2.00 3.00 1/100 42\n")
	if _, l, ok := waitForLoad(t.Context(), f.root, 2.5, 0); ok || l != 7 {
		t.Errorf("got load %.2f ok %v, want 7.00 and not ok", l, ok)
	}
}
