// Package prosody runs the lab's XMPP server: the Debian Prosody binary with
// a configuration generated per run (anonymous VirtualHost, MUC component,
// the focus's XEP-0114 component), on free loopback ports. It is the one
// place that knows how Prosody is started, what its log says and how it is
// stopped.
package prosody

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	readyTimeout = 15 * time.Second
	stopTimeout  = 5 * time.Second
	logTailLines = 30
)

// Config says how to run Prosody.
type Config struct {
	// Domain is the XMPP domain of the anonymous VirtualHost; default "localhost".
	// The MUC is conference.<Domain>, the focus component focus.<Domain>.
	Domain string
	// Dir holds the config, log, pidfile and data; default a new temp dir,
	// removed on Stop.
	Dir string
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Binary is the prosody executable; default "prosody" on PATH.
	Binary string
}

// Server is a running Prosody.
type Server struct {
	cfg        Config
	log        *slog.Logger
	ownDir     bool
	configFile string
	logFile    string
	params     configParams

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{} // closed when cmd has been waited for
	cancel  context.CancelFunc
	stopped bool // the current process was stopped
	closed  bool // Stop was called: no more restarts
}

// Start writes the configuration, starts Prosody and waits until its HTTP
// and component ports accept connections.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Binary == "" {
		cfg.Binary = "prosody"
	}
	bin, err := exec.LookPath(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("find prosody binary %q (run scripts/setup.sh): %w", cfg.Binary, err)
	}
	cfg.Binary = bin

	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "prosody")}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "jitsi-lab-prosody-")
		if err != nil {
			return nil, fmt.Errorf("create prosody dir: %w", err)
		}
		s.cfg.Dir, s.ownDir = dir, true
	} else if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create prosody dir: %w", err)
	}

	ports, err := freePorts(3)
	if err != nil {
		s.removeDir()
		return nil, fmt.Errorf("pick prosody ports: %w", err)
	}
	secret, err := randomSecret()
	if err != nil {
		s.removeDir()
		return nil, fmt.Errorf("make component secret: %w", err)
	}
	s.configFile = filepath.Join(s.cfg.Dir, "prosody.cfg.lua")
	s.logFile = filepath.Join(s.cfg.Dir, "prosody.log")
	s.params = configParams{
		Domain:          cfg.Domain,
		Dir:             s.cfg.Dir,
		LogFile:         s.logFile,
		PIDFile:         filepath.Join(s.cfg.Dir, "prosody.pid"),
		HTTPPort:        ports[0],
		ComponentPort:   ports[1],
		C2SPort:         ports[2],
		ComponentSecret: secret,
		RunAsRoot:       os.Geteuid() == 0,
	}
	if err := os.WriteFile(s.configFile, []byte(renderConfig(s.params)), 0o600); err != nil {
		s.removeDir()
		return nil, fmt.Errorf("write prosody config: %w", err)
	}
	if err := s.run(ctx); err != nil {
		s.removeDir()
		return nil, err
	}
	return s, nil
}

// run starts the process and waits until it serves.
func (s *Server) run(ctx context.Context) error {
	// The process outlives Start's ctx (it ends with Stop), so it gets its
	// own context; ctx only bounds the wait for readiness. Cancelling the
	// process context kills the whole group.
	procCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cmd := exec.CommandContext(procCtx, s.cfg.Binary, "-F", "--config", s.configFile)
	cmd.Dir = s.cfg.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = stopTimeout
	// Prosody writes startup errors (bad config, missing Lua libs) to stderr
	// before its log is open; keep them in a file LogTail reads too.
	out, err := os.OpenFile(filepath.Join(s.cfg.Dir, "prosody.stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		cancel()
		return fmt.Errorf("open prosody stderr file: %w", err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		cancel()
		return fmt.Errorf("start prosody: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		cancel()
		out.Close()
		s.log.Debug("prosody exited", "pid", cmd.Process.Pid, "err", err)
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited, s.cancel, s.stopped = cmd, exited, cancel, false
	s.mu.Unlock()
	s.log.Info("prosody starting", "pid", cmd.Process.Pid, "domain", s.cfg.Domain,
		"http", s.HTTPAddr(), "component", s.ComponentAddr(), "dir", s.cfg.Dir)

	if err := s.waitReady(ctx, exited); err != nil {
		_ = s.kill()
		return fmt.Errorf("prosody did not become ready: %w\n--- prosody log tail ---\n%s", err, s.LogTail(logTailLines))
	}
	s.log.Info("prosody ready", "websocket", s.WebSocketURL())
	return nil
}

func (s *Server) waitReady(ctx context.Context, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if accepts(s.HTTPAddr()) && accepts(s.ComponentAddr()) {
			return nil
		}
		select {
		case <-exited:
			return errors.New("prosody exited during start")
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s and %s: %w", s.HTTPAddr(), s.ComponentAddr(), ctx.Err())
		case <-tick.C:
		}
	}
}

func accepts(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// WebSocketURL is the XMPP-over-WebSocket endpoint (RFC 7395).
func (s *Server) WebSocketURL() string { return "ws://" + s.HTTPAddr() + "/xmpp-websocket" }

// BOSHURL is the BOSH endpoint (XEP-0206).
func (s *Server) BOSHURL() string { return "http://" + s.HTTPAddr() + "/http-bind" }

// HTTPAddr is host:port of Prosody's HTTP listener (websocket and BOSH).
func (s *Server) HTTPAddr() string { return loopback(s.params.HTTPPort) }

// ComponentAddr is host:port where external components (XEP-0114) connect.
func (s *Server) ComponentAddr() string { return loopback(s.params.ComponentPort) }

// ComponentSecret is the shared secret of the focus.<domain> component.
func (s *Server) ComponentSecret() string { return s.params.ComponentSecret }

// Domain is the XMPP domain of the VirtualHost.
func (s *Server) Domain() string { return s.cfg.Domain }

// MUCDomain is the domain of the conference component.
func (s *Server) MUCDomain() string { return "conference." + s.cfg.Domain }

// FocusDomain is the domain of the focus's external component.
func (s *Server) FocusDomain() string { return "focus." + s.cfg.Domain }

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// LogTail returns the last n lines of Prosody's log and stderr.
func (s *Server) LogTail(n int) string {
	var lines []string
	for _, name := range []string{"prosody.stderr", "prosody.log"} {
		data, err := os.ReadFile(filepath.Join(s.cfg.Dir, name))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
			if l != "" {
				lines = append(lines, l)
			}
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Stop terminates Prosody's process group (SIGTERM, then SIGKILL after a
// grace period) and removes the directory if Start created it. It is
// idempotent.
func (s *Server) Stop() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	err := s.kill()
	s.removeDir()
	return err
}

// Restart stops Prosody and starts it again on the same ports and with the
// same secret; connected clients and components are disconnected.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return errors.New("restart prosody: server was stopped")
	}
	if err := s.kill(); err != nil {
		return fmt.Errorf("restart prosody: %w", err)
	}
	// The old listeners are gone once the process is; wait until the
	// kernel lets us bind again so the new one does not fail on EADDRINUSE.
	if err := waitPortsFree(ctx, s.HTTPAddr(), s.ComponentAddr()); err != nil {
		return fmt.Errorf("restart prosody: %w", err)
	}
	if err := s.run(ctx); err != nil {
		return fmt.Errorf("restart prosody: %w", err)
	}
	return nil
}

func (s *Server) kill() error {
	s.mu.Lock()
	cmd, exited, cancel, stopped := s.cmd, s.exited, s.cancel, s.stopped
	s.stopped = true
	s.mu.Unlock()
	if cmd == nil || stopped {
		return nil
	}
	pgid := cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		s.log.Warn("prosody did not stop on SIGTERM; killing", "pid", pgid)
		cancel()
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			return fmt.Errorf("prosody (pid %d) did not exit after SIGKILL", pgid)
		}
	}
	// Reap anything left in the group (Prosody forks nothing today, but a
	// stray child must not outlive the lab).
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	s.log.Info("prosody stopped", "pid", pgid)
	return nil
}

func (s *Server) removeDir() {
	if s.ownDir {
		if err := os.RemoveAll(s.cfg.Dir); err != nil {
			s.log.Warn("remove prosody dir", "dir", s.cfg.Dir, "err", err)
		}
	}
}

// freePorts asks the kernel for n distinct free loopback TCP ports. The
// listeners are closed before Prosody binds, so there is a small race with
// other processes; on loopback in a test lab that is acceptable.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func waitPortsFree(ctx context.Context, addrs ...string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for _, addr := range addrs {
		for {
			l, err := net.Listen("tcp", addr)
			if err == nil {
				l.Close()
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("port %s still in use: %w", addr, err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

func randomSecret() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
