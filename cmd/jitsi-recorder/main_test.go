package main

import (
	"github.com/jitsi-recorder/jitsi-recorder/internal/procfs"
	"github.com/jitsi-recorder/jitsi-recorder/internal/recorder"

	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "jitsi-recorder")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func runBin(t *testing.T, bin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func TestUsageErrorsAreOneLineWithExitCode2(t *testing.T) {
	bin := build(t)
	out, _, code := runBin(t, bin, nil, "--help")
	if code != 0 || !strings.Contains(out, "ROOM_URL") || !strings.Contains(out, "Exit codes") || !strings.Contains(out, "8  disk full") {
		t.Fatalf("--help: code %d\n%s", code, out)
	}
	for _, env := range [][]string{
		nil,
		{"ROOM_URL=https://meet.example.org/"},
		{"ROOM_URL=https://meet.example.org/r", "OUTPUT_FILE=../escape.mp4"},
		{"ROOM_URL=https://meet.example.org/r", "RECORD_DURATION=soon"},
	} {
		_, errOut, code := runBin(t, bin, env)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "jitsi-recorder: ") {
			t.Errorf("%v: code %d, stderr %q", env, code, errOut)
		}
	}
}

// startRecording runs the command against a loopback fake deployment
// (config.js + the page author's fake lib-jitsi-meet, with one remote
// participant) and returns once media reached the file.
func startRecording(t *testing.T) (cmd *exec.Cmd, done chan error, stderr *bytes.Buffer, dir string) {
	t.Helper()
	for _, b := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skip(b, " not installed")
		}
	}
	lib, err := os.ReadFile("../../internal/recorder/page/testdata/fake-lib-jitsi-meet.js")
	if err != nil {
		t.Skip("fake lib not available: ", err)
	}
	libJS := string(lib) + `
(function () {
	const proto = JitsiMeetJS.JitsiConnection.prototype;
	const init = proto.initJitsiConference;
	proto.initJitsiConference = function (name, options) {
		const conf = init.call(this, name, options);
		conf.addEventListener('conference.joined', () => setTimeout(() => fakeMeeting.addRemote('a1', 'Alice', '#c03030', 440), 0));
		return conf;
	};
})();`
	mux := http.NewServeMux()
	mux.HandleFunc("/config.js", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `var config = { hosts: { domain: 'localhost', muc: 'conference.localhost' }, websocket: '/xmpp-websocket' };`)
	})
	mux.HandleFunc("/libs/lib-jitsi-meet.min.js", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, libJS) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	bin := build(t)
	dir = t.TempDir()
	cmd = exec.Command(bin, "--room-url", srv.URL+"/demo", "--recordings-dir", dir, "--output-file", "demo.mp4", "--resolution", "640x360")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LOG_FORMAT=json"}
	stderr = &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done = make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, err := os.Stat(filepath.Join(dir, "demo.mp4")); err == nil && st.Size() > 0 {
			return cmd, done, stderr, dir
		}
		if time.Now().After(deadline) {
			t.Fatalf("no media after 30 s:\n%s", stderr.String())
		}
		select {
		case err := <-done:
			t.Fatalf("exited early (%v):\n%s", err, stderr.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func probeFile(t *testing.T, file string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration", "-of", "csv=p=0", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	got := strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", " | ")
	t.Logf("ffprobe: %s", got)
	if !strings.Contains(got, "h264") || !strings.Contains(got, "aac") {
		t.Fatalf("recording: %s", got)
	}
	return got
}

// TestSIGTERMFinalizesRecording stops the command with SIGTERM, as a
// container runtime would.
func TestSIGTERMFinalizesRecording(t *testing.T) {
	cmd, done, stderr, dir := startRecording(t)
	time.Sleep(3 * time.Second)
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		t.Logf("exited %v, %s after SIGTERM", err, time.Since(sent).Round(time.Millisecond))
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM:\n%s", stderr.String())
	}
	probeFile(t, filepath.Join(dir, "demo.mp4"))
	if _, err := os.Stat(filepath.Join(dir, "demo.json")); err != nil {
		t.Fatal("no metadata: ", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !strings.HasPrefix(line, "{") {
			t.Errorf("not a JSON log line: %q", line)
		}
	}
}

// TestSIGKILLLeavesPlayableFileAndNoOrphans kills the recorder outright:
// FFmpeg and Chromium must die with it, and the fragmented MP4 written so
// far must still play.
func TestSIGKILLLeavesPlayableFileAndNoOrphans(t *testing.T) {
	cmd, done, _, dir := startRecording(t)
	time.Sleep(3 * time.Second)
	kids := children(cmd.Process.Pid)
	t.Logf("children before kill: %v", kids)
	if len(kids) < 2 {
		t.Fatalf("expected chromium and ffmpeg children, got %v", kids)
	}
	cmd.Process.Kill()
	<-done
	deadline := time.Now().Add(5 * time.Second)
	for {
		var alive []string
		for pid, name := range kids {
			if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil && !zombie(pid) {
				alive = append(alive, fmt.Sprintf("%s(%d)", name, pid))
			}
		}
		if len(alive) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still running 5 s after the recorder was killed: %v", alive)
		}
		time.Sleep(100 * time.Millisecond)
	}
	probeFile(t, filepath.Join(dir, "demo.mp4"))
}

// children maps the pids of parent's direct children to their names.
func children(parent int) map[int]string {
	out := map[int]string{}
	for pid, p := range (procfs.FS{Root: "/proc"}).List() {
		if p.PPID == parent {
			out[pid] = p.Comm
		}
	}
	return out
}

func zombie(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] == "Z"
}

// TestDocCommentListsTheExitCodesOfHelp keeps the package documentation and
// --help in step.
func TestDocCommentListsTheExitCodesOfHelp(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(recorder.ExitCodesHelp), "\n")[1:] {
		if !strings.Contains(string(src), "//\t"+strings.TrimSpace(line)+"\n") {
			t.Errorf("main.go's doc comment lacks %q", strings.TrimSpace(line))
		}
	}
}
