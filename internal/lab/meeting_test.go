package lab

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

// TestMeetingPageShowsTheParticipants opens the lab's meeting page as a
// person would and checks the screenshot shows each participant's colour.
// LAB_SCREENSHOT=path keeps the PNG.
func TestMeetingPageShowsTheParticipants(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Prosody and Chromium")
	}
	l, err := Start(t.Context(), Config{Room: "look", Participants: 2, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b, err := browser.Start(t.Context(), browser.Options{WindowWidth: 1280, WindowHeight: 720, FakeMedia: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := b.Context()
	if err := chromedp.Do(ctx, chromedp.Navigate(l.MeetingURL("look")+"?name=Person")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		playing, err := chromedp.Run(ctx, chromedp.Evaluate[int](
			`(window.labMeeting ? window.labMeeting().tiles.filter(t => t.videoWidth > 0).length : 0)`))
		if err != nil {
			t.Fatal(err)
		}
		if playing >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("meeting page shows %d playing videos after 30 s, want 2", playing)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// A playing video may not be painted yet, least of all on a loaded
	// machine: look again until both colours show, for up to 20 s.
	keep := os.Getenv("LAB_SCREENSHOT")
	if keep == "" {
		keep = filepath.Join(t.TempDir(), "meeting.png")
	}
	var shares []float64
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Second) {
		shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(keep, shot, 0o644)
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatal(err)
		}
		shares = shares[:0]
		visible := true
		for _, p := range l.Spec.Participants[:2] {
			share := colourShare(img, p.Color)
			shares = append(shares, share)
			visible = visible && share >= 0.02
		}
		if visible || time.Now().After(deadline) {
			break
		}
	}
	for i, p := range l.Spec.Participants[:2] {
		if shares[i] < 0.02 {
			t.Errorf("%s's colour %s covers %.1f %% of the page after 20 s, want a visible tile", p.Name, p.Hex, 100*shares[i])
		} else {
			t.Logf("%s's colour %s covers %.1f %% of the page", p.Name, p.Hex, 100*shares[i])
		}
	}
}

// colourShare is the fraction of pixels within a small distance of c.
func colourShare(img image.Image, c media.RGB) float64 {
	bnd := img.Bounds()
	n, in := 0, 0
	for y := bnd.Min.Y; y < bnd.Max.Y; y += 2 {
		for x := bnd.Min.X; x < bnd.Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			dr, dg, db := int(r>>8)-int(c.R), int(g>>8)-int(c.G), int(b>>8)-int(c.B)
			if dr*dr+dg*dg+db*db < 40*40 {
				in++
			}
			n++
		}
	}
	return float64(in) / float64(n)
}
