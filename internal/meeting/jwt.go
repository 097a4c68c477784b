package meeting

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// JWTExpiry returns the expiry ("exp" claim) of the meeting's JWT, read
// without verifying the signature: only the deployment can verify it, but
// an expired token is refused there anyway, so the recorder can say so
// before joining. ok is false when there is no JWT, it is not a JSON Web
// Token, or it has no expiry.
func (m Meeting) JWTExpiry() (exp time.Time, ok bool) {
	parts := strings.Split(m.JWT, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	secs, err := claims.Exp.Float64()
	if err != nil || secs <= 0 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(secs*float64(time.Second))).UTC(), true
}
