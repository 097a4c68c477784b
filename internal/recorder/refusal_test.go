package recorder

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/config"
)

// The lab cannot reproduce Jitsi's lobby (Prosody's muc_lobby and Jicofo's
// lobby handling are not part of it) or a deployment that verifies JWTs, so
// these refusals are tested here, against the fake deployment whose
// lib-jitsi-meet stand-in plays the deployment's side. See also
// TestJoinRefusalsMapToExitCodes (lobby-denied -> 4) and
// TestWaitsInLobbyUntilAdmitted.

// neverAdmit keeps the recorder in the lobby for good: joinLobby succeeds
// but no moderator ever lets it in.
const neverAdmit = `(function () {
	const proto = JitsiMeetJS.JitsiConnection.prototype;
	const init = proto.initJitsiConference;
	proto.initJitsiConference = function (name, options) {
		const conf = init.call(this, name, options);
		conf.joinLobby = function () { return Promise.resolve(); };
		return conf;
	};
})();`

func TestLobbyThatNeverAdmitsEndsAtJoinTimeout(t *testing.T) {
	o := record(t, t.Context(), fakeDeployment{scenario: "lobby", extra: neverAdmit},
		func(c *config.Config) { c.JoinTimeout = 4 * time.Second })
	if got := ExitCode(o.err); got != 7 {
		t.Fatalf("exit code %d, want 7 (err %v)", got, o.err)
	}
	line := Describe(o.err)
	if strings.Contains(line, "\n") || !strings.Contains(line, "JOIN_TIMEOUT") || !strings.Contains(line, "still waiting in the lobby") {
		t.Errorf("line %q does not name the join timeout and the lobby", line)
	}
	if !strings.Contains(o.logs.String(), "state=lobby") {
		t.Errorf("the logs do not show the recorder waited in the lobby")
	}
	if o.took > 20*time.Second {
		t.Errorf("took %s with JOIN_TIMEOUT 4s", o.took)
	}
	if entries, _ := os.ReadDir(o.dir); len(entries) != 0 {
		t.Errorf("files left: %v", entries)
	}
}

// TestRejectedJWTExitsWith3WithoutShowingIt: the deployment refuses the
// token and echoes it in its error; the line and the logs must not.
func TestRejectedJWTExitsWith3WithoutShowingIt(t *testing.T) {
	o := record(t, t.Context(), fakeDeployment{scenario: "auth"}, nil)
	if got := ExitCode(o.err); got != 3 {
		t.Fatalf("exit code %d, want 3 (err %v)", got, o.err)
	}
	line := Describe(o.err)
	if !strings.Contains(line, "authentication failed") || !strings.Contains(line, "JWT") {
		t.Errorf("line %q does not say the JWT was refused", line)
	}
	if strings.Contains(line, testJWT) {
		t.Errorf("line shows the JWT: %q", line)
	}
	if !strings.Contains(line, "***") && !strings.Contains(line, "[redacted]") { // the page's mask, or the session's
		t.Errorf("line %q: want the deployment's message with the token redacted", line)
	}
	if entries, _ := os.ReadDir(o.dir); len(entries) != 0 {
		t.Errorf("files left: %v", entries)
	}
}
