package bench

import (
	"github.com/jitsi-recorder/jitsi-recorder/internal/procfs"

	"testing"
	"time"
)

func TestSamplerCountsCPUDeltasPerPartAndBirthsSinceTheLastSample(t *testing.T) {
	f := newFakeProc(t)
	f.machine(1000, 5000)
	f.set(1, 0, "init", 0, 1, 0, 0)
	f.set(10, 1, "jitsi-lab", 100, 5, 30_000, 0)          // the lab (this process)
	f.set(11, 10, "chromium", 500, 6, 200_000, 0)         // participants' browser
	f.set(20, 10, "jitsi-recorder", 40, 7, 10_000, 8_000) // the recorder, a child of the lab
	f.set(21, 20, "chromium", 300, 8, 100_000, 60_000)
	f.set(22, 21, "chromium", 100, 9, 90_000, 30_000)
	s := newSampler(procfs.FS{Root: f.root}, 20, 10, 11, time.Second)
	s.sample(time.Time{})

	f.machine(1150, 5050)
	f.set(10, 1, "jitsi-lab", 110, 5, 30_000, 0)
	f.set(11, 10, "chromium", 560, 6, 210_000, 0)
	f.set(20, 10, "jitsi-recorder", 42, 7, 10_000, 8_000)
	f.set(21, 20, "chromium", 330, 8, 100_000, 60_000)
	f.remove(22)                                      // exited: its last ticks are lost
	f.set(23, 21, "chromium", 20, 15, 50_000, 20_000) // born since: all 20 ticks count
	f.set(24, 20, "ffmpeg", 5, 16, 40_000, 35_000)
	f.set(22, 10, "ffmpeg", 7, 17, 1_000, 0) // PID 22 reused in the lab: a new process
	s.sample(time.Time{})

	got := s.Samples()
	if len(got) != 2 {
		t.Fatalf("%d samples, want 2", len(got))
	}
	if len(got[0].CPUTicks) != 0 {
		t.Errorf("first sample has CPU %v, want only a baseline", got[0].CPUTicks)
	}
	want := map[string]uint64{
		"recorder/recorder": 2, "recorder/chromium": 30 + 20, "recorder/ffmpeg": 5,
		"lab/lab": 10, "lab/participants": 60,
		"lab/other": 7, // the new PID 22, an unnamed child of the lab
	}
	for k, v := range want {
		if got[1].CPUTicks[k] != v {
			t.Errorf("CPU %s = %d ticks, want %d (all: %v)", k, got[1].CPUTicks[k], v, got[1].CPUTicks)
		}
	}
	if got[1].RSSKB["recorder/chromium"] != 150_000 || got[1].RSSKB["lab/participants"] != 210_000 {
		t.Errorf("RSS %v", got[1].RSSKB)
	}
	if got[1].RecorderPSSKB != 8_000+60_000+20_000+35_000 {
		t.Errorf("recorder PSS %d", got[1].RecorderPSSKB)
	}
	if got[1].MachineBusyTicks != 150 {
		t.Errorf("machine busy %d ticks, want 150", got[1].MachineBusyTicks)
	}
}

func TestSurvivorsAreRecorderProcessesStillRunningWithTheSameStart(t *testing.T) {
	f := newFakeProc(t)
	f.machine(0, 0)
	f.set(1, 0, "init", 0, 1, 0, 0)
	f.set(20, 1, "jitsi-recorder", 0, 7, 0, 0)
	f.set(21, 20, "chromium", 0, 8, 0, 0)
	f.set(22, 20, "ffmpeg", 0, 9, 0, 0)
	f.set(23, 20, "chromium", 0, 10, 0, 0)
	s := newSampler(procfs.FS{Root: f.root}, 20, 1, 0, time.Second)
	s.sample(time.Time{})

	f.remove(20)
	f.remove(22)
	f.set(21, 1, "chromium", 0, 8, 0, 0) // re-parented orphan
	f.set(23, 1, "bash", 0, 99, 0, 0)    // PID reused by someone else
	got := s.Survivors()
	if len(got) != 1 || got[21] != "chromium" {
		t.Errorf("survivors %v, want only 21:chromium", got)
	}
}
