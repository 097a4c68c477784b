package e2e

import (
	"bytes"
	"encoding/base64"
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

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/focus"
)

// badRun is one jitsi-recorder run that must fail.
type badRun struct {
	code   int
	line   string // the one line that is not a JSON log record
	stderr string
	took   time.Duration
}

// badCase is bad input and what the recorder must say about it.
type badCase struct {
	name  string
	env   []string
	code  int
	parts []string      // the line contains each (the problem and the fix)
	bound time.Duration // it must exit within this
	// secrets must not appear anywhere in stderr (logs included).
	secrets []string
	// wrap, if set, runs the recorder through another program (argv prefix).
	wrap []string
}

// runBad runs the real binary with env (plus a leftover tag, a fresh
// RECORDINGS_DIR and JSON logs at debug level, so the page's console is in
// the logs too) and checks the contract for bad input: the exit code, one
// line starting "jitsi-recorder:" naming the problem and the fix, an exit
// within the bound, no recording left behind and no process left over.
func runBad(t *testing.T, c badCase) badRun {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "recordings")
	tag := fmt.Sprintf("JR_E2E_TAG=%s-%d", t.Name(), time.Now().UnixNano())
	argv := append(append([]string{}, c.wrap...), recorderBin)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), tag, "RECORDINGS_DIR="+dir, "LOG_FORMAT=json", "LOG_LEVEL=debug", "JOIN_TIMEOUT=30s")
	cmd.Env = append(cmd.Env, c.env...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(c.bound):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running after %s (a hang): output:\n%s", c.bound, stderr.String())
	}
	r := badRun{code: cmd.ProcessState.ExitCode(), stderr: stderr.String(), took: time.Since(start)}
	t.Cleanup(func() { assertNoLeftovers(t, tag) })

	var plain []string
	for _, l := range strings.Split(strings.TrimRight(r.stderr, "\n"), "\n") {
		if l != "" && !strings.HasPrefix(l, "{") {
			plain = append(plain, l)
		}
	}
	if len(plain) == 1 {
		r.line = plain[0]
	}
	t.Logf("exit %d after %s: %s", r.code, r.took.Round(10*time.Millisecond), r.line)
	if r.code != c.code {
		t.Errorf("exit code %d, want %d", r.code, c.code)
	}
	if len(plain) != 1 || !strings.HasPrefix(r.line, "jitsi-recorder: ") || !strings.HasSuffix(r.line, ")") {
		t.Errorf("want exactly one line \"jitsi-recorder: <problem> (<fix>)\" beside the JSON logs, got %q", plain)
	}
	if !strings.HasSuffix(strings.TrimRight(r.stderr, "\n"), r.line) {
		t.Errorf("the line is not the last thing printed")
	}
	for _, p := range c.parts {
		if !strings.Contains(r.line, p) {
			t.Errorf("line %q does not say %q", r.line, p)
		}
	}
	for _, s := range c.secrets {
		if strings.Contains(r.stderr, s) {
			t.Errorf("secret %q printed (line or logs)", s)
		}
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("left in RECORDINGS_DIR: %v", names)
	}
	if t.Failed() {
		t.Logf("output:\n%s", r.stderr)
	}
	return r
}

// closedPort is a loopback address nothing listens on: connecting is refused.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// onlyLoopback reports whether this process is in a network namespace
// whose only interface is lo, where a DNS lookup cannot leave the machine.
func onlyLoopback() bool {
	ifs, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			return false
		}
	}
	return true
}

func expiredJWT() string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." +
		enc([]byte(fmt.Sprintf(`{"aud":"jitsi","room":"*","exp":%d}`, time.Now().Add(-2*time.Hour).Unix()))) +
		".ZXhwaXJlZC1zaWduYXR1cmU"
}

// TestBadInputIsRefusedBeforeJoining: everything that can be checked
// before Chromium starts fails fast, with its own exit code and one line.
func TestBadInputIsRefusedBeforeJoining(t *testing.T) {
	refused := closedPort(t)
	jwt := expiredJWT()
	notWritable := t.TempDir()
	var roWrap []string
	if os.Geteuid() == 0 {
		// Root ignores permission bits: a read-only bind mount in a private
		// mount namespace makes the directory unwritable for this run only.
		roWrap = []string{"unshare", "--mount", "--propagation", "private", "sh", "-c",
			`mount --bind -o ro "$1" "$1" && shift && exec "$@"`, "sh", notWritable}
	} else if err := os.Chmod(notWritable, 0o555); err != nil {
		t.Fatal(err)
	}
	ok := "ROOM_URL=http://" + refused + "/room" // every case but the tested one would pass
	fast := 20 * time.Second
	cases := []badCase{
		{name: "room-url-no-scheme", env: []string{"ROOM_URL=meet.example.org/room"}, code: 2,
			parts: []string{`jitsi-recorder: ROOM_URL: "meet.example.org/room" has no scheme (want https://host/room)`, "--help"}},
		{name: "room-url-no-room", env: []string{"ROOM_URL=https://meet.example.org/"}, code: 2,
			parts: []string{"ROOM_URL", "names no room"}},
		{name: "room-url-bad-scheme", env: []string{"ROOM_URL=ftp://meet.example.org/room"}, code: 2,
			parts: []string{"ROOM_URL", `scheme "ftp" not supported`}},
		{name: "room-url-missing", env: []string{"ROOM_URL="}, code: 2,
			parts: []string{"ROOM_URL", "required"}},
		{name: "duration-unparsable", env: []string{ok, "RECORD_DURATION=soon"}, code: 2,
			parts: []string{"RECORD_DURATION", `"soon" is not a positive duration`, "1h30m"}},
		{name: "duration-negative", env: []string{ok, "RECORD_DURATION=-5"}, code: 2,
			parts: []string{"RECORD_DURATION", "not a positive duration"}},
		{name: "output-file-escapes", env: []string{ok, "OUTPUT_FILE=../x.mp4"}, code: 2,
			parts: []string{"OUTPUT_FILE", "must be a plain file name inside the recordings directory"}},
		{name: "output-file-absolute", env: []string{ok, "OUTPUT_FILE=/tmp/x.mp4"}, code: 2,
			parts: []string{"OUTPUT_FILE", "must be a plain file name"}},
		{name: "chromium-missing", env: []string{ok, "CHROMIUM_PATH=/nonexistent/chromium"}, code: 5,
			parts: []string{"cannot run chromium /nonexistent/chromium: no such file or directory", "install Debian's chromium package or set CHROMIUM_PATH"}},
		{name: "ffmpeg-missing", env: []string{ok, "FFMPEG_PATH=/nonexistent/ffmpeg"}, code: 6,
			parts: []string{"cannot run ffmpeg /nonexistent/ffmpeg: no such file or directory", "set FFMPEG_PATH"}},
		{name: "ffmpeg-not-on-path", env: []string{ok, "PATH=/nonexistent"}, code: 6,
			parts: []string{`ffmpeg not found: no "ffmpeg" on PATH`, "install Debian's ffmpeg package"}},
		{name: "recordings-dir-not-writable", env: []string{ok, "RECORDINGS_DIR=" + notWritable}, code: 6, wrap: roWrap,
			parts: []string{"recordings directory " + notWritable + " is not writable", "RECORDINGS_DIR"}},
		{name: "jwt-expired", env: []string{"ROOM_URL=http://" + refused + "/room?jwt=" + jwt}, code: 3,
			parts: []string{"the JWT in ROOM_URL has expired", "ago", "get a fresh token"}, secrets: strings.Split(jwt, ".")},
		{name: "connection-refused", env: []string{ok}, code: 3,
			parts: []string{"jitsi-recorder: connection refused by " + refused + " (is the deployment up?)"}},
	}
	if onlyLoopback() {
		cases = append(cases, badCase{name: "unknown-host", env: []string{"ROOM_URL=https://no-such-deployment.invalid/room"}, code: 3,
			parts: []string{"cannot resolve host no-such-deployment.invalid", "check ROOM_URL"}})
	} else {
		t.Log("unknown-host case not run: outside a private network namespace the lookup would leave the machine")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.bound == 0 {
				c.bound = fast
			}
			runBad(t, c)
		})
	}
}

// TestNonJitsiSiteIsRefused: a web site that serves no config.js and no
// lib-jitsi-meet (404s, an HTML page) is named as not being Jitsi Meet.
func TestNonJitsiSiteIsRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || r.URL.Path == "/room" {
			fmt.Fprint(w, "<!doctype html><title>Just a blog</title><p>Nothing to see here.</p>")
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	runBad(t, badCase{env: []string{"ROOM_URL=" + srv.URL + "/room"}, code: 3, bound: 60 * time.Second,
		parts: []string{"did not serve Jitsi Meet's config.js and lib-jitsi-meet", "check ROOM_URL points at a Jitsi Meet deployment"}})
}

// TestLockedAndMembersOnlyRoomsAreRefused joins lab rooms that Prosody's
// own MUC locks (the focus configures them as Jicofo would): a password
// room without and with a wrong password, and a members-only room. The
// password and the JWT never appear in the output, the page's console
// (logged at debug level) included.
func TestLockedAndMembersOnlyRoomsAreRefused(t *testing.T) {
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	l, err := lab.Start(t.Context(), lab.Config{Room: "open", Logger: log, Rooms: map[string]focus.RoomOptions{
		"locked":  {Password: "hunter2-right"},
		"members": {MembersOnly: true},
	}})
	if err != nil {
		t.Fatalf("start lab: %v", err)
	}
	defer l.Close()
	const jwt = "opaque-jwt-0123456789"
	const wrong = "wrong-pw-9876"
	bound := 50 * time.Second
	cases := []badCase{
		{name: "password-required", env: []string{"ROOM_URL=" + l.MeetingURL("locked") + "?jwt=" + jwt}, code: 4, bound: bound,
			parts: []string{"join locked", "locked with a password", "(set ROOM_PASSWORD)"}, secrets: []string{jwt}},
		{name: "password-wrong", env: []string{"ROOM_URL=" + l.MeetingURL("locked") + "?jwt=" + jwt, "ROOM_PASSWORD=" + wrong}, code: 4, bound: bound,
			parts: []string{"join locked", "password was refused", "(check ROOM_PASSWORD)"}, secrets: []string{jwt, wrong, "hunter2-right"}},
		{name: "members-only", env: []string{"ROOM_URL=" + l.MeetingURL("members"), "ROOM_PASSWORD=" + wrong}, code: 4, bound: bound,
			parts: []string{"join members", "members-only", "admit the recorder"}, secrets: []string{wrong}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runBad(t, c)
			// The secret check must have seen the page's console. Its error
			// event is logged only when it arrives before start() fails, a race.
			n := strings.Count(r.stderr, `"msg":"page console"`)
			if n == 0 {
				t.Error("no page console in the debug logs: the secret check saw nothing of the page")
			}
			t.Logf("%d page console and %d page error records checked for secrets", n, strings.Count(r.stderr, `"msg":"page error"`))
		})
	}
}
