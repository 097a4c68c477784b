package bench

import (
	"math"
	"sort"
	"strings"
	"time"
)

// cpuFigures summarises the samples of one run. Averages are over the
// window (the recording proper, joined and steady); peaks and CPU-seconds
// over every sample (start-up and finalising included). Keys are
// "cpu_avg_cores.<tree>/<part>", "cpu_peak_cores.…", "cpu_s.…",
// "rss_peak_mb.…", with "<tree>/total" for a whole tree.
func cpuFigures(samples []Sample, from, to time.Time, clk float64) map[string]float64 {
	out := map[string]float64{}
	var winDT float64
	winTicks := map[string]uint64{}
	allTicks := map[string]uint64{}
	var winBusy uint64
	var winBusyDT float64
	for _, s := range samples {
		cpu, rss := withTotals(s.CPUTicks), withTotals(s.RSSKB)
		for part, kb := range rss {
			out["rss_peak_mb."+part] = math.Max(out["rss_peak_mb."+part], float64(kb)/1024)
		}
		out["pss_peak_mb.recorder/total"] = math.Max(out["pss_peak_mb.recorder/total"], float64(s.RecorderPSSKB)/1024)
		out["procs_peak.recorder/total"] = math.Max(out["procs_peak.recorder/total"], float64(s.RecorderProcs))
		if s.DT <= 0 {
			continue
		}
		dt := s.DT.Seconds()
		inWindow := s.At.After(from) && !s.At.After(to)
		for part, t := range cpu {
			allTicks[part] += t
			out["cpu_peak_cores."+part] = math.Max(out["cpu_peak_cores."+part], cores(t, clk, dt))
			if inWindow {
				winTicks[part] += t
			}
		}
		out["cpu_peak_cores.machine"] = math.Max(out["cpu_peak_cores.machine"], cores(s.MachineBusyTicks, clk, s.MachineDT.Seconds()))
		if inWindow {
			winDT += dt
			winBusy += s.MachineBusyTicks
			winBusyDT += s.MachineDT.Seconds()
		}
	}
	for part, t := range allTicks {
		out["cpu_s."+part] = float64(t) / clk
	}
	for k, v := range breakdownFigures(samples, from, to, clk) {
		out[k] = v
	}
	if winDT > 0 {
		for part := range allTicks {
			out["cpu_avg_cores."+part] = cores(winTicks[part], clk, winDT)
		}
		out["cpu_avg_cores.machine"] = cores(winBusy, clk, winBusyDT)
		// What neither tree used: other work on the machine, which the
		// figures are read against.
		out["cpu_avg_cores.outside"] = math.Max(0, out["cpu_avg_cores.machine"]-out["cpu_avg_cores.recorder/total"]-out["cpu_avg_cores.lab/total"])
	}
	return out
}

// cores is CPU time over wall time: 1.0 is one core busy all the time.
func cores(ticks uint64, clk, seconds float64) float64 {
	if seconds <= 0 || clk <= 0 {
		return 0
	}
	return float64(ticks) / clk / seconds
}

// withTotals returns m with "<tree>/total" entries summing each tree's parts.
func withTotals(m map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m)+2)
	for part, v := range m {
		out[part] = v
		tree, _, _ := strings.Cut(part, "/")
		out[tree+"/total"] += v
	}
	return out
}

// Spread is one figure over several runs.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

// spreads gathers each key's values over the runs that have it.
func spreads(runs []map[string]float64) map[string]Spread {
	vals := map[string][]float64{}
	for _, r := range runs {
		for k, v := range r {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				vals[k] = append(vals[k], v)
			}
		}
	}
	out := make(map[string]Spread, len(vals))
	for k, v := range vals {
		s := Spread{Median: median(v), N: len(v), Min: v[0], Max: v[0]}
		for _, x := range v {
			s.Min, s.Max = math.Min(s.Min, x), math.Max(s.Max, x)
		}
		out[k] = s
	}
	return out
}

// median of v (the mean of the middle two for an even count); NaN if empty.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// Figures below this many cores are left out of the thread breakdown.
const minThreadCores = 0.002

// breakdownFigures is the per-process and per-thread breakdown: keys
// "proc_cpu_avg_cores.<label>", "proc_rss_peak_mb.<label>",
// "proc_pss_peak_mb.<label>" (recorder tree), "procs_peak.<label>", and
// "thread_cpu_avg_cores.<label>|<thread name>" (see processLabel). CPU is
// averaged over the same window as cpuFigures; memory peaks are per label,
// so they need not add up to the tree's peak.
func breakdownFigures(samples []Sample, from, to time.Time, clk float64) map[string]float64 {
	out := map[string]float64{}
	procTicks, threadTicks := map[string]uint64{}, map[string]uint64{}
	var winDT float64
	for _, s := range samples {
		for l, kb := range s.ProcRSSKB {
			out["proc_rss_peak_mb."+l] = math.Max(out["proc_rss_peak_mb."+l], float64(kb)/1024)
		}
		for l, kb := range s.ProcPSSKB {
			out["proc_pss_peak_mb."+l] = math.Max(out["proc_pss_peak_mb."+l], float64(kb)/1024)
		}
		for l, n := range s.ProcCount {
			out["procs_peak."+l] = math.Max(out["procs_peak."+l], float64(n))
		}
		if s.DT <= 0 || !s.At.After(from) || s.At.After(to) {
			continue
		}
		winDT += s.DT.Seconds()
		for l, t := range s.ProcTicks {
			procTicks[l] += t
		}
		for l, t := range s.ThreadTicks {
			threadTicks[l] += t
		}
	}
	if winDT <= 0 {
		return out
	}
	for l, t := range procTicks {
		out["proc_cpu_avg_cores."+l] = cores(t, clk, winDT)
	}
	for l, t := range threadTicks {
		if c := cores(t, clk, winDT); c >= minThreadCores {
			out["thread_cpu_avg_cores."+l] = c
		}
	}
	return out
}
