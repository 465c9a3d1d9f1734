package snaptest

import (
	"encoding/json"
	"net/http"

	"github.com/snapauth/snapauth"
)

// checkTokenRequest runs the checks the two token endpoints share: headers,
// timestamp, client key, and the token signature over clientKey|X-TIMESTAMP
// verified with the partner's public key. It returns the parsed body.
func (x *exchange) checkTokenRequest() (map[string]json.RawMessage, *snapErr) {
	if e := x.checkTokenContentType(); e != nil {
		return nil, e
	}
	if e := x.checkHeadersPresent("X-TIMESTAMP", "X-CLIENT-KEY", "X-SIGNATURE"); e != nil {
		return nil, e
	}
	if e := x.checkTokenHeaders(); e != nil {
		return nil, e
	}
	t, e := x.parseTimestamp()
	if e != nil {
		return nil, e
	}
	clientKey := x.r.Header.Get("X-CLIENT-KEY")
	if clientKey != x.creds.ClientKey {
		return nil, unauthorized(ReasonUnknownClient, "Unknown client")
	}
	if e := x.checkSkew(t); e != nil {
		return nil, e
	}
	sts := clientKey + "|" + x.r.Header.Get("X-TIMESTAMP")
	x.rec.StringToSign, x.rec.SignatureMode = sts, "asymmetric"
	if snapauth.VerifyAsymmetric(&x.creds.PrivateKey.PublicKey, sts, x.r.Header.Get("X-SIGNATURE")) != nil {
		return nil, unauthorized(ReasonSignature, "Signature")
	}
	return x.tokenBodyFields()
}

// stringField returns the string field name of a token request body: absent
// and null are "" and present reports false; a non-string is a format error.
func stringField(fields map[string]json.RawMessage, name string) (v string, present bool, e *snapErr) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", true, invalidFormat(ReasonBody, name)
	}
	return v, true, nil
}

// requiredString is stringField for a mandatory field: absent, null and ""
// are a missing field. Its errors carry reason.
func requiredString(fields map[string]json.RawMessage, name string, reason Reason) (string, *snapErr) {
	v, _, e := stringField(fields, name)
	if e != nil {
		e.reason = reason
		return "", e
	}
	if v == "" {
		return "", missingField(reason, name)
	}
	return v, nil
}

// grantType returns the body's grantType, which must be one of the
// standard grants given, spelled the provider's way. It returns the
// standard spelling.
func (x *exchange) grantType(fields map[string]json.RawMessage, grants ...string) (string, *snapErr) {
	got, e := requiredString(fields, "grantType", ReasonGrantType)
	if e != nil {
		return "", e
	}
	for _, g := range grants {
		if got == x.cfg.provider.GrantType(g) {
			return g, nil
		}
	}
	return "", invalidFormat(ReasonGrantType, "grantType")
}

// serveB2B serves POST /v1.0/access-token/b2b.
func (x *exchange) serveB2B() {
	fields, e := x.checkTokenRequest()
	if e == nil {
		_, e = x.grantType(fields, "client_credentials")
	}
	if e != nil {
		x.fail(e)
		return
	}
	x.s.mu.Lock()
	tok, _ := x.s.issueLocked(kindB2B, accessTokenRandomBytes, x.cfg.tokenLifetime, 0, "")
	x.s.stats.Issued[EndpointB2B]++
	x.s.mu.Unlock()

	expiresIn := x.expiresIn(x.cfg.tokenLifetime, x.cfg.now())
	x.writeJSON(http.StatusOK, map[string]any{
		"responseCode":    "200" + ServiceCodeB2B + "00",
		"responseMessage": "Successful",
		"accessToken":     tok,
		"tokenType":       x.cfg.tokenType,
		"expiresIn":       expiresIn,
	})
}

// serveB2B2C serves POST /v1.0/access-token/b2b2c.
func (x *exchange) serveB2B2C() {
	fields, e := x.checkTokenRequest()
	var grant string
	if e == nil {
		grant, e = x.grantType(fields, "authorization_code", "refresh_token")
	}
	if e != nil {
		x.fail(e)
		return
	}
	var (
		family   int
		customer string
	)
	switch grant {
	case "authorization_code":
		family, customer, e = x.redeemAuthCode(fields)
	default:
		family, customer, e = x.redeemRefreshToken(fields)
	}
	if e != nil {
		x.fail(e)
		return
	}
	x.s.mu.Lock()
	access, accessExp := x.s.issueLocked(kindB2B2C, accessTokenRandomBytes, x.cfg.tokenLifetime, family, customer)
	refresh, refreshExp := x.s.issueLocked(kindRefresh, refreshTokenRandomBytes, x.cfg.refreshLifetime, family, customer)
	x.s.stats.Issued[EndpointB2B2C]++
	x.s.mu.Unlock()

	p := x.cfg.provider
	p.TimestampLayout = snapauth.TimestampLayout // ISO 8601 to the second, in the provider's zone
	p.Location = x.expiryLocation()
	x.writeJSON(http.StatusOK, map[string]any{
		"responseCode":           "200" + ServiceCodeB2B2C + "00",
		"responseMessage":        "Successful",
		"accessToken":            access,
		"tokenType":              x.cfg.tokenType,
		"accessTokenExpiryTime":  p.Timestamp(accessExp),
		"refreshToken":           refresh,
		"refreshTokenExpiryTime": p.Timestamp(refreshExp),
		"additionalInfo":         map[string]any{},
	})
}

func invalidGrant(reason Reason, detail string) *snapErr {
	return &snapErr{http.StatusUnauthorized, "01", "Invalid Token (B2B2C) [" + detail + "]", reason}
}

// redeemAuthCode consumes a single-use authCode and starts a token family.
func (x *exchange) redeemAuthCode(fields map[string]json.RawMessage) (family int, customer string, e *snapErr) {
	code, e := requiredString(fields, "authCode", ReasonBody)
	if e != nil {
		return 0, "", e
	}
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	ac, ok := s.st.codes[code]
	switch {
	case !ok && s.st.usedCodes[code]:
		return 0, "", invalidGrant(ReasonAuthCode, "authCode already used")
	case !ok:
		return 0, "", invalidGrant(ReasonAuthCode, "authCode unknown")
	}
	delete(s.st.codes, code)
	s.st.usedCodes[code] = true
	if !s.cfg.now().Before(ac.expiry) {
		return 0, "", invalidGrant(ReasonAuthCode, "authCode expired")
	}
	s.st.nextFamily++
	s.st.familyCodes[s.st.nextFamily] = code
	return s.st.nextFamily, ac.customer, nil
}

// redeemRefreshToken consumes a single-use refresh token. Reusing one is
// rejected and, with WithRevokeOnRefreshReuse, revokes its family.
func (x *exchange) redeemRefreshToken(fields map[string]json.RawMessage) (family int, customer string, e *snapErr) {
	rt, e := requiredString(fields, "refreshToken", ReasonBody)
	if e != nil {
		return 0, "", e
	}
	authCode, e := x.refreshAuthCode(fields)
	if e != nil {
		return 0, "", e
	}
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	info, ok := s.st.tokens[rt]
	switch {
	case !ok || info.kind != kindRefresh:
		return 0, "", invalidGrant(ReasonRefreshToken, "refreshToken unknown")
	case s.st.revoked[info.family]:
		return 0, "", invalidGrant(ReasonRefreshToken, "refreshToken revoked")
	case info.used:
		if x.cfg.revokeOnReuse {
			s.st.revoked[info.family] = true
		}
		return 0, "", invalidGrant(ReasonRefreshReuse, "refreshToken already used")
	case !s.cfg.now().Before(info.expiry):
		return 0, "", invalidGrant(ReasonRefreshToken, "refreshToken expired")
	case !s.authCodeMatchesLocked(info.family, authCode):
		return 0, "", invalidGrant(ReasonAuthCode, "authCode is not the one this token was bound with")
	}
	info.used = true
	return info.family, info.customer, nil
}
