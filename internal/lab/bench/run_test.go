package bench

import (
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/participants"
)

func TestFlashLateFiguresCountOnlyTheRecordingsMarkers(t *testing.T) {
	from := time.UnixMilli(1_700_000_010_000)
	to := from.Add(10 * time.Second)
	ms := func(d time.Duration) int64 { return from.Add(d).UnixMilli() }
	reps := []participants.Report{
		{Self: participants.SelfReport{FlashLate: [][2]int64{{ms(-5 * time.Second), 900}, {ms(0), 10}, {ms(5 * time.Second), 30}}}},
		{Self: participants.SelfReport{FlashLate: [][2]int64{{ms(5 * time.Second), 20}, {ms(10 * time.Second), 700}}}},
		{}, // a participant that reports nothing
	}
	got := flashLateFigures(reps, from, to)
	if got["sender_flash_late_mean_ms"] != 20 || got["sender_flash_late_max_ms"] != 30 {
		t.Errorf("figures %v, want mean 20 and max 30 over the three markers inside [from, to)", got)
	}
	if got := flashLateFigures(nil, from, to); got != nil {
		t.Errorf("no reports: %v, want no figures", got)
	}
}

func TestSenderFPSFiguresAreFramesDrawnBetweenTwoReports(t *testing.T) {
	rep := func(index, frames int) participants.Report {
		return participants.Report{Self: participants.SelfReport{Index: index, FramesSent: frames}}
	}
	before := []participants.Report{rep(0, 100), rep(1, 50)}
	after := []participants.Report{rep(0, 400), rep(1, 290), rep(2, 999)} // 2 joined since: no baseline
	got := senderFPSFigures(before, after, 10*time.Second)
	if got["sender_fps_mean"] != 27 || got["sender_fps_min"] != 24 {
		t.Errorf("figures %v, want mean 27 and min 24", got)
	}
	if got := senderFPSFigures(before, nil, time.Second); got != nil {
		t.Errorf("no later report: %v", got)
	}
	if got := senderFPSFigures(before, after, 0); got != nil {
		t.Errorf("no time between: %v", got)
	}
}
