// Package jingle holds the Jingle (XEP-0166/0167/0176/0320/0339) elements as
// Jitsi uses them between the focus and lib-jitsi-meet, with builders for the
// focus's offers and parsers for what the client answers.
//
// Only elements that introduce a namespace carry it in their Go tag: children
// inherit it, which keeps the marshalled XML as compact as Jicofo's and lets
// parsing accept what Strophe produces.
package jingle

import "encoding/xml"

// Namespaces used in Jitsi's Jingle.
const (
	NSJingle        = "urn:xmpp:jingle:1"
	NSRTP           = "urn:xmpp:jingle:apps:rtp:1"
	NSSSMA          = "urn:xmpp:jingle:apps:rtp:ssma:0"
	NSRTCPFB        = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"
	NSRTPHdrExt     = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
	NSICEUDP        = "urn:xmpp:jingle:transports:ice-udp:1"
	NSDTLS          = "urn:xmpp:jingle:apps:dtls:0"
	NSGrouping      = "urn:xmpp:jingle:apps:grouping:0"
	NSJitMeet       = "http://jitsi.org/jitmeet"
	NSColibri       = "http://jitsi.org/protocol/colibri"
	NSFocus         = "http://jitsi.org/protocol/focus"
	NSStanzaErrors  = "urn:ietf:params:xml:ns:xmpp-stanzas"
	NSJingleErrors  = "urn:xmpp:jingle:errors:1"
	NSSCTPTransport = "urn:xmpp:jingle:transports:dtls-sctp:1"
)

// Jingle actions the focus sends or handles.
const (
	ActionSessionInitiate  = "session-initiate"
	ActionSessionAccept    = "session-accept"
	ActionSessionTerminate = "session-terminate"
	ActionSessionInfo      = "session-info"
	ActionTransportInfo    = "transport-info"
	ActionSourceAdd        = "source-add"
	ActionSourceRemove     = "source-remove"
)

// Jingle is the <jingle xmlns='urn:xmpp:jingle:1'/> payload of an IQ.
type Jingle struct {
	XMLName       xml.Name       `xml:"urn:xmpp:jingle:1 jingle"`
	Action        string         `xml:"action,attr"`
	SID           string         `xml:"sid,attr"`
	Initiator     string         `xml:"initiator,attr,omitempty"`
	Responder     string         `xml:"responder,attr,omitempty"`
	Contents      []Content      `xml:"content"`
	Group         *Group         `xml:"urn:xmpp:jingle:apps:grouping:0 group"`
	BridgeSession *BridgeSession `xml:"http://jitsi.org/protocol/focus bridge-session"`
	Reason        *Reason        `xml:"reason"`
}

// Content is one <content/>: a media description and/or a transport.
type Content struct {
	Creator     string       `xml:"creator,attr,omitempty"`
	Name        string       `xml:"name,attr"`
	Senders     string       `xml:"senders,attr,omitempty"`
	Description *Description `xml:"urn:xmpp:jingle:apps:rtp:1 description"`
	Transport   *Transport   `xml:"urn:xmpp:jingle:transports:ice-udp:1 transport"`
}

// Description is an RTP <description/> (XEP-0167) with Jitsi's source
// extensions (XEP-0339).
type Description struct {
	Media        string         `xml:"media,attr"`
	SSRC         string         `xml:"ssrc,attr,omitempty"`
	PayloadTypes []PayloadType  `xml:"payload-type"`
	Sources      []Source       `xml:"urn:xmpp:jingle:apps:rtp:ssma:0 source"`
	SSRCGroups   []SSRCGroup    `xml:"urn:xmpp:jingle:apps:rtp:ssma:0 ssrc-group"`
	RTCPMux      *struct{}      `xml:"rtcp-mux"`
	RTCPFeedback []RTCPFeedback `xml:"urn:xmpp:jingle:apps:rtp:rtcp-fb:0 rtcp-fb"`
	HeaderExts   []RTPHeaderExt `xml:"urn:xmpp:jingle:apps:rtp:rtp-hdrext:0 rtp-hdrext"`
}

// PayloadType is one codec (<payload-type/>), an SDP rtpmap+fmtp+rtcp-fb.
type PayloadType struct {
	ID           int            `xml:"id,attr"`
	Name         string         `xml:"name,attr"`
	ClockRate    int            `xml:"clockrate,attr,omitempty"`
	Channels     int            `xml:"channels,attr,omitempty"`
	Parameters   []Parameter    `xml:"parameter"`
	RTCPFeedback []RTCPFeedback `xml:"urn:xmpp:jingle:apps:rtp:rtcp-fb:0 rtcp-fb"`
}

// Parameter is a name/value pair: an fmtp parameter under a payload type, or
// an SDP ssrc attribute (msid) under a source.
type Parameter struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// RTCPFeedback is an a=rtcp-fb line (XEP-0293).
type RTCPFeedback struct {
	Type    string `xml:"type,attr"`
	Subtype string `xml:"subtype,attr,omitempty"`
}

// RTPHeaderExt is an a=extmap line (XEP-0294).
type RTPHeaderExt struct {
	ID      int    `xml:"id,attr"`
	URI     string `xml:"uri,attr"`
	Senders string `xml:"senders,attr,omitempty"`
}

// Source is one SSRC (XEP-0339) with its msid and, from the focus, the
// endpoint that owns it.
type Source struct {
	SSRC       uint32      `xml:"ssrc,attr,omitempty"`
	Name       string      `xml:"name,attr,omitempty"`
	RID        string      `xml:"rid,attr,omitempty"`
	Parameters []Parameter `xml:"parameter"`
	SSRCInfo   *SSRCInfo   `xml:"http://jitsi.org/jitmeet ssrc-info"`
}

// SSRCInfo names the MUC occupant that sends an SSRC; lib-jitsi-meet creates
// no remote track for a source without it.
type SSRCInfo struct {
	Owner string `xml:"owner,attr"`
}

// SSRCGroup is an a=ssrc-group line (FID for RTX, SIM for simulcast).
type SSRCGroup struct {
	Semantics string        `xml:"semantics,attr"`
	Sources   []GroupSource `xml:"source"`
}

// GroupSource is an SSRC reference inside an <ssrc-group/>.
type GroupSource struct {
	SSRC uint32 `xml:"ssrc,attr"`
}

// Transport is the ICE-UDP transport (XEP-0176) with its DTLS fingerprint
// (XEP-0320) and Jitsi's Colibri WebSocket.
type Transport struct {
	Ufrag        string        `xml:"ufrag,attr,omitempty"`
	Pwd          string        `xml:"pwd,attr,omitempty"`
	Fingerprints []Fingerprint `xml:"urn:xmpp:jingle:apps:dtls:0 fingerprint"`
	WebSocket    *WebSocket    `xml:"http://jitsi.org/protocol/colibri web-socket"`
	RTCPMux      *struct{}     `xml:"rtcp-mux"`
	Candidates   []Candidate   `xml:"candidate"`
}

// Fingerprint is a DTLS certificate fingerprint with the owner's DTLS role.
type Fingerprint struct {
	Hash     string `xml:"hash,attr"`
	Setup    string `xml:"setup,attr,omitempty"`
	Required string `xml:"required,attr,omitempty"`
	Value    string `xml:",chardata"`
}

// WebSocket is the Colibri bridge-channel URL offered to the endpoint.
type WebSocket struct {
	URL string `xml:"url,attr"`
}

// Candidate is one ICE candidate as lib-jitsi-meet's SDPUtil writes it.
type Candidate struct {
	Component  int    `xml:"component,attr"`
	Foundation string `xml:"foundation,attr"`
	Generation int    `xml:"generation,attr"`
	ID         string `xml:"id,attr,omitempty"`
	IP         string `xml:"ip,attr"`
	Network    int    `xml:"network,attr"`
	Port       int    `xml:"port,attr"`
	Priority   uint32 `xml:"priority,attr"`
	Protocol   string `xml:"protocol,attr"`
	Type       string `xml:"type,attr"`
	RelAddr    string `xml:"rel-addr,attr,omitempty"`
	RelPort    int    `xml:"rel-port,attr,omitempty"`
	TCPType    string `xml:"tcptype,attr,omitempty"`
}

// Group is the BUNDLE group (XEP-0338).
type Group struct {
	Semantics string         `xml:"semantics,attr"`
	Contents  []GroupContent `xml:"content"`
}

// GroupContent names a content inside a <group/>.
type GroupContent struct {
	Name string `xml:"name,attr"`
}

// BridgeSession identifies the bridge allocation; the client echoes it in
// session-info and session-terminate (restart='true' asks for a new one).
type BridgeSession struct {
	ID      string `xml:"id,attr"`
	Restart string `xml:"restart,attr,omitempty"`
}

// Reason is a session-terminate <reason/>: one condition element and an
// optional text.
type Reason struct {
	Condition ReasonCondition `xml:",any"`
	Text      string          `xml:"text"`
}

// ReasonCondition is the condition element of a <reason/> (success, gone, ...).
type ReasonCondition struct {
	XMLName xml.Name
}
