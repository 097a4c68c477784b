package prosody

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// xmppClient is the least of an XMPP-over-websocket client: enough to log in
// anonymously, as lib-jitsi-meet does, and exchange raw stanzas.
type xmppClient struct {
	t   *testing.T
	ctx context.Context
	c   *websocket.Conn
}

func loginAnonymously(t *testing.T, ctx context.Context, s *Server) *xmppClient {
	t.Helper()
	c, _, err := websocket.Dial(ctx, s.WebSocketURL(), &websocket.DialOptions{Subprotocols: []string{"xmpp"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	x := &xmppClient{t: t, ctx: ctx, c: c}
	open := fmt.Sprintf(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="%s" version="1.0"/>`, s.Domain())
	x.send(open)
	x.readUntil("mechanisms")
	x.send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="ANONYMOUS"/>`)
	x.readUntil("<success")
	x.send(open)
	x.readUntil("urn:ietf:params:xml:ns:xmpp-bind")
	x.send(`<iq xmlns="jabber:client" type="set" id="bind1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>`)
	x.readUntil("<jid>")
	return x
}

func (x *xmppClient) send(stanza string) {
	x.t.Helper()
	if err := x.c.Write(x.ctx, websocket.MessageText, []byte(stanza)); err != nil {
		x.t.Fatalf("send %q: %v", stanza, err)
	}
}

// readUntil returns the first message that contains all of parts.
func (x *xmppClient) readUntil(parts ...string) string {
	x.t.Helper()
	for {
		_, msg, err := x.c.Read(x.ctx)
		if err != nil {
			x.t.Fatalf("waiting for %q: %v", parts, err)
		}
		all := true
		for _, p := range parts {
			all = all && strings.Contains(string(msg), p)
		}
		if all {
			return string(msg)
		}
	}
}

// join sends MUC presence and returns the answer: the self-presence
// (status 110) or an error presence.
func (x *xmppClient) join(room, nick, password string) string {
	x.t.Helper()
	pw := ""
	if password != "" {
		pw = "<password>" + password + "</password>"
	}
	x.send(fmt.Sprintf(`<presence xmlns="jabber:client" to="%s/%s"><x xmlns="http://jabber.org/protocol/muc">%s</x></presence>`, room, nick, pw))
	for {
		msg := x.readUntil("<presence", room+"/"+nick)
		if strings.Contains(msg, `code='110'`) || strings.Contains(msg, `code="110"`) || strings.Contains(msg, "type='error'") {
			return msg
		}
	}
}

func (x *xmppClient) configureRoom(room string, fields map[string]string) {
	x.t.Helper()
	var b strings.Builder
	b.WriteString(`<field var="FORM_TYPE"><value>http://jabber.org/protocol/muc#roomconfig</value></field>`)
	for k, v := range fields {
		fmt.Fprintf(&b, `<field var="%s"><value>%s</value></field>`, k, v)
	}
	x.send(fmt.Sprintf(`<iq xmlns="jabber:client" type="set" id="cfg1" to="%s"><query xmlns="http://jabber.org/protocol/muc#owner"><x xmlns="jabber:x:data" type="submit">%s</x></query></iq>`, room, b.String()))
	if reply := x.readUntil("cfg1"); !strings.Contains(reply, "type='result'") {
		x.t.Fatalf("configure %s: %s", room, reply)
	}
}

func TestMUCSupportsPasswordAndMembersOnlyRooms(t *testing.T) {
	s := startTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	owner := loginAnonymously(t, ctx, s)
	guest := loginAnonymously(t, ctx, s)

	secret := "secret@" + s.MUCDomain()
	if reply := owner.join(secret, "owner", ""); strings.Contains(reply, "type='error'") {
		t.Fatalf("creating %s: %s", secret, reply)
	}
	owner.configureRoom(secret, map[string]string{
		"muc#roomconfig_passwordprotectedroom": "1",
		"muc#roomconfig_roomsecret":            "pw",
	})
	if reply := guest.join(secret, "guest", ""); !strings.Contains(reply, "not-authorized") {
		t.Errorf("join without password: want not-authorized, got %s", reply)
	}
	if reply := guest.join(secret, "guest", "pw"); strings.Contains(reply, "type='error'") {
		t.Errorf("join with password refused: %s", reply)
	}

	members := "members@" + s.MUCDomain()
	if reply := owner.join(members, "owner", ""); strings.Contains(reply, "type='error'") {
		t.Fatalf("creating %s: %s", members, reply)
	}
	owner.configureRoom(members, map[string]string{"muc#roomconfig_membersonly": "1"})
	if reply := guest.join(members, "guest", ""); !strings.Contains(reply, "registration-required") {
		t.Errorf("join members-only room as non-member: want registration-required, got %s", reply)
	}
}
