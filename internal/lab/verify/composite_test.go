package verify

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

const testFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"

// participantCanvas is a lavfi chain drawing what a synthetic participant
// sends: its colour, its name and a running frame counter, flashing white
// for 100 ms at each instant in flashes.
func participantCanvas(p media.Participant, durS float64, flashes []float64) string {
	var en []string
	for _, a := range flashes {
		en = append(en, fmt.Sprintf("between(t,%g,%g)", a-0.01, a+0.09))
	}
	return fmt.Sprintf("color=c=%s:s=640x360:r=30:d=%g,"+
		"drawtext=fontfile=%s:text='%s':fontcolor=white:fontsize=28:x=20:y=20,"+
		"drawtext=fontfile=%s:text='%%{n}':fontcolor=white:fontsize=64:x=20:y=260,"+
		"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='%s'",
		strings.TrimPrefix(p.Hex, "#"), durS, testFont, p.Name, testFont, strings.Join(en, "+"))
}

// TestCompositeLikeTheRecorder builds what the recorder makes of three
// participants in a 2x2 grid on a 1280x720 canvas (the third joining at 3 s,
// one tile empty), audio mixed, the beeps 40 ms before the flashes.
func TestCompositeLikeTheRecorder(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(testFont); err != nil {
		t.Skip("no font for drawtext")
	}
	const dur = 9.0
	spec := media.NewSpec(4)
	p := spec.Participants
	flashes := []float64{2, 7}
	var g []string
	g = append(g, fmt.Sprintf("color=c=0x1e1e1e:s=1280x720:r=30:d=%g[bg]", dur))
	for i := 0; i < 3; i++ {
		g = append(g, participantCanvas(p[i], dur, flashes)+fmt.Sprintf(",scale=620:348[p%d]", i))
	}
	g = append(g, "[bg][p0]overlay=10:10[t0]", "[t0][p1]overlay=650:10[t1]", "[t1][p2]overlay=10:362:enable='gte(t,3)'")
	video := strings.Join(g, ";")

	beep := "(between(t\\,1.96\\,2.06)+between(t\\,6.96\\,7.06))*0.3*sin(2*PI*3000*t)"
	audio := fmt.Sprintf("aevalsrc=0.15*sin(2*PI*%g*t)+0.15*sin(2*PI*%g*t)+gte(t\\,3)*0.15*sin(2*PI*%g*t)+%s:s=48000:d=%g",
		p[0].ToneHz, p[1].ToneHz, p[2].ToneHz, beep, dur)

	f := generate(t, "composite.mp4", video, audio)
	rep := verifyFile(t, f, spec)

	for i, c := range rep.Colors {
		if want := i < 3; c.Visible != want {
			t.Errorf("%s visible = %v, want %v", c.Name, c.Visible, want)
		}
	}
	if first := rep.Colors[2].FirstS; math.Abs(first-3) > 0.05 {
		t.Errorf("late participant's colour first seen at %.3f s, want 3", first)
	}
	for i, tone := range rep.Tones {
		if want := i < 3; (tone.PresentFraction > 0.5) != want && i != 2 {
			t.Errorf("tone %.0f Hz present %.3f", tone.Hz, tone.PresentFraction)
		}
	}
	if first := rep.Tones[2].FirstS; math.Abs(first-3) > 0.1 {
		t.Errorf("late participant's tone first heard at %.3f s, want 3", first)
	}
	if rep.Tones[3].PresentFraction > 0 {
		t.Errorf("absent participant's tone present %.3f", rep.Tones[3].PresentFraction)
	}
	if rep.Video.ChangingFraction < 0.9 {
		t.Errorf("frame counters read as changing in %.3f of frames, want ~1", rep.Video.ChangingFraction)
	}
	if rep.AVOffsetMS.N != 2 || math.Abs(rep.AVOffsetMS.Mean-40) > oneFrame {
		t.Errorf("A/V offset %+v, want 2 markers at 40 ± %.0f ms", rep.AVOffsetMS, oneFrame)
	}
}
