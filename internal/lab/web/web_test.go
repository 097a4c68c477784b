package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/coder/websocket"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/prosody"
)

var testAssets = fstest.MapFS{
	"meeting.html":     {Data: []byte("<!doctype html><title>meeting</title>")},
	"participant.html": {Data: []byte("<!doctype html><title>participant</title>")},
	"lab-client.js":    {Data: []byte("console.log('lab');")},
	// Loads the two files a deployment serves, as a page at its origin would.
	"libcheck.html": {Data: []byte(`<!doctype html><meta charset="utf-8"><title>libcheck</title>
<script src="/config.js"></script>
<script src="/libs/lib-jitsi-meet.min.js"></script>`)},
}

// startFront starts a real Prosody and the web front in front of it.
func startFront(t *testing.T, colibri http.Handler) (*Server, *prosody.Server) {
	t.Helper()
	if _, err := exec.LookPath("prosody"); err != nil {
		t.Skip("prosody not installed (run scripts/setup.sh)")
	}
	libDir, err := FindLibDir()
	if err != nil {
		t.Skipf("lib bundles missing: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := prosody.Start(ctx, prosody.Config{})
	if err != nil {
		t.Fatalf("start prosody: %v", err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	s, err := Start(Config{
		Domain:      p.Domain(),
		ProsodyHTTP: p.HTTPAddr(),
		LibDir:      libDir,
		Assets:      testAssets,
		Colibri:     colibri,
		Spec:        map[string]any{"fps": 30},
	})
	if err != nil {
		t.Fatalf("start web: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, p
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp, string(body)
}

func TestServesDeploymentFiles(t *testing.T) {
	colibri := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "colibri "+r.URL.Path) })
	s, _ := startFront(t, colibri)
	host := strings.TrimPrefix(s.URL(), "http://")

	resp, body := get(t, s.URL()+"/config.js")
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("config.js content type %q", ct)
	}
	for _, want := range []string{
		"var config = {",
		"domain: 'localhost'",
		"muc: 'conference.localhost'",
		"focus: 'focus.localhost'",
		"websocket: 'ws://" + host + "/xmpp-websocket'",
		"bosh: '//" + host + "/http-bind'",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("config.js lacks %q:\n%s", want, body)
		}
	}

	resp, body = get(t, s.URL()+"/libs/lib-jitsi-meet.min.js")
	if !strings.HasPrefix(body, "/*! jQuery v3.6.0") {
		t.Errorf("lib bundle does not start with jQuery 3.6.0: %q", body[:min(60, len(body))])
	}
	if !strings.Contains(body, "window.jquery = window.jQuery;") || !strings.Contains(body, "JitsiMeetJS") {
		t.Errorf("lib bundle lacks the jquery global or lib-jitsi-meet")
	}
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("lib content type %q", ct)
	}

	resp, body = get(t, s.URL()+"/_lab/lab-client.js")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") || !strings.Contains(body, "lab") {
		t.Errorf("/_lab/lab-client.js: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, body = get(t, s.URL()+"/_lab/spec.json")
	var spec map[string]any
	if err := json.Unmarshal([]byte(body), &spec); err != nil || spec["fps"] != 30.0 || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		t.Errorf("/_lab/spec.json = %q (%v)", body, err)
	}
	for _, path := range []string{"/myroom", "/tenant/myroom"} {
		resp, body = get(t, s.URL()+path)
		if resp.StatusCode != 200 || !strings.Contains(body, "<title>meeting</title>") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %q", path, resp.StatusCode, body)
		}
	}
	if resp, _ = get(t, s.URL()+"/favicon.ico"); resp.StatusCode != 404 {
		t.Errorf("/favicon.ico: %d, want 404", resp.StatusCode)
	}
	if _, body = get(t, s.URL()+"/colibri-ws/default-id/conf/ep"); body != "colibri /colibri-ws/default-id/conf/ep" {
		t.Errorf("colibri handler got %q", body)
	}
	if resp, body = get(t, s.URL()+"/healthz"); resp.StatusCode != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("/healthz: %d %q", resp.StatusCode, body)
	}
	if resp, body = get(t, s.URL()+"/"); resp.StatusCode != 200 || !strings.Contains(body, host+"/lab") {
		t.Errorf("/: %d %q", resp.StatusCode, body)
	}
}

func TestConfigJSFollowsRequestHostAndTenant(t *testing.T) {
	s, _ := startFront(t, nil)
	req, _ := http.NewRequest("GET", s.URL()+"/acme/config.js", nil)
	req.Host = "meet.test:8443"
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"websocket: 'wss://meet.test:8443/acme/xmpp-websocket'",
		"bosh: '//meet.test:8443/acme/http-bind'",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("tenant config.js lacks %q", want)
		}
	}
	if resp, body := get(t, s.URL()+"/acme/libs/lib-jitsi-meet.min.js"); resp.StatusCode != 200 || !strings.Contains(body, "JitsiMeetJS") {
		t.Errorf("tenant lib: %d", resp.StatusCode)
	}
}

// xmppStreamOpen opens an XMPP stream over the websocket at url and returns
// everything Prosody sent up to its stream features.
func xmppStreamOpen(t *testing.T, url, domain string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"xmpp"}})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	defer c.CloseNow()
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "xmpp" {
		t.Errorf("subprotocol through proxy = %q, want xmpp", got)
	}
	open := fmt.Sprintf(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="%s" version="1.0"/>`, domain)
	if err := c.Write(ctx, websocket.MessageText, []byte(open)); err != nil {
		t.Fatalf("write open: %v", err)
	}
	var got strings.Builder
	for !strings.Contains(got.String(), "stream:features") {
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read (got %q): %v", got.String(), err)
		}
		got.Write(msg)
	}
	// Anonymous login, as lib-jitsi-meet does, proves a full round trip.
	if err := c.Write(ctx, websocket.MessageText, []byte(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="ANONYMOUS"/>`)); err != nil {
		t.Fatalf("write auth: %v", err)
	}
	_, msg, err := c.Read(ctx)
	if err != nil || !strings.Contains(string(msg), "<success") {
		t.Fatalf("anonymous auth reply %q: %v", msg, err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	return got.String()
}

func TestWebSocketProxyCarriesXMPPToProsody(t *testing.T) {
	s, p := startFront(t, nil)
	wsURL := "ws" + strings.TrimPrefix(s.URL(), "http") + "/xmpp-websocket"
	reply := xmppStreamOpen(t, wsURL, p.Domain())
	if !strings.Contains(reply, "ANONYMOUS") {
		t.Errorf("stream features lack ANONYMOUS: %q", reply)
	}
	xmppStreamOpen(t, "ws"+strings.TrimPrefix(s.URL(), "http")+"/acme/xmpp-websocket", p.Domain())
}

func TestBOSHProxyReachesProsody(t *testing.T) {
	s, p := startFront(t, nil)
	body := fmt.Sprintf(`<body rid="1" to="%s" xml:lang="en" wait="10" hold="1" ver="1.6" xmpp:version="1.0" xmlns="http://jabber.org/protocol/httpbind" xmlns:xmpp="urn:xmpp:xbosh"/>`, p.Domain())
	resp, err := http.Post(s.URL()+"/http-bind", "text/xml; charset=utf-8", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(got), "sid=") {
		t.Errorf("BOSH session create: %d %q", resp.StatusCode, got)
	}
}

func TestCloseEndsProxiedWebSockets(t *testing.T) {
	s, p := startFront(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+"/xmpp-websocket",
		&websocket.DialOptions{Subprotocols: []string{"xmpp"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="`+p.Domain()+`" version="1.0"/>`))
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung with an open websocket")
	}
	for {
		if _, _, err := c.Read(ctx); err != nil {
			break // the proxied connection was closed
		}
	}
	if ctx.Err() != nil {
		t.Fatal("websocket still open after Close")
	}
}

func TestStartWithoutLibNamesSetup(t *testing.T) {
	_, err := Start(Config{ProsodyHTTP: "127.0.0.1:1", LibDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "scripts/setup.sh") {
		t.Fatalf("err = %v, want a hint to run scripts/setup.sh", err)
	}
}

func TestFindLibDirHonoursEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(LibDirEnv, dir)
	if _, err := FindLibDir(); err == nil || !strings.Contains(err.Error(), "scripts/setup.sh") {
		t.Fatalf("empty dir accepted or no hint: %v", err)
	}
	os.WriteFile(filepath.Join(dir, libFile), []byte("x"), 0o644)
	if got, err := FindLibDir(); err != nil || got != dir {
		t.Fatalf("FindLibDir = %q, %v; want %q", got, err, dir)
	}
}
