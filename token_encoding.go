package snapauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"
)

// storedExtras are the names of the token extras (oauth2.Token.Extra) that a
// TokenStore persists beside the token's own fields.
// SequenceExtra and RefreshingExtra are how stored sources order tokens and
// mark a refresh in flight across replicas.
var storedExtras = []string{"refreshTokenExpiryTime", "accessTokenExpiryTime", "responseCode", "responseMessage", "additionalInfo", SequenceExtra, RefreshingExtra}

// tokenFormatVersion is the version of the JSON encoding written by
// MarshalToken. UnmarshalToken refuses any other version.
const tokenFormatVersion = 1

// maxTokenData bounds the size of one stored token (a SNAP access token is at
// most a few KiB; the bound only stops a runaway file from being read whole).
const maxTokenData = 1 << 20

// storedToken is the JSON encoding of a token, version 1.
type storedToken struct {
	Version      int                        `json:"version"`
	AccessToken  string                     `json:"access_token,omitempty"`
	TokenType    string                     `json:"token_type,omitempty"`
	RefreshToken string                     `json:"refresh_token,omitempty"`
	Expiry       string                     `json:"expiry,omitempty"`
	ExpiresIn    int64                      `json:"expires_in,omitempty"`
	Extra        map[string]json.RawMessage `json:"extra,omitempty"`
	AuthCode     string                     `json:"auth_code,omitempty"` // see TokenAuthCode
}

// MarshalToken encodes t as the JSON document the stores of this package
// (and redisstore) keep:
//
//	{"version":1,"access_token":"…","token_type":"Bearer","refresh_token":"…",
//	 "expiry":"2026-11-22T09:15:00.123456789+07:00","expires_in":900,
//	 "extra":{"refreshTokenExpiryTime":"…"}}
//
// Expiry is written in RFC 3339 with nanoseconds and t's zone offset, and
// omitted when zero. The extras named in StoredExtras that t holds (non-nil
// t.Extra(name)) are kept with their JSON types, and so is the authorization
// code the token keeps for its refreshes (TokenAuthCode), as "auth_code".
// Other extras are dropped.
// A nil token, a token with neither an access token nor a refresh token, an
// expiry outside the years 0-9999 or an extra that is not valid JSON is an
// error; the error never contains token text.
func MarshalToken(t *oauth2.Token) ([]byte, error) {
	if t == nil {
		return nil, errors.New("snapauth: cannot store a nil token")
	}
	if t.AccessToken == "" && t.RefreshToken == "" {
		return nil, errors.New("snapauth: cannot store a token with neither an access token nor a refresh token")
	}
	st := storedToken{
		Version:      tokenFormatVersion,
		AccessToken:  t.AccessToken,
		TokenType:    t.TokenType,
		RefreshToken: t.RefreshToken,
		ExpiresIn:    t.ExpiresIn,
		AuthCode:     TokenAuthCode(t),
	}
	if !t.Expiry.IsZero() {
		if y := t.Expiry.Year(); y < 0 || y > 9999 {
			return nil, errors.New("snapauth: cannot store a token whose expiry is outside the years 0-9999")
		}
		st.Expiry = t.Expiry.Format(time.RFC3339Nano)
	}
	for _, name := range storedExtras {
		v := t.Extra(name)
		if v == nil {
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("snapauth: token extra %q cannot be stored as JSON", name)
		}
		if st.Extra == nil {
			st.Extra = make(map[string]json.RawMessage)
		}
		st.Extra[name] = raw
	}
	data, err := json.Marshal(st)
	if err != nil {
		return nil, errors.New("snapauth: token cannot be encoded as JSON")
	}
	return data, nil
}

// UnmarshalToken decodes a token written by MarshalToken. Numbers among the
// extras come back as json.Number, objects as map[string]any, arrays as
// []any. The expiry comes back as the same instant to the nanosecond, in a
// fixed zone with the offset it was written with (compare with
// time.Time.Equal). Empty, truncated or malformed data, another format
// version, a malformed expiry and a token with neither an access token nor a
// refresh token are errors, never an empty token; an error names the
// offending field or byte offset but never contains token text.
func UnmarshalToken(data []byte) (*oauth2.Token, error) {
	if len(data) > maxTokenData {
		return nil, fmt.Errorf("snapauth: stored token is larger than %d bytes", maxTokenData)
	}
	var st storedToken
	if err := json.Unmarshal(data, &st); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case len(bytes.TrimSpace(data)) == 0:
			return nil, errors.New("snapauth: stored token is empty")
		case errors.As(err, &syn):
			return nil, fmt.Errorf("snapauth: stored token is truncated or not valid JSON (at byte %d)", syn.Offset)
		case errors.As(err, &typ) && typ.Field != "":
			return nil, fmt.Errorf("snapauth: stored token field %q has the wrong JSON type", typ.Field)
		}
		return nil, errors.New("snapauth: stored token is not a JSON object of the expected shape")
	}
	if st.Version != tokenFormatVersion {
		if st.Version < 0 || st.Version > 1000 {
			// Not a version any snapauth wrote: say so without echoing the file.
			return nil, fmt.Errorf("snapauth: stored token has an invalid format version; this version of snapauth reads version %d", tokenFormatVersion)
		}
		return nil, fmt.Errorf("snapauth: stored token has format version %d; this version of snapauth reads version %d", st.Version, tokenFormatVersion)
	}
	if st.AccessToken == "" && st.RefreshToken == "" {
		return nil, errors.New("snapauth: stored token holds neither an access token nor a refresh token")
	}
	t := &oauth2.Token{
		AccessToken:  st.AccessToken,
		TokenType:    st.TokenType,
		RefreshToken: st.RefreshToken,
		ExpiresIn:    st.ExpiresIn,
	}
	if st.Expiry != "" {
		exp, err := time.Parse(time.RFC3339Nano, st.Expiry)
		if err != nil {
			return nil, errors.New("snapauth: stored token expiry is not an RFC 3339 time")
		}
		t.Expiry = exp
	}
	if len(st.Extra) > 0 || st.AuthCode != "" {
		extra := make(map[string]any, len(st.Extra)+1)
		if st.AuthCode != "" {
			extra[authCodeExtra] = newAuthCodeBox(st.AuthCode)
		}
		for name, raw := range st.Extra {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				return nil, fmt.Errorf("snapauth: stored token extra %q is not valid JSON", name)
			}
			extra[name] = v
		}
		t = t.WithExtra(extra)
	}
	return t, nil
}
