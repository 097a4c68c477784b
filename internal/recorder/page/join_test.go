package page

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestStartFailsWithContractErrorCodes maps lib-jitsi-meet's connection and
// conference failures to the contract's codes, without leaking secrets.
func TestStartFailsWithContractErrorCodes(t *testing.T) {
	h := newHarness(t, fakeDeployment(t))
	cases := []struct {
		scenario, extra, want string
	}{
		{"conn-fail", "", "connection-failed"},
		{"auth", "", "auth-failed"},
		{"password", "", "password-required"},
		{"password-ok", `,"password":"wrong-pass"`, "password-wrong"},
		{"members", "", "members-only"},
		{"lobby-denied", "", "lobby"},
		{"focus-left", "", "conference-failed"},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			h.reset()
			h.open("/_recorder?scenario=" + c.scenario)
			err := h.eval(`window.recorder.start(` + startOpts(c.extra) + `)`)
			if err == nil || !strings.Contains(err.Error(), c.want+": ") {
				t.Fatalf("start error %v, want %q and why", err, c.want)
			}
			if strings.Contains(err.Error(), "secret.jwt.value") || strings.Contains(err.Error(), "wrong-pass") {
				t.Errorf("start error leaks a secret: %v", err)
			}
			e := h.waitFor(func(e event) bool { return e.Type == "error" }, 5*time.Second)
			if e.Code != c.want {
				t.Errorf("error event %s, want code %q", e.Raw, c.want)
			}
			for _, ev := range h.snapshot() {
				if strings.Contains(ev.Raw, "secret.jwt.value") || strings.Contains(ev.Raw, "wrong-pass") {
					t.Errorf("event leaks a secret: %s", ev.Raw)
				}
			}
		})
	}
}

func TestPasswordIsPassedToJoin(t *testing.T) {
	h := newHarness(t, fakeDeployment(t))
	h.open("/_recorder?scenario=password-ok")
	if err := h.eval(`window.recorder.start(` + startOpts(`,"password":"sesame"`) + `)`); err != nil {
		t.Fatalf("start: %v\n%s", err, h.describe())
	}
	var fake struct{ Join []any }
	json.Unmarshal(evalValue[[]byte](h, `window.fakeLog`), &fake)
	if len(fake.Join) != 1 || fake.Join[0] != "sesame" {
		t.Errorf("join calls %v", fake.Join)
	}
	h.eval(`window.recorder.stop()`)
}

func TestLobbyWaitsForAdmission(t *testing.T) {
	h := newHarness(t, fakeDeployment(t))
	h.open("/_recorder?scenario=lobby")
	if err := h.eval(`window.recorder.start(` + startOpts("") + `)`); err != nil {
		t.Fatalf("start: %v\n%s", err, h.describe())
	}
	h.waitFor(func(e event) bool { return e.Type == "state" && e.State == "recording" }, 5*time.Second)
	var states []string
	for _, e := range h.snapshot() {
		if e.Type == "state" {
			states = append(states, e.State)
		}
		if e.Type == "error" {
			t.Errorf("unexpected error %s", e.Raw)
		}
	}
	if got := strings.Join(states, " "); !strings.Contains(got, "joining lobby joined recording") {
		t.Errorf("states %q", got)
	}
	var fake struct{ Lobby []string }
	json.Unmarshal(evalValue[[]byte](h, `window.fakeLog`), &fake)
	if len(fake.Lobby) != 1 || fake.Lobby[0] != "Recorder" {
		t.Errorf("joinLobby calls %v", fake.Lobby)
	}
	h.eval(`window.recorder.stop()`)
}

func TestKickedIsReported(t *testing.T) {
	h := newHarness(t, fakeDeployment(t))
	h.open("/_recorder?scenario=join")
	if err := h.eval(`window.recorder.start(` + startOpts("") + `)`); err != nil {
		t.Fatal(err)
	}
	h.eval(`fakeMeeting.kick()`)
	h.waitFor(func(e event) bool { return e.Type == "error" && e.Code == "kicked" }, 5*time.Second)
	h.waitFor(func(e event) bool { return e.Type == "state" && e.State == "left" }, 5*time.Second)
	// Kicked is final: no rejoin, even after the conference is left too.
	h.eval(`fakeMeeting.leaveConference()`)
	time.Sleep(1500 * time.Millisecond)
	for _, e := range h.snapshot() {
		if e.Type == "reconnecting" {
			t.Errorf("rejoined after a kick: %s", e.Raw)
		}
	}
	if err := h.eval(`window.recorder.stop()`); err != nil {
		t.Fatal(err)
	}
	h.waitFor(func(e event) bool { return e.Type == "stopped" }, 5*time.Second)
}

func TestNotJitsiWhenTheLibIsMissing(t *testing.T) {
	d := fakeDeployment(t)
	d.lib = ""
	h := newHarness(t, d)
	h.open("/_recorder")
	e := h.waitFor(func(e event) bool { return e.Type == "error" }, 5*time.Second)
	if e.Code != "not-jitsi" || !strings.Contains(e.Message, "lib-jitsi-meet.min.js") {
		t.Errorf("load error %s", e.Raw)
	}
	if err := h.eval(`window.recorder.start(` + startOpts("") + `)`); err == nil || !strings.Contains(err.Error(), "not-jitsi") {
		t.Errorf("start error %v, want not-jitsi", err)
	}
}

// TestTenantPageLoadsTheTenantsScripts: /tenant/_recorder loads
// /tenant/config.js and /tenant/libs/..., as a multi-tenant deployment serves them.
func TestTenantPageLoadsTheTenantsScripts(t *testing.T) {
	h := newHarness(t, fakeDeployment(t))
	h.open("/tenant/_recorder?scenario=join")
	e := h.waitFor(func(e event) bool { return e.Type == "state" || e.Type == "error" }, 5*time.Second)
	if e.Type != "state" || e.State != "loaded" {
		t.Fatalf("first event %s", e.Raw)
	}
	base := evalValue[string](h, `window.__recorderBase`)
	if base != "/tenant/" {
		t.Errorf("base %q", base)
	}
}
