package focus

import (
	"encoding/xml"
	"strings"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/jingle"
)

const (
	nsFocus       = "http://jitsi.org/protocol/focus"
	nsMUC         = "http://jabber.org/protocol/muc"
	nsMUCUser     = "http://jabber.org/protocol/muc#user"
	nsMUCOwner    = "http://jabber.org/protocol/muc#owner"
	nsMUCAdmin    = "http://jabber.org/protocol/muc#admin"
	nsDiscoInfo   = "http://jabber.org/protocol/disco#info"
	nsPing        = "urn:xmpp:ping"
	nsDataForms   = "jabber:x:data"
	nsNick        = "http://jabber.org/protocol/nick"
	nsStanzaError = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// stanza is any incoming stanza, with the payloads the focus understands.
type stanza struct {
	XMLName    xml.Name
	From       string         `xml:"from,attr"`
	To         string         `xml:"to,attr"`
	ID         string         `xml:"id,attr"`
	Type       string         `xml:"type,attr"`
	MUCUser    *mucUser       `xml:"http://jabber.org/protocol/muc#user x"`
	Nick       string         `xml:"http://jabber.org/protocol/nick nick"` // display name in presence
	Conference *conferenceIQ  `xml:"http://jitsi.org/protocol/focus conference"`
	Jingle     *jingle.Jingle `xml:"urn:xmpp:jingle:1 jingle"`
	DiscoInfo  *discoInfo     `xml:"http://jabber.org/protocol/disco#info query"`
	Ping       *struct{}      `xml:"urn:xmpp:ping ping"`
	Error      *stanzaError   `xml:"error"`
}

// mucUser is the muc#user <x/> of an occupant's presence.
type mucUser struct {
	Items    []mucItem   `xml:"item"`
	Statuses []mucStatus `xml:"status"`
}

type mucItem struct {
	Affiliation string `xml:"affiliation,attr,omitempty"`
	Role        string `xml:"role,attr,omitempty"`
	JID         string `xml:"jid,attr,omitempty"`
	Nick        string `xml:"nick,attr,omitempty"`
	Reason      string `xml:"reason,omitempty"`
}

type mucStatus struct {
	Code int `xml:"code,attr"`
}

func (x *mucUser) hasStatus(code int) bool {
	if x == nil {
		return false
	}
	for _, s := range x.Statuses {
		if s.Code == code {
			return true
		}
	}
	return false
}

func (x *mucUser) affiliation() string {
	if x == nil || len(x.Items) == 0 {
		return ""
	}
	return x.Items[0].Affiliation
}

// conferenceIQ is Jitsi's conference request and the focus's answer.
type conferenceIQ struct {
	XMLName    xml.Name   `xml:"http://jitsi.org/protocol/focus conference"`
	Room       string     `xml:"room,attr"`
	MachineUID string     `xml:"machine-uid,attr,omitempty"`
	Ready      string     `xml:"ready,attr,omitempty"`
	FocusJID   string     `xml:"focusjid,attr,omitempty"`
	Properties []property `xml:"property"`
}

type property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type discoInfo struct {
	XMLName    xml.Name        `xml:"http://jabber.org/protocol/disco#info query"`
	Node       string          `xml:"node,attr,omitempty"`
	Identities []discoIdentity `xml:"identity"`
	Features   []discoFeature  `xml:"feature"`
}

type discoIdentity struct {
	Category string `xml:"category,attr"`
	Type     string `xml:"type,attr"`
	Name     string `xml:"name,attr,omitempty"`
}

type discoFeature struct {
	Var string `xml:"var,attr"`
}

// stanzaError is an RFC 6120 stanza <error/>.
type stanzaError struct {
	XMLName   xml.Name        `xml:"error"`
	Type      string          `xml:"type,attr"`
	Condition errorCondition  `xml:",any"`
	Extra     *errorCondition `xml:"urn:xmpp:jingle:errors:1 unknown-session"`
	Text      *errorText      `xml:"urn:ietf:params:xml:ns:xmpp-stanzas text"`
}

type errorCondition struct {
	XMLName xml.Name
}

type errorText struct {
	Text string `xml:",chardata"`
}

func (e *stanzaError) String() string {
	if e == nil {
		return "no error element"
	}
	s := e.Type + "/" + e.Condition.XMLName.Local
	if e.Text != nil && e.Text.Text != "" {
		s += ": " + e.Text.Text
	}
	return s
}

func newStanzaError(typ, condition, text string) *stanzaError {
	e := &stanzaError{Type: typ, Condition: errorCondition{XMLName: xml.Name{Space: nsStanzaError, Local: condition}}}
	if text != "" {
		e.Text = &errorText{Text: text}
	}
	return e
}

// outIQ is an IQ the focus sends; Payload is any marshallable element.
type outIQ struct {
	XMLName xml.Name     `xml:"iq"`
	From    string       `xml:"from,attr,omitempty"`
	To      string       `xml:"to,attr"`
	ID      string       `xml:"id,attr"`
	Type    string       `xml:"type,attr"`
	Payload any          `xml:",omitempty"`
	Error   *stanzaError `xml:"error,omitempty"`
}

// outPresence is a presence the focus sends (MUC join or leave).
type outPresence struct {
	XMLName xml.Name `xml:"presence"`
	From    string   `xml:"from,attr"`
	To      string   `xml:"to,attr"`
	Type    string   `xml:"type,attr,omitempty"`
	MUC     *mucJoin `xml:"http://jabber.org/protocol/muc x"`
}

type mucJoin struct {
	Password string `xml:"password,omitempty"`
	History  *struct {
		MaxStanzas int `xml:"maxstanzas,attr"`
	} `xml:"history"`
}

// ownerQuery submits a room configuration form (XEP-0045 muc#owner).
type ownerQuery struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/muc#owner query"`
	Form    dataForm `xml:"jabber:x:data x"`
}

type dataForm struct {
	Type   string      `xml:"type,attr"`
	Fields []formField `xml:"field"`
}

type formField struct {
	Var    string   `xml:"var,attr"`
	Values []string `xml:"value"`
}

// adminQuery changes affiliations (XEP-0045 muc#admin).
type adminQuery struct {
	XMLName xml.Name  `xml:"http://jabber.org/protocol/muc#admin query"`
	Items   []mucItem `xml:"item"`
}

// splitJID returns the bare JID and resource of a full JID.
func splitJID(jid string) (bare, resource string) {
	if i := strings.IndexByte(jid, '/'); i >= 0 {
		return jid[:i], jid[i+1:]
	}
	return jid, ""
}

// localPart returns the node of a bare JID ("" when there is none).
func localPart(bare string) string {
	if i := strings.IndexByte(bare, '@'); i >= 0 {
		return bare[:i]
	}
	return ""
}

// domainPart returns the domain of a JID.
func domainPart(jid string) string {
	bare, _ := splitJID(jid)
	if i := strings.IndexByte(bare, '@'); i >= 0 {
		return bare[i+1:]
	}
	return bare
}
