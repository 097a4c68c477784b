// Package lab runs a Jitsi-compatible meeting on loopback, built from real
// parts: Debian's Prosody, a focus stand-in (Jicofo's role), a pion bridge
// stand-in (the videobridge's role), a web front shaped like a deployment,
// and optional synthetic participants that send known media.
package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jitsi-recorder/jitsi-recorder/internal/browser"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/bridge"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/focus"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/media"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/participants"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/prosody"
	"github.com/jitsi-recorder/jitsi-recorder/internal/lab/web"
)

// Config says what meeting to run.
type Config struct {
	// Domain is the XMPP domain (default "localhost").
	Domain string
	// Room is the meeting's room name (default "demo").
	Room string
	// Participants is how many synthetic participants join at start.
	Participants int
	// Spec is the media they send; default media.NewSpec(Participants).
	// It may describe more participants than join at start (late joiners).
	Spec *media.Spec
	// Rooms sets per-room options (password, members-only).
	Rooms map[string]focus.RoomOptions
	// LibDir holds lib-jitsi-meet and jQuery; default web.FindLibDir().
	LibDir string
	// WebAddr is the web front's listen address (default 127.0.0.1:0).
	WebAddr string
	Logger  *slog.Logger
	// SendOnly makes the synthetic participants send without receiving
	// others' video or measuring what they receive: enough while the lab
	// serves a recording, and far cheaper. Check needs it off.
	SendOnly bool
	// ParticipantsNice is the participants' browser's nice value (0..19,
	// checked by participants.Start), 0 for the default priority. On a
	// small machine the lab's senders share the cores with the recorder
	// under test: at equal priority a recorder starved by its own test
	// meeting measures the lab, while a deployed recorder has its CPU (or
	// its quota) to itself.
	ParticipantsNice int
}

// RecorderFirstNice is the participants' nice value when a recorder under
// test shares the machine with them: the recorder has the cores first.
const RecorderFirstNice = 10

// Lab is a running meeting. Close stops everything it started.
type Lab struct {
	cfg     Config
	log     *slog.Logger
	Prosody *prosody.Server
	Bridge  *bridge.Bridge
	Focus   *focus.Focus
	Web     *web.Server
	Group   *participants.Group // nil when no participants were asked for
	Spec    media.Spec

	stopFocus context.CancelFunc
	focusDone chan error
	closeOnce sync.Once
}

// Start brings the lab up: Prosody, bridge, focus, web front, then the
// participants. On error everything already started is stopped.
func Start(ctx context.Context, cfg Config) (l *Lab, err error) {
	if cfg.Domain == "" {
		cfg.Domain = "localhost"
	}
	if cfg.Room == "" {
		cfg.Room = "demo"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	spec := media.NewSpec(cfg.Participants)
	if cfg.Spec != nil {
		spec = *cfg.Spec
	}
	if cfg.Participants > len(spec.Participants) {
		return nil, fmt.Errorf("lab: %d participants asked for, spec describes %d", cfg.Participants, len(spec.Participants))
	}
	if cfg.LibDir == "" {
		dir, err := web.FindLibDir()
		if err != nil {
			return nil, err
		}
		cfg.LibDir = dir
	}
	l = &Lab{cfg: cfg, log: cfg.Logger, Spec: spec}
	defer func() {
		if err != nil {
			l.Close()
			l = nil
		}
	}()

	l.Prosody, err = prosody.Start(ctx, prosody.Config{Domain: cfg.Domain, Logger: cfg.Logger.With("part", "prosody")})
	if err != nil {
		return nil, fmt.Errorf("lab: start prosody: %w", err)
	}
	l.Bridge, err = bridge.New(bridge.Config{Logger: cfg.Logger.With("part", "bridge")})
	if err != nil {
		return nil, fmt.Errorf("lab: start bridge: %w", err)
	}
	l.Web, err = web.Start(web.Config{
		Addr:        cfg.WebAddr,
		Domain:      cfg.Domain,
		ProsodyHTTP: l.Prosody.HTTPAddr(),
		LibDir:      cfg.LibDir,
		Assets:      participants.Assets(),
		Colibri:     l.Bridge.ColibriHandler(),
		Spec:        spec,
		Logger:      cfg.Logger.With("part", "web"),
	})
	if err != nil {
		return nil, fmt.Errorf("lab: start web front: %w", err)
	}
	u, _ := url.Parse(l.Web.URL())
	l.Bridge.SetColibriBase("ws://" + u.Host)

	l.Focus = focus.New(focus.Config{
		ComponentAddr: l.Prosody.ComponentAddr(),
		Domain:        cfg.Domain,
		Secret:        l.Prosody.ComponentSecret(),
		Bridge:        l.Bridge,
		Rooms:         cfg.Rooms,
		Logger:        cfg.Logger.With("part", "focus"),
	})
	focusCtx, stopFocus := context.WithCancel(context.WithoutCancel(ctx))
	l.stopFocus = stopFocus
	l.focusDone = make(chan error, 1)
	go func() { l.focusDone <- l.Focus.Run(focusCtx) }()
	// Participants joining before the focus is connected get their
	// conference request bounced and wait out the lib's retry backoff.
	waitCtx, cancelWait := context.WithTimeout(ctx, 20*time.Second)
	err = l.Focus.WaitConnected(waitCtx)
	cancelWait()
	if err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}

	if cfg.Participants > 0 {
		var password string
		if o, ok := cfg.Rooms[cfg.Room]; ok {
			password = o.Password
		}
		l.Group, err = participants.Start(ctx, participants.Config{
			BaseURL:     l.Web.URL(),
			Room:        cfg.Room,
			Password:    password,
			Spec:        spec,
			JoinAtStart: cfg.Participants,
			SendOnly:    cfg.SendOnly,
			Nice:        cfg.ParticipantsNice,
			Logger:      cfg.Logger.With("part", "participants"),
			Browser:     browser.Options{FakeMedia: true, Logger: cfg.Logger.With("part", "participants-browser")},
		})
		if err != nil {
			return nil, fmt.Errorf("lab: start participants: %w", err)
		}
	}
	l.log.Info("lab up", "meeting", l.MeetingURL(cfg.Room), "participants", cfg.Participants)
	return l, nil
}

// MeetingURL is the URL a person (or the recorder) opens to join room.
func (l *Lab) MeetingURL(room string) string { return l.Web.URL() + "/" + room }

// BridgePorts are the bridge's UDP ports of the link to the occupant of
// room whose display name (or MUC nick) is who: a fault test cuts that
// link alone, leaving the others' media flowing.
func (l *Lab) BridgePorts(room, who string) ([]int, error) {
	roomJID := strings.ToLower(room) + "@" + l.Prosody.MUCDomain()
	nick := ""
	for _, c := range l.Focus.Conferences() {
		if c.Room != roomJID {
			continue
		}
		for _, p := range c.Participants {
			if p.Nick == who || (nick == "" && p.DisplayName == who) {
				nick = p.Nick
			}
		}
	}
	if nick == "" {
		return nil, fmt.Errorf("lab: no occupant %q in %s", who, roomJID)
	}
	ep, ok := l.Bridge.Stats().Conferences[roomJID].Endpoints[nick]
	if !ok || len(ep.LocalPorts) == 0 {
		return nil, fmt.Errorf("lab: occupant %q (%s) of %s has no bridge endpoint", who, nick, roomJID)
	}
	return ep.LocalPorts, nil
}

// Close stops the participants, the focus, the web front, the bridge and
// Prosody, in that order. It is safe to call more than once, and on a nil
// Lab (what a failed Start returns).
func (l *Lab) Close() error {
	if l == nil {
		return nil
	}
	var errs []error
	l.closeOnce.Do(func() {
		if l.Group != nil {
			errs = append(errs, l.Group.Close())
		}
		if l.stopFocus != nil {
			l.stopFocus()
			select {
			case <-l.focusDone:
			case <-time.After(5 * time.Second):
				errs = append(errs, errors.New("lab: focus did not stop within 5s"))
			}
		}
		if l.Web != nil {
			errs = append(errs, l.Web.Close())
		}
		if l.Bridge != nil {
			errs = append(errs, l.Bridge.Close())
		}
		if l.Prosody != nil {
			errs = append(errs, l.Prosody.Stop())
		}
	})
	return errors.Join(errs...)
}
