package participants_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/lab"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/participants"
)

// TestParticipantsRejoinAfterProsodyRestarts: the lab's participants come
// back by themselves after the XMPP server restarted mid-meeting, as the
// Jitsi Meet web app does (lab-client.js reconnects on a lost connection),
// and then see and hear each other again.
func TestParticipantsRejoinAfterProsodyRestarts(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	l, err := lab.Start(ctx, lab.Config{Room: "rejoin", Participants: 2, Logger: log})
	if err != nil {
		t.Fatalf("start lab: %v", err)
	}
	defer l.Close()

	before := endpointIDs(t, ctx, l.Group)
	restarted := time.Now()
	if err := l.Prosody.Restart(ctx); err != nil {
		t.Fatalf("restart prosody: %v", err)
	}

	// Each participant rejoins: it gets a new endpoint id in the new room.
	deadline := time.Now().Add(60 * time.Second)
	for {
		now := endpointIDs(t, ctx, l.Group)
		rejoined := 0
		for i, id := range now {
			if id != "" && id != before[i] {
				rejoined++
			}
		}
		if rejoined == len(before) {
			t.Logf("both rejoined %.1f s after the restart began: %v -> %v", time.Since(restarted).Seconds(), before, now)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every participant rejoined within 60 s: endpoint ids %v -> %v", before, now)
		}
		time.Sleep(500 * time.Millisecond)
	}

	res, err := lab.RunCheck(ctx, l, 10*time.Second, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range res.Lines {
		t.Log(line)
	}
	if !res.OK {
		if reps, err := l.Group.Reports(ctx); err == nil {
			for _, r := range reps {
				t.Logf("report %d: self %+v", r.Index, r.Self)
				for id, rem := range r.Remotes {
					t.Logf("  remote %s: %+v", id, rem)
				}
			}
		}
		for _, c := range l.Focus.Conferences() {
			t.Logf("focus: %+v", c)
		}
		for cid, c := range l.Bridge.Stats().Conferences {
			for eid, e := range c.Endpoints {
				t.Logf("bridge %s %s: ice %s dtls %v sources %v receivable %v received %v forwarded %v", cid, eid, e.ICEState, e.DTLSDone, e.Sources, e.Receivable, e.Received, e.Forwarded)
			}
		}
		t.Error("after rejoining, the participants do not all see and hear each other")
	}
}

func endpointIDs(t *testing.T, ctx context.Context, g *participants.Group) []string {
	t.Helper()
	reports, err := g.Reports(ctx)
	if err != nil {
		t.Logf("reports: %v", err)
	}
	ids := make([]string, len(g.Present()))
	for _, r := range reports {
		if r.Present && r.Index < len(ids) && r.Self.Joined {
			ids[r.Index] = r.Self.EndpointID
		}
	}
	return ids
}
