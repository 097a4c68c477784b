//go:build labproto

package participants

// An end-to-end check of the pages against the real lib-jitsi-meet, from
// before the lab orchestrator existed: a mini lab of Debian's Prosody, the
// focus and bridge stand-ins and a bare web front. The build tag keeps the
// package's default tests independent of the other lab packages' APIs.
// Run: go test -tags labproto -run MiniLab ./internal/lab/participants
// Needs /usr/bin/prosody and the npm tarballs in /tmp/npmtest.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/bridge"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/focus"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func fromTgz(t *testing.T, tgz, name string) []byte {
	f, err := os.Open(tgz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, _ := gzip.NewReader(f)
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in %s", name, tgz)
		}
		if h.Name == name {
			b, _ := io.ReadAll(tr)
			return b
		}
	}
}

type miniLab struct {
	url string
}

func startMiniLab(t *testing.T, rooms map[string]focus.RoomOptions) *miniLab {
	for _, f := range []string{"/usr/bin/prosody", "/tmp/npmtest/jquery-3.6.0.tgz", "/tmp/npmtest/lyno-lib-jitsi-meet-2.6726.2.tgz"} {
		if _, err := os.Stat(f); err != nil {
			t.Skip("mini lab needs ", f)
		}
	}
	dir := t.TempDir()
	httpPort, compPort := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`
run_as_root = true
daemonize = false
pidfile = %q
data_path = %q
log = { { levels = { min = "info" }, to = "file", filename = %q } }
modules_enabled = { "saslauth"; "roster"; "disco"; "ping"; "bosh"; "websocket"; "smacks" }
c2s_require_encryption = false; consider_websocket_secure = true; consider_bosh_secure = true
c2s_ports = {}; s2s_ports = {}
http_ports = {%d}; http_interfaces = {"127.0.0.1"}; https_ports = {}
component_ports = {%d}; component_interfaces = {"127.0.0.1"}
VirtualHost "localhost"
    authentication = "anonymous"
Component "conference.localhost" "muc"
    muc_room_locking = false
    muc_room_default_public_jids = true
    admins = { "focus@focus.localhost" }
Component "focus.localhost"
    component_secret = "s3cret"
`, dir+"/prosody.pid", dir, dir+"/prosody.log", httpPort, compPort)
	os.WriteFile(filepath.Join(dir, "prosody.cfg.lua"), []byte(cfg), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "/usr/bin/prosody", "-F", "--config", filepath.Join(dir, "prosody.cfg.lua"))
	// Pdeathsig: Prosody dies with the test binary even if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	for i := 0; i < 50; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", compPort)); err == nil {
			c.Close()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	br, err := bridge.New(bridge.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { br.Close() })
	f := focus.New(focus.Config{ComponentAddr: fmt.Sprintf("127.0.0.1:%d", compPort), Domain: "localhost", Secret: "s3cret", Bridge: br, Rooms: rooms})
	fctx, fcancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(fctx); close(done) }()
	t.Cleanup(func() { fcancel(); <-done })

	lib := bytes.Join([][]byte{
		fromTgz(t, "/tmp/npmtest/jquery-3.6.0.tgz", "package/dist/jquery.min.js"),
		[]byte("\nwindow.jquery = window.jQuery;\n"),
		fromTgz(t, "/tmp/npmtest/lyno-lib-jitsi-meet-2.6726.2.tgz", "package/lib-jitsi-meet.min.js"),
	}, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("/config.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		fmt.Fprintf(w, `var config = {hosts: {domain: 'localhost', muc: 'conference.localhost', focus: 'focus.localhost'}, websocket: 'ws://127.0.0.1:%d/xmpp-websocket'};`, httpPort)
	})
	mux.HandleFunc("/libs/lib-jitsi-meet.min.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		w.Write(lib)
	})
	mux.Handle("/_lab/", http.StripPrefix("/_lab/", http.FileServerFS(Assets())))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.Count(r.URL.Path, "/") == 1 && len(r.URL.Path) > 1 {
			http.ServeFileFS(w, r, Assets(), "meeting.html")
			return
		}
		http.NotFound(w, r)
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	br.SetColibriBase("ws://" + strings.TrimPrefix(ts.URL, "http://"))
	return &miniLab{url: ts.URL}
}

func TestMiniLabThreeParticipantsSeeAndHearEachOther(t *testing.T) {
	lab := startMiniLab(t, nil)
	spec := media.NewSpec(3)
	g, err := Start(t.Context(), Config{BaseURL: lab.url, Room: "proto", Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	time.Sleep(3 * time.Second)
	before, procs := treeCPUTicks(g.BrowserPID())
	start := time.Now()
	time.Sleep(5 * time.Second)
	after, _ := treeCPUTicks(g.BrowserPID())
	t.Logf("3 participants in a meeting: %.0f%% of one core (%d chromium processes)",
		float64(after-before)/100/time.Since(start).Seconds()*100, procs)
	reports, err := g.Reports(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		t.Logf("%+v", r)
	}
	for _, l := range Check(reports, spec, []int{0, 1, 2}) {
		t.Log(l)
		if !l.OK {
			t.Error(l)
		}
	}
}

func TestMiniLabPasswordLateJoinLeaveRejoinAndMeetingPage(t *testing.T) {
	lab := startMiniLab(t, map[string]focus.RoomOptions{"locked": {Password: "pw"}})
	spec := media.NewSpec(3)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// Wrong password fails with a named error.
	if _, err := Start(t.Context(), Config{BaseURL: lab.url, Room: "locked", Spec: media.NewSpec(1), Logger: log, JoinTimeout: 15 * time.Second}); err == nil {
		t.Fatal("joined a locked room without password")
	} else {
		t.Log("no password:", err)
	}
	g, err := Start(t.Context(), Config{BaseURL: lab.url, Room: "locked", Password: "pw", Spec: spec, JoinAtStart: 2, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Join(2); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	reports, _ := g.Reports(t.Context())
	for _, l := range Check(reports, spec, []int{0, 1, 2}) {
		t.Log(l)
		if !l.OK {
			t.Error(l)
		}
	}
	if err := g.Leave(1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	reports, _ = g.Reports(t.Context())
	for _, l := range Check(reports, spec, []int{0, 2}) {
		t.Log("after leave:", l)
		if !l.OK {
			t.Error(l)
		}
	}
	for id, r := range reports[0].Remotes {
		t.Logf("p0 sees %s: %s left=%v", id, r.Name, r.Left)
	}
	if err := g.Join(1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	reports, _ = g.Reports(t.Context())
	for _, l := range Check(reports, spec, []int{0, 1, 2}) {
		t.Log("after rejoin:", l)
		if !l.OK {
			t.Error(l)
		}
	}
	// A viewer on the meeting page sees all three.
	tab, closeTab, err := g.b.NewTab()
	if err != nil {
		t.Fatal(err)
	}
	defer closeTab()
	if err := chromedp.Do(tab, chromedp.Navigate(lab.url+"/locked?password=pw")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(6 * time.Second)
	m, err := chromedp.Run(tab, chromedp.Evaluate[string](`JSON.stringify(labMeeting())`))
	if err != nil {
		t.Fatal(err)
	}
	t.Log("meeting page:", m)
	for _, name := range []string{"Participant 1", "Participant 2", "Participant 3"} {
		if !strings.Contains(m, `"name":"`+name+`","video":true,"audio":true,"videoWidth":640`) {
			t.Errorf("meeting page does not show %s with video and audio", name)
		}
	}
}
