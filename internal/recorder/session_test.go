package recorder

import (
	"github.com/jitsi-recorder/jitsi-recorder/internal/procfs"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
	"github.com/jitsi-recorder/jitsi-recorder/internal/config"
	"github.com/jitsi-recorder/jitsi-recorder/internal/ffmpeg"
	"github.com/jitsi-recorder/jitsi-recorder/internal/meeting"
	"github.com/jitsi-recorder/jitsi-recorder/internal/metadata"
	"github.com/jitsi-recorder/jitsi-recorder/internal/recorder/page"
)

const (
	testJWT      = "secret-jwt-123"
	testPassword = "pw-secret-456"
)

// fakeDeployment serves what a Jitsi Meet deployment serves to the page:
// config.js and a lib-jitsi-meet stand-in (the page author's fake, with
// the scenario fixed and a driver that plays the remote side once the
// recorder joined). It does not serve /_recorder: interception must.
type fakeDeployment struct {
	scenario string // fake lib scenario: join, password, members, ...
	driver   string // JS run (with conf in scope) after the conference is joined
	extra    string // JS appended after the lib
	// extraOnce is appended only the first time the lib is served (the
	// first browser's page; a restarted browser loads it again).
	extraOnce string
	// extraLater is appended every time but the first (restarted browsers).
	extraLater string
	noConfig   bool // 404 for config.js
}

func (d fakeDeployment) start(t *testing.T) *httptest.Server {
	t.Helper()
	lib, err := os.ReadFile("page/testdata/fake-lib-jitsi-meet.js")
	if err != nil {
		t.Skip("fake lib-jitsi-meet not available: ", err)
	}
	const pick = "new URLSearchParams(location.search).get('scenario')"
	if !bytes.Contains(lib, []byte(pick)) {
		t.Fatal("fake lib changed: cannot fix its scenario")
	}
	scenario := d.scenario
	if scenario == "" {
		scenario = "join"
	}
	libJS := strings.Replace(string(lib), pick, strconv.Quote(scenario), 1) + `
(function () {
	const proto = JitsiMeetJS.JitsiConnection.prototype;
	const init = proto.initJitsiConference;
	proto.initJitsiConference = function (name, options) {
		const conf = init.call(this, name, options);
		conf.addEventListener('conference.joined', () => setTimeout(() => { ` + d.driver + ` }, 0));
		return conf;
	};
})();
` + d.extra
	mux := http.NewServeMux()
	mux.HandleFunc("/config.js", func(w http.ResponseWriter, r *http.Request) {
		if d.noConfig {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/javascript")
		fmt.Fprint(w, `var config = { hosts: { domain: 'localhost', muc: 'conference.localhost' }, websocket: '/xmpp-websocket' };`)
	})
	var served atomic.Int32
	mux.HandleFunc("/libs/lib-jitsi-meet.min.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		fmt.Fprint(w, libJS)
		if served.Add(1) == 1 {
			fmt.Fprint(w, "\n"+d.extraOnce)
		} else {
			fmt.Fprint(w, "\n"+d.extraLater)
		}
	})
	mux.HandleFunc("/favicon.ico", http.NotFound)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("deployment asked for %s: the recorder page should have been intercepted", r.URL)
		http.Error(w, "not here", http.StatusInternalServerError)
	})
	srv := httptest.NewServer(mux) // 127.0.0.1 only
	t.Cleanup(srv.Close)
	return srv
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type outcome struct {
	res  Result
	err  error
	dir  string
	logs *syncBuffer
	took time.Duration
}

func record(t *testing.T, ctx context.Context, d fakeDeployment, tweak func(*config.Config)) outcome {
	t.Helper()
	return recordWith(t, ctx, d, tweak, nil)
}

// recordWith is record with the session's timings changed by tweakT.
func recordWith(t *testing.T, ctx context.Context, d fakeDeployment, tweak func(*config.Config), tweakT func(*timings)) outcome {
	t.Helper()
	if _, err := browser.FindBinary(""); err != nil {
		t.Skip("chromium not installed: ", err)
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	srv := d.start(t)
	m, err := meeting.Parse(srv.URL + "/StandUp?jwt=" + testJWT)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	dir := t.TempDir()
	cfg := config.Config{
		Meeting: m, RecordingsDir: dir, DisplayName: "Recorder", Password: testPassword,
		Width: 640, Height: 360, FPS: 30, VideoBitrate: 1_000_000, AudioBitrate: 128_000,
		AloneTimeout: 0, JoinTimeout: 20 * time.Second, FFmpegPath: "ffmpeg",
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if os.Getenv("RECORDER_TEST_LOGS") != "" { // follow a hanging test live
		cfg.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(logs, os.Stderr), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if tweak != nil {
		tweak(&cfg)
	}
	tt := defaultTimings
	if tweakT != nil {
		tweakT(&tt)
	}
	start := time.Now()
	res, err := run(ctx, cfg, page.Files(), tt)
	o := outcome{res: res, err: err, dir: dir, logs: logs, took: time.Since(start)}
	t.Logf("result %+v err %v (took %s)", res, err, o.took.Round(time.Millisecond))
	if err != nil {
		t.Logf("one line: %s", Describe(err))
	}
	for _, secret := range []string{testJWT, testPassword} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain the secret %q", secret)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("logs:\n%s", tail(logs.String(), 60))
	}
	return o
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func probe(t *testing.T, file string) (codecs string, duration float64) {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=duration", "-of", "json", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	var p struct {
		Streams []struct {
			CodecName string `json:"codec_name"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range p.Streams {
		names = append(names, s.CodecName)
	}
	duration, _ = strconv.ParseFloat(p.Format.Duration, 64)
	return strings.Join(names, ","), duration
}

func readMetadata(t *testing.T, path string) (metadata.Recording, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r metadata.Recording
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r, string(b)
}

const aliceJoins = `fakeMeeting.addRemote('a1', 'Alice', '#c03030', 440); fakeMeeting.dominant('a1');`

func TestRecordsMeetingUntilDurationWithMetadata(t *testing.T) {
	o := record(t, t.Context(), fakeDeployment{driver: aliceJoins + `
		setTimeout(() => { fakeMeeting.addRemote('b2', 'Bob', '#3030c0', 660); fakeMeeting.dominant('b2'); }, 1500);`},
		func(c *config.Config) { c.Duration = 5 * time.Second })
	if o.err != nil {
		t.Fatal(o.err)
	}
	if o.res.StopReason != StopDuration {
		t.Fatalf("stop reason %q", o.res.StopReason)
	}
	codecs, dur := probe(t, o.res.File)
	t.Logf("file %s: %s, %.2f s, %d bytes", filepath.Base(o.res.File), codecs, dur, o.res.Bytes)
	if codecs != "h264,aac" || dur < 4 || dur > 6.5 {
		t.Fatalf("recording: codecs %s duration %.2f", codecs, dur)
	}
	if !strings.HasPrefix(filepath.Base(o.res.File), "standup_") {
		t.Errorf("default name %s", o.res.File)
	}
	meta, raw := readMetadata(t, o.res.MetadataFile)
	t.Logf("metadata:\n%s", raw)
	if strings.Contains(raw, testJWT) || strings.Contains(raw, testPassword) {
		t.Fatal("metadata contains a secret")
	}
	if meta.Room != "standup" || meta.StopReason != StopDuration || len(meta.Participants) != 2 ||
		meta.Participants[0].Name != "Alice" || meta.Participants[1].Name != "Bob" ||
		len(meta.Speakers) != 2 || meta.Encoder.VideoCodec == "" || meta.DurationSeconds < 4 {
		t.Fatalf("metadata %+v", meta)
	}
}

// TestVideoThatStopsShortOfTheAudioIsIncomplete: a starved browser's
// video encoder can fall seconds behind while the audio keeps up, and
// FFmpeg's progress follows the audio. Here the composite stops reaching
// the encoder 3 s into the page's life: the file's video ends there, its
// audio at the stop, and the recording must not pass for whole (exit 9),
// in its error and in its metadata.
func TestVideoThatStopsShortOfTheAudioIsIncomplete(t *testing.T) {
	o := record(t, t.Context(), fakeDeployment{driver: aliceJoins, extra: `
(function () {
	const proto = window.CanvasCaptureMediaStreamTrack && CanvasCaptureMediaStreamTrack.prototype;
	if (!proto || !proto.requestFrame) { throw new Error('no requestFrame: this Chromium cannot run the test'); }
	const requestFrame = proto.requestFrame, t0 = performance.now();
	proto.requestFrame = function () { if (performance.now() - t0 < 3000) requestFrame.call(this); };
})();`}, func(c *config.Config) { c.Duration = 10 * time.Second })
	var rerr *Error
	if !errors.As(o.err, &rerr) || rerr.Kind != KindIncomplete || ExitCode(o.err) != 9 {
		t.Fatalf("want the incomplete error (exit 9), got %v (exit %d)\n%s", o.err, ExitCode(o.err), o.logs.String())
	}
	if !strings.Contains(o.err.Error(), "the video ends") {
		t.Errorf("error %q does not say the video ends short", o.err)
	}
	video, audio, err := ffmpeg.TrackEnds(o.res.File)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v; file: video ends %s, audio %s", o.err, video, audio)
	if audio-video <= incompleteAfter {
		t.Errorf("video ends %s, audio %s: the test did not cut the video short", video, audio)
	}
	meta, _ := readMetadata(t, o.res.MetadataFile)
	if meta.StopReason != StopError || !strings.Contains(meta.Error, "the video ends") {
		t.Errorf("metadata stop %q error %q, want the incomplete error", meta.StopReason, meta.Error)
	}
}

func TestStopsWhenAloneForAloneTimeout(t *testing.T) {
	o := record(t, t.Context(), fakeDeployment{driver: aliceJoins + `
		setTimeout(() => fakeMeeting.removeRemote('a1'), 1500);`},
		func(c *config.Config) { c.AloneTimeout = 2 * time.Second; c.Duration = 30 * time.Second })
	if o.err != nil || o.res.StopReason != StopAlone {
		t.Fatalf("want stop %q, got %q %v", StopAlone, o.res.StopReason, o.err)
	}
	meta, _ := readMetadata(t, o.res.MetadataFile)
	if len(meta.Participants) != 1 || meta.Participants[0].LeftAt == nil || *meta.Participants[0].LeftAt > 3 {
		t.Fatalf("participants %+v", meta.Participants)
	}
}

func TestSignalFinalizesPlayableFileQuickly(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var cancelledAt time.Time
	dirs := make(chan string, 1)
	// Timed from the first media on disk, not from the start: a loaded
	// machine can take seconds to start the browser and join.
	afterMedia(t, dirs, 4*time.Second, func(string) {
		cancelledAt = time.Now()
		cancel()
	})
	o := record(t, ctx, fakeDeployment{driver: aliceJoins}, func(c *config.Config) { dirs <- c.RecordingsDir })
	stopTook := time.Since(cancelledAt)
	t.Logf("stop took %s", stopTook.Round(time.Millisecond))
	if o.err != nil || o.res.StopReason != StopSignal {
		t.Fatalf("got %q %v", o.res.StopReason, o.err)
	}
	if stopTook > 5*time.Second {
		t.Fatalf("finalize took %s, want < 5 s", stopTook)
	}
	codecs, dur := probe(t, o.res.File)
	if codecs != "h264,aac" || dur < 3 {
		t.Fatalf("codecs %s duration %.2f, want about 4 s", codecs, dur)
	}
}

// TestLostConferenceIsRejoinedAndRecordingGoesOn: leaving the conference
// without stop() is a lost meeting (fault contract): the page rejoins and
// the recording goes on in the same file.
func TestLostConferenceIsRejoinedAndRecordingGoesOn(t *testing.T) {
	o := record(t, t.Context(), fakeDeployment{driver: aliceJoins + `
		if (!window.leftOnce) { window.leftOnce = true; setTimeout(() => conf.emit('conference.left'), 2500); }`},
		func(c *config.Config) { c.Duration = 10 * time.Second })
	if o.err != nil || o.res.StopReason != StopDuration {
		t.Fatalf("got %q %v", o.res.StopReason, o.err)
	}
	if _, dur := probe(t, o.res.File); dur < 8 {
		t.Fatalf("duration %.2f", dur)
	}
	meta, _ := readMetadata(t, o.res.MetadataFile)
	t.Logf("%s", segmentsJSON(meta))
	if meta.Reconnects != 1 || len(meta.Segments) != 1 || len(meta.Gaps) != 1 || meta.Gaps[0].Reason != metadata.GapReconnecting {
		t.Fatalf("metadata %s", segmentsJSON(meta))
	}
}

func TestJoinRefusalsMapToExitCodes(t *testing.T) {
	cases := []struct {
		name string
		d    fakeDeployment
		code int
	}{
		{"password", fakeDeployment{scenario: "password"}, 4},
		{"members-only", fakeDeployment{scenario: "members"}, 4},
		{"lobby-denied", fakeDeployment{scenario: "lobby-denied"}, 4},
		{"connection-failed", fakeDeployment{scenario: "conn-fail"}, 3},
		{"not-jitsi", fakeDeployment{noConfig: true}, 3},
		{"kicked", fakeDeployment{driver: aliceJoins + `setTimeout(() => fakeMeeting.kick(), 4000);`}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := record(t, t.Context(), tc.d, nil)
			if got := ExitCode(o.err); got != tc.code {
				t.Fatalf("exit code %d, want %d (err %v)", got, tc.code, o.err)
			}
			line := Describe(o.err)
			if strings.Contains(line, "\n") || !strings.HasPrefix(line, "jitsi-recorder: ") || !strings.HasSuffix(line, ")") {
				t.Fatalf("not one line with a hint: %q", line)
			}
			entries, _ := os.ReadDir(o.dir)
			if tc.name != "kicked" && len(entries) != 0 {
				t.Fatalf("files left after a failed join: %v", entries)
			}
			if tc.name == "kicked" {
				// Kicked while recording: the file is finalized and kept.
				if codecs, dur := probe(t, o.res.File); codecs != "h264,aac" || dur < 1 {
					t.Fatalf("recording after the kick: %s, %.2f s", codecs, dur)
				}
				if meta, _ := readMetadata(t, o.res.MetadataFile); meta.StopReason != StopError || meta.Error == "" {
					t.Fatalf("metadata after the kick: %+v", meta)
				}
			}
		})
	}
}

func TestWaitsInLobbyUntilAdmitted(t *testing.T) {
	o := record(t, t.Context(), fakeDeployment{scenario: "lobby", driver: aliceJoins},
		func(c *config.Config) { c.Duration = 3 * time.Second })
	if o.err != nil || o.res.StopReason != StopDuration {
		t.Fatalf("got %q %v", o.res.StopReason, o.err)
	}
}

func TestJoinTimeoutExitsWithCode7(t *testing.T) {
	o := record(t, t.Context(), fakeDeployment{extra: `JitsiMeetJS.JitsiConnection.prototype.connect = function () {};`},
		func(c *config.Config) { c.JoinTimeout = 4 * time.Second })
	if ExitCode(o.err) != 7 {
		t.Fatalf("exit code %d (err %v)", ExitCode(o.err), o.err)
	}
	if o.took > 12*time.Second {
		t.Fatalf("took %s", o.took)
	}
}

// childrenNamed returns the pids of this process's children whose command
// name is name.
func childrenNamed(name string) []int {
	var pids []int
	for pid, p := range (procfs.FS{Root: "/proc"}).List() {
		if p.Comm == name && p.PPID == os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}
