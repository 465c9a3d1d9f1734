package snapauth

import (
	"bytes"
	"cmp"
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
	"mime"
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
	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/assert"
)

// fakeProvider is the package's one in-process SNAP provider for internal
// tests (black-box tests use snaptest). It serves the token endpoints (any
// path holding /access-token/) and service calls (every other path), and
// verifies each request the way a provider does, with code of its own rather
// than the package's:
//
//   - a token request must be a POST of application/json with an X-TIMESTAMP
//     within five minutes of the provider's clock, the expected X-CLIENT-KEY,
//     an X-SIGNATURE that verifies as SHA256withRSA of
//     "X-CLIENT-KEY|X-TIMESTAMP" under the partner's key (crypto/rsa), and a
//     JSON body with a grantType;
//   - a service call's body must be what re-serialising it gives (parse and
//     write back, as JSON.stringify(JSON.parse(body)) does), its X-TIMESTAMP
//     must match the layout and the clock, and its X-SIGNATURE must verify
//     over the string to sign built from the raw request URI, by crypto/hmac
//     (HMAC-SHA512 with the client secret) or, when asymmetric, crypto/rsa.
//
// A request failing a check is answered 401 4017300 and recorded; the test
// fails when it ends if any was.
type fakeProvider struct {
	pub       *rsa.PublicKey   // the partner's key; nil: testkey.RSA's
	clientKey string           // X-CLIENT-KEY of token requests; "": "partner-client-key"
	now       func() time.Time // the provider's clock; nil: time.Now
	// answer is the answer to a verified token request; nil answers a B2B
	// token "tok-N".
	answer func(fakeRequest) fakeAnswer

	secret     string         // service calls' HMAC key; "": testSecret
	asymmetric bool           // service calls signed with the partner's RSA key
	endpoint   EndpointForm   // only as a selector of the verifier's own code
	hexSig     bool           // service signatures in hex rather than base64
	timestamp  *regexp.Regexp // service X-TIMESTAMP layout; nil: the standard, +07:00
	// respond writes the answer to the n-th request (1-based) once it passed
	// verification as a service call; nil answers 200 2001700.
	respond func(w http.ResponseWriter, r fakeRequest, n int)

	hits atomic.Int64 // requests received, verified or not
	mu   sync.Mutex
	seen []fakeRequest
	errs []string
	srv  *httptest.Server
	t    testing.TB
}

// fakeRequest is one request as the provider received it and what it
// verified.
type fakeRequest struct {
	N            int64 // 1 for the first request the provider received
	Token        bool  // a token request, not a service call
	Method       string
	URI          string
	Header       http.Header
	Body         []byte         // as received
	Fields       map[string]any // a token request's body, parsed
	Stamp        string         // X-TIMESTAMP as received
	Timestamp    time.Time
	StringToSign string // a service call's, as the provider built it
}

// str returns the token request body's string field k and whether it was
// present.
func (r fakeRequest) str(k string) (string, bool) {
	v, ok := r.Fields[k]
	s, _ := v.(string)
	return s, ok
}

// fakeAnswer is what the provider sends back to a token request.
type fakeAnswer struct {
	Status int
	Header map[string]string
	Body   string
}

func okAnswer(body string) fakeAnswer { return fakeAnswer{Status: 200, Body: body} }

// b2bAnswer is a standard successful B2B answer.
func b2bAnswer(token string) fakeAnswer {
	return okAnswer(`{"responseCode":"2007300","responseMessage":"Successful","accessToken":"` + token + `","tokenType":"Bearer","expiresIn":"900"}`)
}

const testSecret = "client-secret-Zq9!"

var standardTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$`)

// startFake fills p's defaults, starts it on a loopback httptest server that
// closes when the test ends, and fails the test then if a request failed a
// check.
func startFake(tb testing.TB, p *fakeProvider) *fakeProvider {
	tb.Helper()
	p.t = tb
	if p.pub == nil {
		p.pub = &testkey.RSA(tb).PublicKey
	}
	p.clientKey = cmp.Or(p.clientKey, "partner-client-key")
	p.secret = cmp.Or(p.secret, testSecret)
	if p.now == nil {
		p.now = time.Now
	}
	if p.timestamp == nil {
		p.timestamp = standardTimestamp
	}
	if p.answer == nil {
		p.answer = func(r fakeRequest) fakeAnswer { return b2bAnswer(fmt.Sprintf("tok-%d", r.N)) }
	}
	p.srv = httptest.NewServer(p)
	tb.Cleanup(func() {
		p.srv.Close()
		assert.Empty(tb, p.failures(), "provider-side verification failures")
	})
	return p
}

// newFakeProvider starts a provider on the clock now whose token endpoints
// answer with answer.
func newFakeProvider(tb testing.TB, now func() time.Time, answer func(fakeRequest) fakeAnswer) *fakeProvider {
	tb.Helper()
	return startFake(tb, &fakeProvider{now: now, answer: answer})
}

func (p *fakeProvider) URL(path string) string { return p.srv.URL + path }

// requests returns every request received so far, in order.
func (p *fakeProvider) requests() []fakeRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

// calls returns the service calls received so far, in order: every request
// but the token requests.
func (p *fakeProvider) calls() []fakeRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	var calls []fakeRequest
	for _, r := range p.seen {
		if !r.Token {
			calls = append(calls, r)
		}
	}
	return calls
}

func (p *fakeProvider) failures() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.errs)
}

func (p *fakeProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	req := fakeRequest{N: p.hits.Add(1), Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone(), Body: body,
		Stamp: r.Header.Get("X-TIMESTAMP")}
	token := strings.Contains(r.URL.Path, "/access-token/")
	req.Token = token
	var problem string
	switch {
	case err != nil:
		problem = "reading body: " + err.Error()
	case token:
		problem = p.checkToken(r, &req)
	default:
		problem = p.checkCall(r, &req)
	}

	p.mu.Lock()
	p.seen = append(p.seen, req)
	n := len(p.seen)
	if problem != "" {
		p.errs = append(p.errs, fmt.Sprintf("request %d %s %s: %s", n, r.Method, r.RequestURI, problem))
	}
	p.mu.Unlock()

	switch {
	case problem != "":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"responseCode":"4017300","responseMessage":"Unauthorized. [Signature]"}`)
	case token:
		a := p.answer(req)
		if _, ok := a.Header["Content-Type"]; !ok {
			w.Header().Set("Content-Type", "application/json")
		}
		for k, v := range a.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(cmp.Or(a.Status, http.StatusOK))
		io.WriteString(w, a.Body)
	case p.respond != nil:
		p.respond(w, req, n)
	default:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"responseCode":"2001700","responseMessage":"Successful","echo":%q}`, r.Header.Get("X-EXTERNAL-ID"))
	}
}

// checkToken verifies a token request and fills req's parsed fields.
func (p *fakeProvider) checkToken(r *http.Request, req *fakeRequest) string {
	if r.Method != http.MethodPost {
		return "method " + r.Method
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return "Content-Type " + r.Header.Get("Content-Type")
	}
	when, err := time.Parse(time.RFC3339, req.Stamp)
	if err != nil {
		return "X-TIMESTAMP: " + err.Error()
	}
	req.Timestamp = when
	if d := when.Sub(p.now()); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Sprintf("X-TIMESTAMP %s is %v off", req.Stamp, d)
	}
	ck := r.Header.Get("X-CLIENT-KEY")
	if ck != p.clientKey {
		return "unknown X-CLIENT-KEY " + ck
	}
	sig, err := base64.StdEncoding.DecodeString(r.Header.Get("X-SIGNATURE"))
	sum := sha256.Sum256([]byte(ck + "|" + req.Stamp))
	if err != nil || rsa.VerifyPKCS1v15(p.pub, crypto.SHA256, sum[:], sig) != nil {
		return "token signature does not verify"
	}
	if err := json.Unmarshal(req.Body, &req.Fields); err != nil {
		return "body: " + err.Error()
	}
	if g, _ := req.Fields["grantType"].(string); g == "" {
		return "no grantType"
	}
	return ""
}

// checkCall verifies a service call and fills req's string to sign.
func (p *fakeProvider) checkCall(r *http.Request, req *fakeRequest) string {
	body := req.Body
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
	ts := req.Stamp
	if !p.timestamp.MatchString(ts) {
		return fmt.Sprintf("X-TIMESTAMP %q does not match %s", ts, p.timestamp)
	}
	when, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return "X-TIMESTAMP: " + err.Error()
	}
	req.Timestamp = when
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
	if !p.asymmetric {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			return "Authorization is not a Bearer token"
		}
		parts = append(parts, token)
	}
	parts = append(parts, hex.EncodeToString(sum[:]), ts)
	req.StringToSign = strings.Join(parts, ":")

	sig, err := p.decodeSignature(r.Header.Get("X-SIGNATURE"))
	if err != nil {
		return "X-SIGNATURE: " + err.Error()
	}
	if p.asymmetric {
		digest := sha256.Sum256([]byte(req.StringToSign))
		if rsa.VerifyPKCS1v15(p.pub, crypto.SHA256, digest[:], sig) != nil {
			return "RSA signature does not verify over " + req.StringToSign
		}
		return ""
	}
	mac := hmac.New(sha512.New, []byte(p.secret))
	mac.Write([]byte(req.StringToSign))
	if !hmac.Equal(mac.Sum(nil), sig) {
		return "HMAC signature does not verify over " + req.StringToSign
	}
	return ""
}

func (p *fakeProvider) decodeSignature(s string) ([]byte, error) {
	if p.hexSig {
		return hex.DecodeString(s)
	}
	return base64.StdEncoding.DecodeString(s)
}

// endpointURL derives EndpointUrl from the raw request URI the way each kind
// of provider does.
func (p *fakeProvider) endpointURL(uri string) string {
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

// b2b returns a B2B config for p's token endpoint signed with the partner's
// key, on clock (nil: the real time) with a 1 ms backoff.
func (p *fakeProvider) b2b(clock *srcClock) *B2BConfig {
	now := time.Now
	if clock != nil {
		now = clock.Now
	}
	return &B2BConfig{
		TokenURL:   p.srv.URL + "/snap/v1.0/access-token/b2b",
		ClientKey:  p.clientKey,
		PrivateKey: testkey.RSA(p.t),
		HTTPClient: p.srv.Client(),
		Now:        now,
		Backoff:    func(int) time.Duration { return time.Millisecond },
	}
}

// b2b2c returns a B2B2C config for p's token endpoint on clock.
func (p *fakeProvider) b2b2c(clock *srcClock) *B2B2CConfig {
	return &B2B2CConfig{
		TokenURL:   p.srv.URL + "/snap/v1.0/access-token/b2b2c",
		ClientKey:  p.clientKey,
		PrivateKey: testkey.RSA(p.t),
		HTTPClient: p.srv.Client(),
		Now:        clock.Now,
		Backoff:    func(int) time.Duration { return time.Millisecond },
	}
}
