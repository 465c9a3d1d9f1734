package snapauth_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

func kinds(events []snapauth.Event) []snapauth.EventKind {
	k := make([]snapauth.EventKind, len(events))
	for i, e := range events {
		k[i] = e.Kind
	}
	return k
}

// unsavingStore is a MemoryStore (and Locker) whose saves fail.
type unsavingStore struct{ *snapauth.MemoryStore }

func (unsavingStore) Save(context.Context, string, *oauth2.Token) error {
	return errors.New("disk full")
}

// TestObserverEvents drives a B2B source, a transport and B2B2C calls
// against snaptest through a fetch, a retry, a 401 invalidation, a failed
// save and a spent refresh token, and checks each event; then it renders
// every event every way a log line could and finds no secret in any.
func TestObserverEvents(t *testing.T) {
	srv := snaptest.NewServer()
	t.Cleanup(srv.Close)
	var rec eventLog
	var logs bytes.Buffer
	var logMu sync.Mutex
	logW := writerFunc(func(b []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return logs.Write(b) })
	textLog := snapauth.SlogObserver(slog.New(slog.NewTextHandler(logW, &slog.HandlerOptions{Level: slog.LevelDebug})))
	jsonLog := snapauth.SlogObserver(slog.New(slog.NewJSONHandler(logW, &slog.HandlerOptions{Level: slog.LevelDebug})))
	observe := func(ctx context.Context, e snapauth.Event) {
		rec.observe(ctx, e)
		textLog(ctx, e)
		jsonLog(ctx, e)
	}
	ctx := context.Background()
	b2b := &snapauth.B2BConfig{
		TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey,
		Backoff:  func(int) time.Duration { return time.Millisecond },
		Observer: observe,
	}
	var tokens []*oauth2.Token
	var all []snapauth.Event

	// A fetch, retried once after a 500.
	srv.FailTokenCalls(1, http.StatusInternalServerError, "5007300")
	src := b2b.StoredTokenSource(ctx, snapauth.NewMemoryStore(), "partner-a")
	tok, err := src.Token()
	require.NoError(t, err)
	tokens = append(tokens, tok)
	ev := rec.take()
	all = append(all, ev...)
	require.Equal(t, []snapauth.EventKind{snapauth.EventLockWaited, snapauth.EventTokenRetry, snapauth.EventTokenSaved, snapauth.EventTokenFetched}, kinds(ev))
	retry := ev[1]
	assert.Equal(t, snapauth.FlowB2B, retry.Flow)
	assert.Equal(t, "partner-a", retry.Key)
	assert.Equal(t, 1, retry.Attempt)
	assert.Equal(t, time.Millisecond, retry.Wait)
	assert.Equal(t, 500, retry.StatusCode)
	assert.Equal(t, "5007300", retry.ResponseCode)
	assert.ErrorIs(t, retry.Err, snapauth.ErrServerError)
	fetched := ev[3]
	assert.Equal(t, "partner-a", fetched.Key)
	assert.Equal(t, 2, fetched.Attempt)
	assert.Equal(t, "2007300", fetched.ResponseCode)
	assert.Equal(t, tok.Expiry, fetched.Expiry)
	assert.Positive(t, fetched.Duration)
	assert.NoError(t, fetched.Err)
	assert.Equal(t, "partner-a", ev[2].Key)
	assert.Equal(t, tok.Expiry, ev[2].Expiry)

	// A token the provider revoked: the transport reports the 401 with its
	// code and the source's key, and the source renews.
	client := &http.Client{Transport: &snapauth.Transport{Source: src, ClientSecret: srv.ClientSecret, PartnerID: srv.PartnerID, ChannelID: srv.ChannelID}}
	srv.RevokeAccessTokens()
	resp, err := client.Post(srv.ServiceURL("/v1.0/balance-inquiry"), "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	ev = rec.take()
	all = append(all, ev...)
	require.Equal(t, []snapauth.EventKind{snapauth.EventTokenInvalidated, snapauth.EventLockWaited, snapauth.EventTokenSaved, snapauth.EventTokenRenewed}, kinds(ev))
	inv := ev[0]
	assert.Equal(t, snapauth.FlowB2B, inv.Flow)
	assert.Equal(t, "partner-a", inv.Key)
	assert.Equal(t, http.StatusUnauthorized, inv.StatusCode)
	assert.Equal(t, "4014701", inv.ResponseCode)
	assert.Equal(t, 1, ev[3].Attempt)
	tok, err = src.Token()
	require.NoError(t, err)
	tokens = append(tokens, tok)
	assert.Equal(t, tok.Expiry, ev[3].Expiry)

	// A store that cannot save: the save failure, then the token obtained,
	// which the caller gets inside a *StoreError.
	_, err = b2b.StoredTokenSource(ctx, unsavingStore{snapauth.NewMemoryStore()}, "partner-b").Token()
	var se *snapauth.StoreError
	require.ErrorAs(t, err, &se)
	tokens = append(tokens, se.Token)
	ev = rec.take()
	all = append(all, ev...)
	require.Equal(t, []snapauth.EventKind{snapauth.EventLockWaited, snapauth.EventSaveFailed, snapauth.EventTokenFetched}, kinds(ev))
	assert.Equal(t, "partner-b", ev[1].Key)
	assert.EqualError(t, ev[1].Err, "disk full")
	assert.NoError(t, ev[2].Err)

	// B2B2C: an exchange, a refresh, a spent refresh token refused.
	b2b2c := &snapauth.B2B2CConfig{TokenURL: srv.B2B2CTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, Observer: observe}
	code := srv.MintAuthCode()
	linked, err := b2b2c.Exchange(ctx, code)
	require.NoError(t, err)
	renewed, err := b2b2c.Refresh(ctx, linked.RefreshToken)
	require.NoError(t, err)
	tokens = append(tokens, linked, renewed)
	_, err = b2b2c.Refresh(ctx, linked.RefreshToken)
	require.ErrorIs(t, err, snapauth.ErrReauthorize)
	ev = rec.take()
	all = append(all, ev...)
	require.Equal(t, []snapauth.EventKind{snapauth.EventTokenFetched, snapauth.EventTokenRenewed, snapauth.EventTokenFailed}, kinds(ev))
	for _, e := range ev {
		assert.Equal(t, snapauth.FlowB2B2C, e.Flow)
		assert.Equal(t, 1, e.Attempt)
	}
	assert.Equal(t, linked.Expiry, ev[0].Expiry)
	assert.Equal(t, "2007400", ev[0].ResponseCode)
	assert.Equal(t, renewed.Expiry, ev[1].Expiry)
	assert.Equal(t, 401, ev[2].StatusCode)
	assert.Equal(t, "4017401", ev[2].ResponseCode)
	assert.ErrorIs(t, ev[2].Err, snapauth.ErrReauthorize)

	// A stored customer source: the rotated token is saved under its key.
	store := snapauth.NewMemoryStore()
	expired := *renewed
	expired.Expiry = time.Now().Add(-time.Minute)
	require.NoError(t, store.Save(ctx, "customer-42", &expired))
	rotated, err := b2b2c.StoredTokenSource(ctx, store, "customer-42").Token()
	require.NoError(t, err)
	tokens = append(tokens, rotated)
	ev = rec.take()
	all = append(all, ev...)
	require.Equal(t, []snapauth.EventKind{snapauth.EventLockWaited, snapauth.EventTokenSaved, snapauth.EventTokenRenewed}, kinds(ev))
	assert.Equal(t, "customer-42", ev[2].Key)

	// No secret in any event, however it is printed.
	var out strings.Builder
	for _, e := range all {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			fmt.Fprintf(&out, verb+"\n", e)
		}
		out.WriteString(e.String() + "\n" + e.LogValue().String() + "\n")
		if e.Err != nil {
			out.WriteString(e.Err.Error() + "\n")
		}
	}
	logMu.Lock()
	out.Write(logs.Bytes())
	logMu.Unlock()
	printed := out.String()
	require.Contains(t, printed, `key=partner-a`, "the scan sees the rendered events")
	require.Contains(t, printed, `"key":"customer-42"`, "the scan sees the JSON log")

	secrets := map[string]string{"client secret": srv.ClientSecret, "auth code": code}
	for i, tok := range tokens {
		secrets[fmt.Sprint("access token ", i)] = tok.AccessToken
		secrets[fmt.Sprint("refresh token ", i)] = tok.RefreshToken
	}
	der, err := x509.MarshalPKCS8PrivateKey(srv.PrivateKey)
	require.NoError(t, err)
	secrets["private key (base64 DER)"] = base64.StdEncoding.EncodeToString(der)[400:]
	secrets["private exponent"] = srv.PrivateKey.D.String()
	for name, s := range secrets {
		if s == "" {
			continue
		}
		// The whole secret, and every 16-character piece of it.
		for i := 0; i+16 <= len(s); i += 16 {
			if strings.Contains(printed, s[i:i+16]) {
				t.Errorf("an event leaks the %s", name)
				break
			}
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// TestTransportObserverDefaultsToSource: a Transport without an Observer
// reports to the Observer of its source's config, and its own Observer wins
// when set.
func TestTransportObserverDefaultsToSource(t *testing.T) {
	srv := snaptest.NewServer()
	t.Cleanup(srv.Close)
	var fromConfig, fromTransport eventLog
	cfg := &snapauth.B2BConfig{TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, Observer: fromConfig.observe}
	for _, own := range []bool{false, true} {
		tr := &snapauth.Transport{Source: cfg.TokenSource(context.Background()), ClientSecret: srv.ClientSecret, PartnerID: srv.PartnerID, ChannelID: srv.ChannelID}
		if own {
			tr.Observer = fromTransport.observe
		}
		client := &http.Client{Transport: tr}
		for range 2 {
			resp, err := client.Post(srv.ServiceURL("/v1.0/balance-inquiry"), "application/json", strings.NewReader(`{}`))
			require.NoError(t, err)
			resp.Body.Close()
			srv.RevokeAccessTokens()
		}
	}
	assert.Equal(t, []snapauth.EventKind{
		snapauth.EventTokenFetched, snapauth.EventTokenInvalidated, snapauth.EventTokenRenewed, // own = false
		snapauth.EventTokenFetched, snapauth.EventTokenRenewed, // own = true: the invalidation goes to the transport
	}, kinds(fromConfig.take()))
	got := fromTransport.take()
	require.Equal(t, []snapauth.EventKind{snapauth.EventTokenInvalidated}, kinds(got))
	assert.Equal(t, "", got[0].Key, "a source without a store has no key")
}

type obsRoundTrip func(*http.Request) (*http.Response, error)

func (f obsRoundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type traceKey struct{}
type buildKey struct{}

// TestFetchInheritsCallerContext: the shared fetch a caller starts runs with
// that caller's context values (its trace span wins over one in the
// construction context), falls back to the construction context's values,
// keeps the construction context's HTTP client, has FetchTimeout as its
// deadline, and goes on when that caller gives up.
func TestFetchInheritsCallerContext(t *testing.T) {
	srv := snaptest.NewServer()
	t.Cleanup(srv.Close)
	entered := make(chan context.Context, 1)
	release := make(chan struct{})
	n := 0
	gated := &http.Client{Transport: obsRoundTrip(func(r *http.Request) (*http.Response, error) {
		n++
		entered <- r.Context()
		<-release
		return http.DefaultTransport.RoundTrip(r)
	})}
	callersClient := &http.Client{Transport: obsRoundTrip(func(r *http.Request) (*http.Response, error) {
		t.Error("the token request went through the caller's oauth2.HTTPClient")
		return nil, errors.New("wrong client")
	})}

	build := context.WithValue(context.Background(), oauth2.HTTPClient, gated)
	build = context.WithValue(build, buildKey{}, "from construction")
	build = context.WithValue(build, traceKey{}, "construction span")
	cfg := &snapauth.B2BConfig{TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, FetchTimeout: time.Minute}
	src := cfg.TokenSource(build).(snapauth.ContextTokenSource)

	caller, giveUp := context.WithCancel(context.WithValue(context.Background(), traceKey{}, "request span"))
	caller = context.WithValue(caller, oauth2.HTTPClient, callersClient)
	gaveUp := make(chan error, 1)
	started := time.Now()
	go func() {
		_, err := src.TokenContext(caller)
		gaveUp <- err
	}()
	var fetch context.Context
	select {
	case fetch = <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no fetch started")
	}
	assert.Equal(t, "request span", fetch.Value(traceKey{}), "the caller's value")
	assert.Equal(t, "from construction", fetch.Value(buildKey{}), "the construction context's value, which the caller's lacks")
	dl, ok := fetch.Deadline()
	require.True(t, ok, "FetchTimeout applies")
	assert.WithinRange(t, dl, started.Add(time.Minute), time.Now().Add(time.Minute))

	giveUp()
	require.ErrorIs(t, <-gaveUp, context.Canceled)
	assert.NoError(t, fetch.Err(), "the caller's cancellation does not reach the fetch")
	close(release)
	tok, err := src.TokenContext(context.Background())
	require.NoError(t, err, "the fetch went on for the next caller")
	assert.Equal(t, 1, n)

	// A fetch started by Token (no caller context) has the construction
	// context's values.
	src.(snapauth.TokenInvalidator).Invalidate(tok)
	_, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "construction span", (<-entered).Value(traceKey{}))
}

// stuckSource always hands out the same token, however often it is told the
// token is invalid.
type stuckSource struct{ invalidated int }

func (s *stuckSource) Token() (*oauth2.Token, error) { return &oauth2.Token{AccessToken: "stuck"}, nil }
func (s *stuckSource) Invalidate(*oauth2.Token)      { s.invalidated++ }

// TestInvalidatedEventLeavesBodyWhole: reporting a 401 reads its SNAP code,
// and the caller still reads the whole answer when no retry follows.
func TestInvalidatedEventLeavesBodyWhole(t *testing.T) {
	answer := `{"responseCode":"4014701","responseMessage":"Invalid Token (B2B)","pad":"` + strings.Repeat("x", 30<<10) + `"}`
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, answer)
	}))
	t.Cleanup(svc.Close)
	var rec eventLog
	src := &stuckSource{}
	client := &http.Client{Transport: &snapauth.Transport{Source: src, ClientSecret: "s3cret", Observer: rec.observe}}
	resp, err := client.Post(svc.URL+"/v1.0/balance-inquiry", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, answer, string(body))
	assert.Equal(t, 1, src.invalidated)
	ev := rec.take()
	require.Len(t, ev, 1)
	assert.Equal(t, snapauth.Event{Kind: snapauth.EventTokenInvalidated, Flow: snapauth.FlowB2B, StatusCode: 401, ResponseCode: "4014701"}, ev[0])
}

// signallingStore is a MemoryStore that says when a Lock call starts.
type signallingStore struct {
	*snapauth.MemoryStore
	locking chan struct{}
}

func (s signallingStore) Lock(ctx context.Context, key string) (func(), error) {
	s.locking <- struct{}{}
	return s.MemoryStore.Lock(ctx, key)
}

// TestLockWaitThenLoaded: a fetch that waits for the lock while another
// replica renews reports at least as long a wait as the lock was held after
// it asked, then the token it found in the store, without a request.
func TestLockWaitThenLoaded(t *testing.T) {
	srv := snaptest.NewServer()
	t.Cleanup(srv.Close)
	var rec eventLog
	mem := snapauth.NewMemoryStore()
	store := signallingStore{MemoryStore: mem, locking: make(chan struct{}, 2)}
	cfg := &snapauth.B2BConfig{TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, Observer: rec.observe}
	src := cfg.StoredTokenSource(context.Background(), store, "partner-a")

	unlock, err := mem.Lock(context.Background(), "partner-a") // another replica renewing
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { _, err := src.Token(); done <- err }()
	select {
	case <-store.locking:
	case <-time.After(10 * time.Second):
		t.Fatal("the source never asked for the store's lock")
	}
	asked := time.Now()
	other := *cfg
	other.Observer = nil
	theirs, err := other.Token(context.Background())
	require.NoError(t, err)
	require.NoError(t, mem.Save(context.Background(), "partner-a", theirs))
	held := time.Since(asked)
	unlock()
	require.NoError(t, <-done)

	ev := rec.take()
	require.Equal(t, []snapauth.EventKind{snapauth.EventLockWaited, snapauth.EventTokenLoaded}, kinds(ev))
	assert.Equal(t, "partner-a", ev[0].Key)
	assert.GreaterOrEqual(t, ev[0].Wait, held)
	assert.NoError(t, ev[0].Err)
	assert.True(t, theirs.Expiry.Equal(ev[1].Expiry), "the expiry of the stored token")
	assert.Equal(t, 0, ev[1].Attempt, "no request to the provider")
	assert.Equal(t, 1, srv.Count(snaptest.EndpointB2B), "only the other replica's")
}
