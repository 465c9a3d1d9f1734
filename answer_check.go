package snapauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"
)

// isSuccessCode reports whether a SNAP responseCode says success: absent,
// or exactly seven digits starting with "200" ("2007300"). "200FAIL",
// "200" and "20073000" are not.
func isSuccessCode(code string) bool {
	if code == "" {
		return true
	}
	if len(code) != 7 || code[:3] != "200" {
		return false
	}
	for i := 3; i < 7; i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// controlChar returns the name of the first of a token's texts (access
// token, refresh token, token type) holding a control character (a byte
// below 0x20, or 0x7f), or "" when none does. Such a token would fail every
// call as a header value (CR/LF could even split the header), so it is
// refused when it arrives.
func controlChar(t *oauth2.Token) string {
	for _, f := range [...]struct{ name, v string }{
		{"accessToken", t.AccessToken}, {"refreshToken", t.RefreshToken}, {"tokenType", t.TokenType},
	} {
		for i := 0; i < len(f.v); i++ {
			if c := f.v[i]; c < 0x20 || c == 0x7f {
				return f.name
			}
		}
	}
	return ""
}

// clampLifetime bounds a token's expiry to MaxLifetime from now, so that an
// absurd expiresIn or accessTokenExpiryTime (1e10 seconds, the year 9999)
// neither overflows time.Duration into the past nor keeps a token forever.
func clampLifetime(tok *oauth2.Token, now time.Time) {
	if limit := now.Add(MaxLifetime); tok.Expiry.After(limit) {
		tok.Expiry = limit
		tok.ExpiresIn = int64(MaxLifetime / time.Second)
	}
}

// lifetimeSeconds is the lifetime of a token that expires at exp, read at
// now, in whole seconds for ExpiresIn: rounded, but at least 1 while exp is
// ahead, because an ExpiresIn of 0 means "lifetime unknown" and would have
// a token of under half a second renewed on the 10 s margin of an unknown
// lifetime, that is at every call.
func lifetimeSeconds(exp, now time.Time) int64 {
	s := int64(exp.Sub(now).Round(time.Second) / time.Second)
	if s < 1 && exp.After(now) {
		return 1
	}
	return s
}

// maxLifetimeSeconds is MaxLifetime in whole seconds, the largest expiresIn
// taken as given.
const maxLifetimeSeconds = int64(MaxLifetime / time.Second)

// errDuplicateKey is wrapped by decodeObject's error for an object that
// names one key twice.
var errDuplicateKey = errors.New("duplicate key")

// duplicateKey returns the first key that the top-level JSON object in data
// names twice, or "" when there is none (or data is not an object: the
// caller's decoder reports that). encoding/json keeps the last of duplicate
// keys silently; an answer saying both "responseCode":"4017300" and
// "responseCode":"2007300" must not be read as whichever comes last.
func duplicateKey(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	seen := make(map[string]struct{}, 8)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		key, ok := tok.(string)
		if !ok {
			return ""
		}
		if _, dup := seen[key]; dup {
			return key
		}
		seen[key] = struct{}{}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}

// duplicateKeyError is decodeObject's error for a repeated key.
func duplicateKeyError(key string) error {
	return fmt.Errorf("%w %q", errDuplicateKey, key)
}
