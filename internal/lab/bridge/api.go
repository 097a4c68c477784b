// Package bridge is the lab's stand-in for Jitsi Videobridge: one bundled
// ICE+DTLS+SRTP transport per endpoint, RTP forwarded unchanged (same SSRCs)
// to every endpoint that was told about the source, and a Colibri WebSocket
// bridge channel. It listens on loopback only.
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
