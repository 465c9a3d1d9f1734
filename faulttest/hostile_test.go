package faulttest

import (
	"context"
	"crypto"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// stormFor is how long TestRefetchStorm calls a source in a tight loop.
const stormFor = 2 * time.Second

// maxFetches is the most fetches a source may make in d: one per
// snapauth.MinRenewInterval, plus the first.
func maxFetches(d time.Duration) int64 { return int64(d/snapauth.MinRenewInterval) + 1 }

// hammer calls src in a tight loop for d and returns how many calls it made.
func hammer(t *testing.T, src oauth2.TokenSource, d time.Duration) int {
	t.Helper()
	calls := 0
	for end := time.Now().Add(d); time.Now().Before(end); calls++ {
		_, err := src.Token()
		require.NoError(t, err)
	}
	return calls
}

// TestRefetchStorm has the strict provider issue tokens that are due on
// arrival, and calls a B2B source and a stored B2B2C source (rotating
// refresh tokens) in a tight loop: a source must never fetch in a tight
// loop, at most once per snapauth.MinRenewInterval, and no refresh token is
// spent twice.
func TestRefetchStorm(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lifetime time.Duration // of the provider's tokens
		ahead    time.Duration // snapauth's clock ahead of the provider's
		early    time.Duration // EarlyRefresh
	}{
		{"expiresIn 1", time.Second, 0, 0},
		{"expiry in the past", -time.Minute, 0, 0},
		{"lifetime shorter than the early-refresh margin", time.Minute, 0, 5 * time.Minute},
		{"local clock an hour ahead", 15 * time.Minute, time.Hour, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verifyNoLeaks(t)
			p := newProvider(t, nil)
			p.lifetime = tc.lifetime
			p.skew = 2 * time.Hour
			now := func() time.Time { return time.Now().Add(tc.ahead) }
			ctx := context.Background()

			b2b := (&snapauth.B2BConfig{TokenURL: p.srv.URL + b2bPath, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t),
				Now: now, EarlyRefresh: tc.early}).TokenSource(ctx)
			calls := hammer(t, b2b, stormFor)
			t.Logf("B2B: %d calls, %d token requests in %v", calls, p.b2bIssued.Load(), stormFor)
			require.LessOrEqual(t, p.b2bIssued.Load(), maxFetches(stormFor), "B2B token requests")

			cfg := &snapauth.B2B2CConfig{TokenURL: p.srv.URL + b2b2cPath, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t),
				Now: now, EarlyRefresh: tc.early}
			store, err := snapauth.NewFileStore(filepath.Join(t.TempDir(), "tokens"))
			require.NoError(t, err)
			linked, err := cfg.Exchange(ctx, p.newAuthCode())
			require.NoError(t, err)
			require.NoError(t, store.Save(ctx, "c", linked))
			calls = hammer(t, cfg.StoredTokenSource(ctx, store, "c"), stormFor)
			t.Logf("B2B2C: %d calls, %d refreshes in %v", calls, p.refreshes.Load(), stormFor)
			require.LessOrEqual(t, p.refreshes.Load(), maxFetches(stormFor), "B2B2C refreshes")
			require.Equal(t, p.refreshes.Load(), p.refreshIssued.Load(), "a refresh token was spent twice")
			held, err := store.Load(ctx, "c")
			require.NoError(t, err)
			require.True(t, p.refreshValid(held.RefreshToken), "the stored refresh token is one the provider accepts")
		})
	}
}

// TestRejectionStorm: a gateway refuses every service call with "access
// token invalid" (4014701). The transport drops the token and fetches a new
// one for the retry, but calling it in a tight loop must not make the
// source fetch more than once per snapauth.MinRenewInterval.
func TestRejectionStorm(t *testing.T) {
	verifyNoLeaks(t)
	p := newProvider(t, nil)
	rejecter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeSNAP(w, 401, "4014701", "Invalid Token (B2B)")
	}))
	t.Cleanup(rejecter.Close)
	src := (&snapauth.B2BConfig{TokenURL: p.srv.URL + b2bPath, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t)}).TokenSource(context.Background())
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	client := &http.Client{Transport: &snapauth.Transport{Base: base, Source: src, ClientSecret: p.clientSecret}}
	calls := 0
	for end := time.Now().Add(stormFor); time.Now().Before(end); calls++ {
		resp, err := client.Post(rejecter.URL+servicePath, "application/json", strings.NewReader(`{}`))
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, 401, resp.StatusCode)
	}
	t.Logf("%d service calls refused, %d token requests in %v", calls, p.b2bIssued.Load(), stormFor)
	require.LessOrEqual(t, p.b2bIssued.Load(), maxFetches(stormFor)+1, "token requests")
}

// hungSigner is a crypto.Signer whose Sign blocks until release is closed,
// ignoring every context, as an HSM or KMS call that hangs does.
type hungSigner struct {
	crypto.Signer
	release chan struct{}
	calls   atomic.Int64
}

func (s *hungSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.calls.Add(1)
	<-s.release
	return s.Signer.Sign(r, digest, opts)
}

// newHungSigner returns a hungSigner and the function that releases it,
// which may be called more than once and is called when the test ends.
func newHungSigner(t *testing.T) (*hungSigner, func()) {
	s := &hungSigner{Signer: testkey.RSA(t), release: make(chan struct{})}
	return s, closeOnce(t, s.release)
}

// closeOnce returns a function that closes ch the first time it is called,
// and calls it when the test ends, so that nothing stays blocked on ch.
func closeOnce(t *testing.T, ch chan struct{}) func() {
	var once sync.Once
	release := func() { once.Do(func() { close(ch) }) }
	t.Cleanup(release)
	return release
}

// TestFetchTimeoutBoundsTheWait: a signer whose Sign never returns, and an
// HTTP transport that ignores the request's context, must not block Token()
// beyond FetchTimeout: every caller gets a retryable error by then, and no
// second fetch piles up behind the stuck one. Once the layer below
// recovers, the source works again.
func TestFetchTimeoutBoundsTheWait(t *testing.T) {
	const timeout = 300 * time.Millisecond
	ctx := context.Background()
	check := func(t *testing.T, src oauth2.TokenSource, stuck func() int64, release func()) {
		for i := range 3 {
			start := time.Now()
			_, err := src.Token()
			elapsed := time.Since(start)
			requireRetryable(t, err)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Less(t, elapsed, timeout+slack, "call %d waited %v with FetchTimeout %v", i, elapsed, timeout)
		}
		require.EqualValues(t, 1, stuck(), "fetches started while one was stuck")
		release()
		require.Eventually(t, func() bool { _, err := src.Token(); return err == nil }, 5*time.Second, 50*time.Millisecond,
			"the source did not recover")
	}
	t.Run("signer blocks in Sign", func(t *testing.T) {
		verifyNoLeaks(t)
		p := newProvider(t, nil)
		s, release := newHungSigner(t)
		for _, src := range []oauth2.TokenSource{
			(&snapauth.B2BConfig{TokenURL: p.srv.URL + b2bPath, ClientKey: p.clientKey, PrivateKey: s, FetchTimeout: timeout}).TokenSource(ctx),
		} {
			check(t, src, s.calls.Load, release)
		}
		cust := &snapauth.B2B2CConfig{TokenURL: p.srv.URL + b2b2cPath, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t)}
		linked, err := cust.Exchange(ctx, p.newAuthCode())
		require.NoError(t, err)
		s2, release2 := newHungSigner(t)
		cust.PrivateKey, cust.FetchTimeout = s2, timeout
		expired := *linked
		expired.Expiry = time.Now().Add(-time.Minute)
		check(t, cust.TokenSource(ctx, &expired), s2.calls.Load, release2)
	})
	t.Run("transport ignores the context", func(t *testing.T) {
		verifyNoLeaks(t)
		p := newProvider(t, nil)
		gate := make(chan struct{})
		release := closeOnce(t, gate)
		var calls atomic.Int64
		base := &http.Transport{}
		t.Cleanup(base.CloseIdleConnections)
		deaf := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if calls.Add(1) == 1 {
				<-gate // ignores r.Context()
			}
			return base.RoundTrip(r.WithContext(context.Background()))
		})
		src := (&snapauth.B2BConfig{TokenURL: p.srv.URL + b2bPath, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t),
			FetchTimeout: timeout, HTTPClient: &http.Client{Transport: deaf}}).TokenSource(ctx)
		check(t, src, calls.Load, release)
	})
}

// TestHostileTokenAnswers: token answers a hostile or broken provider may
// send. None may become a usable token, except an absurd lifetime, which is
// clamped to snapauth.MaxLifetime instead of overflowing into the past.
func TestHostileTokenAnswers(t *testing.T) {
	verifyNoLeaks(t)
	var answer atomic.Pointer[string]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, *answer.Load())
	}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	b2b := &snapauth.B2BConfig{TokenURL: srv.URL, ClientKey: "k", PrivateKey: testkey.RSA(t), MaxRetries: -1}
	for _, tc := range []struct{ name, body, want string }{
		{"200FAIL", `{"responseCode":"200FAIL","accessToken":"a","expiresIn":"900"}`, "200FAIL"},
		{"duplicate responseCode, success last", `{"responseCode":"4017300","responseMessage":"Unauthorized","responseCode":"2007300","accessToken":"a"}`, "duplicate key"},
		{"duplicate accessToken", `{"responseCode":"2007300","accessToken":"a","accessToken":"b"}`, "duplicate key"},
		{"CR LF in accessToken", `{"responseCode":"2007300","accessToken":"a\r\nX-Injected: 1","expiresIn":"900"}`, "accessToken contains a control character"},
		{"LF in tokenType", `{"responseCode":"2007300","accessToken":"a","tokenType":"Mac\n","expiresIn":"900"}`, "tokenType contains a control character"},
		{"NUL in refreshToken", `{"responseCode":"2007400","accessToken":"a","refreshToken":"r\u0000x","expiresIn":"900"}`, "refreshToken contains a control character"},
	} {
		answer.Store(&tc.body)
		_, err := b2b.Token(ctx)
		require.ErrorContains(t, err, tc.want, tc.name)
		var apiErr *snapauth.Error
		require.ErrorAs(t, err, &apiErr, tc.name)
	}
	for _, body := range []string{
		`{"responseCode":"2007300","accessToken":"a","expiresIn":10000000000}`,
		`{"responseCode":"2007300","accessToken":"a","expiresIn":"9223372036854775807"}`,
		`{"responseCode":"2007300","accessToken":"a","accessTokenExpiryTime":"9999-12-31T23:59:59+07:00"}`,
	} {
		answer.Store(&body)
		tok, err := b2b.Token(ctx)
		require.NoError(t, err, body)
		require.True(t, tok.Expiry.After(time.Now().Add(snapauth.MaxLifetime-time.Minute)), "%s: expiry %v", body, tok.Expiry)
		require.False(t, tok.Expiry.After(time.Now().Add(snapauth.MaxLifetime)), "%s: expiry %v", body, tok.Expiry)
		// The cached source keeps it, rather than refetching a token it
		// would think expired.
		src := b2b.TokenSource(ctx)
		for range 100 {
			_, err := src.Token()
			require.NoError(t, err)
		}
	}
}

// TestFileStorePlantedFiles: a FileStore's directory where someone planted
// a dangling symbolic link, or one to a file outside, as a key's lock file,
// or left a token file readable by others. Lock must refuse the links
// without creating or touching their targets, and Load must refuse the
// open token file, naming its mode.
func TestFileStorePlantedFiles(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "tokens")
	store, err := snapauth.NewFileStore(dir)
	require.NoError(t, err)
	outside := t.TempDir()
	lockOf := func(key string) string { return strings.TrimSuffix(store.Path(key), ".json") + ".lock" }

	dangling := filepath.Join(outside, "created-by-lock")
	require.NoError(t, os.Symlink(dangling, lockOf("dangling")))
	_, err = store.Lock(ctx, "dangling")
	require.ErrorContains(t, err, "symbolic link")
	_, err = os.Lstat(dangling)
	require.ErrorIs(t, err, os.ErrNotExist, "Lock created the target of a dangling lock-file link")

	victim := filepath.Join(outside, "victim")
	require.NoError(t, os.WriteFile(victim, []byte("keep"), 0o644))
	require.NoError(t, os.Symlink(victim, lockOf("victim")))
	_, err = store.Lock(ctx, "victim")
	require.ErrorContains(t, err, "symbolic link")
	data, err := os.ReadFile(victim)
	require.NoError(t, err)
	require.Equal(t, "keep", string(data))

	// A key whose lock file is planted cannot be refreshed through the
	// store: the source reports it instead of working around it.
	tok := &oauth2.Token{AccessToken: "at", RefreshToken: "rt", Expiry: time.Now().Add(-time.Minute)}
	require.NoError(t, store.Save(ctx, "victim", tok))
	cfg := &snapauth.B2B2CConfig{TokenURL: "http://127.0.0.1:1/never", ClientKey: "k", PrivateKey: testkey.RSA(t)}
	_, err = cfg.StoredTokenSource(ctx, store, "victim").Token()
	require.ErrorContains(t, err, "symbolic link")

	require.NoError(t, store.Save(ctx, "open", &oauth2.Token{AccessToken: "at", Expiry: time.Now().Add(time.Hour)}))
	require.NoError(t, os.Chmod(store.Path("open"), 0o644))
	_, err = store.Load(ctx, "open")
	require.ErrorContains(t, err, "mode 0644")
	require.False(t, errors.Is(err, snapauth.ErrNoToken))
	require.NoError(t, os.Chmod(store.Path("open"), 0o600))
	_, err = store.Load(ctx, "open")
	require.NoError(t, err)
}
