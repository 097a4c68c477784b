package recorder

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
	"github.com/jitsi-recorder/jitsi-recorder/internal/config"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/verify"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/web"
	"github.com/jitsi-recorder/jitsi-recorder/internal/meeting"
)

// TestRecordsLabMeetingWithEveryParticipantSeenAndHeard records a real
// lib-jitsi-meet meeting on the loopback lab (Prosody, focus and bridge
// stand-ins, synthetic participants) and checks the file with the lab's
// verifier: each participant's colour and tone are in it, video moves,
// and audio and video are in sync.
func TestRecordsLabMeetingWithEveryParticipantSeenAndHeard(t *testing.T) {
	if testing.Short() {
		t.Skip("lab test skipped in -short mode")
	}
	if _, err := web.FindLibDir(); err != nil {
		t.Skip("lab needs lib-jitsi-meet: ", err)
	}
	if _, err := browser.FindBinary(""); err != nil {
		t.Skip("chromium not installed: ", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Second)
	defer cancel()
	labLog := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// Send-only cameras of the crowd shape (320x180@15): this test runs
	// beside other packages' browsers, and the lab's cost is CPU the
	// recorder does not get. Nothing here looks at what the participants
	// receive.
	spec := media.NewSpec(2).WithShape(media.CrowdShape())
	l, err := lab.Start(ctx, lab.Config{Room: "e2e", Participants: 2, Spec: &spec, SendOnly: true, ParticipantsNice: lab.RecorderFirstNice, Logger: labLog})
	if err != nil {
		t.Fatal("lab: ", err)
	}
	defer l.Close()

	m, err := meeting.Parse(l.MeetingURL("e2e"))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cfg := config.Config{
		Meeting: m, RecordingsDir: t.TempDir(), DisplayName: "Recorder", Duration: 15 * time.Second,
		Width: 1280, Height: 720, FPS: 30, VideoBitrate: 2_500_000, AudioBitrate: 128_000,
		AloneTimeout: 30 * time.Second, JoinTimeout: 30 * time.Second, FFmpegPath: "ffmpeg",
		Capture: config.CaptureTracks, // the default (the fake-lib tests cover composite)
		Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("%s\nlogs:\n%s", Describe(err), logs.String())
	}
	t.Logf("recorded %s: %s, %d bytes, stop %s", res.File, res.Duration, res.Bytes, res.StopReason)
	rep, err := verify.Verify(ctx, res.File, l.Spec)
	if err != nil {
		t.Fatal("verify: ", err)
	}
	t.Logf("video %d frames %.1f fps, max gap %.0f ms, changing %.0f %%, stills %+v; A/V offset mean %.0f ms",
		rep.Video.Frames, rep.Video.FPS, rep.Video.MaxGapS*1000, rep.Video.ChangingFraction*100, rep.Video.Stills, rep.AVOffsetMS.Mean)
	// The frame rate is checked loosely: this 2-core machine is shared
	// with other test runs (29.7 fps measured when idle).
	if rep.DurationS < 10 || rep.Video.FPS < 15 {
		t.Errorf("video: duration %.1f s, %.1f fps", rep.DurationS, rep.Video.FPS)
	}
	// Moving: once the cameras are in (4 s), the picture never stands
	// still for more than a second. How many composite frames repeat
	// depends on the cameras' own frame rate, not on the recorder.
	for _, st := range rep.Video.Stills {
		if st.ToS-max(st.FromS, 4) > 1 {
			t.Errorf("the picture stood still %.2f..%.2f s", st.FromS, st.ToS)
		}
	}
	for _, tone := range rep.Tones {
		t.Logf("tone %s %.0f Hz present %.0f %%", tone.Name, tone.Hz, tone.PresentFraction*100)
		if tone.PresentFraction < 0.6 {
			t.Errorf("tone of %s present only %.0f %%", tone.Name, tone.PresentFraction*100)
		}
	}
	for _, c := range rep.Colors {
		t.Logf("colour %s %s visible %v %.0f %%", c.Name, c.Color, c.Visible, c.Fraction*100)
		if !c.Visible {
			t.Errorf("colour of %s not visible", c.Name)
		}
	}
	t.Logf("recorder logs:\n%s", logs.String())
	meta, _ := readMetadata(t, res.MetadataFile)
	if len(meta.Participants) != 2 {
		t.Errorf("metadata participants %+v", meta.Participants)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
