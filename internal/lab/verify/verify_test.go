package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

// oneFrame is the tolerance for A/V offsets at 30 fps.
const oneFrame = 1000.0 / 30

// recorderOutput is how the recorder writes: H.264 + AAC in fragmented MP4.
var recorderOutput = []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "60",
	"-c:a", "aac", "-b:a", "128k", "-movflags", "+frag_keyframe+empty_moov"}

// generate makes a ground-truth file with ffmpeg in a temp dir from lavfi
// inputs (either may be empty), written with out (default recorderOutput).
func generate(t *testing.T, name, video, audio string, out ...string) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	if out == nil {
		out = recorderOutput
	}
	path := filepath.Join(t.TempDir(), name)
	args := []string{"-nostdin", "-y", "-v", "error"}
	if video != "" {
		args = append(args, "-f", "lavfi", "-i", video)
	}
	if audio != "" {
		args = append(args, "-f", "lavfi", "-i", audio)
	}
	args = append(append(args, out...), path)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if b, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("generate %s: %v\n%s", name, err, b)
	}
	return path
}

func verifyFile(t *testing.T, path string, spec media.Spec) Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Verify(ctx, path, spec)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var b bytes.Buffer
	if err := WriteSummary(&b, rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", b.String())
	return rep
}

// flashVideo is a solid participant colour that turns white for 100 ms
// from each of the given instants (a frame at t belongs to the flash when
// t is in [at, at+0.1), with slack for rounding of the frame times).
func flashVideo(color string, durS float64, at ...float64) string {
	var en []string
	for _, a := range at {
		en = append(en, "between(t,"+ftoa(a-0.01)+","+ftoa(a+0.09)+")")
	}
	return "color=c=" + color + ":s=640x360:r=30:d=" + ftoa(durS) +
		",drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='" + strings.Join(en, "+") + "'"
}

// beepAudio is a participant tone plus a 3 kHz beep of 100 ms at each instant.
func beepAudio(toneHz, durS float64, at ...float64) string {
	var on []string
	for _, a := range at {
		on = append(on, "between(t\\,"+ftoa(a)+"\\,"+ftoa(a+0.1)+")")
	}
	return "aevalsrc=0.3*sin(2*PI*" + ftoa(toneHz) + "*t)+0.3*(" + strings.Join(on, "+") + ")*sin(2*PI*3000*t):s=48000:d=" + ftoa(durS)
}

func ftoa(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

func TestOffsetReadsFlashMinusBeep(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		beeps  []float64
		wantMS float64
	}{
		{"video-late-120ms.mp4", []float64{1.88, 6.88}, 120},
		{"in-sync.mp4", []float64{2.0, 7.0}, 0},
		{"video-early-200ms.mp4", []float64{2.2, 7.2}, -200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			red := media.ParticipantAt(0)
			f := generate(t, c.name, flashVideo(red.Hex, 9, 2.0, 7.0), beepAudio(red.ToneHz, 9, c.beeps...))
			rep := verifyFile(t, f, media.NewSpec(1))
			if rep.AVOffsetMS.N != 2 {
				t.Fatalf("matched markers = %d, want 2 (beeps %v, flashes %v)", rep.AVOffsetMS.N, rep.Audio.BeepsS, rep.Video.FlashesS)
			}
			for _, m := range rep.Markers {
				t.Logf("beep %.4f flash %.4f offset %+.1f ms", m.BeepS, m.FlashS, m.OffsetMS)
				if math.Abs(m.OffsetMS-c.wantMS) > oneFrame {
					t.Errorf("offset %.1f ms, want %.0f ± %.0f", m.OffsetMS, c.wantMS, oneFrame)
				}
			}
		})
	}
}

func TestTonesPresentAndMissing(t *testing.T) {
	t.Parallel()
	f := generate(t, "tones.mp4", "", "aevalsrc=0.25*sin(2*PI*440*t)+0.25*sin(2*PI*550*t):s=48000:d=6")
	rep := verifyFile(t, f, media.NewSpec(3))
	if rep.Video.Present {
		t.Errorf("audio-only file reports video")
	}
	want := []bool{true, true, false}
	for i, tone := range rep.Tones {
		t.Logf("tone %.0f Hz present %.3f", tone.Hz, tone.PresentFraction)
		if want[i] && tone.PresentFraction < 0.9 {
			t.Errorf("tone %.0f Hz present %.3f, want >= 0.9", tone.Hz, tone.PresentFraction)
		}
		if !want[i] && tone.PresentFraction >= 0.1 {
			t.Errorf("tone %.0f Hz present %.3f, want < 0.1 (missing)", tone.Hz, tone.PresentFraction)
		}
	}
}

func TestLateToneFirstSeenWhenItStarts(t *testing.T) {
	t.Parallel()
	f := generate(t, "late.mp4", "", "aevalsrc=0.25*sin(2*PI*440*t)+0.25*gte(t\\,3)*lt(t\\,5)*sin(2*PI*550*t):s=48000:d=7")
	rep := verifyFile(t, f, media.NewSpec(2))
	late := rep.Tones[1]
	t.Logf("550 Hz first %.3f s last %.3f s", late.FirstS, late.LastS)
	if math.Abs(late.FirstS-3) > 0.1 {
		t.Errorf("late tone first seen at %.3f s, want 3 ± 0.1", late.FirstS)
	}
	if math.Abs(late.LastS-5) > 0.1 {
		t.Errorf("late tone last seen at %.3f s, want 5 ± 0.1", late.LastS)
	}
	if rep.Tones[0].FirstS > 0.1 {
		t.Errorf("440 Hz first seen at %.3f s, want from the start", rep.Tones[0].FirstS)
	}
}

func TestColorsOfGridTilesVisibleEmptyTileNot(t *testing.T) {
	t.Parallel()
	spec := media.NewSpec(4)
	p := spec.Participants
	tile := func(x, y int, hex string) string {
		return ",drawbox=x=" + ftoa(float64(x)) + ":y=" + ftoa(float64(y)) + ":w=316:h=176:color=" + hex + ":t=fill"
	}
	// Red and green share an edge (no gap): their blend must not read as
	// another participant.
	video := "color=c=0x1e1e1e:s=640x360:r=30:d=3" +
		tile(2, 2, p[0].Hex) + ",drawbox=x=316:y=2:w=320:h=176:color=" + p[1].Hex + ":t=fill" +
		tile(2, 182, p[2].Hex)
	f := generate(t, "grid.mp4", video, "")
	rep := verifyFile(t, f, spec)
	if rep.Audio.Present {
		t.Errorf("video-only file reports audio")
	}
	for i, c := range rep.Colors {
		t.Logf("%s %s visible=%v fraction %.3f", c.Name, c.Color, c.Visible, c.Fraction)
		if want := i < 3; c.Visible != want {
			t.Errorf("%s (%s) visible = %v, want %v", c.Name, c.Color, c.Visible, want)
		}
	}
}

func TestFrozenVideoReadsAsNotChanging(t *testing.T) {
	t.Parallel()
	f := generate(t, "frozen.mp4", "testsrc=s=640x360:r=30,trim=end_frame=1,loop=loop=149:size=1,setpts=N/30/TB", "")
	rep := verifyFile(t, f, media.NewSpec(1))
	if rep.Video.Frames < 140 {
		t.Fatalf("frames = %d, want ~150", rep.Video.Frames)
	}
	if rep.Video.ChangingFraction > 0.01 {
		t.Errorf("changing fraction %.3f, want ~0", rep.Video.ChangingFraction)
	}
	if rep.Video.FrozenMaxS < 4.5 || len(rep.Video.Stills) != 1 {
		t.Errorf("frozen max %.2f s, stills %+v: want ~5 s, one", rep.Video.FrozenMaxS, rep.Video.Stills)
	}
}

func TestMovingVideoReadsAsChanging(t *testing.T) {
	t.Parallel()
	f := generate(t, "moving.mp4", "testsrc=s=640x360:r=30:d=5", "")
	rep := verifyFile(t, f, media.NewSpec(1))
	if rep.Video.ChangingFraction < 0.9 {
		t.Errorf("changing fraction %.3f, want ~1", rep.Video.ChangingFraction)
	}
	if rep.Video.FrozenMaxS > 0.1 || len(rep.Video.Stills) != 0 {
		t.Errorf("frozen max %.3f s, stills %+v: want one frame, none", rep.Video.FrozenMaxS, rep.Video.Stills)
	}
	if math.Abs(rep.Video.FPS-30) > 0.5 {
		t.Errorf("measured fps %.2f, want 30", rep.Video.FPS)
	}
}

// A picture that stands still mid-file is listed as a still where it is,
// and the moving parts around it are not.
func TestStillMidFileIsListedWhereItIs(t *testing.T) {
	t.Parallel()
	// Frame 60 (2.0 s) repeated 45 more times: still from 2.0 to 3.53 s.
	f := generate(t, "still.mp4", "testsrc=s=640x360:r=30:d=4,loop=loop=45:size=1:start=60,setpts=N/30/TB", "")
	rep := verifyFile(t, f, media.NewSpec(1))
	if len(rep.Video.Stills) != 1 {
		t.Fatalf("stills %+v, want one around 2.0..3.53 s", rep.Video.Stills)
	}
	if s := rep.Video.Stills[0]; math.Abs(s.FromS-2.0) > 0.05 || math.Abs(s.ToS-3.533) > 0.05 {
		t.Errorf("still %.3f..%.3f s, want 2.000..3.533", s.FromS, s.ToS)
	}
	if math.Abs(rep.Video.FrozenMaxS-1.533) > 0.05 {
		t.Errorf("frozen max %.3f s, want 1.533", rep.Video.FrozenMaxS)
	}
}

// MediaRecorder writes Matroska/WebM with a 1 ms time base (ffprobe then
// claims 1000 fps) and Opus audio; the recorder may keep such files.
func TestMatroskaAndWebMRead(t *testing.T) {
	t.Parallel()
	red := media.ParticipantAt(0)
	cases := []struct {
		name string
		out  []string
	}{
		{"h264-opus.mkv", []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "libopus", "-f", "matroska"}},
		{"vp8-opus.webm", []string{"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M", "-c:a", "libopus", "-f", "webm"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := generate(t, c.name, flashVideo(red.Hex, 8, 2.0, 7.0), beepAudio(red.ToneHz, 8, 1.9, 6.9), c.out...)
			rep := verifyFile(t, f, media.NewSpec(1))
			if rep.Tones[0].PresentFraction < 0.9 || !rep.Colors[0].Visible {
				t.Errorf("participant not found: tone %.3f, colour visible %v", rep.Tones[0].PresentFraction, rep.Colors[0].Visible)
			}
			if math.Abs(rep.Video.FPS-30) > 1 {
				t.Errorf("measured fps %.2f, want 30", rep.Video.FPS)
			}
			if rep.AVOffsetMS.N != 2 || math.Abs(rep.AVOffsetMS.Mean-100) > oneFrame {
				t.Errorf("A/V offset %+v, want 2 markers at +100 ± %.0f ms", rep.AVOffsetMS, oneFrame)
			}
		})
	}
}

// Audio that starts later than video must still be placed on the file's
// timeline: the beep at 1.5 s of an audio stream starting at 0.5 s is at
// 2.0 s, in sync with the flash.
func TestLateAudioStreamKeepsItsPlace(t *testing.T) {
	t.Parallel()
	red := media.ParticipantAt(0)
	f := generate(t, "late-audio.mkv", "", "", "-f", "lavfi", "-i", flashVideo(red.Hex, 8, 2.0, 7.0),
		"-itsoffset", "0.5", "-f", "lavfi", "-i", beepAudio(red.ToneHz, 7.5, 1.5, 6.5),
		"-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "libopus", "-f", "matroska")
	rep := verifyFile(t, f, media.NewSpec(1))
	if rep.AVOffsetMS.N != 2 || math.Abs(rep.AVOffsetMS.Mean) > oneFrame {
		t.Errorf("A/V offset %+v, want 2 markers at 0 ± %.0f ms", rep.AVOffsetMS, oneFrame)
	}
	if first := rep.Tones[0].FirstS; math.Abs(first-0.5) > 0.1 {
		t.Errorf("tone first heard at %.3f s, want 0.5", first)
	}
}
