package focus

import (
	"encoding/xml"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/bridge"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/jingle"
)

// fakeBridge records the focus's calls and hands out numbered transports.
type fakeBridge struct {
	mu         sync.Mutex
	calls      []string
	receivable map[string][]uint32
	sources    map[string][]uint32
	remote     map[string]bridge.Transport
	cands      map[string][]bridge.Candidate
}

func newFakeBridge() *fakeBridge {
	return &fakeBridge{
		receivable: map[string][]uint32{}, sources: map[string][]uint32{},
		remote: map[string]bridge.Transport{}, cands: map[string][]bridge.Candidate{},
	}
}

func (b *fakeBridge) record(format string, args ...any) {
	b.calls = append(b.calls, fmt.Sprintf(format, args...))
}

func (b *fakeBridge) AllocateEndpoint(confID, endpointID string) (bridge.Transport, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("allocate %s %s", confID, endpointID)
	return bridge.Transport{
		Ufrag: "ufrag-" + endpointID, Pwd: "pwd-" + endpointID + "-0123456789abcdef",
		Fingerprint: bridge.Fingerprint{Hash: "sha-256", Value: "AB:CD", Setup: "actpass"},
		Candidates: []bridge.Candidate{{Foundation: "1", Component: 1, Protocol: "udp", Priority: 2130706431,
			IP: "127.0.0.1", Port: 10000, Type: "host", ID: "c-" + endpointID}},
		WebSocketURL: "ws://127.0.0.1:1/colibri-ws/" + endpointID,
	}, nil
}

func (b *fakeBridge) SetRemoteTransport(confID, endpointID string, t bridge.Transport) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("remote-transport %s %s", confID, endpointID)
	b.remote[endpointID] = t
	return nil
}

func (b *fakeBridge) AddRemoteCandidates(confID, endpointID string, cands []bridge.Candidate) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("candidates %s %s %d", confID, endpointID, len(cands))
	b.cands[endpointID] = append(b.cands[endpointID], cands...)
	return nil
}

func (b *fakeBridge) SetSources(confID, endpointID string, ssrcs []uint32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("sources %s %s %v", confID, endpointID, ssrcs)
	b.sources[endpointID] = ssrcs
}

func (b *fakeBridge) SetReceivable(confID, endpointID string, ssrcs []uint32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.receivable[endpointID] = ssrcs
}

func (b *fakeBridge) ExpireEndpoint(confID, endpointID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.record("expire %s %s", confID, endpointID)
}

func (b *fakeBridge) remoteOf(endpointID string) bridge.Transport {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.remote[endpointID]
}

func (b *fakeBridge) called(call string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Contains(b.calls, call)
}

// fakeServer captures what the focus sends.
type fakeServer struct {
	mu   sync.Mutex
	sent []string
}

func (s *fakeServer) send(v any) error {
	raw, err := xml.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, string(raw))
	return nil
}

// take returns and clears what was sent.
func (s *fakeServer) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.sent
	s.sent = nil
	return out
}

type harness struct {
	t      *testing.T
	f      *Focus
	bridge *fakeBridge
	server *fakeServer
}

func newHarness(t *testing.T, rooms map[string]RoomOptions) *harness {
	h := &harness{t: t, bridge: newFakeBridge(), server: &fakeServer{}}
	h.f = New(Config{Domain: "localhost", Secret: "s", Bridge: h.bridge, Rooms: rooms, Logger: slog.New(slog.DiscardHandler)})
	h.f.leaveGrace = 0
	h.f.out = h.server
	return h
}

// feed hands the focus one stanza as Prosody would deliver it.
func (h *harness) feed(raw string) {
	h.t.Helper()
	var st stanza
	if err := xml.Unmarshal([]byte(raw), &st); err != nil {
		h.t.Fatalf("bad test stanza: %v\n%s", err, raw)
	}
	h.f.handle(&st)
}

// sentTo decodes the stanzas sent to a JID.
func (h *harness) sentTo(sent []string, to string) []*stanza {
	var out []*stanza
	for _, raw := range sent {
		var st stanza
		if err := xml.Unmarshal([]byte(raw), &st); err != nil {
			h.t.Fatalf("focus sent bad XML: %v\n%s", err, raw)
		}
		if st.To == to {
			out = append(out, &st)
		}
	}
	return out
}

// jingleTo returns the single Jingle IQ sent to a JID.
func (h *harness) jingleTo(sent []string, to, action string) *stanza {
	h.t.Helper()
	for _, st := range h.sentTo(sent, to) {
		if st.Jingle != nil && st.Jingle.Action == action {
			return st
		}
	}
	h.t.Fatalf("no %s to %s in:\n%s", action, to, strings.Join(sent, "\n"))
	return nil
}

const (
	room      = "r1@conference.localhost"
	focusOcc  = room + "/focus"
	focusReal = "focus@focus.localhost/focus"
)

func (h *harness) joinConference(clientJID string) {
	h.t.Helper()
	h.feed(`<iq type="set" id="conf1" from="` + clientJID + `" to="focus.localhost"><conference xmlns="http://jitsi.org/protocol/focus" room="` + room + `" machine-uid="m1"><property name="disableRtx" value="false"/></conference></iq>`)
}

func (h *harness) selfPresence() {
	h.feed(`<presence from="` + focusOcc + `" to="` + focusReal + `"><x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="owner" role="moderator" jid="` + focusReal + `"/><status code="110"/><status code="201"/></x></presence>`)
}

func (h *harness) occupantPresence(nick string) {
	h.feed(`<presence from="` + room + `/` + nick + `" to="` + focusReal + `"><x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="none" role="participant" jid="` + nick + `@localhost/res"/></x></presence>`)
}

func sessionAccept(nick, sid string, audioSSRC, videoSSRC uint32) string {
	return fmt.Sprintf(`<iq type="set" id="acc-%[1]s" from="%[5]s/%[1]s" to="%[6]s"><jingle xmlns="urn:xmpp:jingle:1" action="session-accept" initiator="%[7]s" responder="%[5]s/%[1]s" sid="%[2]s">`+
		`<content creator="responder" name="audio" senders="both"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"><payload-type id="111" name="opus" clockrate="48000" channels="2"/>`+
		`<source ssrc="%[3]d" xmlns="urn:xmpp:jingle:apps:rtp:ssma:0"><parameter name="msid" value="s-%[1]s a-%[1]s"/></source><rtcp-mux/></description>`+
		`<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="cu-%[1]s" pwd="cpwd"><fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="active">11:22</fingerprint><candidate foundation="9" component="1" protocol="udp" priority="100" ip="127.0.0.1" port="5000" type="host" generation="0" network="1" id="x"/></transport></content>`+
		`<content creator="responder" name="video" senders="both"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="video"><payload-type id="100" name="VP8" clockrate="90000"/>`+
		`<source ssrc="%[4]d" xmlns="urn:xmpp:jingle:apps:rtp:ssma:0"><parameter name="msid" value="s-%[1]s v-%[1]s"/></source><source ssrc="%[8]d" xmlns="urn:xmpp:jingle:apps:rtp:ssma:0"><parameter name="msid" value="s-%[1]s v-%[1]s"/></source>`+
		`<ssrc-group semantics="SIM" xmlns="urn:xmpp:jingle:apps:rtp:ssma:0"><source ssrc="%[4]d"/><source ssrc="%[8]d"/></ssrc-group><rtcp-mux/></description>`+
		`<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="cu-%[1]s" pwd="cpwd"><fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="active">11:22</fingerprint></transport></content></jingle></iq>`,
		nick, sid, audioSSRC, videoSSRC, room, focusOcc, focusOcc, videoSSRC+1)
}

func TestConferenceRequestJoinsRoomThenAnswersReady(t *testing.T) {
	h := newHarness(t, nil)
	h.joinConference("u1@localhost/r")
	sent := h.server.take()
	wantJoin := `<presence from="focus@focus.localhost/focus" to="r1@conference.localhost/focus"><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"></history></x></presence>`
	if !reflect.DeepEqual(sent, []string{wantJoin}) {
		t.Fatalf("sent %q, want only the join %q", sent, wantJoin)
	}
	h.selfPresence()
	sent = h.server.take()
	wantReady := `<iq from="focus.localhost" to="u1@localhost/r" id="conf1" type="result"><conference xmlns="http://jitsi.org/protocol/focus" room="r1@conference.localhost" ready="true" focusjid="focus@focus.localhost"><property name="authentication" value="false"></property></conference></iq>`
	if !reflect.DeepEqual(sent, []string{wantReady}) {
		t.Fatalf("sent %q, want %q", sent, wantReady)
	}
	// A second request for a joined room is answered at once.
	h.joinConference("u2@localhost/r")
	if sent := h.server.take(); len(sent) != 1 || !strings.Contains(sent[0], `ready="true"`) {
		t.Fatalf("second request: %q", sent)
	}
}

func TestConferenceRequestForForeignDomainIsRejected(t *testing.T) {
	h := newHarness(t, nil)
	h.feed(`<iq type="set" id="x" from="u@localhost/r" to="focus.localhost"><conference xmlns="http://jitsi.org/protocol/focus" room="r1@elsewhere"/></iq>`)
	sent := h.server.take()
	if len(sent) != 1 || !strings.Contains(sent[0], `type="error"`) || !strings.Contains(sent[0], "bad-request") {
		t.Fatalf("sent %q", sent)
	}
}

func TestPasswordRoomIsConfiguredBeforeReady(t *testing.T) {
	h := newHarness(t, map[string]RoomOptions{"r1": {Password: "pw", MembersOnly: true, Members: []string{"bob@localhost"}}})
	h.joinConference("u1@localhost/r")
	if sent := h.server.take(); !strings.Contains(sent[0], "<password>pw</password>") {
		t.Fatalf("join without password: %q", sent)
	}
	h.selfPresence()
	sent := h.server.take()
	wantForm := `<iq from="focus@focus.localhost/focus" to="r1@conference.localhost" id="focus-1" type="set"><query xmlns="http://jabber.org/protocol/muc#owner"><x xmlns="jabber:x:data" type="submit"><field var="FORM_TYPE"><value>http://jabber.org/protocol/muc#roomconfig</value></field><field var="muc#roomconfig_passwordprotectedroom"><value>1</value></field><field var="muc#roomconfig_roomsecret"><value>pw</value></field><field var="muc#roomconfig_membersonly"><value>1</value></field></x></query></iq>`
	if !reflect.DeepEqual(sent, []string{wantForm}) {
		t.Fatalf("sent %q\nwant %q", sent, wantForm)
	}
	h.feed(`<iq type="result" id="focus-1" from="` + room + `" to="` + focusReal + `"/>`)
	sent = h.server.take()
	wantAdmin := `<iq from="focus@focus.localhost/focus" to="r1@conference.localhost" id="focus-2" type="set"><query xmlns="http://jabber.org/protocol/muc#admin"><item affiliation="member" jid="bob@localhost"></item></query></iq>`
	if !reflect.DeepEqual(sent, []string{wantAdmin}) {
		t.Fatalf("sent %q\nwant %q", sent, wantAdmin)
	}
	h.feed(`<iq type="result" id="focus-2" from="` + room + `" to="` + focusReal + `"/>`)
	if sent := h.server.take(); len(sent) != 1 || !strings.Contains(sent[0], `ready="true"`) {
		t.Fatalf("no ready after configuration: %q", sent)
	}
}

func TestRoomRefusingFocusFailsRequest(t *testing.T) {
	h := newHarness(t, nil)
	h.joinConference("u1@localhost/r")
	h.server.take()
	h.feed(`<presence type="error" from="` + focusOcc + `" to="` + focusReal + `"><error type="auth"><not-authorized xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></presence>`)
	sent := h.server.take()
	if len(sent) != 1 || !strings.Contains(sent[0], `type="error"`) {
		t.Fatalf("sent %q", sent)
	}
	if len(h.f.Conferences()) != 0 {
		t.Errorf("conference kept after failure")
	}
}

func TestSessionLifecycleRelaysSources(t *testing.T) {
	h := newHarness(t, nil)
	h.joinConference("u1@localhost/r")
	h.selfPresence()
	h.server.take()

	// alice joins: offered a session on her bridge endpoint, no sources yet.
	h.occupantPresence("alice")
	sent := h.server.take()
	init := h.jingleTo(sent, room+"/alice", jingle.ActionSessionInitiate)
	if init.From != focusReal {
		t.Errorf("session-initiate from %q", init.From)
	}
	aliceSID := init.Jingle.SID
	tr, ok := init.Jingle.BundleTransport()
	if !ok || tr.Ufrag != "ufrag-alice" || tr.WebSocketURL != "ws://127.0.0.1:1/colibri-ws/alice" || tr.Fingerprint.Setup != "actpass" {
		t.Errorf("transport = %+v", tr)
	}
	if init.Jingle.Group == nil || init.Jingle.BridgeSession == nil || init.Jingle.Initiator != focusOcc {
		t.Errorf("offer lacks group/bridge-session/initiator: %+v", init.Jingle)
	}
	if s, _ := init.Jingle.MediaSources(); len(s) != 0 {
		t.Errorf("first offer has sources %+v", s)
	}
	h.feed(`<iq type="result" id="` + init.ID + `" from="` + room + `/alice" to="` + focusReal + `"/>`)

	// alice accepts: the bridge learns her transport and (all) her SSRCs.
	h.feed(sessionAccept("alice", aliceSID, 100, 200))
	sent = h.server.take()
	if acks := h.sentTo(sent, room+"/alice"); len(acks) != 1 || acks[0].Type != "result" || acks[0].ID != "acc-alice" {
		t.Fatalf("accept not acked: %q", sent)
	}
	if got := h.bridge.remote["alice"]; got.Ufrag != "cu-alice" || got.Fingerprint.Setup != "active" || len(got.Candidates) != 1 {
		t.Errorf("remote transport = %+v", got)
	}
	if got := h.bridge.sources["alice"]; !reflect.DeepEqual(got, []uint32{100, 200, 201}) {
		t.Errorf("alice sources = %v", got)
	}

	// bob joins: his offer carries alice's first simulcast layer with owner.
	h.occupantPresence("bob")
	sent = h.server.take()
	bobInit := h.jingleTo(sent, room+"/bob", jingle.ActionSessionInitiate)
	bobSID := bobInit.Jingle.SID
	srcs, groups := bobInit.Jingle.MediaSources()
	wantSrcs := []jingle.MediaSource{
		{Media: "audio", SSRC: 100, MSID: "s-alice a-alice", Owner: room + "/alice"},
		{Media: "video", SSRC: 200, MSID: "s-alice v-alice", Owner: room + "/alice"},
	}
	if !reflect.DeepEqual(srcs, wantSrcs) || len(groups) != 0 {
		t.Errorf("bob's offer sources = %+v groups %+v", srcs, groups)
	}
	if got := h.bridge.receivable["bob"]; !reflect.DeepEqual(got, []uint32{100, 200}) {
		t.Errorf("bob receivable = %v", got)
	}

	// bob accepts: alice gets a source-add with bob's sources.
	h.feed(sessionAccept("bob", bobSID, 300, 400))
	sent = h.server.take()
	add := h.jingleTo(sent, room+"/alice", jingle.ActionSourceAdd)
	if add.Jingle.SID != aliceSID {
		t.Errorf("source-add sid %q, want %q", add.Jingle.SID, aliceSID)
	}
	if s, _ := add.Jingle.MediaSources(); !reflect.DeepEqual(jingle.SSRCs(s), []uint32{300, 400}) || s[0].Owner != room+"/bob" {
		t.Errorf("source-add sources = %+v", s)
	}
	if got := h.bridge.receivable["alice"]; !reflect.DeepEqual(got, []uint32{300, 400}) {
		t.Errorf("alice receivable = %v", got)
	}

	// bob trickles a candidate in content "0".
	h.feed(`<iq type="set" id="ti" from="` + room + `/bob" to="` + focusOcc + `"><jingle xmlns="urn:xmpp:jingle:1" action="transport-info" sid="` + bobSID + `"><content creator="responder" name="0"><transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="cu-bob" pwd="cpwd"><candidate foundation="2" component="1" protocol="udp" priority="99" ip="127.0.0.1" port="5002" type="host" generation="0" network="1" id="y"/></transport></content></jingle></iq>`)
	if got := h.bridge.cands["bob"]; len(got) != 1 || got[0].Port != 5002 {
		t.Errorf("bob candidates = %+v", got)
	}
	if sent := h.server.take(); len(sent) != 1 || !strings.Contains(sent[0], `type="result"`) {
		t.Errorf("transport-info not acked: %q", sent)
	}

	// bob leaves: endpoint expired, alice gets source-remove.
	h.feed(`<presence type="unavailable" from="` + room + `/bob" to="` + focusReal + `"><x xmlns="http://jabber.org/protocol/muc#user"><item affiliation="none" role="none"/></x></presence>`)
	sent = h.server.take()
	if !h.bridge.called("expire " + room + " bob") {
		t.Errorf("bob's endpoint not expired: %v", h.bridge.calls)
	}
	rm := h.jingleTo(sent, room+"/alice", jingle.ActionSourceRemove)
	if s, _ := rm.Jingle.MediaSources(); !reflect.DeepEqual(jingle.SSRCs(s), []uint32{300, 400}) {
		t.Errorf("source-remove sources = %+v", s)
	}
	if got := h.bridge.receivable["alice"]; len(got) != 0 {
		t.Errorf("alice receivable after bob left = %v", got)
	}
	infos := h.f.Conferences()
	if len(infos) != 1 || len(infos[0].Participants) != 1 || infos[0].Participants[0].Nick != "alice" || !infos[0].Participants[0].Accepted {
		t.Errorf("conferences = %+v", infos)
	}

	// alice leaves: the focus leaves the room and forgets it.
	h.feed(`<presence type="unavailable" from="` + room + `/alice" to="` + focusReal + `"/>`)
	sent = h.server.take()
	leave := `<presence from="focus@focus.localhost/focus" to="r1@conference.localhost/focus" type="unavailable"></presence>`
	if !slices.Contains(sent, leave) {
		t.Errorf("focus did not leave: %q", sent)
	}
	if len(h.f.Conferences()) != 0 {
		t.Errorf("conference not forgotten")
	}
}

func TestParticipantSourceAddAndRemoveAreRelayed(t *testing.T) {
	h := newHarness(t, nil)
	h.joinConference("u1@localhost/r")
	h.selfPresence()
	h.occupantPresence("alice")
	h.occupantPresence("bob")
	sent := h.server.take()
	aliceSID := h.jingleTo(sent, room+"/alice", jingle.ActionSessionInitiate).Jingle.SID
	h.feed(sessionAccept("alice", aliceSID, 100, 200))
	h.server.take()

	h.feed(`<iq type="set" id="sa" from="` + room + `/alice" to="` + focusOcc + `"><jingle xmlns="urn:xmpp:jingle:1" action="source-add" sid="` + aliceSID + `"><content name="video"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="video"><source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="500"><parameter name="msid" value="s2 t2"/></source></description></content></jingle></iq>`)
	sent = h.server.take()
	add := h.jingleTo(sent, room+"/bob", jingle.ActionSourceAdd)
	if s, _ := add.Jingle.MediaSources(); !reflect.DeepEqual(jingle.SSRCs(s), []uint32{500}) {
		t.Errorf("relayed source-add = %+v", s)
	}
	if got := h.bridge.sources["alice"]; !reflect.DeepEqual(got, []uint32{100, 200, 201, 500}) {
		t.Errorf("alice sources = %v", got)
	}

	h.feed(`<iq type="set" id="sr" from="` + room + `/alice" to="` + focusOcc + `"><jingle xmlns="urn:xmpp:jingle:1" action="source-remove" sid="` + aliceSID + `"><content name="audio"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"><source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="100"/></description></content></jingle></iq>`)
	sent = h.server.take()
	rm := h.jingleTo(sent, room+"/bob", jingle.ActionSourceRemove)
	if s, _ := rm.Jingle.MediaSources(); !reflect.DeepEqual(jingle.SSRCs(s), []uint32{100}) {
		t.Errorf("relayed source-remove = %+v", s)
	}
	if got := h.bridge.receivable["bob"]; !reflect.DeepEqual(got, []uint32{200, 500}) {
		t.Errorf("bob receivable = %v", got)
	}
}

func TestSessionTerminateWithRestartReinvites(t *testing.T) {
	h := newHarness(t, nil)
	h.joinConference("u1@localhost/r")
	h.selfPresence()
	h.occupantPresence("alice")
	sid := h.jingleTo(h.server.take(), room+"/alice", jingle.ActionSessionInitiate).Jingle.SID
	h.feed(`<iq type="set" id="st" from="` + room + `/alice" to="` + focusOcc + `"><jingle xmlns="urn:xmpp:jingle:1" action="session-terminate" sid="` + sid + `"><reason><success/><text>ICE failed</text></reason><bridge-session xmlns="http://jitsi.org/protocol/focus" id="x" restart="true"/></jingle></iq>`)
	sent := h.server.take()
	again := h.jingleTo(sent, room+"/alice", jingle.ActionSessionInitiate)
	if again.Jingle.SID == sid {
		t.Errorf("restart reused sid %q", sid)
	}
	if !h.bridge.called("expire "+room+" alice") || strings.Count(strings.Join(h.bridge.calls, "\n"), "allocate "+room+" alice") != 2 {
		t.Errorf("bridge calls = %v", h.bridge.calls)
	}
}

func TestUnknownJingleSessionGetsItemNotFound(t *testing.T) {
	h := newHarness(t, nil)
	h.feed(`<iq type="set" id="j1" from="` + room + `/x" to="` + focusOcc + `"><jingle xmlns="urn:xmpp:jingle:1" action="transport-info" sid="nope"/></iq>`)
	sent := h.server.take()
	want := `<iq from="r1@conference.localhost/focus" to="r1@conference.localhost/x" id="j1" type="error"><error type="cancel"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"></item-not-found><unknown-session xmlns="urn:xmpp:jingle:errors:1"></unknown-session></error></iq>`
	if !reflect.DeepEqual(sent, []string{want}) {
		t.Errorf("sent %q\nwant %q", sent, want)
	}
}

func TestPingDiscoAndUnknownIQ(t *testing.T) {
	h := newHarness(t, nil)
	h.feed(`<iq type="get" id="p" from="localhost" to="focus.localhost"><ping xmlns="urn:xmpp:ping"/></iq>`)
	h.feed(`<iq type="get" id="d" from="u@localhost/r" to="focus.localhost"><query xmlns="http://jabber.org/protocol/disco#info"/></iq>`)
	h.feed(`<iq type="get" id="v" from="u@localhost/r" to="focus.localhost"><query xmlns="jabber:iq:version"/></iq>`)
	sent := h.server.take()
	if len(sent) != 3 {
		t.Fatalf("sent %q", sent)
	}
	if sent[0] != `<iq from="focus.localhost" to="localhost" id="p" type="result"></iq>` {
		t.Errorf("ping reply %q", sent[0])
	}
	if !strings.Contains(sent[1], `<identity category="component" type="generic"`) || !strings.Contains(sent[1], `var="http://jitsi.org/protocol/focus"`) {
		t.Errorf("disco reply %q", sent[1])
	}
	if !strings.Contains(sent[2], "service-unavailable") {
		t.Errorf("unknown IQ reply %q", sent[2])
	}
}

// The lab bridge must satisfy the focus's Bridge interface.
var _ Bridge = (*bridge.Bridge)(nil)
