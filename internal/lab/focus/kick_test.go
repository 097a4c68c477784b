package focus

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestKickRemovesTheOccupantNamedByDisplayName: the focus kicks an occupant
// named by its display name; Prosody tells it with status 307 and the
// others see it leave; an unknown name is an error.
func TestKickRemovesTheOccupantNamedByDisplayName(t *testing.T) {
	if testing.Short() {
		t.Skip("starts prosody")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	p := startProsody(t)
	f := New(Config{
		ComponentAddr: "127.0.0.1:" + strconv.Itoa(p.componentPort),
		Domain:        p.domain,
		Secret:        p.secret,
		Bridge:        newFakeBridge(),
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	runCtx, stopFocus := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- f.Run(runCtx) }()
	defer func() { stopFocus(); <-runDone }()
	// A client asking before the component stream is up gets "Component
	// unavailable" from Prosody.
	if err := f.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}

	const room = "kickroom@conference.localhost"
	wsURL := "ws://127.0.0.1:" + strconv.Itoa(p.httpPort) + "/xmpp-websocket"
	join := func(name, display string) *wsClient {
		c := dialClient(ctx, t, name, wsURL)
		c.requestConference(ctx, room)
		c.send(ctx, `<presence xmlns="jabber:client" to="`+room+`/`+name+`"><x xmlns="http://jabber.org/protocol/muc"/><nick xmlns="http://jabber.org/protocol/nick">`+display+`</nick></presence>`)
		c.waitFor(ctx, name+" joined", func(s *clientStanza) bool {
			return s.XMLName.Local == "presence" && s.From == room+"/"+name && s.Type == ""
		})
		return c
	}
	alice := join("a1b2c3d4", "Alice")
	bob := join("e5f6a7b8", "Recorder")

	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		infos := f.Conferences()
		if len(infos) == 1 && len(infos[0].Participants) == 2 && infos[0].Participants[1].DisplayName == "Recorder" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("focus does not know both display names: %+v", infos)
		}
	}

	if err := f.Kick(ctx, "kickroom", "Nobody"); err == nil {
		t.Error("kicking an unknown occupant succeeded")
	}
	if err := f.Kick(ctx, "kickroom", "Recorder"); err != nil {
		t.Fatalf("kick: %v", err)
	}
	kicked := bob.waitFor(ctx, "own unavailable presence", func(s *clientStanza) bool {
		return s.XMLName.Local == "presence" && s.From == room+"/e5f6a7b8" && s.Type == "unavailable"
	})
	if !kicked.MUCUser.hasStatus(307) {
		t.Errorf("kicked occupant's presence lacks status 307: %s", kicked.raw)
	}
	alice.waitFor(ctx, "the kicked occupant leaving", func(s *clientStanza) bool {
		return s.XMLName.Local == "presence" && s.From == room+"/e5f6a7b8" && s.Type == "unavailable"
	})
	if infos := f.Conferences(); len(infos) != 1 || len(infos[0].Participants) != 1 || infos[0].Participants[0].DisplayName != "Alice" {
		t.Errorf("after the kick the focus serves %+v, want Alice alone", infos)
	}
}
