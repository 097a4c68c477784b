package page

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

type tileRect struct{ X, Y, W, H int }

type tile struct {
	ParticipantID string   `json:"participantId"`
	Name          string   `json:"name"`
	Source        string   `json:"source"`
	Stage         bool     `json:"stage"`
	Video         bool     `json:"video"`
	Rect          tileRect `json:"rect"`
}

type layout struct {
	Mode   string `json:"mode"`
	Frames int    `json:"frames"`
	Tiles  []tile `json:"tiles"`
}

func (l layout) tile(id, source string) (tile, bool) {
	for _, t := range l.Tiles {
		if t.ParticipantID == id && t.Source == source {
			return t, true
		}
	}
	return tile{}, false
}

func needFFmpeg(t *testing.T) {
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skip(bin, " not installed")
		}
	}
}

// TestRecordsThreeParticipantsAsH264PCMGrid joins through the fake lib,
// lets three coloured, sounding participants in, records ~5 s and checks
// the file: H.264 1280x720 + PCM, the colours in a 2x2 grid, the names drawn.
func TestRecordsThreeParticipantsAsH264PCMGrid(t *testing.T) {
	needFFmpeg(t)
	h := newHarness(t, fakeDeployment(t))
	h.open("/_recorder?scenario=join")

	if err := h.eval(`window.recorder.start(` + startOpts("") + `)`); err != nil {
		t.Fatalf("start: %v\n%s", err, h.describe())
	}
	enc := h.waitFor(func(e event) bool { return e.Type == "encoder" }, 5*time.Second)
	if enc.Video != "h264" || enc.Audio != "pcm" || !strings.Contains(enc.MimeType, "matroska") {
		t.Fatalf("encoder %s", enc.Raw)
	}
	started := time.Now()
	meter := startBusyMeter()
	add := `fakeMeeting.addRemote('a1', 'Alice Red', '#ff0000', 440);
fakeMeeting.addRemote('b2', 'Bob Green', '#00ff00', 660);
fakeMeeting.addRemote('c3', 'Carol Blue', '#0000ff', 880);`
	if err := h.eval(add); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5*time.Second - time.Since(started))
	l := evalValue[layout](h, `window.recorder.debug()`)
	if l.Mode != "grid" || len(l.Tiles) != 3 {
		t.Fatalf("layout %+v", l)
	}
	for _, tl := range l.Tiles {
		if !tl.Video {
			t.Errorf("tile %s shows no video: %+v", tl.ParticipantID, tl)
		}
	}
	if err := h.eval(`window.recorder.stop()`); err != nil {
		t.Fatal("stop: ", err)
	}

	h.waitFor(func(e event) bool { return e.Type == "state" && e.State == "left" }, 5*time.Second)
	// Events: the states in order, stopped after the last chunk, nothing secret.
	var states []string
	var fps []float64
	sawStopped := false
	for _, e := range h.snapshot() {
		switch e.Type {
		case "state":
			states = append(states, e.State)
		case "stats":
			fps = append(fps, e.Fps)
		case "stopped":
			sawStopped = true
		case "chunk":
			if sawStopped {
				t.Error("chunk after stopped")
			}
		}
		if strings.Contains(e.Raw, "secret.jwt.value") {
			t.Errorf("event leaks the JWT: %s", e.Raw)
		}
	}
	want := "loaded connecting connected joining joined recording left"
	if got := strings.Join(states, " "); got != want {
		t.Errorf("states %q, want %q", got, want)
	}
	if !sawStopped {
		t.Error("no stopped event")
	}
	if len(fps) == 0 {
		t.Error("no stats")
	}
	// ~30 when the machine has CPU to spare; other work on a shared box
	// starves the renderer, so then only log it.
	busy := meter.busy()
	if avg := mean(fps); (avg < 24 && !busy) || avg < 3 || avg > 40 {
		t.Errorf("composite fps %.1f on average, want ~30 (all: %v)", avg, fps)
	}
	t.Logf("composite fps reported by stats: %v (machine busy: %v, CPU stalled %.0f %% of the time)", fps, busy, 100*meter.stallShare())

	// What the page asked lib-jitsi-meet for.
	var fake struct {
		Connection struct {
			Token      string
			ServiceURL string `json:"serviceUrl"`
			Hosts      map[string]string
			Name       string `json:"connectName"`
		}
		Conference struct {
			Name        string
			P2P         map[string]any `json:"p2p"`
			StartSilent bool
		}
		DisplayName string
		Constraints []map[string]any
	}
	raw := evalValue[[]byte](h, `window.fakeLog`)
	if err := json.Unmarshal(raw, &fake); err != nil {
		t.Fatal(err)
	}
	if fake.Connection.Token != "secret.jwt.value" || fake.Conference.Name != "team-sync" || fake.Connection.Name != "team-sync" {
		t.Errorf("token/room: %s", raw)
	}
	if !strings.HasPrefix(fake.Connection.ServiceURL, "ws://127.0.0.1:") || !strings.HasSuffix(fake.Connection.ServiceURL, "/xmpp-websocket?room=team-sync") {
		t.Errorf("service URL %q", fake.Connection.ServiceURL)
	}
	if fake.Connection.Hosts["domain"] != "localhost" {
		t.Errorf("hosts %v", fake.Connection.Hosts)
	}
	if fake.Conference.P2P["enabled"] != false || fake.Conference.StartSilent {
		t.Errorf("conference options: %s", raw)
	}
	if fake.DisplayName != "Recorder" {
		t.Errorf("display name %q", fake.DisplayName)
	}
	if len(fake.Constraints) == 0 {
		t.Error("no receiver constraints sent")
	} else {
		last := fake.Constraints[len(fake.Constraints)-1]
		c, _ := last["constraints"].(map[string]any)
		if _, ok := c["a1-v0"]; !ok {
			t.Errorf("last receiver constraints without a1's source: %v", last)
		}
	}

	// The file.
	dir := t.TempDir()
	rawFile := filepath.Join(dir, "raw.mkv")
	if err := os.WriteFile(rawFile, h.file(), 0o644); err != nil {
		t.Fatal(err)
	}
	mkv := filepath.Join(dir, "rec.mkv")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-i", rawFile, "-c", "copy", mkv).CombinedOutput(); err != nil {
		t.Fatalf("remux: %v\n%s", err, out)
	}
	probe := ffprobe(t, mkv)
	var video, audio map[string]any
	for _, s := range probe.Streams {
		switch s["codec_type"] {
		case "video":
			video = s
		case "audio":
			audio = s
		}
	}
	if video == nil || video["codec_name"] != "h264" || video["width"] != 1280.0 || video["height"] != 720.0 {
		t.Errorf("video stream %v", video)
	}
	if audio == nil || !strings.HasPrefix(fmt.Sprint(audio["codec_name"]), "pcm_") {
		t.Errorf("audio stream %v", audio)
	}
	dur, _ := strconv.ParseFloat(probe.Format["duration"].(string), 64)
	// The stop is asked for after ~5 s; on a starved machine it reaches the
	// page late, and the file runs on until then.
	if maxDur := map[bool]float64{false: 7.5, true: 15}[busy]; dur < 4.5 || dur > maxDur {
		t.Errorf("duration %.2f s, want ~5 (at most %.1f)", dur, maxDur)
	}
	frames := countFrames(t, mkv)
	t.Logf("file: %d bytes in %d chunks, %.2f s, %d video frames (%.1f fps), video %v %vx%v, audio %v %v Hz",
		len(h.file()), len(h.chunks), dur, frames, float64(frames)/dur, video["codec_name"], video["width"], video["height"], audio["codec_name"], audio["sample_rate"])
	if fpsFile := float64(frames) / dur; (fpsFile < 24 && !busy) || fpsFile < 3 {
		t.Errorf("file has %.1f fps", fpsFile)
	}
	if vol := meanVolume(t, mkv); vol < -40 {
		t.Errorf("audio mean volume %.1f dB: the mix is silent", vol)
	}

	// Every participant's tone is in the mix; a frequency nobody sent is not.
	pcm := pcmAt(t, mkv, 3.0, 1.0)
	control := goertzel(pcm, 48000, 1230)
	for _, f := range []float64{440, 660, 880} {
		if p := goertzel(pcm, 48000, f); p < 100*control {
			t.Errorf("tone %.0f Hz: power %.3g, control %.3g", f, p, control)
		}
	}

	// A frame at ~3 s: each colour at its tile's centre, a name label at its corner.
	img := frameAt(t, mkv, 3.0, 1280, 720)
	colours := map[string][3]int{"a1": {255, 0, 0}, "b2": {0, 255, 0}, "c3": {0, 0, 255}}
	wantRects := map[string]tileRect{"a1": {0, 0, 640, 360}, "b2": {640, 0, 640, 360}, "c3": {320, 360, 640, 360}}
	for id, c := range colours {
		tl, _ := l.tile(id, "camera")
		if tl.Rect != wantRects[id] {
			t.Errorf("%s rect %+v, want %+v", id, tl.Rect, wantRects[id])
		}
		r := tl.Rect
		got := img.at(r.X+r.W/2, r.Y+r.H/2)
		if !near(got, c, 60) {
			t.Errorf("%s centre colour %v, want %v", id, got, c)
		}
		// The label box sits at the bottom-left: dark box with white text.
		white := img.count(r.X+4, r.Y+r.H-50, r.X+200, r.Y+r.H-4, func(p [3]int) bool { return p[0] > 200 && p[1] > 200 && p[2] > 200 })
		if white < 30 {
			t.Errorf("%s: no name text in the label area (%d white pixels)", id, white)
		}
	}
}

type probeResult struct {
	Streams []map[string]any `json:"streams"`
	Format  map[string]any   `json:"format"`
}

func ffprobe(t *testing.T, file string) probeResult {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-of", "json", "-show_streams", "-show_format", file).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var p probeResult
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func countFrames(t *testing.T, file string) int {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
		"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", file).Output()
	if err != nil {
		t.Fatalf("count frames: %v", err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

var meanVolumeRE = regexp.MustCompile(`mean_volume: (-?[0-9.]+) dB`)

func meanVolume(t *testing.T, file string) float64 {
	t.Helper()
	out, _ := exec.Command("ffmpeg", "-v", "info", "-i", file, "-vn", "-af", "volumedetect", "-f", "null", "-").CombinedOutput()
	m := meanVolumeRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no volume in ffmpeg output:\n%s", out)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

type rgbImage struct {
	w, h int
	pix  []byte
}

func (im rgbImage) at(x, y int) [3]int {
	i := (y*im.w + x) * 3
	return [3]int{int(im.pix[i]), int(im.pix[i+1]), int(im.pix[i+2])}
}

func (im rgbImage) count(x0, y0, x1, y1 int, match func([3]int) bool) int {
	n := 0
	for y := max(0, y0); y < min(im.h, y1); y++ {
		for x := max(0, x0); x < min(im.w, x1); x++ {
			if match(im.at(x, y)) {
				n++
			}
		}
	}
	return n
}

func frameAt(t *testing.T, file string, sec float64, w, h int) rgbImage {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-v", "error", "-ss", fmt.Sprint(sec), "-i", file, "-frames:v", "1",
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("frame at %.1f s: %v", sec, err)
	}
	if out.Len() != w*h*3 {
		t.Fatalf("frame has %d bytes, want %d", out.Len(), w*h*3)
	}
	return rgbImage{w: w, h: h, pix: out.Bytes()}
}

func near(a, b [3]int, tol int) bool {
	for i := range a {
		d := a[i] - b[i]
		if d < -tol || d > tol {
			return false
		}
	}
	return true
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// TestAudioOnlyRecordsOpusWithoutCanvas: audioOnly picks an audio MIME type
// and records the mix only.
func TestAudioOnlyRecordsOpusWithoutCanvas(t *testing.T) {
	needFFmpeg(t)
	h := newHarness(t, fakeDeployment(t))
	h.open("/_recorder?scenario=join")
	if err := h.eval(`window.recorder.start(` + startOpts(`,"audioOnly":true`) + `)`); err != nil {
		t.Fatalf("start: %v\n%s", err, h.describe())
	}
	enc := h.waitFor(func(e event) bool { return e.Type == "encoder" }, 5*time.Second)
	if !strings.HasPrefix(enc.MimeType, "audio/") || enc.Audio != "opus" || enc.Video != "" {
		t.Errorf("encoder %s", enc.Raw)
	}
	h.eval(`fakeMeeting.addRemote('a1', 'Alice', '#ff0000', 440)`)
	time.Sleep(2500 * time.Millisecond)
	if l := evalValue[layout](h, `window.recorder.debug()`); l.Mode != "none" {
		t.Errorf("audio-only has a layout: %+v", l)
	}
	// No video is asked for, ever, and a video track that comes anyway is
	// not taken.
	var fake struct {
		Conference  map[string]any
		LastN       []int            `json:"lastN"`
		Constraints []map[string]any `json:"constraints"`
	}
	raw := evalValue[[]byte](h, `window.fakeLog`)
	json.Unmarshal(raw, &fake)
	for _, n := range fake.LastN {
		if n != 0 {
			t.Errorf("setLastN(%d) in audio-only", n)
		}
	}
	if fake.Conference["channelLastN"] != 0.0 || fake.Conference["startLastN"] != 0.0 {
		t.Errorf("conference options %v, want channelLastN and startLastN 0", fake.Conference)
	}
	if len(fake.LastN) == 0 || len(fake.Constraints) == 0 {
		t.Errorf("no lastN 0 asked for: %s", raw)
	}
	for _, c := range fake.Constraints {
		if c["lastN"] != 0.0 {
			t.Errorf("receiver constraints %v in audio-only", c)
		}
	}
	for _, e := range h.snapshot() {
		if e.Type == "track" && e.Kind == "video" {
			t.Errorf("audio-only took a video track: %s", e.Raw)
		}
	}
	if err := h.eval(`window.recorder.stop()`); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "a.webm")
	os.WriteFile(file, h.file(), 0o644)
	p := ffprobe(t, file)
	if len(p.Streams) != 1 || p.Streams[0]["codec_name"] != "opus" {
		t.Errorf("streams %v", p.Streams)
	}
	if vol := meanVolume(t, file); vol < -40 {
		t.Errorf("audio mean volume %.1f dB", vol)
	}
}

// pcmAt decodes dur seconds of audio from sec on as mono float samples at 48 kHz.
func pcmAt(t *testing.T, file string, sec, dur float64) []float64 {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-ss", fmt.Sprint(sec), "-t", fmt.Sprint(dur), "-i", file,
		"-vn", "-ac", "1", "-ar", "48000", "-f", "s16le", "-").Output()
	if err != nil {
		t.Fatalf("decode audio: %v", err)
	}
	samples := make([]float64, len(out)/2)
	for i := range samples {
		samples[i] = float64(int16(binary.LittleEndian.Uint16(out[2*i:]))) / 32768
	}
	return samples
}

// goertzel returns the power of one frequency in the samples.
func goertzel(x []float64, rate, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/rate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+k*s1-s2, s1
	}
	return s1*s1 + s2*s2 - k*s1*s2
}

// busyMeter tells whether other work starved this test's browser between
// its start and now. The 1-minute load alone lags by tens of seconds: a
// Chromium started by another package 10 s ago hardly shows in it, so the
// CPU pressure over the test's own window counts too.
type busyMeter struct {
	stall time.Duration // "some" CPU pressure total at the start
	at    time.Time
	ok    bool
}

func startBusyMeter() busyMeter {
	stall, ok := cpuStall()
	return busyMeter{stall: stall, at: time.Now(), ok: ok}
}

// busy: a 1-minute load above 1.5 per CPU, or runnable tasks waiting for a
// CPU during more than 40 % of the window (this test alone, on an idle
// machine: about 20 %).
func (m busyMeter) busy() bool {
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if load, err := strconv.ParseFloat(strings.Fields(string(b))[0], 64); err == nil && load > 1.5*float64(goruntime.NumCPU()) {
			return true
		}
	}
	return m.stallShare() > 0.4
}

// stallShare is the share of the window in which some task waited for a
// CPU; 0 without pressure stall information.
func (m busyMeter) stallShare() float64 {
	now, ok := cpuStall()
	if !m.ok || !ok {
		return 0
	}
	return float64(now-m.stall) / float64(time.Since(m.at))
}

// cpuStall reads the "some" total of /proc/pressure/cpu.
func cpuStall() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0, false
	}
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, "total="); ok {
			us, err := strconv.ParseInt(v, 10, 64)
			return time.Duration(us) * time.Microsecond, err == nil
		}
	}
	return 0, false
}
