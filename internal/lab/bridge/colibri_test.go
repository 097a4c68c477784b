package bridge

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
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
