package snapauth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth/internal/testkey"
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
	p := &srcProvider{t: t, pub: &testkey.RSA(t).PublicKey, clientKey: "partner-client-key", clock: clock, answer: answer}
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
		PrivateKey: testkey.RSA(p.t),
		HTTPClient: p.srv.Client(),
		Now:        now,
		Backoff:    func(int) time.Duration { return time.Millisecond },
	}
}

func (p *srcProvider) b2b2c(clock *srcClock) *B2B2CConfig {
	return &B2B2CConfig{
		TokenURL:   p.srv.URL + "/snap/v1.0/access-token/b2b2c",
		ClientKey:  p.clientKey,
		PrivateKey: testkey.RSA(p.t),
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
