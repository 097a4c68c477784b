package focus

import (
	"slices"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/jingle"
)

// handleConferenceRequest answers <conference/> once the focus sits in the
// room: the client joins the MUC only after ready='true', and must then
// find the focus there.
func (f *Focus) handleConferenceRequest(st *stanza) {
	room := st.Conference.Room
	if domainPart(room) != f.mucDomain || localPart(room) == "" {
		f.replyError(st, newStanzaError("modify", "bad-request", "room must be <name>@"+f.mucDomain))
		return
	}
	c := f.confs[room]
	if c == nil {
		c = &conference{room: room, opts: f.cfg.Rooms[localPart(room)], members: map[string]*participant{}}
		f.confs[room] = c
	}
	c.stopLeaveTimer()
	if c.joined {
		f.replyReady(st)
		return
	}
	c.waiting = append(c.waiting, st)
	if !c.joining {
		f.joinRoom(c)
	}
}

func (f *Focus) replyReady(st *stanza) {
	f.reply(st, &conferenceIQ{
		Room:       st.Conference.Room,
		Ready:      "true",
		FocusJID:   "focus@" + f.component,
		Properties: []property{{Name: "authentication", Value: "false"}},
	})
}

func (f *Focus) joinRoom(c *conference) {
	c.joining = true
	join := &mucJoin{Password: c.opts.Password}
	join.History = &struct {
		MaxStanzas int `xml:"maxstanzas,attr"`
	}{0}
	f.log.Info("joining room", "room", c.room)
	f.sendLocked(&outPresence{From: f.focusJID, To: occupantJID(c.room, focusNick), MUC: join})
	time.AfterFunc(joinTimeout, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.confs[c.room] == c && !c.joined {
			f.log.Warn("no self-presence from room", "room", c.room)
			f.failConference(c, newStanzaError("wait", "remote-server-timeout", "focus could not join the room"))
		}
	})
}

// failConference answers waiting requests with e and forgets the room.
func (f *Focus) failConference(c *conference, e *stanzaError) {
	for _, req := range c.waiting {
		f.replyError(req, e)
	}
	c.waiting = nil
	for _, p := range c.members {
		if p.sid != "" {
			f.cfg.Bridge.ExpireEndpoint(c.room, p.nick)
		}
	}
	c.stopLeaveTimer()
	delete(f.confs, c.room)
}

func (f *Focus) handlePresence(st *stanza) {
	room, nick := splitJID(st.From)
	if domainPart(room) != f.mucDomain || nick == "" {
		return
	}
	c := f.confs[room]
	if c == nil {
		return
	}
	if nick == focusNick || st.MUCUser.hasStatus(110) {
		f.handleSelfPresence(c, st)
		return
	}
	p := c.members[nick]
	switch st.Type {
	case "unavailable":
		if p != nil {
			f.participantLeft(c, p)
		}
	case "", "available":
		if p != nil && st.Nick != "" {
			p.displayName = st.Nick
		}
		if p == nil {
			p = &participant{nick: nick, displayName: st.Nick}
			c.members[nick] = p
			c.stopLeaveTimer()
			f.log.Info("participant joined", "room", room, "nick", nick)
			if c.joined {
				f.invite(c, p)
			}
		}
	}
}

func (f *Focus) handleSelfPresence(c *conference, st *stanza) {
	switch st.Type {
	case "error":
		f.log.Warn("room refused the focus", "room", c.room, "error", st.Error.String())
		e := newStanzaError("cancel", "service-unavailable", "focus could not join the room")
		f.failConference(c, e)
	case "unavailable":
		if c.joined || c.joining {
			f.log.Warn("focus removed from room", "room", c.room)
			f.failConference(c, newStanzaError("cancel", "service-unavailable", "focus left the room"))
		}
	default:
		if c.joined || !c.joining {
			return
		}
		f.log.Info("focus joined room", "room", c.room, "new", st.MUCUser.hasStatus(201), "affiliation", st.MUCUser.affiliation())
		if (c.opts.Password != "" || c.opts.MembersOnly || len(c.opts.Members) > 0) && st.MUCUser.affiliation() == "owner" {
			f.configureRoom(c)
			return
		}
		f.roomReady(c)
	}
}

// configureRoom submits the room's password / members-only settings and its
// member list, then declares the room ready.
func (f *Focus) configureRoom(c *conference) {
	fields := []formField{{Var: "FORM_TYPE", Values: []string{"http://jabber.org/protocol/muc#roomconfig"}}}
	if c.opts.Password != "" {
		fields = append(fields,
			formField{Var: "muc#roomconfig_passwordprotectedroom", Values: []string{"1"}},
			formField{Var: "muc#roomconfig_roomsecret", Values: []string{c.opts.Password}})
	}
	if c.opts.MembersOnly {
		fields = append(fields, formField{Var: "muc#roomconfig_membersonly", Values: []string{"1"}})
	}
	f.sendIQ(c.room, "set", &ownerQuery{Form: dataForm{Type: "submit", Fields: fields}}, func(res *stanza) {
		if err := iqFailure(res); err != nil {
			f.log.Warn("room configuration failed", "room", c.room, "err", err)
			f.failConference(c, newStanzaError("cancel", "internal-server-error", "room configuration failed"))
			return
		}
		if len(c.opts.Members) == 0 {
			f.roomReady(c)
			return
		}
		var items []mucItem
		for _, m := range c.opts.Members {
			items = append(items, mucItem{Affiliation: "member", JID: m})
		}
		f.sendIQ(c.room, "set", &adminQuery{Items: items}, func(res *stanza) {
			if err := iqFailure(res); err != nil {
				f.log.Warn("setting room members failed", "room", c.room, "err", err)
				f.failConference(c, newStanzaError("cancel", "internal-server-error", "setting room members failed"))
				return
			}
			f.roomReady(c)
		})
	})
}

// roomReady answers the waiting conference requests and invites whoever is
// already in the room.
func (f *Focus) roomReady(c *conference) {
	if f.confs[c.room] != c {
		return
	}
	c.joined = true
	for _, req := range c.waiting {
		f.replyReady(req)
	}
	c.waiting = nil
	for _, p := range c.members {
		if p.sid == "" {
			f.invite(c, p)
		}
	}
}

// invite allocates a bridge endpoint for p and offers it a session with
// everyone else's sources.
func (f *Focus) invite(c *conference, p *participant) {
	transport, err := f.cfg.Bridge.AllocateEndpoint(c.room, p.nick)
	if err != nil {
		f.log.Error("allocate bridge endpoint", "room", c.room, "nick", p.nick, "err", err)
		return
	}
	p.sid = randomID(6)
	p.bridgeSession = randomID(8)
	p.accepted = false
	sources, groups := c.sourcesFor(p)
	f.cfg.Bridge.SetReceivable(c.room, p.nick, jingle.SSRCs(sources))
	offer := jingle.SessionInitiate(jingle.Offer{
		SID:             p.sid,
		Initiator:       occupantJID(c.room, focusNick),
		Responder:       occupantJID(c.room, p.nick),
		Transport:       transport,
		Sources:         sources,
		Groups:          groups,
		BridgeSessionID: p.bridgeSession,
	})
	f.log.Info("sending session-initiate", "room", c.room, "nick", p.nick, "sid", p.sid, "sources", len(sources))
	sid := p.sid
	f.sendIQ(occupantJID(c.room, p.nick), "set", offer, func(res *stanza) {
		if err := iqFailure(res); err != nil && p.sid == sid {
			f.log.Warn("session-initiate not acknowledged", "room", c.room, "nick", p.nick, "err", err)
		}
	})
}

// forwarded is what receivers learn of p's sources: simulcast stripped, each
// source tagged with its owner.
func (c *conference) forwarded(p *participant) ([]jingle.MediaSource, []jingle.SourceGroup) {
	sources, groups := jingle.StripSimulcast(p.sources, p.groups)
	owner := occupantJID(c.room, p.nick)
	for i := range sources {
		sources[i].Owner = owner
	}
	return sources, groups
}

// sourcesFor collects everyone else's forwarded sources for receiver r.
func (c *conference) sourcesFor(r *participant) ([]jingle.MediaSource, []jingle.SourceGroup) {
	var sources []jingle.MediaSource
	var groups []jingle.SourceGroup
	for _, p := range c.sortedMembers() {
		if p == r {
			continue
		}
		s, g := c.forwarded(p)
		sources = append(sources, s...)
		groups = append(groups, g...)
	}
	return sources, groups
}

func (c *conference) sortedMembers() []*participant {
	out := make([]*participant, 0, len(c.members))
	for _, p := range c.members {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *participant) int {
		switch {
		case a.nick < b.nick:
			return -1
		case a.nick > b.nick:
			return 1
		}
		return 0
	})
	return out
}

// relaySources tells every other participant with a session about sources
// added or removed by from, and updates what the bridge forwards to them.
func (f *Focus) relaySources(c *conference, from *participant, action string, sources []jingle.MediaSource, groups []jingle.SourceGroup) {
	for _, r := range c.sortedMembers() {
		if r == from || r.sid == "" {
			continue
		}
		if len(sources) > 0 || len(groups) > 0 {
			var j *jingle.Jingle
			if action == jingle.ActionSourceAdd {
				j = jingle.SourceAdd(r.sid, occupantJID(c.room, focusNick), sources, groups)
			} else {
				j = jingle.SourceRemove(r.sid, occupantJID(c.room, focusNick), sources, groups)
			}
			nick := r.nick
			f.sendIQ(occupantJID(c.room, r.nick), "set", j, func(res *stanza) {
				if err := iqFailure(res); err != nil {
					f.log.Warn(action+" not acknowledged", "room", c.room, "nick", nick, "err", err)
				}
			})
		}
		all, _ := c.sourcesFor(r)
		f.cfg.Bridge.SetReceivable(c.room, r.nick, jingle.SSRCs(all))
	}
}

// participantLeft handles an occupant's unavailable presence.
func (f *Focus) participantLeft(c *conference, p *participant) {
	f.log.Info("participant left", "room", c.room, "nick", p.nick)
	f.endSession(c, p)
	delete(c.members, p.nick)
	f.maybeLeave(c)
}

// endSession expires p's endpoint and withdraws its sources from the others.
func (f *Focus) endSession(c *conference, p *participant) {
	if p.sid == "" {
		return
	}
	f.cfg.Bridge.ExpireEndpoint(c.room, p.nick)
	sources, groups := c.forwarded(p)
	p.sid, p.accepted, p.sources, p.groups = "", false, nil, nil
	f.relaySources(c, p, jingle.ActionSourceRemove, sources, groups)
}

// maybeLeave leaves a room without participants (after a grace period that
// lets a just-answered participant arrive).
func (f *Focus) maybeLeave(c *conference) {
	if len(c.members) > 0 || len(c.waiting) > 0 || !c.joined {
		return
	}
	leave := func() {
		if f.confs[c.room] != c || len(c.members) > 0 || len(c.waiting) > 0 {
			return
		}
		f.log.Info("leaving empty room", "room", c.room)
		f.sendLocked(&outPresence{From: f.focusJID, To: occupantJID(c.room, focusNick), Type: "unavailable"})
		delete(f.confs, c.room)
	}
	if f.leaveGrace <= 0 {
		leave()
		return
	}
	c.stopLeaveTimer()
	c.leaveTimer = time.AfterFunc(f.leaveGrace, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		leave()
	})
}

func (c *conference) stopLeaveTimer() {
	if c.leaveTimer != nil {
		c.leaveTimer.Stop()
		c.leaveTimer = nil
	}
}

// handleJingle handles a Jingle IQ from a participant.
func (f *Focus) handleJingle(st *stanza) {
	j := st.Jingle
	room, nick := splitJID(st.From)
	c := f.confs[room]
	var p *participant
	if c != nil {
		p = c.members[nick]
	}
	if p == nil || p.sid == "" || p.sid != j.SID {
		e := newStanzaError("cancel", "item-not-found", "")
		e.Extra = &errorCondition{}
		e.Extra.XMLName.Space, e.Extra.XMLName.Local = jingle.NSJingleErrors, "unknown-session"
		f.replyError(st, e)
		return
	}
	switch j.Action {
	case jingle.ActionSessionAccept:
		transport, ok := j.BundleTransport()
		if !ok {
			f.replyError(st, newStanzaError("modify", "bad-request", "session-accept without transport"))
			return
		}
		if err := f.cfg.Bridge.SetRemoteTransport(c.room, p.nick, transport); err != nil {
			f.log.Error("set remote transport", "room", c.room, "nick", p.nick, "err", err)
			f.replyError(st, newStanzaError("wait", "internal-server-error", "bridge refused the transport"))
			return
		}
		f.reply(st, nil)
		p.accepted = true
		sources, groups := j.MediaSources()
		f.log.Info("session accepted", "room", c.room, "nick", p.nick, "ssrcs", jingle.SSRCs(sources))
		f.addSources(c, p, sources, groups)
	case jingle.ActionTransportInfo:
		if cands := j.Candidates(); len(cands) > 0 {
			if err := f.cfg.Bridge.AddRemoteCandidates(c.room, p.nick, cands); err != nil {
				f.log.Warn("add remote candidates", "room", c.room, "nick", p.nick, "err", err)
			}
		}
		f.reply(st, nil)
	case jingle.ActionSourceAdd:
		f.reply(st, nil)
		sources, groups := j.MediaSources()
		f.addSources(c, p, sources, groups)
	case jingle.ActionSourceRemove:
		f.reply(st, nil)
		sources, _ := j.MediaSources()
		f.removeSources(c, p, jingle.SSRCs(sources))
	case jingle.ActionSessionInfo:
		f.reply(st, nil)
	case jingle.ActionSessionTerminate:
		f.reply(st, nil)
		restart := j.BridgeSession != nil && j.BridgeSession.Restart == "true"
		f.log.Info("session terminated by participant", "room", c.room, "nick", p.nick, "restart", restart)
		f.endSession(c, p)
		if restart {
			f.invite(c, p)
		}
	default:
		f.replyError(st, newStanzaError("cancel", "feature-not-implemented", "unsupported jingle action "+j.Action))
	}
}

// addSources records new sources of p and announces them.
func (f *Focus) addSources(c *conference, p *participant, sources []jingle.MediaSource, groups []jingle.SourceGroup) {
	var added []jingle.MediaSource
	for _, s := range sources {
		if !slices.ContainsFunc(p.sources, func(o jingle.MediaSource) bool { return o.SSRC == s.SSRC }) {
			added = append(added, s)
		}
	}
	if len(added) == 0 && len(groups) == 0 {
		return
	}
	before, beforeGroups := c.forwarded(p)
	p.sources = append(p.sources, added...)
	p.groups = append(p.groups, groups...)
	f.cfg.Bridge.SetSources(c.room, p.nick, jingle.SSRCs(p.sources))
	after, afterGroups := c.forwarded(p)
	f.relaySources(c, p, jingle.ActionSourceAdd, newSources(before, after), newGroups(beforeGroups, afterGroups))
}

// removeSources forgets sources of p (and groups that used them) and
// withdraws them from the others.
func (f *Focus) removeSources(c *conference, p *participant, ssrcs []uint32) {
	before, beforeGroups := c.forwarded(p)
	p.sources = without(p.sources, ssrcs)
	p.groups = slices.DeleteFunc(p.groups, func(g jingle.SourceGroup) bool {
		return slices.ContainsFunc(g.SSRCs, func(s uint32) bool { return slices.Contains(ssrcs, s) })
	})
	f.cfg.Bridge.SetSources(c.room, p.nick, jingle.SSRCs(p.sources))
	after, afterGroups := c.forwarded(p)
	f.relaySources(c, p, jingle.ActionSourceRemove, newSources(after, before), newGroups(afterGroups, beforeGroups))
}

// newSources lists the sources in b that are not in a.
func newSources(a, b []jingle.MediaSource) []jingle.MediaSource {
	var out []jingle.MediaSource
	for _, s := range b {
		if !slices.ContainsFunc(a, func(o jingle.MediaSource) bool { return o.SSRC == s.SSRC }) {
			out = append(out, s)
		}
	}
	return out
}

// newGroups lists the groups in b that are not in a.
func newGroups(a, b []jingle.SourceGroup) []jingle.SourceGroup {
	var out []jingle.SourceGroup
	for _, g := range b {
		if !slices.ContainsFunc(a, func(o jingle.SourceGroup) bool {
			return o.Semantics == g.Semantics && slices.Equal(o.SSRCs, g.SSRCs)
		}) {
			out = append(out, g)
		}
	}
	return out
}
