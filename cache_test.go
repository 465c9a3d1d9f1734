package snapauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// --- the cached source ----------------------------------------------------

// TestCacheThousandCallersOneFetch: 1,000 goroutines asking a cold source
// cause one request, and 1,000 asking again after expiry cause one more.
func TestCacheThousandCallersOneFetch(t *testing.T) {
	clock := newSrcClock()
	g, p := newGatedProvider(t, clock.Now, func(r fakeRequest) fakeAnswer { return b2bAnswer(fmt.Sprintf("token-%d", r.N)) })
	src := p.b2b(clock).TokenSource(context.Background()).(ContextTokenSource)

	round := func(want string) {
		const n = 1000
		toks, errs := fetchTogether(t, src, g, n)
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
			p := newFakeProvider(t, clock.Now, func(r fakeRequest) fakeAnswer {
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

			// Due: the still-valid token is handed out at once while one
			// renewal runs in the background.
			clock.Advance(1500 * time.Millisecond)
			tok, err = src.Token()
			require.NoError(t, err)
			assert.Equal(t, "t1", tok.AccessToken, "the still-valid token while the renewal runs")
			waitRenewal(t, src)
			tok, err = src.Token()
			require.NoError(t, err)
			assert.Equal(t, "t2", tok.AccessToken, "not renewed in time")
			assert.Equal(t, int64(2), p.hits.Load())
		})
	}
}

// waitRenewal waits until the fetch src has in flight, if any, is done.
func waitRenewal(t testing.TB, src oauth2.TokenSource) {
	t.Helper()
	s := src.(*cachedSource)
	s.mu.Lock()
	c := s.call
	s.mu.Unlock()
	if c == nil {
		return
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the renewal did not finish")
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

	p := newFakeProvider(t, time.Now, func(r fakeRequest) fakeAnswer {
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
	assert.Equal(t, "t3", afterInvalidate(t, src, tok).AccessToken)
}

// TestCacheWaiterCancellation: one caller giving up returns at once, while
// the fetch goes on and serves the others.
func TestCacheWaiterCancellation(t *testing.T) {
	clock := newSrcClock()
	g, p := newGatedProvider(t, clock.Now, func(fakeRequest) fakeAnswer { return b2bAnswer("shared") })
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
		var r result
		select {
		case r = <-others:
		case <-time.After(10 * time.Second):
			t.Fatal("a caller did not return after the fetch was let through")
		}
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
	var fail atomic.Bool
	fail.Store(true)
	g, p := newGatedProvider(t, clock.Now, func(fakeRequest) fakeAnswer {
		if fail.Load() {
			return fakeAnswer{Status: 503, Body: `{"responseCode":"5037300","responseMessage":"Service Unavailable"}`}
		}
		return b2bAnswer("after-failure")
	})
	cfg := p.b2b(clock)
	cfg.MaxRetries = -1
	src := cfg.TokenSource(context.Background()).(ContextTokenSource)

	const n = 20
	_, errs := fetchTogether(t, src, g, n)
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
	p := newFakeProvider(t, clock.Now, func(r fakeRequest) fakeAnswer { return b2bAnswer(fmt.Sprintf("t%d", r.N)) })
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

// TestCacheRenewalServesValidToken: while the one renewal of a due token
// is held at the provider, 16 callers all get the still-valid token at once
// (they would wait on the held fetch otherwise, and the bounded wait below
// would fail the test); released, the renewal's token is served to all.
// BenchmarkRenewal measures how long they wait.
func TestCacheRenewalServesValidToken(t *testing.T) {
	g := newGate(t)
	var fetches atomic.Int64
	fetch := func(context.Context, *oauth2.Token, string) (*oauth2.Token, error) {
		n := fetches.Add(1)
		if !g.wait(fakeRequest{N: n}) {
			return nil, errors.New("the renewal was not let through")
		}
		return &oauth2.Token{AccessToken: fmt.Sprintf("t%d", n+1), ExpiresIn: 10, Expiry: time.Now().Add(10 * time.Second)}, nil
	}
	s := dueSource(fetch)

	got := make(chan string, 16)
	for range 16 {
		go func() {
			tok, err := s.Token()
			if err != nil {
				got <- err.Error()
				return
			}
			got <- tok.AccessToken
		}()
	}
	for range 16 {
		select {
		case tok := <-got:
			require.Equal(t, "t1", tok, "a caller got something else than the still-valid token")
		case <-time.After(10 * time.Second):
			t.Fatal("a caller waited for the held renewal")
		}
	}
	select { // the renewal runs on its own goroutine: wait until it is held
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no renewal started")
	}
	require.EqualValues(t, 1, fetches.Load(), "one renewal for all callers")
	g.open()
	waitRenewal(t, s)
	tok, err := s.Token()
	require.NoError(t, err)
	require.Equal(t, "t2", tok.AccessToken)
	require.EqualValues(t, 1, fetches.Load())
}

// dueSource returns a cached source on the real clock holding a token that
// is due for renewal (inside the early-refresh margin of its 10 s lifetime)
// but still valid for 500 ms, and renewed by fetch.
func dueSource(fetch fetchFunc) *cachedSource {
	first := &oauth2.Token{AccessToken: "t1", ExpiresIn: 10, Expiry: time.Now().Add(500 * time.Millisecond)}
	s := newCachedSource(context.Background(), fetch, freshness{}, time.Minute, nil)
	s.mu.Lock()
	s.set(first, false)
	s.mu.Unlock()
	return s
}
