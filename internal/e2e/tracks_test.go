package e2e

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
	"github.com/jitsi-recorder/jitsi-recorder/internal/metadata"
)

// TestTracksCaptureRecordsThreeParticipantsAndTheirTracks: with
// CAPTURE=tracks the browser hands over each participant's media still
// encoded. The composite, made outside the browser, holds everyone seen
// and heard at full frame rate and in sync; beside it, each participant's
// audio and video are files of their own, as received (Opus, VP8), each
// holding that participant only.
func TestTracksCaptureRecordsThreeParticipantsAndTheirTracks(t *testing.T) {
	l := startLab(t, "tracks", 3, 3)
	r := startRecorder(t, l, "tracks", "RECORD_DURATION=20", "CAPTURE=tracks")
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
	if rep.Video.FPS < 29 {
		t.Errorf("composite at %.1f fps, want >= 29", rep.Video.FPS)
	}
	t.Logf("measured: duration %.2f s, video %.1f fps, A/V offset mean %.0f ms (min %.0f, max %.0f, %d markers)",
		rep.DurationS, rep.Video.FPS, rep.AVOffsetMS.Mean, rep.AVOffsetMS.Min, rep.AVOffsetMS.Max, rep.AVOffsetMS.N)
	checkTrackFiles(t, r.dir, meta, l.Spec, rep.DurationS)
}

// checkTrackFiles: every participant has an Opus and a VP8 track file in
// the metadata, on disk, starting soon after they joined; the audio holds
// their tone and nobody else's, the video their colour and nobody else's.
func checkTrackFiles(t *testing.T, dir string, meta metadata.Recording, spec media.Spec, duration float64) {
	t.Helper()
	for i, p := range spec.Participants {
		m := findMeta(meta.Participants, p.Name)
		if m == nil {
			t.Errorf("%s missing from the metadata", p.Name)
			continue
		}
		for _, kind := range []string{"audio", "video"} {
			tr := findTrack(meta.Tracks, m.ID, kind)
			if tr == nil {
				t.Errorf("%s has no %s track in the metadata: %+v", p.Name, kind, meta.Tracks)
				continue
			}
			want := map[string]string{"audio": "opus", "video": "vp8"}[kind]
			if tr.Codec != want {
				t.Errorf("%s's %s track is %q, want %q", p.Name, kind, tr.Codec, want)
			}
			if tr.StartAt > m.JoinedAt+mediaSetup.Seconds() {
				t.Errorf("%s's %s track starts at %.2f s, joined at %.2f s", p.Name, kind, tr.StartAt, m.JoinedAt)
			}
			path := filepath.Join(dir, tr.File)
			trep := verifyFile(t, path, spec)
			if d := trep.DurationS; d < duration-tr.StartAt-2 {
				t.Errorf("%s: %.2f s, want about %.2f s (the recording from %.2f s)", tr.File, d, duration-tr.StartAt, tr.StartAt)
			}
			for j, other := range spec.Participants {
				switch {
				case kind == "audio" && j == i && trep.Tones[j].PresentFraction < 0.9:
					t.Errorf("%s: %s's tone in %.0f %% of windows, want >= 90 %%", tr.File, other.Name, 100*trep.Tones[j].PresentFraction)
				case kind == "audio" && j != i && trep.Tones[j].PresentFraction > 0.05:
					t.Errorf("%s: %s's tone in %.0f %% of windows, want none", tr.File, other.Name, 100*trep.Tones[j].PresentFraction)
				case kind == "video" && j == i && !trep.Colors[j].Visible:
					t.Errorf("%s: %s's colour not visible", tr.File, other.Name)
				case kind == "video" && j != i && trep.Colors[j].Visible:
					t.Errorf("%s: %s's colour visible in another's track", tr.File, other.Name)
				}
			}
			if kind == "video" {
				checkMoving(t, trep, 0, tr.File)
			}
		}
	}
}

func findTrack(ts []metadata.Track, participant, kind string) *metadata.Track {
	for i := range ts {
		if ts[i].Participant == participant && ts[i].Kind == kind {
			return &ts[i]
		}
	}
	return nil
}

// TestTracksSurviveSIGKILLAndComposeAgain: killed without warning, the
// recorder leaves track files that play, and `jitsi-recorder compose`
// builds the composite again from them, faster than real time, with
// everyone seen and heard.
func TestTracksSurviveSIGKILLAndComposeAgain(t *testing.T) {
	l := startLab(t, "recompose", 2, 2)
	r := startRecorder(t, l, "recompose", "CAPTURE=tracks")
	r.waitRecording(t, 40*time.Second)
	time.Sleep(12 * time.Second)
	signal(t, r, syscall.SIGKILL)
	r.wait(t, 10*time.Second)
	assertNoLeftovers(t, r.tag)

	meta := r.metadata(t) // written while recording: it names the tracks
	if len(meta.Tracks) < 4 {
		t.Fatalf("metadata after SIGKILL lists %d tracks, want 4: %+v", len(meta.Tracks), meta.Tracks)
	}
	for _, tr := range meta.Tracks {
		// A killed recorder's track files say no duration: the verifier
		// decodes them whole.
		if d := verifyFile(t, filepath.Join(r.dir, tr.File), l.Spec).DurationS; d < 8 {
			t.Errorf("%s after SIGKILL: %.2f s, want >= 8", tr.File, d)
		}
	}

	out := filepath.Join(r.dir, "recomposed.mp4")
	started := time.Now()
	cmd := exec.Command(recorderBin, "compose", "-o", out, metadata.PathFor(r.path()))
	cmd.Env = append(os.Environ(), r.tag)
	b, err := cmd.CombinedOutput()
	took := time.Since(started)
	if err != nil {
		t.Fatalf("compose: %v\n%s", err, b)
	}
	t.Logf("compose took %s:\n%s", took.Round(time.Millisecond), strings.TrimSpace(string(b)))
	rep := verifyFile(t, out, l.Spec)
	if rep.DurationS < 10 {
		t.Errorf("recomposed file %.2f s, want >= 10", rep.DurationS)
	}
	if took.Seconds() > rep.DurationS {
		t.Errorf("composing %.1f s took %s, want faster than real time", rep.DurationS, took)
	}
	for i, p := range l.Spec.Participants {
		if f := rep.Tones[i].PresentBetween(mediaSetup.Seconds(), rep.DurationS-1); f < 0.9 {
			t.Errorf("recomposed: %s's tone in %.0f %% of windows, want >= 90 %%", p.Name, 100*f)
		}
		if !rep.Colors[i].Visible {
			t.Errorf("recomposed: %s's colour not visible", p.Name)
		}
	}
	checkMoving(t, rep, mediaSetup.Seconds(), "recomposed")
	checkSync(t, rep)
}
