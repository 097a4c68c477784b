package e2e

import (
	"math"
	"syscall"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/verify"
)

// TestRecordsThreeParticipants is the recorder's core promise: a 20 s
// recording of three people in which each is heard and seen, video moves,
// and audio and video are in sync.
func TestRecordsThreeParticipants(t *testing.T) {
	l := startLab(t, "three", 3, 3)
	r := startRecorder(t, l, "three", "RECORD_DURATION=20")
	if code := r.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	rep := verifyFile(t, r.path(), l.Spec)
	meta := r.metadata(t)

	if math.Abs(rep.DurationS-20) > 1 {
		t.Errorf("duration %.2f s, want 20 ± 1", rep.DurationS)
	}
	checkParticipants(t, rep, meta.Participants, l.Spec.Participants)
	checkMoving(t, rep, mediaSetup.Seconds(), "")
	checkSync(t, rep)
	checkVideoToTheEnd(t, rep)
	t.Logf("measured: duration %.2f s, video %.1f fps, A/V offset mean %.0f ms (min %.0f, max %.0f, %d markers)",
		rep.DurationS, rep.Video.FPS, rep.AVOffsetMS.Mean, rep.AVOffsetMS.Min, rep.AVOffsetMS.Max, rep.AVOffsetMS.N)
}

// TestLateJoinerAndEarlyLeaverShowAtTheirTimes: someone joining after the
// start and someone leaving before the end are in the file and in the
// metadata at the right offsets.
func TestLateJoinerAndEarlyLeaverShowAtTheirTimes(t *testing.T) {
	l := startLab(t, "comings", 3, 2)
	r := startRecorder(t, l, "comings", "RECORD_DURATION=24")
	r.waitRecording(t, 40*time.Second)
	time.Sleep(4 * time.Second)
	if err := l.Group.Join(2); err != nil {
		t.Fatalf("late join: %v", err)
	}
	time.Sleep(8 * time.Second)
	if err := l.Group.Leave(1); err != nil {
		t.Fatalf("leave: %v", err)
	}
	if code := r.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	rep := verifyFile(t, r.path(), l.Spec)
	meta := r.metadata(t)
	checkParticipants(t, rep, meta.Participants, l.Spec.Participants)
	checkVideoToTheEnd(t, rep)

	late, leaver := findMeta(meta.Participants, l.Spec.Participants[2].Name), findMeta(meta.Participants, l.Spec.Participants[1].Name)
	if late == nil || leaver == nil {
		t.Fatalf("metadata lacks the late joiner or the leaver: %+v", meta.Participants)
	}
	if late.JoinedAt < 2 {
		t.Errorf("late joiner joinedAt %.1f s, want after the start", late.JoinedAt)
	}
	if leaver.LeftAt == nil || *leaver.LeftAt > meta.DurationSeconds-2 {
		t.Errorf("leaver leftAt %v, want well before the end (%.1f s)", leaver.LeftAt, meta.DurationSeconds)
	}
	// The tones say the same as the metadata, within 1.5 s.
	lateTone, leaverTone := rep.Tones[2], rep.Tones[1]
	if d := lateTone.FirstS - late.JoinedAt; d < -0.5 || d > mediaSetup.Seconds() {
		t.Errorf("late joiner heard from %.2f s, metadata says joined at %.2f s: want within %s after", lateTone.FirstS, late.JoinedAt, mediaSetup)
	}
	if math.Abs(leaverTone.LastS-*leaver.LeftAt) > 1.5 {
		t.Errorf("leaver heard until %.2f s, metadata says left at %.2f s", leaverTone.LastS, *leaver.LeftAt)
	}
	t.Logf("late joiner: joinedAt %.2f s, first heard %.2f s; leaver: leftAt %.2f s, last heard %.2f s",
		late.JoinedAt, lateTone.FirstS, *leaver.LeftAt, leaverTone.LastS)
}

// TestSIGTERMFinalizesACompleteFile: a stop by signal ends within 5 s with
// exit code 0 and a complete file.
func TestSIGTERMFinalizesACompleteFile(t *testing.T) {
	l := startLab(t, "sigterm", 2, 2)
	r := startRecorder(t, l, "sigterm")
	r.waitRecording(t, 40*time.Second)
	time.Sleep(8 * time.Second)
	signal(t, r, syscall.SIGTERM)
	sent := time.Now()
	if code := r.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if took := time.Since(sent); took > 5*time.Second {
		t.Errorf("finalizing took %s, want < 5 s", took)
	}
	d := probeDuration(t, r.path())
	rep := verifyFile(t, r.path(), l.Spec)
	if d < 7 || !rep.Video.Present || !rep.Audio.Present {
		t.Errorf("file after SIGTERM: %.1f s, video %v, audio %v", d, rep.Video.Present, rep.Audio.Present)
	}
	checkVideoToTheEnd(t, rep)
	if r.metadata(t).StopReason == "" {
		t.Error("metadata has no stop reason")
	}
	t.Logf("SIGTERM: finalized in %s, file %.2f s", time.Since(sent).Round(time.Millisecond), d)
}

// TestSIGKILLLeavesAPlayableFile: killed without warning, the recorder
// leaves a file that plays up to within 2 s of the kill, and no Chromium or
// FFmpeg behind (checked in the cleanup).
func TestSIGKILLLeavesAPlayableFile(t *testing.T) {
	l := startLab(t, "sigkill", 2, 2)
	r := startRecorder(t, l, "sigkill")
	r.waitRecording(t, 40*time.Second)
	firstMedia := time.Now()
	time.Sleep(10 * time.Second)
	signal(t, r, syscall.SIGKILL)
	killedAfter := time.Since(firstMedia).Seconds()
	r.wait(t, 10*time.Second)
	// FFmpeg sees EOF and writes its last fragment: wait for it, and the
	// rest of the recorder's processes, to exit.
	assertNoLeftovers(t, r.tag)
	d := probeDuration(t, r.path())
	// The file started before firstMedia was observed, so it can only be longer.
	if d < killedAfter-2 {
		t.Errorf("file plays %.2f s, the kill came %.2f s after media was first on disk: lost more than 2 s", d, killedAfter)
	}
	rep := verifyFile(t, r.path(), l.Spec)
	if !rep.Video.Present || rep.Video.Frames < 100 {
		t.Errorf("video after SIGKILL: %+v", rep.Video)
	}
	t.Logf("SIGKILL %.2f s after first media: file plays %.2f s", killedAfter, d)
}

// mediaSetup bounds the time from a participant's join (MUC presence, as
// the metadata records it) to their media in the recording: their session
// with the bridge, the source-add to the recorder, the first key frame.
const mediaSetup = 4 * time.Second

// maxStill is the longest the recorded picture may stand still once
// everyone's video is in. The lab's cameras send 15 fps and a starved one
// fewer, so how many composite frames repeat says more about the lab than
// the recorder; a picture that stops for a second is what a viewer sees.
const maxStill = 1.0

// checkMoving: no still of the video lasts more than maxStill after from
// (seconds into the file). what names the file in the message.
func checkMoving(t *testing.T, rep verify.Report, from float64, what string) {
	t.Helper()
	if what != "" {
		what += ": "
	}
	if !rep.Video.Present {
		t.Errorf("%sno video", what)
		return
	}
	for _, s := range rep.Video.Stills {
		if s.ToS-math.Max(s.FromS, from) > maxStill {
			t.Errorf("%sthe picture stood still %.2f..%.2f s, want moving video (no still over %.1f s after %.1f s)", what, s.FromS, s.ToS, maxStill, from)
		}
	}
}

// checkParticipants: each participant's tone is present in >= 90 % of the
// windows while they were in the meeting (from the metadata), and their
// colour is visible.
func checkParticipants(t *testing.T, rep verify.Report, metaPs []metaParticipant, spec []specParticipant) {
	t.Helper()
	for i, p := range spec {
		m := findMeta(metaPs, p.Name)
		if m == nil {
			t.Errorf("%s missing from the metadata", p.Name)
			continue
		}
		to := rep.DurationS
		if m.LeftAt != nil {
			to = *m.LeftAt
		}
		checkHeardSoonAfterJoin(t, rep.Tones[i], m.JoinedAt, to)
		if !rep.Colors[i].Visible {
			t.Errorf("%s's colour %s not visible", p.Name, p.Hex)
		}
	}
}

// checkHeardSoonAfterJoin: a participant's tone starts within mediaSetup
// of their join (time 0 for those there before the recorder) and is then
// present in >= 90 % of the windows until to. Media flows a moment after
// the join (session set-up, key frame), longer on a loaded machine: a
// share counted from a fixed 1.5 s failed files whose media came at 2.5 s.
func checkHeardSoonAfterJoin(t *testing.T, tone verify.ToneReport, joinedAt, to float64) {
	t.Helper()
	from := joinedAt + mediaSetup.Seconds()
	if tone.FirstS < 0 || tone.FirstS > from {
		t.Errorf("%s's %.0f Hz tone first heard at %.2f s (-1: never), want by %.1f s (joined at %.1f s)", tone.Name, tone.Hz, tone.FirstS, from, joinedAt)
	}
	if f := tone.PresentBetween(from, to); f < 0.9 {
		t.Errorf("%s's %.0f Hz tone present in %.0f %% of windows between %.1f and %.1f s, want >= 90 %%", tone.Name, tone.Hz, 100*f, from, to)
	}
}

// checkVideoToTheEnd: the video runs to the end of a file that was closed
// cleanly, not seconds short of the audio (a browser that fell behind
// hands over its queued audio at the stop, not all its video).
func checkVideoToTheEnd(t *testing.T, rep verify.Report) {
	t.Helper()
	if !rep.Video.Present || rep.DurationS-rep.Video.LastS > 1 {
		t.Errorf("video ends at %.2f s of a %.2f s file, want within 1 s of its end", rep.Video.LastS, rep.DurationS)
	}
}

func checkSync(t *testing.T, rep verify.Report) {
	t.Helper()
	checkSyncFrom(t, rep, 0)
}

// TestAudioOnlyRecordsEveryVoice: AUDIO_ONLY=true gives a file with one AAC
// stream and no video, in which every participant is heard.
func TestAudioOnlyRecordsEveryVoice(t *testing.T) {
	l := startLab(t, "voices", 3, 3)
	r := startRecorder(t, l, "voices", "RECORD_DURATION=12", "AUDIO_ONLY=true")
	if code := r.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	rep := verifyFile(t, r.path(), l.Spec)
	if rep.Video.Present {
		t.Error("audio-only file has a video stream")
	}
	if len(rep.Streams) != 1 || rep.Streams[0].Codec != "aac" {
		t.Errorf("streams %+v, want one AAC stream", rep.Streams)
	}
	if math.Abs(rep.DurationS-12) > 1 {
		t.Errorf("duration %.2f s, want 12 ± 1", rep.DurationS)
	}
	meta := r.metadata(t)
	for i, p := range l.Spec.Participants {
		m := findMeta(meta.Participants, p.Name)
		if m == nil {
			t.Errorf("%s missing from the metadata", p.Name)
			continue
		}
		checkHeardSoonAfterJoin(t, rep.Tones[i], m.JoinedAt, rep.DurationS)
	}
}
