package participants

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
)

// HeardDB is the level above which a remote's tone counts as heard; the
// tone is sent at about -12 dBFS.
const HeardDB = -35.0

// CheckLine is the verdict for one present participant: did it decode the
// video and hear the tone of every other present participant.
type CheckLine struct {
	Index    int
	Name     string
	OK       bool
	Problems []string // empty when OK
	Details  []string // per remote: fps and tone level
}

// String formats the line for the jitsi-lab check command.
func (l CheckLine) String() string {
	verdict := "OK  "
	if !l.OK {
		verdict = "FAIL"
	}
	s := fmt.Sprintf("%s %s:", verdict, l.Name)
	if len(l.Problems) > 0 {
		s += " " + strings.Join(l.Problems, "; ")
	}
	if len(l.Details) > 0 {
		if len(l.Problems) > 0 {
			s += " |"
		}
		s += " " + strings.Join(l.Details, ", ")
	}
	return s
}

// Check judges reports (from Group.Reports) against spec for the
// participants present (indexes into spec.Participants). It only reads the
// measurements, so it can run on reports saved earlier.
func Check(reports []Report, spec media.Spec, present []int) []CheckLine {
	byIndex := map[int]Report{}
	for _, r := range reports {
		byIndex[r.Index] = r
	}
	var lines []CheckLine
	for _, i := range present {
		line := CheckLine{Index: i, Name: participantName(spec, i)}
		r, ok := byIndex[i]
		switch {
		case !ok:
			line.Problems = append(line.Problems, "no report")
		case !r.Present:
			line.Problems = append(line.Problems, "absent (no tab)")
		case r.Self.Error != "":
			line.Problems = append(line.Problems, "page error: "+r.Self.Error)
		case !r.Self.Joined:
			line.Problems = append(line.Problems, "not joined")
		}
		if ok {
			for _, j := range present {
				if j == i {
					continue
				}
				line.judgeRemote(r, spec, j)
			}
		}
		line.OK = len(line.Problems) == 0
		lines = append(lines, line)
	}
	return lines
}

func (l *CheckLine) judgeRemote(r Report, spec media.Spec, j int) {
	name := participantName(spec, j)
	rem, found := findRemote(r, name)
	if !found {
		l.Problems = append(l.Problems, "does not see "+name)
		return
	}
	var wantHz float64
	if j < len(spec.Participants) {
		wantHz = spec.Participants[j].ToneHz
	}
	level, hasLevel := rem.ToneLevelsDB[strconv.FormatFloat(wantHz, 'f', -1, 64)]
	if !hasLevel {
		level = -200
	}
	if !rem.VideoFramesIncreasing {
		l.Problems = append(l.Problems, fmt.Sprintf("no moving video from %s (%d frames, %.1f fps)", name, rem.VideoFrames, rem.VideoFPS))
	}
	if level <= HeardDB {
		l.Problems = append(l.Problems, fmt.Sprintf("does not hear %s (%g Hz at %.1f dB, peak %g Hz %.1f dB)", name, wantHz, level, rem.PeakToneHz, rem.PeakToneDB))
	}
	l.Details = append(l.Details, fmt.Sprintf("%s %.0f fps %g Hz %.0f dB", name, rem.VideoFPS, wantHz, level))
}

// findRemote returns the remote named name, preferring one still present.
func findRemote(r Report, name string) (Remote, bool) {
	var best Remote
	found := false
	for _, rem := range r.Remotes {
		if rem.Name != name {
			continue
		}
		if !found || (best.Left && !rem.Left) {
			best, found = rem, true
		}
	}
	return best, found && !best.Left
}

func participantName(spec media.Spec, i int) string {
	if i >= 0 && i < len(spec.Participants) {
		return spec.Participants[i].Name
	}
	return fmt.Sprintf("participant %d", i)
}
