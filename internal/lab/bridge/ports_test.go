package bridge

import (
	"slices"
	"testing"
)

func TestStatsNameEachEndpointsLocalPorts(t *testing.T) {
	b, err := New(Config{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ta, err := b.AllocateEndpoint(testConf, "A")
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.AllocateEndpoint(testConf, "B")
	if err != nil {
		t.Fatal(err)
	}
	eps := b.Stats().Conferences[testConf].Endpoints
	for id, tr := range map[string]Transport{"A": ta, "B": tb} {
		var want []int
		for _, c := range tr.Candidates {
			want = append(want, c.Port)
		}
		if got := eps[id].LocalPorts; len(got) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s: LocalPorts %v, offered candidates on %v", id, got, want)
		}
	}
	if slices.Equal(eps["A"].LocalPorts, eps["B"].LocalPorts) {
		t.Errorf("A and B share ports %v: a fault on one link would hit both", eps["A"].LocalPorts)
	}
}
