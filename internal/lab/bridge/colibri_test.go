package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/rtcp"
)

func readColibri(t *testing.T, ctx context.Context, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read colibri message: %v", err)
	}
	var msg map[string]any
	if err := json.Unmarshal(data, &msg); err != nil {
		t.Fatalf("colibri message %q: %v", data, err)
	}
	return msg
}

func writeColibri(t *testing.T, ctx context.Context, c *websocket.Conn, msg string) {
	t.Helper()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write colibri message: %v", err)
	}
}

func TestColibriChannelGreetsAndRelaysEndpointMessages(t *testing.T) {
	b, err := New(Config{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mux := http.NewServeMux()
	mux.Handle("/colibri-ws/", b.ColibriHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	b.SetColibriBase("ws://" + srv.Listener.Addr().String())

	ctx := context.Background()
	conns := map[string]*websocket.Conn{}
	for _, id := range []string{"A", "B", "C"} {
		tr, err := b.AllocateEndpoint(testConf, id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tr.WebSocketURL, "ws://127.0.0.1:") || !strings.Contains(tr.WebSocketURL, "/colibri-ws/jvb/") {
			t.Fatalf("WebSocketURL %q", tr.WebSocketURL)
		}
		c, _, err := websocket.Dial(ctx, tr.WebSocketURL, nil)
		if err != nil {
			t.Fatalf("dial %s: %v", id, err)
		}
		defer c.CloseNow()
		conns[id] = c
		if hello := readColibri(t, ctx, c); hello["colibriClass"] != "ServerHello" {
			t.Fatalf("%s greeted with %v", id, hello)
		}
	}
	waitFor(t, "channels registered", func() bool {
		for _, es := range b.Stats().Conferences[testConf].Endpoints {
			if !es.WebSocket {
				return false
			}
		}
		return true
	})

	// Messages the bridge only notes must not reach anyone.
	writeColibri(t, ctx, conns["A"], `{"colibriClass":"ReceiverVideoConstraints","lastN":-1}`)
	writeColibri(t, ctx, conns["A"], `{"colibriClass":"EndpointStats","bitrate":{}}`)

	writeColibri(t, ctx, conns["A"], `{"colibriClass":"EndpointMessage","to":"B","msgPayload":{"type":"hello","n":1}}`)
	msg := readColibri(t, ctx, conns["B"])
	if msg["colibriClass"] != "EndpointMessage" || msg["from"] != "A" || msg["to"] != "B" {
		t.Fatalf("B got %v", msg)
	}
	if payload, _ := msg["msgPayload"].(map[string]any); payload["type"] != "hello" {
		t.Fatalf("payload lost: %v", msg)
	}

	writeColibri(t, ctx, conns["B"], `{"colibriClass":"EndpointMessage","to":"","msgPayload":{"type":"all"}}`)
	for _, id := range []string{"A", "C"} {
		msg := readColibri(t, ctx, conns[id])
		if msg["colibriClass"] != "EndpointMessage" || msg["from"] != "B" {
			t.Fatalf("%s got %v, want broadcast from B", id, msg)
		}
	}
	// B must not hear its own broadcast, and C nothing meant for B.
	quiet, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, data, err := conns["B"].Read(quiet); err == nil {
		t.Fatalf("B got unexpected %s", data)
	}

	// Expiry closes the endpoint's channel.
	b.ExpireEndpoint(testConf, "C")
	closed, cancel2 := context.WithTimeout(ctx, 3*time.Second)
	defer cancel2()
	if _, _, err := conns["C"].Read(closed); err == nil || closed.Err() != nil {
		t.Fatalf("C's channel not closed on expiry: %v", err)
	}
}

func TestColibriChannelRefusesWrongPasswordAndUnknownEndpoint(t *testing.T) {
	b, err := New(Config{Logger: testLogger(), ID: "jvb1"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := httptest.NewServer(http.StripPrefix("/colibri-ws", b.ColibriHandler()))
	defer srv.Close()
	b.SetColibriBase("ws://" + srv.Listener.Addr().String())
	tr, err := b.AllocateEndpoint(testConf, "A")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(tr.WebSocketURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()

	bad := *u
	bad.RawQuery = "pwd=wrong"
	if _, resp, err := websocket.Dial(ctx, bad.String(), nil); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong pwd: err=%v resp=%v", err, resp)
	}
	unknown := *u
	unknown.Path = strings.Replace(u.Path, "/A", "/Z", 1)
	unknown.RawPath = ""
	if _, resp, err := websocket.Dial(ctx, unknown.String(), nil); err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown endpoint: err=%v resp=%v", err, resp)
	}
	// The handler also works with the /colibri-ws prefix stripped by the mount.
	c, _, err := websocket.Dial(ctx, u.String(), nil)
	if err != nil {
		t.Fatalf("good pwd: %v", err)
	}
	defer c.CloseNow()
	if hello := readColibri(t, ctx, c); hello["colibriClass"] != "ServerHello" {
		t.Fatalf("greeted with %v", hello)
	}
}

func TestParseColibriPath(t *testing.T) {
	for path, want := range map[string][3]string{
		"/colibri-ws/jvb/room%40conference.localhost/abcd": {"jvb", "room@conference.localhost", "abcd"},
		"/jvb/c1/e1":                    {"jvb", "c1", "e1"},
		"/prefix/colibri-ws/jvb/c1/e1/": {"jvb", "c1", "e1"},
	} {
		u, err := url.Parse("ws://127.0.0.1" + path)
		if err != nil {
			t.Fatal(err)
		}
		b, c, e, ok := parseColibriPath(u)
		if !ok || [3]string{b, c, e} != want {
			t.Errorf("%s: got %q %q %q %v", path, b, c, e, ok)
		}
	}
	u, _ := url.Parse("ws://127.0.0.1/colibri-ws/jvb/c1")
	if _, _, _, ok := parseColibriPath(u); ok {
		t.Error("short path accepted")
	}
}

func TestLastNZeroStopsVideoToThatEndpointOnly(t *testing.T) {
	b, err := New(Config{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mux := http.NewServeMux()
	mux.Handle("/colibri-ws/", b.ColibriHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	b.SetColibriBase("ws://" + srv.Listener.Addr().String())

	// A sends; B is a send-only participant; C (like the recorder) wants all.
	a, bp, c := newTestPeer(t, "A"), newTestPeer(t, "B"), newTestPeer(t, "C")
	a.connect(b)
	bt := bp.connect(b)
	c.connect(b)
	waitReady(t, b, a, bp, c)
	const video, audio = 0x0000a1de, 0x0000a0d1
	b.SetSources(testConf, "A", []uint32{video, audio})
	b.SetReceivable(testConf, "B", []uint32{video, audio})
	b.SetReceivable(testConf, "C", []uint32{video, audio})

	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, bt.WebSocketURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	readColibri(t, ctx, ws) // ServerHello
	lastN := func() int { return b.Stats().Conferences[testConf].Endpoints["B"].LastN }
	if lastN() != -1 {
		t.Fatalf("lastN before any message %d, want -1", lastN())
	}
	// The 2021 lib's setLastN(0) with its default (new) bandwidth allocation.
	writeColibri(t, ctx, ws, `{"colibriClass":"ReceiverVideoConstraints","lastN":0,"defaultConstraints":{"maxHeight":180},"constraints":{}}`)
	waitFor(t, "lastN 0", func() bool { return lastN() == 0 })

	t.Run("video reaches C but not B", func(t *testing.T) {
		for seq := uint16(1); seq <= 5; seq++ {
			sent := a.sendRTPType(video, videoPayloadType, seq, bytes.Repeat([]byte{1}, 100))
			c.expectRTP(sent)
		}
		bp.expectNoRTP(300 * time.Millisecond)
	})
	t.Run("audio and sender reports still reach B", func(t *testing.T) {
		sent := a.sendRTPType(audio, 111, 1, []byte{2, 3})
		bp.expectRTP(sent)
		c.expectRTP(sent)
		a.sendRTCP(&rtcp.SenderReport{SSRC: video, RTPTime: 9000, PacketCount: 5})
		bp.expectRTCP("SR of the video", func(p rtcp.Packet) bool {
			sr, ok := p.(*rtcp.SenderReport)
			return ok && sr.SSRC == video
		})
	})
	t.Run("constraints without lastN keep it", func(t *testing.T) {
		writeColibri(t, ctx, ws, `{"colibriClass":"ReceiverVideoConstraints","defaultConstraints":{"maxHeight":360}}`)
		writeColibri(t, ctx, ws, `{"colibriClass":"EndpointStats"}`) // read after the one above
		time.Sleep(100 * time.Millisecond)
		if lastN() != 0 {
			t.Fatalf("lastN %d after constraints without it, want 0", lastN())
		}
	})
	t.Run("lastN back to all asks for a key frame and forwards video again", func(t *testing.T) {
		for len(a.rtcp) > 0 {
			<-a.rtcp // the PLIs of the subscriptions
		}
		// The old allocation's message.
		writeColibri(t, ctx, ws, `{"colibriClass":"LastNChangedEvent","lastN":-1}`)
		a.expectRTCP("PLI for B", func(p rtcp.Packet) bool {
			pli, ok := p.(*rtcp.PictureLossIndication)
			return ok && pli.MediaSSRC == video
		})
		waitFor(t, "lastN -1", func() bool { return lastN() == -1 })
		sent := a.sendRTPType(video, videoPayloadType, 6, []byte{4})
		bp.expectRTP(sent)
	})
}
