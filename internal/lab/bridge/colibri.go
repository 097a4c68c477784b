package bridge

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
)

const (
	colibriWriteTimeout = 5 * time.Second
	colibriReadLimit    = 1 << 20
)

// ColibriHandler serves the Colibri bridge channel at
// /colibri-ws/<bridgeID>/<confID>/<endpointID>?pwd=<pwd>. It accepts the path
// with or without the /colibri-ws/ prefix, so it can be mounted either way.
func (b *Bridge) ColibriHandler() http.Handler {
	return http.HandlerFunc(b.serveColibri)
}

func (b *Bridge) serveColibri(w http.ResponseWriter, r *http.Request) {
	bridgeID, confID, endpointID, ok := parseColibriPath(r.URL)
	if !ok || bridgeID != b.id {
		http.NotFound(w, r)
		return
	}
	b.mu.RLock()
	ep := b.lookupLocked(confID, endpointID)
	b.mu.RUnlock()
	if ep == nil {
		http.NotFound(w, r)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("pwd")), []byte(ep.wsPwd)) != 1 {
		http.Error(w, "bad pwd", http.StatusForbidden)
		return
	}
	// The page comes from the lab's web front on another port; all of it is loopback.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		ep.log.Debug("colibri accept", "err", err)
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(colibriReadLimit)

	b.mu.Lock()
	if ep.expired {
		b.mu.Unlock()
		return
	}
	old := ep.ws
	ep.ws = c
	b.mu.Unlock()
	if old != nil {
		_ = old.CloseNow() // a reconnect replaces the previous channel
	}
	defer func() {
		b.mu.Lock()
		if ep.ws == c {
			ep.ws = nil
		}
		b.mu.Unlock()
	}()
	ep.log.Info("colibri channel connected")

	ctx := r.Context()
	if err := writeJSON(ctx, c, map[string]string{"colibriClass": "ServerHello"}); err != nil {
		ep.log.Debug("colibri hello", "err", err)
		return
	}
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			ep.log.Debug("colibri channel closed", "err", err)
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		b.handleColibriMessage(ctx, ep, data)
	}
}

func (b *Bridge) handleColibriMessage(ctx context.Context, from *endpoint, data []byte) {
	var msg map[string]json.RawMessage
	if err := json.Unmarshal(data, &msg); err != nil {
		from.log.Debug("colibri: bad message", "err", err)
		return
	}
	var class string
	_ = json.Unmarshal(msg["colibriClass"], &class)
	switch class {
	case "EndpointMessage":
	case "LastNChangedEvent", "ReceiverVideoConstraints":
		// lib-jitsi-meet's setLastN: LastNChangedEvent with the old bandwidth
		// allocation, ReceiverVideoConstraints (lastN optional) with the new.
		var lastN *int32
		if raw, ok := msg["lastN"]; ok && json.Unmarshal(raw, &lastN) == nil && lastN != nil {
			b.setLastN(from, *lastN)
		}
		return
	default:
		from.log.Debug("colibri: ignore message", "class", class)
		return
	}
	var to string
	_ = json.Unmarshal(msg["to"], &to)
	fromJSON, _ := json.Marshal(from.id)
	msg["from"] = fromJSON
	out, err := json.Marshal(msg)
	if err != nil {
		from.log.Debug("colibri: encode", "err", err)
		return
	}
	for _, c := range b.channelsFor(from, to) {
		if err := writeRaw(ctx, c, out); err != nil {
			from.log.Debug("colibri: relay", "to", to, "err", err)
		}
	}
}

// setLastN records how many video streams ep wants. Like the videobridge,
// lastN 0 stops its video (audio and RTCP still flow); the lab forwards all
// video for any other value, as it has no speaker ranking. Video turned back
// on gets key frame requests, so it starts at once.
func (b *Bridge) setLastN(ep *endpoint, n int32) {
	old := ep.lastN.Swap(n)
	if old == n {
		return
	}
	ep.log.Info("colibri: lastN changed", "lastN", n, "was", old, "video_forwarded", n != 0)
	if old == 0 {
		b.mu.RLock()
		ssrcs := sortedKeys(ep.receivable)
		sess := ep.sess
		b.mu.RUnlock()
		if sess != nil && sess.ready() {
			b.requestKeyFrames(ep, ssrcs)
		}
	}
}

// channelsFor returns the bridge channels of endpoint to, or of every other
// endpoint of the conference when to is empty.
func (b *Bridge) channelsFor(from *endpoint, to string) []*websocket.Conn {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []*websocket.Conn
	for id, ep := range from.conf.endpoints {
		if ep == from || ep.ws == nil || (to != "" && id != to) {
			continue
		}
		out = append(out, ep.ws)
	}
	return out
}

func writeJSON(ctx context.Context, c *websocket.Conn, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeRaw(ctx, c, data)
}

func writeRaw(ctx context.Context, c *websocket.Conn, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, colibriWriteTimeout)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, data)
}

// parseColibriPath extracts bridge, conference and endpoint ids from
// [/colibri-ws]/<bridge>/<conf>/<endpoint>.
func parseColibriPath(u *url.URL) (bridgeID, confID, endpointID string, ok bool) {
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	for i, s := range segs {
		if s == "colibri-ws" {
			segs = segs[i+1:]
			break
		}
	}
	if len(segs) != 3 {
		return "", "", "", false
	}
	var err error
	ids := make([]string, 3)
	for i, s := range segs {
		if ids[i], err = url.PathUnescape(s); err != nil || ids[i] == "" {
			return "", "", "", false
		}
	}
	return ids[0], ids[1], ids[2], true
}
