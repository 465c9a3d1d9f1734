package snapauth

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Transport is an http.RoundTripper that turns plain HTTP requests into SNAP
// service calls. For each request it minifies the JSON body, sends the
// minified bytes, and adds the SNAP headers with a fresh signature over
// exactly those bytes:
//
//	Authorization           Bearer <token from Source>
//	Authorization-Customer  Bearer <token from the context's customer source, see WithCustomerToken>
//	X-TIMESTAMP             Now, in Provider's layout and zone
//	X-SIGNATURE             HMAC-SHA512 with ClientSecret, or SHA256withRSA with PrivateKey
//	X-PARTNER-ID            PartnerID
//	X-EXTERNAL-ID           the caller's value if set, else ExternalID()
//	CHANNEL-ID              ChannelID
//	ORIGIN                  Origin, when set
//	Content-Type            application/json, when the request has a body
//
// Headers the caller set are kept, except that Authorization,
// Authorization-Customer, X-TIMESTAMP and X-SIGNATURE always get the
// transport's values, X-PARTNER-ID, CHANNEL-ID and ORIGIN get the field's
// value when the field is not empty, and a Content-Type that is not
// application/json is replaced when a body is sent. Customer device headers
// (X-DEVICE-ID, X-IP-ADDRESS, X-LATITUDE, X-LONGITUDE) are the caller's to
// set per request.
//
// When the provider answers 401 with a SNAP case 01 or 03 (B2B access token
// invalid or not found) and Source implements TokenInvalidator, the transport
// drops that token, takes a fresh one and sends the request once more, signed
// anew with a new timestamp and the same X-EXTERNAL-ID (the provider rejected
// the first attempt before processing it). Case 02 or 04 (customer token
// invalid or not found) does the same with the context's customer source:
// the sources of this package then refresh the customer's token with the
// newest refresh token, and a refused refresh is an error matching
// ErrReauthorize. Nothing else is ever retried, and never more than once.
//
// The body is read into memory (SNAP bodies are small), so the retry can
// always replay it. The caller's request is never modified, and its body is
// always closed. HTTP answers, 4xx and 5xx included, are returned as
// responses, never as errors. A Transport is safe for concurrent use; its
// fields must not change while it is in use.
type Transport struct {
	// Base is the RoundTripper that sends the signed requests. Nil means
	// http.DefaultTransport.
	Base http.RoundTripper

	// Source supplies the B2B access token, sent as "Authorization: Bearer
	// <token>" whatever token type the provider named. It is required for
	// symmetric signatures, which cover the token. If it implements
	// ContextTokenSource, the request's context is passed to it; if it
	// implements TokenInvalidator, a token the provider rejects is dropped
	// and the request retried once. With PrivateKey set, Source may be nil,
	// and then no Authorization header is sent.
	Source oauth2.TokenSource

	// ClientSecret keys the symmetric service signature (HMAC-SHA512). It is
	// required unless PrivateKey is set.
	ClientSecret string

	// PartnerID is sent as X-PARTNER-ID. Empty means the header is left as
	// the caller set it.
	PartnerID string

	// ChannelID is sent as CHANNEL-ID. Empty means the header is left as the
	// caller set it.
	ChannelID string

	// PrivateKey, when not nil, switches the service signature to the
	// asymmetric SHA256withRSA form ("without token"): the string to sign
	// has no token segment, and ClientSecret is not used. Any crypto.Signer
	// holding an RSA key works (HSM, cloud KMS). Nil means the symmetric
	// HMAC-SHA512 signature keyed with ClientSecret.
	PrivateKey crypto.Signer

	// Origin is sent as ORIGIN when not empty (Finnet requires it). Empty
	// means the header is left as the caller set it; a Provider whose
	// ServiceHeaders names ORIGIN then refuses a call that has none.
	Origin string

	// Provider describes the provider's deviations: X-TIMESTAMP layout and
	// zone, how EndpointUrl is formed from the request URL, and the encoding
	// of X-SIGNATURE. The zero value is the SNAP standard.
	Provider Provider

	// ExternalID makes the X-EXTERNAL-ID of a request that has none. Nil
	// means an id in the Provider's format: NewExternalID cut to
	// Provider.ExternalIDLength, or a UUID for ExternalIDUUID. An id that
	// breaks the Provider's rule, made here or set by the caller, is an
	// error and nothing is sent.
	ExternalID ExternalIDFunc

	// Now is the clock for X-TIMESTAMP and the default X-EXTERNAL-ID. Nil
	// means time.Now.
	Now func() time.Time

	// Observer, if not nil, is told of every token the transport drops
	// because the provider rejected it (EventTokenInvalidated). Nil means the
	// Observer of the token source's config, if it is a source of this
	// package, else nothing is reported.
	Observer Observer
}

type customerSourceKey struct{}

// WithCustomerToken returns a copy of ctx carrying src, the customer's B2B2C
// token source. A Transport sending a request with that context adds
// "Authorization-Customer: Bearer <token>" with a token from src. A nil src
// returns ctx unchanged.
func WithCustomerToken(ctx context.Context, src oauth2.TokenSource) context.Context {
	if src == nil {
		return ctx
	}
	return context.WithValue(ctx, customerSourceKey{}, src)
}

func customerSource(ctx context.Context) oauth2.TokenSource {
	src, _ := ctx.Value(customerSourceKey{}).(oauth2.TokenSource)
	return src
}

// maxErrorBody is how much of a 401 answer the transport reads to learn its
// SNAP case.
const maxErrorBody = 64 << 10

// RoundTrip signs req and sends it through Base, following the
// http.RoundTripper rules: req is not modified and its body is closed, also
// when an error is returned. A body that is not JSON is an error and nothing
// is sent. Errors from the token sources are returned wrapped. A request
// that net/http made by following a redirect (req.Response is set) to
// another host, or from https to http, is refused with an error and nothing
// is sent, whatever the client's CheckRedirect: the signature and the
// tokens never reach a host the caller did not name.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkRedirected(req); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	body, err := readRequestBody(req)
	if err != nil {
		return nil, err
	}
	if req.URL == nil {
		return nil, errors.New("snapauth: request has no URL")
	}
	externalID, err := t.checkProfile(req.Header) // "" when the caller set one
	if err != nil {
		return nil, err
	}
	if t.PrivateKey == nil {
		if t.ClientSecret == "" {
			return nil, errors.New("snapauth: Transport has neither ClientSecret nor PrivateKey to sign with")
		}
		if t.Source == nil {
			return nil, errors.New("snapauth: Transport.Source is nil; the symmetric signature needs a B2B access token")
		}
	}
	min, err := minifyOwned(body)
	if err != nil {
		return nil, err
	}

	ctx := req.Context()
	var tok *oauth2.Token
	if t.Source != nil {
		if tok, err = sourceToken(ctx, t.Source); err != nil {
			return nil, fmt.Errorf("snapauth: B2B access token: %w", err)
		}
	}
	var customer string
	cs := customerSource(ctx)
	var ct *oauth2.Token
	if cs != nil {
		if ct, err = sourceToken(ctx, cs); err != nil {
			return nil, fmt.Errorf("snapauth: customer access token: %w", err)
		}
		customer = "Bearer " + ct.AccessToken
	}

	a := attempt{
		method:   req.Method,
		endpoint: t.Provider.EndpointURL(req.URL),
		body:     min,
		customer: customer,
	}
	if a.method == "" {
		a.method = http.MethodGet
	}
	a.externalID = externalID

	resp, err := t.send(req, &a, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	retry, err := t.renewRejected(ctx, resp, &a, &tok, cs, ct)
	if err != nil {
		return nil, err
	}
	if !retry {
		return resp, nil
	}
	resp.Body.Close()
	return t.send(req, &a, tok)
}

// renewRejected decides the retry of a 401 answer: when its SNAP case says
// the provider rejected the B2B token (01, 03) or the customer's token (02,
// 04) and that token's source is a TokenInvalidator, it drops the token,
// takes a fresh one from the source and puts it in *b2b or a, for the one
// resend. It reports false, leaving resp whole, when there is nothing to
// retry with; on an error it closes resp.
func (t *Transport) renewRejected(ctx context.Context, resp *http.Response, a *attempt, b2b **oauth2.Token,
	cs oauth2.TokenSource, ct *oauth2.Token) (bool, error) {
	src, old, what := t.Source, *b2b, "B2B access token"
	customer, ok := tokenRejected(resp)
	if !ok {
		return false, nil
	}
	if customer {
		src, old, what = cs, ct, "customer access token"
	}
	inv, ok := src.(TokenInvalidator)
	if !ok || old == nil {
		return false, nil
	}
	inv.Invalidate(old)
	flow := FlowB2B
	if customer {
		flow = FlowB2B2C
	}
	t.invalidated(ctx, flow, src, resp)
	fresh, err := sourceToken(ctx, src)
	if err != nil {
		resp.Body.Close()
		return false, fmt.Errorf("snapauth: the provider rejected the %s and no fresh one could be fetched: %w", what, err)
	}
	if fresh.AccessToken == old.AccessToken {
		return false, nil // the source has nothing newer; retrying would be rejected again
	}
	if customer {
		a.customer = "Bearer " + fresh.AccessToken
	} else {
		*b2b = fresh
	}
	return true, nil
}

// attempt is what stays the same between the first try and the retry.
type attempt struct {
	method, endpoint string
	body             []byte // minified; nil when there is none
	customer         string // Authorization-Customer value, "" when none
	externalID       string // generated X-EXTERNAL-ID, "" when the caller set one
}

// Canonical forms of the header names the transport sets.
const (
	hAuthorization = "Authorization"
	hCustomer      = "Authorization-Customer"
	hTimestamp     = "X-Timestamp"
	hSignature     = "X-Signature"
	hPartnerID     = "X-Partner-Id"
	hExternalID    = "X-External-Id"
	hChannelID     = "Channel-Id"
	hOrigin        = "Origin"
	hContentType   = "Content-Type"
)

const ourHeaders = 9

// outgoing is the signed copy of a request, with its body reader and the
// values of the headers the transport sets, in one allocation.
type outgoing struct {
	req  http.Request
	body bodyReader
	vals [ourHeaders]string
}

// send signs one attempt with tok and sends it through the base transport.
func (t *Transport) send(req *http.Request, a *attempt, tok *oauth2.Token) (*http.Response, error) {
	ts := t.Provider.Timestamp(t.now())
	var access string
	if tok != nil {
		access = tok.AccessToken
	}
	sig, err := t.sign(a, access, ts)
	if err != nil {
		return nil, err
	}

	o := new(outgoing)
	o.req = *req
	r2 := &o.req
	h := cloneHeader(req.Header, t.headerCount(a, tok))
	vals := o.vals[:]
	set := func(k, v string) {
		vals[0] = v
		h[k] = vals[:1:1]
		vals = vals[1:]
	}
	if tok != nil {
		set(hAuthorization, "Bearer "+access)
	}
	if a.customer != "" {
		set(hCustomer, a.customer)
	}
	set(hTimestamp, ts)
	set(hSignature, sig)
	if t.PartnerID != "" {
		set(hPartnerID, t.PartnerID)
	}
	if a.externalID != "" {
		set(hExternalID, a.externalID)
	}
	if t.ChannelID != "" {
		set(hChannelID, t.ChannelID)
	}
	if t.Origin != "" {
		set(hOrigin, t.Origin)
	}
	if len(a.body) > 0 {
		if ct := h[hContentType]; len(ct) == 0 || !isJSONMediaType(ct[0]) {
			set(hContentType, "application/json")
		}
	}
	r2.Header = h

	r2.TransferEncoding = nil
	r2.ContentLength = int64(len(a.body))
	switch {
	case len(a.body) > 0:
		b := a.body
		o.body.Reset(b)
		r2.Body = &o.body
		r2.GetBody = func() (io.ReadCloser, error) { return newBodyReader(b), nil }
	case req.Body != nil:
		r2.Body = http.NoBody
		r2.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
	default:
		r2.Body, r2.GetBody = nil, nil
	}
	return t.base().RoundTrip(r2)
}

// headerCount is how many headers send sets at most. Sizing the header map
// exactly keeps a small map in one allocation instead of four.
func (t *Transport) headerCount(a *attempt, tok *oauth2.Token) int {
	n := 2 // X-TIMESTAMP, X-SIGNATURE
	for _, set := range [...]bool{tok != nil, a.customer != "", t.PartnerID != "", a.externalID != "",
		t.ChannelID != "", t.Origin != "", len(a.body) > 0} {
		if set {
			n++
		}
	}
	return n
}

// sign returns X-SIGNATURE for one attempt.
func (t *Transport) sign(a *attempt, accessToken, timestamp string) (string, error) {
	if t.PrivateKey != nil {
		sig, err := signRSA(t.PrivateKey, serviceStringToSign(a.method, a.endpoint, "", a.body, timestamp))
		if err != nil {
			return "", err
		}
		return t.Provider.EncodeSignature(sig), nil
	}
	mac := hmacSHA512(t.ClientSecret, serviceStringToSign(a.method, a.endpoint, accessToken, a.body, timestamp))
	var buf [2 * 64]byte // room for 64 bytes in hex (128) or base64 (88)
	if t.Provider.Encoding == Hex {
		return string(hex.AppendEncode(buf[:0], mac)), nil
	}
	return string(base64.StdEncoding.AppendEncode(buf[:0], mac)), nil
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

func (t *Transport) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Transport) newExternalID() string {
	if t.ExternalID != nil {
		return t.ExternalID()
	}
	return t.Provider.newExternalID(t.now())
}

// cloneHeader copies h into a new map with room for extra more keys, with
// all values in one allocation. Keys are canonicalised, so that a value the
// caller stored under a non-canonical key is still found and replaced.
func cloneHeader(h http.Header, extra int) http.Header {
	n := 0
	for _, vv := range h {
		n += len(vv)
	}
	out := make(http.Header, len(h)+extra)
	if n == 0 {
		return out
	}
	all := make([]string, n)
	for k, vv := range h {
		if len(vv) == 0 {
			continue
		}
		ck := http.CanonicalHeaderKey(k)
		c := copy(all, vv)
		if prev, ok := out[ck]; ok {
			out[ck] = append(prev[:len(prev):len(prev)], all[:c]...)
		} else {
			out[ck] = all[:c:c]
		}
		all = all[c:]
	}
	return out
}

// hasValue reports whether h holds a non-empty value for the canonical key
// ck, also under a non-canonical spelling of it.
func hasValue(h http.Header, ck string) bool {
	if v := h[ck]; len(v) > 0 {
		return v[0] != ""
	}
	for k, v := range h {
		if len(v) > 0 && v[0] != "" && strings.EqualFold(k, ck) {
			return true
		}
	}
	return false
}

// sourceToken takes a token from src, passing ctx when src accepts one, and
// checks that it holds an access token.
func sourceToken(ctx context.Context, src oauth2.TokenSource) (*oauth2.Token, error) {
	var tok *oauth2.Token
	var err error
	if cs, ok := src.(ContextTokenSource); ok {
		tok, err = cs.TokenContext(ctx)
	} else {
		tok, err = src.Token()
	}
	if err != nil {
		return nil, err
	}
	if tok == nil || tok.AccessToken == "" {
		return nil, errors.New("snapauth: token source returned no access token")
	}
	return tok, nil
}

// tokenRejected reports whether a 401 answer's SNAP case says a token sent
// was rejected (ok), and whether that is the customer's token (02 invalid, 04
// not found) rather than the B2B access token (01 invalid, 03 not found). It
// reads at most maxErrorBody bytes of resp.Body and leaves resp.Body whole
// for the caller.
func tokenRejected(resp *http.Response) (customer, ok bool) {
	if resp.Body == nil || resp.Body == http.NoBody {
		return false, false
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(head), resp.Body), closer: resp.Body}
	if err != nil {
		return false, false
	}
	fields, _ := decodeObject(head)
	code, _ := snapCode(fields)
	if len(code) != 7 || code[:3] != "401" {
		return false, false
	}
	switch code[5:] {
	case "01", "03":
		return false, true
	case "02", "04":
		return true, true
	}
	return false, false
}

// Format writes the transport with ClientSecret and PrivateKey redacted, for
// every verb, so that logging a Transport never leaks a secret.
func (t Transport) Format(f fmt.State, verb rune) {
	secret := "\"\""
	if t.ClientSecret != "" {
		secret = "[redacted]"
	}
	fmt.Fprintf(f, "snapauth.Transport{PartnerID: %q, ChannelID: %q, Origin: %q, ClientSecret: %s, PrivateKey: %s, Provider: %q}",
		t.PartnerID, t.ChannelID, t.Origin, secret, redactedKey(t.PrivateKey), t.Provider.Name)
}
