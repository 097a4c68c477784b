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
