package focus

import (
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/jingle"
)

// wsClient is a minimal XMPP-over-WebSocket (RFC 7395) client logging in
// anonymously, like lib-jitsi-meet does.
type wsClient struct {
	t    *testing.T
	name string
	conn *websocket.Conn
	jid  string
	in   chan *clientStanza
}

type clientStanza struct {
	*stanza
	raw string
}

func dialClient(ctx context.Context, t *testing.T, name, url string) *wsClient {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"xmpp"}})
	if err != nil {
		t.Fatalf("%s: dial %s: %v", name, url, err)
	}
	conn.SetReadLimit(1 << 20)
	c := &wsClient{t: t, name: name, conn: conn, in: make(chan *clientStanza, 100)}
	t.Cleanup(func() { conn.CloseNow() })

	open := `<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost" version="1.0"/>`
	c.send(ctx, open)
	c.expect(ctx, "open")
	c.expect(ctx, "features")
	c.send(ctx, `<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="ANONYMOUS"/>`)
	c.expect(ctx, "success")
	c.send(ctx, open)
	c.expect(ctx, "open")
	c.expect(ctx, "features")
	c.send(ctx, `<iq xmlns="jabber:client" type="set" id="bind1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>`)
	raw := c.expect(ctx, "iq")
	var bound struct {
		JID string `xml:"bind>jid"`
	}
	if err := xml.Unmarshal([]byte(raw), &bound); err != nil || bound.JID == "" {
		t.Fatalf("%s: bind failed: %v %s", name, err, raw)
	}
	c.jid = bound.JID
	go c.readLoop(ctx)
	return c
}

func (c *wsClient) send(ctx context.Context, s string) {
	c.t.Helper()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

// expect reads the next frame during login and checks its element name.
func (c *wsClient) expect(ctx context.Context, local string) string {
	c.t.Helper()
	_, data, err := c.conn.Read(ctx)
	if err != nil {
		c.t.Fatalf("%s: read while expecting <%s>: %v", c.name, local, err)
	}
	var el struct{ XMLName xml.Name }
	if err := xml.Unmarshal(data, &el); err != nil || el.XMLName.Local != local {
		c.t.Fatalf("%s: got %s, want <%s> (%v)", c.name, data, local, err)
	}
	return string(data)
}

// readLoop queues incoming stanzas and acknowledges Jingle IQs, as
// lib-jitsi-meet does before processing them.
func (c *wsClient) readLoop(ctx context.Context) {
	defer close(c.in)
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			return
		}
		var st stanza
		if err := xml.Unmarshal(data, &st); err != nil {
			continue
		}
		if st.XMLName.Local == "iq" && st.Type == "set" && st.Jingle != nil {
			ack := fmt.Sprintf(`<iq xmlns="jabber:client" type="result" to="%s" id="%s"/>`, st.From, st.ID)
			_ = c.conn.Write(ctx, websocket.MessageText, []byte(ack))
		}
		select {
		case c.in <- &clientStanza{stanza: &st, raw: string(data)}:
		case <-ctx.Done():
			return
		}
	}
}

// waitFor returns the first queued stanza matching match, dropping others.
func (c *wsClient) waitFor(ctx context.Context, what string, match func(*clientStanza) bool) *clientStanza {
	c.t.Helper()
	for {
		select {
		case st, ok := <-c.in:
			if !ok {
				c.t.Fatalf("%s: connection closed while waiting for %s", c.name, what)
			}
			if match(st) {
				return st
			}
		case <-ctx.Done():
			c.t.Fatalf("%s: timed out waiting for %s", c.name, what)
		}
	}
}

func (c *wsClient) waitJingle(ctx context.Context, action string) *jingle.Jingle {
	c.t.Helper()
	st := c.waitFor(ctx, action, func(s *clientStanza) bool {
		return s.Jingle != nil && s.Jingle.Action == action
	})
	if !strings.HasSuffix(st.From, "/focus") {
		c.t.Errorf("%s: %s from %q, want the focus occupant", c.name, action, st.From)
	}
	return st.Jingle
}

// requestConference sends lib-jitsi-meet's conference request and waits for
// ready='true'.
func (c *wsClient) requestConference(ctx context.Context, room string) {
	c.t.Helper()
	id := "conf-" + c.name
	c.send(ctx, `<iq xmlns="jabber:client" type="set" to="focus.localhost" id="`+id+`"><conference xmlns="http://jitsi.org/protocol/focus" room="`+room+`" machine-uid="`+c.name+`"><property name="disableRtx" value="true"/></conference></iq>`)
	res := c.waitFor(ctx, "conference result", func(s *clientStanza) bool { return s.ID == id })
	if res.Type != "result" || res.Conference == nil || res.Conference.Ready != "true" || res.Conference.FocusJID != "focus@focus.localhost" {
		c.t.Fatalf("%s: conference answer %s", c.name, res.raw)
	}
}

func (c *wsClient) acceptSession(ctx context.Context, room, sid string, audio, video uint32) {
	c.t.Helper()
	raw := fmt.Sprintf(`<iq xmlns="jabber:client" type="set" to="%[1]s/focus" id="acc-%[2]s"><jingle xmlns="urn:xmpp:jingle:1" action="session-accept" initiator="%[1]s/focus" sid="%[3]s">`+
		`<content creator="responder" name="audio" senders="both"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"><payload-type id="111" name="opus" clockrate="48000" channels="2"/><source ssrc="%[4]d" xmlns="urn:xmpp:jingle:apps:rtp:ssma:0"><parameter name="msid" value="st-%[2]s au-%[2]s"/></source><rtcp-mux/></description>`+
		`<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="u-%[2]s" pwd="p-%[2]s-0123456789abcdef"><fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="active">AA:BB</fingerprint><candidate foundation="1" component="1" protocol="udp" priority="2122260223" ip="127.0.0.1" port="40001" type="host" generation="0" network="1" id="c1"/></transport></content>`+
		`<content creator="responder" name="video" senders="both"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="video"><payload-type id="100" name="VP8" clockrate="90000"/><source ssrc="%[5]d" xmlns="urn:xmpp:jingle:apps:rtp:ssma:0"><parameter name="msid" value="st-%[2]s vi-%[2]s"/></source><rtcp-mux/></description>`+
		`<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="u-%[2]s" pwd="p-%[2]s-0123456789abcdef"><fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="active">AA:BB</fingerprint></transport></content></jingle></iq>`,
		room, c.name, sid, audio, video)
	c.send(ctx, raw)
	res := c.waitFor(ctx, "session-accept result", func(s *clientStanza) bool { return s.ID == "acc-"+c.name })
	if res.Type != "result" {
		c.t.Fatalf("%s: session-accept answered %s", c.name, res.raw)
	}
}

func ssrcsOf(j *jingle.Jingle) []uint32 {
	s, _ := j.MediaSources()
	return jingle.SSRCs(s)
}

func TestFocusWithRealProsody(t *testing.T) {
	if testing.Short() {
		t.Skip("starts prosody")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	p := startProsody(t)

	fb := newFakeBridge()
	logLevel := slog.LevelWarn
	if testing.Verbose() {
		logLevel = slog.LevelInfo
	}
	f := New(Config{
		ComponentAddr: "127.0.0.1:" + strconv.Itoa(p.componentPort),
		Domain:        p.domain,
		Secret:        p.secret,
		Bridge:        fb,
		Rooms:         map[string]RoomOptions{"locked": {Password: "s3cret"}},
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel})),
	})
	f.leaveGrace = 100 * time.Millisecond
	runCtx, stopFocus := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- f.Run(runCtx) }()
	defer func() {
		stopFocus()
		select {
		case err := <-runDone:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	}()

	if err := f.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	const room = "itroom@conference.localhost"
	wsURL := "ws://127.0.0.1:" + strconv.Itoa(p.httpPort) + "/xmpp-websocket"

	// First participant: conference request, MUC join, session-initiate.
	c1 := dialClient(ctx, t, "c1", wsURL)
	c1.requestConference(ctx, room)
	c1.send(ctx, `<presence xmlns="jabber:client" to="`+room+`/c1"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	focusPresence := c1.waitFor(ctx, "focus presence", func(s *clientStanza) bool {
		return s.XMLName.Local == "presence" && s.From == room+"/focus"
	})
	if it := focusPresence.MUCUser; it == nil || len(it.Items) == 0 || !strings.HasPrefix(it.Items[0].JID, "focus@focus.localhost/") {
		t.Errorf("focus occupant does not expose its real JID: %s", focusPresence.raw)
	}
	init1 := c1.waitJingle(ctx, jingle.ActionSessionInitiate)
	tr, ok := init1.BundleTransport()
	if !ok || tr.Ufrag != "ufrag-c1" || tr.WebSocketURL == "" {
		t.Errorf("c1 transport = %+v, want the fake bridge's", tr)
	}
	c1.acceptSession(ctx, room, init1.SID, 1111, 2222)
	if got := fb.remoteOf("c1"); got.Ufrag != "u-c1" {
		t.Errorf("bridge got c1 transport %+v", got)
	}

	// Second participant: its offer carries c1's sources; c1 learns c2's.
	c2 := dialClient(ctx, t, "c2", wsURL)
	c2.requestConference(ctx, room)
	c2.send(ctx, `<presence xmlns="jabber:client" to="`+room+`/c2"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	init2 := c2.waitJingle(ctx, jingle.ActionSessionInitiate)
	if got := ssrcsOf(init2); !slices.Equal(got, []uint32{1111, 2222}) {
		t.Errorf("c2 offer SSRCs = %v", got)
	}
	if s, _ := init2.MediaSources(); len(s) == 0 || s[0].Owner != room+"/c1" {
		t.Errorf("c2 offer sources lack owner: %+v", s)
	}
	c2.acceptSession(ctx, room, init2.SID, 3333, 4444)
	add := c1.waitJingle(ctx, jingle.ActionSourceAdd)
	if got := ssrcsOf(add); !slices.Equal(got, []uint32{3333, 4444}) {
		t.Errorf("c1 source-add SSRCs = %v", got)
	}

	// c2 leaves: c1 gets source-remove, the bridge endpoint expires.
	c2.send(ctx, `<presence xmlns="jabber:client" type="unavailable" to="`+room+`/c2"/>`)
	rm := c1.waitJingle(ctx, jingle.ActionSourceRemove)
	if got := ssrcsOf(rm); !slices.Equal(got, []uint32{3333, 4444}) {
		t.Errorf("c1 source-remove SSRCs = %v", got)
	}
	if !fb.called("expire " + room + " c2") {
		t.Errorf("c2 endpoint not expired: %v", fb.calls)
	}
	infos := f.Conferences()
	if len(infos) != 1 || len(infos[0].Participants) != 1 || infos[0].Participants[0].Nick != "c1" {
		t.Errorf("conferences = %+v", infos)
	}

	// A password room: the focus sets the password before answering, so a
	// join without it is refused and a join with it succeeds.
	const locked = "locked@conference.localhost"
	c3 := dialClient(ctx, t, "c3", wsURL)
	c3.requestConference(ctx, locked)
	c3.send(ctx, `<presence xmlns="jabber:client" to="`+locked+`/c3"><x xmlns="http://jabber.org/protocol/muc"/></presence>`)
	refused := c3.waitFor(ctx, "refused join", func(s *clientStanza) bool {
		return s.XMLName.Local == "presence" && s.From == locked+"/c3"
	})
	if refused.Type != "error" || refused.Error == nil || refused.Error.Condition.XMLName.Local != "not-authorized" {
		t.Errorf("join without password: %s", refused.raw)
	}
	c3.send(ctx, `<presence xmlns="jabber:client" to="`+locked+`/c3"><x xmlns="http://jabber.org/protocol/muc"><password>s3cret</password></x></presence>`)
	c3.waitJingle(ctx, jingle.ActionSessionInitiate)

	// The last participant leaves: the focus leaves the room.
	c1.send(ctx, `<presence xmlns="jabber:client" type="unavailable" to="`+room+`/c1"/>`)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		infos := f.Conferences()
		if len(infos) == 1 && infos[0].Room == locked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("focus still serves %+v after the last participant left", infos)
		}
	}
}
