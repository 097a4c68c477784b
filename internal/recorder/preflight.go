package recorder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
	"github.com/jitsi-recorder/jitsi-recorder/internal/config"
	"github.com/jitsi-recorder/jitsi-recorder/internal/meeting"
)

// preflightTimeout bounds each check that waits on something outside the
// process (FFmpeg -version, the DNS lookup, the TCP connect), so a bad
// setting never hangs the recorder before it has even started Chromium.
const preflightTimeout = 5 * time.Second

// preflight checks, before Chromium starts and the meeting is joined,
// whatever can fail without joining: the programs the recording needs, the
// JWT's expiry, the recordings directory, and that the deployment's host
// resolves and accepts connections. Each failure is an *Error naming the
// problem and the fix; secrets never appear in it.
func preflight(ctx context.Context, cfg config.Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	checks := []func() error{
		func() error { return checkChromium(cfg.ChromiumPath) },
		func() error { return checkFFmpeg(ctx, cfg.FFmpegPath, preflightTimeout, log) },
		func() error { return checkJWT(cfg.Meeting, time.Now()) },
		func() error { return checkRecordingsDir(cfg.RecordingsDir) },
		func() error {
			return checkReachable(ctx, cfg.Meeting.Origin, net.DefaultResolver, preflightTimeout)
		},
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// checkChromium finds the Chromium executable Start would use.
func checkChromium(explicit string) error {
	const hint = "install Debian's chromium package or set CHROMIUM_PATH"
	if _, err := browser.FindBinary(explicit); err == nil {
		return nil
	}
	if explicit != "" {
		_, err := exec.LookPath(explicit)
		return &Error{Kind: KindBrowser, What: "cannot run chromium " + explicit, Err: rootCause(err), Hint: hint}
	}
	return &Error{Kind: KindBrowser, What: "chromium not found",
		Err: errors.New("looked for /usr/lib/chromium/chromium, and chromium and chromium-browser on PATH"), Hint: hint}
}

// checkFFmpeg finds FFmpeg and runs "ffmpeg -version": a binary that is
// there but cannot run (missing libraries, wrong architecture) fails here
// rather than after the meeting was joined. One that does not answer
// within timeout is only warned about: on a machine starved of CPU a
// working FFmpeg can be that slow, and refusing to record would be worse.
func checkFFmpeg(ctx context.Context, bin string, timeout time.Duration, log *slog.Logger) error {
	const hint = "install Debian's ffmpeg package or set FFMPEG_PATH"
	if bin == "" {
		bin = "ffmpeg"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		what := "cannot run ffmpeg " + bin
		if errors.Is(err, exec.ErrNotFound) {
			what = "ffmpeg not found"
			err = fmt.Errorf("no %q on PATH", bin)
		}
		return &Error{Kind: KindOutput, What: what, Err: rootCause(err), Hint: hint}
	}
	vctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(vctx, path, "-hide_banner", "-version")
	// Its own process group, killed whole on timeout: a wrapper script's
	// children must not outlive the check or hold its pipes open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err == nil && strings.HasPrefix(string(out), "ffmpeg version") {
		return nil
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case vctx.Err() != nil:
		log.Warn("ffmpeg -version did not answer in time; going on (the machine may be overloaded)", "ffmpeg", path, "timeout", timeout.String())
		return nil
	case err == nil:
		err = fmt.Errorf("%s -version does not print an FFmpeg version", path)
	default:
		err = fmt.Errorf("%s -version: %v%s", path, rootCause(err), firstLine(out))
	}
	return &Error{Kind: KindOutput, What: "ffmpeg does not work", Err: err, Hint: hint}
}

// checkJWT refuses a JWT that has expired: the deployment would refuse it
// after Chromium started and the page connected, with a vaguer message.
// The token itself never appears in the error.
func checkJWT(m meeting.Meeting, now time.Time) error {
	exp, ok := m.JWTExpiry()
	if !ok || exp.After(now) {
		return nil
	}
	return &Error{Kind: KindJoin, What: "the JWT in ROOM_URL has expired",
		Err:  fmt.Errorf("it expired at %s, %s ago", exp.Format(time.RFC3339), now.Sub(exp).Round(time.Second)),
		Hint: "get a fresh token and pass it as ?jwt="}
}

// checkRecordingsDir creates the recordings directory if needed and proves
// it writable by creating and removing a probe file: permission bits alone
// say nothing about a read-only mount, and root ignores them.
func checkRecordingsDir(dir string) error {
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &Error{Kind: KindOutput, What: "cannot create recordings directory " + dir, Err: rootCause(err),
			Hint: "set RECORDINGS_DIR to a directory the recorder may create or write"}
	}
	f, err := os.CreateTemp(dir, ".jitsi-recorder-probe-*")
	if err != nil {
		return &Error{Kind: KindOutput, What: "recordings directory " + dir + " is not writable", Err: rootCause(err),
			Hint: fmt.Sprintf("make it writable for uid %d or set RECORDINGS_DIR", os.Geteuid())}
	}
	f.Close()
	return os.Remove(f.Name())
}

// checkReachable resolves the deployment's host and opens (and closes) a
// TCP connection to its port, each within timeout. When a proxy is
// configured for the origin the check is skipped: Chromium goes through the
// proxy, and the host may well not resolve here.
func checkReachable(ctx context.Context, origin string, resolver *net.Resolver, timeout time.Duration) error {
	u, err := url.Parse(origin)
	if err != nil {
		return &Error{Kind: KindUsage, What: "ROOM_URL", Err: err, Hint: "check ROOM_URL"}
	}
	if proxyConfigured(u.Scheme) {
		return nil
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}

	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, err := resolver.LookupIPAddr(rctx, host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no addresses")
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		why, hint := error(err), "check ROOM_URL and this machine's DNS settings"
		var dnsErr *net.DNSError
		switch {
		case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
			why, hint = errors.New("no such host"), "check ROOM_URL"
		case rctx.Err() != nil || (errors.As(err, &dnsErr) && dnsErr.IsTimeout):
			why = fmt.Errorf("no answer from DNS within %s", timeout)
		case errors.As(err, &dnsErr):
			why = errors.New("DNS lookup failed: " + dnsErr.Err)
		}
		return &Error{Kind: KindJoin, What: "cannot resolve host " + host, Err: why, Hint: hint}
	}

	hostPort := net.JoinHostPort(host, port)
	dctx, cancelDial := context.WithTimeout(ctx, timeout)
	defer cancelDial()
	var d net.Dialer
	var dialErr error
	for _, a := range addrs {
		conn, err := d.DialContext(dctx, "tcp", net.JoinHostPort(a.IP.String(), port))
		if err == nil {
			conn.Close()
			return nil
		}
		if dialErr == nil || !errors.Is(err, syscall.ECONNREFUSED) {
			dialErr = err // keep the most telling error: a refusal only if all refused
		}
		if dctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	const hint = "check the deployment is reachable from here (firewall, proxy settings)"
	switch {
	case errors.Is(dialErr, syscall.ECONNREFUSED):
		return &Error{Kind: KindJoin, What: "connection refused by " + hostPort, Hint: "is the deployment up?"}
	case dctx.Err() != nil || isTimeout(dialErr):
		return &Error{Kind: KindJoin, What: "no answer from " + hostPort, Err: fmt.Errorf("nothing within %s", timeout), Hint: hint}
	}
	return &Error{Kind: KindJoin, What: "cannot connect to " + hostPort, Err: rootCause(dialErr), Hint: hint}
}

// proxyConfigured reports whether the environment names a proxy for
// scheme, as Chromium on Linux reads it. NO_PROXY is not consulted: on
// doubt the check is skipped rather than a reachable deployment refused.
func proxyConfigured(scheme string) bool {
	for _, v := range []string{scheme + "_proxy", strings.ToUpper(scheme) + "_PROXY", "all_proxy", "ALL_PROXY"} {
		if os.Getenv(v) != "" {
			return true
		}
	}
	return false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// rootCause strips the wrapping of path and exec errors down to the
// reason ("permission denied", "no such file or directory"), so the one
// line does not repeat the path.
func rootCause(err error) error {
	if err == nil {
		return nil
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

// firstLine is ": " and the first non-empty line of out, or "".
func firstLine(out []byte) string {
	for line := range strings.SplitSeq(string(out), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			if len(line) > 200 {
				line = line[:200] + "..."
			}
			return ": " + line
		}
	}
	return ""
}
