package snapauth

import (
	"time"

	"golang.org/x/oauth2"
)

// keptExtra is a value added to a token answer's extras.
type keptExtra struct {
	name  string
	value any
}

// authCodeExtra is the extra under which a token keeps the customer's
// authorization code, for providers that want it with every refresh.
const authCodeExtra = "snapauth.authCode"

// authCodeBox holds a kept authorization code. Extras hold a pointer to it,
// so that printing a token with any fmt verb shows an address, never the
// code: fmt follows a pointer only to an array, slice, struct or map, and
// only at the top level.
type authCodeBox string

// String hides the code.
func (*authCodeBox) String() string { return "[redacted]" }

// GoString hides the code.
func (b *authCodeBox) GoString() string { return b.String() }

func keepAuthCode(code string) keptExtra {
	return keptExtra{authCodeExtra, newAuthCodeBox(code)}
}

func newAuthCodeBox(code string) *authCodeBox {
	b := authCodeBox(code)
	return &b
}

// TokenAuthCode returns the authorization code a B2B2C token keeps for its
// refreshes, or "" when it keeps none. Tokens keep it only when the
// config's Provider has AuthCodeOnRefresh (Finnet): from Exchange on, each
// refreshed token carries it forward, and MarshalToken stores it, so every
// replica sharing a TokenStore can send it. It is a secret: it never appears
// in an error or a printed token.
func TokenAuthCode(t *oauth2.Token) string {
	if t == nil {
		return ""
	}
	if b, ok := t.Extra(authCodeExtra).(*authCodeBox); ok && b != nil {
		return string(*b)
	}
	return ""
}

// expiresAt reads an expiresIn given as an ISO 8601 date-time (Durianpay).
func expiresAt(v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok || len(s) < len("2006-01-02T15:04:05Z") {
		return time.Time{}, false
	}
	t, err := parseISOTime(s)
	return t, err == nil
}
