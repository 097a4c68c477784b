package page

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// fakeLogOf reads what the fake lib logged.
type fakeLogView struct {
	Connects    []float64        `json:"connects"`
	Leaves      int              `json:"leaves"`
	Disconnects int              `json:"disconnects"`
	Constraints []map[string]any `json:"constraints"`
	LastN       []int            `json:"lastN"`
}

func fakeLogOf(t *testing.T, h *harness) fakeLogView {
	t.Helper()
	var v fakeLogView
	if err := json.Unmarshal(evalValue[[]byte](h, `window.fakeLog`), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// startRecording opens the fake deployment and starts recording with a1 in
// the meeting.
func startRecording(t *testing.T, h *harness, extra string) {
	t.Helper()
	h.reset()
	h.open("/_recorder?scenario=join")
	if err := h.eval(`window.recorder.start(` + startOpts(extra) + `)`); err != nil {
		t.Fatalf("start: %v\n%s", err, h.describe())
	}
	if err := h.eval(`fakeMeeting.addRemote('a1', 'Alice Red', '#ff0000', 440)`); err != nil {
		t.Fatal(err)
	}
	h.waitFor(func(e event) bool { return e.Type == "chunk" && e.Seq >= 1 }, 10*time.Second)
}

// index returns the position of the first event matching, or -1.
func index(events []event, match func(event) bool) int {
	for i, e := range events {
		if match(e) {
			return i
		}
	}
	return -1
}

func stopRecording(t *testing.T, h *harness) {
	t.Helper()
	if err := h.eval(`window.recorder.stop()`); err != nil {
		t.Fatal("stop: ", err)
	}
	h.waitFor(func(e event) bool { return e.Type == "stopped" }, 10*time.Second)
}

// TestRecordingSurvivesALostMeeting: once recording, a lost connection or
// conference makes the page rejoin with backoff while the recording goes
// on; giving up and refusals end it with an error.
func TestRecordingSurvivesALostMeeting(t *testing.T) {
	h := newHarness(t, fakeDeployment(t))
	isReconnecting := func(e event) bool { return e.Type == "reconnecting" }
	isReconnected := func(e event) bool { return e.Type == "reconnected" }

	t.Run("connection lost, one failed attempt, rejoined", func(t *testing.T) {
		startRecording(t, h, `,"reconnectTimeoutMs":60000`)
		before := fakeLogOf(t, h)
		// Media the watchdog can measure, so the loss opens a gap.
		if err := h.eval(`fakeMeeting.enableStats()`); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // a watchdog tick sees the connection
		if err := h.eval(`fakeMeeting.plan('fail'); fakeMeeting.dropConnection()`); err != nil {
			t.Fatal(err)
		}
		rc := h.waitFor(isReconnecting, 5*time.Second)
		if rc.Reason != "connection-lost" || rc.T == 0 {
			t.Errorf("reconnecting event %s", rc.Raw)
		}
		done := h.waitFor(isReconnected, 15*time.Second)
		if done.Attempts != 2 {
			t.Errorf("reconnected %s, want 2 attempts", done.Raw)
		}
		h.waitFor(func(e event) bool { return e.Type == "participant-joined" && e.ID == "a1" && e.T >= done.T-50 }, 5*time.Second)
		evs := h.snapshot()
		iRc, iDone := index(evs, isReconnecting), index(evs, isReconnected)
		left := index(evs, func(e event) bool { return e.Type == "participant-left" && e.ID == "a1" })
		if left < iRc || left > iDone {
			t.Errorf("participant-left of a1 at %d, want between reconnecting (%d) and reconnected (%d)", left, iRc, iDone)
		}
		for _, e := range evs {
			if e.Type == "error" || (e.Type == "state" && e.State == "left") {
				t.Errorf("unexpected %s", e.Raw)
			}
		}
		// The meeting's loss is a gap in the media from that moment on; it
		// ends when media flows, not at the rejoin.
		if gap := index(evs, func(e event) bool { return e.Type == "media-gap" && e.State == "start" && e.T == rc.T }); gap < 0 {
			t.Errorf("no media-gap start at the loss (t=%d)", rc.T)
		}
		// Backoff: the first attempt ~1 s after the loss, the second ~2 s later.
		log := fakeLogOf(t, h)
		if len(log.Connects) != 3 {
			t.Fatalf("connects at %v, want 3", log.Connects)
		}
		first, second := log.Connects[1]-float64(rc.T), log.Connects[2]-log.Connects[1]
		t.Logf("attempts %.0f ms after the loss, then %.0f ms later", first, second)
		if first < 900 || first > 6000 || second < 1900 || second > 8000 {
			t.Errorf("attempt delays %.0f ms and %.0f ms, want ~1000 and ~2000", first, second)
		}
		if log.Disconnects < 2 || log.Leaves < 1 {
			t.Errorf("old connections not disposed: %d disconnects, %d leaves", log.Disconnects, log.Leaves)
		}
		// Receiver constraints are asked for again, with a1's new track.
		deadline := time.Now().Add(5 * time.Second)
		for {
			log = fakeLogOf(t, h)
			if len(log.Constraints) > len(before.Constraints) {
				c, _ := log.Constraints[len(log.Constraints)-1]["constraints"].(map[string]any)
				if _, ok := c["a1-v0"]; ok {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no receiver constraints for a1 after the rejoin: %v", log.Constraints)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The canvas shows a1 again, and the same encoder goes on.
		var l layout
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if l = evalValue[layout](h, `window.recorder.debug()`); len(l.Tiles) == 1 && l.Tiles[0].Video {
				break
			}
		}
		if len(l.Tiles) != 1 || !l.Tiles[0].Video {
			t.Errorf("layout after the rejoin %+v", l)
		}
		n := h.genChunks(0)
		h.waitFor(func(e event) bool { return e.Type == "chunk" && e.Gen == 0 && e.Seq >= n+1 }, 10*time.Second)
		stopRecording(t, h)
	})

	// When Prosody goes down, its parting presences can remove everyone
	// a moment before the connection fails. The file is silent from the
	// loss on all the same, so the gap opens there; with nobody back after
	// the rejoin it closes once the page has been idle for noMediaMs.
	t.Run("everyone left just before the loss: the gap opens all the same", func(t *testing.T) {
		startRecording(t, h, `,"reconnectTimeoutMs":60000,"noMediaMs":2000,"rejoinAfterMs":0`)
		if err := h.eval(`fakeMeeting.enableStats()`); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // a watchdog tick sees media flow
		if err := h.eval(`fakeMeeting.removeRemote('a1')`); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if err := h.eval(`fakeMeeting.dropConnection()`); err != nil {
			t.Fatal(err)
		}
		rc := h.waitFor(isReconnecting, 5*time.Second)
		done := h.waitFor(isReconnected, 15*time.Second)
		end := h.waitFor(func(e event) bool { return e.Type == "media-gap" && e.State == "end" }, 10*time.Second)
		evs := h.snapshot()
		if index(evs, func(e event) bool { return e.Type == "media-gap" && e.State == "start" && e.T == rc.T }) < 0 {
			t.Errorf("no media-gap start at the loss (t=%d): %s", rc.T, h.describe())
		}
		if end.T < done.T {
			t.Errorf("media gap ended at %d, before the rejoin at %d", end.T, done.T)
		}
		stopRecording(t, h)
	})

	t.Run("conference left, then failed: rejoined each time", func(t *testing.T) {
		startRecording(t, h, "")
		if err := h.eval(`fakeMeeting.leaveConference()`); err != nil {
			t.Fatal(err)
		}
		rc := h.waitFor(isReconnecting, 5*time.Second)
		if rc.Reason != "conference-lost" {
			t.Errorf("reconnecting %s", rc.Raw)
		}
		if done := h.waitFor(isReconnected, 10*time.Second); done.Attempts != 1 {
			t.Errorf("reconnected %s", done.Raw)
		}
		h.waitFor(func(e event) bool { return e.Type == "participant-joined" && e.ID == "a1" && e.T >= rc.T }, 5*time.Second)
		h.clearEvents()
		if err := h.eval(`fakeMeeting.failConference()`); err != nil {
			t.Fatal(err)
		}
		if rc := h.waitFor(isReconnecting, 5*time.Second); rc.Reason != "conference-lost" {
			t.Errorf("second reconnecting %s", rc.Raw)
		}
		h.waitFor(isReconnected, 10*time.Second)
		h.clearEvents()
		if err := h.eval(`fakeMeeting.disconnect()`); err != nil {
			t.Fatal(err)
		}
		if rc := h.waitFor(isReconnecting, 5*time.Second); rc.Reason != "connection-lost" {
			t.Errorf("third reconnecting %s", rc.Raw)
		}
		h.waitFor(isReconnected, 10*time.Second)
		if n := len(fakeLogOf(t, h).Connects); n != 4 {
			t.Errorf("%d connects, want 4", n)
		}
		stopRecording(t, h)
	})

	t.Run("gives up at reconnectTimeoutMs", func(t *testing.T) {
		startRecording(t, h, `,"reconnectTimeoutMs":5000`)
		if err := h.eval(`fakeMeeting.setOutcome('fail'); fakeMeeting.dropConnection()`); err != nil {
			t.Fatal(err)
		}
		rc := h.waitFor(isReconnecting, 5*time.Second)
		e := h.waitFor(func(e event) bool { return e.Type == "error" }, 15*time.Second)
		if e.Code != "connection-failed" || !strings.Contains(e.Message, "gave up reconnecting after") {
			t.Errorf("error %s", e.Raw)
		}
		h.waitFor(func(e event) bool { return e.Type == "state" && e.State == "left" }, 2*time.Second)
		// Attempts at ~1 s, ~3 s and at the deadline (5 s); none after it.
		time.Sleep(1500 * time.Millisecond)
		log := fakeLogOf(t, h)
		var at []float64
		for _, c := range log.Connects[1:] {
			at = append(at, c-float64(rc.T))
		}
		t.Logf("attempts at %v ms after the loss (connects %v, reconnecting at %d); %s", at, log.Connects, rc.T, e.Raw)
		// On an idle machine exactly that; a starved one fires timers late,
		// so only the spacing (never less than the backoff) and the
		// deadline are checked.
		if len(at) < 1 || len(at) > 3 || at[0] < 900 || at[len(at)-1] > 10000 {
			t.Errorf("attempts at %v ms, want 1000, 3000, 5000", at)
		}
		for i := 1; i < len(at); i++ {
			if want := min(2000*float64(i), 5000-at[i-1]) - 100; at[i]-at[i-1] < want {
				t.Errorf("attempt %d only %.0f ms after the previous one, want >= %.0f", i+1, at[i]-at[i-1], want)
			}
		}
		if index(h.snapshot(), isReconnected) >= 0 {
			t.Error("reconnected after giving up")
		}
		stopRecording(t, h)
	})

	t.Run("refusal during the rejoin is fatal", func(t *testing.T) {
		startRecording(t, h, "")
		if err := h.eval(`fakeMeeting.plan('password'); fakeMeeting.dropConnection()`); err != nil {
			t.Fatal(err)
		}
		h.waitFor(isReconnecting, 5*time.Second)
		e := h.waitFor(func(e event) bool { return e.Type == "error" }, 10*time.Second)
		if e.Code != "password-required" {
			t.Errorf("error %s, want password-required", e.Raw)
		}
		time.Sleep(2500 * time.Millisecond)
		if n := len(fakeLogOf(t, h).Connects); n != 2 {
			t.Errorf("%d connects, want 2: no retry after a refusal", n)
		}
		stopRecording(t, h)
	})

	t.Run("stop while reconnecting ends at once", func(t *testing.T) {
		startRecording(t, h, "")
		if err := h.eval(`fakeMeeting.setOutcome('hang'); fakeMeeting.dropConnection()`); err != nil {
			t.Fatal(err)
		}
		h.waitFor(isReconnecting, 5*time.Second)
		time.Sleep(1500 * time.Millisecond) // an attempt is pending
		start := time.Now()
		stopRecording(t, h)
		if d := time.Since(start); d > 8*time.Second {
			t.Errorf("stop took %s", d)
		}
		for _, e := range h.snapshot() {
			if e.Type == "error" {
				t.Errorf("unexpected %s", e.Raw)
			}
		}
	})
}
