// Package bridge is the lab's stand-in for Jitsi Videobridge: one bundled
// ICE+DTLS+SRTP transport per endpoint, RTP forwarded unchanged (same SSRCs)
// to every endpoint that was told about the source, and a Colibri WebSocket
// bridge channel. It listens on loopback only.
//
// The focus drives an endpoint in this order:
//
//  1. AllocateEndpoint -> the bridge's transport for session-initiate
//     (ICE ufrag/pwd, sha-256 fingerprint with setup actpass, 127.0.0.1
//     host candidates, Colibri WebSocket URL once SetColibriBase was called);
//     SetReceivable with the sources named in session-initiate.
//  2. SetRemoteTransport with the transport of session-accept (starts ICE as
//     the controlling agent, then the DTLS server); SetSources with the
//     sources it accepts with.
//  3. AddRemoteCandidates for each transport-info; SetSources/SetReceivable
//     again on every source-add/source-remove either way.
//  4. ExpireEndpoint when the participant leaves or terminates the session.
//
// Remote candidates off loopback are ignored, so the bridge never sends
// anywhere but 127.0.0.0/8.
package bridge

// Candidate is one ICE candidate as Jingle carries it
// (urn:xmpp:jingle:transports:ice-udp:1 <candidate/>).
type Candidate struct {
	Foundation string
	Component  int
	Protocol   string // "udp"
	Priority   uint32
	IP         string
	Port       int
	Type       string // "host", "srflx", "prflx", "relay"
	Generation int
	ID         string
}

// Fingerprint is a DTLS certificate fingerprint with the DTLS role of its
// owner (urn:xmpp:jingle:apps:dtls:0 <fingerprint/>).
type Fingerprint struct {
	Hash  string // "sha-256"
	Value string // upper-case hex pairs separated by ':'
	Setup string // "actpass", "active", "passive"
}

// Transport is one side of an endpoint's bundled transport: what goes in a
// Jingle <transport> element.
type Transport struct {
	Ufrag       string
	Pwd         string
	Fingerprint Fingerprint
	Candidates  []Candidate
	// WebSocketURL is the Colibri bridge channel for this endpoint; set on
	// the bridge's side only, empty when the bridge offers none.
	WebSocketURL string
}
