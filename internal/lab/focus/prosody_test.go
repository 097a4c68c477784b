package focus

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// testProsody is a real Prosody on loopback ports with the minimal Jitsi
// configuration (a private helper: the lab's prosody package is separate).
type testProsody struct {
	domain        string
	secret        string
	httpPort      int
	componentPort int
	logPath       string
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startProsody(t *testing.T) *testProsody {
	t.Helper()
	const bin = "/usr/bin/prosody"
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("prosody not installed: %v", err)
	}
	dir := t.TempDir()
	p := &testProsody{
		domain: "localhost", secret: "focus-test-secret",
		httpPort: freePort(t), componentPort: freePort(t),
		logPath: filepath.Join(dir, "prosody.log"),
	}
	c2sPort := freePort(t)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`
run_as_root = true
daemonize = false
pidfile = %[1]q
data_path = %[2]q
log = { debug = %[3]q }
modules_enabled = { "saslauth"; "roster"; "disco"; "ping"; "bosh"; "websocket" }
modules_disabled = { "s2s" }
c2s_require_encryption = false
consider_websocket_secure = true
consider_bosh_secure = true
c2s_ports = { %[4]d }
c2s_interfaces = { "127.0.0.1" }
http_ports = { %[5]d }
http_interfaces = { "127.0.0.1" }
https_ports = {}
component_ports = { %[6]d }
component_interfaces = { "127.0.0.1" }
VirtualHost "localhost"
    authentication = "anonymous"
Component "conference.localhost" "muc"
    muc_room_locking = false
    muc_room_default_public_jids = true
    admins = { "focus@focus.localhost" }
Component "focus.localhost"
    component_secret = %[7]q
`, filepath.Join(dir, "prosody.pid"), filepath.Join(dir, "data"), p.logPath,
		c2sPort, p.httpPort, p.componentPort, p.secret)
	cfgPath := filepath.Join(dir, "prosody.cfg.lua")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config", cfgPath, "-F")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	stderr, err := os.Create(filepath.Join(dir, "prosody.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start prosody: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(6 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		stderr.Close()
		if t.Failed() {
			logTail(t, p.logPath)
			logTail(t, stderr.Name())
		}
	})

	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p.httpPort), time.Second)
		if err == nil {
			conn.Close()
			return p
		}
		select {
		case <-done:
			logTail(t, stderr.Name())
			t.Fatalf("prosody exited early")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prosody HTTP port not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func logTail(t *testing.T, path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if len(raw) > 6000 {
		raw = raw[len(raw)-6000:]
	}
	t.Logf("%s:\n%s", filepath.Base(path), raw)
}
