package page

import (
	"testing"
	"time"
)

func isGap(state string) func(event) bool {
	return func(e event) bool { return e.Type == "media-gap" && e.State == state }
}

// noEvent fails if an event matching shows up within d.
func noEvent(t *testing.T, h *harness, match func(event) bool, d time.Duration, why string) {
	t.Helper()
	time.Sleep(d)
	if i := index(h.snapshot(), match); i >= 0 {
		t.Errorf("%s: %s", why, h.snapshot()[i].Raw)
	}
}

// TestMediaWatchdogReportsGapsAndRejoins drives the watchdog with the fake
// lib's bridge connection, whose getStats bytes grow only while "flowing".
func TestMediaWatchdogReportsGapsAndRejoins(t *testing.T) {
	h := newHarness(t, fakeDeployment(t))

	t.Run("gap start and end, none while everyone is muted", func(t *testing.T) {
		startRecording(t, h, `,"noMediaMs":2000,"rejoinAfterMs":0`)
		if err := h.eval(`fakeMeeting.enableStats()`); err != nil {
			t.Fatal(err)
		}
		noEvent(t, h, isGap("start"), 3*time.Second, "gap while media flows")
		stoppedAt := evalValue[int64](h, `fakeMeeting.setFlowing(false), Date.now()`)
		start := h.waitFor(isGap("start"), 10*time.Second)
		// t is the last growth: at most one watchdog tick before the stop.
		if start.T > stoppedAt+100 || start.T < stoppedAt-2500 {
			t.Errorf("gap start t %d, flow stopped at %d", start.T, stoppedAt)
		}
		resumedAt := evalValue[int64](h, `fakeMeeting.setFlowing(true), Date.now()`)
		end := h.waitFor(isGap("end"), 10*time.Second)
		if end.T < resumedAt-100 {
			t.Errorf("gap end t %d before the flow resumed at %d", end.T, resumedAt)
		}
		t.Logf("gap %d..%d ms (flow stopped at %d, resumed at %d)", start.T, end.T, stoppedAt, resumedAt)

		// Everyone muted: silence on the wire is expected, no gap.
		h.clearEvents()
		if err := h.eval(`fakeMeeting.muteAll(true); fakeMeeting.setFlowing(false)`); err != nil {
			t.Fatal(err)
		}
		noEvent(t, h, isGap("start"), 4*time.Second, "gap while everyone is muted")
		// Unmuted without media: a gap, counted from the unmute (as the
		// watchdog sees it: its last tick before, 1 s apart plus jitter).
		unmutedAt := evalValue[int64](h, `fakeMeeting.muteAll(false), Date.now()`)
		if start := h.waitFor(isGap("start"), 10*time.Second); start.T < unmutedAt-2500 {
			t.Errorf("gap start t %d, but everyone was muted until %d", start.T, unmutedAt)
		}
		if index(h.snapshot(), func(e event) bool { return e.Type == "reconnecting" }) >= 0 {
			t.Error("rejoined although rejoinAfterMs is 0")
		}
		stopRecording(t, h)
	})

	t.Run("a long gap rejoins, and ends once media flows after it", func(t *testing.T) {
		startRecording(t, h, `,"noMediaMs":2000,"rejoinAfterMs":3000`)
		if err := h.eval(`fakeMeeting.enableStats()`); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		if err := h.eval(`fakeMeeting.setFlowing(false)`); err != nil {
			t.Fatal(err)
		}
		start := h.waitFor(isGap("start"), 10*time.Second)
		rc := h.waitFor(func(e event) bool { return e.Type == "reconnecting" }, 10*time.Second)
		if rc.Reason != "no-media" || rc.T-start.T < 2900 {
			t.Errorf("reconnecting %s, %d ms after the gap started", rc.Raw, rc.T-start.T)
		}
		h.waitFor(func(e event) bool { return e.Type == "reconnected" }, 10*time.Second)
		// Still no media after the rejoin: the gap stays open, and the next
		// rejoin waits rejoinAfterMs again.
		h.clearEvents()
		noEvent(t, h, isGap("end"), 2*time.Second, "gap ended without media")
		if i := index(h.snapshot(), func(e event) bool { return e.Type == "reconnecting" }); i >= 0 {
			t.Errorf("rejoined again at once: %s", h.snapshot()[i].Raw)
		}
		if err := h.eval(`fakeMeeting.setFlowing(true)`); err != nil {
			t.Fatal(err)
		}
		h.waitFor(isGap("end"), 10*time.Second)
		stopRecording(t, h)
	})
}
