package prosody

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func requireProsody(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("prosody"); err != nil {
		t.Skip("prosody not installed (run scripts/setup.sh)")
	}
}

func startTestServer(t *testing.T) *Server {
	t.Helper()
	requireProsody(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Start(ctx, Config{})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

// openXMPPOverWebSocket opens an RFC 7395 stream and returns Prosody's reply.
func openXMPPOverWebSocket(t *testing.T, url, domain string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"xmpp"}})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	defer c.CloseNow()
	if resp.Header.Get("Sec-WebSocket-Protocol") != "xmpp" {
		t.Errorf("subprotocol = %q, want xmpp", resp.Header.Get("Sec-WebSocket-Protocol"))
	}
	open := fmt.Sprintf(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="%s" version="1.0"/>`, domain)
	if err := c.Write(ctx, websocket.MessageText, []byte(open)); err != nil {
		t.Fatalf("write open: %v", err)
	}
	var got strings.Builder
	for !strings.Contains(got.String(), "stream:features") {
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read after open (got %q): %v", got.String(), err)
		}
		got.Write(msg)
	}
	return got.String()
}

func TestServesXMPPOverWebSocketAndAcceptsComponent(t *testing.T) {
	s := startTestServer(t)

	reply := openXMPPOverWebSocket(t, s.WebSocketURL(), s.Domain())
	if !strings.Contains(reply, "<open") || !strings.Contains(reply, "ANONYMOUS") {
		t.Errorf("websocket stream reply lacks <open> or ANONYMOUS mechanism: %q", reply)
	}

	// XEP-0114: the component port answers a stream header with a stream id.
	c, err := net.DialTimeout("tcp", s.ComponentAddr(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial component port: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, `<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' to='focus.%s'>`, s.Domain())
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("read component stream reply: %v", err)
	}
	if got := string(buf[:n]); !strings.Contains(got, "id=") || !strings.Contains(got, "stream:stream") {
		t.Errorf("component stream reply = %q", got)
	}

	// BOSH answers too (lib-jitsi-meet falls back to it).
	resp, err := http.Get(s.BOSHURL())
	if err != nil {
		t.Fatalf("GET %s: %v", s.BOSHURL(), err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: status %d", s.BOSHURL(), resp.StatusCode)
	}
}

func TestListensOnLoopbackOnly(t *testing.T) {
	s := startTestServer(t)
	pid := s.cmd.Process.Pid
	for _, l := range listeningSockets(t, pid) {
		if !strings.HasPrefix(l, "127.0.0.1:") {
			t.Errorf("prosody listens on %s, want loopback only", l)
		}
	}
}

func TestStopLeavesNoProcessAndRemovesDir(t *testing.T) {
	s := startTestServer(t)
	pid, dir := s.cmd.Process.Pid, s.cfg.Dir
	if err := s.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	if err := syscall.Kill(-pid, 0); err == nil {
		t.Errorf("process group %d still exists after Stop", pid)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("dir %s still exists after Stop (err %v)", dir, err)
	}
}

func TestRestartKeepsPorts(t *testing.T) {
	s := startTestServer(t)
	ws, comp, secret, oldPID := s.WebSocketURL(), s.ComponentAddr(), s.ComponentSecret(), s.cmd.Process.Pid
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Restart(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if s.cmd.Process.Pid == oldPID {
		t.Fatalf("restart kept the same process")
	}
	if syscall.Kill(oldPID, 0) == nil {
		t.Errorf("old prosody %d still alive", oldPID)
	}
	if s.WebSocketURL() != ws || s.ComponentAddr() != comp || s.ComponentSecret() != secret {
		t.Errorf("restart changed addresses or secret")
	}
	openXMPPOverWebSocket(t, s.WebSocketURL(), s.Domain())
}

func TestStartFailureReportsLogTail(t *testing.T) {
	requireProsody(t)
	// A domain with a quote would be escaped; use a broken binary instead:
	// a script that prints an error and exits, like a bad Prosody install.
	dir := t.TempDir()
	fake := filepath.Join(dir, "prosody")
	script := "#!/bin/sh\necho 'Error: lab test failure marker' >&2\nexit 1\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Config{Binary: fake})
	if err == nil || !strings.Contains(err.Error(), "lab test failure marker") {
		t.Fatalf("err = %v, want it to carry the log tail", err)
	}
}

func TestConfigKeepsEverythingOnLoopback(t *testing.T) {
	cfg := renderConfig(configParams{Domain: "meet.example", Dir: "/d", LogFile: "/d/l", PIDFile: "/d/p",
		HTTPPort: 1, ComponentPort: 2, C2SPort: 3, ComponentSecret: `a"b`})
	for _, want := range []string{
		`modules_disabled = { "s2s"`,
		`s2s_ports = {}`,
		`https_ports = {}`,
		`VirtualHost "meet.example"`,
		`Component "conference.meet.example" "muc"`,
		`admins = { "focus@focus.meet.example" }`,
		`Component "focus.meet.example"`,
		`component_secret = "a\"b"`,
		`muc_room_locking = false`,
		`muc_room_default_public_jids = true`,
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(cfg, "run_as_root") {
		t.Errorf("run_as_root set although not requested")
	}
}

// listeningSockets lists local addresses of TCP sockets in LISTEN state owned
// by pid, read from /proc.
func listeningSockets(t *testing.T, pid int) []string {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("read fds: %v", err)
	}
	for _, fd := range fds {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	var out []string
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" || !inodes[fields[9]] {
				continue
			}
			out = append(out, decodeProcAddr(fields[1]))
		}
		f.Close()
	}
	if len(out) == 0 {
		t.Fatalf("no listening sockets found for pid %d", pid)
	}
	return out
}

// decodeProcAddr turns /proc/net/tcp's "0100007F:1F90" into "127.0.0.1:8080".
func decodeProcAddr(s string) string {
	host, port, _ := strings.Cut(s, ":")
	var p int
	fmt.Sscanf(port, "%X", &p)
	if len(host) == 8 {
		var b [4]byte
		for i := range 4 {
			fmt.Sscanf(host[2*i:2*i+2], "%X", &b[3-i])
		}
		return fmt.Sprintf("%d.%d.%d.%d:%d", b[0], b[1], b[2], b[3], p)
	}
	return "[" + host + "]:" + fmt.Sprint(p)
}
