package snaptest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/snapauth/snapauth"
)

// This file holds what WithProvider(p) makes the server enforce beyond the
// standard, each check reading p's fields with the server's own code (not
// snapauth's): the token body style, extra token and service headers, the
// X-EXTERNAL-ID rule, authCode on refresh, and the answer forms.

// tokenBodyFields parses a token request body in the provider's TokenBody
// style and returns its fields under the standard's camel-case names, so
// the grant checks read one shape. A body in another style lacks the names
// the provider reads and fails as a missing field.
func (x *exchange) tokenBodyFields() (map[string]json.RawMessage, *snapErr) {
	p := x.cfg.provider
	switch p.TokenBody {
	case snapauth.TokenBodyForm:
		form, err := url.ParseQuery(string(x.body))
		if err != nil {
			return nil, badRequest(ReasonBody, "body is not form-encoded")
		}
		fields := map[string]json.RawMessage{}
		for snake, camel := range snakeNames {
			if v, ok := form[snake]; ok && len(v) > 0 {
				raw, _ := json.Marshal(v[0])
				fields[camel] = raw
			}
		}
		return fields, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(x.body, &fields); err != nil || fields == nil {
		return nil, badRequest(ReasonBody, "body is not a JSON object")
	}
	if p.TokenBody == snapauth.TokenBodySnakeJSON {
		renamed := map[string]json.RawMessage{}
		for snake, camel := range snakeNames {
			if v, ok := fields[snake]; ok {
				renamed[camel] = v
			}
		}
		if v, ok := fields["additional_info"]; ok {
			renamed["additionalInfo"] = v
		}
		if _, ok := renamed["grantType"]; !ok {
			return nil, missingField(ReasonGrantType, "grant_type")
		}
		return renamed, nil
	}
	return fields, nil
}

// checkTokenContentType requires the Content-Type of the provider's
// TokenBody style: application/json, or a form for TokenBodyForm.
func (x *exchange) checkTokenContentType() *snapErr {
	if x.cfg.provider.TokenBody == snapauth.TokenBodyForm {
		return x.checkMediaType("application/x-www-form-urlencoded")
	}
	return x.checkContentType()
}

var snakeNames = map[string]string{"grant_type": "grantType", "auth_code": "authCode", "refresh_token": "refreshToken"}

// checkTokenHeaders requires the headers the provider's TokenHeaders names,
// with the partner's registered values.
func (x *exchange) checkTokenHeaders() *snapErr {
	return x.checkExtraHeaders(x.cfg.provider.TokenHeaders)
}

// checkExtraHeaders requires each header of set: X-PARTNER-ID and
// CHANNEL-ID with the partner's values, ORIGIN present.
func (x *exchange) checkExtraHeaders(set snapauth.HeaderSet) *snapErr {
	h := x.r.Header
	if e := headerValue(set&snapauth.HeaderPartnerID != 0, h, "X-PARTNER-ID", x.creds.PartnerID, unauthorized, ReasonPartnerID); e != nil {
		return e
	}
	if e := headerValue(set&snapauth.HeaderChannelID != 0, h, "CHANNEL-ID", x.creds.ChannelID, invalidFormat, ReasonChannelID); e != nil {
		return e
	}
	if set&snapauth.HeaderOrigin != 0 && strings.TrimSpace(h.Get("ORIGIN")) == "" {
		return missingField(ReasonMissingHeader, "ORIGIN")
	}
	return nil
}

// headerValue, when required, requires header name of h to hold want: an
// empty one is a missing field, another value is wrong(reason, name).
func headerValue(required bool, h http.Header, name, want string, wrong func(Reason, string) *snapErr, reason Reason) *snapErr {
	switch v := h.Get(name); {
	case !required:
	case v == "":
		return missingField(ReasonMissingHeader, name)
	case v != want:
		return wrong(reason, name)
	}
	return nil
}

// checkExternalID applies the provider's X-EXTERNAL-ID rule: at most
// ExternalIDLength characters (36 when zero), digits only, or letters,
// digits and hyphens for ExternalIDUUID.
func (x *exchange) checkExternalID(id string) *snapErr {
	p := x.cfg.provider
	limit := p.ExternalIDLength
	if limit == 0 {
		limit = 36
	}
	allowed := "0123456789"
	if p.ExternalIDAlphabet == snapauth.ExternalIDUUID {
		allowed += "-abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	}
	if len(id) > limit || strings.Trim(id, allowed) != "" {
		return invalidFormat(ReasonExternalIDFormat, "X-EXTERNAL-ID")
	}
	return nil
}

// refreshAuthCode applies AuthCodeOnRefresh (Finnet's table: authCode
// mandatory, at least one character, on refresh too) and returns the code;
// "" when the provider wants none.
func (x *exchange) refreshAuthCode(fields map[string]json.RawMessage) (string, *snapErr) {
	if !x.cfg.provider.AuthCodeOnRefresh {
		return "", nil
	}
	code, e := requiredString(fields, "authCode", ReasonBody)
	if e != nil {
		return "", e
	}
	return code, nil
}

// authCodeMatchesLocked reports whether code (from refreshAuthCode) is the
// code family was bound with: stricter than Finnet's page, which does not
// say which code it wants, so that a client resending another code is
// caught. An empty code (the provider wants none) always matches. It is
// called with s.mu held.
func (s *Server) authCodeMatchesLocked(family int, code string) bool {
	return code == "" || s.st.familyCodes[family] == code
}

// expiresIn is the B2B answer's expiresIn for a token of lifetime d issued
// at now, in the provider's form (WithExpiresInNumber also makes a number).
func (x *exchange) expiresIn(d time.Duration, now time.Time) any {
	secs := int64(d.Seconds())
	switch {
	case x.cfg.provider.ExpiresIn == snapauth.ExpiresInDateTime:
		return now.Add(d).In(x.expiryLocation()).Format(time.RFC3339)
	case x.cfg.provider.ExpiresIn == snapauth.ExpiresInNumber || x.cfg.expiresInNumber:
		return secs
	}
	return strconv.FormatInt(secs, 10)
}

// expiryLocation is the zone of the expiry times the server writes.
func (x *exchange) expiryLocation() *time.Location {
	p := x.cfg.provider
	switch {
	case p.ExpiryLocation != nil:
		return p.ExpiryLocation
	case p.Location != nil:
		return p.Location
	}
	return snapauth.Jakarta
}
