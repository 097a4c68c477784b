package bridge

import (
	"bytes"
	"log/slog"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

const testConf = "room@conference.localhost"

func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("BRIDGE_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// testPeer is a client-side endpoint as Chrome would be: ICE controlled,
// DTLS client, SRTP; built from the same pion stack, independent of the
// bridge's routing.
type testPeer struct {
	t    *testing.T
	name string
	sess *session
	rtp  chan []byte
	rtcp chan []rtcp.Packet
}

func newTestPeer(t *testing.T, name string) *testPeer {
	t.Helper()
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatalf("cert: %v", err)
	}
	p := &testPeer{t: t, name: name, rtp: make(chan []byte, 256), rtcp: make(chan []rtcp.Packet, 256)}
	p.sess, err = newSession(testLogger().With("peer", name), rolePeer, cert, sessionCallbacks{
		onRTP: func(pkt []byte) {
			select {
			case p.rtp <- append([]byte(nil), pkt...):
			default:
			}
		},
		onRTCP: func(pkt []byte) {
			pkts, err := rtcp.Unmarshal(pkt)
			if err != nil {
				t.Errorf("%s: bad RTCP from bridge: %v", name, err)
				return
			}
			select {
			case p.rtcp <- pkts:
			default:
			}
		},
	})
	if err != nil {
		t.Fatalf("peer %s: %v", name, err)
	}
	return p
}

// connect allocates the peer's endpoint on the bridge and runs ICE+DTLS the
// way the focus would drive it: allocate, remote transport, trickled
// candidates. It returns the bridge's side of the transport.
func (p *testPeer) connect(b *Bridge) Transport {
	p.t.Helper()
	bt, err := b.AllocateEndpoint(testConf, p.name)
	if err != nil {
		p.t.Fatalf("allocate %s: %v", p.name, err)
	}
	if bt.Fingerprint.Setup != "actpass" || bt.Fingerprint.Hash != "sha-256" {
		p.t.Fatalf("bridge fingerprint %+v", bt.Fingerprint)
	}
	for _, c := range bt.Candidates {
		if c.IP != "127.0.0.1" || c.Protocol != "udp" || c.Type != "host" {
			p.t.Fatalf("bridge offered non-loopback/host candidate %+v", c)
		}
	}
	local, err := p.sess.local()
	if err != nil {
		p.t.Fatal(err)
	}
	cands := local.Candidates
	local.Candidates = nil
	if err := b.SetRemoteTransport(testConf, p.name, local); err != nil {
		p.t.Fatalf("set remote %s: %v", p.name, err)
	}
	// Trickled after session-accept, plus one the bridge must ignore.
	cands = append(cands, Candidate{Foundation: "9", Component: 1, Protocol: "udp", Priority: 1, IP: "192.0.2.7", Port: 9, Type: "host"})
	if err := b.AddRemoteCandidates(testConf, p.name, cands); err != nil {
		p.t.Fatal(err)
	}
	if err := p.sess.start(bt); err != nil {
		p.t.Fatal(err)
	}
	return bt
}

func (p *testPeer) sendRTP(ssrc uint32, seq uint16, payload []byte) []byte {
	p.t.Helper()
	return p.sendRTPType(ssrc, videoPayloadType, seq, payload)
}

// sendRTPType sends RTP of the given payload type (100 VP8, 111 opus).
func (p *testPeer) sendRTPType(ssrc uint32, pt uint8, seq uint16, payload []byte) []byte {
	p.t.Helper()
	pkt := &rtp.Packet{Header: rtp.Header{
		Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, SSRC: ssrc, Marker: seq%2 == 0,
	}, Payload: payload}
	if err := pkt.Header.SetExtension(1, []byte{0x2a}); err != nil {
		p.t.Fatal(err)
	}
	raw, err := pkt.Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.sess.writeRTP(raw); err != nil {
		p.t.Fatalf("%s send RTP: %v", p.name, err)
	}
	return raw
}

func (p *testPeer) sendRTCP(pkts ...rtcp.Packet) {
	p.t.Helper()
	raw, err := rtcp.Marshal(pkts)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.sess.writeRTCP(raw); err != nil {
		p.t.Fatalf("%s send RTCP: %v", p.name, err)
	}
}

func (p *testPeer) expectRTP(want []byte) {
	p.t.Helper()
	select {
	case got := <-p.rtp:
		if !bytes.Equal(got, want) {
			p.t.Fatalf("%s got RTP %x, want %x", p.name, got, want)
		}
	case <-time.After(3 * time.Second):
		p.t.Fatalf("%s: no RTP forwarded", p.name)
	}
}

func (p *testPeer) expectNoRTP(within time.Duration) {
	p.t.Helper()
	select {
	case got := <-p.rtp:
		p.t.Fatalf("%s unexpectedly got RTP %x", p.name, got)
	case <-time.After(within):
	}
}

// expectRTCP waits for a packet for which match returns true, skipping others.
func (p *testPeer) expectRTCP(what string, match func(rtcp.Packet) bool) {
	p.t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case pkts := <-p.rtcp:
			for _, pk := range pkts {
				if match(pk) {
					return
				}
			}
		case <-deadline:
			p.t.Fatalf("%s: no %s arrived", p.name, what)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitReady(t *testing.T, b *Bridge, peers ...*testPeer) {
	t.Helper()
	for _, p := range peers {
		waitFor(t, p.name+" DTLS on both sides", func() bool {
			es, ok := b.Stats().Conferences[testConf].Endpoints[p.name]
			return ok && es.DTLSDone && es.ICEState == "Connected" && p.sess.ready()
		})
	}
}

func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestBridgeForwardsRTPOnlyToEndpointsToldAboutTheSource(t *testing.T) {
	baseGoroutines := runtime.NumGoroutine()
	baseFDs := openFDs(t)

	b, err := New(Config{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	a, bp, c := newTestPeer(t, "A"), newTestPeer(t, "B"), newTestPeer(t, "C")
	// C only speaks the other profile Chrome offers, so both are exercised.
	c.sess.profiles = []dtls.SRTPProtectionProfile{dtls.SRTP_AES128_CM_HMAC_SHA1_80}
	for _, p := range []*testPeer{a, bp, c} {
		p.connect(b)
	}
	waitReady(t, b, a, bp, c)
	profiles := map[string]string{}
	for id, es := range b.Stats().Conferences[testConf].Endpoints {
		profiles[id] = es.SRTPProfile
	}
	if profiles["A"] != "SRTP_AEAD_AES_128_GCM" || profiles["C"] != "SRTP_AES128_CM_HMAC_SHA1_80" {
		t.Fatalf("negotiated SRTP profiles %v", profiles)
	}

	const ssrcX = 0x11223344
	b.SetSources(testConf, "A", []uint32{ssrcX})
	b.SetReceivable(testConf, "B", []uint32{ssrcX})
	// B subscribed while A was up: A is asked for a key frame.
	a.expectRTCP("PLI on subscription", func(p rtcp.Packet) bool {
		pli, ok := p.(*rtcp.PictureLossIndication)
		return ok && pli.MediaSSRC == ssrcX
	})

	t.Run("RTP reaches B byte-identical and not C", func(t *testing.T) {
		for seq := uint16(100); seq < 110; seq++ {
			sent := a.sendRTP(ssrcX, seq, bytes.Repeat([]byte{byte(seq)}, 200))
			bp.expectRTP(sent)
		}
		c.expectNoRTP(300 * time.Millisecond)
		a.expectNoRTP(0)
	})

	t.Run("PLI and FIR from B reach the owner A", func(t *testing.T) {
		bp.sendRTCP(&rtcp.ReceiverReport{SSRC: 0xbbbb}, &rtcp.PictureLossIndication{SenderSSRC: 0xbbbb, MediaSSRC: ssrcX})
		a.expectRTCP("PLI from B", func(p rtcp.Packet) bool {
			pli, ok := p.(*rtcp.PictureLossIndication)
			return ok && pli.MediaSSRC == ssrcX && pli.SenderSSRC == 0xbbbb
		})
		bp.sendRTCP(&rtcp.FullIntraRequest{SenderSSRC: 0xbbbb, FIR: []rtcp.FIREntry{{SSRC: ssrcX, SequenceNumber: 1}}})
		a.expectRTCP("FIR from B", func(p rtcp.Packet) bool {
			fir, ok := p.(*rtcp.FullIntraRequest)
			return ok && len(fir.FIR) == 1 && fir.FIR[0].SSRC == ssrcX
		})
	})

	t.Run("sender report from A reaches B", func(t *testing.T) {
		a.sendRTCP(&rtcp.SenderReport{SSRC: ssrcX, NTPTime: 0x0102030405060708, RTPTime: 90000, PacketCount: 10, OctetCount: 2000,
			Reports: []rtcp.ReceptionReport{{SSRC: 0xcccc}}})
		bp.expectRTCP("SR of X", func(p rtcp.Packet) bool {
			sr, ok := p.(*rtcp.SenderReport)
			return ok && sr.SSRC == ssrcX && sr.NTPTime == 0x0102030405060708 && sr.RTPTime == 90000
		})
	})

	t.Run("A gets receiver reports and REMB for X from the bridge", func(t *testing.T) {
		a.expectRTCP("RR for X", func(p rtcp.Packet) bool {
			rr, ok := p.(*rtcp.ReceiverReport)
			if !ok || rr.SSRC != bridgeSSRC || len(rr.Reports) != 1 {
				return false
			}
			r := rr.Reports[0]
			return r.SSRC == ssrcX && r.LastSequenceNumber == 109 && r.TotalLost == 0 && r.FractionLost == 0 && r.LastSenderReport != 0
		})
		a.expectRTCP("REMB for X", func(p rtcp.Packet) bool {
			remb, ok := p.(*rtcp.ReceiverEstimatedMaximumBitrate)
			return ok && len(remb.SSRCs) == 1 && remb.SSRCs[0] == ssrcX && remb.Bitrate >= 1e6
		})
	})

	t.Run("owner learned from RTP without SetSources", func(t *testing.T) {
		const ssrcY = 0x55667788
		b.SetReceivable(testConf, "A", []uint32{ssrcY})
		sent := c.sendRTP(ssrcY, 1, []byte("from C"))
		a.expectRTP(sent)
		a.sendRTCP(&rtcp.PictureLossIndication{SenderSSRC: 0xaaaa, MediaSSRC: ssrcY})
		c.expectRTCP("PLI for Y", func(p rtcp.Packet) bool {
			pli, ok := p.(*rtcp.PictureLossIndication)
			return ok && pli.MediaSSRC == ssrcY
		})
	})

	t.Run("paused bridge forwards nothing", func(t *testing.T) {
		b.SetPaused(true)
		a.sendRTP(ssrcX, 200, []byte("paused"))
		bp.expectNoRTP(300 * time.Millisecond)
		b.SetPaused(false)
		sent := a.sendRTP(ssrcX, 201, []byte("resumed"))
		bp.expectRTP(sent)
	})

	t.Run("stats count received and forwarded packets", func(t *testing.T) {
		// The bridge counts a packet after sending it, so the count may trail the receipt briefly.
		waitFor(t, "B's forwarded count", func() bool {
			return b.Stats().Conferences[testConf].Endpoints["B"].Forwarded[ssrcX].Packets >= 11
		})
		st := b.Stats().Conferences[testConf]
		if got := st.Endpoints["A"].Received[ssrcX].Packets; got < 12 {
			t.Errorf("A received %d packets of X, want >= 12", got)
		}
		if got := st.Endpoints["B"].Forwarded[ssrcX].Packets; got != 11 {
			t.Errorf("B forwarded %d packets of X, want 11", got)
		}
		if got := st.Endpoints["C"].Forwarded[ssrcX].Packets; got != 0 {
			t.Errorf("C forwarded %d packets of X, want 0", got)
		}
		if st.Endpoints["A"].SRTPProfile == "" {
			t.Error("no SRTP profile in stats")
		}
	})

	t.Run("expired endpoint receives nothing", func(t *testing.T) {
		b.ExpireEndpoint(testConf, "B")
		if _, ok := b.Stats().Conferences[testConf].Endpoints["B"]; ok {
			t.Fatal("B still in stats after expiry")
		}
		a.sendRTP(ssrcX, 300, []byte("after expiry"))
		bp.expectNoRTP(300 * time.Millisecond)
		// A late subscriber still gets the stream.
		b.SetReceivable(testConf, "C", []uint32{ssrcX})
		sent := a.sendRTP(ssrcX, 301, []byte("to C"))
		c.expectRTP(sent)
	})

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := b.AllocateEndpoint(testConf, "D"); err == nil {
		t.Fatal("allocate after Close succeeded")
	}
	for _, p := range []*testPeer{a, bp, c} {
		p.sess.Close()
	}
	waitFor(t, "goroutines and sockets released", func() bool {
		return runtime.NumGoroutine() <= baseGoroutines && openFDs(t) <= baseFDs
	})
}

func TestBridgeRejectsPeerWithWrongFingerprint(t *testing.T) {
	b, err := New(Config{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p := newTestPeer(t, "A")
	defer p.sess.Close()
	bt, err := b.AllocateEndpoint(testConf, "A")
	if err != nil {
		t.Fatal(err)
	}
	local, err := p.sess.local()
	if err != nil {
		t.Fatal(err)
	}
	local.Fingerprint.Value = certFingerprint([]byte("some other certificate"))
	if err := b.SetRemoteTransport(testConf, "A", local); err != nil {
		t.Fatal(err)
	}
	if err := p.sess.start(bt); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "DTLS failure in stats", func() bool {
		es := b.Stats().Conferences[testConf].Endpoints["A"]
		return es.Error != "" && !es.DTLSDone
	})
}

func TestSetRemoteTransportNeedsAllocatedEndpoint(t *testing.T) {
	b, err := New(Config{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.SetRemoteTransport(testConf, "nobody", Transport{Ufrag: "u", Pwd: "p"}); err == nil {
		t.Fatal("want error for unknown endpoint")
	}
	if err := b.AddRemoteCandidates(testConf, "nobody", nil); err == nil {
		t.Fatal("want error for unknown endpoint")
	}
	first, err := b.AllocateEndpoint(testConf, "A")
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.AllocateEndpoint(testConf, "A")
	if err != nil {
		t.Fatal(err)
	}
	if first.Ufrag != again.Ufrag || first.Fingerprint != again.Fingerprint {
		t.Fatal("allocating twice created a new transport")
	}
	if err := b.SetRemoteTransport(testConf, "A", Transport{}); err == nil {
		t.Fatal("remote transport without ufrag/pwd accepted")
	}
	if err := b.SetRemoteTransport(testConf, "A", Transport{Ufrag: "abcd", Pwd: "0123456789012345678901"}); err != nil {
		t.Fatalf("valid remote transport after a refused one: %v", err)
	}
	if err := b.SetRemoteTransport(testConf, "A", Transport{Ufrag: "abcd", Pwd: "0123456789012345678901"}); err == nil {
		t.Fatal("second remote transport accepted")
	}
	b.SetSources(testConf, "ghost", []uint32{1})
	b.SetReceivable(testConf, "ghost", []uint32{2})
	if _, ok := b.Stats().Conferences[testConf].Endpoints["ghost"]; ok {
		t.Fatal("SetSources/SetReceivable created an endpoint that was never allocated")
	}
	if first.WebSocketURL != "" {
		t.Fatalf("WebSocketURL %q without colibri base", first.WebSocketURL)
	}
}

func TestRemoteCandidatesOffLoopbackAreRefused(t *testing.T) {
	for _, c := range []Candidate{
		{Protocol: "udp", Component: 1, IP: "192.168.1.5", Port: 5000},
		{Protocol: "udp", Component: 1, IP: "10.0.0.1", Port: 5000},
		{Protocol: "tcp", Component: 1, IP: "127.0.0.1", Port: 5000},
		{Protocol: "udp", Component: 2, IP: "127.0.0.1", Port: 5000},
		{Protocol: "udp", Component: 1, IP: "abcd.local", Port: 5000},
	} {
		if _, err := toICECandidate(c); err == nil {
			t.Errorf("candidate %+v accepted", c)
		}
	}
	if _, err := toICECandidate(Candidate{Protocol: "UDP", Component: 1, IP: "127.0.0.1", Port: 5000, Type: "srflx"}); err != nil {
		t.Errorf("loopback candidate refused: %v", err)
	}
}
