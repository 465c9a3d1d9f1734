package snapauth

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// TokenBodyStyle is the shape of an access-token request body.
type TokenBodyStyle int

const (
	// TokenBodyJSON is the standard: a JSON object with camel-case fields,
	// {"grantType":"client_credentials"} (and authCode, refreshToken,
	// additionalInfo). It is the zero value.
	TokenBodyJSON TokenBodyStyle = iota
	// TokenBodySnakeJSON is a JSON object with snake-case fields,
	// {"grant_type":"client_credentials"} (and auth_code, refresh_token,
	// additional_info), as Midtrans's SDKs send it.
	TokenBodySnakeJSON
	// TokenBodyForm is an application/x-www-form-urlencoded body with
	// snake-case fields, grant_type=client_credentials. It cannot carry
	// additionalInfo.
	TokenBodyForm
)

// HeaderSet is a set of optional SNAP headers.
type HeaderSet uint8

const (
	// HeaderPartnerID is X-PARTNER-ID (the config's PartnerID).
	HeaderPartnerID HeaderSet = 1 << iota
	// HeaderChannelID is CHANNEL-ID (the config's ChannelID).
	HeaderChannelID
	// HeaderOrigin is ORIGIN (the config's Origin).
	HeaderOrigin
)

const allHeaders = HeaderPartnerID | HeaderChannelID | HeaderOrigin

// ExternalIDAlphabet is what an X-EXTERNAL-ID is made of.
type ExternalIDAlphabet int

const (
	// ExternalIDDigits is the standard: decimal digits only. It is the zero
	// value; generated ids are NewExternalID cut to the profile's length.
	ExternalIDDigits ExternalIDAlphabet = iota
	// ExternalIDUUID generates random (version 4) UUIDs, 36 characters, as
	// DANA's SDK does; an id the caller sets may use letters, digits and
	// hyphens.
	ExternalIDUUID
)

// ExpiresInForm is how a provider writes expiresIn in a B2B token answer.
type ExpiresInForm int

const (
	// ExpiresInString is the standard, a JSON string of seconds ("900").
	ExpiresInString ExpiresInForm = iota
	// ExpiresInNumber is a JSON number of seconds (900).
	ExpiresInNumber
	// ExpiresInDateTime is the expiry instant as an ISO 8601 string.
	ExpiresInDateTime
)

// AuthCodeParams is a set of parameters a provider wants on its
// account-binding URL beyond partnerId, redirectUrl, scopes and state.
type AuthCodeParams uint8

const (
	// AuthCodeTimestamp adds timestamp, the current time in the provider's
	// X-TIMESTAMP layout.
	AuthCodeTimestamp AuthCodeParams = 1 << iota
	// AuthCodeExternalID adds externalId, a fresh id in the provider's
	// X-EXTERNAL-ID format.
	AuthCodeExternalID
	// AuthCodeChannelID adds channelId, the config's ChannelID.
	AuthCodeChannelID
)

// BindingStyle is how a provider starts the account-binding web view.
type BindingStyle int

const (
	// BindingByURL: the partner builds the binding URL (AuthCodeURL). It is
	// the zero value.
	BindingByURL BindingStyle = iota
	// BindingByAPI: a signed API call answers with the URL (StartBinding).
	BindingByAPI
)

// maxExternalID is the standard's limit on X-EXTERNAL-ID.
const maxExternalID = 36

// minGeneratedDigits is the shortest numeric X-EXTERNAL-ID the default
// generator makes unique enough: 13 digits of milliseconds and at least 7
// random ones.
const minGeneratedDigits = 20

// externalIDLength is the most characters X-EXTERNAL-ID may have.
func (p Provider) externalIDLength() int {
	if p.ExternalIDLength == 0 {
		return maxExternalID
	}
	return p.ExternalIDLength
}

// Validate reports whether p is a consistent description of a provider. An
// error names the field and the rule it breaks. The token sources and the
// Transport call it before sending anything.
func (p Provider) Validate() error {
	fail := func(field string, v any, rule string) error {
		return fmt.Errorf("snapauth: Provider %q: %s %v: %s", p.Name, field, v, rule)
	}
	switch {
	case p.Encoding != Base64 && p.Encoding != Hex:
		return fail("Encoding", int(p.Encoding), "must be Base64 or Hex")
	case p.EndpointForm < EndpointAsSent || p.EndpointForm > EndpointPathOnly:
		return fail("Endpoint", int(p.EndpointForm), "is not an EndpointForm")
	case p.TokenBody < TokenBodyJSON || p.TokenBody > TokenBodyForm:
		return fail("TokenBody", int(p.TokenBody), "is not a TokenBodyStyle")
	case p.TokenHeaders&^allHeaders != 0:
		return fail("TokenHeaders", int(p.TokenHeaders), "holds unknown headers")
	case p.ServiceHeaders&^allHeaders != 0:
		return fail("ServiceHeaders", int(p.ServiceHeaders), "holds unknown headers")
	case p.ExpiresIn < ExpiresInString || p.ExpiresIn > ExpiresInDateTime:
		return fail("ExpiresIn", int(p.ExpiresIn), "is not an ExpiresInForm")
	case p.AuthCodeParams&^(AuthCodeTimestamp|AuthCodeExternalID|AuthCodeChannelID) != 0:
		return fail("AuthCodeParams", int(p.AuthCodeParams), "holds unknown parameters")
	case p.Binding != BindingByURL && p.Binding != BindingByAPI:
		return fail("Binding", int(p.Binding), "is not a BindingStyle")
	case p.ExternalIDLength < 0 || p.ExternalIDLength > maxExternalID:
		return fail("ExternalIDLength", p.ExternalIDLength, "must be at most 36, SNAP's limit (0 means 36)")
	}
	switch p.ExternalIDAlphabet {
	case ExternalIDDigits:
		if p.ExternalIDLength != 0 && p.ExternalIDLength < minGeneratedDigits {
			return fail("ExternalIDLength", p.ExternalIDLength, "must be at least 20 with ExternalIDDigits, or generated ids would not stay unique")
		}
	case ExternalIDUUID:
		if p.externalIDLength() != maxExternalID {
			return fail("ExternalIDLength", p.ExternalIDLength, "must be 0 or 36 with ExternalIDUUID: a UUID has 36 characters")
		}
	default:
		return fail("ExternalIDAlphabet", int(p.ExternalIDAlphabet), "is not an ExternalIDAlphabet")
	}
	if p.TimestampLayout != "" && !layoutReadable(p.TimestampLayout) {
		return fail("TimestampLayout", strconv.Quote(p.TimestampLayout), "must write yyyy-MM-ddTHH:mm:ss[.fraction] and a zone (Z or ±hh:mm), the form ParseTimestamp reads")
	}
	return nil
}

// layouts caches layoutReadable per layout, so that a Transport checking its
// profile on every request pays one map lookup.
var layouts sync.Map // string -> bool

// layoutReadable reports whether times written with layout are read back
// by ParseTimestamp to the same instant (to the millisecond).
func layoutReadable(layout string) bool {
	if ok, found := layouts.Load(layout); found {
		return ok.(bool)
	}
	ok := true
	for _, loc := range []*time.Location{Jakarta, time.UTC} {
		at := time.Date(2020, 12, 17, 3, 55, 7, 123456789, time.UTC).In(loc)
		got, err := ParseTimestamp(at.Format(layout))
		ok = ok && err == nil && got.Sub(at).Abs() < time.Second
	}
	layouts.Store(layout, ok)
	return ok
}

// newExternalID makes an X-EXTERNAL-ID in the provider's format.
func (p Provider) newExternalID(now time.Time) string {
	var id [36]byte
	return string(id[:p.putExternalID(&id, now)])
}

// putExternalID writes an X-EXTERNAL-ID in the provider's format into id
// and returns its length.
func (p Provider) putExternalID(id *[36]byte, now time.Time) int {
	if p.ExternalIDAlphabet == ExternalIDUUID {
		putUUID(id)
		return len(id)
	}
	putDigitsID(id, now)
	return min(p.externalIDLength(), len(id)) // the time digits lead; the random tail is cut
}

// checkExternalID reports whether id follows the provider's X-EXTERNAL-ID
// rule; the error names the rule, not the id's text beyond its length.
func (p Provider) checkExternalID(id string) error {
	n := p.externalIDLength()
	if id == "" || len(id) > n {
		return fmt.Errorf("snapauth: X-EXTERNAL-ID has %d characters; Provider %q allows 1 to %d", len(id), p.Name, n)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if '0' <= c && c <= '9' {
			continue
		}
		if p.ExternalIDAlphabet == ExternalIDUUID && (c == '-' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			continue
		}
		if p.ExternalIDAlphabet == ExternalIDUUID {
			return fmt.Errorf("snapauth: X-EXTERNAL-ID has a character other than a letter, digit or hyphen at %d; Provider %q allows only those", i, p.Name)
		}
		return fmt.Errorf("snapauth: X-EXTERNAL-ID has a non-digit at %d; Provider %q allows digits only", i, p.Name)
	}
	return nil
}

// putUUID writes a random version 4 UUID in its 36-character form into s.
func putUUID(s *[36]byte) {
	var b [16]byte
	rand.Read(b[:]) // never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], b[10:16])
}
