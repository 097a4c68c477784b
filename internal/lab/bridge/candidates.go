package bridge

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/pion/ice/v4"
)

// fromICECandidate turns a local pion candidate into its Jingle form.
func fromICECandidate(c ice.Candidate) Candidate {
	return Candidate{
		Foundation: c.Foundation(),
		Component:  int(c.Component()),
		Protocol:   strings.ToLower(c.NetworkType().NetworkShort()),
		Priority:   c.Priority(),
		IP:         c.Address(),
		Port:       c.Port(),
		Type:       c.Type().String(),
		Generation: 0,
		ID:         strings.TrimPrefix(c.ID(), "candidate:"),
	}
}

// toICECandidate turns a Jingle candidate into a pion remote candidate. Only
// UDP candidates of component 1 (rtcp-mux) on a loopback address are usable in
// the lab; every type is treated as a host candidate because on loopback the
// address is all that matters.
func toICECandidate(c Candidate) (ice.Candidate, error) {
	if !strings.EqualFold(c.Protocol, "udp") {
		return nil, fmt.Errorf("protocol %q is not udp", c.Protocol)
	}
	if c.Component != 0 && c.Component != 1 {
		return nil, fmt.Errorf("component %d: only RTP component 1 is used (rtcp-mux)", c.Component)
	}
	ip := net.ParseIP(c.IP)
	if ip == nil {
		return nil, fmt.Errorf("address %q is not an IP", c.IP)
	}
	if !ip.IsLoopback() {
		return nil, fmt.Errorf("address %s is not loopback", c.IP)
	}
	if c.Port <= 0 || c.Port > 65535 {
		return nil, errors.New("bad port")
	}
	foundation := c.Foundation
	if foundation == "" {
		foundation = "1"
	}
	network := "udp4"
	if ip.To4() == nil {
		network = "udp6"
	}
	return ice.NewCandidateHost(&ice.CandidateHostConfig{
		Network:    network,
		Address:    ip.String(),
		Port:       c.Port,
		Component:  1,
		Priority:   c.Priority,
		Foundation: foundation,
	})
}
