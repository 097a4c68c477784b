package bridge

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/srtp/v3"
	"github.com/pion/transport/v5/packetio"
)

// sessionRole says which side of the transport a session plays. The bridge is
// always ICE controlling and DTLS server (it offers actpass, Chrome answers
// active); the peer role exists so tests can build real client-side peers
// from the same pion stack.
type sessionRole int

const (
	roleBridge sessionRole = iota // ICE controlling, DTLS server
	rolePeer                      // ICE controlled, DTLS client
)

const (
	gatherTimeout    = 5 * time.Second
	handshakeTimeout = 30 * time.Second
	maxPacketSize    = 8192
)

// sessionCallbacks receive decrypted media. They run on the session's read
// goroutine and must not keep the slice.
type sessionCallbacks struct {
	onRTP   func(pkt []byte)
	onRTCP  func(pkt []byte)
	onReady func() // SRTP keys are in place
}

// session is one bundled ICE+DTLS+SRTP transport (rtcp-mux).
type session struct {
	log  *slog.Logger
	role sessionRole
	cert tls.Certificate
	cb   sessionCallbacks
	// profiles are the SRTP profiles offered/accepted, best first. Chrome
	// offers both; GCM is preferred because Chrome prefers it too.
	profiles []dtls.SRTPProtectionProfile

	agent      *ice.Agent
	localCands []Candidate

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	dtlsIn *packetio.Buffer // DTLS records demultiplexed from the ICE conn

	mu         sync.Mutex
	started    bool
	closed     bool
	iceState   string
	dtlsDone   bool
	profile    string
	failure    string
	remoteFP   Fingerprint
	conn       *ice.Conn
	dtlsConn   *dtls.Conn
	encrypt    *srtp.Context // guarded by encMu
	decrypt    *srtp.Context // used by the read goroutine only, after ready
	readyFlag  bool
	encMu      sync.Mutex
	encryptBuf []byte
}

func newSession(log *slog.Logger, role sessionRole, cert tls.Certificate, cb sessionCallbacks) (*session, error) {
	loopback := net.IPv4(127, 0, 0, 1)
	agent, err := ice.NewAgentWithOptions(
		ice.WithNetworkTypes([]ice.NetworkType{ice.NetworkTypeUDP4}),
		ice.WithCandidateTypes([]ice.CandidateType{ice.CandidateTypeHost}),
		ice.WithIncludeLoopback(),
		// Only 127.0.0.1: the machine has other addresses that must never carry lab traffic.
		ice.WithIPFilter(func(ip net.IP) bool { return ip.Equal(loopback) }),
		ice.WithRemoteIPFilter(func(ip net.IP) bool { return ip.IsLoopback() }),
		ice.WithMulticastDNSMode(ice.MulticastDNSModeDisabled),
		ice.WithLoggerFactory(pionLoggerFactory{log: log}),
	)
	if err != nil {
		return nil, fmt.Errorf("create ICE agent: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{
		log:      log,
		role:     role,
		cert:     cert,
		cb:       cb,
		agent:    agent,
		ctx:      ctx,
		cancel:   cancel,
		dtlsIn:   packetio.NewBuffer(),
		iceState: ice.ConnectionStateNew.String(),
		profiles: []dtls.SRTPProtectionProfile{dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80},
	}
	if err := agent.OnConnectionStateChange(s.onICEState); err != nil {
		s.Close()
		return nil, fmt.Errorf("watch ICE state: %w", err)
	}
	if err := s.gather(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// gather collects the local host candidates synchronously, so the caller can
// put them into the Jingle offer.
func (s *session) gather() error {
	done := make(chan struct{})
	var once sync.Once
	if err := s.agent.OnCandidate(func(c ice.Candidate) {
		if c == nil {
			once.Do(func() { close(done) })
		}
	}); err != nil {
		return fmt.Errorf("watch candidates: %w", err)
	}
	if err := s.agent.GatherCandidates(); err != nil {
		return fmt.Errorf("gather candidates: %w", err)
	}
	select {
	case <-done:
	case <-time.After(gatherTimeout):
		return errors.New("gather candidates: timed out")
	}
	cands, err := s.agent.GetLocalCandidates()
	if err != nil {
		return fmt.Errorf("local candidates: %w", err)
	}
	for _, c := range cands {
		s.localCands = append(s.localCands, fromICECandidate(c))
	}
	if len(s.localCands) == 0 {
		return errors.New("gather candidates: no 127.0.0.1 host candidate")
	}
	return nil
}

func (s *session) onICEState(st ice.ConnectionState) {
	s.mu.Lock()
	s.iceState = st.String()
	s.mu.Unlock()
	switch st {
	case ice.ConnectionStateConnected:
		if pair, err := s.agent.GetSelectedCandidatePair(); err == nil && pair != nil {
			s.log.Info("ICE connected", "local", pair.Local.String(), "remote", pair.Remote.String())
		} else {
			s.log.Info("ICE connected")
		}
	case ice.ConnectionStateFailed:
		s.log.Warn("ICE failed")
		s.setFailure("ICE failed")
	default:
		s.log.Debug("ICE state", "state", st.String())
	}
}

func (s *session) setFailure(msg string) {
	s.mu.Lock()
	if s.failure == "" {
		s.failure = msg
	}
	s.mu.Unlock()
}

// local is this side's transport description.
func (s *session) local() (Transport, error) {
	ufrag, pwd, err := s.agent.GetLocalUserCredentials()
	if err != nil {
		return Transport{}, fmt.Errorf("local credentials: %w", err)
	}
	setup := "actpass"
	if s.role == rolePeer {
		setup = "active"
	}
	return Transport{
		Ufrag:       ufrag,
		Pwd:         pwd,
		Fingerprint: Fingerprint{Hash: "sha-256", Value: certFingerprint(s.cert.Certificate[0]), Setup: setup},
		Candidates:  append([]Candidate(nil), s.localCands...),
	}, nil
}

// addRemoteCandidates feeds Jingle candidates to the agent; it may be called
// before or after start. Non-loopback and non-UDP candidates are skipped.
func (s *session) addRemoteCandidates(cands []Candidate) {
	for _, c := range cands {
		ic, err := toICECandidate(c)
		if err != nil {
			s.log.Debug("ignore remote candidate", "candidate", fmt.Sprintf("%+v", c), "reason", err)
			continue
		}
		if err := s.agent.AddRemoteCandidate(ic); err != nil {
			s.log.Debug("add remote candidate", "candidate", fmt.Sprintf("%+v", c), "err", err)
		}
	}
}

// start begins ICE and then DTLS in the background. It may be called once.
func (s *session) start(remote Transport) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("session closed")
	}
	if s.started {
		s.mu.Unlock()
		return errors.New("remote transport already set")
	}
	if remote.Ufrag == "" || remote.Pwd == "" {
		s.mu.Unlock()
		return errors.New("remote transport without ufrag/pwd")
	}
	s.started = true
	s.remoteFP = remote.Fingerprint
	s.mu.Unlock()
	s.addRemoteCandidates(remote.Candidates)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.run(remote.Ufrag, remote.Pwd); err != nil && s.ctx.Err() == nil {
			s.log.Warn("transport failed", "err", err)
			s.setFailure(err.Error())
		}
	}()
	return nil
}

func (s *session) run(ufrag, pwd string) error {
	var conn *ice.Conn
	var err error
	if s.role == roleBridge {
		conn, err = s.agent.Dial(s.ctx, ufrag, pwd)
	} else {
		conn, err = s.agent.Accept(s.ctx, ufrag, pwd)
	}
	if err != nil {
		return fmt.Errorf("ICE: %w", err)
	}
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.readLoop(conn)
	}()

	dconn, err := s.handshake(conn)
	if err != nil {
		return fmt.Errorf("DTLS: %w", err)
	}
	if err := s.setupSRTP(dconn); err != nil {
		return fmt.Errorf("SRTP: %w", err)
	}
	// Keep reading DTLS so retransmitted client flights and alerts get answered.
	buf := make([]byte, maxPacketSize)
	for {
		if _, err := dconn.Read(buf); err != nil {
			return nil
		}
	}
}

func (s *session) handshake(conn *ice.Conn) (*dtls.Conn, error) {
	cfg := &dtls.Config{
		Certificates:           []tls.Certificate{s.cert},
		SRTPProtectionProfiles: s.profiles,
		ExtendedMasterSecret:   dtls.RequestExtendedMasterSecret,
		ClientAuth:             dtls.RequireAnyClientCert,
		InsecureSkipVerify:     true, // self-signed: checked against the Jingle fingerprint instead
		VerifyPeerCertificate:  s.verifyPeer,
		LoggerFactory:          pionLoggerFactory{log: s.log},
	}
	pc := &dtlsPacketConn{in: s.dtlsIn, out: conn}
	var dconn *dtls.Conn
	var err error
	if s.role == roleBridge {
		dconn, err = dtls.Server(pc, conn.RemoteAddr(), cfg)
	} else {
		dconn, err = dtls.Client(pc, conn.RemoteAddr(), cfg)
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = dconn.Close()
		return nil, errors.New("session closed")
	}
	s.dtlsConn = dconn
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(s.ctx, handshakeTimeout)
	defer cancel()
	if err := dconn.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	return dconn, nil
}

func (s *session) verifyPeer(rawCerts [][]byte, _ [][]*x509.Certificate) error {
	if len(rawCerts) == 0 {
		return errors.New("peer sent no certificate")
	}
	s.mu.Lock()
	want := s.remoteFP
	s.mu.Unlock()
	if want.Value == "" {
		return nil // nothing to check against
	}
	if !strings.EqualFold(want.Hash, "sha-256") {
		s.log.Debug("cannot check fingerprint hash", "hash", want.Hash)
		return nil
	}
	if got := certFingerprint(rawCerts[0]); !strings.EqualFold(got, want.Value) {
		return fmt.Errorf("fingerprint mismatch: got %s want %s", got, want.Value)
	}
	return nil
}

func (s *session) setupSRTP(dconn *dtls.Conn) error {
	dprofile, ok := dconn.SelectedSRTPProtectionProfile()
	if !ok {
		return errors.New("no SRTP profile negotiated")
	}
	var profile srtp.ProtectionProfile
	switch dprofile {
	case dtls.SRTP_AEAD_AES_128_GCM:
		profile = srtp.ProtectionProfileAeadAes128Gcm
	case dtls.SRTP_AES128_CM_HMAC_SHA1_80:
		profile = srtp.ProtectionProfileAes128CmHmacSha1_80
	default:
		return fmt.Errorf("unsupported SRTP profile %v", dprofile)
	}
	state, ok := dconn.ConnectionState()
	if !ok {
		return errors.New("no DTLS state")
	}
	cfg := srtp.Config{Profile: profile}
	if err := cfg.ExtractSessionKeysFromDTLS(&state, s.role == rolePeer); err != nil {
		return fmt.Errorf("extract keys: %w", err)
	}
	enc, err := srtp.CreateContext(cfg.Keys.LocalMasterKey, cfg.Keys.LocalMasterSalt, profile)
	if err != nil {
		return fmt.Errorf("encrypt context: %w", err)
	}
	dec, err := srtp.CreateContext(cfg.Keys.RemoteMasterKey, cfg.Keys.RemoteMasterSalt, profile)
	if err != nil {
		return fmt.Errorf("decrypt context: %w", err)
	}
	s.encMu.Lock()
	s.encrypt = enc
	s.encMu.Unlock()
	s.mu.Lock()
	s.decrypt = dec
	s.dtlsDone = true
	s.profile = profile.String()
	s.readyFlag = true
	s.mu.Unlock()
	s.log.Info("DTLS done", "srtp", profile.String())
	if s.cb.onReady != nil {
		s.cb.onReady()
	}
	return nil
}

// readLoop demultiplexes by first byte (RFC 7983): DTLS records go to the
// DTLS conn, RTP/RTCP is decrypted and handed to the callbacks. STUN is
// consumed by the ICE agent before it reaches here.
func (s *session) readLoop(conn *ice.Conn) {
	buf := make([]byte, maxPacketSize)
	plain := make([]byte, maxPacketSize)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			_ = s.dtlsIn.Close()
			return
		}
		if n < 2 {
			continue
		}
		pkt := buf[:n]
		switch b := pkt[0]; {
		case b >= 20 && b <= 63:
			if _, err := s.dtlsIn.Write(pkt, nil); err != nil {
				s.log.Debug("drop DTLS record", "err", err)
			}
		case b >= 128 && b <= 191:
			s.handleSRTP(pkt, plain)
		default:
			s.log.Debug("drop unknown packet", "first_byte", b)
		}
	}
}

func (s *session) handleSRTP(pkt, plain []byte) {
	s.mu.Lock()
	dec := s.decrypt
	s.mu.Unlock()
	if dec == nil {
		return // keys not ready yet
	}
	if isRTCP(pkt) {
		out, err := dec.DecryptRTCP(plain[:0], pkt, nil)
		if err != nil {
			s.log.Debug("drop undecryptable RTCP", "err", err)
			return
		}
		if s.cb.onRTCP != nil {
			s.cb.onRTCP(out)
		}
		return
	}
	out, err := dec.DecryptRTP(plain[:0], pkt, nil)
	if err != nil {
		s.log.Debug("drop undecryptable RTP", "err", err)
		return
	}
	if s.cb.onRTP != nil {
		s.cb.onRTP(out)
	}
}

// isRTCP tells RTCP from RTP on an rtcp-mux transport (RFC 5761 section 4):
// RTCP packet types 192-223 occupy the RTP marker+payload-type byte.
func isRTCP(pkt []byte) bool {
	return len(pkt) >= 2 && pkt[1] >= 192 && pkt[1] <= 223
}

func (s *session) ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readyFlag && !s.closed
}

var errNotReady = errors.New("transport not ready")

// writeRTP encrypts a plain RTP packet (unchanged) and sends it.
func (s *session) writeRTP(plain []byte) error {
	return s.write(plain, false)
}

// writeRTCP encrypts a plain (compound) RTCP packet and sends it.
func (s *session) writeRTCP(plain []byte) error {
	return s.write(plain, true)
}

func (s *session) write(plain []byte, rtcpPkt bool) error {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	s.encMu.Lock()
	defer s.encMu.Unlock()
	if s.encrypt == nil || conn == nil {
		return errNotReady
	}
	var out []byte
	var err error
	if rtcpPkt {
		out, err = s.encrypt.EncryptRTCP(s.encryptBuf[:0], plain, nil)
	} else {
		out, err = s.encrypt.EncryptRTP(s.encryptBuf[:0], plain, nil)
	}
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	s.encryptBuf = out[:0]
	if _, err := conn.Write(out); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	return nil
}

type sessionState struct {
	ICEState string
	DTLSDone bool
	Profile  string
	Failure  string
}

func (s *session) state() sessionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sessionState{ICEState: s.iceState, DTLSDone: s.dtlsDone, Profile: s.profile, Failure: s.failure}
}

// Close stops the transport and waits for its goroutines. It is idempotent.
func (s *session) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	dconn := s.dtlsConn
	s.mu.Unlock()
	s.cancel()
	if dconn != nil {
		_ = dconn.Close()
	}
	if err := s.agent.Close(); err != nil {
		s.log.Debug("close ICE agent", "err", err)
	}
	_ = s.dtlsIn.Close()
	s.wg.Wait()
}

// dtlsPacketConn lets pion/dtls run over the demultiplexed ICE conn: reads
// come from the DTLS queue, writes go straight to the ICE conn.
type dtlsPacketConn struct {
	in  *packetio.Buffer
	out *ice.Conn
}

func (c *dtlsPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, _, err := c.in.Read(p, nil)
	return n, c.out.RemoteAddr(), err
}

func (c *dtlsPacketConn) WriteTo(p []byte, _ net.Addr) (int, error) { return c.out.Write(p) }
func (c *dtlsPacketConn) Close() error                              { return c.in.Close() }
func (c *dtlsPacketConn) LocalAddr() net.Addr                       { return c.out.LocalAddr() }
func (c *dtlsPacketConn) SetDeadline(t time.Time) error             { return c.in.SetReadDeadline(t) }
func (c *dtlsPacketConn) SetReadDeadline(t time.Time) error         { return c.in.SetReadDeadline(t) }
func (c *dtlsPacketConn) SetWriteDeadline(time.Time) error          { return nil }

// certFingerprint is the SDP/Jingle form of a certificate's SHA-256 digest.
func certFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
