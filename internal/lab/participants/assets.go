// Package participants runs the lab's synthetic meeting participants: pages
// that send known media (media.Spec: colour, tone, sync markers) through
// lib-jitsi-meet and measure what they receive, driven from Go in one
// headless Chromium. It also holds the meeting page a person opens to watch.
package participants

import (
	"embed"
	"io/fs"
)

//go:embed assets
var assets embed.FS

// Assets returns the pages and scripts, rooted so that participant.html,
// meeting.html, lab-client.js and synth.js are at its top. The web front
// serves it under /_lab/ and meeting.html at /<room>.
func Assets() fs.FS {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}
