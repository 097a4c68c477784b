package recorder

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
	"github.com/jitsi-recorder/jitsi-recorder/internal/config"
	"github.com/jitsi-recorder/jitsi-recorder/internal/meeting"
)

// wantPreflightError checks err is an *Error with the exit code and a one
// line Describe that contains every part, and returns that line.
func wantPreflightError(t *testing.T, err error, code int, parts ...string) string {
	t.Helper()
	var re *Error
	if !errors.As(err, &re) {
		t.Fatalf("got %v (%T), want *Error", err, err)
	}
	line := Describe(err)
	t.Logf("%s", line)
	if got := ExitCode(err); got != code {
		t.Errorf("exit code %d, want %d", got, code)
	}
	if strings.Contains(line, "\n") || !strings.HasPrefix(line, "jitsi-recorder: ") || !strings.HasSuffix(line, ")") {
		t.Errorf("not one line with a hint: %q", line)
	}
	for _, p := range parts {
		if !strings.Contains(line, p) {
			t.Errorf("%q does not contain %q", line, p)
		}
	}
	return line
}

func TestPreflightRefusesMissingChromium(t *testing.T) {
	wantPreflightError(t, checkChromium("/nonexistent/chromium"), 5,
		"cannot run chromium /nonexistent/chromium: no such file or directory", "CHROMIUM_PATH")

	notExecutable := filepath.Join(t.TempDir(), "chromium")
	if err := os.WriteFile(notExecutable, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantPreflightError(t, checkChromium(notExecutable), 5, notExecutable+": permission denied")
}

func TestPreflightAcceptsInstalledChromium(t *testing.T) {
	if _, err := browser.FindBinary(""); err != nil {
		t.Skip("chromium not installed: ", err)
	}
	if err := checkChromium(""); err != nil {
		t.Fatal(err)
	}
}

func writeScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ffmpeg")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPreflightRefusesMissingOrBrokenFFmpeg(t *testing.T) {
	ctx := t.Context()
	// These exit at once: a budget that a loaded machine's /bin/sh cannot
	// miss, so a refusal is never read as "slow".
	const budget = 10 * time.Second
	wantPreflightError(t, checkFFmpeg(ctx, "/nonexistent/ffmpeg", budget, slog.Default()), 6,
		"cannot run ffmpeg /nonexistent/ffmpeg: no such file or directory", "FFMPEG_PATH")
	wantPreflightError(t, checkFFmpeg(ctx, "no-such-ffmpeg-here", budget, slog.Default()), 6,
		`ffmpeg not found: no "no-such-ffmpeg-here" on PATH`, "FFMPEG_PATH")
	broken := writeScript(t, `echo "error while loading shared libraries: libavdevice.so.59" >&2; exit 127`)
	wantPreflightError(t, checkFFmpeg(ctx, broken, budget, slog.Default()), 6,
		"ffmpeg does not work", "exit status 127", "libavdevice.so.59")
	impostor := writeScript(t, `echo "hello"`)
	wantPreflightError(t, checkFFmpeg(ctx, impostor, budget, slog.Default()), 6, "does not print an FFmpeg version")
}

// TestPreflightGoesOnWhenFFmpegIsSlow: an FFmpeg that does not answer
// -version in time is bounded (no hang) but only warned about: on a
// starved machine a working FFmpeg can be that slow.
func TestPreflightGoesOnWhenFFmpegIsSlow(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	// A wrapper whose child must die with it.
	hang := writeScript(t, `sleep 30 & echo $! > `+pidFile+`; wait`)
	var logs bytes.Buffer
	start := time.Now()
	// 2 s: time for the wrapper to start its child and write its pid
	// even on a loaded machine; "sleep 30" still cannot answer in time.
	err := checkFFmpeg(t.Context(), hang, 2*time.Second, slog.New(slog.NewTextHandler(&logs, nil)))
	took := time.Since(start)
	if err != nil {
		t.Fatalf("slow ffmpeg refused: %v", err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "did not answer in time") {
		t.Errorf("no warning logged: %q", logs.String())
	}
	if took > 6*time.Second { // 2 s + WaitDelay 1 s, generous for a busy machine
		t.Fatalf("took %s", took)
	}
	// The wrapper's "sleep 30" went with it: its process group was killed.
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	stat := "/proc/" + strings.TrimSpace(string(pid)) + "/stat"
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st, err := os.ReadFile(stat)
		if err != nil || strings.Contains(string(st), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slow ffmpeg's child %s still runs", pid)
		}
	}
}

func TestPreflightAcceptsInstalledFFmpeg(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	if err := checkFFmpeg(t.Context(), "ffmpeg", 10*time.Second, slog.Default()); err != nil {
		t.Fatal(err)
	}
}

func jwtWithExp(exp int64) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." +
		enc([]byte(fmt.Sprintf(`{"aud":"jitsi","room":"*","exp":%d}`, exp))) + ".c2lnbmF0dXJlLXNlY3JldA"
}

func TestPreflightRefusesExpiredJWTWithoutShowingIt(t *testing.T) {
	now := time.Date(2026, 11, 25, 5, 0, 0, 0, time.UTC)
	token := jwtWithExp(now.Add(-90 * time.Minute).Unix())
	m, err := meeting.Parse("https://meet.example.org/r?jwt=" + token)
	if err != nil {
		t.Fatal(err)
	}
	line := wantPreflightError(t, checkJWT(m, now), 3,
		"the JWT in ROOM_URL has expired: it expired at 2026-11-25T03:30:00Z, 1h30m0s ago", "fresh token")
	for _, part := range strings.Split(token, ".") {
		if strings.Contains(line, part) {
			t.Errorf("the message shows part of the token: %q", line)
		}
	}

	m.JWT = jwtWithExp(now.Add(time.Hour).Unix())
	if err := checkJWT(m, now); err != nil {
		t.Errorf("valid token refused: %v", err)
	}
	m.JWT = "opaque-token" // not a JWT: only the deployment can judge it
	if err := checkJWT(m, now); err != nil {
		t.Errorf("opaque token refused: %v", err)
	}
}

func TestPreflightCreatesRecordingsDirAndLeavesNoProbe(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := checkRecordingsDir(dir); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 0 {
		t.Fatalf("dir %v after the check: %v", entries, err)
	}
}

func TestPreflightRefusesRecordingsDirUnderAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	wantPreflightError(t, checkRecordingsDir(filepath.Join(file, "rec")), 6,
		"cannot create recordings directory", "not a directory", "RECORDINGS_DIR")
}

// TestPreflightRefusesReadOnlyRecordingsDir: as root permission bits do
// not stop writes, so the test re-runs itself in a private mount namespace
// where the directory is a read-only bind mount; as a normal user a 0555
// directory does.
func TestPreflightRefusesReadOnlyRecordingsDir(t *testing.T) {
	const envDir = "JR_TEST_READONLY_DIR"
	if dir := os.Getenv(envDir); dir != "" { // the re-run inside the namespace
		wantPreflightError(t, checkRecordingsDir(dir), 6,
			"recordings directory "+dir+" is not writable: read-only file system", "RECORDINGS_DIR")
		return
	}
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		wantPreflightError(t, checkRecordingsDir(dir), 6, "is not writable: permission denied")
		return
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare not installed")
	}
	cmd := exec.CommandContext(t.Context(), "unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind -o ro "$1" "$1" && exec "$2" -test.run='^TestPreflightRefusesReadOnlyRecordingsDir$' -test.v -test.count=1`,
		"sh", dir, os.Args[0])
	cmd.Env = append(os.Environ(), envDir+"="+dir)
	out, err := cmd.CombinedOutput()
	t.Logf("inside the mount namespace:\n%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: TestPreflightRefusesReadOnlyRecordingsDir") {
		t.Fatalf("re-run in a private mount namespace: %v", err)
	}
	// Outside the namespace the directory stayed writable: the mount was private.
	if err := checkRecordingsDir(dir); err != nil {
		t.Fatalf("outside the namespace: %v", err)
	}
}

// fakeDNS answers every query on a loopback UDP port with NXDOMAIN, or
// never (silent), so resolution is tested without sending anything off
// the machine.
func fakeDNS(t *testing.T, silent bool) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if silent || n < 12 {
				continue
			}
			// Header + the question; flags: response, recursion desired and
			// available, rcode 3 (name error); no answer or additional records.
			end := 12
			for end < n && buf[end] != 0 {
				end += int(buf[end]) + 1
			}
			end += 1 + 4 // root label, QTYPE, QCLASS
			if end > n {
				continue
			}
			resp := append([]byte(nil), buf[:end]...)
			resp[2], resp[3] = 0x81, 0x83
			resp[4], resp[5], resp[6], resp[7], resp[8], resp[9], resp[10], resp[11] = 0, 1, 0, 0, 0, 0, 0, 0
			pc.WriteTo(resp, from)
		}
	}()
	addr := pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func TestPreflightRefusesUnknownHost(t *testing.T) {
	err := checkReachable(t.Context(), "https://no-such-deployment.invalid", fakeDNS(t, false), 5*time.Second)
	wantPreflightError(t, err, 3, "jitsi-recorder: cannot resolve host no-such-deployment.invalid: no such host (check ROOM_URL)")
}

func TestPreflightBoundsASilentDNS(t *testing.T) {
	start := time.Now()
	err := checkReachable(t.Context(), "https://silent-dns.invalid", fakeDNS(t, true), 500*time.Millisecond)
	took := time.Since(start)
	wantPreflightError(t, err, 3, "cannot resolve host silent-dns.invalid: no answer from DNS within 500ms", "DNS settings")
	if took > 5*time.Second {
		t.Fatalf("took %s", took)
	}
}

func TestPreflightRefusesClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: the kernel answers RST
	err = checkReachable(t.Context(), "http://"+addr, net.DefaultResolver, 5*time.Second)
	wantPreflightError(t, err, 3, "jitsi-recorder: connection refused by "+addr+" (is the deployment up?)")
}

func TestPreflightAcceptsListeningDeployment(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if err := checkReachable(t.Context(), srv.URL, net.DefaultResolver, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestPreflightSkipsReachabilityBehindAProxy: Chromium reaches the
// deployment through the proxy, so a host that does not resolve here is
// no reason to refuse.
func TestPreflightSkipsReachabilityBehindAProxy(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	t.Setenv("NO_PROXY", "")
	if err := checkReachable(t.Context(), "https://behind-proxy.invalid", fakeDNS(t, false), time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestPreflightPassesForAWorkingSetup runs the whole preflight as Run
// does, against a loopback server, with the installed programs.
func TestPreflightPassesForAWorkingSetup(t *testing.T) {
	if _, err := browser.FindBinary(""); err != nil {
		t.Skip("chromium not installed: ", err)
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	m, err := meeting.Parse(srv.URL + "/room?jwt=" + jwtWithExp(time.Now().Add(time.Hour).Unix()))
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{Meeting: m, RecordingsDir: filepath.Join(t.TempDir(), "rec"), FFmpegPath: "ffmpeg"}
	if err := preflight(t.Context(), cfg); err != nil {
		t.Fatal(Describe(err))
	}
}
