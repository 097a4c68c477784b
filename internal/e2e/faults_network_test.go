package e2e

import (
	"context"
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/netfault"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/verify"
	"github.com/jitsi-recorder/jitsi-recorder/internal/metadata"
)

const (
	// outageFor is how long the media path is cut.
	outageFor = 10 * time.Second
	// gapNoticedWithin bounds how long after media stops the metadata's
	// gap may start: the page's no-media threshold (4 s) plus slack.
	gapNoticedWithin = 7.0
	// mediaBackWithin bounds the time from the end of a media outage to
	// every participant heard again in the file.
	mediaBackWithin = 8.0
)

// recordThroughOutage records a 2-person meeting for recordingFor seconds,
// with cut applied about 8 s in and undone outageFor later. It returns the
// outage on the recording's timeline, the report of the (single) file and
// the metadata.
func recordThroughOutage(t *testing.T, room string, cut func(*lab.Lab) (undo func())) (outage, verify.Report, metadata.Recording, *lab.Lab) {
	return recordThrough(t, room, recordingFor, outageFor, nil, cut)
}

func recordThrough(t *testing.T, room string, duration int, outageFor time.Duration, env []string, cut func(*lab.Lab) (undo func())) (outage, verify.Report, metadata.Recording, *lab.Lab) {
	t.Helper()
	l := startLab(t, room, 2, 2)
	r := startFaultRecorder(t, l, room, append([]string{"RECORD_DURATION=" + strconv.Itoa(duration)}, env...)...)
	r.waitRecording(t, 40*time.Second)
	time.Sleep(8 * time.Second)
	begin := time.Now()
	undo := cut(l)
	time.Sleep(outageFor)
	undo()
	end := time.Now()
	if code := r.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0 (recorded to the end despite the outage)", code)
	}
	meta := r.metadata(t)
	logMeta(t, meta)
	o := outage{offset(meta, begin), offset(meta, end)}
	rep := verifyFile(t, r.path(), l.Spec)
	return o, rep, meta, l
}

// checkRecoveredOutage is the outcome every media outage must have: one
// continuous recording, silence during the outage, every participant back
// within mediaBackWithin, A/V in sync after it, and a no-media gap in the
// metadata. It returns the measured recovery time.
func checkRecoveredOutage(t *testing.T, o outage, rep verify.Report, meta metadata.Recording, n int) float64 {
	t.Helper()
	checkContinuousTimeline(t, rep, meta, recordingFor)
	z := fileZero(t, meta)
	of := o.shift(z) // the outage in the file
	checkSilentDuring(t, rep, n, of)
	backInFile := mediaBackAt(rep, n, of.to-1)
	if backInFile < 0 {
		t.Errorf("media never came back after the outage %s (file %s)", o, of)
		return -1
	}
	back := backInFile + z
	recovery := math.Max(0, back-o.to)
	if recovery > mediaBackWithin {
		t.Errorf("every participant heard again %.2f s after the outage ended, want <= %.0f s", recovery, mediaBackWithin)
	}
	checkHeardFrom(t, rep, n, backInFile, "after the outage")
	if vb := checkRecoveredSync(t, rep, backInFile, of.to); vb >= 0 {
		t.Logf("video: first marker flash %.2f s after the outage; longest frozen picture %.2f s for a %.2f s outage", vb-of.to, rep.Video.FrozenMaxS, of.to-of.from)
	}
	// The picture froze when the media stopped, at the outage's start: the
	// longest frozen picture says when the video moved again.
	if moved := rep.Video.FrozenMaxS - (of.to - of.from); moved > mediaBackWithin {
		t.Errorf("longest frozen picture %.2f s for a %.2f s outage: the video moved again %.2f s after it, want within %.0f s", rep.Video.FrozenMaxS, of.to-of.from, moved, mediaBackWithin)
	}
	if g := checkGap(t, meta, o, gapNoticedWithin, metadata.GapNoMedia); g != nil && g.To != nil {
		if *g.To < o.to-1 || *g.To > o.to+mediaBackWithin+2 {
			t.Errorf("no-media gap ends at %.2f s, the outage ended at %.2f s and media was back at %.2f s", *g.To, o.to, back)
		}
		t.Logf("metadata gap %s %.2f..%.2f s (outage %s): noticed after %.2f s, closed %.2f s after the outage", g.Reason, g.From, *g.To, o, g.From-o.from, *g.To-o.to)
	}
	return recovery
}

// TestBridgePauseIsAGapInOneContinuousRecording (issue 4, 1a): the bridge
// stops forwarding for 10 s and comes back.
func TestBridgePauseIsAGapInOneContinuousRecording(t *testing.T) {
	o, rep, meta, l := recordThroughOutage(t, "bridgepause", func(l *lab.Lab) func() {
		l.Bridge.SetPaused(true)
		return func() { l.Bridge.SetPaused(false) }
	})
	rec := checkRecoveredOutage(t, o, rep, meta, len(l.Spec.Participants))
	t.Logf("measured: bridge paused %s; every participant heard again %.2f s after it resumed; video %.1f fps overall, longest frozen picture %.2f s",
		o, rec, rep.Video.FPS, rep.Video.FrozenMaxS)
}

// TestDarkLinkIsAGapInOneContinuousRecording (issue 4, 1c): the network
// between the recorder and the bridge drops every packet (ICE consent
// checks too) for 10 s.
func TestDarkLinkIsAGapInOneContinuousRecording(t *testing.T) {
	requirePrivateNetns(t)
	o, rep, meta, l := recordThroughOutage(t, "darklink", func(l *lab.Lab) func() {
		return cutRecorderLink(t, l, "darklink", 100)
	})
	rec := checkRecoveredOutage(t, o, rep, meta, len(l.Spec.Participants))
	t.Logf("measured: link dark %s; every participant heard again %.2f s after it came back; video %.1f fps overall, longest frozen picture %.2f s",
		o, rec, rep.Video.FPS, rep.Video.FrozenMaxS)
}

// cutRecorderLink drops percent % of the packets on the recorder's link to
// the bridge (and only that link) until the returned func is called.
func cutRecorderLink(t *testing.T, l *lab.Lab, room string, percent int) func() {
	t.Helper()
	ports, err := l.BridgePorts(room, "Recorder")
	if err != nil {
		t.Fatal(err)
	}
	f, err := netfault.DropUDP(t.Context(), ports, percent)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Remove() })
	t.Logf("dropping %d %% of UDP on bridge ports %v (the recorder's link)", percent, ports)
	return func() {
		n, _ := f.Dropped(context.Background())
		if err := f.Remove(); err != nil {
			t.Error(err)
		}
		t.Logf("rules removed: %d packets dropped", n)
		if n == 0 {
			t.Error("the rules dropped nothing: the fault never reached the recorder's link")
		}
	}
}

// TestPacketLossFivePercentKeepsRecording (issue 4, 1b): 5 % of the packets
// between the recorder and the bridge are lost for 12 s. The recording
// goes on in one file, nobody is dropped, and once the loss ends every
// participant is heard and A/V are in sync. What the loss did to the file
// is measured on the lossy span.
func TestPacketLossFivePercentKeepsRecording(t *testing.T) {
	requirePrivateNetns(t)
	const room = "lossy"
	l := startLab(t, room, 2, 2)
	r := startFaultRecorder(t, l, room, "RECORD_DURATION="+strconv.Itoa(recordingFor))
	r.waitRecording(t, 40*time.Second)
	time.Sleep(4 * time.Second)
	begin := time.Now()
	undo := cutRecorderLink(t, l, room, 5)
	time.Sleep(12 * time.Second)
	undo()
	end := time.Now()
	if code := r.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	meta := r.metadata(t)
	logMeta(t, meta)
	o := outage{offset(meta, begin), offset(meta, end)}
	rep := verifyFile(t, r.path(), l.Spec)
	n := len(l.Spec.Participants)

	checkContinuousTimeline(t, rep, meta, recordingFor)
	of := o.shift(fileZero(t, meta))
	if meta.Reconnects != 0 {
		t.Errorf("%d reconnects under 5 %% loss, want none", meta.Reconnects)
	}
	if g := findGap(meta, o, 0, metadata.GapNoMedia, metadata.GapReconnecting); g != nil {
		t.Errorf("5 %% loss recorded as a gap %+v: media kept flowing", *g)
	}
	tones := make([]float64, n)
	for i := range n {
		tones[i] = rep.Tones[i].PresentBetween(of.from+1, of.to)
		if tones[i] < 0.5 {
			t.Errorf("under 5 %% loss %s's tone present in only %.0f %% of windows", rep.Tones[i].Name, 100*tones[i])
		}
	}
	checkHeardFrom(t, rep, n, of.to+mediaSetup.Seconds(), "after the loss")
	checkSyncFrom(t, rep, of.to+mediaSetup.Seconds())
	span := verifySpan(t, r.path(), of.from+1, of.to, l.Spec)
	var during []float64
	for _, m := range rep.Markers {
		if m.Matched && m.BeepS > of.from && m.BeepS < of.to {
			during = append(during, m.OffsetMS)
		}
	}
	t.Logf("measured under 5 %% loss (%s): tones present %.0f %% / %.0f %% of windows, video %.1f fps (%d frames, longest gap %.2f s, frozen max %.2f s, changing %.0f %%), A/V offsets at markers %v ms; whole file %.1f fps",
		o, 100*tones[0], 100*tones[1], span.Video.FPS, span.Video.Frames, span.Video.MaxGapS, span.Video.FrozenMaxS, 100*span.Video.ChangingFraction, during, rep.Video.FPS)
}

// verifySpan verifies [from, to] of the file at path (stream copy, so the
// frames are the file's own).
func verifySpan(t *testing.T, path string, from, to float64, spec media.Spec) verify.Report {
	t.Helper()
	out := filepath.Join(t.TempDir(), "span.mp4")
	cmd := exec.CommandContext(t.Context(), "ffmpeg", "-v", "error", "-ss", strconv.FormatFloat(from, 'f', 3, 64),
		"-to", strconv.FormatFloat(to, 'f', 3, 64), "-i", path, "-c", "copy", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cut %s: %v\n%s", path, err, b)
	}
	return verifyFile(t, out, spec)
}

// TestProsodyRestartRejoinsAndKeepsRecording (issue 4, 2): the XMPP server
// restarts mid-recording. The recorder reconnects and rejoins, the
// participants (who rejoin too) are heard again, all in the same
// continuous recording; the metadata counts the reconnect and the gap.
func TestProsodyRestartRejoinsAndKeepsRecording(t *testing.T) {
	const room = "restart"
	l := startLab(t, room, 2, 2)
	r := startFaultRecorder(t, l, room, "RECORD_DURATION="+strconv.Itoa(recordingFor+4))
	r.waitRecording(t, 40*time.Second)
	time.Sleep(8 * time.Second)
	begin := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := l.Prosody.Restart(ctx); err != nil {
		t.Fatalf("restart prosody: %v", err)
	}
	end := time.Now()
	t.Logf("prosody restarted in %s", end.Sub(begin).Round(time.Millisecond))
	if code := r.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0 (rejoined and recorded to the end)", code)
	}
	meta := r.metadata(t)
	logMeta(t, meta)
	o := outage{offset(meta, begin), offset(meta, end)}
	rep := verifyFile(t, r.path(), l.Spec)
	n := len(l.Spec.Participants)

	checkContinuousTimeline(t, rep, meta, recordingFor+4)
	if meta.Reconnects < 1 {
		t.Errorf("metadata reconnects %d, want >= 1", meta.Reconnects)
	}
	checkGap(t, meta, o, gapNoticedWithin, metadata.GapReconnecting, metadata.GapNoMedia)
	z := fileZero(t, meta)
	back := mediaBackAt(rep, n, o.to-z)
	if back >= 0 {
		back += z
		// The gaps recorded must reach until media flows again: the file is
		// silent until then, whatever the signalling says.
		lastEnd := math.Inf(-1)
		for _, g := range meta.Gaps {
			if g.To != nil && g.From <= back {
				lastEnd = math.Max(lastEnd, *g.To)
			}
		}
		if lastEnd < back-2 {
			t.Errorf("the recorded gaps %s end at %.2f s, but the participants are heard again only at %.2f s: the metadata misses %.1f s of silence",
				gapsString(meta.Gaps), lastEnd, back, back-lastEnd)
		}
	}
	const rejoinWithin = 25.0 // page backoff 1+2+4+8 s, the participants' own, the focus's reconnect
	switch {
	case back < 0:
		t.Errorf("participants never heard again after the restart %s", o)
	case back-o.to > rejoinWithin:
		t.Errorf("participants heard again %.2f s after the restart, want <= %.0f s", back-o.to, rejoinWithin)
	}
	if back >= 0 {
		checkHeardFrom(t, rep, n, back-z, "after the rejoin")
		if vb := checkRecoveredSync(t, rep, back-z, back-z); vb >= 0 {
			t.Logf("video: first marker flash %.2f s after the participants were heard again", vb-(back-z))
		}
	}
	for _, p := range l.Spec.Participants {
		rejoined := false
		for _, m := range meta.Participants {
			rejoined = rejoined || (m.Name == p.Name && m.JoinedAt > o.from)
		}
		if !rejoined {
			t.Errorf("metadata shows no rejoin of %s after the restart at %.2f s: %+v", p.Name, o.from, meta.Participants)
		}
	}
	t.Logf("measured: prosody restart %s; every participant heard again %.2f s after it was back (%.2f s after it went down)", o, back-o.to, back-o.from)
}
