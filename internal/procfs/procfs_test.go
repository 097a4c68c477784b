package procfs

import (
	"reflect"
	"testing"
)

func TestParseStatHandlesCommandNamesWithSpacesAndParens(t *testing.T) {
	p, err := ParseStat([]byte("42 (Web Content (x)) R 7 1 1 0 -1 0 0 0 0 0 150 50 3 4 20 0 1 0 9999 1000 10\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Proc{PID: 42, PPID: 7, Comm: "Web Content (x)", Ticks: 200, Start: 9999}
	if p != want {
		t.Errorf("got %+v, want %+v", p, want)
	}
}

func TestParseStatRejectsTruncatedLines(t *testing.T) {
	if _, err := ParseStat([]byte("42 (x) R 7 1")); err == nil {
		t.Error("want an error for a truncated stat line")
	}
}

func TestDescendantsSurvivesAParentLoop(t *testing.T) {
	procs := map[int]Proc{5: {PID: 5, PPID: 6}, 6: {PID: 6, PPID: 5}}
	if got := Descendants(procs, 5); !reflect.DeepEqual(got, []int{5, 6}) {
		t.Errorf("got %v", got)
	}
}

func TestStatusFieldReadsKilobytes(t *testing.T) {
	if got := StatusField([]byte("Name:\tx\nVmRSS:\t  123456 kB\n"), "VmRSS:"); got != 123456 {
		t.Errorf("VmRSS = %d", got)
	}
	if got := StatusField([]byte("Name:\tkthread\n"), "VmRSS:"); got != 0 {
		t.Errorf("missing VmRSS = %d, want 0", got)
	}
}
