package bridge

import (
	"encoding/binary"
	"time"

	"github.com/pion/rtcp"
)

// Chrome's congestion control only raises its send rate on receiver
// feedback; without any it stays at its start rate (~300 kbps) and scales
// video down. The real bridge answers with transport-cc/REMB; the lab bridge
// sends each sender a receiver report per source (the loss it saw) plus a
// generous REMB, once a second.
const (
	feedbackInterval = time.Second
	rembBitrate      = 10_000_000
	// A source silent this long gets no more reports.
	feedbackStaleAfter = 5 * time.Second
)

// receiveState tracks one incoming SSRC for receiver reports (RFC 3550 A.1, A.3).
type receiveState struct {
	baseSeq       uint16
	maxSeq        uint16
	cycles        uint32
	received      uint32
	lastExpected  uint32
	lastReceived  uint32
	lastPacketAt  time.Time
	lastSRMiddle  uint32 // middle 32 bits of the last SR's NTP time
	lastSRAt      time.Time
	totalLostSeen uint32
}

// noteRTP updates the receive state of ssrc; the caller holds ep.statsMu.
func (ep *endpoint) noteRTP(ssrc uint32, pkt []byte, now time.Time) {
	seq := binary.BigEndian.Uint16(pkt[2:4])
	st := ep.recvStates[ssrc]
	if st == nil {
		st = &receiveState{baseSeq: seq, maxSeq: seq}
		ep.recvStates[ssrc] = st
	} else if delta := seq - st.maxSeq; delta != 0 && delta < 0x8000 {
		if seq < st.maxSeq {
			st.cycles += 1 << 16
		}
		st.maxSeq = seq
	}
	st.received++
	st.lastPacketAt = now
}

// noteSR remembers a sender report for the LSR/DLSR fields; the caller holds ep.statsMu.
func (ep *endpoint) noteSR(sr *rtcp.SenderReport, now time.Time) {
	st := ep.recvStates[sr.SSRC]
	if st == nil {
		return
	}
	st.lastSRMiddle = uint32(sr.NTPTime >> 16)
	st.lastSRAt = now
}

// receptionReports builds one report block per live source of ep; the
// caller holds ep.statsMu.
func (ep *endpoint) receptionReports(now time.Time) []rtcp.ReceptionReport {
	var out []rtcp.ReceptionReport
	for ssrc, st := range ep.recvStates {
		if now.Sub(st.lastPacketAt) > feedbackStaleAfter {
			continue
		}
		extMax := st.cycles + uint32(st.maxSeq)
		expected := extMax - uint32(st.baseSeq) + 1
		lost := int64(expected) - int64(st.received)
		if lost < 0 {
			lost = 0 // retransmissions on the same SSRC
		}
		expectedInterval := expected - st.lastExpected
		receivedInterval := st.received - st.lastReceived
		st.lastExpected, st.lastReceived = expected, st.received
		var fraction uint8
		if expectedInterval > 0 && receivedInterval < expectedInterval {
			fraction = uint8(((expectedInterval - receivedInterval) << 8) / expectedInterval)
		}
		rr := rtcp.ReceptionReport{
			SSRC:               ssrc,
			FractionLost:       fraction,
			TotalLost:          uint32(min(lost, 0x7fffff)),
			LastSequenceNumber: extMax,
		}
		if !st.lastSRAt.IsZero() {
			rr.LastSenderReport = st.lastSRMiddle
			rr.Delay = uint32(now.Sub(st.lastSRAt).Seconds() * 65536)
		}
		out = append(out, rr)
		if len(out) == 31 { // the RR count field has 5 bits
			break
		}
	}
	return out
}

// feedbackLoop sends receiver reports and REMB to every sending endpoint
// until the bridge closes.
func (b *Bridge) feedbackLoop() {
	defer b.wg.Done()
	ticker := time.NewTicker(feedbackInterval)
	defer ticker.Stop()
	for {
		select {
		case <-b.done:
			return
		case now := <-ticker.C:
			b.sendFeedbackReports(now)
		}
	}
}

func (b *Bridge) sendFeedbackReports(now time.Time) {
	if b.paused.Load() {
		return
	}
	b.mu.RLock()
	var eps []*endpoint
	for _, c := range b.conferences {
		for _, ep := range c.endpoints {
			if ep.sess != nil && ep.sess.ready() {
				eps = append(eps, ep)
			}
		}
	}
	b.mu.RUnlock()
	for _, ep := range eps {
		ep.statsMu.Lock()
		reports := ep.receptionReports(now)
		ep.statsMu.Unlock()
		if len(reports) == 0 {
			continue
		}
		ssrcs := make([]uint32, len(reports))
		for i, r := range reports {
			ssrcs[i] = r.SSRC
		}
		b.sendRTCP(ep,
			&rtcp.ReceiverReport{SSRC: bridgeSSRC, Reports: reports},
			&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: bridgeSSRC, Bitrate: rembBitrate, SSRCs: ssrcs})
	}
}
