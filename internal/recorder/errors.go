package recorder

import (
	"errors"
	"fmt"

	"github.com/jitsi-recorder/jitsi-recorder/internal/config"
	"github.com/jitsi-recorder/jitsi-recorder/internal/ffmpeg"
)

// Kind classifies a failure; each kind has its own exit code.
type Kind int

// The kinds of failure, in exit-code order.
const (
	KindOther       Kind = iota // exit 1
	KindUsage                   // exit 2: bad input or usage
	KindJoin                    // exit 3: could not join (connection, conference, not Jitsi, auth)
	KindRefused                 // exit 4: password, members-only, lobby refused, kicked
	KindBrowser                 // exit 5: Chromium failed
	KindOutput                  // exit 6: FFmpeg or the output file failed
	KindJoinTimeout             // exit 7: joining took longer than JOIN_TIMEOUT
	KindDiskFull                // exit 8: the recordings directory's disk is full
	KindIncomplete              // exit 9: the file holds less media than was recorded
)

// ExitCodesHelp documents the exit codes for --help.
const ExitCodesHelp = `Exit codes:
  0  recorded and finished: duration reached, SIGINT/SIGTERM, meeting ended or recorder alone
  1  other failure
  2  bad input or usage (see the message)
  3  join failed: deployment unreachable, not a Jitsi Meet deployment, conference or JWT refused
  4  refused: room password missing or wrong, members-only room, lobby not passed, kicked
  5  browser (Chromium) failure: it failed more than 3 times in 10 minutes, or could not start
  6  FFmpeg or output failure: FFmpeg failed more than 3 times in 10 minutes, or the file could not be written
  7  join timeout (JOIN_TIMEOUT)
  8  disk full: the recording so far is kept; free space in RECORDINGS_DIR
  9  incomplete: the browser's encoder fell behind (CPU starved); the file is kept but holds less media than was recorded
`

// Error is a failure with what the user needs to see: what was being done,
// why it failed, and a hint how to fix it.
type Error struct {
	Kind Kind
	// Code is the page's error code ("password-required", ...), if any.
	Code string
	What string
	Hint string
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.What
	}
	return e.What + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ExitCode maps an error from Run (or config.Parse) to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var re *Error
	switch {
	case errors.As(err, &re):
		return exitCodes[re.Kind]
	case errors.Is(err, config.ErrUsage):
		return exitCodes[KindUsage]
	case errors.Is(err, ffmpeg.ErrDiskFull):
		return exitCodes[KindDiskFull]
	case errors.Is(err, ffmpeg.ErrFailed):
		return exitCodes[KindOutput]
	}
	return exitCodes[KindOther]
}

var exitCodes = map[Kind]int{
	KindOther: 1, KindUsage: 2, KindJoin: 3, KindRefused: 4, KindBrowser: 5, KindOutput: 6, KindJoinTimeout: 7,
	KindDiskFull: 8, KindIncomplete: 9,
}

// Describe renders err as the one line the command prints:
// "jitsi-recorder: <what>: <why> (<fix hint>)".
func Describe(err error) string {
	var re *Error
	if errors.As(err, &re) && re.Hint != "" {
		return fmt.Sprintf("jitsi-recorder: %s (%s)", err, re.Hint)
	}
	if errors.Is(err, config.ErrUsage) {
		return fmt.Sprintf("jitsi-recorder: %s (see jitsi-recorder --help)", err)
	}
	return "jitsi-recorder: " + err.Error()
}

// pageErrors maps the page's error codes (see the page contract) to a kind
// and a hint.
var pageErrors = map[string]struct {
	kind Kind
	why  string
	hint string
}{
	"not-jitsi":         {KindJoin, "the site did not serve Jitsi Meet's config.js and lib-jitsi-meet", "check ROOM_URL points at a Jitsi Meet deployment"},
	"connection-failed": {KindJoin, "could not connect to the deployment's XMPP server", "check the deployment is reachable and its websocket/BOSH endpoint works"},
	"auth-failed":       {KindJoin, "authentication failed", "check the JWT in ROOM_URL (?jwt=...) is valid and not expired"},
	"conference-failed": {KindJoin, "the conference could not be joined", "check the room exists and the deployment's focus (Jicofo) is running"},
	"password-required": {KindRefused, "the room is locked with a password", "set ROOM_PASSWORD"},
	"password-wrong":    {KindRefused, "the room password was refused", "check ROOM_PASSWORD"},
	"members-only":      {KindRefused, "the room is members-only", "ask a moderator to admit the recorder, or use a JWT that grants access"},
	"lobby":             {KindRefused, "the lobby did not let the recorder in", "ask a moderator to admit the recorder, or disable the lobby"},
	"kicked":            {KindRefused, "the recorder was removed from the meeting", "ask the moderator not to kick the recorder"},
	"encoder":           {KindBrowser, "the browser could not encode the recording", "check Chromium supports MediaRecorder with H.264 or VP8"},
	"other":             {KindOther, "the page failed", "run with LOG_LEVEL=debug for details"},
}

// pageError turns a page error code and message into an *Error.
func pageError(what, code, message string) *Error {
	pe, ok := pageErrors[code]
	if !ok {
		pe = pageErrors["other"]
	}
	why := pe.why
	if message != "" && message != code {
		why += ": " + message
	}
	return &Error{Kind: pe.kind, Code: code, What: what, Hint: pe.hint, Err: errors.New(why)}
}
