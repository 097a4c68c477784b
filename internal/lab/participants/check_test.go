package participants

import (
	"strings"
	"testing"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

// goodRemote is what a participant reports for a remote it sees and hears.
func goodRemote(p media.Participant) Remote {
	return Remote{
		Name: p.Name, VideoFrames: 300, VideoFPS: 30, VideoFramesIncreasing: true,
		ToneLevelsDB: map[string]float64{"440": -200, "550": -200, "660": -200, toneKey(p.ToneHz): -12.5},
		Tracks:       []string{"audio", "video"},
	}
}

func toneKey(hz float64) string {
	switch hz {
	case 440:
		return "440"
	case 550:
		return "550"
	case 660:
		return "660"
	}
	return "?"
}

// meshReports returns reports in which every present participant sees and
// hears every other present one.
func meshReports(spec media.Spec, present []int) []Report {
	reports := make([]Report, len(spec.Participants))
	for i := range reports {
		reports[i] = Report{Index: i}
	}
	for _, i := range present {
		r := Report{Index: i, Present: true, Self: SelfReport{Index: i, Name: spec.Participants[i].Name, Joined: true}, Remotes: map[string]Remote{}}
		for _, j := range present {
			if j != i {
				r.Remotes["ep"+toneKey(spec.Participants[j].ToneHz)] = goodRemote(spec.Participants[j])
			}
		}
		reports[i] = r
	}
	return reports
}

func TestCheckPassesWhenEveryoneSeesAndHearsEveryone(t *testing.T) {
	spec := media.NewSpec(3)
	lines := Check(meshReports(spec, []int{0, 1, 2}), spec, []int{0, 1, 2})
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3", len(lines))
	}
	for _, l := range lines {
		if !l.OK {
			t.Errorf("%s", l)
		}
		if !strings.HasPrefix(l.String(), "OK") || len(l.Details) != 2 {
			t.Errorf("line %q", l)
		}
	}
}

func TestCheckFailsForFrozenVideoSilentToneAndMissingRemote(t *testing.T) {
	spec := media.NewSpec(3)
	reports := meshReports(spec, []int{0, 1, 2})
	frozen := reports[0].Remotes["ep550"]
	frozen.VideoFramesIncreasing = false
	reports[0].Remotes["ep550"] = frozen
	silent := reports[1].Remotes["ep440"]
	silent.ToneLevelsDB["440"] = -60
	reports[1].Remotes["ep440"] = silent
	delete(reports[2].Remotes, "ep440")

	lines := Check(reports, spec, []int{0, 1, 2})
	want := []string{"no moving video from Participant 2", "does not hear Participant 1", "does not see Participant 1"}
	for i, l := range lines {
		if l.OK || len(l.Problems) != 1 || !strings.Contains(l.Problems[0], want[i]) {
			t.Errorf("line %d: %q, want one problem %q", i, l, want[i])
		}
		if !strings.HasPrefix(l.String(), "FAIL") {
			t.Errorf("line %d not marked FAIL: %q", i, l)
		}
	}
}

func TestCheckIgnoresAbsentParticipantsAndLeftRemotes(t *testing.T) {
	spec := media.NewSpec(3)
	reports := meshReports(spec, []int{0, 2})
	// Participant 2 was there earlier and left: it must not count either way.
	gone := goodRemote(spec.Participants[1])
	gone.Left = true
	reports[0].Remotes["old"] = gone
	lines := Check(reports, spec, []int{0, 2})
	if len(lines) != 2 || !lines[0].OK || !lines[1].OK {
		t.Fatalf("%v", lines)
	}
	// But if 2 is said to be present, the left remote does not satisfy it.
	lines = Check(reports, spec, []int{0, 1, 2})
	if lines[0].OK || !strings.Contains(lines[0].Problems[0], "does not see Participant 2") {
		t.Errorf("%v", lines[0])
	}
	if lines[1].OK || lines[1].Problems[0] != "absent (no tab)" {
		t.Errorf("absent participant: %v", lines[1])
	}
}

func TestCheckReportsPageErrors(t *testing.T) {
	spec := media.NewSpec(2)
	reports := meshReports(spec, []int{0, 1})
	reports[1].Self.Error = "conference failed: conference.passwordRequired"
	lines := Check(reports, spec, []int{0, 1})
	if lines[1].OK || !strings.Contains(lines[1].String(), "passwordRequired") {
		t.Errorf("%v", lines[1])
	}
	if !lines[0].OK {
		t.Errorf("%v", lines[0])
	}
	if got := Check(nil, spec, []int{0}); got[0].OK || got[0].Problems[0] != "no report" {
		t.Errorf("no reports: %v", got)
	}
}
