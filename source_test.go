package snapauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

func jsonOf(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	require.NoError(tb, err)
	return string(b)
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

func (g *gate) wait(r fakeRequest) bool {
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

// newGatedProvider is a fake provider that holds every request at a new
// gate, then answers it with answer.
func newGatedProvider(t *testing.T, now func() time.Time, answer func(fakeRequest) fakeAnswer) (*gate, *fakeProvider) {
	g := newGate(t)
	return g, newFakeProvider(t, now, func(r fakeRequest) fakeAnswer {
		g.wait(r)
		return answer(r)
	})
}

// afterInvalidate hands tok back to src as rejected and returns the token
// src gives next.
func afterInvalidate(t *testing.T, src oauth2.TokenSource, tok *oauth2.Token) *oauth2.Token {
	t.Helper()
	src.(TokenInvalidator).Invalidate(tok)
	next, err := src.Token()
	require.NoError(t, err)
	return next
}

// fetchTogether has n callers ask src for a token at once, waits until all
// of them have joined the one fetch, lets its answer through g and returns
// what each caller got.
func fetchTogether(t *testing.T, src ContextTokenSource, g *gate, n int) ([]*oauth2.Token, []error) {
	t.Helper()
	var joined atomic.Int64
	toks := make([]*oauth2.Token, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			toks[i], errs[i] = src.TokenContext(&joinCtx{Context: context.Background(), joined: &joined})
		})
	}
	waitJoined(t, &joined, int64(n))
	g.open()
	wg.Wait()
	return toks, errs
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
	p := newFakeProvider(t, clock.Now, func(r fakeRequest) fakeAnswer { return b2bAnswer(fmt.Sprintf("svc-token-%d", r.N)) })
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
