package snapauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"
)

// TestMain proves that no goroutine of the package (a fetch, a retry timer,
// a keep-alive connection) outlives the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var (
	srcKeyOnce sync.Once
	srcKeyVal  *rsa.PrivateKey
)

// srcKey is the partner's RSA key, generated once per test binary.
func srcKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	srcKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		srcKeyVal = k
	})
	return srcKeyVal
}

// srcClock is a fake clock the tests move by hand; Now reads an atomic, so
// any goroutine may read it while the test advances it.
type srcClock struct{ ns atomic.Int64 }

func newSrcClock() *srcClock {
	c := &srcClock{}
	c.ns.Store(time.Date(2025, 3, 1, 10, 0, 0, 0, Jakarta).UnixNano())
	return c
}

func (c *srcClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).In(Jakarta) }
func (c *srcClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// srcRequest is one token request as the provider received and verified it.
type srcRequest struct {
	N         int64  // 1 for the first request the provider received
	Stamp     string // X-TIMESTAMP as received
	Timestamp time.Time
	Body      map[string]any
	Raw       []byte
}

// str returns the body's string field k and whether it was present.
func (r srcRequest) str(k string) (string, bool) {
	v, ok := r.Body[k]
	s, _ := v.(string)
	return s, ok
}

// srcAnswer is what the provider sends back.
type srcAnswer struct {
	Status int
	Header map[string]string
	Body   string
}

func okAnswer(body string) srcAnswer { return srcAnswer{Status: 200, Body: body} }

func jsonOf(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	require.NoError(tb, err)
	return string(b)
}

// srcProvider is an httptest SNAP token endpoint. Before answering it checks
// every request the way a provider does: POST, Content-Type
// application/json, an X-TIMESTAMP within five minutes of its clock, the
// expected X-CLIENT-KEY, and X-SIGNATURE verified as SHA256withRSA of
// "X-CLIENT-KEY|X-TIMESTAMP" with the partner's public key (crypto/rsa
// directly), and a JSON body with a grantType. A request failing a check is
// refused with a SNAP 401 and fails the test.
type srcProvider struct {
	t         testing.TB
	srv       *httptest.Server
	pub       *rsa.PublicKey
	clientKey string
	clock     func() time.Time
	answer    func(srcRequest) srcAnswer

	hits atomic.Int64
	mu   sync.Mutex
	reqs []srcRequest
}

func newSrcProvider(t testing.TB, clock func() time.Time, answer func(srcRequest) srcAnswer) *srcProvider {
	t.Helper()
	p := &srcProvider{t: t, pub: &srcKey(t).PublicKey, clientKey: "partner-client-key", clock: clock, answer: answer}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *srcProvider) refuse(w http.ResponseWriter, code, msg string) {
	p.t.Errorf("provider refused a token request: %s %s", code, msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintf(w, `{"responseCode":%q,"responseMessage":%q}`, code, msg)
}

func (p *srcProvider) serve(w http.ResponseWriter, r *http.Request) {
	n := p.hits.Add(1)
	if r.Method != http.MethodPost {
		p.refuse(w, "4057300", "Requested Function Is Not Supported")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		p.refuse(w, "4007301", "Invalid Field Format [Content-Type]")
		return
	}
	ts := r.Header.Get("X-TIMESTAMP")
	when, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		p.refuse(w, "4007301", "Invalid Field Format [X-TIMESTAMP]")
		return
	}
	if p.clock != nil {
		if d := when.Sub(p.clock()); d > 5*time.Minute || d < -5*time.Minute {
			p.refuse(w, "4017300", "Unauthorized. Timestamp out of range")
			return
		}
	}
	ck := r.Header.Get("X-CLIENT-KEY")
	if ck != p.clientKey {
		p.refuse(w, "4017300", "Unauthorized. Unknown client")
		return
	}
	sig, err := base64.StdEncoding.DecodeString(r.Header.Get("X-SIGNATURE"))
	sum := sha256.Sum256([]byte(ck + "|" + ts))
	if err != nil || rsa.VerifyPKCS1v15(p.pub, crypto.SHA256, sum[:], sig) != nil {
		p.refuse(w, "4017300", "Unauthorized. Signature")
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		p.refuse(w, "4007300", "Bad Request")
		return
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		p.refuse(w, "4007300", "Bad Request")
		return
	}
	if g, _ := body["grantType"].(string); g == "" {
		p.refuse(w, "4007302", "Invalid Mandatory Field grantType")
		return
	}
	req := srcRequest{N: n, Stamp: ts, Timestamp: when, Body: body, Raw: raw}
	p.mu.Lock()
	p.reqs = append(p.reqs, req)
	p.mu.Unlock()
	a := p.answer(req)
	if _, ok := a.Header["Content-Type"]; !ok {
		w.Header().Set("Content-Type", "application/json")
	}
	for k, v := range a.Header {
		w.Header().Set(k, v)
	}
	if a.Status == 0 {
		a.Status = http.StatusOK
	}
	w.WriteHeader(a.Status)
	io.WriteString(w, a.Body)
}

// requests returns the verified requests so far.
func (p *srcProvider) requests() []srcRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]srcRequest(nil), p.reqs...)
}

func (p *srcProvider) b2b(clock *srcClock) *B2BConfig {
	now := time.Now
	if clock != nil {
		now = clock.Now
	}
	return &B2BConfig{
		TokenURL:   p.srv.URL + "/snap/v1.0/access-token/b2b",
		ClientKey:  p.clientKey,
		PrivateKey: srcKey(p.t),
		HTTPClient: p.srv.Client(),
		Now:        now,
		Backoff:    func(int) time.Duration { return time.Millisecond },
	}
}

func (p *srcProvider) b2b2c(clock *srcClock) *B2B2CConfig {
	return &B2B2CConfig{
		TokenURL:   p.srv.URL + "/snap/v1.0/access-token/b2b2c",
		ClientKey:  p.clientKey,
		PrivateKey: srcKey(p.t),
		HTTPClient: p.srv.Client(),
		Now:        clock.Now,
		Backoff:    func(int) time.Duration { return time.Millisecond },
	}
}

// b2bAnswer is a standard successful B2B answer.
func b2bAnswer(token string) srcAnswer {
	return okAnswer(`{"responseCode":"2007300","responseMessage":"Successful","accessToken":"` + token + `","tokenType":"Bearer","expiresIn":"900"}`)
}

// joinCtx counts the callers that reached the wait for a fetch: the cached
// source calls Done only once it has joined the fetch in flight.
type joinCtx struct {
	context.Context
	joined *atomic.Int64
	once   sync.Once
}

func (c *joinCtx) Done() <-chan struct{} {
	c.once.Do(func() { c.joined.Add(1) })
	return c.Context.Done()
}

// gate holds the provider's answers until the test lets them through, one
// per send. An answer nobody lets through within 10 s fails the test.
type gate struct {
	t       *testing.T
	entered chan int64
	pass    chan struct{}
}

func newGate(t *testing.T) *gate {
	return &gate{t: t, entered: make(chan int64, 100), pass: make(chan struct{})}
}

func (g *gate) wait(r srcRequest) bool {
	g.entered <- r.N
	select {
	case <-g.pass:
		return true
	case <-time.After(10 * time.Second):
		g.t.Errorf("request %d was never let through: an unexpected fetch", r.N)
		return false
	}
}

func (g *gate) open() {
	select {
	case g.pass <- struct{}{}:
	case <-time.After(10 * time.Second):
		g.t.Error("no request waiting at the gate") // not Fatal: open may run in its own goroutine
	}
}

func waitJoined(t *testing.T, joined *atomic.Int64, n int64) {
	t.Helper()
	require.Eventually(t, func() bool { return joined.Load() == n }, 10*time.Second, time.Millisecond,
		"callers joined the fetch: %d of %d", joined.Load(), n)
}

// --- answer parsing -----------------------------------------------------

func TestParseTokenAnswerShapes(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, Jakarta)
	tests := []struct {
		name    string
		body    string
		expiry  time.Time
		typ     string
		extra   map[string]any
		noExtra []string
	}{
		{"expiresIn string", `{"responseCode":"2007300","accessToken":"a","tokenType":"Bearer","expiresIn":"900"}`,
			now.Add(900 * time.Second), "Bearer", map[string]any{"responseCode": "2007300"}, nil},
		{"expiresIn number", `{"responseCode":"2007300","accessToken":"a","tokenType":"Bearer","expiresIn":900}`,
			now.Add(900 * time.Second), "Bearer", nil, nil},
		{"expiresIn float", `{"accessToken":"a","expiresIn":600.0}`, now.Add(600 * time.Second), "Bearer", nil, nil},
		{"expiresIn absent", `{"responseCode":"2007300","accessToken":"a","tokenType":"Bearer"}`,
			now.Add(DefaultLifetime), "Bearer", nil, nil},
		{"expiresIn garbage", `{"accessToken":"a","expiresIn":"soon"}`, now.Add(DefaultLifetime), "Bearer", nil, nil},
		{"expiresIn negative", `{"accessToken":"a","expiresIn":-5}`, now.Add(DefaultLifetime), "Bearer", nil, nil},
		{"bearer lower case", `{"accessToken":"a","tokenType":"bearer","expiresIn":"900"}`, now.Add(900 * time.Second), "Bearer", nil, nil},
		{"BearerToken", `{"accessToken":"a","tokenType":"BearerToken","expiresIn":"900"}`, now.Add(900 * time.Second), "Bearer", nil, nil},
		{"BEARER", `{"accessToken":"a","tokenType":"BEARER","expiresIn":"900"}`, now.Add(900 * time.Second), "Bearer", nil, nil},
		{"Mac kept", `{"accessToken":"a","tokenType":"Mac","expiresIn":"900"}`, now.Add(900 * time.Second), "Mac", nil, nil},
		{"tokenType absent", `{"accessToken":"a","expiresIn":"900"}`, now.Add(900 * time.Second), "Bearer", nil, nil},
		{"responseCode number", `{"responseCode":2007300,"accessToken":"a","expiresIn":"900"}`,
			now.Add(900 * time.Second), "Bearer", map[string]any{"responseCode": json.Number("2007300")}, nil},
		{"responseCode absent", `{"accessToken":"a","tokenType":"Bearer","expiresIn":"900"}`, now.Add(900 * time.Second), "Bearer", nil, nil},
		{"unknown fields in Extra", `{"responseCode":"2007300","accessToken":"a","expiresIn":"900","additionalInfo":{"merchantId":"M1"},"scope":"read"}`,
			now.Add(900 * time.Second), "Bearer",
			map[string]any{"additionalInfo": map[string]any{"merchantId": "M1"}, "scope": "read"},
			[]string{"accessToken", "refreshToken"}},
		{"expiry time +07:00", `{"accessToken":"a","accessTokenExpiryTime":"2025-03-01T10:15:00+07:00"}`, now.Add(15 * time.Minute), "Bearer", nil, nil},
		{"expiry time Z", `{"accessToken":"a","accessTokenExpiryTime":"2025-03-01T03:15:00Z"}`, now.Add(15 * time.Minute), "Bearer", nil, nil},
		{"expiry time +0000", `{"accessToken":"a","accessTokenExpiryTime":"2025-03-01T03:15:00+0000"}`, now.Add(15 * time.Minute), "Bearer", nil, nil},
		{"expiry time +00:00", `{"accessToken":"a","accessTokenExpiryTime":"2025-03-01T03:15:00+00:00"}`, now.Add(15 * time.Minute), "Bearer", nil, nil},
		{"expiry time millis", `{"accessToken":"a","accessTokenExpiryTime":"2025-03-01T10:15:00.000+07:00"}`, now.Add(15 * time.Minute), "Bearer", nil, nil},
		{"expiry time wins over expiresIn", `{"accessToken":"a","expiresIn":"60","accessTokenExpiryTime":"2025-03-01T10:15:00+07:00"}`, now.Add(15 * time.Minute), "Bearer", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := parseTokenAnswer(200, http.Header{}, []byte(tt.body), now)
			require.NoError(t, err)
			assert.Equal(t, "a", tok.AccessToken)
			assert.Equal(t, tt.typ, tok.TokenType)
			assert.True(t, tok.Expiry.Equal(tt.expiry), "expiry %v, want %v", tok.Expiry, tt.expiry)
			assert.Equal(t, int64(tt.expiry.Sub(now)/time.Second), tok.ExpiresIn)
			for k, v := range tt.extra {
				assert.Equal(t, v, tok.Extra(k), "extra %s", k)
			}
			for _, k := range tt.noExtra {
				assert.Nil(t, tok.Extra(k), "extra %s", k)
			}
		})
	}
}

func TestParseTokenAnswerErrors(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, Jakarta)
	tests := []struct {
		name     string
		status   int
		ctype    string
		body     string
		code     string
		service  string
		caseCode string
		msg      string
		is       []error
		isNot    []error
	}{
		{"401 SNAP error", 401, "application/json", `{"responseCode":"4017300","responseMessage":"Unauthorized. Signature"}`,
			"4017300", "73", "00", "Unauthorized. Signature", []error{ErrUnauthorized}, []error{ErrInvalidToken, ErrTemporary, ErrServerError, ErrRateLimited}},
		{"200 with 401 code", 200, "application/json", `{"responseCode":"4017300","responseMessage":"Unauthorized. Invalid Client Key"}`,
			"4017300", "73", "00", "Unauthorized. Invalid Client Key", []error{ErrUnauthorized}, []error{ErrTemporary}},
		{"401 without code", 401, "application/json", `{"error":"nope"}`,
			"", "", "", "", []error{ErrUnauthorized}, []error{ErrInvalidToken}},
		{"invalid token", 401, "application/json", `{"responseCode":"4017401","responseMessage":"Invalid Token (B2B)"}`,
			"4017401", "74", "01", "Invalid Token (B2B)", []error{ErrInvalidToken}, []error{ErrUnauthorized}},
		{"token not found", 401, "application/json", `{"responseCode":"4017304","responseMessage":"Customer Token Not Found"}`,
			"4017304", "73", "04", "Customer Token Not Found", []error{ErrInvalidToken}, []error{ErrUnauthorized}},
		{"rate limited", 429, "application/json", `{"responseCode":"4297300","responseMessage":"Too Many Requests"}`,
			"4297300", "73", "00", "Too Many Requests", []error{ErrRateLimited, ErrTemporary}, []error{ErrServerError}},
		{"server error", 500, "application/json", `{"responseCode":"5007300","responseMessage":"General Error"}`,
			"5007300", "73", "00", "General Error", []error{ErrServerError, ErrTemporary}, []error{ErrRateLimited}},
		{"responseCode number", 400, "application/json", `{"responseCode":4007302,"responseMessage":"Invalid Mandatory Field grantType"}`,
			"4007302", "73", "02", "Invalid Mandatory Field grantType", nil, []error{ErrTemporary}},
		{"responseDescription", 403, "application/json", `{"responseCode":"4037300","responseDescription":"Forbidden"}`,
			"4037300", "73", "00", "Forbidden", nil, []error{ErrTemporary, ErrUnauthorized}},
		{"HTML gateway page", 502, "text/html; charset=utf-8", `<html><body><h1>502 Bad Gateway</h1></body></html>`,
			"", "", "", "answer is not JSON (text/html)", []error{ErrServerError, ErrTemporary}, nil},
		{"HTML with 200", 200, "text/html", `<!DOCTYPE html><html>login</html>`,
			"", "", "", "answer is not JSON (text/html)", nil, []error{ErrTemporary}},
		{"empty body", 200, "application/json", ``, "", "", "", "empty answer", nil, nil},
		{"JSON array", 200, "application/json", `[{"accessToken":"a"}]`, "", "", "", "answer is not JSON (application/json)", nil, nil},
		{"JSON null", 200, "application/json", `null`, "", "", "", "answer is not JSON (application/json)", nil, nil},
		{"2xx without accessToken", 200, "application/json", `{"responseCode":"2007300","responseMessage":"Successful","expiresIn":"900"}`,
			"2007300", "73", "00", "answer has no accessToken", nil, []error{ErrTemporary}},
		{"accessToken not a string", 200, "application/json", `{"accessToken":12345}`, "", "", "", "answer has no accessToken", nil, nil},
		{"invalid accessTokenExpiryTime", 200, "application/json", `{"responseCode":"2007400","accessToken":"a","accessTokenExpiryTime":"tomorrow"}`,
			"2007400", "74", "00", "accessTokenExpiryTime is not an ISO 8601 time", nil, nil},
		{"expiry time without offset", 200, "application/json", `{"accessToken":"a","accessTokenExpiryTime":"2025-03-01T10:15:00"}`,
			"", "", "", "accessTokenExpiryTime is not an ISO 8601 time", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := parseTokenAnswer(tt.status, http.Header{"Content-Type": {tt.ctype}}, []byte(tt.body), now)
			require.Error(t, err)
			assert.Nil(t, tok)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.status, e.StatusCode)
			assert.Equal(t, tt.code, e.ResponseCode)
			assert.Equal(t, tt.service, e.ServiceCode)
			assert.Equal(t, tt.caseCode, e.CaseCode)
			assert.Equal(t, tt.msg, e.ResponseMessage)
			assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
			assert.Contains(t, err.Error(), fmt.Sprint(tt.status))
			if tt.code != "" {
				assert.Contains(t, err.Error(), tt.code)
			}
			for _, target := range tt.is {
				assert.ErrorIs(t, err, target)
			}
			for _, target := range tt.isNot {
				assert.NotErrorIs(t, err, target)
			}
		})
	}
}

func TestParseTokenAnswerTooLarge(t *testing.T) {
	// A valid answer padded past 1 MiB is refused, not parsed.
	big := `{"accessToken":"a","expiresIn":"900","pad":"` + strings.Repeat("x", maxAnswer) + `"}`
	_, err := parseTokenAnswer(200, http.Header{}, []byte(big), time.Now())
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "answer larger than 1 MiB", e.ResponseMessage)
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	assert.Equal(t, 7*time.Second, parseRetryAfter("7", now))
	assert.Equal(t, 30*time.Second, parseRetryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now))
	assert.Equal(t, time.Hour, parseRetryAfter("999999", now), "capped")
	assert.Zero(t, parseRetryAfter("", now))
	assert.Zero(t, parseRetryAfter("-3", now))
	assert.Zero(t, parseRetryAfter("soon", now))
	assert.Zero(t, parseRetryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now))
}

func TestRefreshTokenExpiry(t *testing.T) {
	tok := (&oauth2.Token{AccessToken: "a"}).WithExtra(map[string]any{"refreshTokenExpiryTime": "2025-03-31T10:00:00+07:00"})
	assert.True(t, RefreshTokenExpiry(tok).Equal(time.Date(2025, 3, 31, 3, 0, 0, 0, time.UTC)))
	assert.True(t, RefreshTokenExpiry(nil).IsZero())
	assert.True(t, RefreshTokenExpiry(&oauth2.Token{AccessToken: "a"}).IsZero())
	bad := (&oauth2.Token{}).WithExtra(map[string]any{"refreshTokenExpiryTime": "never"})
	assert.True(t, RefreshTokenExpiry(bad).IsZero())
}

func TestDefaultBackoff(t *testing.T) {
	for attempt := 1; attempt <= 20; attempt++ {
		limit := min(250*time.Millisecond<<min(attempt-1, 5), 5*time.Second) + time.Millisecond
		for range 50 {
			d := DefaultBackoff(attempt)
			require.Positive(t, d)
			require.LessOrEqual(t, d, limit, "attempt %d", attempt)
		}
	}
}

// --- the cached source ----------------------------------------------------

// TestCacheThousandCallersOneFetch: 1,000 goroutines asking a cold source
// cause one request, and 1,000 asking again after expiry cause one more.
func TestCacheThousandCallersOneFetch(t *testing.T) {
	clock := newSrcClock()
	g := newGate(t)
	p := newSrcProvider(t, clock.Now, func(r srcRequest) srcAnswer {
		g.wait(r)
		return b2bAnswer(fmt.Sprintf("token-%d", r.N))
	})
	src := p.b2b(clock).TokenSource(context.Background()).(ContextTokenSource)

	round := func(want string) {
		const n = 1000
		var joined atomic.Int64
		toks := make([]*oauth2.Token, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				toks[i], errs[i] = src.TokenContext(&joinCtx{Context: context.Background(), joined: &joined})
			})
		}
		waitJoined(t, &joined, n)
		g.open()
		wg.Wait()
		for i := range n {
			require.NoError(t, errs[i])
			require.Same(t, toks[0], toks[i])
		}
		assert.Equal(t, want, toks[0].AccessToken)
	}
	round("token-1")
	assert.Equal(t, int64(1), p.hits.Load())

	clock.Advance(901 * time.Second)
	round("token-2")
	assert.Equal(t, int64(2), p.hits.Load())
}

func TestCacheEarlyRefresh(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn int
		early     time.Duration
		refreshAt time.Duration // the token is renewed from this age on
	}{
		{"900s: 60s cap", 900, 0, 840 * time.Second},
		{"300s: 10%", 300, 0, 270 * time.Second},
		{"100s: 10%", 100, 0, 90 * time.Second},
		{"EarlyRefresh override", 900, 5 * time.Minute, 600 * time.Second},
		{"EarlyRefresh small", 900, time.Second, 899 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newSrcClock()
			p := newSrcProvider(t, clock.Now, func(r srcRequest) srcAnswer {
				return okAnswer(fmt.Sprintf(`{"responseCode":"2007300","accessToken":"t%d","tokenType":"Bearer","expiresIn":%d}`, r.N, tt.expiresIn))
			})
			cfg := p.b2b(clock)
			cfg.EarlyRefresh = tt.early
			src := cfg.TokenSource(context.Background())
			tok, err := src.Token()
			require.NoError(t, err)
			require.Equal(t, "t1", tok.AccessToken)

			clock.Advance(tt.refreshAt - time.Second)
			tok, err = src.Token()
			require.NoError(t, err)
			assert.Equal(t, "t1", tok.AccessToken, "renewed too early")
			assert.Equal(t, int64(1), p.hits.Load())

			clock.Advance(2 * time.Second)
			tok, err = src.Token()
			require.NoError(t, err)
			assert.Equal(t, "t2", tok.AccessToken, "not renewed in time")
			assert.Equal(t, int64(2), p.hits.Load())
		})
	}
}

// TestCacheRealClock runs the cached source on the real clock: a timer drops
// the token when it is due, so the hot path reads no clock at all.
func TestCacheRealClock(t *testing.T) {
	f := freshness{}
	long := &oauth2.Token{AccessToken: "a", ExpiresIn: 3600, Expiry: time.Now().Add(time.Hour)}
	at := f.renewAt(long)
	assert.Contains(t, at.String(), "m=+", "renewal time has no monotonic reading")
	assert.WithinDuration(t, time.Now().Add(59*time.Minute), at, 5*time.Second)
	assert.True(t, f.before(at))
	short := &oauth2.Token{AccessToken: "a", ExpiresIn: 900, Expiry: time.Now().Add(30 * time.Second)}
	assert.False(t, f.fresh(short))
	assert.False(t, f.before(f.renewAt(short)), "due 30 s before expiry with a 60 s margin")

	p := newSrcProvider(t, time.Now, func(r srcRequest) srcAnswer {
		return okAnswer(fmt.Sprintf(`{"accessToken":"t%d","expiresIn":1}`, r.N)) // margin 100 ms
	})
	cfg := p.b2b(nil)
	cfg.Now = nil
	src := cfg.TokenSource(context.Background())
	tok, err := src.Token()
	require.NoError(t, err)
	require.Equal(t, "t1", tok.AccessToken)
	require.Eventually(t, func() bool {
		tok, err := src.Token()
		return err == nil && tok.AccessToken == "t2"
	}, 5*time.Second, 10*time.Millisecond, "the renewal timer did not drop the due token")
	assert.Equal(t, int64(2), p.hits.Load())

	// Invalidate drops the timed entry at once.
	tok, err = src.Token()
	require.NoError(t, err)
	src.(TokenInvalidator).Invalidate(tok)
	tok, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "t3", tok.AccessToken)
}

// TestCacheWaiterCancellation: one caller giving up returns at once, while
// the fetch goes on and serves the others.
func TestCacheWaiterCancellation(t *testing.T) {
	clock := newSrcClock()
	g := newGate(t)
	p := newSrcProvider(t, clock.Now, func(r srcRequest) srcAnswer {
		g.wait(r)
		return b2bAnswer("shared")
	})
	src := p.b2b(clock).TokenSource(context.Background()).(ContextTokenSource)

	var joined atomic.Int64
	ctxA, cancelA := context.WithCancel(context.Background())
	type result struct {
		tok *oauth2.Token
		err error
	}
	resA := make(chan result, 1)
	go func() {
		tok, err := src.TokenContext(&joinCtx{Context: ctxA, joined: &joined})
		resA <- result{tok, err}
	}()
	others := make(chan result, 5)
	for range 5 {
		go func() {
			tok, err := src.TokenContext(&joinCtx{Context: context.Background(), joined: &joined})
			others <- result{tok, err}
		}()
	}
	waitJoined(t, &joined, 6)

	cancelA()
	select {
	case r := <-resA:
		require.ErrorIs(t, r.err, context.Canceled)
		assert.Nil(t, r.tok)
		assert.True(t, strings.HasPrefix(r.err.Error(), "snapauth: "))
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled caller did not return")
	}
	assert.Empty(t, others, "other callers returned before the fetch finished")

	g.open()
	for range 5 {
		r := <-others
		require.NoError(t, r.err)
		assert.Equal(t, "shared", r.tok.AccessToken)
	}
	assert.Equal(t, int64(1), p.hits.Load())
	// The cancelled caller's next call gets the cached token.
	tok, err := src.TokenContext(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "shared", tok.AccessToken)
	assert.Equal(t, int64(1), p.hits.Load())
}

// TestCacheFailedFetchShared: a failed fetch gives every waiter the same
// error from one request, and the next call tries again.
func TestCacheFailedFetchShared(t *testing.T) {
	clock := newSrcClock()
	g := newGate(t)
	var fail atomic.Bool
	fail.Store(true)
	p := newSrcProvider(t, clock.Now, func(r srcRequest) srcAnswer {
		g.wait(r)
		if fail.Load() {
			return srcAnswer{Status: 503, Body: `{"responseCode":"5037300","responseMessage":"Service Unavailable"}`}
		}
		return b2bAnswer("after-failure")
	})
	cfg := p.b2b(clock)
	cfg.MaxRetries = -1
	src := cfg.TokenSource(context.Background()).(ContextTokenSource)

	const n = 20
	var joined atomic.Int64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = src.TokenContext(&joinCtx{Context: context.Background(), joined: &joined})
		})
	}
	waitJoined(t, &joined, n)
	g.open()
	wg.Wait()
	var e *Error
	require.ErrorAs(t, errs[0], &e)
	assert.Equal(t, 503, e.StatusCode)
	assert.ErrorIs(t, errs[0], ErrServerError)
	for i := range n {
		require.Equal(t, errs[0], errs[i], "waiter %d", i)
	}
	assert.Equal(t, int64(1), p.hits.Load(), "one request for all waiters")

	fail.Store(false)
	go g.open()
	tok, err := src.Token()
	require.NoError(t, err)
	assert.Equal(t, "after-failure", tok.AccessToken)
	assert.Equal(t, int64(2), p.hits.Load())
}

func TestCacheInvalidate(t *testing.T) {
	clock := newSrcClock()
	p := newSrcProvider(t, clock.Now, func(r srcRequest) srcAnswer { return b2bAnswer(fmt.Sprintf("t%d", r.N)) })
	src := p.b2b(clock).TokenSource(context.Background())
	inv := src.(TokenInvalidator)

	t1, err := src.Token()
	require.NoError(t, err)
	inv.Invalidate(nil)
	inv.Invalidate(&oauth2.Token{AccessToken: "someone-else"})
	got, err := src.Token()
	require.NoError(t, err)
	assert.Same(t, t1, got, "invalidating another token dropped the cached one")
	assert.Equal(t, int64(1), p.hits.Load())

	inv.Invalidate(t1)
	t2, err := src.Token()
	require.NoError(t, err)
	assert.Equal(t, "t2", t2.AccessToken)
	assert.Equal(t, int64(2), p.hits.Load())

	inv.Invalidate(t1) // stale: t2 stays
	got, err = src.Token()
	require.NoError(t, err)
	assert.Same(t, t2, got)
	assert.Equal(t, int64(2), p.hits.Load())
}

// --- stored sources ---------------------------------------------------------

// srcStore is the package's MemoryStore (TokenStore and Locker) with a
// switch that makes Save fail and counters of the calls.
type srcStore struct {
	*MemoryStore
	mu      sync.Mutex
	saveErr error
	saves   atomic.Int64
	locks   atomic.Int64
}

func newSrcStore() *srcStore { return &srcStore{MemoryStore: NewMemoryStore()} }

func (s *srcStore) failSaves(err error) {
	s.mu.Lock()
	s.saveErr = err
	s.mu.Unlock()
}

func (s *srcStore) Save(ctx context.Context, key string, t *oauth2.Token) error {
	s.saves.Add(1)
	s.mu.Lock()
	err := s.saveErr
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.MemoryStore.Save(ctx, key, t)
}

func (s *srcStore) Lock(ctx context.Context, key string) (func(), error) {
	s.locks.Add(1)
	return s.MemoryStore.Lock(ctx, key)
}

func TestStoredSourceUsesOtherReplicasToken(t *testing.T) {
	clock := newSrcClock()
	p := newSrcProvider(t, clock.Now, func(r srcRequest) srcAnswer { return b2bAnswer(fmt.Sprintf("fetched-%d", r.N)) })
	store := newSrcStore()
	saved := &oauth2.Token{AccessToken: "from-replica", TokenType: "Bearer", Expiry: clock.Now().Add(10 * time.Minute), ExpiresIn: 900}
	require.NoError(t, store.Save(context.Background(), "b2b", saved))

	src := p.b2b(clock).StoredTokenSource(context.Background(), store, "b2b")
	tok, err := src.Token()
	require.NoError(t, err)
	assert.Equal(t, "from-replica", tok.AccessToken)
	assert.Zero(t, p.hits.Load(), "fetched although the store held a fresh token")

	// At expiry it renews, under the store's lock, and saves before
	// handing the token out.
	clock.Advance(10 * time.Minute)
	tok, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "fetched-1", tok.AccessToken)
	assert.Equal(t, int64(1), store.locks.Load())
	inStore, err := store.Load(context.Background(), "b2b")
	require.NoError(t, err)
	assert.Equal(t, tok.AccessToken, inStore.AccessToken, "token handed out before it was saved")
	assert.True(t, tok.Expiry.Equal(inStore.Expiry))

	// A replica renews first: its token is picked up without a fetch.
	clock.Advance(15 * time.Minute)
	newer := &oauth2.Token{AccessToken: "replica-2", TokenType: "Bearer", Expiry: clock.Now().Add(15 * time.Minute), ExpiresIn: 900}
	require.NoError(t, store.Save(context.Background(), "b2b", newer))
	tok, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "replica-2", tok.AccessToken)
	assert.Equal(t, int64(1), p.hits.Load())

	// A rejected token in the store is not handed out again.
	src.(TokenInvalidator).Invalidate(tok)
	tok, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "fetched-2", tok.AccessToken)
}

func TestStoredSourceSaveFails(t *testing.T) {
	clock := newSrcClock()
	p := newSrcProvider(t, clock.Now, func(r srcRequest) srcAnswer { return b2bAnswer("secret-access-token-xyz") })
	store := newSrcStore()
	store.failSaves(errors.New("disk full"))
	src := p.b2b(clock).StoredTokenSource(context.Background(), store, "b2b")

	tok, err := src.Token()
	assert.Nil(t, tok)
	var se *StoreError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "b2b", se.Key)
	require.NotNil(t, se.Token)
	assert.Equal(t, "secret-access-token-xyz", se.Token.AccessToken)
	assert.ErrorContains(t, err, "disk full")
	for _, s := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err)} {
		assert.NotContains(t, s, "secret-access-token-xyz")
	}
	assert.Equal(t, int64(1), store.saves.Load())

	// The token obtained is served from memory; no second fetch.
	tok, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "secret-access-token-xyz", tok.AccessToken)
	assert.Equal(t, int64(1), p.hits.Load())
}

func TestStoredSourceLoadFails(t *testing.T) {
	clock := newSrcClock()
	p := newSrcProvider(t, clock.Now, func(r srcRequest) srcAnswer { return b2bAnswer("x") })
	src := p.b2b(clock).StoredTokenSource(context.Background(), failingStore{}, "b2b")
	_, err := src.Token()
	require.ErrorContains(t, err, "store is down")
	assert.Zero(t, p.hits.Load())
}

type failingStore struct{}

func (failingStore) Load(context.Context, string) (*oauth2.Token, error) {
	return nil, errors.New("store is down")
}
func (failingStore) Save(context.Context, string, *oauth2.Token) error {
	return errors.New("store is down")
}

// --- oauth2 interplay -----------------------------------------------------

func TestOAuth2Interplay(t *testing.T) {
	clock := newSrcClock()
	clock.ns.Store(time.Now().UnixNano()) // oauth2.Token.Valid reads the real clock
	p := newSrcProvider(t, clock.Now, func(r srcRequest) srcAnswer { return b2bAnswer(fmt.Sprintf("svc-token-%d", r.N)) })
	var calls atomic.Int64
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer svc-token-1" {
			http.Error(w, "bad token "+r.Header.Get("Authorization"), http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer svc.Close()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: transport})

	ours := p.b2b(clock).TokenSource(ctx)
	reuse := oauth2.ReuseTokenSource(nil, ours)
	tok, err := reuse.Token()
	require.NoError(t, err)
	assert.Equal(t, "svc-token-1", tok.AccessToken)
	assert.True(t, tok.Valid())

	client := oauth2.NewClient(ctx, ours)
	for range 3 {
		resp, err := client.Get(svc.URL + "/v1.0/balance-inquiry")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		assert.Equal(t, "ok", string(body))
	}
	assert.Equal(t, int64(3), calls.Load())
	assert.Equal(t, int64(1), p.hits.Load(), "one token for every call")
}

// --- secrets --------------------------------------------------------------

// TestNoSecretsInOutput prints configs, sources and errors every way fmt can
// and looks for the private key (PEM, base64 DER, its numbers), the
// additionalInfo secret and the tokens.
func TestNoSecretsInOutput(t *testing.T) {
	key := srcKey(t)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	pkcs1 := x509.MarshalPKCS1PrivateKey(key)
	secrets := []string{
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
		base64.StdEncoding.EncodeToString(pkcs8)[:64],
		base64.StdEncoding.EncodeToString(pkcs1)[:64],
		fmt.Sprintf("%x", pkcs1[:32]),
		key.D.String()[:40], key.D.Text(16)[:40], key.Primes[0].String()[:40], key.Primes[1].String()[:40],
		"client-secret-in-additional-info", "access-token-AAAA", "refresh-token-RRRR",
	}

	clock := newSrcClock()
	var mode atomic.Int64
	p := newSrcProvider(t, clock.Now, func(r srcRequest) srcAnswer {
		switch mode.Load() {
		case 0:
			return okAnswer(`{"responseCode":"2007400","accessToken":"access-token-AAAA","refreshToken":"refresh-token-RRRR","accessTokenExpiryTime":"` +
				clock.Now().Add(15*time.Minute).Format(time.RFC3339) + `"}`)
		case 1:
			return okAnswer(`{"responseCode":"2007400","accessToken":"access-token-AAAA","refreshToken":"refresh-token-RRRR","accessTokenExpiryTime":"bad"}`)
		default:
			return srcAnswer{Status: 401, Body: `{"responseCode":"4017401","responseMessage":"Invalid Token (B2B2C)"}`}
		}
	})
	b2b := p.b2b(clock)
	b2b.AdditionalInfo = map[string]any{"clientSecret": "client-secret-in-additional-info"}
	b2b2c := p.b2b2c(clock)
	var out []string
	for _, v := range []any{*b2b, b2b, *b2b2c, b2b2c} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
	}
	assert.Contains(t, out[0], "partner-client-key")
	assert.Contains(t, out[0], "[redacted]")

	ctx := context.Background()
	tok, err := b2b2c.Exchange(ctx, "auth-code")
	require.NoError(t, err)
	store := newSrcStore()
	store.failSaves(errors.New("read-only"))
	src := b2b2c.StoredTokenSource(ctx, store, "customer-1")
	src2 := b2b2c.TokenSource(ctx, tok)
	src2.(TokenInvalidator).Invalidate(tok)
	var errs []error
	_, err = src.Token() // ErrReauthorize: nothing stored
	errs = append(errs, err)
	storeErrSrc := b2b2c.StoredTokenSource(ctx, store, "customer-1")
	store.failSaves(nil)
	require.NoError(t, store.Save(ctx, "customer-1", tok))
	store.failSaves(errors.New("read-only"))
	clock.Advance(20 * time.Minute)
	_, err = storeErrSrc.Token() // refresh works, save fails: *StoreError
	var se *StoreError
	require.ErrorAs(t, err, &se)
	errs = append(errs, err)
	mode.Store(1)
	_, err = b2b2c.Exchange(ctx, "auth-code")
	errs = append(errs, err)
	mode.Store(2)
	_, err = b2b2c.Refresh(ctx, "refresh-token-RRRR")
	require.ErrorIs(t, err, ErrReauthorize)
	errs = append(errs, err)
	bad := *b2b
	bad.TokenURL = "http://provider.example.com/x?clientSecret=client-secret-in-additional-info"
	_, err = bad.Token(ctx)
	errs = append(errs, err)
	for _, e := range errs {
		require.Error(t, e)
		for _, verb := range []string{"%v", "%+v", "%s", "%q"} {
			out = append(out, fmt.Sprintf(verb, e))
		}
	}
	for _, s := range []any{src, src2, storeErrSrc} {
		for _, verb := range []string{"%v", "%+v", "%#v"} {
			out = append(out, fmt.Sprintf(verb, s))
		}
	}
	for _, o := range out {
		for _, s := range secrets {
			require.NotContains(t, o, s)
		}
	}
}

// --- fuzzing --------------------------------------------------------------

// FuzzParseTokenAnswer feeds the answer parser arbitrary statuses and bodies:
// it must never panic, a token it accepts must be usable, and anything else
// must be an *Error that says what went wrong.
func FuzzParseTokenAnswer(f *testing.F) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, Jakarta)
	f.Add(200, []byte(`{"responseCode":"2007300","responseMessage":"Successful","accessToken":"a","tokenType":"Bearer","expiresIn":"900"}`))
	f.Add(200, []byte(`{"responseCode":2007300,"accessToken":"a","tokenType":"bearer","expiresIn":900}`))
	f.Add(200, []byte(`{"responseCode":"2007400","accessToken":"a","tokenType":"BearerToken","accessTokenExpiryTime":"2025-03-01T10:15:00+0700","refreshToken":"r","refreshTokenExpiryTime":"2025-03-31T03:00:00Z"}`))
	f.Add(401, []byte(`{"responseCode":"4017300","responseMessage":"Unauthorized. Signature"}`))
	f.Add(200, []byte(`{"responseCode":"4017300","responseMessage":"Unauthorized"}`))
	f.Add(502, []byte(`<html>Bad Gateway</html>`))
	f.Add(200, []byte(``))
	f.Add(200, []byte(`{"accessToken":"a","expiresIn":1e300}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		tok, err := parseTokenAnswer(status, http.Header{}, body, now)
		if err == nil {
			if status < 200 || status > 299 {
				t.Fatalf("status %d accepted", status)
			}
			if tok.AccessToken == "" || tok.TokenType == "" || tok.Expiry.IsZero() {
				t.Fatalf("unusable token accepted: %+v", tok)
			}
			if tok.Extra("accessToken") != nil || tok.Extra("refreshToken") != nil {
				t.Fatal("tokens left in Extra")
			}
			return
		}
		if tok != nil {
			t.Fatal("token and error")
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("not an *Error: %T %v", err, err)
		}
		if e.StatusCode != status || !strings.HasPrefix(err.Error(), "snapauth: ") {
			t.Fatalf("bad error %q for status %d", err, status)
		}
		if len(e.ResponseCode) == 7 && (e.ServiceCode != e.ResponseCode[3:5] || e.CaseCode != e.ResponseCode[5:]) {
			t.Fatalf("codes not split: %+v", e)
		}
		if len(e.Body) > 64<<10 || (len(e.Body) > 0 && !bytes.HasPrefix(body, e.Body)) {
			t.Fatal("Body is not a prefix of the answer")
		}
	})
}
