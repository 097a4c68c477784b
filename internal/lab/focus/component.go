package focus

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

const (
	nsComponent = "jabber:component:accept"
	nsStreams   = "http://etherx.jabber.org/streams"
)

// errRejected marks a handshake the server refused (wrong secret or domain):
// retrying cannot help.
var errRejected = errors.New("component handshake rejected")

// componentConn is an XEP-0114 external component stream: after the
// handshake, each top-level element is one stanza.
type componentConn struct {
	conn net.Conn
	dec  *xml.Decoder

	writeMu sync.Mutex
}

// dialComponent connects to the server's component port and authenticates
// with hex(sha1(streamID + secret)).
func dialComponent(ctx context.Context, addr, domain, secret string) (*componentConn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial component port %s: %w", addr, err)
	}
	c := &componentConn{conn: conn, dec: xml.NewDecoder(conn)}
	if err := c.handshake(domain, secret); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func (c *componentConn) handshake(domain, secret string) error {
	_ = c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.conn.SetDeadline(time.Time{})

	header := fmt.Sprintf("<stream:stream xmlns='%s' xmlns:stream='%s' to='%s'>", nsComponent, nsStreams, xmlEscape(domain))
	if _, err := io.WriteString(c.conn, header); err != nil {
		return fmt.Errorf("send stream header: %w", err)
	}
	start, err := c.nextStart()
	if err != nil {
		return fmt.Errorf("read stream header: %w", err)
	}
	if start.Name.Local != "stream" {
		return fmt.Errorf("unexpected <%s> instead of stream header", start.Name.Local)
	}
	var streamID string
	for _, a := range start.Attr {
		if a.Name.Local == "id" {
			streamID = a.Value
		}
	}
	if streamID == "" {
		return errors.New("stream header without id")
	}
	sum := sha1.Sum([]byte(streamID + secret))
	if _, err := io.WriteString(c.conn, "<handshake>"+hex.EncodeToString(sum[:])+"</handshake>"); err != nil {
		return fmt.Errorf("send handshake: %w", err)
	}
	reply, err := c.nextStart()
	if err != nil {
		return fmt.Errorf("read handshake reply: %w", err)
	}
	switch reply.Name.Local {
	case "handshake":
		return c.dec.Skip()
	case "error":
		var se streamError
		_ = c.dec.DecodeElement(&se, &reply)
		return fmt.Errorf("%w for %s: %s", errRejected, domain, se)
	default:
		return fmt.Errorf("unexpected <%s> after handshake", reply.Name.Local)
	}
}

// nextStart returns the next start element, skipping whitespace and the XML
// declaration.
func (c *componentConn) nextStart() (xml.StartElement, error) {
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.EndElement:
			return xml.StartElement{}, io.EOF // </stream:stream>
		}
	}
}

// readStanza blocks until the next stanza; io.EOF when the server closed the
// stream.
func (c *componentConn) readStanza() (*stanza, error) {
	start, err := c.nextStart()
	if err != nil {
		return nil, err
	}
	if start.Name.Space == nsStreams && start.Name.Local == "error" {
		var se streamError
		_ = c.dec.DecodeElement(&se, &start)
		return nil, fmt.Errorf("stream error: %s", se)
	}
	var st stanza
	if err := c.dec.DecodeElement(&st, &start); err != nil {
		return nil, fmt.Errorf("decode <%s>: %w", start.Name.Local, err)
	}
	return &st, nil
}

// send writes one stanza.
func (c *componentConn) send(v any) error {
	raw, err := xml.Marshal(v)
	if err != nil {
		return fmt.Errorf("marshal stanza: %w", err)
	}
	return c.sendRaw(raw)
}

func (c *componentConn) sendRaw(raw []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(raw); err != nil {
		return fmt.Errorf("write stanza: %w", err)
	}
	return nil
}

// close ends the stream politely, then the connection.
func (c *componentConn) close() {
	_ = c.sendRaw([]byte("</stream:stream>"))
	c.conn.Close()
}

// streamError is <stream:error/>: its condition is the child's name.
type streamError struct {
	Conditions []struct {
		XMLName xml.Name
		Text    string `xml:",chardata"`
	} `xml:",any"`
}

func (e streamError) String() string {
	var s string
	for _, c := range e.Conditions {
		if s != "" {
			s += " "
		}
		s += c.XMLName.Local
		if c.Text != "" {
			s += "(" + c.Text + ")"
		}
	}
	if s == "" {
		return "unknown"
	}
	return s
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
