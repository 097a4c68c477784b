package recorder

import (
	"context"
	"strings"
	"testing"

	"github.com/jitsi-recorder/jitsi-recorder/internal/config"
)

// TestJoinErrorKeepsThePagesReason: start() rejects with "code: detail"
// (the error event with the same detail may reach Go after it), and the
// line names the code's meaning and the page's reason.
func TestJoinErrorKeepsThePagesReason(t *testing.T) {
	s := &session{cfg: config.Config{}}
	s.cfg.Meeting.Room = "standup"
	cases := []struct {
		page, want string
		code       int
	}{
		{"auth-failed: PASSWORD_REQUIRED: token *** rejected",
			"jitsi-recorder: join standup: authentication failed: PASSWORD_REQUIRED: token *** rejected (check the JWT", 3},
		{"password-wrong", "jitsi-recorder: join standup: the room password was refused (check ROOM_PASSWORD)", 4},
		{"no-such-code: boom", "jitsi-recorder: join standup: the page failed: no-such-code: boom (run with", 1},
	}
	for _, c := range cases {
		err := s.joinError(&pageStartError{code: c.page}, context.Background(), false)
		if line := Describe(err); !strings.HasPrefix(line, c.want) {
			t.Errorf("page %q: line %q, want it to start %q", c.page, line, c.want)
		}
		if got := ExitCode(err); got != c.code {
			t.Errorf("page %q: exit code %d, want %d", c.page, got, c.code)
		}
	}
}
