package faulttest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"
)

// Timeouts of the fault tests: the HTTP client gives up on one request after
// clientTimeout, a cached source gives up on one fetch (retries included)
// after fetchTimeout, and the caller waits at most callerDeadline.
const (
	clientTimeout  = 400 * time.Millisecond
	fetchTimeout   = 1500 * time.Millisecond
	callerDeadline = 2 * time.Second
	// slack is how late past its deadline a caller may get its answer.
	slack = 400 * time.Millisecond
)

// env is one fault test's world: a strict provider behind an in-process
// Toxiproxy, an HTTP client whose requests are counted, and a clock.
type env struct {
	p        *provider
	c        *chaos
	clk      *clock
	hc       *http.Client // through the proxy, with clientTimeout
	requests *countingTransport
}

// countingTransport counts the requests snapauth sends.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// newEnv builds an env whose cleanup ends with goleak.VerifyNone: every
// goroutine the test started (snapauth's fetches, net/http's connections,
// Toxiproxy's links) must be gone once the servers and idle connections are
// closed.
func newEnv(t *testing.T) *env {
	verifyNoLeaks(t)
	clk := &clock{}
	p := newProvider(t, clk.Now)
	c := newChaos(t, p.addr())
	base := &http.Transport{MaxIdleConnsPerHost: 8}
	t.Cleanup(base.CloseIdleConnections)
	ct := &countingTransport{base: base}
	return &env{p: p, c: c, clk: clk, hc: &http.Client{Transport: ct, Timeout: clientTimeout}, requests: ct}
}

// verifyNoLeaks checks, once the test and all the cleanups registered after
// this call are done, that no goroutine started by the test is left.
func verifyNoLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // registered first, so it runs last
}

// b2bSource is a cached B2B source whose token requests go through the
// proxy.
func (e *env) b2bSource(t *testing.T) snapauth.ContextTokenSource {
	cfg := &snapauth.B2BConfig{
		TokenURL: e.c.URL() + b2bPath, ClientKey: e.p.clientKey, PrivateKey: testkey.RSA(t),
		HTTPClient: e.hc, Now: e.clk.Now, FetchTimeout: fetchTimeout,
	}
	return cfg.TokenSource(context.Background()).(snapauth.ContextTokenSource)
}

// linkedCustomer links a customer through the proxy, as the account
// binding's redirect handler does: it exchanges a fresh authorization code
// and saves the token in a FileStore under "customer-1". It returns the
// token and that store, and the stored source reading it.
func (e *env) linkedCustomer(t *testing.T) (*oauth2.Token, *snapauth.FileStore, snapauth.ContextTokenSource) {
	t.Helper()
	store, err := snapauth.NewFileStore(filepath.Join(t.TempDir(), "tokens"))
	require.NoError(t, err)
	cfg := &snapauth.B2B2CConfig{
		TokenURL: e.c.URL() + b2b2cPath, ClientKey: e.p.clientKey, PrivateKey: testkey.RSA(t),
		HTTPClient: e.hc, Now: e.clk.Now, FetchTimeout: fetchTimeout,
	}
	ctx := context.Background()
	linked, err := cfg.Exchange(ctx, e.p.newAuthCode())
	require.NoError(t, err)
	require.NoError(t, store.Save(ctx, "customer-1", linked))
	return linked, store, cfg.StoredTokenSource(ctx, store, "customer-1").(snapauth.ContextTokenSource)
}

// fault is one way the network between snapauth and the provider breaks:
// one Toxiproxy toxic on one direction of the connection.
type fault struct {
	name   string
	toxic  string         // the toxic's type
	stream string         // "downstream" (the answer) or "upstream" (the request)
	attrs  map[string]any // the toxic's attributes
	// processed says the provider handles the token request despite the
	// fault: the fault hits the answer on its way back.
	processed bool
}

// inject breaks c's connection the way f says.
func (f fault) inject(t testing.TB, c *chaos) { c.add(t, f.toxic, f.stream, f.attrs) }

var faults = []fault{
	// The answer is held 3 s, far beyond the client's 400 ms.
	{"latency-spike", "latency", "downstream", map[string]any{"latency": 3000}, true},
	// The connection is closed after the first 100 bytes of the answer.
	{"reset-mid-answer/limit_data", "limit_data", "downstream", map[string]any{"bytes": 100}, true},
	// The connection is reset (RST) as the answer arrives.
	{"reset-mid-answer/reset_peer", "reset_peer", "downstream", map[string]any{"timeout": 0}, true},
	// The answer is swallowed and the socket left open, silent.
	{"half-closed/answer-black-holed", "timeout", "downstream", map[string]any{"timeout": 0}, true},
	// The request is cut after 64 bytes and the provider's side of the
	// connection closed: the provider never sees a whole request.
	{"half-closed/request-cut", "limit_data", "upstream", map[string]any{"bytes": 64}, false},
	// The answer drips at 1 KB/s: the headers arrive, the body crawls.
	{"bandwidth-crawl", "bandwidth", "downstream", map[string]any{"rate": 1}, true},
}

// requireRetryable checks that err is a typed failure worth retrying later,
// never a reason to relink the customer.
func requireRetryable(t testing.TB, err error) {
	t.Helper()
	require.Error(t, err)
	require.Truef(t, errors.Is(err, snapauth.ErrTemporary) || errors.Is(err, context.DeadlineExceeded),
		"error %q matches neither snapauth.ErrTemporary nor context.DeadlineExceeded", err)
	require.NotErrorIs(t, err, snapauth.ErrReauthorize)
	text := err.Error()
	if ue, ok := err.(*url.Error); ok {
		text = ue.Err.Error() // net/http's "Post URL: " before snapauth's error
	}
	require.True(t, strings.HasPrefix(text, "snapauth: "), "error text %q lacks the package prefix", err)
}

// failWithin asks src for a token with deadline d and checks that a
// retryable error arrives within it.
func failWithin(t testing.TB, src snapauth.ContextTokenSource, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	tok, err := src.TokenContext(ctx)
	elapsed := time.Since(start)
	require.Nil(t, tok, "a token came through the fault")
	requireRetryable(t, err)
	require.Lessf(t, elapsed, d+slack, "the error came %v after a deadline of %v", elapsed, d)
	return err
}

func tokenWithin(t testing.TB, src snapauth.ContextTokenSource, d time.Duration) (*oauth2.Token, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return src.TokenContext(ctx)
}

// serviceCall sends one signed service request straight to the provider
// (not through the proxy) with the B2B source, and the customer source when
// not nil, and requires a 200.
func serviceCall(t testing.TB, p *provider, b2b, customer oauth2.TokenSource) {
	t.Helper()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	tr := &snapauth.Transport{Base: base, Source: b2b, ClientSecret: p.clientSecret, PartnerID: p.partnerID, ChannelID: p.channelID, Now: p.now}
	ctx := snapauth.WithCustomerToken(context.Background(), customer)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.srv.URL+servicePath, strings.NewReader(`{ "partnerServiceId": "  088899", "customerNo": "12345678901234567890" }`))
	require.NoError(t, err)
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the provider refused a service call signed with the recovered token")
}

// TestFaultsB2B runs a cached B2B source through each fault while its token
// is due: the caller gets a typed, retryable error within its deadline
// (also when it gives up before the fetch does), and once the network heals
// the next call succeeds with exactly one token request.
func TestFaultsB2B(t *testing.T) {
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			e := newEnv(t)
			src := e.b2bSource(t)
			first, err := tokenWithin(t, src, 5*time.Second)
			require.NoError(t, err)
			e.clk.Advance(e.p.lifetime) // the token is now expired

			f.inject(t, e.c)
			// A caller in a hurry gives up on its own deadline while the
			// fetch goes on; a patient one gets the fetch's own error.
			failWithin(t, src, 150*time.Millisecond)
			failWithin(t, src, callerDeadline)

			e.c.heal()
			n := e.requests.n.Load()
			tok, err := tokenWithin(t, src, 5*time.Second)
			require.NoError(t, err)
			require.EqualValues(t, 1, e.requests.n.Load()-n, "token requests after recovery")
			require.NotEqual(t, first.AccessToken, tok.AccessToken)
			again, err := tokenWithin(t, src, time.Second)
			require.NoError(t, err)
			require.Same(t, tok, again, "the recovered token is cached")
			serviceCall(t, e.p, src, nil)
		})
	}
}

// TestFaultsB2B2C runs a stored customer source (FileStore) through each
// fault while its access token is due, so the fault hits a refresh with a
// rotating, single-use refresh token. The caller gets a typed, retryable
// error within its deadline, the refresh token is sent exactly once (never
// again once it may have reached the provider), and the store keeps the
// token it had.
//
// When the fault hits the request (the provider never saw it), the stored
// refresh token stays valid and the next call after recovery refreshes with
// exactly one request, leaving in the store a refresh token the provider
// accepts. When the fault hits the answer, the provider has already spent
// the refresh token: a provider with a reuse interval ("grace") answers the
// same token again and the source recovers the same way, while a strictly
// single-use provider refuses it, and the source reports ErrReauthorize (the
// customer must link again) instead of retrying in a loop. No client can do
// better: the only copy of the new refresh token was in the lost answer.
func TestFaultsB2B2C(t *testing.T) {
	for _, f := range faults {
		for _, grace := range []bool{false, true} {
			if grace && !f.processed {
				continue // the same as without grace: the refresh token was never spent
			}
			name := f.name + "/strict"
			if grace {
				name = f.name + "/grace"
			}
			t.Run(name, func(t *testing.T) {
				e := newEnv(t)
				e.p.grace = grace
				linked, store, src := e.linkedCustomer(t)
				ctx := context.Background()
				e.clk.Advance(e.p.lifetime) // access token expired, refresh token valid

				f.inject(t, e.c)
				n := e.requests.n.Load()
				failWithin(t, src, callerDeadline)
				require.EqualValues(t, 1, e.requests.n.Load()-n, "refresh requests during the fault: a refresh token may be spent only once")
				held, err := store.Load(ctx, "customer-1")
				require.NoError(t, err)
				require.Equal(t, linked.RefreshToken, held.RefreshToken, "the store lost its refresh token")
				require.Equal(t, !f.processed || grace, e.p.refreshValid(held.RefreshToken), "provider's view of the stored refresh token")

				e.c.heal()
				n = e.requests.n.Load()
				tok, err := tokenWithin(t, src, 5*time.Second)
				require.EqualValues(t, 1, e.requests.n.Load()-n, "refresh requests after recovery")
				if f.processed && !grace {
					require.ErrorIs(t, err, snapauth.ErrReauthorize)
					return
				}
				require.NoError(t, err)
				held, err = store.Load(ctx, "customer-1")
				require.NoError(t, err)
				require.Equal(t, tok.AccessToken, held.AccessToken, "the store holds the token handed out")
				require.NotEqual(t, linked.RefreshToken, held.RefreshToken, "the refresh token rotated")
				require.True(t, e.p.refreshValid(held.RefreshToken), "the stored refresh token must be one the provider accepts")
				b2b := (&snapauth.B2BConfig{TokenURL: e.p.srv.URL + b2bPath, ClientKey: e.p.clientKey, PrivateKey: testkey.RSA(t), Now: e.clk.Now, HTTPClient: e.p.srv.Client()}).TokenSource(ctx)
				serviceCall(t, e.p, b2b, src)
			})
		}
	}
}

// TestProviderOutage takes the provider off the network (the proxy stops:
// connections are closed and refused) for outage(t) — 3 s by default, the
// issue's 30 s with FAULT_OUTAGE=30s — while callers keep asking. Every call
// fails with a typed, retryable error within its deadline; when the provider
// is back the next call succeeds with exactly one token request, and the
// customer's stored refresh token survives the outage and still works.
func TestProviderOutage(t *testing.T) {
	d := outage(t)
	t.Run("B2B", func(t *testing.T) {
		e := newEnv(t)
		src := e.b2bSource(t)
		_, err := tokenWithin(t, src, 5*time.Second)
		require.NoError(t, err)
		e.clk.Advance(e.p.lifetime)
		duringOutage(t, e, d, src)
		n := e.requests.n.Load()
		_, err = tokenWithin(t, src, 5*time.Second)
		require.NoError(t, err)
		require.EqualValues(t, 1, e.requests.n.Load()-n, "token requests after recovery")
		serviceCall(t, e.p, src, nil)
	})
	t.Run("B2B2C", func(t *testing.T) {
		e := newEnv(t)
		linked, store, src := e.linkedCustomer(t)
		ctx := context.Background()
		e.clk.Advance(e.p.lifetime)
		duringOutage(t, e, d, src)
		held, err := store.Load(ctx, "customer-1")
		require.NoError(t, err)
		require.Equal(t, linked.RefreshToken, held.RefreshToken)
		require.True(t, e.p.refreshValid(held.RefreshToken), "the outage cost the customer's refresh token")
		n := e.requests.n.Load()
		tok, err := tokenWithin(t, src, 5*time.Second)
		require.NoError(t, err)
		require.EqualValues(t, 1, e.requests.n.Load()-n, "refresh requests after recovery")
		held, err = store.Load(ctx, "customer-1")
		require.NoError(t, err)
		require.Equal(t, tok.AccessToken, held.AccessToken)
		require.True(t, e.p.refreshValid(held.RefreshToken))
	})
}

// duringOutage stops the proxy for d, calling src every 200 ms meanwhile,
// then starts it again.
func duringOutage(t *testing.T, e *env, d time.Duration, src snapauth.ContextTokenSource) {
	t.Helper()
	e.c.down()
	end := time.Now().Add(d)
	calls := 0
	for time.Now().Before(end) {
		failWithin(t, src, callerDeadline)
		calls++
		pace := time.NewTimer(200 * time.Millisecond)
		<-pace.C
	}
	e.c.up(t)
	require.Positive(t, calls)
	t.Logf("%d calls failed fast during a %v outage", calls, d)
}
