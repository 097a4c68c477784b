// Package meeting turns a Jitsi Meet room URL into the parts the recorder
// needs: where the deployment is, which tenant and room, the JWT, and the
// config overrides carried in the URL fragment.
package meeting

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// ErrInvalidURL is wrapped by every error Parse returns.
var ErrInvalidURL = errors.New("invalid room URL")

// PagePath is the path segment, below the origin and tenant, at which the
// recorder page is served by interception.
const PagePath = "_recorder"

// Meeting is a parsed room URL.
type Meeting struct {
	// Origin is scheme://host[:port] with the host lowercased, e.g.
	// "https://meet.example.org".
	Origin string
	// Domain is the host name without port, e.g. "meet.example.org".
	Domain string
	// Tenant is the optional first path segment of a multi-tenant deployment.
	Tenant string
	// Room is the room name, lowercased as Jitsi Meet does.
	Room string
	// JWT is the token from the ?jwt= query parameter, if any. Secret.
	JWT string
	// ConfigOverrides are the #config.name=value pairs of the fragment; the
	// values are JSON-decoded when they are valid JSON, else kept as strings.
	ConfigOverrides map[string]any

	query    url.Values // query without jwt, kept for Redacted
	fragment string
}

// Parse parses a room URL of the form
// http(s)://host[:port][/tenant]/room[?jwt=...][#config.x=y&...].
func Parse(raw string) (Meeting, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return Meeting{}, fmt.Errorf("%w: empty", ErrInvalidURL)
	}
	if strings.IndexFunc(raw, unicode.IsSpace) >= 0 {
		return Meeting{}, fmt.Errorf("%w: %q contains spaces (percent-encode them as %%20)", ErrInvalidURL, raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Meeting{}, fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	switch u.Scheme {
	case "https", "http":
	case "":
		return Meeting{}, fmt.Errorf("%w: %q has no scheme (want https://host/room)", ErrInvalidURL, raw)
	default:
		return Meeting{}, fmt.Errorf("%w: scheme %q not supported (want https or http)", ErrInvalidURL, u.Scheme)
	}
	if u.Hostname() == "" {
		return Meeting{}, fmt.Errorf("%w: %q has no host", ErrInvalidURL, raw)
	}
	if u.User != nil {
		return Meeting{}, fmt.Errorf("%w: user info in URL is not supported", ErrInvalidURL)
	}

	var segs []string
	for s := range strings.SplitSeq(u.Path, "/") {
		if s != "" {
			segs = append(segs, s)
		}
	}
	m := Meeting{
		// Lowercase like the browser does, so the interception pattern matches.
		Origin: u.Scheme + "://" + strings.ToLower(u.Host),
		Domain: strings.ToLower(u.Hostname()),
	}
	switch len(segs) {
	case 0:
		return Meeting{}, fmt.Errorf("%w: %q names no room (want %s/<room>)", ErrInvalidURL, raw, m.Origin)
	case 1:
		m.Room = segs[0]
	case 2:
		m.Tenant, m.Room = segs[0], segs[1]
	default:
		return Meeting{}, fmt.Errorf("%w: path %q has too many parts (want [/tenant]/room)", ErrInvalidURL, u.Path)
	}
	m.Room = strings.ToLower(m.Room)
	if err := checkName("room", m.Room); err != nil {
		return Meeting{}, err
	}
	if m.Tenant != "" {
		if err := checkName("tenant", m.Tenant); err != nil {
			return Meeting{}, err
		}
	}

	q := u.Query()
	m.JWT = q.Get("jwt")
	q.Del("jwt")
	m.query = q

	if frag := u.EscapedFragment(); frag != "" {
		overrides, err := parseFragment(frag)
		if err != nil {
			return Meeting{}, err
		}
		m.ConfigOverrides = overrides
		m.fragment = frag
	}
	return m, nil
}

// checkName rejects characters that cannot appear in an XMPP MUC room name
// (the room becomes the local part of room@conference.domain).
func checkName(what, name string) error {
	if name == PagePath {
		return fmt.Errorf("%w: %s %q is reserved for the recorder page", ErrInvalidURL, what, name)
	}
	if i := strings.IndexAny(name, "\"&'/:<>@\\"); i >= 0 {
		return fmt.Errorf("%w: %s %q contains %q", ErrInvalidURL, what, name, name[i])
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return fmt.Errorf("%w: %s %q contains spaces or control characters", ErrInvalidURL, what, name)
		}
	}
	return nil
}

// parseFragment reads Jitsi Meet's "#config.x=y&interfaceConfig.z=w" form.
// Only config.* entries matter to the recorder; others are ignored.
func parseFragment(frag string) (map[string]any, error) {
	out := map[string]any{}
	for part := range strings.SplitSeq(frag, "&") {
		if part == "" {
			continue
		}
		key, val, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(key)
		if err != nil {
			return nil, fmt.Errorf("%w: fragment key %q: %v", ErrInvalidURL, key, err)
		}
		name, ok := strings.CutPrefix(key, "config.")
		if !ok || name == "" {
			continue
		}
		val, err = url.QueryUnescape(val)
		if err != nil {
			return nil, fmt.Errorf("%w: fragment value of %s: %v", ErrInvalidURL, key, err)
		}
		var v any
		if json.Unmarshal([]byte(val), &v) == nil {
			out[name] = v
		} else {
			out[name] = val
		}
	}
	return out, nil
}

// base is origin[/tenant].
func (m Meeting) base() string {
	if m.Tenant == "" {
		return m.Origin
	}
	return m.Origin + "/" + url.PathEscape(m.Tenant)
}

// PageURL is where the recorder page is served, at the deployment's own
// origin: origin[/tenant]/_recorder.
func (m Meeting) PageURL() string { return m.base() + "/" + PagePath }

// RoomURL is the meeting's web address without JWT or fragment.
func (m Meeting) RoomURL() string { return m.base() + "/" + url.PathEscape(m.Room) }

// Redacted is the room URL safe for logs and metadata: no JWT. Other query
// parameters and the fragment are kept.
func (m Meeting) Redacted() string {
	s := m.RoomURL()
	if len(m.query) > 0 {
		s += "?" + m.query.Encode()
	}
	if m.fragment != "" {
		s += "#" + m.fragment
	}
	return s
}

// String is Redacted, so a Meeting never prints its JWT by accident.
func (m Meeting) String() string { return m.Redacted() }
