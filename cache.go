package snapauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// freshness decides when a token is due for renewal.
type freshness struct {
	now   func() time.Time // nil means the real clock
	early time.Duration    // fixed margin; 0 means min(10% of the lifetime, 60 s)
}

func (f freshness) clock() time.Time {
	if f.now != nil {
		return f.now()
	}
	return time.Now()
}

func (f freshness) margin(t *oauth2.Token) time.Duration {
	if f.early > 0 {
		return f.early
	}
	if t.ExpiresIn > 0 {
		return min(time.Duration(t.ExpiresIn)*time.Second/10, time.Minute)
	}
	return 10 * time.Second
}

// fresh reports whether t can be handed out without renewing it.
func (f freshness) fresh(t *oauth2.Token) bool {
	if t == nil || t.AccessToken == "" {
		return false
	}
	if t.Expiry.IsZero() {
		return true
	}
	return f.clock().Add(f.margin(t)).Before(t.Expiry)
}

// renewAt returns when t is due for renewal. With the real clock the time
// carries a monotonic reading, so that before needs one clock read.
func (f freshness) renewAt(t *oauth2.Token) time.Time {
	now := f.clock()
	return now.Add(t.Expiry.Sub(now) - f.margin(t))
}

// before reports whether the renewal time at is still ahead. With the real
// clock it is time.Until, a single monotonic clock read: the cached-token
// hot path costs one atomic load and this.
func (f freshness) before(at time.Time) bool {
	if f.now == nil {
		return time.Until(at) > 0
	}
	return f.now().Before(at)
}

// fetchFunc obtains a new token. last is the newest token the source has
// held (nil at first), rejected the access token the provider refused, if any.
type fetchFunc func(ctx context.Context, last *oauth2.Token, rejected string) (*oauth2.Token, error)

// cachedSource hands out a cached token with one atomic load, and renews it
// with exactly one fetch however many goroutines ask at once.
type cachedSource struct {
	ctx     context.Context // values only (the HTTP client); never cancelled
	fetch   fetchFunc
	fresh   freshness
	timeout time.Duration

	cur atomic.Pointer[cachedToken] // the token handed out, nil when dropped

	// after schedules the drop of a cached token when it is due; nil means
	// time.AfterFunc (Customers shares one timer among its sources).
	after func(d time.Duration, f func()) stopper

	mu       sync.Mutex
	call     *fetchCall    // the fetch in flight, if any
	last     *oauth2.Token // newest token ever held
	rejected string        // access token reported invalid

	obs observer // where the source reports its fetches; zero: nowhere
}

// cachedToken is a token with the time it is due for renewal.
type cachedToken struct {
	tok     *oauth2.Token
	renewAt time.Time
	forever bool // the token has no expiry
	// timed says a timer drops this entry from the source when it is due
	// (real clock only), so that while it is cached it is fresh and the hot
	// path reads no clock.
	timed bool
	timer stopper // read and written with the source's mu held
}

// stopper is a scheduled call that can be cancelled, such as a *time.Timer.
type stopper interface{ Stop() bool }

// valid returns the cached token if it can be handed out, else nil.
func (s *cachedSource) valid() *oauth2.Token {
	c := s.cur.Load()
	if c == nil {
		return nil
	}
	if c.timed || c.forever || s.fresh.before(c.renewAt) {
		return c.tok
	}
	return nil
}

// set caches t (nil drops the cached token). It is called with s.mu held,
// or before the source is shared.
func (s *cachedSource) set(t *oauth2.Token) {
	var c *cachedToken
	var wait time.Duration
	switch {
	case t == nil:
	case t.AccessToken == "":
		c = &cachedToken{tok: t} // never valid
	case t.Expiry.IsZero():
		c = &cachedToken{tok: t, forever: true}
	default:
		c = &cachedToken{tok: t, renewAt: s.fresh.renewAt(t)}
		if s.fresh.now == nil {
			wait = time.Until(c.renewAt)
			c.timed = wait > 0
		}
	}
	if old := s.cur.Swap(c); old != nil && old.timer != nil {
		old.timer.Stop()
	}
	if c != nil && c.timed {
		drop := func() { s.cur.CompareAndSwap(c, nil) }
		if s.after != nil {
			c.timer = s.after(wait, drop)
		} else {
			c.timer = time.AfterFunc(wait, drop)
		}
	}
}

type fetchCall struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

func newCachedSource(ctx context.Context, fetch fetchFunc, fresh freshness, timeout time.Duration, initial *oauth2.Token) *cachedSource {
	if ctx == nil {
		ctx = context.Background()
	}
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	s := &cachedSource{ctx: context.WithoutCancel(ctx), fetch: fetch, fresh: fresh, timeout: timeout, last: initial}
	if fresh.fresh(initial) {
		s.set(initial)
	}
	return s
}

// Token returns a valid token, fetching one if needed.
func (s *cachedSource) Token() (*oauth2.Token, error) {
	return s.TokenContext(s.ctx)
}

// TokenContext returns a valid token. If a fetch is needed it waits for it
// until ctx ends; the fetch itself goes on for the other callers.
func (s *cachedSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	if t := s.valid(); t != nil {
		return t, nil
	}
	s.mu.Lock()
	if t := s.valid(); t != nil {
		s.mu.Unlock()
		return t, nil
	}
	c := s.call
	if c == nil {
		c = &fetchCall{done: make(chan struct{})}
		s.call = c
		go s.run(ctx, c, s.last, s.rejected)
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		return c.tok, c.err
	case <-ctx.Done():
		return nil, fmt.Errorf("snapauth: gave up waiting for a token: %w", context.Cause(ctx))
	}
}

// run fetches for the caller that started c, with that caller's context
// values (its trace span) but not its cancellation: see fetchContext.
func (s *cachedSource) run(caller context.Context, c *fetchCall, last *oauth2.Token, rejected string) {
	ctx, cancel := context.WithTimeout(s.fetchContext(caller), s.timeout)
	defer cancel()
	tok, err := s.fetch(ctx, last, rejected)
	s.fetched(ctx, last, tok, err)
	var se *StoreError
	if errors.As(err, &se) {
		tok = se.Token // obtained but not persisted: keep it, report the error
	}
	s.mu.Lock()
	if tok != nil {
		s.set(tok)
		s.last = tok
		s.rejected = ""
	}
	s.call = nil
	s.mu.Unlock()
	if err != nil {
		tok = nil
	}
	c.tok, c.err = tok, err
	close(c.done)
}

// Format writes the source without its tokens, for every verb.
func (s *cachedSource) Format(f fmt.State, verb rune) {
	if c := s.cur.Load(); c != nil {
		fmt.Fprintf(f, "snapauth.TokenSource{token: [redacted], expiry: %s}", c.tok.Expiry.Format(time.RFC3339))
		return
	}
	io.WriteString(f, "snapauth.TokenSource{token: none}")
}

// Invalidate drops t if it is still the cached token, so that the next call
// fetches a new one. The transport calls it when the provider answers that
// the token is invalid.
func (s *cachedSource) Invalidate(t *oauth2.Token) {
	if t == nil {
		return
	}
	s.mu.Lock()
	if c := s.cur.Load(); c != nil && c.tok.AccessToken == t.AccessToken {
		s.set(nil)
	}
	s.rejected = t.AccessToken
	s.mu.Unlock()
}
