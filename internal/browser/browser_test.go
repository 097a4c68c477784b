package browser

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestStartEvaluateAndCloseLeavesNoProcess(t *testing.T) {
	if _, err := FindBinary(""); err != nil {
		t.Skip("chromium not installed: ", err)
	}
	profile := t.TempDir() + "/profile"
	b, err := Start(t.Context(), Options{ExtraFlags: map[string]string{"user-data-dir": profile}})
	if err != nil {
		t.Fatal(err)
	}
	if processesUsing(profile) < 1 {
		t.Fatal("chromium processes not found by profile dir")
	}
	ua, err := chromedp.Run(b.Context(), chromedp.Evaluate[string](`navigator.userAgent`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ua, "Chrome") {
		t.Fatalf("user agent %q", ua)
	}
	tab, closeTab, err := b.NewTab()
	if err != nil {
		t.Fatal(err)
	}
	two, err := chromedp.Run(tab, chromedp.Evaluate[int](`1+1`))
	if err != nil || two != 2 {
		t.Fatalf("second tab: %v %v", two, err)
	}
	closeTab()
	b.Close()
	b.Close() // idempotent
	select {
	case <-b.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after Close")
	}
	if n := processesLeft(profile); n != 0 {
		t.Fatalf("%d chromium processes left", n)
	}
}

func TestFindBinaryExplicitMissing(t *testing.T) {
	if _, err := FindBinary("/nonexistent/chromium"); err == nil {
		t.Fatal("want error for a missing binary")
	}
}

// processesLeft waits up to 5 s for the processes whose command line
// mentions dir to go (children exit a moment after the browser) and
// returns how many are still there.
func processesLeft(dir string) int {
	n := processesUsing(dir)
	for deadline := time.Now().Add(5 * time.Second); n != 0 && time.Now().Before(deadline); n = processesUsing(dir) {
		time.Sleep(100 * time.Millisecond)
	}
	return n
}

// processesUsing counts processes whose command line mentions dir.
func processesUsing(dir string) int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(cmdline), dir) {
			n++
		}
	}
	return n
}

func TestFlagsTrimRecorderBrowserButNotTestSenders(t *testing.T) {
	rec := Flags(Options{})
	for _, k := range []string{"enable-low-end-device-mode", "renderer-process-limit", "in-process-gpu"} {
		if _, ok := rec[k]; !ok {
			t.Errorf("recorder-style flags lack --%s", k)
		}
	}
	if !strings.Contains(rec["disable-features"], "SpareRendererForSitePerProcess") {
		t.Errorf("recorder-style disable-features = %q, want the lean features too", rec["disable-features"])
	}
	sender := Flags(Options{FakeMedia: true})
	if _, ok := sender["enable-low-end-device-mode"]; ok {
		t.Error("test sender got low-end device mode")
	}
	if strings.Contains(sender["disable-features"], "SpareRendererForSitePerProcess") {
		t.Error("test sender got the lean disabled features")
	}
}

func TestFlagsSingleProcessOnlyWithoutSandbox(t *testing.T) {
	f := Flags(Options{SingleProcess: true, NoSandbox: true})
	for _, k := range []string{"single-process", "no-zygote", "no-sandbox"} {
		if _, ok := f[k]; !ok {
			t.Errorf("SingleProcess without sandbox: no --%s", k)
		}
	}
	if NeedsNoSandbox() {
		return // as root the sandbox is always off
	}
	f = Flags(Options{SingleProcess: true})
	for _, k := range []string{"single-process", "no-zygote", "no-sandbox"} {
		if _, ok := f[k]; ok {
			t.Errorf("SingleProcess with sandbox: got --%s", k)
		}
	}
}

// TestSandboxOnUnlessRootOrAskedOff: the sandbox is the default; only root
// (where Chromium cannot start sandboxed) or NoSandbox turn it off, and
// the flags say so.
func TestSandboxOnUnlessRootOrAskedOff(t *testing.T) {
	root := os.Geteuid() == 0
	if got := SandboxOn(Options{}); got == root {
		t.Errorf("SandboxOn(default) = %v as euid %d", got, os.Geteuid())
	}
	if _, noSandbox := Flags(Options{})["no-sandbox"]; noSandbox != root {
		t.Errorf("default flags: --no-sandbox %v as euid %d", noSandbox, os.Geteuid())
	}
	if SandboxOn(Options{NoSandbox: true}) {
		t.Error("SandboxOn with NoSandbox")
	}
	if _, ok := Flags(Options{NoSandbox: true})["no-sandbox"]; !ok {
		t.Error("NoSandbox: no --no-sandbox")
	}
}

func TestSingleProcessBrowserEvaluatesAndCloses(t *testing.T) {
	if _, err := FindBinary(""); err != nil {
		t.Skip("chromium not installed: ", err)
	}
	if !NeedsNoSandbox() {
		t.Skip("single process needs the sandbox off; not root")
	}
	profile := t.TempDir() + "/profile"
	b, err := Start(t.Context(), Options{SingleProcess: true, ExtraFlags: map[string]string{"user-data-dir": profile}})
	if err != nil {
		t.Fatal(err)
	}
	two, err := chromedp.Run(b.Context(), chromedp.Evaluate[int](`1+1`))
	if err != nil || two != 2 {
		t.Fatalf("evaluate: %v %v", two, err)
	}
	b.Close()
	if n := processesLeft(profile); n != 0 {
		t.Fatalf("%d chromium processes left", n)
	}
}
