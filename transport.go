package snapauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
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
// the first attempt before processing it). Nothing else is ever retried.
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
	// means the header is left as the caller set it.
	Origin string

	// Provider describes the provider's deviations: X-TIMESTAMP layout and
	// zone, how EndpointUrl is formed from the request URL, and the encoding
	// of X-SIGNATURE. The zero value is the SNAP standard.
	Provider Provider

	// ExternalID makes the X-EXTERNAL-ID of a request that has none, a new
	// one for each call; it must be safe for concurrent use. SNAP wants it
	// unique per partner per day (a provider answers 409xx00 to a reused
	// one), and an id that breaks the Provider's rule (numeric, at most 36
	// characters by the standard, 32 at Finnet) is an error before anything
	// is sent. Nil means an id in the Provider's format, as NewExternalID
	// makes for the standard.
	ExternalID func() string

	// Now is the clock for X-TIMESTAMP and the default X-EXTERNAL-ID. Nil
	// means time.Now.
	Now func() time.Time

	// MaxBodySize is the largest request body, in bytes, the transport
	// reads and signs. A larger body is refused before anything is sent,
	// with an error wrapping *http.MaxBytesError, after reading at most
	// MaxBodySize+1 bytes of it (none when its ContentLength says it is
	// larger), so the memory a request can take is bounded by MaxBodySize.
	// Zero or less means 8 MiB, far above any SNAP body.
	MaxBodySize int64

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
// is sent. Errors from the token sources are returned wrapped.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkRedirected(req); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	body, err := readRequestBody(req, t.maxBodySize())
	if err != nil {
		return nil, err
	}
	if req.URL == nil {
		return nil, errors.New("snapauth: request has no URL")
	}
	externalID, generateID, err := t.checkProfile(req.Header)
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
	min, bodySum, err := minifyOwned(body)
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
		bodySum:  bodySum,
		customer: customer,
	}
	if a.method == "" {
		a.method = http.MethodGet
	}
	now := t.now() // one clock read for the first attempt's X-TIMESTAMP and the ID
	a.externalID = externalID
	if generateID {
		a.newID = t.Provider.putExternalID(&a.idBuf, now) // made a string with the other headers
	}

	resp, err := t.send(req, &a, tok, now)
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
	return t.send(req, &a, tok, t.now())
}

// attempt is what stays the same between the first try and the retry.
type attempt struct {
	method, endpoint string
	body             []byte // minified; nil when there is none
	bodySum          [sha256.Size]byte
	customer         string // Authorization-Customer value, "" when none
	externalID       string // generated X-EXTERNAL-ID, "" when the caller set one
	// idBuf[:newID] is the X-EXTERNAL-ID the transport made, until send
	// turns it into externalID (with the other header values, in one
	// allocation) for this and any later attempt.
	idBuf [36]byte
	newID int
}

// outgoing is the signed copy of a request, with its body reader and the
// values of the headers the transport sets, in one allocation.
type outgoing struct {
	req  http.Request
	body bytes.Reader
	vals [numHeaderSlots]string // by slot; "" leaves the header as the caller set it
}

// send signs one attempt with tok and the time now, and sends it through
// the base transport.
func (t *Transport) send(req *http.Request, a *attempt, tok *oauth2.Token, now time.Time) (*http.Response, error) {
	var tsBuf [64]byte
	ts := t.Provider.appendTimestamp(tsBuf[:0], now)
	var access string
	if tok != nil {
		access = tok.AccessToken
	}
	var sigBuf [2 * 64]byte // room for 64 bytes in hex (128) or base64 (88)
	sig, err := t.appendSignature(sigBuf[:0], a, access, ts)
	if err != nil {
		return nil, err
	}

	o := new(outgoing)
	o.req = *req
	r2 := &o.req
	v := &o.vals
	vals := headerStrings(ts, sig, tok != nil, access, a.idBuf[:a.newID])
	if a.newID > 0 { // the id made for the first attempt: a retry reuses its string
		a.externalID, a.newID = vals.externalID, 0
	}
	v[slotTimestamp], v[slotSignature], v[slotAuthorization] = vals.timestamp, vals.signature, vals.bearer
	v[slotCustomer] = a.customer
	v[slotPartnerID] = t.PartnerID
	v[slotExternalID] = a.externalID
	v[slotChannelID] = t.ChannelID
	v[slotOrigin] = t.Origin
	if len(a.body) > 0 {
		v[slotContentType] = "application/json"
	}
	r2.Header = withHeaders(req.Header, v)

	r2.TransferEncoding = nil
	r2.ContentLength = int64(len(a.body))
	switch {
	case len(a.body) > 0:
		// A *bytes.Reader behind io.NopCloser is what net/http knows to be
		// in memory: it then writes headers and body in one write instead
		// of flushing the headers first (transfer.go, Go issue 22088).
		b := a.body
		o.body.Reset(b)
		r2.Body = io.NopCloser(&o.body)
		r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	case req.Body != nil:
		r2.Body = http.NoBody
		r2.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
	default:
		r2.Body, r2.GetBody = nil, nil
	}
	base := t.base()
	resp, err := base.RoundTrip(r2)
	return baseAnswer(base, resp, err)
}

// baseAnswer holds a Base to the RoundTripper contract the way net/http's
// Client does: an error comes alone (a response sent with it is closed), a
// missing response is an error, and a missing body becomes http.NoBody.
func baseAnswer(base http.RoundTripper, resp *http.Response, err error) (*http.Response, error) {
	if err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		return nil, err
	}
	if resp == nil {
		return nil, fmt.Errorf("snapauth: Base RoundTripper (%T) returned a nil *http.Response with a nil error", base)
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	return resp, nil
}

// appendSignature appends X-SIGNATURE for one attempt to dst.
func (t *Transport) appendSignature(dst []byte, a *attempt, accessToken string, timestamp []byte) ([]byte, error) {
	if t.PrivateKey != nil {
		var buf [512]byte
		sts := appendStringToSignSum(buf[:0], a.method, a.endpoint, "", a.bodySum, timestamp)
		sig, err := signRSA(t.PrivateKey, string(sts))
		if err != nil {
			return nil, err
		}
		return append(dst, t.Provider.EncodeSignature(sig)...), nil
	}
	pool, m := getMAC(t.ClientSecret)
	defer putMAC(pool, m)
	m.msg = appendStringToSignSum(m.msg[:0], a.method, a.endpoint, accessToken, a.bodySum, timestamp)
	mac := m.mac()
	if t.Provider.Encoding == Hex {
		return hex.AppendEncode(dst, mac), nil
	}
	return base64.StdEncoding.AppendEncode(dst, mac), nil
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// defaultMaxBodySize is MaxBodySize's default.
const defaultMaxBodySize = 8 << 20

func (t *Transport) maxBodySize() int64 { return positiveOr(t.MaxBodySize, defaultMaxBodySize) }

func (t *Transport) now() time.Time { return nowFunc(t.Now)() }

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
