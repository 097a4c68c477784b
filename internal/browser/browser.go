// Package browser is the one place that knows how to start Debian's Chromium
// headless and drive it over the DevTools protocol (chromedp). The recorder
// and the lab's synthetic participants both get their browser here.
package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// ErrNotFound means no Chromium binary could be found.
var ErrNotFound = errors.New("chromium not found (install Debian's chromium package or set CHROMIUM_PATH)")

// ErrSandboxUnavailable means Chromium, started as a normal user with its
// sandbox on, could not set the sandbox up: Debian's Chromium has no setuid
// helper and needs unprivileged user namespaces, which some kernels
// (sysctl) and container runtimes (seccomp profiles) forbid.
var ErrSandboxUnavailable = errors.New("Chromium's sandbox cannot start: unprivileged user namespaces are not allowed here " +
	"(allow them: sysctl user.max_user_namespaces > 0 and kernel.unprivileged_userns_clone=1, " +
	"or a container seccomp profile that permits them)")

// Options say how to start the browser. The zero value is a headless
// recorder-style browser with no fake media devices.
type Options struct {
	// Binary is the Chromium executable. Default: $CHROMIUM_PATH, else
	// /usr/lib/chromium/chromium (Debian's real binary, skipping the
	// launcher script), else chromium on PATH.
	Binary string
	// WindowWidth and WindowHeight size the (invisible) window. Default 1280x720.
	WindowWidth, WindowHeight int
	// FakeMedia answers getUserMedia with fake devices and no permission
	// prompt; for test senders, not for the recorder. A browser without
	// FakeMedia is a recorder-style browser and is also trimmed for memory
	// (see leanFlags); test senders keep Chromium's desktop defaults so the
	// media they send is what a normal participant sends.
	FakeMedia bool
	// NoSandbox turns Chromium's sandbox off. Without it the sandbox is on
	// (on Debian: user namespaces and seccomp-bpf, no setuid helper) unless
	// the process runs as root, where Chromium refuses to start sandboxed
	// (see NeedsNoSandbox and SandboxOn).
	NoSandbox bool
	// SingleProcess runs the browser, its renderer, GPU, network and audio
	// in one process (--single-process --no-zygote): a recorder tree of
	// about 540 MB summed RSS / 350 MB PSS instead of 1120 / 470 MB for two
	// 720p participants, same frames and tones on a quiet machine. Off by
	// default: Chromium supports it for debugging only, and on a machine
	// starved of CPU the recorded tones suffered more (75 instead of 90 %
	// present), likely because audio then shares the busy browser process.
	// Ignored while the sandbox is on: it needs the zygote.
	SingleProcess bool
	// ExtraFlags are added as --name=value (value "" means a bare --name).
	ExtraFlags map[string]string
	// Output receives Chromium's stdout and stderr; default: discarded.
	Output io.Writer
	// StartTimeout bounds the start; default 30 s.
	StartTimeout time.Duration
	Logger       *slog.Logger
}

// Browser is a running Chromium. Close it to end the process and every
// child; cancelling the context given to Start does the same.
type Browser struct {
	allocCtx    context.Context
	cancelAlloc context.CancelFunc
	ctx         context.Context // browser context: first tab
	cancel      context.CancelFunc
	log         *slog.Logger
	closeOnce   sync.Once
	workDir     string        // see workDirPrefix
	cleaned     chan struct{} // closed once Chromium is gone and workDir removed
}

// FindBinary returns the Chromium executable that Start would use.
func FindBinary(explicit string) (string, error) {
	candidates := []string{explicit, os.Getenv("CHROMIUM_PATH"), "/usr/lib/chromium/chromium"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
		if explicit != "" && c == explicit {
			return "", fmt.Errorf("%w: %s", ErrNotFound, explicit)
		}
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// NeedsNoSandbox reports whether Chromium's sandbox must be off: it cannot
// start as root.
func NeedsNoSandbox() bool { return os.Geteuid() == 0 }

// SandboxOn reports whether a browser started with opts keeps Chromium's
// sandbox on: always, except as root or when opts.NoSandbox asks.
func SandboxOn(opts Options) bool { return !opts.NoSandbox && !NeedsNoSandbox() }

// Flags returns the command-line flags used for opts, without the binary.
// They keep Chromium quiet on a closed network (no background connections,
// no component updates), keep WebRTC on loopback usable, and let pages play
// audio without a user gesture.
func Flags(opts Options) map[string]string {
	w, h := opts.WindowWidth, opts.WindowHeight
	if w == 0 || h == 0 {
		w, h = 1280, 720
	}
	f := map[string]string{
		"headless":                               "new",
		"window-size":                            fmt.Sprintf("%d,%d", w, h),
		"no-first-run":                           "",
		"no-default-browser-check":               "",
		"disable-background-networking":          "",
		"disable-component-update":               "",
		"disable-sync":                           "",
		"disable-quic":                           "",
		"disable-breakpad":                       "",
		"disable-extensions":                     "",
		"disable-default-apps":                   "",
		"disable-domain-reliability":             "",
		"disable-client-side-phishing-detection": "",
		"no-pings":                               "",
		"metrics-recording-only":                 "",
		"disable-background-timer-throttling":    "",
		"disable-backgrounding-occluded-windows": "",
		"disable-renderer-backgrounding":         "",
		"disable-hang-monitor":                   "",
		"disable-ipc-flooding-protection":        "",
		"disable-gpu":                            "",
		"password-store":                         "basic",
		"use-mock-keychain":                      "",
		"autoplay-policy":                        "no-user-gesture-required",
		"allow-loopback-in-peer-connection":      "",
		// Local Network Access checks treat a page fulfilled over CDP (it has no
		// IP address) as public and block its connections to loopback or private
		// addresses, where self-hosted deployments often live.
		"disable-features": "WebRtcHideLocalIpsWithMdns,LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,Translate,MediaRouter,OptimizationHints,DialMediaRouteProvider,AutofillServerCommunication,CertificateTransparencyComponentUpdater",
		// Small /dev/shm in containers makes the renderer crash; /tmp is slower but safe.
		"disable-dev-shm-usage": "",
		"mute-audio":            "",
		"hide-scrollbars":       "",
	}
	if opts.FakeMedia {
		f["use-fake-ui-for-media-stream"] = ""
		f["use-fake-device-for-media-stream"] = ""
	} else {
		for k, v := range leanFlags {
			f[k] = v
		}
		f["disable-features"] += "," + leanDisabledFeatures
	}
	if !SandboxOn(opts) {
		f["no-sandbox"] = ""
		if opts.SingleProcess {
			f["single-process"] = ""
			f["no-zygote"] = ""
		}
	}
	for k, v := range opts.ExtraFlags {
		f[k] = v
	}
	return f
}

// leanFlags cut a recorder-style browser's memory. It shows one page from
// one origin, so Chromium's desktop process model (a renderer per site, a
// spare renderer, a GPU process that only rasterises in software anyway)
// and its desktop-sized caches are pure cost. Measured with `jitsi-lab
// bench --scenario 720p-2` (medians of 3 runs): recorder tree peak PSS
// 863 -> 472 MB, summed RSS 1571 -> 1125 MB, processes 12 -> 10, with
// frames delivered (99.6 -> 99.7 %), tones present (95 %) and both
// participants visible unchanged on a quiet machine.
var leanFlags = map[string]string{
	// Low-end device mode shrinks V8's heap limits, Blink's and Skia's
	// caches and the compositor's tile memory: most of the saving.
	"enable-low-end-device-mode": "",
	// One renderer process for everything, no per-site isolation.
	"renderer-process-limit":        "1",
	"disable-site-isolation-trials": "",
	// The GPU process (software only with --disable-gpu) runs as a thread
	// of the browser process instead.
	"in-process-gpu": "",
	// The profile is thrown away after each recording.
	"disk-cache-size": "1",
	// The recorder never captures a camera: no video capture service process.
	"enable-features": "RunVideoCaptureServiceInBrowserProcess",
}

// leanDisabledFeatures are features a recorder-style browser never uses;
// switching them off saves processes and memory.
const leanDisabledFeatures = "site-per-process,IsolateOrigins,SpareRendererForSitePerProcess," +
	"BackForwardCache,MediaSessionService,HardwareMediaKeyHandling"

// Start launches Chromium and opens its first tab.
func Start(ctx context.Context, opts Options) (*Browser, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	bin, err := FindBinary(opts.Binary)
	if err != nil {
		return nil, err
	}
	sandbox := SandboxOn(opts)
	if !sandbox && NeedsNoSandbox() {
		log.Debug("running as root: Chromium sandbox off")
	}
	allocOpts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(bin)}
	for k, v := range Flags(opts) {
		if v == "" {
			allocOpts = append(allocOpts, chromedp.Flag(k, true))
		} else {
			allocOpts = append(allocOpts, chromedp.Flag(k, v))
		}
	}
	if sandbox {
		// chromedp adds --no-sandbox for root unless told otherwise.
		allocOpts = append(allocOpts, chromedp.Flag("no-sandbox", false))
	}
	out := opts.Output
	if out == nil {
		out = io.Discard
	}
	allocOpts = append(allocOpts, chromedp.CombinedOutput(out))

	work, err := newWorkDir(log)
	if err != nil {
		return nil, fmt.Errorf("start chromium: work directory: %w", err)
	}
	allocOpts = append(allocOpts, chromedp.Env("TMPDIR="+work.path))
	profile := ""
	if _, ok := opts.ExtraFlags["user-data-dir"]; !ok {
		profile = filepath.Join(work.path, "profile")
		allocOpts = append(allocOpts, chromedp.UserDataDir(profile))
	}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, allocOpts...)
	bctx, cancel := chromedp.NewContext(allocCtx,
		chromedp.WithLogf(func(f string, a ...any) { log.Debug(fmt.Sprintf(f, a...)) }),
		chromedp.WithErrorf(func(f string, a ...any) {
			msg := fmt.Sprintf(f, a...)
			// cdproto lags Chromium: unknown enum values are harmless.
			if strings.Contains(msg, "unknown") || strings.Contains(msg, "unmarshal") {
				log.Debug("cdp", "msg", msg)
				return
			}
			log.Warn("cdp", "msg", msg)
		}),
	)
	b := &Browser{allocCtx: allocCtx, cancelAlloc: cancelAlloc, ctx: bctx, cancel: cancel, log: log,
		workDir: work.path, cleaned: make(chan struct{})}
	// Whether Close is called or the caller's context ends: once Chromium
	// is gone, no helper of it may live on and its files go.
	go func() {
		defer close(b.cleaned)
		<-allocCtx.Done()
		if a, ok := chromedp.FromContext(bctx).Allocator.(*chromedp.ExecAllocator); ok {
			a.Wait()
		}
		killProcessesUsing(profile)
		if err := work.remove(); err != nil {
			log.Warn("chromium's work directory not removed", "dir", work.path, "err", err)
		}
	}()

	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	startErr := make(chan error, 1)
	go func() { startErr <- chromedp.Do(bctx) }() // starts the browser and the first tab
	select {
	case err = <-startErr:
	case <-time.After(timeout):
		err = fmt.Errorf("timed out after %s", timeout)
	}
	if err != nil {
		b.Close()
		if sandbox && strings.Contains(err.Error(), "No usable sandbox") {
			return nil, fmt.Errorf("start chromium %s: %w", bin, ErrSandboxUnavailable)
		}
		return nil, fmt.Errorf("start chromium %s: %w", bin, err)
	}
	log.Debug("chromium started", "binary", bin)
	return b, nil
}

// Context is the first tab's chromedp context: run actions with it.
func (b *Browser) Context() context.Context { return b.ctx }

// NewTab opens another tab in the same browser; cancel closes the tab.
func (b *Browser) NewTab() (context.Context, context.CancelFunc, error) {
	ctx, cancel := chromedp.NewContext(b.ctx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("open tab: %w", err)
	}
	return ctx, cancel, nil
}

// Done is closed when the browser is gone (closed, crashed or killed).
func (b *Browser) Done() <-chan struct{} { return b.ctx.Done() }

// Kill ends Chromium at once, even when it hangs or is stopped: SIGKILL to
// the browser process. Its children (renderer, zygote, ...) die with it:
// chromedp kills whatever still runs with the browser's profile once the
// process is gone. Close still has to be called.
func (b *Browser) Kill() {
	if c := chromedp.FromContext(b.ctx); c != nil && c.Browser != nil {
		if p := c.Browser.Process(); p != nil {
			p.Kill()
		}
	}
}

// Pid is the browser process's id, 0 if unknown.
func (b *Browser) Pid() int {
	if c := chromedp.FromContext(b.ctx); c != nil && c.Browser != nil {
		if p := c.Browser.Process(); p != nil {
			return p.Pid
		}
	}
	return 0
}

// Close ends Chromium and all its child processes and removes its profile
// and temp files (see workDirPrefix).
// It is safe to call more than once.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		b.cancel()
		b.cancelAlloc()
		<-b.cleaned
	})
	return nil
}
