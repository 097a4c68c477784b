// Package focus is the lab's stand-in for Jicofo: an XEP-0114 component that
// answers lib-jitsi-meet's conference request, joins each room as occupant
// "focus", and offers every participant a Jingle session towards the lab
// bridge, relaying sources between participants.
package focus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/bridge"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/jingle"
)

// Bridge is what the focus needs from the lab bridge (*bridge.Bridge).
type Bridge interface {
	AllocateEndpoint(confID, endpointID string) (bridge.Transport, error)
	SetRemoteTransport(confID, endpointID string, t bridge.Transport) error
	AddRemoteCandidates(confID, endpointID string, cands []bridge.Candidate) error
	SetSources(confID, endpointID string, ssrcs []uint32)
	SetReceivable(confID, endpointID string, ssrcs []uint32)
	ExpireEndpoint(confID, endpointID string)
}

// RoomOptions restricts who may join a room; the focus configures the room
// when it creates it.
type RoomOptions struct {
	Password    string
	MembersOnly bool
	Members     []string // bare JIDs allowed when members-only
}

// Config configures the focus.
type Config struct {
	ComponentAddr string // Prosody's component port, 127.0.0.1:port
	Domain        string // e.g. "localhost": focus is focus.<Domain>, MUC conference.<Domain>
	Secret        string // component_secret of Component "focus.<Domain>"
	Bridge        Bridge
	Rooms         map[string]RoomOptions // by room local name
	Logger        *slog.Logger
}

// ConferenceInfo describes one conference, for tests and logs.
type ConferenceInfo struct {
	Room         string // room bare JID
	Participants []ParticipantInfo
}

// ParticipantInfo describes one participant of a conference.
type ParticipantInfo struct {
	Nick        string
	DisplayName string   // from the <nick/> of its presence; "" if none
	Accepted    bool     // session-accept received
	SSRCs       []uint32 // all SSRCs the participant announced
}

const (
	focusNick = "focus"
	// connectWindow bounds how long Run keeps dialling while Prosody starts
	// (and after the stream drops).
	connectWindow = 30 * time.Second
	iqTimeout     = 15 * time.Second
	joinTimeout   = 10 * time.Second
	// defaultLeaveGrace keeps the focus in an empty room a moment, so a
	// participant whose conference request was just answered still finds it.
	defaultLeaveGrace = 3 * time.Second
)

// sender writes stanzas to the server.
type sender interface {
	send(v any) error
}

// Focus is the conference focus.
type Focus struct {
	cfg        Config
	log        *slog.Logger
	component  string // focus.<domain>
	mucDomain  string // conference.<domain>
	focusJID   string // focus@focus.<domain>/focus, our real JID in rooms
	leaveGrace time.Duration

	connected     chan struct{} // closed once the component stream is up
	connectedOnce sync.Once

	mu      sync.Mutex
	out     sender // nil while disconnected
	confs   map[string]*conference
	pending map[string]func(*stanza) // IQ callbacks by id; nil stanza on timeout
	nextID  int
}

// conference is one room the focus serves.
type conference struct {
	room       string // bare JID
	opts       RoomOptions
	joining    bool
	joined     bool
	waiting    []*stanza // conference requests answered once joined
	members    map[string]*participant
	leaveTimer *time.Timer
}

// participant is one occupant other than the focus.
type participant struct {
	nick          string
	displayName   string
	sid           string // Jingle session id; "" when no session
	bridgeSession string
	accepted      bool
	sources       []jingle.MediaSource
	groups        []jingle.SourceGroup
}

// New creates a focus; Run connects it.
func New(cfg Config) *Focus {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	component := "focus." + cfg.Domain
	return &Focus{
		cfg:        cfg,
		log:        log.With("component", "focus"),
		component:  component,
		mucDomain:  "conference." + cfg.Domain,
		focusJID:   "focus@" + component + "/" + focusNick,
		leaveGrace: defaultLeaveGrace,
		connected:  make(chan struct{}),
		confs:      map[string]*conference{},
		pending:    map[string]func(*stanza){},
	}
}

// WaitConnected returns once Run has connected to Prosody for the first
// time (a conference request sent before that bounces with "Component
// unavailable"), or with ctx's error.
func (f *Focus) WaitConnected(ctx context.Context) error {
	select {
	case <-f.connected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("focus: not connected to the XMPP server: %w", ctx.Err())
	}
}

// Run connects to Prosody (retrying while it starts), serves until ctx ends,
// and reconnects when the stream drops.
func (f *Focus) Run(ctx context.Context) error {
	for {
		conn, err := f.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		f.log.Info("connected to XMPP server", "addr", f.cfg.ComponentAddr, "jid", f.component)
		err = f.serve(ctx, conn)
		if ctx.Err() != nil {
			return nil
		}
		f.log.Warn("component stream ended, reconnecting", "err", err)
	}
}

// connect dials until it succeeds or connectWindow has passed.
func (f *Focus) connect(ctx context.Context) (*componentConn, error) {
	deadline := time.Now().Add(connectWindow)
	for {
		conn, err := dialComponent(ctx, f.cfg.ComponentAddr, f.component, f.cfg.Secret)
		if err == nil {
			return conn, nil
		}
		if errors.Is(err, errRejected) || time.Now().After(deadline) {
			return nil, fmt.Errorf("connect focus component: %w", err)
		}
		f.log.Debug("component connect failed, retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// serve handles stanzas until the stream fails or ctx ends.
func (f *Focus) serve(ctx context.Context, conn *componentConn) error {
	f.mu.Lock()
	f.out = conn
	f.mu.Unlock()
	f.connectedOnce.Do(func() { close(f.connected) })

	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			f.mu.Lock()
			f.leaveAllLocked()
			f.mu.Unlock()
			conn.close()
		case <-stop:
		}
	}()

	var err error
	for {
		var st *stanza
		st, err = conn.readStanza()
		if err != nil {
			break
		}
		f.handle(st)
	}
	conn.conn.Close()
	f.mu.Lock()
	f.out = nil
	f.forgetAllLocked()
	f.mu.Unlock()
	return err
}

// Conferences lists the conferences the focus serves.
func (f *Focus) Conferences() []ConferenceInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ConferenceInfo
	for _, c := range f.confs {
		info := ConferenceInfo{Room: c.room}
		for _, p := range c.members {
			info.Participants = append(info.Participants, ParticipantInfo{
				Nick: p.nick, DisplayName: p.displayName, Accepted: p.accepted, SSRCs: jingle.SSRCs(p.sources),
			})
		}
		sort.Slice(info.Participants, func(i, j int) bool { return info.Participants[i].Nick < info.Participants[j].Nick })
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Room < out[j].Room })
	return out
}

// handle dispatches one incoming stanza.
func (f *Focus) handle(st *stanza) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch st.XMLName.Local {
	case "iq":
		f.handleIQ(st)
	case "presence":
		f.handlePresence(st)
	}
}

func (f *Focus) handleIQ(st *stanza) {
	switch st.Type {
	case "result", "error":
		if cb, ok := f.pending[st.ID]; ok {
			delete(f.pending, st.ID)
			cb(st)
		}
		return
	case "get", "set":
	default:
		return
	}
	switch {
	case st.Conference != nil && st.Type == "set":
		f.handleConferenceRequest(st)
	case st.Jingle != nil && st.Type == "set":
		f.handleJingle(st)
	case st.DiscoInfo != nil && st.Type == "get":
		f.reply(st, &discoInfo{
			Node:       st.DiscoInfo.Node,
			Identities: []discoIdentity{{Category: "component", Type: "generic", Name: "Lab focus"}},
			Features: []discoFeature{
				{Var: nsDiscoInfo}, {Var: nsPing}, {Var: nsFocus}, {Var: jingle.NSJingle},
			},
		})
	case st.Ping != nil && st.Type == "get":
		f.reply(st, nil)
	default:
		f.replyError(st, newStanzaError("cancel", "service-unavailable", ""))
	}
}

// sendLocked writes a stanza; errors only get logged because the reader
// notices a broken stream.
func (f *Focus) sendLocked(v any) {
	if f.out == nil {
		return
	}
	if err := f.out.send(v); err != nil {
		f.log.Warn("send stanza", "err", err)
	}
}

func (f *Focus) reply(req *stanza, payload any) {
	f.sendLocked(&outIQ{From: req.To, To: req.From, ID: req.ID, Type: "result", Payload: payload})
}

func (f *Focus) replyError(req *stanza, e *stanzaError) {
	f.sendLocked(&outIQ{From: req.To, To: req.From, ID: req.ID, Type: "error", Error: e})
}

// sendIQ sends an IQ get/set and calls cb with the answer, or with nil after
// iqTimeout. cb runs with f.mu held.
func (f *Focus) sendIQ(to, typ string, payload any, cb func(*stanza)) {
	f.nextID++
	id := "focus-" + strconv.Itoa(f.nextID)
	if cb != nil {
		f.pending[id] = cb
		time.AfterFunc(iqTimeout, func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if cb, ok := f.pending[id]; ok {
				delete(f.pending, id)
				cb(nil)
			}
		})
	}
	f.sendLocked(&outIQ{From: f.focusJID, To: to, ID: id, Type: typ, Payload: payload})
}

// iqFailure describes a failed IQ answer (nil when it succeeded).
func iqFailure(res *stanza) error {
	switch {
	case res == nil:
		return errors.New("timeout")
	case res.Type == "error":
		return fmt.Errorf("error %s", res.Error)
	}
	return nil
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// occupantJID is room@conference/<nick>.
func occupantJID(room, nick string) string { return room + "/" + nick }

// forgetAllLocked drops all state after the stream broke: the rooms dropped
// the focus, so the bridge endpoints are useless.
func (f *Focus) forgetAllLocked() {
	for room, c := range f.confs {
		for _, p := range c.members {
			if p.sid != "" {
				f.cfg.Bridge.ExpireEndpoint(room, p.nick)
			}
		}
		if c.leaveTimer != nil {
			c.leaveTimer.Stop()
		}
	}
	clear(f.confs)
	clear(f.pending)
}

// leaveAllLocked leaves every room (on shutdown) so clients see the focus go.
func (f *Focus) leaveAllLocked() {
	for _, c := range f.confs {
		f.sendLocked(&outPresence{From: f.focusJID, To: occupantJID(c.room, focusNick), Type: "unavailable"})
	}
}

// without returns sources minus those whose SSRC is in drop.
func without(sources []jingle.MediaSource, drop []uint32) []jingle.MediaSource {
	return slices.DeleteFunc(slices.Clone(sources), func(s jingle.MediaSource) bool {
		return slices.Contains(drop, s.SSRC)
	})
}
