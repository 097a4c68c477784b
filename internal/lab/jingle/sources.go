package jingle

import "slices"

// MediaSource is one SSRC an endpoint sends.
type MediaSource struct {
	Media string // "audio" or "video"
	SSRC  uint32
	MSID  string // "<stream id> <track id>", as the client signalled it
	Name  string // source name, when the client signals one
	// Owner is the sender's occupant JID (room@conference/nick). Clients
	// leave it empty; the focus fills it in for receivers.
	Owner string
}

// SourceGroup is an ssrc-group: FID pairs a stream with its RTX stream, SIM
// lists simulcast layers from the lowest up.
type SourceGroup struct {
	Media     string
	Semantics string
	SSRCs     []uint32
}

// SSRCs lists the SSRCs of sources.
func SSRCs(sources []MediaSource) []uint32 {
	out := make([]uint32, 0, len(sources))
	for _, s := range sources {
		out = append(out, s.SSRC)
	}
	return out
}

// StripSimulcast keeps only the first layer of every SIM group (and that
// layer's FID partner), as Jicofo does for receivers: the bridge forwards
// SSRCs unchanged, so receivers must know one SSRC per track.
func StripSimulcast(sources []MediaSource, groups []SourceGroup) ([]MediaSource, []SourceGroup) {
	drop := map[uint32]bool{}
	for _, g := range groups {
		if g.Semantics == "SIM" && len(g.SSRCs) > 1 {
			for _, s := range g.SSRCs[1:] {
				drop[s] = true
			}
		}
	}
	// The RTX stream of a dropped layer goes too.
	for _, g := range groups {
		if g.Semantics == "FID" && len(g.SSRCs) == 2 && drop[g.SSRCs[0]] {
			drop[g.SSRCs[1]] = true
		}
	}
	var keptSources []MediaSource
	for _, s := range sources {
		if !drop[s.SSRC] {
			keptSources = append(keptSources, s)
		}
	}
	var keptGroups []SourceGroup
	for _, g := range groups {
		if g.Semantics == "SIM" {
			continue
		}
		if slices.ContainsFunc(g.SSRCs, func(s uint32) bool { return drop[s] }) {
			continue
		}
		keptGroups = append(keptGroups, g)
	}
	return keptSources, keptGroups
}

// sourceElement renders one source for the focus's offers.
func sourceElement(s MediaSource) Source {
	el := Source{SSRC: s.SSRC, Name: s.Name}
	if s.MSID != "" {
		el.Parameters = []Parameter{{Name: "msid", Value: s.MSID}}
	}
	if s.Owner != "" {
		el.SSRCInfo = &SSRCInfo{Owner: s.Owner}
	}
	return el
}

// groupElement renders one ssrc-group.
func groupElement(g SourceGroup) SSRCGroup {
	el := SSRCGroup{Semantics: g.Semantics}
	for _, s := range g.SSRCs {
		el.Sources = append(el.Sources, GroupSource{SSRC: s})
	}
	return el
}

// MediaSources extracts the sources and groups of all contents (session-accept,
// source-add, source-remove). The media type comes from the description, or
// the content name when the description omits it.
func (j *Jingle) MediaSources() ([]MediaSource, []SourceGroup) {
	var sources []MediaSource
	var groups []SourceGroup
	for _, c := range j.Contents {
		d := c.Description
		if d == nil {
			continue
		}
		media := d.Media
		if media == "" {
			media = c.Name
		}
		for _, s := range d.Sources {
			if s.SSRC == 0 { // rid-only source (unified-plan simulcast)
				continue
			}
			ms := MediaSource{Media: media, SSRC: s.SSRC, Name: s.Name}
			for _, p := range s.Parameters {
				if p.Name == "msid" {
					ms.MSID = p.Value
				}
			}
			if s.SSRCInfo != nil {
				ms.Owner = s.SSRCInfo.Owner
			}
			sources = append(sources, ms)
		}
		for _, g := range d.SSRCGroups {
			sg := SourceGroup{Media: media, Semantics: g.Semantics}
			for _, s := range g.Sources {
				sg.SSRCs = append(sg.SSRCs, s.SSRC)
			}
			if len(sg.SSRCs) > 0 {
				groups = append(groups, sg)
			}
		}
	}
	return sources, groups
}
