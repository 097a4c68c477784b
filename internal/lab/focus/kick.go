package focus

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Kick removes an occupant from room as a moderator does in Jitsi Meet: the
// focus (the room's owner) sets the occupant's role to none with a MUC
// admin IQ, and Prosody sends the occupant an unavailable presence with
// status 307 (kicked). room is the room's local name or bare JID; who is
// the occupant's MUC nick or its display name. It returns once Prosody has
// answered the IQ.
func (f *Focus) Kick(ctx context.Context, room, who string) error {
	if !strings.Contains(room, "@") {
		room = strings.ToLower(room) + "@" + f.mucDomain
	}
	done := make(chan error, 1)
	f.mu.Lock()
	c := f.confs[room]
	if c == nil || !c.joined {
		f.mu.Unlock()
		return fmt.Errorf("kick %q from %s: the focus is not in that room", who, room)
	}
	nick := ""
	for _, p := range c.sortedMembers() {
		if p.nick == who || (nick == "" && p.displayName == who) {
			nick = p.nick
		}
	}
	if nick == "" {
		f.mu.Unlock()
		return fmt.Errorf("kick %q from %s: no such occupant", who, room)
	}
	f.log.Info("kicking occupant", "room", room, "nick", nick, "who", who)
	f.sendIQ(room, "set", &adminQuery{Items: []mucItem{{Nick: nick, Role: "none", Reason: "kicked by the lab"}}}, func(res *stanza) {
		done <- iqFailure(res)
	})
	f.mu.Unlock()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("kick %s from %s: %w", nick, room, err)
		}
		return nil
	case <-ctx.Done():
		return errors.Join(fmt.Errorf("kick %s from %s: no answer", nick, room), ctx.Err())
	}
}
