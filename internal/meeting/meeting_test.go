package meeting

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseAcceptsRoomURLs(t *testing.T) {
	tests := []struct {
		raw                          string
		origin, domain, tenant, room string
		jwt, page, redacted          string
		overrides                    map[string]any
	}{
		{raw: "https://meet.example.org/TeamSync", origin: "https://meet.example.org", domain: "meet.example.org",
			room: "teamsync", page: "https://meet.example.org/_recorder", redacted: "https://meet.example.org/teamsync"},
		{raw: "http://127.0.0.1:8443/lab", origin: "http://127.0.0.1:8443", domain: "127.0.0.1",
			room: "lab", page: "http://127.0.0.1:8443/_recorder", redacted: "http://127.0.0.1:8443/lab"},
		{raw: "https://meet.example.org/acme/Standup/?jwt=abc.def.ghi", origin: "https://meet.example.org", domain: "meet.example.org",
			tenant: "acme", room: "standup", jwt: "abc.def.ghi", page: "https://meet.example.org/acme/_recorder",
			redacted: "https://meet.example.org/acme/standup"},
		{raw: "https://Meet.Example.org:444/r1#config.startWithAudioMuted=true&config.subject=%22Hi%22&interfaceConfig.X=1",
			origin: "https://meet.example.org:444", domain: "meet.example.org", room: "r1",
			page:      "https://meet.example.org:444/_recorder",
			redacted:  "https://meet.example.org:444/r1#config.startWithAudioMuted=true&config.subject=%22Hi%22&interfaceConfig.X=1",
			overrides: map[string]any{"startWithAudioMuted": true, "subject": "Hi"}},
		{raw: "  https://meet.example.org/room?lang=de&jwt=secret  ", origin: "https://meet.example.org", domain: "meet.example.org",
			room: "room", jwt: "secret", page: "https://meet.example.org/_recorder", redacted: "https://meet.example.org/room?lang=de"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			m, err := Parse(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{m.Origin, m.Domain, m.Tenant, m.Room, m.JWT, m.PageURL(), m.Redacted()}
			want := []string{tt.origin, tt.domain, tt.tenant, tt.room, tt.jwt, tt.page, tt.redacted}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %q\nwant %q", got, want)
			}
			if tt.overrides != nil && !reflect.DeepEqual(m.ConfigOverrides, tt.overrides) {
				t.Errorf("overrides %v, want %v", m.ConfigOverrides, tt.overrides)
			}
			if m.JWT != "" && (strings.Contains(m.Redacted(), m.JWT) || strings.Contains(m.String(), m.JWT)) {
				t.Errorf("redacted URL leaks the JWT")
			}
		})
	}
}

func TestParseRejectsMalformedURLs(t *testing.T) {
	for _, raw := range []string{
		"",
		"meet.example.org/room",
		"ftp://meet.example.org/room",
		"https://meet.example.org",
		"https://meet.example.org/",
		"https://meet.example.org/my room",
		"https:///room",
		"https://meet.example.org/a/b/c",
		"https://meet.example.org/a@b",
		"https://user:pw@meet.example.org/room",
		"https://meet.example.org/_recorder",
		"https://meet.example.org/%zz",
	} {
		if m, err := Parse(raw); err == nil {
			t.Errorf("Parse(%q) = %+v, want error", raw, m)
		} else if !errors.Is(err, ErrInvalidURL) {
			t.Errorf("Parse(%q) error %v does not wrap ErrInvalidURL", raw, err)
		}
	}
}
