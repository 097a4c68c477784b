package meeting

import (
	"encoding/base64"
	"testing"
	"time"
)

// token builds an unsigned-looking JWT with the given payload.
func token(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc([]byte(payload)) + ".c2lnbmF0dXJl"
}

func TestJWTExpiryReadsTheExpClaim(t *testing.T) {
	m, err := Parse("https://meet.example.org/r?jwt=" + token(`{"aud":"jitsi","exp":1764000000,"room":"*"}`))
	if err != nil {
		t.Fatal(err)
	}
	exp, ok := m.JWTExpiry()
	if !ok || !exp.Equal(time.Unix(1764000000, 0)) {
		t.Fatalf("JWTExpiry = %v %v, want %v", exp, ok, time.Unix(1764000000, 0).UTC())
	}
}

func TestJWTExpiryUnknownForOtherTokens(t *testing.T) {
	for _, jwt := range []string{
		"",                          // no token
		"secret-jwt-123",            // not a JWT
		"a.!!!.c",                   // payload not base64url
		token(`not json`),           // payload not JSON
		token(`{"aud":"jitsi"}`),    // no exp
		token(`{"exp":"tomorrow"}`), // exp not a number
		token(`{"exp":0}`),          // no real expiry
	} {
		m := Meeting{JWT: jwt}
		if exp, ok := m.JWTExpiry(); ok {
			t.Errorf("%q: got expiry %v, want none", jwt, exp)
		}
	}
}
