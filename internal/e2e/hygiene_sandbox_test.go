package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/procfs"
)

const nobodyUID, nobodyGID = 65534, 65534

// nobodyCopyOfRecorder puts the recorder binary where user nobody can run
// it (the test binary's own temp dir is root's, mode 0700).
func nobodyCopyOfRecorder(t *testing.T) (bin string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "jr-e2e-nobody-bin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, "jitsi-recorder")
	src, err := os.Open(recorderBin)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

// nobodyHome is a directory user nobody owns, for HOME and the recordings.
func nobodyHome(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "jr-e2e-nobody-home")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, nobodyUID, nobodyGID); err != nil {
		t.Fatal(err)
	}
	return dir
}

// chromiumProcess is one process of the recorder's Chromium, as /proc
// shows it.
type chromiumProcess struct {
	pid     int
	typ     string // --type=..., "" for the browser process
	args    []string
	uid     string
	seccomp string // 0 none, 2 filter
	userNS  string
	pidNS   string
	netNS   string
}

// chromiumProcesses describes the Chromium processes among pids. Sandboxed
// processes are found through the process tree, not by the environment tag:
// Chromium's zygote starts them with a cleared environment.
func chromiumProcesses(pids []int) []chromiumProcess {
	var out []chromiumProcess
	for _, pid := range pids {
		pidStr := strconv.Itoa(pid)
		// The zygote re-executes /proc/self/exe, so its processes' command
		// name is "exe": know them by Chromium's --type= switch instead.
		comm, _ := os.ReadFile("/proc/" + pidStr + "/comm")
		cmdline, err := os.ReadFile("/proc/" + pidStr + "/cmdline")
		if err != nil || (!strings.HasPrefix(string(comm), "chromium") && !bytes.Contains(cmdline, []byte(" --type="))) {
			continue
		}
		// Processes forked by the zygote rewrite their command line as one
		// space-separated string.
		p := chromiumProcess{pid: pid, args: strings.FieldsFunc(string(cmdline), func(r rune) bool { return r == 0 || r == ' ' })}
		for _, a := range p.args {
			if v, ok := strings.CutPrefix(a, "--type="); ok {
				p.typ = v
			}
		}
		status, err := os.ReadFile("/proc/" + pidStr + "/status")
		if err != nil { // exited since its command line was read
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "Seccomp:"); ok {
				p.seccomp = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(line, "Uid:"); ok {
				p.uid = strings.Fields(v)[0]
			}
		}
		p.userNS, _ = os.Readlink("/proc/" + pidStr + "/ns/user")
		p.pidNS, _ = os.Readlink("/proc/" + pidStr + "/ns/pid")
		p.netNS, _ = os.Readlink("/proc/" + pidStr + "/ns/net")
		out = append(out, p)
	}
	return out
}

// TestRecordsAsNobodyWithChromiumSandbox runs the real binary as user
// nobody against the lab: it records, Chromium runs without --no-sandbox,
// and its renderers really are sandboxed (Debian's Chromium: a user, PID
// and network namespace of their own, and a seccomp-bpf filter).
func TestRecordsAsNobodyWithChromiumSandbox(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to user nobody")
	}
	l := startLab(t, "sandboxed", 2, 2)
	bin := nobodyCopyOfRecorder(t)
	home := nobodyHome(t)
	tag := fmt.Sprintf("JR_E2E_TAG=%s-%d", t.Name(), time.Now().UnixNano())
	cmd := exec.Command(bin)
	cmd.Dir = home
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, tag,
		"ROOM_URL=" + l.MeetingURL("sandboxed"), "RECORDINGS_DIR=" + filepath.Join(home, "recordings"),
		"OUTPUT_FILE=sandboxed.mp4", "RECORD_DURATION=8", "LOG_FORMAT=text"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobodyUID, Gid: nobodyGID, Groups: []uint32{}}}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("jitsi-recorder output:\n%s", stderr.String())
		}
		assertNoLeftovers(t, tag)
	})

	// Look at Chromium's processes while it records; remember every
	// process of the recorder's tree to check none outlives it.
	seen := map[int]uint64{} // pid -> start time
	watchTree := func() []int {
		procs := procfs.FS{Root: "/proc"}.List()
		pids := procfs.Descendants(procs, cmd.Process.Pid)
		for _, pid := range pids {
			seen[pid] = procs[pid].Start
		}
		return pids
	}
	var procs []chromiumProcess
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		pids := watchTree()
		procs = chromiumProcesses(pids)
		// A renderer the zygote has just forked runs for a few
		// milliseconds before it installs its seccomp filter (CI caught
		// one at seccomp 0 in the sandbox's namespaces): look again until
		// every renderer has its filter. One that never does fails below.
		renderers, filtered := 0, 0
		for _, p := range procs {
			if p.typ == "renderer" {
				renderers++
				if p.seccomp == "2" {
					filtered++
				}
			}
		}
		if renderers > 0 && filtered == renderers {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("recorder exited (%v) before Chromium's renderer was seen", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	if len(procs) == 0 {
		t.Fatal("no Chromium process of the recorder found")
	}
	var browserNS string
	for _, p := range procs {
		if p.typ == "" {
			browserNS = p.userNS
		}
	}
	sandboxedRenderers := 0
	for _, p := range procs {
		t.Logf("pid %d type %q uid %s seccomp %s %s %s %s", p.pid, p.typ, p.uid, p.seccomp, p.userNS, p.pidNS, p.netNS)
		if p.uid != strconv.Itoa(nobodyUID) {
			t.Errorf("pid %d (%s) runs as uid %s, want nobody", p.pid, p.typ, p.uid)
		}
		for _, a := range p.args {
			if a == "--no-sandbox" || a == "--disable-setuid-sandbox" || a == "--no-zygote" {
				t.Errorf("pid %d (%s) has %s", p.pid, p.typ, a)
			}
		}
		if p.typ == "renderer" {
			if p.seccomp != "2" || p.userNS == browserNS || browserNS == "" {
				t.Errorf("renderer %d is not sandboxed: seccomp %s, user ns %s (browser's %s)", p.pid, p.seccomp, p.userNS, browserNS)
			} else {
				sandboxedRenderers++
			}
		}
	}
	if sandboxedRenderers == 0 {
		t.Error("no sandboxed renderer seen")
	}

	finishBy := time.After(90 * time.Second)
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-time.After(500 * time.Millisecond):
			watchTree()
		case <-finishBy:
			t.Fatal("recorder did not finish within 90 s")
		}
	}
	assertTreeGone(t, seen)
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if strings.Contains(stderr.String(), "sandbox is off") {
		t.Errorf("the recorder warned about the sandbox as nobody")
	}
	file := filepath.Join(home, "recordings", "sandboxed.mp4")
	if st, err := os.Stat(file); err != nil || st.Sys().(*syscall.Stat_t).Uid != nobodyUID {
		t.Fatalf("recording %s not written by nobody: %v", file, err)
	}
	if d := probeDuration(t, file); d < 6 {
		t.Errorf("recording is %.2f s long, want about 8", d)
	}
	rep := verifyFile(t, file, l.Spec)
	checkMoving(t, rep, mediaSetup.Seconds(), "")
	for _, tone := range rep.Tones {
		if tone.PresentFraction < 0.5 {
			t.Errorf("tone of %s present in %.0f %% only", tone.Name, 100*tone.PresentFraction)
		}
	}
}

// TestRootRunTurnsSandboxOffWithAWarning: as root Chromium cannot start
// sandboxed; the recorder turns the sandbox off and says so in its log.
// The run also carries a JWT and a room password (the lab's anonymous
// Prosody ignores the one, an open room the other): neither may appear in
// the debug log (the page's console included) or the metadata.
func TestRootRunTurnsSandboxOffWithAWarning(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root")
	}
	const jwt, password = "eyJhbGciOiJIUzI1NiJ9.eyJyb29tIjoiKiJ9.c2VjcmV0LXNpZ25hdHVyZQ", "pw-never-shown-42"
	l := startLab(t, "asroot", 1, 1)
	r := startRecorder(t, l, "asroot", "RECORD_DURATION=3", "LOG_LEVEL=debug", "ROOM_PASSWORD="+password,
		"ROOM_URL="+l.MeetingURL("asroot")+"?jwt="+jwt)
	var procs []chromiumProcess
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && len(procs) == 0; time.Sleep(100 * time.Millisecond) {
		var pids []int
		for _, e := range processesTagged(r.tag) {
			pid, _ := strconv.Atoi(strings.SplitN(e, ":", 2)[0])
			pids = append(pids, pid)
		}
		procs = chromiumProcesses(pids)
	}
	if len(procs) == 0 {
		t.Fatal("no Chromium process of the recorder found")
	}
	for _, p := range procs {
		if p.typ == "" && !contains(p.args, "--no-sandbox") {
			t.Errorf("browser process as root without --no-sandbox: %q", p.args)
		}
	}
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	const warning = "running as root: Chromium's sandbox is off (run as a normal user to keep it on)"
	if !strings.Contains(r.stderr.String(), warning) {
		t.Errorf("no warning %q in the log", warning)
	}
	meta, err := os.ReadFile(strings.TrimSuffix(r.path(), ".mp4") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(r.stderr.String(), `msg="page console"`); n == 0 {
		t.Error("no page console in the debug log: the secret check would see nothing of it")
	}
	for _, secret := range append(strings.Split(jwt, "."), password) {
		if strings.Contains(r.stderr.String(), secret) {
			t.Errorf("the log shows %q", secret)
		}
		if strings.Contains(string(meta), secret) {
			t.Errorf("the metadata shows %q", secret)
		}
	}
}

// assertTreeGone fails if a process seen in the recorder's tree (same pid,
// same start time) is still alive 5 s after the recorder exited.
func assertTreeGone(t *testing.T, seen map[int]uint64) {
	t.Helper()
	var left []string
	for i := 0; i < 50; i++ {
		left = left[:0]
		for pid, start := range seen {
			if p, err := (procfs.FS{Root: "/proc"}).Read(pid); err == nil && p.Start == start && !isZombie(pid) {
				left = append(left, fmt.Sprintf("%d:%s", pid, p.Comm))
			}
		}
		if len(left) == 0 {
			t.Logf("all %d processes of the recorder's tree are gone", len(seen))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("processes of the recorder's tree left: %v", left)
}

func isZombie(pid int) bool {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && strings.Contains(string(st), ") Z ")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
