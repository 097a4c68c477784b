package recorder

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/config"
	"github.com/jitsi-recorder/jitsi-recorder/internal/metadata"
	"github.com/jitsi-recorder/jitsi-recorder/internal/procfs"
)

func TestSegmentPathsSitBesideTheFirstFile(t *testing.T) {
	for k, want := range map[int]string{1: "/r/demo.mp4", 2: "/r/demo.part2.mp4", 10: "/r/demo.part10.mp4"} {
		if got := segmentPath("/r/demo.mp4", k); got != want {
			t.Errorf("segment %d: %s, want %s", k, got, want)
		}
	}
}

func TestLimiterAllowsThreeInTenMinutes(t *testing.T) {
	l := limiter{max: 3, window: 10 * time.Minute}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, tc := range []struct {
		at   time.Duration
		want bool
	}{{0, true}, {time.Minute, true}, {2 * time.Minute, true}, {3 * time.Minute, false},
		// 10 min after the first two, they no longer count.
		{11 * time.Minute, true}, {12*time.Minute + time.Second, true}} {
		if got := l.allow(t0.Add(tc.at)); got != tc.want {
			t.Fatalf("event %d at %s: allowed %v, want %v", i, tc.at, got, tc.want)
		}
	}
}

func TestStartOptionsCarryReconnectSettings(t *testing.T) {
	expr, err := startExpression(startOptions{ReconnectTimeoutMs: 45000, NoMediaMs: noMediaMs, RejoinAfterMs: 0})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"reconnectTimeoutMs":45000`, `"noMediaMs":4000`, `"rejoinAfterMs":0`} {
		if !strings.Contains(expr, want) {
			t.Errorf("start expression lacks %s:\n%s", want, expr)
		}
	}
	// No RECONNECT_TIMEOUT: the page's default applies.
	expr, _ = startExpression(startOptions{})
	if strings.Contains(expr, "reconnectTimeoutMs") {
		t.Errorf("zero reconnect timeout sent: %s", expr)
	}
}

func TestDiskFullErrorIsExit8NamingTheDirectory(t *testing.T) {
	err := outputError(&os.PathError{Op: "write", Path: "/rec/x.mp4", Err: syscall.ENOSPC}, "/rec")
	if ExitCode(err) != 8 {
		t.Fatalf("exit code %d", ExitCode(err))
	}
	line := Describe(err)
	if !strings.Contains(line, "/rec") || !strings.Contains(line, "free space") || strings.Contains(line, "\n") {
		t.Fatalf("one line: %q", line)
	}
	t.Log(line)
}

// segmentFiles are the recording's segment files in dir, in order.
func segmentFiles(t *testing.T, first string) []string {
	t.Helper()
	files := []string{first}
	for k := 2; ; k++ {
		p := segmentPath(first, k)
		if _, err := os.Stat(p); err != nil {
			return files
		}
		files = append(files, p)
	}
}

// checkSegments checks every segment plays on its own and the metadata
// lists them with their reasons.
func checkSegments(t *testing.T, o outcome, reasons ...string) metadata.Recording {
	t.Helper()
	files := segmentFiles(t, o.res.File)
	meta, raw := readMetadata(t, o.res.MetadataFile)
	t.Logf("metadata segments/gaps: %s", segmentsJSON(meta))
	if len(files) != len(reasons) || len(meta.Segments) != len(reasons) {
		t.Fatalf("files %v, metadata segments %d, want %d\n%s", files, len(meta.Segments), len(reasons), raw)
	}
	var total int64
	for i, f := range files {
		codecs, dur := probe(t, f)
		t.Logf("segment %d %s: %s %.2f s", i+1, filepath.Base(f), codecs, dur)
		if codecs != "h264,aac" || dur < 1 {
			t.Fatalf("segment %s: %s, %.2f s", f, codecs, dur)
		}
		sg := meta.Segments[i]
		st, _ := os.Stat(f)
		total += st.Size()
		if sg.File != filepath.Base(f) || sg.Reason != reasons[i] || sg.EndAt == nil || *sg.EndAt < sg.StartAt || sg.SizeBytes != st.Size() {
			t.Fatalf("segment %d metadata %+v, file %s (%d bytes)", i+1, sg, f, st.Size())
		}
		if i > 0 && sg.StartAt < *meta.Segments[i-1].EndAt {
			t.Fatalf("segment %d starts before the previous one ended: %s", i+1, segmentsJSON(meta))
		}
	}
	if meta.SizeBytes != total || o.res.Bytes != total {
		t.Fatalf("sizeBytes %d, result %d, files %d", meta.SizeBytes, o.res.Bytes, total)
	}
	return meta
}

func segmentsJSON(m metadata.Recording) string {
	b, _ := json.Marshal(struct {
		Segments                    []metadata.Segment
		Gaps                        []metadata.Gap
		Reconnects, Browser, FFmpeg int
		DurationSeconds             float64
		StopReason, Error           string
	}{m.Segments, m.Gaps, m.Reconnects, m.BrowserRestarts, m.FFmpegRestarts, m.DurationSeconds, m.StopReason, m.Error})
	return string(b)
}

func noOrphans(t *testing.T) {
	t.Helper()
	// Chromium's own children are reaped by it; give them a moment.
	deadline := time.Now().Add(3 * time.Second)
	for {
		left := append(childrenNamed("ffmpeg"), childrenNamed("chromium")...)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes left: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFile waits for path to have data and returns when it had.
func waitFile(path string, within time.Duration) (time.Time, bool) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			return time.Now(), true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Time{}, false
}

// afterMedia calls fn once the first segment in the recordings directory
// (sent on dirs) has had media for delay; it gives fn the file.
func afterMedia(t *testing.T, dirs <-chan string, delay time.Duration, fn func(first string)) {
	go func() {
		dir := <-dirs
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			files, _ := filepath.Glob(filepath.Join(dir, "standup_*.mp4"))
			if len(files) == 1 {
				if _, ok := waitFile(files[0], time.Until(deadline)); ok {
					time.Sleep(delay)
					fn(files[0])
				}
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
}

// waitNewProcess waits until a child process called name runs that is
// not one of old.
func waitNewProcess(t *testing.T, name string, old []int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, pid := range childrenNamed(name) {
			if !slices.Contains(old, pid) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("no new %s within %s of killing %v", name, timeout, old)
}

func killAll(t *testing.T, name string) {
	pids := childrenNamed(name)
	t.Logf("killing %s %v", name, pids)
	for _, pid := range pids {
		syscallKill(pid)
	}
}

func TestFFmpegDeathStartsNewSegmentAndRecordingGoesOn(t *testing.T) {
	dirs := make(chan string, 1)
	afterMedia(t, dirs, 4*time.Second, func(string) { killAll(t, "ffmpeg") })
	o := recordWith(t, t.Context(), fakeDeployment{driver: aliceJoins}, func(c *config.Config) {
		c.Duration = 16 * time.Second
		dirs <- c.RecordingsDir
	}, nil)
	if o.err != nil || o.res.StopReason != StopDuration {
		t.Fatalf("want stop %q and no error, got %q %v", StopDuration, o.res.StopReason, o.err)
	}
	meta := checkSegments(t, o, metadata.SegmentStart, metadata.SegmentFFmpegRestart)
	if meta.FFmpegRestarts != 1 || meta.BrowserRestarts != 0 || len(meta.Gaps) != 1 || meta.Gaps[0].Reason != metadata.GapFFmpegRestart {
		t.Fatalf("metadata %s", segmentsJSON(meta))
	}
	if g := meta.Gaps[0]; *g.To-g.From > 5 {
		t.Errorf("gap %.1f s", *g.To-g.From)
	}
	// RECORD_DURATION is the whole timeline, not per segment.
	if meta.DurationSeconds > 17.5 {
		t.Errorf("timeline %.1f s for a 16 s RECORD_DURATION", meta.DurationSeconds)
	}
	if !strings.Contains(o.logs.String(), "ffmpeg exited; starting a new segment") || !strings.Contains(o.logs.String(), "new segment started") {
		t.Fatal("log lacks the restart messages")
	}
	noOrphans(t)
}

func TestBrowserDeathRestartsBrowserIntoNewSegment(t *testing.T) {
	var killedAt, part2At time.Time
	var part2OK bool
	dirs := make(chan string, 1)
	afterMedia(t, dirs, 4*time.Second, func(first string) {
		killedAt = time.Now()
		killAll(t, "chromium")
		part2At, part2OK = waitFile(segmentPath(first, 2), 30*time.Second)
	})
	// The killed browser's recorder stays in a real meeting until the
	// server drops it: the restarted page sees it, like Alice, on joining.
	const ghost = `
(function () {
	const proto = JitsiMeetJS.JitsiConnection.prototype;
	const init = proto.initJitsiConference;
	proto.initJitsiConference = function (name, options) {
		const conf = init.call(this, name, options);
		conf.addEventListener('conference.joined', () => fakeMeeting.addRemote('r0', 'Recorder', '#000000', 0));
		return conf;
	};
})();`
	o := recordWith(t, t.Context(), fakeDeployment{driver: aliceJoins, extraLater: ghost}, func(c *config.Config) {
		c.Duration = 25 * time.Second
		dirs <- c.RecordingsDir
	}, nil)
	if o.err != nil || o.res.StopReason != StopDuration {
		t.Fatalf("want stop %q and no error, got %q %v", StopDuration, o.res.StopReason, o.err)
	}
	if !strings.Contains(o.logs.String(), "ignoring the previous browser's recorder") {
		t.Error("the old recorder was not recognised")
	}
	if !part2OK {
		t.Fatal("no media in the second segment within 30 s of the kill")
	}
	t.Logf("browser killed -> media in the next segment: %s", part2At.Sub(killedAt).Round(time.Millisecond))
	meta := checkSegments(t, o, metadata.SegmentStart, metadata.SegmentBrowserRestart)
	if meta.BrowserRestarts != 1 || len(meta.Gaps) != 1 || meta.Gaps[0].Reason != metadata.GapBrowserRestart {
		t.Fatalf("metadata %s", segmentsJSON(meta))
	}
	// Alice is in both segments: she left with the old browser and joined again.
	if len(meta.Participants) != 2 || meta.Participants[1].Name != "Alice" {
		t.Fatalf("participants %+v", meta.Participants)
	}
	for _, msg := range []string{"browser failed; restarting it", "browser restarted", "new segment started"} {
		if !strings.Contains(o.logs.String(), msg) {
			t.Fatalf("log lacks %q", msg)
		}
	}
	noOrphans(t)
}

// TestSignalDuringBrowserRestartFinalizesQuickly: a stop while the new
// browser is still joining keeps what was recorded and takes < 5 s.
func TestSignalDuringBrowserRestartFinalizesQuickly(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var cancelledAt time.Time
	dirs := make(chan string, 1)
	afterMedia(t, dirs, 3*time.Second, func(string) {
		killed := childrenNamed("chromium")
		killAll(t, "chromium")
		// Stop once the new browser has started: the session has seen the
		// crash then, however slow the machine.
		waitNewProcess(t, "chromium", killed, 10*time.Second)
		cancelledAt = time.Now()
		cancel()
	})
	o := recordWith(t, ctx, fakeDeployment{driver: aliceJoins}, func(c *config.Config) {
		c.Duration = 30 * time.Second
		dirs <- c.RecordingsDir
	}, nil)
	stopTook := time.Since(cancelledAt)
	t.Logf("stop took %s", stopTook.Round(time.Millisecond))
	if o.err != nil || o.res.StopReason != StopSignal {
		t.Fatalf("got %q %v", o.res.StopReason, o.err)
	}
	if stopTook > 5*time.Second {
		t.Fatalf("finalize took %s, want < 5 s", stopTook)
	}
	meta := checkSegments(t, o, metadata.SegmentStart)
	if meta.BrowserRestarts != 1 || len(meta.Gaps) != 1 {
		t.Fatalf("metadata %s", segmentsJSON(meta))
	}
	noOrphans(t)
}

// hangPage makes the page's main thread spin forever 5 s after the join:
// no chunk, no answer to CDP. Late enough that a loaded machine has
// written more than the 1 s of media a segment must hold.
const hangPage = `
(function () {
	const proto = JitsiMeetJS.JitsiConnection.prototype;
	const init = proto.initJitsiConference;
	proto.initJitsiConference = function (name, options) {
		const conf = init.call(this, name, options);
		conf.addEventListener('conference.joined', () => setTimeout(() => {
			window.__recorderEmit(JSON.stringify({ type: 'test-hang' }));
			for (;;) {}
		}, 5000));
		return conf;
	};
})();`

var logTime = regexp.MustCompile(`time=(\S+) level=\S+ msg="?([^"=]+?)"? `)

// logAt returns when the log line with msg was written.
func logAt(logs, msg string) (time.Time, bool) {
	for _, line := range strings.Split(logs, "\n") {
		if m := logTime.FindStringSubmatch(line); m != nil && strings.Contains(line, msg) {
			at, err := time.Parse(time.RFC3339Nano, m[1])
			return at, err == nil
		}
	}
	return time.Time{}, false
}

func TestHungPageRestartsBrowserWithinWatchdogBounds(t *testing.T) {
	o := recordWith(t, t.Context(), fakeDeployment{driver: aliceJoins, extraOnce: hangPage},
		func(c *config.Config) { c.Duration = 25 * time.Second },
		func(tt *timings) {
			tt.watchdogEvery, tt.watchdogTimeout = time.Second, 3*time.Second
			tt.stallFail = time.Minute // the watchdog must find it, not the stall check
		})
	if o.err != nil || o.res.StopReason != StopDuration {
		t.Fatalf("want stop %q and no error, got %q %v", StopDuration, o.res.StopReason, o.err)
	}
	logs := o.logs.String()
	hungAt, ok1 := logAt(logs, "type=test-hang")
	faultAt, ok2 := logAt(logs, "browser failed; restarting it")
	if !ok1 || !ok2 || !strings.Contains(logs, "CDP watchdog") {
		t.Fatalf("hang %v / fault %v / CDP watchdog in the log", ok1, ok2)
	}
	took := faultAt.Sub(hungAt)
	t.Logf("page hung -> browser fault: %s (watchdog every 1 s, timeout 3 s)", took.Round(time.Millisecond))
	if took > 4*time.Second+3*time.Second { // every + timeout, plus a busy machine's slack
		t.Errorf("the watchdog took %s", took)
	}
	checkSegments(t, o, metadata.SegmentStart, metadata.SegmentBrowserRestart)
	noOrphans(t)
}

// TestStoppedBrowserIsKilledAndReplaced freezes Chromium and all its
// processes (SIGSTOP): the watchdog finds it, the frozen processes are
// killed (none stays behind) and a new browser records the rest.
func TestStoppedBrowserIsKilledAndReplaced(t *testing.T) {
	var frozen []int
	dirs := make(chan string, 1)
	afterMedia(t, dirs, 3*time.Second, func(string) {
		procs := (procfs.FS{Root: "/proc"}).List()
		for _, pid := range childrenNamed("chromium") {
			frozen = append(frozen, procfs.Descendants(procs, pid)...)
		}
		t.Logf("SIGSTOP %v", frozen)
		for _, pid := range frozen {
			syscall.Kill(pid, syscall.SIGSTOP)
		}
	})
	o := recordWith(t, t.Context(), fakeDeployment{driver: aliceJoins},
		func(c *config.Config) {
			c.Duration = 25 * time.Second
			dirs <- c.RecordingsDir
		},
		func(tt *timings) { tt.watchdogEvery, tt.watchdogTimeout = time.Second, 3*time.Second })
	if o.err != nil || o.res.StopReason != StopDuration {
		t.Fatalf("want stop %q and no error, got %q %v", StopDuration, o.res.StopReason, o.err)
	}
	if !strings.Contains(o.logs.String(), "CDP watchdog") {
		t.Fatal("not found by the watchdog")
	}
	checkSegments(t, o, metadata.SegmentStart, metadata.SegmentBrowserRestart)
	if len(frozen) == 0 {
		t.Fatal("nothing was frozen")
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range frozen {
		for {
			if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil || zombieProc(pid) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("frozen process %d still there", pid)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	noOrphans(t)
}

// lagRecorder pauses the page's MediaRecorder for 8 s from 3 s after the
// join: MediaRecorder leaves paused time out of its timeline, so the file
// ends 8 s short of the meeting, as when a CPU-starved encoder falls
// behind. Chunks keep coming (empty ones are not sent), so no stall check
// restarts anything.
var lagRecorder = afterJoin(`window.lastRecorder.pause(); setTimeout(() => window.lastRecorder.resume(), 8000)`)

func TestFileShortOfTheMeetingExits9(t *testing.T) {
	o := recordWith(t, t.Context(), fakeDeployment{driver: aliceJoins, extraOnce: lagRecorder},
		func(c *config.Config) { c.Duration = 16 * time.Second },
		func(tt *timings) { tt.stallWarn, tt.stallFail = 20*time.Second, time.Minute })
	if ExitCode(o.err) != 9 {
		t.Fatalf("exit %d (%v), want 9\n%s", ExitCode(o.err), o.err, o.logs)
	}
	t.Logf("error: %v", o.err)
	if !strings.Contains(o.err.Error(), "of media for the last") || !strings.Contains(o.logs.String(), "encoder is behind real time") {
		t.Fatalf("error %q, or no lag warning in the logs", o.err)
	}
	meta := checkSegments(t, o, metadata.SegmentStart)
	sg := meta.Segments[0]
	codecs, dur := probe(t, o.res.File)
	t.Logf("file %s %.2f s; metadata %.2f..%.2f s, media %.2f s, error %q", codecs, dur, sg.StartAt, *sg.EndAt, sg.MediaSeconds, meta.Error)
	if sg.MediaSeconds > 12 || math.Abs(sg.MediaSeconds-dur) > 0.5 || !strings.Contains(meta.Error, "of media") {
		t.Fatalf("metadata does not tell the file is short: media %.2f s, file %.2f s, error %q", sg.MediaSeconds, dur, meta.Error)
	}
	noOrphans(t)
}

// headerOnlyRecorder pauses each MediaRecorder as soon as it starts (and
// says it is recording): the page sends the stream's header and then
// nothing with media in it.
const headerOnlyRecorder = `
(function () {
	const MR = window.MediaRecorder;
	window.MediaRecorder = class extends MR {
		constructor(...args) {
			super(...args);
			this.addEventListener('start', () => { this.pause(); this.requestData(); }, { once: true });
		}
		get state() { return super.state === 'paused' ? 'recording' : super.state; }
	};
})();`

func TestAlmostNoMediaExits9(t *testing.T) {
	o := recordWith(t, t.Context(), fakeDeployment{driver: aliceJoins, extraOnce: headerOnlyRecorder},
		func(c *config.Config) { c.Duration = 8 * time.Second },
		func(tt *timings) { tt.stallWarn, tt.stallFail = 20*time.Second, time.Minute })
	t.Logf("exit %d: %v", ExitCode(o.err), o.err)
	if ExitCode(o.err) != 9 || !strings.Contains(o.err.Error(), "of media for the last 8s") {
		t.Fatalf("exit %d (%v), want 9: the file holds next to nothing of 8 s\n%s", ExitCode(o.err), o.err, o.logs)
	}
	if _, err := os.Stat(o.res.File); err != nil {
		t.Fatalf("the file is not kept: %v", err)
	}
	noOrphans(t)
}

func zombieProc(pid int) bool {
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err != nil || strings.Contains(string(st), ") Z ")
}

// pauseRecorder pauses the page's MediaRecorder 3 s after the join: the
// page answers CDP but sends no chunk (a stalled page).
var pauseRecorder = afterJoin(`window.lastRecorder.pause()`)

// afterJoin is a page script that runs action 3 s after the conference is
// joined, with window.lastRecorder the page's newest MediaRecorder.
func afterJoin(action string) string {
	return `
(function () {
	const MR = window.MediaRecorder;
	window.MediaRecorder = class extends MR {
		constructor(...args) { super(...args); window.lastRecorder = this; }
	};
	const proto = JitsiMeetJS.JitsiConnection.prototype;
	const init = proto.initJitsiConference;
	proto.initJitsiConference = function (name, options) {
		const conf = init.call(this, name, options);
		conf.addEventListener('conference.joined', () => setTimeout(() => { ` + action + ` }, 3000));
		return conf;
	};
})();`
}

func TestStalledPageRestartsBrowser(t *testing.T) {
	o := recordWith(t, t.Context(), fakeDeployment{driver: aliceJoins, extraOnce: pauseRecorder},
		func(c *config.Config) { c.Duration = 25 * time.Second },
		func(tt *timings) { tt.stallWarn, tt.stallFail = 2*time.Second, 5*time.Second })
	if o.err != nil || o.res.StopReason != StopDuration {
		t.Fatalf("want stop %q and no error, got %q %v", StopDuration, o.res.StopReason, o.err)
	}
	if !strings.Contains(o.logs.String(), `reason="no media from the page for`) {
		t.Fatal("the stall was not the reason for the restart")
	}
	checkSegments(t, o, metadata.SegmentStart, metadata.SegmentBrowserRestart)
	noOrphans(t)
}

func TestBrowserFailingTooOftenExits5KeepingSegments(t *testing.T) {
	o := recordWith(t, t.Context(), fakeDeployment{driver: aliceJoins, extra: hangPage},
		func(c *config.Config) { c.Duration = 60 * time.Second },
		func(tt *timings) {
			tt.watchdogEvery, tt.watchdogTimeout = time.Second, 2*time.Second
			tt.restartLimit = 1
		})
	if ExitCode(o.err) != 5 {
		t.Fatalf("exit code %d (err %v)", ExitCode(o.err), o.err)
	}
	if line := Describe(o.err); !strings.Contains(line, "CDP watchdog") || !strings.Contains(line, "failed 2 times") {
		t.Errorf("one line: %s", line)
	}
	meta := checkSegments(t, o, metadata.SegmentStart, metadata.SegmentBrowserRestart)
	if meta.StopReason != StopError || meta.BrowserRestarts != 1 {
		t.Fatalf("metadata %s", segmentsJSON(meta))
	}
	noOrphans(t)
}

func TestFFmpegFailingTooOftenExits6KeepingSegments(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		// Kill every FFmpeg 4 s after it appears.
		seen := map[int]bool{}
		for ctx.Err() == nil {
			for _, pid := range childrenNamed("ffmpeg") {
				if !seen[pid] {
					seen[pid] = true
					go func() {
						time.Sleep(4 * time.Second)
						syscallKill(pid)
					}()
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	o := recordWith(t, ctx, fakeDeployment{driver: aliceJoins},
		func(c *config.Config) { c.Duration = 60 * time.Second },
		func(tt *timings) { tt.restartLimit = 1 })
	if ExitCode(o.err) != 6 {
		t.Fatalf("exit code %d (err %v)", ExitCode(o.err), o.err)
	}
	meta := checkSegments(t, o, metadata.SegmentStart, metadata.SegmentFFmpegRestart)
	if meta.StopReason != StopError || meta.FFmpegRestarts != 1 || !strings.Contains(meta.Error, "ffmpeg exited 2 times") {
		t.Fatalf("metadata %s", segmentsJSON(meta))
	}
	noOrphans(t)
}

// TestDiskFullStopsWithExit8 records into a 512 kB tmpfs, which fills up
// after a few seconds. The tmpfs is mounted in a private mount namespace:
// the test re-runs itself under unshare -m.
func TestDiskFullStopsWithExit8(t *testing.T) {
	const inner = "RECORDER_TEST_PRIVATE_MOUNTS"
	if os.Getenv(inner) == "" {
		if os.Geteuid() != 0 {
			t.Skip("needs root for a tmpfs")
		}
		if _, err := exec.LookPath("unshare"); err != nil {
			t.Skip("unshare not installed")
		}
		cmd := exec.CommandContext(t.Context(), "unshare", "-m", "--propagation", "private",
			os.Args[0], "-test.run=^TestDiskFullStopsWithExit8$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), inner+"=1")
		out, err := cmd.CombinedOutput()
		t.Logf("in a private mount namespace:\n%s", out)
		if err != nil || !strings.Contains(string(out), "--- PASS: TestDiskFullStopsWithExit8") {
			t.Fatalf("inner test failed: %v", err)
		}
		return
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=512k"); err != nil {
		t.Fatal("mount tmpfs: ", err)
	}
	defer syscall.Unmount(dir, syscall.MNT_DETACH)
	o := record(t, t.Context(), fakeDeployment{driver: aliceJoins}, func(c *config.Config) {
		c.RecordingsDir = dir
		c.Duration = 60 * time.Second
	})
	if ExitCode(o.err) != 8 {
		t.Fatalf("exit code %d (err %v)", ExitCode(o.err), o.err)
	}
	line := Describe(o.err)
	if !strings.Contains(line, dir) || !strings.Contains(line, "free space") {
		t.Fatalf("one line: %s", line)
	}
	if o.took > 40*time.Second {
		t.Fatalf("took %s to stop", o.took)
	}
	if codecs, dur := probe(t, o.res.File); codecs != "h264,aac" || dur < 1 {
		t.Fatalf("the segment written is not playable: %s %.2f s", codecs, dur)
	}
	if files := segmentFiles(t, o.res.File); len(files) != 1 {
		t.Fatalf("a full disk must not restart FFmpeg: %v", files)
	}
	// The space reserved at the start lets the final metadata say why.
	meta, _ := readMetadata(t, o.res.MetadataFile)
	if meta.StopReason != StopError || !strings.Contains(meta.Error, "no space") || len(meta.Segments) != 1 {
		t.Fatalf("metadata on a full disk: stop %q, error %q, %d segments", meta.StopReason, meta.Error, len(meta.Segments))
	}
	if strings.Contains(o.logs.String(), "starting a new segment") {
		t.Fatal("restarted FFmpeg on a full disk")
	}
	noOrphans(t)
}

// emitJS sends a page event the way the page does.
func emitJS(ev string) string {
	return `window.__recorderEmit(JSON.stringify(` + ev + `));`
}

func TestReconnectAndMediaGapEventsGoIntoMetadata(t *testing.T) {
	o := record(t, t.Context(), fakeDeployment{driver: aliceJoins + `
		setTimeout(() => { ` + emitJS(`{type: 'media-gap', state: 'start', t: Date.now() - 4000}`) + ` }, 2000);
		setTimeout(() => { ` + emitJS(`{type: 'media-gap', state: 'end', t: Date.now()}`) + ` }, 3000);
		setTimeout(() => { ` + emitJS(`{type: 'reconnecting', reason: 'connection-lost', t: Date.now()}`) + `
			fakeMeeting.removeRemote('a1'); }, 4000);
		setTimeout(() => { ` + emitJS(`{type: 'reconnected', attempts: 2, t: Date.now()}`) + `
			fakeMeeting.addRemote('a1', 'Alice', '#c03030', 440); }, 7000);`},
		func(c *config.Config) {
			c.Duration = 10 * time.Second
			c.AloneTimeout = time.Second // not while reconnecting
		})
	if o.err != nil || o.res.StopReason != StopDuration {
		t.Fatalf("want stop %q and no error, got %q %v", StopDuration, o.res.StopReason, o.err)
	}
	meta, _ := readMetadata(t, o.res.MetadataFile)
	t.Logf("%s", segmentsJSON(meta))
	if meta.Reconnects != 1 || len(meta.Gaps) != 2 || meta.Gaps[0].Reason != metadata.GapNoMedia || meta.Gaps[1].Reason != metadata.GapReconnecting {
		t.Fatalf("metadata %s", segmentsJSON(meta))
	}
	if g := meta.Gaps[1]; *g.To-g.From < 2 || *g.To-g.From > 4.5 {
		t.Errorf("reconnecting gap %.1f s, want about 3", *g.To-g.From)
	}
	for _, msg := range []string{"lost the meeting; reconnecting", "reconnected to the meeting", "no media from the meeting", "media from the meeting again"} {
		if !strings.Contains(o.logs.String(), msg) {
			t.Errorf("log lacks %q", msg)
		}
	}
}

func TestGivingUpReconnectingExits3WithFinalizedFile(t *testing.T) {
	o := record(t, t.Context(), fakeDeployment{driver: aliceJoins + `
		setTimeout(() => { ` + emitJS(`{type: 'reconnecting', reason: 'connection-lost', t: Date.now()}`) + ` }, 2500);
		setTimeout(() => { ` + emitJS(`{type: 'error', code: 'connection-failed', message: 'gave up reconnecting after 2 s: cannot reach the server'}`) + ` }, 4500);`},
		func(c *config.Config) { c.Duration = 30 * time.Second })
	if ExitCode(o.err) != 3 {
		t.Fatalf("exit code %d (err %v)", ExitCode(o.err), o.err)
	}
	if codecs, dur := probe(t, o.res.File); codecs != "h264,aac" || dur < 2 {
		t.Fatalf("recording: %s %.2f s", codecs, dur)
	}
	meta, _ := readMetadata(t, o.res.MetadataFile)
	if meta.StopReason != StopError || len(meta.Gaps) != 1 || meta.Gaps[0].Reason != metadata.GapReconnecting {
		t.Fatalf("metadata %s", segmentsJSON(meta))
	}
}
