package snapauth

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snapauth/snapauth/internal/bearer"
)

// Defaults of the Verifier.
const (
	// DefaultSkew is how far X-TIMESTAMP may lie from the verifier's clock,
	// before or after.
	DefaultSkew = 5 * time.Minute
	// DefaultMaxBody is the largest request body a Verifier reads, in bytes.
	// SNAP bodies are a few KiB at most.
	DefaultMaxBody = 1 << 20
)

// Verifier checks what a SNAP partner or provider sends you: payment
// notifications, a bank calling your virtual-account inquiry, a bank asking
// you for a token. Set PublicKey, ClientSecret or both; with neither, every
// request is refused (500xx01). A Verifier is safe for concurrent use; it
// must not be copied after first use (it holds its default replay store).
type Verifier struct {
	// PublicKey is the sender's RSA public key. It checks token requests,
	// asymmetric service calls and notifications. Nil means asymmetric
	// signatures are refused.
	PublicKey *rsa.PublicKey
	// ClientSecret keys the symmetric (HMAC-SHA512) service signature, which
	// covers the caller's bearer token. Empty means symmetric signatures are
	// not checked: a request is checked asymmetrically even if it carries a
	// bearer. Verify does not check that the bearer token is one you issued;
	// TokenServer.Middleware does.
	ClientSecret string
	// Provider says how the EndpointUrl of the string to sign is formed from
	// the request URI (Provider.EndpointForm); the zero value is the standard
	// (path and query exactly as sent). Every X-TIMESTAMP layout
	// ParseTimestamp knows is accepted, and every signature encoding
	// VerifySymmetric and VerifyAsymmetric know, whatever Provider says.
	Provider Provider
	// Now is the clock X-TIMESTAMP is checked against. Nil means time.Now.
	Now func() time.Time
	// Skew is how far X-TIMESTAMP may lie from Now, before or after. Zero or
	// negative means DefaultSkew.
	Skew time.Duration
	// MaxBody is the largest body read, in bytes; a larger one is refused
	// (400xx00). Zero or negative means DefaultMaxBody.
	MaxBody int64
	// Replay remembers the accepted X-EXTERNAL-IDs, each accepted once per
	// partner per day (a reuse is ErrReplay, 409xx00). Nil means a
	// MemoryReplayStore of the Verifier's own, which is right for one
	// process; give every replica of a fleet one shared store
	// (redisstore.Store).
	Replay ReplayStore
	// PartnerID, when set, is the only X-PARTNER-ID accepted (another is
	// refused 401xx00 "Unauthorized. [X-PARTNER-ID]"). Empty means any.
	PartnerID string
	// OnRefusal, when set, is called by Middleware with every request it
	// refuses and why, for logging. The error never holds a secret.
	OnRefusal func(r *http.Request, err error)

	replay atomic.Pointer[MemoryReplayStore] // the default Replay
}

// Format writes the verifier with its client secret redacted, for every
// verb, so that logging a Verifier never leaks the secret.
func (v *Verifier) Format(f fmt.State, verb rune) {
	secret := `""`
	if v.ClientSecret != "" {
		secret = "[redacted]"
	}
	fmt.Fprintf(f, "snapauth.Verifier{PublicKey: %t, ClientSecret: %s, Provider: %q, PartnerID: %q}",
		v.PublicKey != nil, secret, v.Provider.Name, v.PartnerID)
}

// Verify checks a service request: X-TIMESTAMP inside the allowed window
// (Skew, 5 minutes either way by default) and X-SIGNATURE over its method,
// EndpointUrl, bearer token and its body exactly as received with only
// insignificant whitespace removed. It also accepts a signature over the
// canonical Minify form of the body, for senders that hash their own
// re-serialisation. The form is symmetric when ClientSecret is set and the
// request carries "Authorization: Bearer"; otherwise asymmetric with
// PublicKey. X-PARTNER-ID and X-EXTERNAL-ID are mandatory, and the external
// id of a verified request is then recorded (see Replay and ReplayKey).
//
// It reads the body (at most MaxBody bytes) and leaves r.Body readable from
// the start. Every refusal is a *RequestError carrying the SNAP answer it
// calls for; a bad signature matches ErrInvalidSignature, a timestamp outside
// the window ErrStaleTimestamp, a reused external id ErrReplay, and missing
// or malformed headers and bodies ErrMissingHeader, ErrInvalidHeader and
// ErrInvalidBody.
func (v *Verifier) Verify(r *http.Request) error {
	_, err := v.verify(r, nil)
	if err != nil {
		return err // a typed nil *RequestError never escapes
	}
	return nil
}

// VerifyTokenRequest checks an access-token request: X-TIMESTAMP inside the
// window and X-SIGNATURE over X-CLIENT-KEY|X-TIMESTAMP with PublicKey; same
// errors as Verify. It does not read the body.
func (v *Verifier) VerifyTokenRequest(r *http.Request) error {
	if err := v.verifyTokenRequest(r); err != nil {
		return err
	}
	return nil
}

func (v *Verifier) verifyTokenRequest(r *http.Request) *RequestError {
	ts, e := header(r.Header, "X-Timestamp", "X-TIMESTAMP")
	if e != nil {
		return e
	}
	clientKey, e := header(r.Header, "X-Client-Key", "X-CLIENT-KEY")
	if e != nil {
		return e
	}
	sig, e := header(r.Header, "X-Signature", "X-SIGNATURE")
	if e != nil {
		return e
	}
	if _, e := v.checkTimestamp(ts); e != nil {
		return e
	}
	if v.PublicKey == nil {
		return internalError(errors.New("snapauth: Verifier has no PublicKey to check a token request"))
	}
	if VerifyAsymmetric(v.PublicKey, TokenStringToSign(clientKey, ts), sig) != nil {
		return errBadSignature()
	}
	return nil
}

// tokenLookup finds the partner an access token was issued to: the client
// secret its symmetric signatures are keyed with, and the client key it is
// known by. An unknown or expired token is refused 401xx01.
type tokenLookup func(ctx context.Context, token string) (clientSecret, clientKey string, e *RequestError)

// verified is what a successful verification established.
type verified struct {
	partner   string // the replay key's partner: the token's client key, or X-PARTNER-ID
	clientKey string // the client key of the token, when a TokenServer checked it
}

// verify checks a service request. With lookup (TokenServer) the request
// must carry a bearer token that lookup knows, and the signature is
// symmetric with that token's client secret.
func (v *Verifier) verify(r *http.Request, lookup tokenLookup) (verified, *RequestError) {
	var out verified
	h := r.Header
	ts, e := header(h, "X-Timestamp", "X-TIMESTAMP")
	if e != nil {
		return out, e
	}
	sig, e := header(h, "X-Signature", "X-SIGNATURE")
	if e != nil {
		return out, e
	}
	partnerID, e := idHeader(h, "X-Partner-Id", "X-PARTNER-ID")
	if e != nil {
		return out, e
	}
	externalID, e := idHeader(h, "X-External-Id", "X-EXTERNAL-ID")
	if e != nil {
		return out, e
	}
	if len(h["Authorization"]) > 1 {
		return out, invalidHeader("Authorization")
	}
	signedAt, e := v.checkTimestamp(ts)
	if e != nil {
		return out, e
	}
	if v.PartnerID != "" && partnerID != v.PartnerID {
		return out, unauthorized("X-PARTNER-ID", ErrUnauthorized)
	}
	out.partner = partnerID

	token, hasBearer := bearer.Token(h.Get("Authorization"))
	secret := v.ClientSecret
	switch {
	case lookup != nil && !hasBearer:
		if h.Get("Authorization") != "" {
			return out, errInvalidToken()
		}
		return out, errNoToken()
	case lookup != nil:
		if secret, out.clientKey, e = lookup(r.Context(), token); e != nil {
			return out, e
		}
		out.partner = out.clientKey
	case secret != "" && hasBearer:
	case v.PublicKey != nil:
		token = ""
	case secret != "" && h.Get("Authorization") != "":
		return out, errInvalidToken()
	case secret != "":
		return out, errNoToken()
	default:
		return out, internalError(errors.New("snapauth: Verifier has neither PublicKey nor ClientSecret"))
	}

	body, e := readBody(r, v.maxBody())
	if e != nil {
		return out, e
	}
	if e := v.checkSignature(r, body, token, secret, ts, sig); e != nil {
		return out, e
	}

	day, ttl := replayWindow(signedAt, v.now(), v.skew())
	seen, err := v.replayStore().Seen(r.Context(), ReplayKey(out.partner, externalID, day), ttl)
	if err != nil {
		return out, internalError(err)
	}
	if seen {
		return out, errReplayed()
	}
	return out, nil
}

// checkSignature checks sig over the request with the body as received
// minus insignificant whitespace and, failing that, over its canonical Minify
// form when that differs. A non-empty token means symmetric with secret.
func (v *Verifier) checkSignature(r *http.Request, body []byte, token, secret, ts, sig string) *RequestError {
	bp := compactScratch.Get().(*[]byte)
	compact, e := compactBody((*bp)[:0], body)
	defer func() {
		if cap(compact) <= maxScratch {
			*bp = compact[:0]
			compactScratch.Put(bp)
		}
	}()
	if e != nil {
		return e
	}
	endpoint := v.endpointURL(r)
	check := func(b []byte) bool {
		sts := serviceStringToSign(r.Method, endpoint, token, b, ts)
		if token != "" {
			return VerifySymmetric(secret, sts, sig) == nil
		}
		return VerifyAsymmetric(v.PublicKey, sts, sig) == nil
	}
	if check(compact) {
		return nil
	}
	if bytes.IndexByte(compact, '\\') >= 0 {
		canonical, err := appendMinifiedChecked(make([]byte, 0, len(compact)), compact)
		if err == nil && !bytes.Equal(canonical, compact) && check(canonical) {
			return nil
		}
	}
	return errBadSignature()
}

var compactScratch = sync.Pool{New: func() any { return new([]byte) }}

// endpointURL is the EndpointUrl the sender signed: the request URI as
// received (so a prefix removed by http.StripPrefix still counts), formed per
// v.Provider.
func (v *Verifier) endpointURL(r *http.Request) string {
	uri := r.RequestURI
	if strings.HasPrefix(uri, "/") {
		if v.Provider.EndpointForm == EndpointAsSent {
			return uri
		}
		if u, err := url.ParseRequestURI(uri); err == nil {
			return v.Provider.EndpointURL(u)
		}
	}
	if r.URL == nil {
		return "/"
	}
	return v.Provider.EndpointURL(r.URL)
}

func (v *Verifier) checkTimestamp(ts string) (time.Time, *RequestError) {
	t, err := CheckTimestamp(ts, v.now(), v.skew())
	switch {
	case errors.Is(err, ErrStaleTimestamp):
		return time.Time{}, unauthorized("Timestamp", err)
	case err != nil:
		return time.Time{}, invalidHeader("X-TIMESTAMP")
	}
	return t, nil
}

func (v *Verifier) now() time.Time { return nowFunc(v.Now)() }

func (v *Verifier) skew() time.Duration { return positiveOr(v.Skew, DefaultSkew) }

func (v *Verifier) maxBody() int64 { return positiveOr(v.MaxBody, DefaultMaxBody) }

func (v *Verifier) replayStore() ReplayStore {
	if v.Replay != nil {
		return v.Replay
	}
	return lazy(&v.replay, NewMemoryReplayStore)
}

// lazy returns the value p points to, storing newValue() there first if p
// holds nil; concurrent first calls agree on one value.
func lazy[T any](p *atomic.Pointer[T], newValue func() *T) *T {
	if x := p.Load(); x != nil {
		return x
	}
	p.CompareAndSwap(nil, newValue())
	return p.Load()
}
