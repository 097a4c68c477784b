package bridge

import (
	"encoding/binary"
	"testing"
	"time"
)

func rtpWithSeq(seq uint16) []byte {
	pkt := make([]byte, 12)
	pkt[0] = 0x80
	binary.BigEndian.PutUint16(pkt[2:4], seq)
	return pkt
}

func TestReceiverReportsCountLossAcrossSequenceWrap(t *testing.T) {
	ep := &endpoint{recvStates: map[uint32]*receiveState{}}
	now := time.Now()
	// 65530..65535, then 0..9 with 3 and 4 missing: 16 expected, 14 received.
	for seq := uint16(65530); seq != 10; seq++ {
		if seq == 3 || seq == 4 {
			continue
		}
		ep.noteRTP(7, rtpWithSeq(seq), now)
	}
	ep.noteRTP(7, rtpWithSeq(1), now) // late duplicate does not move the maximum
	reports := ep.receptionReports(now)
	if len(reports) != 1 {
		t.Fatalf("got %d reports", len(reports))
	}
	r := reports[0]
	if r.SSRC != 7 || r.LastSequenceNumber != 1<<16+9 {
		t.Fatalf("report %+v: want extended sequence %d", r, 1<<16+9)
	}
	if r.TotalLost != 1 { // 16 expected, 15 counted (the duplicate counts as received)
		t.Fatalf("total lost %d, want 1", r.TotalLost)
	}
	// Nothing new: the next interval reports no fresh loss.
	if again := ep.receptionReports(now); again[0].FractionLost != 0 {
		t.Fatalf("fraction lost %d in an empty interval", again[0].FractionLost)
	}
	// A silent source is no longer reported.
	if stale := ep.receptionReports(now.Add(2 * feedbackStaleAfter)); len(stale) != 0 {
		t.Fatalf("stale source still reported: %+v", stale)
	}
}
