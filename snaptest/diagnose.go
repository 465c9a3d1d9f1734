package snaptest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/bearer"
)

// This file explains a rejection for the inspector: which header and which
// rule (rule), and for a signature that does not verify, the most likely
// cause (causes), found by signing the alternatives a client commonly gets
// wrong and checking each against the X-SIGNATURE received.

// rule says, in words, which header or field broke which rule.
func (x *exchange) rule() string {
	h := x.r.Header
	bracket := ""
	if _, rest, ok := strings.Cut(x.rec.ResponseMessage, "["); ok {
		bracket, _, _ = strings.Cut(rest, "]")
	}
	switch x.rec.Reason {
	case ReasonNone:
		return ""
	case ReasonInjected:
		return "a failure the test queued (FailTokenCalls, FailServiceCalls or HTMLTokenCalls), before any check"
	case ReasonMethod:
		return "method " + x.r.Method + " is not allowed here"
	case ReasonNotFound:
		return "no endpoint at " + x.r.URL.Path + " (check the path prefix)"
	case ReasonContentType:
		return fmt.Sprintf("Content-Type must be application/json; got %q", h.Get("Content-Type"))
	case ReasonMissingHeader:
		return "the mandatory header " + bracket + " is missing or empty"
	case ReasonTimestampFormat:
		return fmt.Sprintf("X-TIMESTAMP %q is not in the layout the provider (%s) expects, such as %q",
			h.Get("X-TIMESTAMP"), x.providerName(), x.cfg.provider.Timestamp(x.cfg.now()))
	case ReasonTimestampSkew:
		return x.skewRule()
	case ReasonUnknownClient:
		return fmt.Sprintf("X-CLIENT-KEY %q is not a client this provider registered (the sandbox's is %q)", h.Get("X-CLIENT-KEY"), x.creds.ClientKey)
	case ReasonSignature:
		switch x.rec.SignatureMode {
		case "symmetric":
			return "X-SIGNATURE is not the HMAC-SHA512, keyed with the client secret, of the string to sign the provider computed (below)"
		case "asymmetric":
			if x.rec.Endpoint == EndpointService {
				return "X-SIGNATURE is not a SHA256withRSA signature, by the partner's key, of the string to sign the provider computed (below)"
			}
			return "X-SIGNATURE is not a SHA256withRSA signature, by the partner's key, of clientKey|X-TIMESTAMP (below)"
		}
		return "X-SIGNATURE does not verify"
	case ReasonTokenMissing:
		return "Authorization: Bearer <B2B access token> is missing"
	case ReasonTokenInvalid:
		return "the Authorization token is not a live B2B token of this provider (unknown, expired or revoked): fetch a new one"
	case ReasonCustomerTokenMissing:
		return "this path acts for a customer: Authorization-Customer: Bearer <customer token> is missing"
	case ReasonCustomerTokenInvalid:
		return "the Authorization-Customer token is not a live customer token (unknown, expired or revoked): refresh it"
	case ReasonPartnerID:
		return fmt.Sprintf("X-PARTNER-ID %q is not the partner's (%q)", h.Get("X-PARTNER-ID"), x.creds.PartnerID)
	case ReasonChannelID:
		return fmt.Sprintf("CHANNEL-ID %q is not the partner's (%q, at most 5 characters)", h.Get("CHANNEL-ID"), x.creds.ChannelID)
	case ReasonExternalIDFormat:
		return fmt.Sprintf("X-EXTERNAL-ID %q must be digits only, at most 36", h.Get("X-EXTERNAL-ID"))
	case ReasonExternalIDReused:
		return fmt.Sprintf("X-EXTERNAL-ID %q was already used today (the provider's day, in Jakarta) by this partner: send a new one per request", h.Get("X-EXTERNAL-ID"))
	case ReasonGrantType:
		return "grantType is missing, unknown, or not spelled the provider's way (" + x.providerName() + ")"
	case ReasonAuthCode:
		return "authCode is unknown, already used or expired: codes are single use"
	case ReasonRefreshToken:
		return "refreshToken is unknown, expired or revoked"
	case ReasonRefreshReuse:
		return "refreshToken was already used once: refresh tokens are single use, the last answer carried the next one"
	}
	if x.rec.ResponseMessage != "" {
		return string(x.rec.Reason) + ": " + x.rec.ResponseMessage
	}
	return string(x.rec.Reason)
}

func (x *exchange) providerName() string {
	if x.cfg.provider.Name != "" {
		return x.cfg.provider.Name
	}
	return "standard"
}

// skewRule says how far X-TIMESTAMP is from the provider's clock.
func (x *exchange) skewRule() string {
	ts := x.r.Header.Get("X-TIMESTAMP")
	t, err := snapauth.ParseTimestamp(ts)
	if err != nil {
		return "X-TIMESTAMP is too far from the provider's clock"
	}
	d := x.cfg.now().Sub(t).Round(time.Second)
	way := "behind"
	if d < 0 {
		d, way = -d, "ahead of"
	}
	return fmt.Sprintf("clock skew: X-TIMESTAMP %q is %s %s the provider's clock; at most %s either way is allowed: check the client's clock (NTP) and zone",
		ts, d, way, x.cfg.skew)
}

// variant is one way a client may have built the string it signed.
type variant struct {
	sts    string
	causes []string
}

// causes returns the most likely causes of a signature that does not
// verify: each alternative that does verify, with what it changes, or the
// conclusion that none does.
func (x *exchange) causes() []string {
	if x.rec.Reason != ReasonSignature {
		return nil
	}
	sig := x.r.Header.Get("X-SIGNATURE")
	verify := func(sts string) bool {
		if x.rec.SignatureMode == "symmetric" {
			return snapauth.VerifySymmetric(x.creds.ClientSecret, sts, sig) == nil
		}
		return snapauth.VerifyAsymmetric(&x.creds.PrivateKey.PublicKey, sts, sig) == nil
	}
	var vs []variant
	if x.rec.Endpoint == EndpointService {
		vs = x.serviceVariants()
	} else {
		for _, ts := range x.timestampVariants() {
			vs = append(vs, variant{x.r.Header.Get("X-CLIENT-KEY") + "|" + ts.value, []string{ts.cause}})
		}
	}
	for _, v := range vs {
		if verify(v.sts) {
			return v.causes
		}
	}
	if x.rec.Endpoint == EndpointService {
		return []string{"no variant of the EndpointUrl (query, sorted query, path prefix), timestamp layout, body encoding " +
			"or token segment verifies: most likely the body changed after it was signed (re-encoded, pretty-printed " +
			"or altered by a proxy), or it was signed with another " + x.keyName()}
	}
	return []string{"no variant of the timestamp layout verifies: the request was most likely signed with another private key " +
		"than the one registered for this client (check that the provider holds its public half)"}
}

func (x *exchange) keyName() string {
	if x.rec.SignatureMode == "symmetric" {
		return "client secret"
	}
	return "private key"
}

type tsVariant struct{ value, cause string }

// timestampVariants are the header's instant written in the other layouts
// and zones providers use.
func (x *exchange) timestampVariants() []tsVariant {
	sent := x.r.Header.Get("X-TIMESTAMP")
	t, err := snapauth.ParseTimestamp(sent)
	if err != nil {
		return nil
	}
	var out []tsVariant
	seen := map[string]bool{sent: true}
	for _, layout := range []string{snapauth.TimestampLayout, snapauth.TimestampLayoutMillis, snapauth.TimestampLayoutZulu} {
		for _, zone := range []*time.Location{t.Location(), snapauth.Jakarta, time.UTC} {
			v := t.In(zone).Format(layout)
			if seen[v] {
				continue
			}
			seen[v] = true
			out = append(out, tsVariant{v, fmt.Sprintf("timestamp layout: the signature covers X-TIMESTAMP written as %q, but the header sent %q: "+
				"sign the header's exact value, in the provider's layout", v, sent)})
		}
	}
	return out
}

// serviceVariants are the strings a client may have signed instead of the
// provider's: one part changed at a time, then the timestamp with each.
func (x *exchange) serviceVariants() []variant {
	method := strings.ToUpper(x.r.Method)
	endpoint := x.rec.EndpointURL
	token := ""
	if x.rec.SignatureMode == "symmetric" {
		token, _ = bearer.Token(x.r.Header.Get("Authorization"))
	}
	bodyHash := hash(x.rec.Canonical)
	ts := x.r.Header.Get("X-TIMESTAMP")
	build := func(m, ep, tok, bh, t string) string {
		parts := []string{m, ep}
		if tok != "" {
			parts = append(parts, tok)
		}
		return strings.Join(append(parts, bh, t), ":")
	}

	type part struct{ value, cause string }
	var endpoints, bodies, tokens []part
	for _, ep := range x.endpointForms() {
		if ep != endpoint {
			endpoints = append(endpoints, part{ep, fmt.Sprintf("wrong EndpointUrl form: the signature covers %q, the provider (%s) signs %q: "+
				"check the query string (kept as sent, sorted, or dropped) and the path prefix (--provider, Provider.EndpointForm)", ep, x.providerName(), endpoint)})
		}
	}
	if raw := x.rec.Body; len(raw) > 0 && !bytes.Equal(raw, x.rec.Canonical) {
		bodies = append(bodies, part{hash(raw), "body not minified: the signature covers the body as sent, byte for byte; " +
			"SNAP hashes the minified body (snapauth.Minify), so send exactly the bytes that were hashed"})
	}
	if esc := htmlEscaped(x.rec.Canonical); !bytes.Equal(esc, x.rec.Canonical) {
		bodies = append(bodies, part{hash(esc), `body re-encoded: the signature covers the body with <, > and & escaped ` +
			`(\u003c, as Go's json.Marshal writes them), but the body sent has them plain`})
	}
	if sorted, ok := keysSorted(x.rec.Canonical); ok && !bytes.Equal(sorted, x.rec.Canonical) {
		bodies = append(bodies, part{hash(sorted), "body re-encoded: the signature covers the body with its keys sorted " +
			"(decoded into a map and written again), but the body sent has them in another order: sign and send the same bytes"})
	}
	if len(x.rec.Canonical) > 0 {
		bodies = append(bodies, part{hash(nil), "body: the signature covers an empty body, but a body was sent"})
	}
	if token != "" {
		tokens = append(tokens, part{"", "the signed string has no access-token segment (the asymmetric form), but it was keyed with the client secret"})
	}

	var out []variant
	add := func(sts string, causes ...string) { out = append(out, variant{sts, causes}) }
	for _, e := range endpoints {
		add(build(method, e.value, token, bodyHash, ts), e.cause)
	}
	for _, b := range bodies {
		add(build(method, endpoint, token, b.value, ts), b.cause)
	}
	for _, tk := range tokens {
		add(build(method, endpoint, tk.value, bodyHash, ts), tk.cause)
	}
	if m := strings.ToLower(method); m != method {
		add(build(m, endpoint, token, bodyHash, ts), "the method is in lower case in the signed string; SNAP signs it in upper case")
	}
	for _, tv := range x.timestampVariants() {
		add(build(method, endpoint, token, bodyHash, tv.value), tv.cause)
		for _, e := range endpoints {
			add(build(method, e.value, token, bodyHash, tv.value), e.cause, tv.cause)
		}
		for _, b := range bodies {
			add(build(method, endpoint, token, b.value, tv.value), b.cause, tv.cause)
		}
	}
	for _, e := range endpoints {
		for _, b := range bodies {
			add(build(method, e.value, token, b.value, ts), e.cause, b.cause)
		}
	}
	return out
}

// endpointForms are the EndpointUrl forms providers sign: as sent, sorted
// query, path only, each with and without the server's path prefix.
func (x *exchange) endpointForms() []string {
	u := x.r.URL
	forms := []string{x.r.RequestURI, snapauth.Provider{EndpointForm: snapauth.EndpointSortedQuery}.EndpointURL(u), u.EscapedPath()}
	if p := x.cfg.prefix; p != "" {
		for _, f := range forms[:3] {
			if rest, ok := strings.CutPrefix(f, p); ok {
				forms = append(forms, rest)
			}
		}
	}
	if full, err := url.JoinPath("http://"+x.r.Host, u.EscapedPath()); err == nil {
		forms = append(forms, full)
	}
	seen := map[string]bool{}
	out := forms[:0]
	for _, f := range forms {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

func hash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// keysSorted writes a JSON body again with every object's keys sorted, as
// decoding into a map and encoding does, numbers as written.
func keysSorted(b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return nil, false
	}
	return bytes.TrimSuffix(out.Bytes(), []byte("\n")), true
}

// htmlEscaped writes <, > and & as \u003c, \u003e and \u0026, as Go's
// json.Marshal does. They are only ever inside strings in valid JSON.
func htmlEscaped(b []byte) []byte {
	r := strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`)
	return []byte(r.Replace(string(b)))
}
