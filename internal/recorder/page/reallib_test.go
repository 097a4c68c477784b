package page

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The npm tarballs of the lib-jitsi-meet bundle the lab serves; tests that
// need them skip when they are absent.
const (
	libTarball    = "/tmp/npmtest/lyno-lib-jitsi-meet-2.6726.2.tgz"
	jqueryTarball = "/tmp/npmtest/jquery-3.6.0.tgz"
)

func fileFromTarball(t *testing.T, tgz, name string) string {
	t.Helper()
	f, err := os.Open(tgz)
	if err != nil {
		t.Skip("npm tarball not available: ", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in %s: %v", name, tgz, err)
		}
		if hdr.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}

// realLib is the 2021 lib-jitsi-meet bundle with the jQuery it expects as
// global "jquery" prepended.
func realLib(t *testing.T) string {
	jq := fileFromTarball(t, jqueryTarball, "package/dist/jquery.min.js")
	lib := fileFromTarball(t, libTarball, "package/lib-jitsi-meet.min.js")
	return jq + "\n;window.jquery = window.jQuery;\n" + lib
}

func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// TestRealLibReportsConnectionFailure runs the page against the real 2021
// lib-jitsi-meet bundle with an XMPP WebSocket nobody listens on.
func TestRealLibReportsConnectionFailure(t *testing.T) {
	d := deployment{
		config: fmt.Sprintf(`var config = { hosts: { domain: 'localhost', muc: 'conference.localhost' }, websocket: 'ws://127.0.0.1:%d/xmpp-websocket' };`, closedPort(t)),
		lib:    realLib(t),
	}
	h := newHarness(t, d)
	h.open("/_recorder")
	if v := evalValue[string](h, `String(JitsiMeetJS.version)`); v == "" {
		t.Fatal("no JitsiMeetJS.version")
	}
	start := time.Now()
	err := h.eval(`window.recorder.start(` + startOpts("") + `)`)
	if err == nil || !strings.Contains(err.Error(), "connection-failed") {
		t.Fatalf("start error %v, want connection-failed\n%s", err, h.describe())
	}
	t.Logf("failed after %s: %s", time.Since(start).Round(time.Millisecond), h.describe())
}

// startProsody runs the Debian Prosody on loopback with an anonymous host
// and a MUC, and returns its WebSocket URL. No focus runs, so a conference
// join stays pending: enough to check the page's connection with the real lib.
func startProsody(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prosody")
	if err != nil {
		t.Skip("prosody not installed")
	}
	dir := t.TempDir()
	port := closedPort(t)
	cfg := fmt.Sprintf(`
run_as_root = true
daemonize = false
pidfile = %[1]q .. "/prosody.pid"
data_path = %[1]q
log = { { levels = { min = "info" }, to = "file", filename = %[1]q .. "/prosody.log" } }
modules_enabled = { "saslauth"; "roster"; "disco"; "ping"; "bosh"; "websocket"; "smacks" }
modules_disabled = { "s2s"; "offline" }
c2s_ports = {}
s2s_ports = {}
component_ports = {}
c2s_require_encryption = false
consider_websocket_secure = true
consider_bosh_secure = true
http_ports = { %[2]d }
http_interfaces = { "127.0.0.1" }
https_ports = {}
VirtualHost "localhost"
    authentication = "anonymous"
Component "conference.localhost" "muc"
    muc_room_locking = false
    muc_room_default_public_jids = true
`, dir, port)
	cfgPath := filepath.Join(dir, "prosody.cfg.lua")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-F", "--config", cfgPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "prosody.log"))
			t.Logf("prosody log:\n%s", log)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("prosody did not listen: ", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Sprintf("ws://127.0.0.1:%d/xmpp-websocket", port)
}

// TestRealLibConnectsToProsodyAndStopsWhileJoining: with the real 2021 lib
// and a real Prosody, the page connects, starts joining (no focus answers),
// and stop() ends the pending join cleanly.
func TestRealLibConnectsToProsodyAndStopsWhileJoining(t *testing.T) {
	lib := realLib(t)
	ws := startProsody(t)
	d := deployment{
		config: fmt.Sprintf(`var config = { hosts: { domain: 'localhost', muc: 'conference.localhost' }, websocket: %q };`, ws),
		lib:    lib,
	}
	h := newHarness(t, d)
	h.open("/_recorder")
	startErr := make(chan error, 1)
	go func() { startErr <- h.eval(`window.recorder.start(` + startOpts("") + `)`) }()
	h.waitFor(func(e event) bool { return e.Type == "state" && e.State == "joining" }, 15*time.Second)
	if err := h.eval(`window.recorder.stop()`); err != nil {
		t.Fatal("stop: ", err)
	}
	select {
	case err := <-startErr:
		if err == nil || !strings.Contains(err.Error(), "other") {
			t.Errorf("start after stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("start did not return after stop")
	}
	h.waitFor(func(e event) bool { return e.Type == "stopped" }, 5*time.Second)
	t.Logf("events:\n%s", h.describe())
}
