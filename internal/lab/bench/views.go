package bench

// modeView is one capture mode's share of a scenario: its runs and their
// spread.
type modeView struct {
	Capture string
	Runs    []RunResult // in the order run
	OK      int         // runs without error
	// Summary is over the runs without error; when none is ok, over all
	// of them (what the failed runs cost still tells whether the
	// machine was starved).
	Summary map[string]Spread
}

// views splits a scenario's runs by capture mode, in the order the modes
// were asked (else first run), and summarises each. It reads only Runs, so
// a result saved by an older bench (no modes, no summaries) reads alike.
func (sr ScenarioResult) views() []modeView {
	order := append([]string(nil), sr.Captures...)
	known := map[string]bool{}
	for _, c := range order {
		known[c] = true
	}
	for _, r := range sr.Runs {
		if c := captureOf(r); !known[c] {
			known[c] = true
			order = append(order, c)
		}
	}
	out := make([]modeView, 0, len(order))
	for _, c := range order {
		v := modeView{Capture: c}
		var ok, all []map[string]float64
		for _, r := range sr.Runs {
			if captureOf(r) != c {
				continue
			}
			v.Runs = append(v.Runs, r)
			all = append(all, r.Figures)
			if r.Error == "" {
				ok = append(ok, r.Figures)
			}
		}
		v.OK = len(ok)
		if v.OK > 0 {
			v.Summary = spreads(ok)
		} else {
			v.Summary = spreads(all)
		}
		out = append(out, v)
	}
	return out
}
