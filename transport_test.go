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
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

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
		canon, err := reserialize(body)
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

// reserialize parses JSON token by token and writes it back compact, with
// strings escaped as JavaScript's JSON.stringify escapes them and numbers
// and key order as written: the provider's view of the canonical body.
func reserialize(body []byte) ([]byte, error) {
	if len(body) == 0 {
		return []byte{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out bytes.Buffer
	type frame struct {
		object bool
		n      int
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			out.WriteByte(byte(d))
			if len(stack) > 0 {
				stack[len(stack)-1].n++
			}
			continue
		}
		if len(stack) > 0 {
			f := &stack[len(stack)-1]
			switch {
			case f.object && f.n%2 == 1:
				out.WriteByte(':')
			case f.n > 0:
				out.WriteByte(',')
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			out.WriteByte(byte(v))
			stack = append(stack, frame{object: v == '{'})
			continue
		case string:
			out.WriteString(jsString(v))
		case json.Number:
			out.WriteString(v.String())
		case bool:
			out.WriteString(strconv.FormatBool(v))
		case nil:
			out.WriteString("null")
		}
		if len(stack) > 0 {
			stack[len(stack)-1].n++
		}
	}
	return out.Bytes(), nil
}

func jsString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

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

// ---------------------------------------------------------------------------
// Tests

func TestTransportSignsPrettyBody(t *testing.T) {
	clock := newStepClock(time.Now(), time.Millisecond)
	p := startProvider(t, &snapProvider{now: time.Now})
	src := newCountingSource("tok-1")
	tr := newTestTransport(src)
	tr.Now = clock.Now

	// Numbers are kept exactly as written (SNAP amounts are strings anyway).
	pretty := prettyPayload(t)
	payload := append(pretty[:len(pretty)-1:len(pretty)-1], []byte(", \"m\": 1.50e+2 }")...)
	body := newCloseCounter(string(payload))
	req, err := http.NewRequest(http.MethodPost, p.URL("/snap/v1.0/transfer-intrabank"), body)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, 1, body.closes.Load())

	seen := p.requests()
	require.Len(t, seen, 1)
	got := seen[0]
	want, err := reserialize(payload)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got.Body), "the minified bytes are sent")
	assert.Contains(t, string(got.Body), `"note":"<b>Tom & Jerry</b> café Ñandú 日本語 🎉"`)
	assert.Contains(t, string(got.Body), `"n":150,"url":"https://x.example/cb","m":1.50e+2}`)
	assert.Contains(t, string(got.Body), `"path":"a/b\\c","quote":"say \"hi\"","tab":"x\ty\nz"`)
	assert.Equal(t, "Bearer tok-1", got.Header.Get("Authorization"), "token type normalised to Bearer")
	assert.Equal(t, tr.PartnerID, got.Header.Get("X-PARTNER-ID"))
	assert.Equal(t, "95221", got.Header.Get("CHANNEL-ID"))
	assert.Equal(t, "www.merchant.example", got.Header.Get("ORIGIN"))
	assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
	assert.Regexp(t, `^[0-9]{36}$`, got.Header.Get("X-EXTERNAL-ID"))
	assert.Empty(t, got.Header.Get("Authorization-Customer"))
	assert.True(t, strings.HasPrefix(got.StringToSign, "POST:/snap/v1.0/transfer-intrabank:tok-1:"), got.StringToSign)
	calls, _ := src.stats()
	assert.Equal(t, 1, calls)
}

func TestTransportQueryStringsAndEndpointForms(t *testing.T) {
	const path = "/openapi/v1.0/balance-inquiry"
	const query = "b=2&a=z&a=1&q=hello%20world&sym=%2A~%2B"
	for _, tc := range []struct {
		name     string
		provider Provider
		form     EndpointForm
		endpoint string // what the verifier must have derived
	}{
		{"as sent", Standard, EndpointAsSent, path + "?" + query},
		{"BCA sorted", BCA, EndpointSortedQuery, path + "?a=1&a=z&b=2&q=hello%20world&sym=%2A~%2B"},
		{"path only", Provider{Name: "payermax", Endpoint: EndpointPathOnly}, EndpointPathOnly, path},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProvider(t, &snapProvider{endpoint: tc.form})
			tr := newTestTransport(newCountingSource("tok-q"))
			tr.Provider = tc.provider
			resp, err := (&http.Client{Transport: tr}).Get(p.URL(path + "?" + query))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			seen := p.requests()
			require.Len(t, seen, 1)
			emptySum := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
			assert.Equal(t, "GET:"+tc.endpoint+":tok-q:"+emptySum+":"+seen[0].Header.Get("X-TIMESTAMP"), seen[0].StringToSign)
			assert.Empty(t, seen[0].Header.Get("Content-Type"), "no body, no Content-Type")
		})
	}
}

func TestTransportEmptyBody(t *testing.T) {
	p := startProvider(t, &snapProvider{})
	tr := newTestTransport(newCountingSource("tok-e"))
	for _, tc := range []struct {
		name string
		body io.Reader
	}{
		{"nil", nil},
		{"NoBody", http.NoBody},
		{"empty reader", bytes.NewReader(nil)},
		{"empty unknown-length reader", io.LimitReader(strings.NewReader("x"), 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, p.URL("/v1.0/ping"), tc.body)
			require.NoError(t, err)
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
		})
	}
	for _, s := range p.requests() {
		assert.Empty(t, s.Body)
		assert.Contains(t, s.StringToSign, ":e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855:")
	}
	assert.Len(t, p.requests(), 4)
}

func TestTransportTimestampAndEncodingDeviations(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 89_000_000, time.UTC)
	for _, tc := range []struct {
		provider  Provider
		pattern   *regexp.Regexp
		timestamp string
		hexSig    bool
	}{
		{Standard, standardTimestamp, "2026-03-04T12:06:07+07:00", false},
		{BRI, regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+07:00$`), "2026-03-04T12:06:07.089+07:00", false},
		{DOKU, regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`), "2026-03-04T05:06:07Z", false},
		{Provider{Name: "hex sandbox", Encoding: Hex}, standardTimestamp, "2026-03-04T12:06:07+07:00", true},
	} {
		t.Run(tc.provider.Name, func(t *testing.T) {
			p := startProvider(t, &snapProvider{timestamp: tc.pattern, hexSig: tc.hexSig, now: func() time.Time { return at }})
			tr := newTestTransport(newCountingSource("tok-ts"))
			tr.Provider = tc.provider
			tr.Now = func() time.Time { return at }
			resp, err := (&http.Client{Transport: tr}).Post(p.URL("/v1.0/x"), "application/json", strings.NewReader(`{ "a" : 1 }`))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			seen := p.requests()
			require.Len(t, seen, 1)
			assert.Equal(t, tc.timestamp, seen[0].Header.Get("X-TIMESTAMP"))
			sig := seen[0].Header.Get("X-SIGNATURE")
			if tc.hexSig {
				assert.Regexp(t, `^[0-9a-f]{128}$`, sig)
			} else {
				assert.Len(t, sig, 88)
			}
		})
	}
}

func TestTransportCustomerToken(t *testing.T) {
	p := startProvider(t, &snapProvider{})
	b2b := newCountingSource("tok-b2b")
	customer := newCountingSource("tok-customer")
	tr := newTestTransport(b2b)

	type probe struct{}
	ctx := context.WithValue(context.Background(), probe{}, "request context")
	ctx = WithCustomerToken(ctx, customer)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL("/v1.0/debit/payment-host-to-host"), strings.NewReader(`{"partnerReferenceNo":"1"}`))
	require.NoError(t, err)
	req.Header.Set("X-DEVICE-ID", "device-7")
	req.Header.Set("X-IP-ADDRESS", "203.0.113.9")
	req.Header.Set("X-LATITUDE", "-6.2")
	req.Header.Set("X-LONGITUDE", "106.8")
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	seen := p.requests()
	require.Len(t, seen, 1)
	h := seen[0].Header
	assert.Equal(t, "Bearer tok-b2b", h.Get("Authorization"))
	assert.Equal(t, "Bearer tok-customer", h.Get("Authorization-Customer"))
	assert.Equal(t, "device-7", h.Get("X-DEVICE-ID"))
	assert.Equal(t, "203.0.113.9", h.Get("X-IP-ADDRESS"))
	assert.Equal(t, "-6.2", h.Get("X-LATITUDE"))
	assert.Equal(t, "106.8", h.Get("X-LONGITUDE"))
	// Both sources got the request's context.
	for _, s := range []*countingSource{b2b, customer} {
		s.mu.Lock()
		assert.Equal(t, "request context", s.lastCtx.Value(probe{}))
		s.mu.Unlock()
	}
	assert.Equal(t, context.Background(), WithCustomerToken(context.Background(), nil), "nil source: ctx unchanged")
}

func TestTransportKeepsCallerHeadersAndRequest(t *testing.T) {
	p := startProvider(t, &snapProvider{})
	tr := newTestTransport(newCountingSource("tok-k"))

	body := newCloseCounter(`{ "x" : [1, 2] }`)
	req, err := http.NewRequest(http.MethodPost, p.URL("/v1.0/x?z=1"), body)
	require.NoError(t, err)
	req.Header.Set("X-EXTERNAL-ID", "123456789")
	req.Header.Set("Authorization", "Bearer caller-should-not-win")
	req.Header["X-TIMESTAMP"] = []string{"caller's non-canonical key"}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Add("X-Custom", "a")
	req.Header.Add("X-Custom", "b")
	req.ContentLength = -1

	wantHeader := req.Header.Clone()
	wantURL := req.URL.String()
	wantURLPtr := *req.URL
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The caller's request is untouched.
	assert.Equal(t, wantHeader, req.Header)
	assert.Equal(t, wantURL, req.URL.String())
	assert.Equal(t, wantURLPtr, *req.URL)
	assert.Same(t, body, req.Body)
	assert.Nil(t, req.GetBody)
	assert.EqualValues(t, -1, req.ContentLength)
	assert.Equal(t, http.MethodPost, req.Method)
	assert.EqualValues(t, 1, body.closes.Load())

	seen := p.requests()
	require.Len(t, seen, 1)
	h := seen[0].Header
	assert.Equal(t, "123456789", h.Get("X-EXTERNAL-ID"))
	assert.Equal(t, "Bearer tok-k", h.Get("Authorization"))
	assert.Equal(t, []string{h.Get("X-TIMESTAMP")}, h.Values("X-TIMESTAMP"), "one timestamp, the signed one")
	assert.Equal(t, "application/json; charset=utf-8", h.Get("Content-Type"))
	assert.Equal(t, []string{"a", "b"}, h.Values("X-Custom"))
	assert.Equal(t, `{"x":[1,2]}`, string(seen[0].Body))
}

func TestTransportReplacesNonJSONContentType(t *testing.T) {
	var got *http.Request
	tr := newTestTransport(newCountingSource("tok"))
	tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	resp, err := (&http.Client{Transport: tr}).Post("http://127.0.0.1:1/v1.0/x", "text/plain", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
	assert.True(t, isJSONMediaType("Application/JSON ; charset=utf-8"))
	assert.False(t, isJSONMediaType("application/jsonp"))
}

func TestTransportSendsReplayableBody(t *testing.T) {
	var got *http.Request
	tr := newTestTransport(newCountingSource("tok"))
	tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/v1.0/x", newCloseCounter("{\n  \"a\": \"b\"\n}\n"))
	require.NoError(t, err)
	req.TransferEncoding = []string{"chunked"}
	_, err = tr.RoundTrip(req)
	require.NoError(t, err)

	first, err := io.ReadAll(got.Body)
	require.NoError(t, err)
	assert.Equal(t, `{"a":"b"}`, string(first))
	assert.EqualValues(t, len(first), got.ContentLength)
	assert.Nil(t, got.TransferEncoding)
	require.NotNil(t, got.GetBody)
	again, err := got.GetBody()
	require.NoError(t, err)
	second, err := io.ReadAll(again)
	require.NoError(t, err)
	assert.Equal(t, first, second)
}

// rejectFirst answers 401 with code to every request signed with the token
// reject, and 200 otherwise.
func rejectToken(reject string, answer string) func(w http.ResponseWriter, r seenRequest, n int) {
	return func(w http.ResponseWriter, r seenRequest, n int) {
		if r.Header.Get("Authorization") == "Bearer "+reject {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, answer)
			return
		}
		fmt.Fprintf(w, `{"responseCode":"2001700","responseMessage":"Successful"}`)
	}
}

func TestTransportRetriesRejectedB2BToken(t *testing.T) {
	for _, answer := range []string{
		`{"responseCode":"4017301","responseMessage":"Invalid Token (B2B)"}`,
		`{"responseCode":"4011703","responseMessage":"Token Not Found (B2B)"}`,
		`{"responseCode":4017301,"responseMessage":"Invalid Token (B2B)"}`,
	} {
		t.Run(answer, func(t *testing.T) {
			clock := newStepClock(time.Now(), time.Second)
			p := startProvider(t, &snapProvider{respond: rejectToken("tok-old", answer)})
			src := newCountingSource("tok-old", "tok-new")
			tr := newTestTransport(src)
			tr.Now = clock.Now
			body := newCloseCounter("{\n \"amount\": {\"value\": \"10.00\"}\n}")
			req, err := http.NewRequest(http.MethodPost, p.URL("/v1.0/transfer"), body)
			require.NoError(t, err)
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Contains(t, string(got), "2001700")
			assert.EqualValues(t, 1, body.closes.Load())

			seen := p.requests()
			require.Len(t, seen, 2)
			_, invalidated := src.stats()
			assert.Equal(t, []string{"tok-old"}, invalidated)
			assert.Equal(t, "Bearer tok-old", seen[0].Header.Get("Authorization"))
			assert.Equal(t, "Bearer tok-new", seen[1].Header.Get("Authorization"))
			assert.Equal(t, seen[0].Header.Get("X-EXTERNAL-ID"), seen[1].Header.Get("X-EXTERNAL-ID"), "same external id")
			assert.NotEqual(t, seen[0].Header.Get("X-TIMESTAMP"), seen[1].Header.Get("X-TIMESTAMP"), "new timestamp")
			assert.NotEqual(t, seen[0].Header.Get("X-SIGNATURE"), seen[1].Header.Get("X-SIGNATURE"))
			assert.Equal(t, seen[0].Body, seen[1].Body)
			assert.Equal(t, `{"amount":{"value":"10.00"}}`, string(seen[1].Body))
		})
	}
}

func TestTransportDoesNotRetryOtherwise(t *testing.T) {
	big := `{"responseCode":"4017301","responseMessage":"` + strings.Repeat("x", 100<<10) + `"}`
	for _, tc := range []struct {
		name   string
		status int
		answer string
		src    func() oauth2.TokenSource
	}{
		{"401 unauthorized 00", 401, `{"responseCode":"4017300","responseMessage":"Unauthorized. [Signature]"}`, nil},
		{"401 invalid customer token 02", 401, `{"responseCode":"4017302","responseMessage":"Invalid Customer Token"}`, nil},
		{"401 customer token not found 04", 401, `{"responseCode":"4017304","responseMessage":"Customer Token Not Found"}`, nil},
		{"401 html", 401, `<html><body>401 Authorization Required</body></html>`, nil},
		{"401 empty", 401, ``, nil},
		{"401 code of another status", 401, `{"responseCode":"4037301"}`, nil},
		{"401 longer than the cap", 401, big, nil},
		{"403 with case 01", 403, `{"responseCode":"4037301","responseMessage":"Feature Not Allowed"}`, nil},
		{"500", 500, `{"responseCode":"5007301","responseMessage":"Internal Server Error"}`, nil},
		{"source cannot invalidate", 401, `{"responseCode":"4017301","responseMessage":"Invalid Token (B2B)"}`, func() oauth2.TokenSource {
			return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok-1"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProvider(t, &snapProvider{respond: func(w http.ResponseWriter, _ seenRequest, _ int) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.answer)
			}})
			src := newCountingSource("tok-1", "tok-2")
			var ts oauth2.TokenSource = src
			if tc.src != nil {
				ts = tc.src()
			}
			body := newCloseCounter(`{"a":1}`)
			req, err := http.NewRequest(http.MethodPost, p.URL("/v1.0/x"), body)
			require.NoError(t, err)
			resp, err := newTestTransport(ts).RoundTrip(req)
			require.NoError(t, err)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Equal(t, tc.answer, string(got), "the caller gets the whole answer")
			assert.Len(t, p.requests(), 1)
			assert.EqualValues(t, 1, body.closes.Load())
			_, invalidated := src.stats()
			assert.Empty(t, invalidated)
		})
	}
}

func TestTransportRetriesOnlyOnce(t *testing.T) {
	const answer = `{"responseCode":"4017301","responseMessage":"Invalid Token (B2B)"}`
	p := startProvider(t, &snapProvider{respond: func(w http.ResponseWriter, _ seenRequest, _ int) {
		w.WriteHeader(401)
		io.WriteString(w, answer)
	}})
	src := newCountingSource("tok-1", "tok-2", "tok-3")
	resp, err := (&http.Client{Transport: newTestTransport(src)}).Post(p.URL("/v1.0/x"), "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, 401, resp.StatusCode)
	assert.Equal(t, answer, string(got))
	assert.Len(t, p.requests(), 2)
	_, invalidated := src.stats()
	assert.Equal(t, []string{"tok-1"}, invalidated)
}

func TestTransportNoRetryWithoutAFreshToken(t *testing.T) {
	const answer = `{"responseCode":"4017301","responseMessage":"Invalid Token (B2B)"}`
	newProvider := func(t *testing.T) *snapProvider {
		return startProvider(t, &snapProvider{respond: rejectToken("tok-1", answer)})
	}

	t.Run("source gives the same token", func(t *testing.T) {
		p := newProvider(t)
		src := newCountingSource("tok-1", "tok-2")
		src.stayOnToken = true
		resp, err := (&http.Client{Transport: newTestTransport(src)}).Post(p.URL("/v1.0/x"), "application/json", strings.NewReader(`{}`))
		require.NoError(t, err)
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 401, resp.StatusCode)
		assert.Equal(t, answer, string(got))
		assert.Len(t, p.requests(), 1)
	})

	t.Run("fresh token fails", func(t *testing.T) {
		p := newProvider(t)
		src := newCountingSource("tok-1", "tok-2")
		renewErr := errors.New("token endpoint down")
		src.errOnRenew = renewErr
		var respClosed atomic.Int32
		tr := newTestTransport(src)
		tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := http.DefaultTransport.RoundTrip(r)
			if err == nil {
				inner := resp.Body
				resp.Body = struct {
					io.Reader
					io.Closer
				}{inner, closerFunc(func() error { respClosed.Add(1); return inner.Close() })}
			}
			return resp, err
		})
		body := newCloseCounter(`{}`)
		req, err := http.NewRequest(http.MethodPost, p.URL("/v1.0/x"), body)
		require.NoError(t, err)
		resp, err := tr.RoundTrip(req)
		assert.Nil(t, resp)
		require.ErrorIs(t, err, renewErr)
		assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
		assert.EqualValues(t, 1, respClosed.Load(), "the rejected answer is closed")
		assert.EqualValues(t, 1, body.closes.Load())
		assert.Len(t, p.requests(), 1)
	})
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func TestTransportRefusesNonJSONBody(t *testing.T) {
	for _, body := range []string{
		"not json",
		`{"a":1`,
		`{"a":1} trailing`,
		"{\"a\":\"\xff\"}",
		"<xml/>",
	} {
		t.Run(body, func(t *testing.T) {
			var sent atomic.Int32
			src := newCountingSource("tok")
			tr := newTestTransport(src)
			tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sent.Add(1)
				return nil, errors.New("must not be called")
			})
			b := newCloseCounter(body)
			req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/v1.0/x", b)
			require.NoError(t, err)
			resp, err := tr.RoundTrip(req)
			assert.Nil(t, resp)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "not valid")
			assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
			assert.Zero(t, sent.Load(), "nothing is sent")
			assert.EqualValues(t, 1, b.closes.Load())
			calls, _ := src.stats()
			assert.Zero(t, calls, "no token is taken for a request that cannot be signed")
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// TestTransportClosesBodyOnEveryPath counts Close calls on the caller's body
// along every way out of RoundTrip.
func TestTransportClosesBodyOnEveryPath(t *testing.T) {
	okBase := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
	})
	var calls atomic.Int32
	rejectOnceBase := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r.Body.Close()
		if calls.Add(1) == 1 {
			return &http.Response{StatusCode: 401, Body: io.NopCloser(strings.NewReader(`{"responseCode":"4017301"}`)), Request: r}, nil
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
	})
	baseErr := errors.New("connection refused")
	tokenErr := errors.New("token endpoint said no")

	for _, tc := range []struct {
		name    string
		body    io.Reader
		setup   func(tr *Transport, src *countingSource) context.Context
		wantErr error // nil: success
		anyErr  bool
	}{
		{name: "success", setup: func(tr *Transport, _ *countingSource) context.Context { tr.Base = okBase; return context.Background() }},
		{name: "minify error", body: strings.NewReader("{nope"), anyErr: true},
		{name: "read error", body: failingReader{}, anyErr: true},
		{name: "token error", wantErr: tokenErr, setup: func(_ *Transport, src *countingSource) context.Context {
			src.err = tokenErr
			return context.Background()
		}},
		{name: "customer token error", wantErr: tokenErr, setup: func(tr *Transport, _ *countingSource) context.Context {
			cs := newCountingSource("c")
			cs.err = tokenErr
			return WithCustomerToken(context.Background(), cs)
		}},
		{name: "base transport error", wantErr: baseErr, setup: func(tr *Transport, _ *countingSource) context.Context {
			tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) { r.Body.Close(); return nil, baseErr })
			return context.Background()
		}},
		{name: "retry", setup: func(tr *Transport, _ *countingSource) context.Context {
			tr.Base = rejectOnceBase
			return context.Background()
		}},
		{name: "no secret", anyErr: true, setup: func(tr *Transport, _ *countingSource) context.Context {
			tr.ClientSecret = ""
			return context.Background()
		}},
		{name: "no source", anyErr: true, setup: func(tr *Transport, _ *countingSource) context.Context {
			tr.Source = nil
			return context.Background()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newCountingSource("tok-1", "tok-2")
			tr := newTestTransport(src)
			tr.Base = roundTripFunc(func(*http.Request) (*http.Response, error) {
				t.Error("nothing should be sent")
				return nil, errors.New("unexpected")
			})
			ctx := context.Background()
			if tc.setup != nil {
				ctx = tc.setup(tr, src)
			}
			r := tc.body
			if r == nil {
				r = strings.NewReader(`{"ok":true}`)
			}
			body := &closeCounter{Reader: r}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:1/v1.0/x", body)
			require.NoError(t, err)
			resp, err := tr.RoundTrip(req)
			switch {
			case tc.wantErr != nil:
				require.ErrorIs(t, err, tc.wantErr)
			case tc.anyErr:
				require.Error(t, err)
			default:
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, 200, resp.StatusCode)
			}
			if err != nil {
				assert.True(t, strings.HasPrefix(err.Error(), "snapauth: ") || errors.Is(err, baseErr), err.Error())
				assert.NotContains(t, err.Error(), testSecret)
				assert.NotContains(t, err.Error(), "tok-1")
			}
			assert.EqualValues(t, 1, body.closes.Load(), "the request body is closed exactly once")
		})
	}
}

func TestTransportConcurrentUse(t *testing.T) {
	p := startProvider(t, &snapProvider{})
	src := newCountingSource("tok-shared")
	client := &http.Client{Transport: newTestTransport(src)}
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf("{\n  \"partnerReferenceNo\": \"%d\",\n  \"note\": \"<%d & %d>\"\n}", i, i, i)
			resp, err := client.Post(p.URL(fmt.Sprintf("/v1.0/x?i=%d", i)), "application/json", strings.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				errs <- fmt.Errorf("request %d: %d %s", i, resp.StatusCode, b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := p.requests()
	require.Len(t, seen, n)
	ids := map[string]bool{}
	for _, s := range seen {
		ids[s.Header.Get("X-EXTERNAL-ID")] = true
	}
	assert.Len(t, ids, n, "every request has its own external id")
	calls, _ := src.stats()
	assert.Equal(t, n, calls)
}

func TestNewExternalID(t *testing.T) {
	const workers, each = 4, 25_000
	before := time.Now().UnixMilli()
	results := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			ids := make([]string, each)
			for i := range ids {
				ids[i] = NewExternalID()
			}
			results[w] = ids
		})
	}
	wg.Wait()
	after := time.Now().UnixMilli()
	seen := make(map[string]struct{}, workers*each)
	numeric := regexp.MustCompile(`^[0-9]{1,36}$`)
	for _, ids := range results {
		for _, id := range ids {
			if !numeric.MatchString(id) || len(id) != 36 {
				t.Fatalf("external id %q is not 36 digits", id)
			}
			ms, err := strconv.ParseInt(id[:13], 10, 64)
			if err != nil || ms < before || ms > after {
				t.Fatalf("external id %q: prefix is not the creation time in ms (%d..%d)", id, before, after)
			}
			seen[id] = struct{}{}
		}
	}
	assert.Len(t, seen, workers*each, "100k ids, no duplicates")

	// The random part is spread over all digits (a stuck digit would show).
	var counts [23][10]int
	for _, id := range results[0] {
		for i := range 23 {
			counts[i][id[13+i]-'0']++
		}
	}
	for i := range counts {
		for d, c := range counts[i] {
			assert.InDelta(t, each/10, c, each/20, "digit %d at position %d", d, i)
		}
	}
}

func TestTransportCustomExternalID(t *testing.T) {
	var got *http.Request
	tr := newTestTransport(newCountingSource("tok"))
	tr.ExternalID = func() string { return "42" }
	tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	resp, err := (&http.Client{Transport: tr}).Get("http://127.0.0.1:1/v1.0/x")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "42", got.Header.Get("X-EXTERNAL-ID"))
}

func TestTransportAsymmetricSignature(t *testing.T) {
	key := srcKey(t)
	for _, withToken := range []bool{false, true} {
		t.Run(fmt.Sprintf("token=%v", withToken), func(t *testing.T) {
			p := startProvider(t, &snapProvider{pub: &key.PublicKey})
			tr := &Transport{PrivateKey: key, PartnerID: "p", ChannelID: "c"}
			if withToken {
				tr.Source = newCountingSource("tok-a")
			}
			resp, err := (&http.Client{Transport: tr}).Post(p.URL("/v1.0/qr/qr-mpm-generate?x=1"), "application/json",
				strings.NewReader("{\n \"merchantId\": \"M&<1>\"\n}"))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, 200, resp.StatusCode)
			seen := p.requests()
			require.Len(t, seen, 1)
			if withToken {
				assert.Equal(t, "Bearer tok-a", seen[0].Header.Get("Authorization"))
			} else {
				assert.Empty(t, seen[0].Header.Get("Authorization"))
			}
			sum := sha256.Sum256([]byte(`{"merchantId":"M&<1>"}`))
			assert.Equal(t, "POST:/v1.0/qr/qr-mpm-generate?x=1:"+hex.EncodeToString(sum[:])+":"+seen[0].Header.Get("X-TIMESTAMP"),
				seen[0].StringToSign, "no token segment")
		})
	}
}

func TestTransportFormatRedactsSecrets(t *testing.T) {
	tr := newTestTransport(newCountingSource("tok-secret-value"))
	tr.PrivateKey = srcKey(t)
	for _, s := range []string{fmt.Sprint(tr), fmt.Sprintf("%+v", *tr), fmt.Sprintf("%#v", tr), fmt.Sprintf("%s", tr)} {
		assert.NotContains(t, s, testSecret)
		assert.NotContains(t, s, "tok-secret-value")
		assert.NotContains(t, s, tr.PrivateKey.(*rsa.PrivateKey).D.String()[:20])
		assert.Contains(t, s, "[redacted]")
	}
}

// TestTransportNodeCrypto checks, with Node's crypto and JSON, what the
// transport sent: JSON.stringify(JSON.parse(body)) gives back the very bytes,
// and the HMAC-SHA512 and SHA256withRSA signatures verify.
func TestTransportNodeCrypto(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is required in CI")
		}
		t.Skip("node not installed")
	}
	key := srcKey(t)
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	type nodeCase struct {
		Method    string `json:"method"`
		Endpoint  string `json:"endpoint"`
		Token     string `json:"token"` // "" for the asymmetric form
		Body      string `json:"body"`
		Timestamp string `json:"timestamp"`
		Signature string `json:"signature"`
		RSA       bool   `json:"rsa"`
	}
	var cases []nodeCase
	capture := func(tr *Transport, method, target, body string) {
		t.Helper()
		tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
			b := []byte{}
			if r.Body != nil {
				b, _ = io.ReadAll(r.Body)
			}
			cases = append(cases, nodeCase{
				Method: r.Method, Endpoint: r.URL.RequestURI(),
				Token:     strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "),
				Body:      string(b),
				Timestamp: r.Header.Get("X-TIMESTAMP"), Signature: r.Header.Get("X-SIGNATURE"),
				RSA: tr.PrivateKey != nil,
			})
			return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
		})
		var rb io.Reader
		if body != "" {
			rb = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, target, rb)
		require.NoError(t, err)
		_, err = tr.RoundTrip(req)
		require.NoError(t, err)
	}
	sym := newTestTransport(newCountingSource("node-token-1"))
	capture(sym, "POST", "http://127.0.0.1:1/snap/v1.0/transfer-va/payment", string(prettyPayload(t)))
	capture(sym, "POST", "http://127.0.0.1:1/v1.0/x", "[\n 1, 2.5, -3, 1e-7, true, null, \"\\u00e9\\ud83c\\udf89\\/\\u0001\" ]")
	capture(sym, "GET", "http://127.0.0.1:1/v1.0/balance?a=1&b=%20x", "")
	asym := &Transport{PrivateKey: key, PartnerID: "p", ChannelID: "c"}
	capture(asym, "POST", "http://127.0.0.1:1/v1.0/qr?x=y", "{\"note\": \"<Tom & Jerry> Ñ 🎉\"}")
	input, err := json.Marshal(cases)
	require.NoError(t, err)

	const script = `
const crypto = require('crypto');
let data = '';
process.stdin.on('data', c => data += c).on('end', () => {
  const cases = JSON.parse(data);
  cases.forEach((c, i) => {
    const min = c.body === '' ? '' : JSON.stringify(JSON.parse(c.body));
    if (min !== c.body) { console.log('case ' + i + ': body not canonical: ' + c.body + ' vs ' + min); process.exit(2); }
    const hash = crypto.createHash('sha256').update(min, 'utf8').digest('hex');
    let ok;
    if (c.rsa) {
      const sts = [c.method, c.endpoint, hash, c.timestamp].join(':');
      ok = crypto.verify('sha256', Buffer.from(sts, 'utf8'), process.env.SNAP_PUBLIC_KEY, Buffer.from(c.signature, 'base64'));
    } else {
      const sts = [c.method, c.endpoint, c.token, hash, c.timestamp].join(':');
      const want = crypto.createHmac('sha512', process.env.SNAP_CLIENT_SECRET).update(sts, 'utf8').digest('base64');
      ok = crypto.timingSafeEqual(Buffer.from(want), Buffer.from(c.signature));
    }
    if (!ok) { console.log('case ' + i + ': signature does not verify'); process.exit(3); }
    console.log('case ' + i + ': ok');
  });
});`
	cmd := exec.Command(node, "-e", script)
	cmd.Stdin = bytes.NewReader(input)
	cmd.Env = append(os.Environ(), "SNAP_CLIENT_SECRET="+testSecret, "SNAP_PUBLIC_KEY="+string(pubPEM))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "node: %s", out)
	assert.Equal(t, "case 0: ok\ncase 1: ok\ncase 2: ok\ncase 3: ok\n", string(out))
}

// ---------------------------------------------------------------------------
// B2BConfig.Client, with the real token source against a provider that also
// serves the token endpoint.

// tokenEndpoint serves access-token/b2b on mux, verifying the token signature
// with pub, and issues tok-1, tok-2, ... in turn.
func tokenEndpoint(t *testing.T, mux *http.ServeMux, pub *rsa.PublicKey, issued *atomic.Int32) {
	mux.HandleFunc("POST /v1.0/access-token/b2b", func(w http.ResponseWriter, r *http.Request) {
		ts, key := r.Header.Get("X-TIMESTAMP"), r.Header.Get("X-CLIENT-KEY")
		sig, err := base64.StdEncoding.DecodeString(r.Header.Get("X-SIGNATURE"))
		digest := sha256.Sum256([]byte(key + "|" + ts))
		if err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
			t.Errorf("token request signature does not verify")
			w.WriteHeader(401)
			io.WriteString(w, `{"responseCode":"4017300","responseMessage":"Unauthorized. [Signature]"}`)
			return
		}
		n := issued.Add(1)
		fmt.Fprintf(w, `{"responseCode":"2007300","responseMessage":"Successful","accessToken":"tok-%d","tokenType":"BearerToken","expiresIn":"900"}`, n)
	})
}

func TestB2BConfigClient(t *testing.T) {
	key := srcKey(t)
	var issued atomic.Int32
	p := &snapProvider{}
	mux := http.NewServeMux()
	tokenEndpoint(t, mux, &key.PublicKey, &issued)
	// tok-1 is revoked: the first call is rejected, the client must renew.
	p.respond = rejectToken("tok-1", `{"responseCode":"4017301","responseMessage":"Invalid Token (B2B)"}`)
	mux.Handle("/v1.0/", p)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	p.secret, p.timestamp, p.now = testSecret, standardTimestamp, time.Now
	defer func() { assert.Empty(t, p.failures()) }()

	var baseCalls atomic.Int32
	ctxClient := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		baseCalls.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, ctxClient)
	cfg := &B2BConfig{TokenURL: srv.URL + "/v1.0/access-token/b2b", ClientKey: "client-key", PrivateKey: key}
	client := cfg.Client(ctx, &Transport{ClientSecret: testSecret, PartnerID: "partner", ChannelID: "95221"})

	resp, err := client.Post(srv.URL+"/v1.0/transfer-intrabank", "application/json", strings.NewReader("{\n \"a\": \"<&>\"\n}"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	seen := p.requests()
	require.Len(t, seen, 2)
	assert.Equal(t, "Bearer tok-1", seen[0].Header.Get("Authorization"))
	assert.Equal(t, "Bearer tok-2", seen[1].Header.Get("Authorization"), "the rejected token was dropped and a new one fetched")
	assert.Equal(t, seen[0].Header.Get("X-EXTERNAL-ID"), seen[1].Header.Get("X-EXTERNAL-ID"))
	assert.EqualValues(t, 2, issued.Load())
	// Two token fetches (through the config's own client lookup) and two service calls, all on the context's transport.
	assert.EqualValues(t, 4, baseCalls.Load())

	// The second call reuses the cached token.
	resp, err = client.Post(srv.URL+"/v1.0/transfer-intrabank", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.EqualValues(t, 2, issued.Load())
}

func TestB2BConfigClientRedirects(t *testing.T) {
	key := srcKey(t)
	var issued atomic.Int32
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
	}))
	defer other.Close()

	p := &snapProvider{secret: testSecret, timestamp: standardTimestamp, now: time.Now}
	mux := http.NewServeMux()
	tokenEndpoint(t, mux, &key.PublicKey, &issued)
	mux.HandleFunc("/v1.0/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/v1.0/here?after=redirect", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/v1.0/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	})
	mux.Handle("/v1.0/here", p)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer func() { assert.Empty(t, p.failures()) }()

	cfg := &B2BConfig{TokenURL: srv.URL + "/v1.0/access-token/b2b", ClientKey: "client-key", PrivateKey: key}
	client := cfg.Client(context.Background(), &Transport{ClientSecret: testSecret, PartnerID: "partner", ChannelID: "1"})

	resp, err := client.Post(srv.URL+"/v1.0/moved", "application/json", strings.NewReader(`{"a": 1}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, "a same-host redirect is followed and signed for its own URL")
	seen := p.requests()
	require.Len(t, seen, 1)
	assert.True(t, strings.HasPrefix(seen[0].StringToSign, "POST:/v1.0/here?after=redirect:tok-1:"), seen[0].StringToSign)
	assert.Equal(t, `{"a":1}`, string(seen[0].Body))

	_, err = client.Post(srv.URL+"/v1.0/away", "application/json", strings.NewReader(`{}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing to follow a redirect")
	assert.Zero(t, otherHits.Load(), "nothing reaches the other host")
}

func TestB2BConfigClientNilTransport(t *testing.T) {
	cfg := &B2BConfig{TokenURL: "https://127.0.0.1:1/t", ClientKey: "k", PrivateKey: srcKey(t), Provider: BRI}
	client := cfg.Client(context.Background(), nil)
	tr, ok := client.Transport.(*Transport)
	require.True(t, ok)
	assert.Equal(t, BRI, tr.Provider, "the config's provider when the transport has none")
	assert.NotNil(t, tr.Source)
	_, err := client.Get("https://127.0.0.1:1/v1.0/x")
	require.Error(t, err, "no signing key: refused before anything is sent")
	assert.Contains(t, err.Error(), "neither ClientSecret nor PrivateKey")

	orig := &Transport{ClientSecret: testSecret, Provider: DOKU}
	client = cfg.Client(context.Background(), orig)
	assert.Nil(t, orig.Source, "the caller's transport is not modified")
	assert.Equal(t, DOKU, client.Transport.(*Transport).Provider)
}

// FuzzMinifyInPlace checks that the transport's in-place minification gives
// exactly what Minify gives, and fails where Minify fails.
func FuzzMinifyInPlace(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `[]`, `"x"`, `1.50e+2`,
		"{\n  \"a\" : \"\\u003cb\\u003e \\u0026 \\/ \\u00e9 \\ud83c\\udf89 \\ud800 \\u0001 \\\" \\\\ \\n\"\n}",
		`{"k":[1, 2 ,{"x":null,"y":true}], "s": "\uDBFF\uDFFF\u2028"}`,
		"not json", `{"a":1`, "\"\xff\"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantErr := Minify(body)
		got, gotErr := minifyOwned(bytes.Clone(body))
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("Minify error %v, in place %v", wantErr, gotErr)
		}
		if wantErr == nil && !bytes.Equal(want, got) {
			t.Fatalf("in place %q, Minify %q", got, want)
		}
	})
}

func TestCheckResponse(t *testing.T) {
	resp := func(status int, ctype, body string, hdr ...string) *http.Response {
		h := http.Header{"Content-Type": {ctype}}
		for i := 0; i+1 < len(hdr); i += 2 {
			h.Set(hdr[i], hdr[i+1])
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
	}
	tests := []struct {
		name     string
		resp     *http.Response
		code     string // "" with ok
		ok       bool
		sentinel error
	}{
		{"success code", resp(200, "application/json", `{"responseCode":"2004700","responseMessage":"Successful"}`), "", true, nil},
		{"success without code", resp(200, "application/json", `{"foo":1}`), "", true, nil},
		{"200 with a failure code", resp(200, "application/json", `{"responseCode":"4014700","responseMessage":"Unauthorized. [Signature]"}`), "4014700", false, ErrUnauthorized},
		{"invalid token, numeric code", resp(401, "application/json", `{"responseCode":4014701,"responseMessage":"Invalid Token (B2B)"}`), "4014701", false, ErrInvalidToken},
		{"rate limited", resp(429, "application/json", `{"responseCode":"4294700","responseMessage":"Too Many Requests"}`, "Retry-After", "7"), "4294700", false, ErrRateLimited},
		{"gateway HTML", resp(502, "text/html", `<html>Bad Gateway</html>`), "", false, ErrServerError},
		{"2xx HTML", resp(200, "text/html", `<html>maintenance</html>`), "", false, nil},
		{"business refusal", resp(403, "application/json", `{"responseCode":"4034714","responseDescription":"Insufficient Funds"}`), "4034714", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := io.ReadAll(tt.resp.Body)
			require.NoError(t, err)
			tt.resp.Body = io.NopCloser(bytes.NewReader(body))
			err = CheckResponse(tt.resp)
			// The caller can still read the whole body.
			after, rerr := io.ReadAll(tt.resp.Body)
			require.NoError(t, rerr)
			assert.Equal(t, string(body), string(after))
			if tt.ok {
				require.NoError(t, err)
				return
			}
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.resp.StatusCode, e.StatusCode)
			assert.Equal(t, tt.code, e.ResponseCode)
			if tt.sentinel != nil {
				assert.ErrorIs(t, err, tt.sentinel)
			}
		})
	}
	var e *Error
	err := CheckResponse(resp(429, "application/json", `{"responseCode":"4294700"}`, "Retry-After", "7"))
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 7*time.Second, e.RetryAfter)
	err = CheckResponse(resp(403, "application/json", `{"responseCode":"4034714","responseDescription":"Insufficient Funds"}`))
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "14", e.CaseCode)
	assert.Contains(t, err.Error(), "Insufficient Funds")
	require.Error(t, CheckResponse(nil))
}
