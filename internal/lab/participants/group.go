package participants

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
	"github.com/jitsi-recorder/jitsi-recorder/internal/procfs"
)

// Config says where the synthetic participants meet and what they send.
type Config struct {
	// BaseURL is the web front, e.g. http://127.0.0.1:8080; the pages are
	// at BaseURL/_lab/participant.html.
	BaseURL  string
	Room     string
	Password string // passed to conference.join; empty for none
	// Spec gives one participant per entry of Spec.Participants.
	Spec media.Spec
	// JoinAtStart is how many participants (the first ones of Spec) join in
	// Start; the others can Join later. 0 means all of them.
	JoinAtStart int
	Logger      *slog.Logger
	// Browser options; FakeMedia is always turned on.
	Browser browser.Options
	// JoinTimeout bounds each participant's join; default 30 s.
	JoinTimeout time.Duration
	// Local makes each page loop its own media back through a loopback peer
	// connection instead of joining: it tests the pages without a meeting.
	Local bool
	// Nice is the nice value (0..19) of the browser's processes, 0 for the
	// default priority. Chromium itself sets a renderer to nice 0 or 5 when
	// its tab comes to the front or goes to the back, so the group applies
	// it again after every join and leave.
	Nice int
	// SendOnly makes each page send its media but ask the bridge for no
	// video (lastN 0) and attach or analyse nothing it receives: the
	// participants then cost little more than their encoders. Reports then
	// have no remotes, so Check cannot pass; the lab's check leaves it off.
	SendOnly bool
}

// Group is the running synthetic participants: one Chromium, one tab each.
type Group struct {
	cfg       Config
	log       *slog.Logger
	b         *browser.Browser
	mu        sync.Mutex
	tabs      []*tab // nil while participant i is absent
	closeOnce sync.Once
}

type tab struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// Start launches Chromium and joins every participant of cfg.Spec, waiting
// until each has joined. ctx bounds the life of the browser: cancelling it
// ends the group as Close does.
func Start(ctx context.Context, cfg Config) (*Group, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.JoinTimeout == 0 {
		cfg.JoinTimeout = 30 * time.Second
	}
	if len(cfg.Spec.Participants) == 0 {
		return nil, errors.New("start participants: spec has no participants")
	}
	if cfg.JoinAtStart <= 0 || cfg.JoinAtStart > len(cfg.Spec.Participants) {
		cfg.JoinAtStart = len(cfg.Spec.Participants)
	}
	if cfg.Nice < 0 || cfg.Nice > 19 {
		return nil, fmt.Errorf("start participants: nice value %d, want 0..19", cfg.Nice)
	}
	if !cfg.Local && cfg.Room == "" {
		return nil, errors.New("start participants: no room")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	opts := cfg.Browser
	opts.FakeMedia = true
	if opts.Logger == nil {
		opts.Logger = cfg.Logger
	}
	b, err := browser.Start(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("start participants: %w", err)
	}
	g := &Group{cfg: cfg, log: cfg.Logger, b: b, tabs: make([]*tab, len(cfg.Spec.Participants))}
	// Open every page first, then wait: the joins run in parallel.
	for i := range cfg.JoinAtStart {
		if err := g.open(i); err != nil {
			g.Close()
			return nil, err
		}
	}
	errs := make([]error, len(g.tabs))
	var wg sync.WaitGroup
	for i := range cfg.JoinAtStart {
		wg.Go(func() { errs[i] = g.waitJoined(i) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		g.Close()
		return nil, fmt.Errorf("start participants in room %q: %w", cfg.Room, err)
	}
	if err := g.renice(); err != nil {
		g.Close()
		return nil, fmt.Errorf("start participants: %w", err)
	}
	g.log.Info("synthetic participants joined", "room", cfg.Room, "count", cfg.JoinAtStart, "local", cfg.Local, "send_only", cfg.SendOnly)
	return g, nil
}

// pageURL is participant i's page with everything it needs in the query.
func (g *Group) pageURL(i int) (string, error) {
	spec, err := json.Marshal(g.cfg.Spec)
	if err != nil {
		return "", fmt.Errorf("encode spec: %w", err)
	}
	q := url.Values{
		"room":  {g.cfg.Room},
		"index": {strconv.Itoa(i)},
		"name":  {g.cfg.Spec.Participants[i].Name},
		"spec":  {string(spec)},
	}
	if g.cfg.Password != "" {
		q.Set("password", g.cfg.Password)
	}
	if g.cfg.Local {
		q.Set("local", "1")
	}
	if g.cfg.SendOnly {
		q.Set("sendonly", "1")
	}
	return g.cfg.BaseURL + "/_lab/participant.html?" + q.Encode(), nil
}

// open opens participant i's tab and loads its page; the page joins by itself.
func (g *Group) open(i int) error {
	name := g.cfg.Spec.Participants[i].Name
	u, err := g.pageURL(i)
	if err != nil {
		return err
	}
	ctx, cancel, err := g.b.NewTab()
	if err != nil {
		return fmt.Errorf("participant %d (%s): %w", i, name, err)
	}
	go g.logPage(ctx, name)
	navCtx, navCancel := context.WithTimeout(ctx, 15*time.Second)
	defer navCancel()
	if err := chromedp.Do(navCtx, chromedp.Navigate(u)); err != nil {
		cancel()
		return fmt.Errorf("participant %d (%s): load %s: %w", i, name, g.cfg.BaseURL, err)
	}
	g.mu.Lock()
	g.tabs[i] = &tab{ctx: ctx, cancel: cancel}
	g.mu.Unlock()
	return nil
}

// logPage forwards the page's errors and uncaught exceptions to the log
// until the tab closes.
func (g *Group) logPage(ctx context.Context, name string) {
	go func() {
		for ev, err := range chromedp.Events(ctx, runtime.ExceptionThrown) {
			if err != nil {
				return
			}
			text := ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil && ev.ExceptionDetails.Exception.Description != "" {
				text = ev.ExceptionDetails.Exception.Description
			}
			g.log.Warn("participant page exception", "participant", name, "text", text)
		}
	}()
	for ev, err := range chromedp.Events(ctx, runtime.ConsoleAPICalled) {
		if err != nil {
			return
		}
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeWarning {
			continue
		}
		var parts []string
		for _, a := range ev.Args {
			if a.Value != nil {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		g.log.Debug("participant page console", "participant", name, "type", string(ev.Type), "text", strings.Join(parts, " "))
	}
}

// waitJoined polls participant i's report until it has joined, its page
// reports an error, or JoinTimeout passes.
func (g *Group) waitJoined(i int) error {
	name := g.cfg.Spec.Participants[i].Name
	t := g.tab(i)
	if t == nil {
		return fmt.Errorf("participant %d (%s): no tab", i, name)
	}
	deadline := time.Now().Add(g.cfg.JoinTimeout)
	for {
		r, err := g.report(t.ctx, i)
		switch {
		case err == nil && r.Self.Error != "":
			return fmt.Errorf("participant %d (%s): %s", i, name, r.Self.Error)
		case err == nil && r.Self.Joined:
			g.log.Debug("participant joined", "participant", name, "endpoint", r.Self.EndpointID)
			return nil
		}
		if time.Now().After(deadline) {
			status := g.pageStatus(t.ctx)
			if err != nil {
				return fmt.Errorf("participant %d (%s): not joined after %s (page says %q): %w", i, name, g.cfg.JoinTimeout, status, err)
			}
			return fmt.Errorf("participant %d (%s): not joined after %s (page says %q)", i, name, g.cfg.JoinTimeout, status)
		}
		select {
		case <-t.ctx.Done():
			return fmt.Errorf("participant %d (%s): tab closed while joining", i, name)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (g *Group) pageStatus(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('status')||{}).textContent||''`))
	if err != nil {
		return "unreadable: " + err.Error()
	}
	return s
}

func (g *Group) tab(i int) *tab {
	g.mu.Lock()
	defer g.mu.Unlock()
	if i < 0 || i >= len(g.tabs) {
		return nil
	}
	return g.tabs[i]
}

// report evaluates labReport() in a tab, bounded to a few seconds.
func (g *Group) report(tabCtx context.Context, i int) (Report, error) {
	ctx, cancel := context.WithTimeout(tabCtx, 5*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.labReport ? JSON.stringify(window.labReport()) : ''`))
	if err != nil {
		return Report{}, fmt.Errorf("read report: %w", err)
	}
	if raw == "" {
		return Report{}, errors.New("page has no labReport yet")
	}
	var r Report
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return Report{}, fmt.Errorf("decode report: %w", err)
	}
	r.Index, r.Present = i, true
	return r, nil
}

// Reports returns every participant's report, indexed like cfg.Spec; an
// absent participant's report has Present false.
func (g *Group) Reports(ctx context.Context) ([]Report, error) {
	g.mu.Lock()
	tabs := append([]*tab(nil), g.tabs...)
	g.mu.Unlock()
	out := make([]Report, len(tabs))
	errs := make([]error, len(tabs))
	var wg sync.WaitGroup
	for i, t := range tabs {
		out[i] = Report{Index: i}
		if t == nil {
			continue
		}
		wg.Go(func() {
			tctx, cancel := context.WithCancel(t.ctx)
			defer cancel()
			stop := context.AfterFunc(ctx, cancel)
			defer stop()
			r, err := g.report(tctx, i)
			if err != nil {
				errs[i] = fmt.Errorf("participant %d (%s): %w", i, g.cfg.Spec.Participants[i].Name, err)
				return
			}
			out[i] = r
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// Leave makes participant i leave the conference and closes its tab.
func (g *Group) Leave(i int) error {
	g.mu.Lock()
	if i < 0 || i >= len(g.tabs) || g.tabs[i] == nil {
		g.mu.Unlock()
		return fmt.Errorf("leave: participant %d is not present", i)
	}
	t := g.tabs[i]
	g.tabs[i] = nil
	g.mu.Unlock()
	defer t.cancel()
	ctx, cancel := context.WithTimeout(t.ctx, 8*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.labLeave()`, chromedp.EvalAwaitPromise)); err != nil {
		return fmt.Errorf("participant %d (%s) leave: %w", i, g.cfg.Spec.Participants[i].Name, err)
	}
	g.log.Info("participant left", "participant", g.cfg.Spec.Participants[i].Name)
	// Another tab may come to the front, and Chromium raises its renderer.
	t.cancel()
	return g.renice()
}

// Join (re)joins participant i in a new tab and waits until it has joined.
func (g *Group) Join(i int) error {
	if i < 0 || i >= len(g.cfg.Spec.Participants) {
		return fmt.Errorf("join: no participant %d in the spec", i)
	}
	if g.tab(i) != nil {
		return fmt.Errorf("join: participant %d is already present", i)
	}
	if err := g.open(i); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	if err := g.waitJoined(i); err != nil {
		if t := g.tab(i); t != nil {
			t.cancel()
		}
		g.mu.Lock()
		g.tabs[i] = nil
		g.mu.Unlock()
		return fmt.Errorf("join: %w", err)
	}
	if err := g.renice(); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	g.log.Info("participant joined", "participant", g.cfg.Spec.Participants[i].Name)
	return nil
}

// renice sets every process of the browser to the configured nice value.
func (g *Group) renice() error {
	if g.cfg.Nice == 0 {
		return nil
	}
	n, err := procfs.FS{Root: "/proc"}.Renice(g.BrowserPID(), g.cfg.Nice)
	if err != nil {
		return fmt.Errorf("lower the browser's priority: %w", err)
	}
	g.log.Debug("participants' browser reniced", "nice", g.cfg.Nice, "threads", n)
	return nil
}

// Present returns the indexes of the participants whose tabs are open.
func (g *Group) Present() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []int
	for i, t := range g.tabs {
		if t != nil {
			out = append(out, i)
		}
	}
	return out
}

// BrowserPID is the root process id of the group's Chromium (0 if unknown),
// so that a benchmark can tell the lab's processes apart.
func (g *Group) BrowserPID() int {
	c := chromedp.FromContext(g.b.Context())
	if c == nil || c.Browser == nil || c.Browser.Process() == nil {
		return 0
	}
	return c.Browser.Process().Pid
}

// Close ends the browser and every participant with it; it waits until
// Chromium's processes are gone and is safe to call more than once. It does
// not leave the conference politely: the focus sees the occupants go.
func (g *Group) Close() error {
	g.closeOnce.Do(func() {
		g.mu.Lock()
		for i, t := range g.tabs {
			if t != nil {
				t.cancel()
				g.tabs[i] = nil
			}
		}
		g.mu.Unlock()
		g.b.Close()
	})
	return nil
}
