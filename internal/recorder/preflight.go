package recorder

import (
	"context"
	"os/exec"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
	"github.com/jitsi-recorder/jitsi-recorder/internal/config"
)

// preflight checks, before Chromium starts and the meeting is joined,
// whatever can fail without joining: the programs the recording needs.
func preflight(ctx context.Context, cfg config.Config) error {
	if _, err := browser.FindBinary(cfg.ChromiumPath); err != nil {
		return &Error{Kind: KindBrowser, What: "find chromium", Err: err, Hint: "install Debian's chromium or set CHROMIUM_PATH"}
	}
	if _, err := exec.LookPath(cfg.FFmpegPath); err != nil {
		return &Error{Kind: KindOutput, What: "find ffmpeg", Err: err, Hint: "install Debian's ffmpeg or set FFMPEG_PATH"}
	}
	return ctx.Err()
}
