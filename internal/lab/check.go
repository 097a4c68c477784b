package lab

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/participants"
)

// CheckResult is the outcome of RunCheck: one line per participant.
type CheckResult struct {
	OK    bool
	Lines []string
}

// RunCheck lets the lab's participants talk for d and then judges whether
// each decoded every other present participant's video and heard their
// tone. With leaveOne, the last participant leaves half-way, and the others
// must have seen it leave (its tracks removed).
func RunCheck(ctx context.Context, l *Lab, d time.Duration, leaveOne bool) (CheckResult, error) {
	if l.Group == nil {
		return CheckResult{}, errors.New("check: the lab has no participants")
	}
	present := l.Group.Present()
	leaver := -1
	if leaveOne {
		if len(present) < 3 {
			return CheckResult{}, errors.New("check: --leave-one needs at least 3 participants")
		}
		if err := sleep(ctx, d/2); err != nil {
			return CheckResult{}, err
		}
		leaver = present[len(present)-1]
		if err := l.Group.Leave(leaver); err != nil {
			return CheckResult{}, fmt.Errorf("check: participant %d leave: %w", leaver+1, err)
		}
		d -= d / 2
	}
	if err := sleep(ctx, d); err != nil {
		return CheckResult{}, err
	}
	reports, err := l.Group.Reports(ctx)
	if err != nil {
		return CheckResult{}, fmt.Errorf("check: read reports: %w", err)
	}
	res := CheckResult{OK: true}
	for _, line := range participants.Check(reports, l.Spec, l.Group.Present()) {
		res.Lines = append(res.Lines, line.String())
		res.OK = res.OK && line.OK
	}
	if leaver >= 0 {
		name := l.Spec.Participants[leaver].Name
		for _, r := range reports {
			if !r.Present {
				continue
			}
			if ok, why := sawLeave(r, name); !ok {
				res.OK = false
				res.Lines = append(res.Lines, fmt.Sprintf("FAIL %s did not see %s leave: %s", l.Spec.Participants[r.Index].Name, name, why))
			} else {
				res.Lines = append(res.Lines, fmt.Sprintf("ok   %s saw %s leave (tracks removed)", l.Spec.Participants[r.Index].Name, name))
			}
		}
	}
	return res, nil
}

func sawLeave(r participants.Report, name string) (bool, string) {
	for _, rem := range r.Remotes {
		if rem.Name != name {
			continue
		}
		if !rem.Left {
			return false, "still listed as present"
		}
		if len(rem.Tracks) > 0 {
			return false, fmt.Sprintf("tracks still there: %v", rem.Tracks)
		}
		return true, ""
	}
	return false, "never seen"
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
