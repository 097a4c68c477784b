package bridge

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
)

// Config configures a Bridge.
type Config struct {
	Logger *slog.Logger
	// ID is the bridge id used in Colibri WebSocket URLs; default "jvb".
	ID string
}

// Bridge is the lab's selective forwarding unit.
type Bridge struct {
	log  *slog.Logger
	id   string
	cert tls.Certificate

	paused atomic.Bool
	done   chan struct{} // closed by Close; stops the feedback loop
	wg     sync.WaitGroup

	allocMu sync.Mutex // serialises endpoint creation (gathering happens outside mu)

	mu          sync.RWMutex
	closed      bool
	colibriBase string
	conferences map[string]*conference
}

type conference struct {
	id        string
	endpoints map[string]*endpoint
	owners    map[uint32]*endpoint // SSRC -> the endpoint that sends it
}

type endpoint struct {
	conf  *conference
	id    string
	log   *slog.Logger
	sess  *session // nil until AllocateEndpoint
	wsPwd string

	// guarded by Bridge.mu
	sources    map[uint32]bool
	receivable map[uint32]bool
	ws         *websocket.Conn
	expired    bool

	// lastN is the most video streams the endpoint asked for over its bridge
	// channel; -1 (the default) means all of them. Read on every packet.
	lastN atomic.Int32

	statsMu      sync.Mutex
	received     map[uint32]*StreamStats
	forwarded    map[uint32]*StreamStats
	rtcpReceived uint64
	rtcpSent     uint64
	recvStates   map[uint32]*receiveState // per SSRC sent by this endpoint
}

// New creates a bridge with a fresh self-signed DTLS certificate.
func New(cfg Config) (*Bridge, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	id := cfg.ID
	if id == "" {
		id = "jvb"
	}
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		return nil, fmt.Errorf("generate DTLS certificate: %w", err)
	}
	b := &Bridge{
		log:         log.With("component", "bridge"),
		id:          id,
		cert:        cert,
		done:        make(chan struct{}),
		conferences: map[string]*conference{},
	}
	b.wg.Add(1)
	go b.feedbackLoop()
	return b, nil
}

// Close expires every endpoint. It is idempotent.
func (b *Bridge) Close() error {
	b.allocMu.Lock()
	defer b.allocMu.Unlock()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	var all []*endpoint
	for _, c := range b.conferences {
		for _, ep := range c.endpoints {
			all = append(all, ep)
		}
	}
	b.conferences = map[string]*conference{}
	b.mu.Unlock()
	close(b.done)
	b.wg.Wait()
	for _, ep := range all {
		b.shutdown(ep)
	}
	return nil
}

// SetColibriBase sets the WebSocket base (e.g. "ws://127.0.0.1:8080") used to
// build each endpoint's Colibri URL.
func (b *Bridge) SetColibriBase(base string) {
	b.mu.Lock()
	b.colibriBase = base
	b.mu.Unlock()
}

// SetPaused drops all media while paused (fault injection).
func (b *Bridge) SetPaused(paused bool) {
	b.paused.Store(paused)
	b.log.Info("media forwarding", "paused", paused)
}

// AllocateEndpoint creates (or returns the existing) endpoint of conference
// confID and returns the bridge's side of its transport.
func (b *Bridge) AllocateEndpoint(confID, endpointID string) (Transport, error) {
	if confID == "" || endpointID == "" {
		return Transport{}, errors.New("allocate endpoint: empty conference or endpoint id")
	}
	b.allocMu.Lock()
	defer b.allocMu.Unlock()

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return Transport{}, errors.New("allocate endpoint: bridge closed")
	}
	ep := b.endpointLocked(confID, endpointID, true)
	sess := ep.sess
	b.mu.Unlock()

	if sess == nil {
		var err error
		sess, err = newSession(ep.log, roleBridge, b.cert, sessionCallbacks{
			onRTP:   func(pkt []byte) { b.routeRTP(ep, pkt) },
			onRTCP:  func(pkt []byte) { b.routeRTCP(ep, pkt) },
			onReady: func() { b.onEndpointReady(ep) },
		})
		if err != nil {
			b.mu.Lock()
			b.removeLocked(ep)
			b.mu.Unlock()
			return Transport{}, fmt.Errorf("allocate endpoint %s/%s: %w", confID, endpointID, err)
		}
		b.mu.Lock()
		if b.closed || b.lookupLocked(confID, endpointID) != ep {
			b.mu.Unlock()
			sess.Close()
			return Transport{}, fmt.Errorf("allocate endpoint %s/%s: expired meanwhile", confID, endpointID)
		}
		ep.sess = sess
		b.mu.Unlock()
		ep.log.Info("endpoint allocated")
	}

	t, err := sess.local()
	if err != nil {
		return Transport{}, fmt.Errorf("allocate endpoint %s/%s: %w", confID, endpointID, err)
	}
	b.mu.RLock()
	base := b.colibriBase
	b.mu.RUnlock()
	if base != "" {
		t.WebSocketURL = fmt.Sprintf("%s/colibri-ws/%s/%s/%s?pwd=%s", base,
			url.PathEscape(b.id), url.PathEscape(confID), url.PathEscape(endpointID), url.QueryEscape(ep.wsPwd))
	}
	return t, nil
}

// SetRemoteTransport gives the endpoint's side (from Jingle session-accept)
// and starts ICE (controlling) and then the DTLS server in the background.
func (b *Bridge) SetRemoteTransport(confID, endpointID string, t Transport) error {
	ep, err := b.allocated(confID, endpointID)
	if err != nil {
		return fmt.Errorf("set remote transport: %w", err)
	}
	if err := ep.sess.start(t); err != nil {
		return fmt.Errorf("set remote transport %s/%s: %w", confID, endpointID, err)
	}
	return nil
}

// AddRemoteCandidates adds trickled candidates (Jingle transport-info).
// Non-loopback candidates are ignored.
func (b *Bridge) AddRemoteCandidates(confID, endpointID string, cands []Candidate) error {
	ep, err := b.allocated(confID, endpointID)
	if err != nil {
		return fmt.Errorf("add remote candidates: %w", err)
	}
	ep.sess.addRemoteCandidates(cands)
	return nil
}

// SetSources says which SSRCs the endpoint sends; it makes the endpoint their
// owner, so PLI/FIR for them reach it. Calls for an endpoint that was not
// allocated (or already expired) are ignored.
func (b *Bridge) SetSources(confID, endpointID string, ssrcs []uint32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	ep := b.lookupLocked(confID, endpointID)
	if ep == nil {
		b.log.Debug("sources for unknown endpoint ignored", "conference", confID, "endpoint", endpointID)
		return
	}
	for ssrc := range ep.sources {
		if ep.conf.owners[ssrc] == ep {
			delete(ep.conf.owners, ssrc)
		}
	}
	ep.sources = toSet(ssrcs)
	for ssrc := range ep.sources {
		ep.conf.owners[ssrc] = ep
	}
	ep.log.Debug("sources set", "ssrcs", ssrcs)
}

// SetReceivable says which SSRCs the endpoint was told about; only these are
// forwarded to it. Newly subscribed sources get a PLI so video starts at once.
// Calls for an endpoint that was not allocated (or already expired) are ignored.
func (b *Bridge) SetReceivable(confID, endpointID string, ssrcs []uint32) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	ep := b.lookupLocked(confID, endpointID)
	if ep == nil {
		b.mu.Unlock()
		b.log.Debug("receivable for unknown endpoint ignored", "conference", confID, "endpoint", endpointID)
		return
	}
	added := []uint32{}
	next := toSet(ssrcs)
	for ssrc := range next {
		if !ep.receivable[ssrc] {
			added = append(added, ssrc)
		}
	}
	ep.receivable = next
	sess := ep.sess
	b.mu.Unlock()
	ep.log.Debug("receivable set", "ssrcs", ssrcs)
	if sess != nil && sess.ready() {
		b.requestKeyFrames(ep, added)
	}
}

// ExpireEndpoint removes the endpoint and closes its transport and bridge channel.
func (b *Bridge) ExpireEndpoint(confID, endpointID string) {
	b.allocMu.Lock()
	defer b.allocMu.Unlock()
	b.mu.Lock()
	ep := b.lookupLocked(confID, endpointID)
	if ep == nil {
		b.mu.Unlock()
		return
	}
	b.removeLocked(ep)
	b.mu.Unlock()
	b.shutdown(ep)
	ep.log.Info("endpoint expired")
}

// removeLocked takes ep out of its conference (and drops an empty
// conference). b.mu must be held.
func (b *Bridge) removeLocked(ep *endpoint) {
	c := ep.conf
	if c.endpoints[ep.id] == ep {
		delete(c.endpoints, ep.id)
	}
	for ssrc, owner := range c.owners {
		if owner == ep {
			delete(c.owners, ssrc)
		}
	}
	if len(c.endpoints) == 0 && b.conferences[c.id] == c {
		delete(b.conferences, c.id)
	}
}

// shutdown closes an endpoint that was already removed from the maps.
func (b *Bridge) shutdown(ep *endpoint) {
	b.mu.Lock()
	ep.expired = true
	ws, sess := ep.ws, ep.sess
	ep.ws = nil
	b.mu.Unlock()
	if ws != nil {
		_ = ws.CloseNow()
	}
	if sess != nil {
		sess.Close()
	}
}

// endpointLocked finds (or, with create, makes) an endpoint record. b.mu must be held.
func (b *Bridge) endpointLocked(confID, endpointID string, create bool) *endpoint {
	c := b.conferences[confID]
	if c == nil {
		if !create {
			return nil
		}
		c = &conference{id: confID, endpoints: map[string]*endpoint{}, owners: map[uint32]*endpoint{}}
		b.conferences[confID] = c
	}
	ep := c.endpoints[endpointID]
	if ep == nil && create {
		ep = &endpoint{
			conf:       c,
			id:         endpointID,
			log:        b.log.With("conference", confID, "endpoint", endpointID),
			wsPwd:      randomToken(),
			sources:    map[uint32]bool{},
			receivable: map[uint32]bool{},
			received:   map[uint32]*StreamStats{},
			forwarded:  map[uint32]*StreamStats{},
			recvStates: map[uint32]*receiveState{},
		}
		ep.lastN.Store(-1)
		c.endpoints[endpointID] = ep
	}
	return ep
}

func (b *Bridge) lookupLocked(confID, endpointID string) *endpoint {
	return b.endpointLocked(confID, endpointID, false)
}

func (b *Bridge) allocated(confID, endpointID string) (*endpoint, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	ep := b.lookupLocked(confID, endpointID)
	if ep == nil || ep.sess == nil {
		return nil, fmt.Errorf("endpoint %s/%s not allocated", confID, endpointID)
	}
	return ep, nil
}

func toSet(ssrcs []uint32) map[uint32]bool {
	m := make(map[uint32]bool, len(ssrcs))
	for _, s := range ssrcs {
		m[s] = true
	}
	return m
}

func randomToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on Linux
	}
	return hex.EncodeToString(b[:])
}

// StreamStats counts packets and bytes of one SSRC.
type StreamStats struct {
	Packets uint64
	Bytes   uint64
}

// EndpointStats describes one endpoint.
type EndpointStats struct {
	ICEState    string // pion ICE state: "New", "Checking", "Connected", ...
	DTLSDone    bool
	SRTPProfile string
	Error       string // first transport failure, if any
	// LocalPorts are the bridge's UDP ports of this endpoint's transport
	// (its host candidates): what a fault test drops to cut one link.
	LocalPorts []int
	WebSocket  bool // a Colibri bridge channel is connected
	LastN      int  // video streams asked for on the bridge channel; -1 all
	Sources    []uint32
	Receivable []uint32
	// Received counts RTP per SSRC sent by this endpoint; Forwarded counts
	// RTP per SSRC forwarded to it.
	Received  map[uint32]StreamStats
	Forwarded map[uint32]StreamStats
	// RTCPReceived counts compound RTCP packets from the endpoint; RTCPSent
	// those sent to it (forwarded SR/PLI/FIR/NACK and the bridge's own
	// receiver reports and key frame requests).
	RTCPReceived uint64
	RTCPSent     uint64
}

// ConferenceStats describes one conference.
type ConferenceStats struct {
	Endpoints map[string]EndpointStats
}

// Stats is a snapshot of the bridge.
type Stats struct {
	Paused      bool
	Conferences map[string]ConferenceStats
}

// Stats returns a snapshot for tests and health checks.
func (b *Bridge) Stats() Stats {
	st := Stats{Paused: b.paused.Load(), Conferences: map[string]ConferenceStats{}}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for cid, c := range b.conferences {
		cs := ConferenceStats{Endpoints: map[string]EndpointStats{}}
		for eid, ep := range c.endpoints {
			es := EndpointStats{
				ICEState:   "none",
				WebSocket:  ep.ws != nil,
				LastN:      int(ep.lastN.Load()),
				Sources:    sortedKeys(ep.sources),
				Receivable: sortedKeys(ep.receivable),
				Received:   map[uint32]StreamStats{},
				Forwarded:  map[uint32]StreamStats{},
			}
			if ep.sess != nil {
				ss := ep.sess.state()
				es.ICEState, es.DTLSDone, es.SRTPProfile, es.Error = ss.ICEState, ss.DTLSDone, ss.Profile, ss.Failure
				for _, c := range ep.sess.localCands { // fixed once gathered
					es.LocalPorts = append(es.LocalPorts, c.Port)
				}
			}
			ep.statsMu.Lock()
			for k, v := range ep.received {
				es.Received[k] = *v
			}
			for k, v := range ep.forwarded {
				es.Forwarded[k] = *v
			}
			es.RTCPReceived, es.RTCPSent = ep.rtcpReceived, ep.rtcpSent
			ep.statsMu.Unlock()
			cs.Endpoints[eid] = es
		}
		st.Conferences[cid] = cs
	}
	return st
}

func sortedKeys(m map[uint32]bool) []uint32 {
	out := make([]uint32, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func count(m map[uint32]*StreamStats, ssrc uint32, n int) {
	s := m[ssrc]
	if s == nil {
		s = &StreamStats{}
		m[ssrc] = s
	}
	s.Packets++
	s.Bytes += uint64(n)
}
