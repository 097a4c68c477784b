package page

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
)

// event is one message the page sent through the binding.
type event struct {
	Type     string `json:"type"`
	State    string `json:"state"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	ID       string `json:"id"`
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Gen      int    `json:"gen"`
	Seq      int    `json:"seq"`
	Data     string `json:"data"`
	MimeType string `json:"mimeType"`
	Video    string `json:"videoCodec"`
	Audio    string `json:"audioCodec"`
	Reason   string `json:"reason"`
	Attempts int    `json:"attempts"`
	T        int64  `json:"t"`
	Fps      float64
	Raw      string `json:"-"`
}

// harness is a Chromium tab on a loopback "deployment" that serves the
// embedded page at /_recorder plus a stub config.js and a fake lib.
type harness struct {
	t   *testing.T
	ctx context.Context
	srv *httptest.Server

	mu     sync.Mutex
	events []event
	chunks [][]byte         // generation 0
	gens   map[int][][]byte // every generation's chunks
	frames []framesBatch    // track capture's frames events, whole
}

type deployment struct {
	config string // body of config.js; "" means 404
	lib    string // body of libs/lib-jitsi-meet.min.js; "" means 404
	// proxy, if set, serves everything but the page (config.js, the lib,
	// XMPP): a real deployment (the lab) behind the page's origin.
	proxy http.Handler
}

func fakeDeployment(t *testing.T) deployment {
	lib, err := os.ReadFile("testdata/fake-lib-jitsi-meet.js")
	if err != nil {
		t.Fatal(err)
	}
	return deployment{
		config: `var config = { hosts: { domain: 'localhost', muc: 'conference.localhost' }, bosh: '/http-bind', websocket: '/xmpp-websocket', p2p: { enabled: true }, startSilent: true };`,
		lib:    string(lib),
	}
}

func newHarness(t *testing.T, d deployment) *harness {
	t.Helper()
	if _, err := browser.FindBinary(""); err != nil {
		t.Skip("chromium not installed: ", err)
	}
	pageFS := Files()
	mux := http.NewServeMux()
	serveFile := func(name, ctype string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := fs.ReadFile(pageFS, name)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", ctype)
			w.Write(b)
		}
	}
	serveText := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if body == "" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/javascript")
			fmt.Fprint(w, body)
		}
	}
	for _, base := range []string{"/", "/tenant/"} {
		mux.HandleFunc(base+"_recorder", serveFile("recorder.html", "text/html"))
		mux.HandleFunc(base+"_recorder/recorder.js", serveFile("recorder.js", "application/javascript"))
		if d.proxy == nil {
			mux.HandleFunc(base+"config.js", serveText(d.config))
			mux.HandleFunc(base+"libs/lib-jitsi-meet.min.js", serveText(d.lib))
		}
	}
	if d.proxy != nil {
		mux.Handle("/", d.proxy)
	}
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	t.Cleanup(cancel)
	b, err := browser.Start(ctx, browser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	h := &harness{t: t, ctx: b.Context(), srv: srv}
	if _, err := chromedp.Call(h.ctx, runtime.AddBinding, runtime.AddBindingParams{Name: EmitBinding}); err != nil {
		t.Fatal("add binding: ", err)
	}
	calls := chromedp.Events(h.ctx, runtime.BindingCalled)
	go func() {
		for ev, err := range calls {
			if err != nil {
				return
			}
			if ev.Name != EmitBinding {
				continue
			}
			h.record(ev.Payload)
		}
	}()
	return h
}

// reset forgets the events and chunks seen so far.
func (h *harness) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = nil
	h.chunks = nil
	h.gens = nil
	h.frames = nil
}

// clearEvents forgets the events seen so far but not the chunks: for a
// recording that goes on.
func (h *harness) clearEvents() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = nil
}

func (h *harness) record(payload string) {
	var e event
	if err := json.Unmarshal([]byte(payload), &e); err != nil {
		h.t.Errorf("bad event %q: %v", payload, err)
		return
	}
	var extra struct {
		Fps float64 `json:"fps"`
	}
	json.Unmarshal([]byte(payload), &extra)
	e.Fps = extra.Fps
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.Type == "chunk" {
		b, err := base64.StdEncoding.DecodeString(e.Data)
		if err != nil {
			h.t.Errorf("chunk %d: bad base64: %v", e.Seq, err)
		}
		if h.gens == nil {
			h.gens = map[int][][]byte{}
		}
		if e.Seq != len(h.gens[e.Gen]) {
			h.t.Errorf("chunk gen %d seq %d, want %d", e.Gen, e.Seq, len(h.gens[e.Gen]))
		}
		h.gens[e.Gen] = append(h.gens[e.Gen], b)
		if e.Gen == 0 {
			h.chunks = append(h.chunks, b)
		}
		e.Data = ""
	} else if e.Type == "frames" {
		// Kept whole in h.frames; the event list gets a summary, so a
		// failure's event dump stays readable.
		var b framesBatch
		if err := json.Unmarshal([]byte(payload), &b); err != nil {
			h.t.Errorf("bad frames event: %v", err)
		}
		b.Received = time.Now()
		h.frames = append(h.frames, b)
		e.Raw = fmt.Sprintf(`{"type":"frames","t":%d,"frames":<%d>}`, e.T, len(b.Frames))
	} else {
		e.Raw = payload
	}
	h.events = append(h.events, e)
}

// open navigates to the recorder page under path (e.g. "/_recorder?scenario=x").
func (h *harness) open(path string) {
	h.t.Helper()
	if err := chromedp.Do(h.ctx, chromedp.Navigate(h.srv.URL+path)); err != nil {
		h.t.Fatal(err)
	}
	h.waitFor(func(e event) bool { return e.Type == "state" && e.State == "loaded" || e.Type == "error" }, 10*time.Second)
}

func (h *harness) eval(expr string) error {
	return chromedp.Do(h.ctx, chromedp.Evaluate[chromedp.Void](expr, chromedp.EvalAwaitPromise))
}

func evalValue[T any](h *harness, expr string) T {
	h.t.Helper()
	v, err := chromedp.Run(h.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		h.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

func (h *harness) snapshot() []event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]event(nil), h.events...)
}

func (h *harness) waitFor(match func(event) bool, timeout time.Duration) event {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, e := range h.snapshot() {
			if match(e) {
				return e
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("timed out waiting for an event; got %s", h.describe())
	return event{}
}

func (h *harness) describe() string {
	var parts []string
	for _, e := range h.snapshot() {
		if e.Type != "chunk" {
			parts = append(parts, e.Raw)
		}
	}
	return strings.Join(parts, "\n")
}

func (h *harness) file() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []byte
	for _, c := range h.chunks {
		out = append(out, c...)
	}
	return out
}

// genFile is the concatenation of one encoder generation's chunks.
func (h *harness) genFile(gen int) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []byte
	for _, c := range h.gens[gen] {
		out = append(out, c...)
	}
	return out
}

func (h *harness) genChunks(gen int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.gens[gen])
}

func startOpts(extra string) string {
	return `{"domain":"meet.example.org","room":"Team-Sync","tenant":"","jwt":"secret.jwt.value","password":"","displayName":"Recorder",
"width":1280,"height":720,"fps":30,"videoBitsPerSecond":2500000,"audioBitsPerSecond":128000,"chunkMs":1000,
"mimeTypes":["video/x-matroska;codecs=avc1,pcm","video/x-matroska;codecs=avc1,opus","video/webm;codecs=h264,opus","video/webm;codecs=vp8,opus"],"audioOnly":false` + extra + `}`
}
