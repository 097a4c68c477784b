package jingle

import (
	"encoding/xml"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/bridge"
)

// RTP header extension URIs the focus may offer.
const (
	HdrExtAudioLevel  = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
	HdrExtAbsSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
	HdrExtTransportCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
)

// Payload types of the offered codecs (Jitsi's defaults).
const (
	PayloadOpus = 111
	PayloadVP8  = 100
)

// OfferOptions selects the optional header extensions of an offer. Both stay
// off by default: the lab bridge sends no transport-wide feedback, and an
// unanswered transport-cc extension only confuses Chrome's bandwidth estimate.
type OfferOptions struct {
	AbsSendTime bool // abs-send-time, id 3
	TransportCC bool // transport-wide-cc, id 5
}

// Offer is what a session-initiate carries to one participant.
type Offer struct {
	SID       string
	Initiator string // the focus's occupant JID, room@conference/focus
	Responder string // the participant's occupant JID
	// Transport is the bridge's side of the endpoint's bundled transport.
	Transport bridge.Transport
	// Sources and Groups are the other endpoints' sources, each with Owner set.
	Sources         []MediaSource
	Groups          []SourceGroup
	BridgeSessionID string
	Options         OfferOptions
}

// SessionInitiate builds the focus's offer: audio (opus) and video (VP8)
// contents that share one bundled transport towards the bridge.
func SessionInitiate(o Offer) *Jingle {
	transport := TransportFromBridge(o.Transport)
	for i := range transport.Fingerprints {
		transport.Fingerprints[i].Setup = "actpass" // the bridge lets Chrome pick the DTLS client role
	}
	j := &Jingle{
		Action:    ActionSessionInitiate,
		SID:       o.SID,
		Initiator: o.Initiator,
		Responder: o.Responder,
		Group: &Group{Semantics: "BUNDLE", Contents: []GroupContent{
			{Name: "audio"}, {Name: "video"},
		}},
	}
	if o.BridgeSessionID != "" {
		j.BridgeSession = &BridgeSession{ID: o.BridgeSessionID}
	}
	for _, media := range []string{"audio", "video"} {
		d := offerDescription(media, o.Options)
		addSources(d, media, o.Sources, o.Groups)
		t := *transport
		j.Contents = append(j.Contents, Content{
			Creator:     "initiator",
			Name:        media,
			Senders:     "both",
			Description: d,
			Transport:   &t,
		})
	}
	return j
}

func offerDescription(media string, opts OfferOptions) *Description {
	d := &Description{Media: media, RTCPMux: &struct{}{}}
	switch media {
	case "audio":
		d.PayloadTypes = []PayloadType{{
			ID: PayloadOpus, Name: "opus", ClockRate: 48000, Channels: 2,
			Parameters: []Parameter{
				{Name: "minptime", Value: "10"},
				{Name: "useinbandfec", Value: "1"},
			},
			RTCPFeedback: []RTCPFeedback{{Type: "transport-cc"}},
		}}
		d.HeaderExts = []RTPHeaderExt{{ID: 1, URI: HdrExtAudioLevel}}
	case "video":
		d.PayloadTypes = []PayloadType{{
			ID: PayloadVP8, Name: "VP8", ClockRate: 90000,
			RTCPFeedback: []RTCPFeedback{
				{Type: "ccm", Subtype: "fir"},
				{Type: "nack"},
				{Type: "nack", Subtype: "pli"},
				{Type: "goog-remb"},
				{Type: "transport-cc"},
			},
		}}
	}
	if opts.AbsSendTime {
		d.HeaderExts = append(d.HeaderExts, RTPHeaderExt{ID: 3, URI: HdrExtAbsSendTime})
	}
	if opts.TransportCC {
		d.HeaderExts = append(d.HeaderExts, RTPHeaderExt{ID: 5, URI: HdrExtTransportCC})
	}
	return d
}

func addSources(d *Description, media string, sources []MediaSource, groups []SourceGroup) {
	for _, s := range sources {
		if s.Media == media {
			d.Sources = append(d.Sources, sourceElement(s))
		}
	}
	for _, g := range groups {
		if g.Media == media {
			d.SSRCGroups = append(d.SSRCGroups, groupElement(g))
		}
	}
}

// SourceAdd builds a source-add announcing sources to a participant.
func SourceAdd(sid, initiator string, sources []MediaSource, groups []SourceGroup) *Jingle {
	return sourceUpdate(ActionSourceAdd, sid, initiator, sources, groups)
}

// SourceRemove builds a source-remove withdrawing sources from a participant.
func SourceRemove(sid, initiator string, sources []MediaSource, groups []SourceGroup) *Jingle {
	return sourceUpdate(ActionSourceRemove, sid, initiator, sources, groups)
}

// sourceUpdate puts the sources in contents named after their media, which the
// client matches against a=mid of its (Plan B) remote description.
func sourceUpdate(action, sid, initiator string, sources []MediaSource, groups []SourceGroup) *Jingle {
	j := &Jingle{Action: action, SID: sid, Initiator: initiator}
	for _, media := range []string{"audio", "video"} {
		d := &Description{Media: media}
		addSources(d, media, sources, groups)
		if len(d.Sources) == 0 && len(d.SSRCGroups) == 0 {
			continue
		}
		j.Contents = append(j.Contents, Content{Name: media, Description: d})
	}
	return j
}

// SessionTerminate builds a session-terminate with a reason condition such as
// "success" or "gone".
func SessionTerminate(sid, initiator, condition string) *Jingle {
	return &Jingle{
		Action: ActionSessionTerminate, SID: sid, Initiator: initiator,
		Reason: &Reason{Condition: ReasonCondition{XMLName: xml.Name{Local: condition}}},
	}
}

// TransportFromBridge renders the bridge's transport as a Jingle transport.
func TransportFromBridge(t bridge.Transport) *Transport {
	out := &Transport{Ufrag: t.Ufrag, Pwd: t.Pwd}
	if t.Fingerprint.Value != "" {
		out.Fingerprints = []Fingerprint{{
			Hash: t.Fingerprint.Hash, Setup: t.Fingerprint.Setup, Value: t.Fingerprint.Value,
		}}
	}
	if t.WebSocketURL != "" {
		out.WebSocket = &WebSocket{URL: t.WebSocketURL}
	}
	for _, c := range t.Candidates {
		out.Candidates = append(out.Candidates, CandidateFromBridge(c))
	}
	return out
}

// CandidateFromBridge renders one bridge candidate.
func CandidateFromBridge(c bridge.Candidate) Candidate {
	return Candidate{
		Component: c.Component, Foundation: c.Foundation, Generation: c.Generation,
		ID: c.ID, IP: c.IP, Network: 1, Port: c.Port, Priority: c.Priority,
		Protocol: c.Protocol, Type: c.Type,
	}
}

// Bridge converts the transport to the bridge's type (the first fingerprint
// wins; WebRTC sends one).
func (t *Transport) Bridge() bridge.Transport {
	out := bridge.Transport{Ufrag: t.Ufrag, Pwd: t.Pwd, Candidates: t.BridgeCandidates()}
	if len(t.Fingerprints) > 0 {
		f := t.Fingerprints[0]
		out.Fingerprint = bridge.Fingerprint{Hash: f.Hash, Value: f.Value, Setup: f.Setup}
	}
	if t.WebSocket != nil {
		out.WebSocketURL = t.WebSocket.URL
	}
	return out
}

// BridgeCandidates converts the transport's candidates.
func (t *Transport) BridgeCandidates() []bridge.Candidate {
	var out []bridge.Candidate
	for _, c := range t.Candidates {
		out = append(out, bridge.Candidate{
			Foundation: c.Foundation, Component: c.Component, Protocol: c.Protocol,
			Priority: c.Priority, IP: c.IP, Port: c.Port, Type: c.Type,
			Generation: c.Generation, ID: c.ID,
		})
	}
	return out
}

// BundleTransport returns the one bundled transport of a session-accept: the
// first content's transport that carries ICE credentials.
func (j *Jingle) BundleTransport() (bridge.Transport, bool) {
	for _, c := range j.Contents {
		if c.Transport != nil && c.Transport.Ufrag != "" {
			return c.Transport.Bridge(), true
		}
	}
	return bridge.Transport{}, false
}

// Candidates collects the candidates of all contents. In transport-info the
// client names the content after the SDP mid ("0"); with BUNDLE they all
// belong to the one transport.
func (j *Jingle) Candidates() []bridge.Candidate {
	var out []bridge.Candidate
	for _, c := range j.Contents {
		if c.Transport != nil {
			out = append(out, c.Transport.BridgeCandidates()...)
		}
	}
	return out
}
