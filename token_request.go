package snapauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// snakeTokenRequest is tokenRequest with snake-case names (TokenBodySnakeJSON).
type snakeTokenRequest struct {
	GrantType      string         `json:"grant_type"`
	AuthCode       *string        `json:"auth_code,omitempty"`
	RefreshToken   string         `json:"refresh_token,omitempty"`
	AdditionalInfo map[string]any `json:"additional_info,omitempty"`
}

// encodeTokenRequest writes req in the provider's TokenBody style and
// returns the body and its Content-Type.
func (p Provider) encodeTokenRequest(req tokenRequest) ([]byte, string, error) {
	switch p.TokenBody {
	case TokenBodySnakeJSON:
		body, err := json.Marshal(snakeTokenRequest(req))
		if err != nil {
			return nil, "", fmt.Errorf("snapauth: token request body: %w", err)
		}
		return body, "application/json", nil
	case TokenBodyForm:
		if req.AdditionalInfo != nil {
			return nil, "", fmt.Errorf("snapauth: Provider %q: TokenBody TokenBodyForm cannot carry AdditionalInfo; leave AdditionalInfo nil or use a JSON body", p.Name)
		}
		f := url.Values{"grant_type": {req.GrantType}}
		if req.AuthCode != nil {
			f.Set("auth_code", *req.AuthCode)
		}
		if req.RefreshToken != "" {
			f.Set("refresh_token", req.RefreshToken)
		}
		return []byte(f.Encode()), "application/x-www-form-urlencoded", nil
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, "", fmt.Errorf("snapauth: token request body: %w", err)
	}
	return body, "application/json", nil
}

// tokenHeaders are the values of the optional token-request headers, from
// the config's fields.
type tokenHeaders struct {
	partnerID, channelID, origin string
}

// check refuses, before anything is sent, a header the provider's
// TokenHeaders wants whose config field is empty.
func (h tokenHeaders) check(p Provider) error {
	for _, f := range []struct {
		bit          HeaderSet
		value, field string
	}{{HeaderPartnerID, h.partnerID, "PartnerID"}, {HeaderChannelID, h.channelID, "ChannelID"}, {HeaderOrigin, h.origin, "Origin"}} {
		if p.TokenHeaders&f.bit != 0 && f.value == "" {
			return fmt.Errorf("snapauth: Provider %q sends %s on token requests (TokenHeaders), but the config's %s is empty", p.Name, f.bit, f.field)
		}
	}
	return nil
}

// set adds the headers the provider's TokenHeaders names.
func (h tokenHeaders) set(p Provider, hdr http.Header) {
	if p.TokenHeaders&HeaderPartnerID != 0 {
		hdr.Set("X-PARTNER-ID", h.partnerID)
	}
	if p.TokenHeaders&HeaderChannelID != 0 {
		hdr.Set("CHANNEL-ID", h.channelID)
	}
	if p.TokenHeaders&HeaderOrigin != 0 {
		hdr.Set("ORIGIN", h.origin)
	}
}

// ErrNoAuthCode means a refresh needs the customer's authorization code
// (Provider.AuthCodeOnRefresh, Finnet) and none is known: Refresh was given
// a bare refresh token, or a source holds a token that keeps no code (one
// stored before snapauth kept codes). Nothing was sent. A source's error
// also matches ErrReauthorize, since binding the customer again is the
// remedy there.
var ErrNoAuthCode = errors.New("snapauth: the provider wants the customer's authorization code with every refresh (Provider.AuthCodeOnRefresh), and none is known: the token from Exchange keeps it (TokenAuthCode); pass it to RefreshWithAuthCode")
