package snapauth

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"sort"
	"strings"
	"time"
)

// EndpointForm says how the EndpointUrl of a service string to sign is derived
// from a request URL.
type EndpointForm int

const (
	// EndpointAsSent is the path plus the query string exactly as sent
	// (the SNAP standard, and the default).
	EndpointAsSent EndpointForm = iota
	// EndpointSortedQuery is the path plus the query parameters sorted by name,
	// then value, each percent-encoded per RFC 3986 (BCA's pre-SNAP API; its
	// SNAP API signs the query as sent).
	EndpointSortedQuery
	// EndpointPathOnly is the path without the query string (DANA, PayerMax).
	EndpointPathOnly
)

// SignatureEncoding says how signature bytes are written into X-SIGNATURE.
type SignatureEncoding int

// Provider describes how one SNAP provider deviates from the standard. The
// zero value is the SNAP standard, and each field's zero value is the
// standard's behaviour; the named values (see ProviderByName) describe the
// providers whose deviations are known, each citing its evidence.
// Deviations are data: copy a value and change a field to describe another
// provider. Validate says whether a value is consistent.
type Provider struct {
	// Name is a label for logs and errors; it changes no behaviour.
	Name string
	// TimestampLayout is the Go layout of X-TIMESTAMP. Empty means
	// TimestampLayout (the standard, seconds and a ±hh:mm offset).
	TimestampLayout string
	// Location is the zone X-TIMESTAMP is written in. Nil means Jakarta (+07:00).
	Location *time.Location
	// UpperCaseGrants sends grant types in upper case
	// ("AUTHORIZATION_CODE", "REFRESH_TOKEN") instead of the standard lower case.
	UpperCaseGrants bool
	// AuthCodeOnRefresh sends the customer's authorization code as authCode
	// with refresh_token grants, for providers whose schema marks it
	// mandatory (Finnet). The code is kept with the token (see TokenAuthCode)
	// from Exchange on, and a refresh without a known code is an error: an
	// empty authCode is never sent. False (the standard) sends no authCode.
	AuthCodeOnRefresh bool
	// Encoding is the encoding of X-SIGNATURE; the zero value is Base64.
	Encoding SignatureEncoding
	// EndpointForm is how the EndpointUrl of the service string to sign is formed;
	// the zero value is EndpointAsSent.
	EndpointForm EndpointForm

	// TokenBody is the shape of the access-token request body; the zero
	// value is TokenBodyJSON ({"grantType":"client_credentials"}).
	TokenBody TokenBodyStyle
	// TokenHeaders are the headers sent on access-token requests beyond the
	// standard ones, each from its config field (PartnerID, ChannelID,
	// Origin), which must then be set. Zero sends none (the standard).
	TokenHeaders HeaderSet
	// ServiceHeaders are headers the provider requires on service calls
	// beyond the standard's mandatory ones; Transport refuses to send a call
	// without them. Zero requires none.
	ServiceHeaders HeaderSet
	// ExternalIDLength is the most characters X-EXTERNAL-ID may have. Zero
	// means 36, the standard's limit; with ExternalIDDigits it must be 20 to
	// 36, so that the generated ids stay unique.
	ExternalIDLength int
	// ExternalIDAlphabet is what X-EXTERNAL-ID is made of; the zero value
	// is ExternalIDDigits, the standard's numeric id.
	ExternalIDAlphabet ExternalIDAlphabet
	// ExpiresIn is how the provider writes expiresIn in B2B token answers;
	// the zero value is ExpiresInString ("900"). The token sources read
	// every form whatever this says; snaptest answers in this one.
	ExpiresIn ExpiresInForm
	// ExpiryLocation is the zone of accessTokenExpiryTime and
	// refreshTokenExpiryTime in B2B2C answers. Nil means Location. The
	// token sources read any offset; snaptest answers in this zone.
	ExpiryLocation *time.Location
	// AuthCodeParams are the parameters AuthCodeURL adds to the
	// account-binding URL beyond partnerId, redirectUrl, scopes and state.
	// Zero adds none.
	AuthCodeParams AuthCodeParams
	// Binding is how the provider starts the account-binding web view: from
	// a URL the partner builds (BindingByURL, the zero value; see
	// B2B2CConfig.AuthCodeURL) or from the answer of a signed API call
	// (BindingByAPI; see StartBinding).
	Binding BindingStyle
}

// Timestamp formats t as the provider's X-TIMESTAMP.
func (p Provider) Timestamp(t time.Time) string {
	return string(p.appendTimestamp(nil, t))
}

// appendTimestamp appends t as the provider's X-TIMESTAMP to dst.
func (p Provider) appendTimestamp(dst []byte, t time.Time) []byte {
	loc := p.Location
	if loc == nil {
		loc = Jakarta
	}
	layout := p.TimestampLayout
	if layout == "" {
		layout = TimestampLayout
	}
	return appendTimestampCached(dst, t, loc, layout)
}

// GrantType returns grant (a standard, lower-case grant type such as
// "client_credentials") spelled the way the provider expects.
func (p Provider) GrantType(grant string) string {
	if p.UpperCaseGrants {
		return strings.ToUpper(grant)
	}
	return grant
}

// EndpointURL returns the EndpointUrl of the service string to sign for a
// request to u: the path (with any provider prefix) and, depending on
// p.EndpointForm, the query string.
func (p Provider) EndpointURL(u *url.URL) string {
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	switch p.EndpointForm {
	case EndpointPathOnly:
		return path
	case EndpointSortedQuery:
		if u.RawQuery == "" {
			return path
		}
		return path + "?" + sortedQuery(u.RawQuery)
	default:
		if u.RawQuery == "" {
			return path
		}
		return path + "?" + u.RawQuery
	}
}

// EncodeSignature writes signature bytes in the provider's encoding.
func (p Provider) EncodeSignature(sig []byte) string {
	if p.Encoding == Hex {
		return hex.EncodeToString(sig)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// sortedQuery sorts query parameters by name, then value, and encodes each
// per RFC 3986 (unreserved characters literal, the rest %XX in upper case).
func sortedQuery(raw string) string {
	type kv struct{ k, v string }
	var pairs []kv
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		pairs = append(pairs, kv{k, v})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(rfc3986(p.k))
		b.WriteByte('=')
		b.WriteString(rfc3986(p.v))
	}
	return b.String()
}

func rfc3986(s string) string {
	const upperhex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperhex[c>>4])
		b.WriteByte(upperhex[c&15])
	}
	return b.String()
}
