package focus

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeComponentServer accepts component streams like Prosody's component
// port: stream header with an id, then checks the handshake digest.
type fakeComponentServer struct {
	ln     net.Listener
	secret string
}

func newFakeComponentServer(t *testing.T, secret string) *fakeComponentServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return &fakeComponentServer{ln: ln, secret: secret}
}

// accept serves one handshake and returns the connection and reader, or an
// error if the digest was wrong (after rejecting it).
func (s *fakeComponentServer) accept(streamID string) (net.Conn, *bufio.Reader, error) {
	conn, err := s.ln.Accept()
	if err != nil {
		return nil, nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	if _, err := r.ReadString('>'); err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(conn, "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='%s' from='focus.localhost'>", streamID)
	hs, err := r.ReadString('/') // "<handshake>digest</"
	if err != nil {
		return nil, nil, err
	}
	if _, err := r.ReadString('>'); err != nil {
		return nil, nil, err
	}
	sum := sha1.Sum([]byte(streamID + s.secret))
	if !strings.Contains(hs, hex.EncodeToString(sum[:])) {
		fmt.Fprint(conn, "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>")
		conn.Close()
		return nil, nil, errors.New("bad digest")
	}
	fmt.Fprint(conn, "<handshake/>")
	return conn, r, nil
}

func TestFocusReconnectsAfterStreamDrops(t *testing.T) {
	srv := newFakeComponentServer(t, "right")
	f := New(Config{ComponentAddr: srv.ln.Addr().String(), Domain: "localhost", Secret: "right",
		Bridge: newFakeBridge(), Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	conn, _, err := srv.accept("first")
	if err != nil {
		t.Fatalf("first handshake: %v", err)
	}
	conn.Close() // the server goes away mid-stream

	conn, r, err := srv.accept("second")
	if err != nil {
		t.Fatalf("handshake after reconnect: %v", err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "<iq type='get' id='ping1' from='localhost' to='focus.localhost'><ping xmlns='urn:xmpp:ping'/></iq>")
	reply, err := r.ReadString('>')
	if err != nil || !strings.Contains(reply, `id="ping1"`) || !strings.Contains(reply, `type="result"`) {
		t.Fatalf("ping reply %q, %v", reply, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}

func TestWrongSecretFailsWithoutRetrying(t *testing.T) {
	srv := newFakeComponentServer(t, "right")
	f := New(Config{ComponentAddr: srv.ln.Addr().String(), Domain: "localhost", Secret: "wrong",
		Bridge: newFakeBridge(), Logger: slog.New(slog.DiscardHandler)})
	done := make(chan error, 1)
	go func() { done <- f.Run(context.Background()) }()
	if _, _, err := srv.accept("id1"); err == nil {
		t.Fatal("wrong secret accepted")
	}
	select {
	case err := <-done:
		if !errors.Is(err, errRejected) || !strings.Contains(err.Error(), "not-authorized") {
			t.Errorf("Run = %v, want a rejected handshake", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run kept retrying a rejected handshake")
	}
}
