package snapauth

import (
	"bytes"
	"cmp"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth/internal/canonjson"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// seenRequest is what the provider received, and the string it verified.
type seenRequest struct {
	Method       string
	URI          string
	Header       http.Header
	Body         []byte
	StringToSign string
}

// snapProvider is an httptest SNAP provider that verifies each request the
// way a provider does, with code of its own: it re-serialises the received
// body (parse and write back, as JSON.stringify(JSON.parse(body)) does),
// derives EndpointUrl from the raw request URI, and checks the signature with
// crypto/hmac or crypto/rsa directly. A request that fails a check is
// answered 401 4017300 and the failure is reported when the test ends.
type snapProvider struct {
	secret    string
	pub       *rsa.PublicKey // set: asymmetric signatures
	endpoint  EndpointForm   // only as a selector of the verifier's own code
	hexSig    bool
	timestamp *regexp.Regexp // X-TIMESTAMP layout; nil: the standard, +07:00
	now       func() time.Time
	// respond writes the answer to the n-th request (1-based) once it passed
	// verification; nil answers 200 2001700.
	respond func(w http.ResponseWriter, r seenRequest, n int)

	mu   sync.Mutex
	seen []seenRequest
	errs []string
	srv  *httptest.Server
}

var standardTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$`)

func startProvider(t *testing.T, p *snapProvider) *snapProvider {
	t.Helper()
	if p.secret == "" && p.pub == nil {
		p.secret = testSecret
	}
	if p.timestamp == nil {
		p.timestamp = standardTimestamp
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.srv = httptest.NewServer(p)
	t.Cleanup(func() {
		p.srv.Close()
		assert.Empty(t, p.failures(), "provider-side verification failures")
	})
	return p
}

func (p *snapProvider) URL(path string) string { return p.srv.URL + path }

func (p *snapProvider) requests() []seenRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

func (p *snapProvider) failures() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.errs)
}

func (p *snapProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	seen := seenRequest{Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone(), Body: body}
	problem := func() string {
		if err != nil {
			return "reading body: " + err.Error()
		}
		if r.ContentLength != int64(len(body)) {
			return fmt.Sprintf("Content-Length %d for %d bytes", r.ContentLength, len(body))
		}
		canon, err := canonjson.Reserialize(body)
		if err != nil {
			return "body: " + err.Error()
		}
		// A provider hashing the raw bytes and one hashing its own
		// re-serialisation must agree: the bytes sent are canonical.
		if !bytes.Equal(canon, body) {
			return fmt.Sprintf("body not canonical:\n got %s\nwant %s", body, canon)
		}
		if len(body) > 0 && r.Header.Get("Content-Type") == "" {
			return "no Content-Type with a body"
		}
		ts := r.Header.Get("X-TIMESTAMP")
		if !p.timestamp.MatchString(ts) {
			return fmt.Sprintf("X-TIMESTAMP %q does not match %s", ts, p.timestamp)
		}
		when, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return "X-TIMESTAMP: " + err.Error()
		}
		if d := p.now().Sub(when); d > 5*time.Minute || d < -5*time.Minute {
			return fmt.Sprintf("X-TIMESTAMP %s is %v off", ts, d)
		}
		for _, h := range []string{"X-PARTNER-ID", "X-EXTERNAL-ID", "CHANNEL-ID", "X-SIGNATURE"} {
			if r.Header.Get(h) == "" {
				return "missing " + h
			}
		}
		sum := sha256.Sum256(canon)
		parts := []string{strings.ToUpper(r.Method), p.endpointURL(r.RequestURI)}
		if p.pub == nil {
			token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || token == "" {
				return "Authorization is not a Bearer token"
			}
			parts = append(parts, token)
		}
		parts = append(parts, hex.EncodeToString(sum[:]), ts)
		seen.StringToSign = strings.Join(parts, ":")

		sig, err := p.decodeSignature(r.Header.Get("X-SIGNATURE"))
		if err != nil {
			return "X-SIGNATURE: " + err.Error()
		}
		if p.pub != nil {
			digest := sha256.Sum256([]byte(seen.StringToSign))
			if rsa.VerifyPKCS1v15(p.pub, crypto.SHA256, digest[:], sig) != nil {
				return "RSA signature does not verify over " + seen.StringToSign
			}
			return ""
		}
		mac := hmac.New(sha512.New, []byte(p.secret))
		mac.Write([]byte(seen.StringToSign))
		if !hmac.Equal(mac.Sum(nil), sig) {
			return "HMAC signature does not verify over " + seen.StringToSign
		}
		return ""
	}()

	p.mu.Lock()
	p.seen = append(p.seen, seen)
	n := len(p.seen)
	if problem != "" {
		p.errs = append(p.errs, fmt.Sprintf("request %d %s %s: %s", n, r.Method, r.RequestURI, problem))
	}
	p.mu.Unlock()

	if problem != "" {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"responseCode":"4017300","responseMessage":"Unauthorized. [Signature]"}`)
		return
	}
	if p.respond != nil {
		p.respond(w, seen, n)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"responseCode":"2001700","responseMessage":"Successful","echo":%q}`, r.Header.Get("X-EXTERNAL-ID"))
}

func (p *snapProvider) decodeSignature(s string) ([]byte, error) {
	if p.hexSig {
		return hex.DecodeString(s)
	}
	return base64.StdEncoding.DecodeString(s)
}

// endpointURL derives EndpointUrl from the raw request URI the way each kind
// of provider does.
func (p *snapProvider) endpointURL(uri string) string {
	path, query, _ := strings.Cut(uri, "?")
	switch p.endpoint {
	case EndpointPathOnly:
		return path
	case EndpointSortedQuery:
		if query == "" {
			return path
		}
		type pair struct{ k, v string }
		var pairs []pair
		for _, kv := range strings.Split(query, "&") {
			if kv == "" {
				continue
			}
			k, v, _ := strings.Cut(kv, "=")
			k, _ = url.QueryUnescape(k)
			v, _ = url.QueryUnescape(v)
			pairs = append(pairs, pair{k, v})
		}
		slices.SortFunc(pairs, func(a, b pair) int { return cmp.Or(strings.Compare(a.k, b.k), strings.Compare(a.v, b.v)) })
		enc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
		out := make([]string, len(pairs))
		for i, kv := range pairs {
			out[i] = enc(kv.k) + "=" + enc(kv.v)
		}
		return path + "?" + strings.Join(out, "&")
	default:
		return uri
	}
}

// ---------------------------------------------------------------------------
// Test parts: an RSA key, a counting token source, a clock, a body that counts
// its closes, and a provider that verifies every signature by its own code.

const testSecret = "client-secret-Zq9!"

// countingSource hands out tokens in order: the current one until it is
// invalidated, then the next. It implements ContextTokenSource and
// TokenInvalidator and records what it was asked.
type countingSource struct {
	mu          sync.Mutex
	tokens      []*oauth2.Token
	i           int
	err         error // returned by every call while set
	errOnRenew  error // becomes err after an Invalidate
	stayOnToken bool  // Invalidate drops nothing
	calls       int   // Token and TokenContext calls
	invalidated []string
	lastCtx     context.Context
}

func newCountingSource(tokens ...string) *countingSource {
	s := &countingSource{}
	for _, a := range tokens {
		// The provider's lower-case token type; the transport must send "Bearer".
		s.tokens = append(s.tokens, &oauth2.Token{AccessToken: a, TokenType: "bearer", Expiry: time.Now().Add(time.Hour)})
	}
	return s
}

func (s *countingSource) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

func (s *countingSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.lastCtx = ctx
	if s.err != nil {
		return nil, s.err
	}
	return s.tokens[s.i], nil
}

func (s *countingSource) Invalidate(t *oauth2.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalidated = append(s.invalidated, t.AccessToken)
	if s.errOnRenew != nil {
		s.err = s.errOnRenew
	}
	if !s.stayOnToken && s.tokens[s.i].AccessToken == t.AccessToken && s.i+1 < len(s.tokens) {
		s.i++
	}
}

func (s *countingSource) stats() (calls int, invalidated []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, slices.Clone(s.invalidated)
}

// stepClock returns start, start+step, start+2*step, ...
type stepClock struct {
	mu   sync.Mutex
	next time.Time
	step time.Duration
}

func newStepClock(start time.Time, step time.Duration) *stepClock {
	return &stepClock{next: start, step: step}
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.next
	c.next = c.next.Add(c.step)
	return now
}

// closeCounter is a request body that counts its Close calls.
type closeCounter struct {
	io.Reader
	closes atomic.Int32
}

func newCloseCounter(s string) *closeCounter { return &closeCounter{Reader: strings.NewReader(s)} }

func (c *closeCounter) Close() error { c.closes.Add(1); return nil }

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// newTestTransport returns a symmetric transport on a fixed clock.
func newTestTransport(src oauth2.TokenSource) *Transport {
	return &Transport{
		Source:       src,
		ClientSecret: testSecret,
		PartnerID:    "partner-82150823919040624621823174737537",
		ChannelID:    "95221",
		Origin:       "www.merchant.example",
	}
}

// prettyPayload is a pretty-printed body with the characters json.Marshal
// escapes (<>&), non-ASCII text, escapes and numbers written unusually.
func prettyPayload(t *testing.T) []byte {
	t.Helper()
	v := map[string]any{
		"partnerReferenceNo": "2020102900000000000001",
		"note":               "<b>Tom & Jerry</b> café Ñandú 日本語 🎉",
		"amount":             map[string]any{"value": "12345678.00", "currency": "IDR"},
		"additionalInfo":     map[string]any{"path": "a/b\\c", "quote": `say "hi"`, "tab": "x\ty\nz"},
	}
	b, err := json.MarshalIndent(v, "", "    ") // escapes <, > and & as \u003c...
	require.NoError(t, err)
	require.Contains(t, string(b), `\u003cb\u003e`, "json.Marshal escapes HTML characters")
	// An escaped solidus and odd spacing, as in a hand-written body.
	return append(b[:len(b)-1], []byte(",\n    \"n\" : 150 ,  \"url\": \"https:\\/\\/x.example\\/cb\"\n}")...)
}
