package redisstore_test

// The fleet tests run 8 copies of this test binary as separate OS processes
// (TestHelperProcess, selected by $REDISSTORE_FLEET), sharing one Redis and
// one SNAP token provider served by the parent with httptest. The provider
// verifies every token signature with the public half of an RSA key the
// parent generated (the children read the private half from a 0600 file)
// and counts the fetches.

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/snapauth/snapauth"
	fleetproc "github.com/snapauth/snapauth/internal/fleet"
	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/snapauth/snapauth/redisstore"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

const (
	helperEnv     = "REDISSTORE_FLEET" // the mode of a child: b2b or b2b2c
	fleetSize     = 8
	fleetClient   = "fleet-client-key"
	fleetLifetime = 3 * time.Second // of every token the provider issues
	fleetDeadline = 60 * time.Second
)

// provider is a SNAP token endpoint for B2B and B2B2C tokens that checks
// every request like a provider does and counts what it did.
type provider struct {
	pub *rsa.PublicKey

	mu            sync.Mutex
	requests      int         // token requests received
	fetches       []time.Time // B2B tokens issued, when
	refreshes     []time.Time // B2B2C refreshes done, when
	rejections    int         // refresh tokens refused as reused or unknown
	badRequests   []string    // signature or protocol failures
	refreshToken  string      // the customer's only valid refresh token
	accessToken   string      // the newest customer access token
	blockFirst    bool        // hold the first request until its client is gone
	firstRequest  chan time.Time
	refreshExpiry time.Time
	// lifetime, when set, gives the lifetime of the access token of refresh
	// n (1, 2, ...), sent as expiresIn; else fleetLifetime, sent as
	// accessTokenExpiryTime.
	lifetime func(n int) time.Duration
}

func newProvider(t *testing.T) (*provider, *httptest.Server) {
	p := &provider{pub: &testkey.RSA(t).PublicKey, firstRequest: make(chan time.Time, 1), refreshExpiry: time.Now().Add(time.Hour)}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(srv.Close)
	return p, srv
}

func (p *provider) answer(w http.ResponseWriter, status int, body map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (p *provider) refuse(w http.ResponseWriter, service, why string) {
	p.mu.Lock()
	p.badRequests = append(p.badRequests, why)
	p.mu.Unlock()
	p.answer(w, http.StatusUnauthorized, map[string]any{"responseCode": "401" + service + "00", "responseMessage": "Unauthorized. [" + why + "]"})
}

func (p *provider) serve(w http.ResponseWriter, r *http.Request) {
	service := map[string]string{"/v1.0/access-token/b2b": "73", "/v1.0/access-token/b2b2c": "74"}[r.URL.Path]
	if service == "" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	// Reading the whole body lets the server notice a client that goes away
	// (it watches the connection only after the body).
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	p.mu.Lock()
	p.requests++
	first := p.requests == 1
	p.mu.Unlock()
	if first && p.blockFirst {
		p.firstRequest <- time.Now()
		select { // the client was killed: its connection closes
		case <-r.Context().Done():
		case <-time.After(fleetDeadline):
		}
		return
	}

	// The token signature, recomputed from the headers received.
	ts := r.Header.Get("X-TIMESTAMP")
	when, err := time.Parse("2006-01-02T15:04:05Z07:00", ts)
	switch {
	case r.Header.Get("Content-Type") != "application/json":
		p.refuse(w, service, "Content-Type")
		return
	case r.Header.Get("X-CLIENT-KEY") != fleetClient:
		p.refuse(w, service, "Unknown client")
		return
	case err != nil || time.Since(when).Abs() > 5*time.Minute:
		p.refuse(w, service, "Timestamp")
		return
	}
	sig, err := base64.StdEncoding.DecodeString(r.Header.Get("X-SIGNATURE"))
	digest := sha256.Sum256([]byte(fleetClient + "|" + ts))
	if err != nil || rsa.VerifyPKCS1v15(p.pub, crypto.SHA256, digest[:], sig) != nil {
		p.refuse(w, service, "Signature")
		return
	}
	var body struct {
		GrantType    string `json:"grantType"`
		RefreshToken string `json:"refreshToken"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		p.refuse(w, service, "body")
		return
	}

	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case service == "73" && body.GrantType == "client_credentials":
		p.fetches = append(p.fetches, now)
		p.answer(w, http.StatusOK, map[string]any{
			"responseCode": "2007300", "responseMessage": "Successful",
			"accessToken": fmt.Sprintf("b2b-%d", len(p.fetches)), "tokenType": "Bearer",
			"expiresIn": fmt.Sprint(int(fleetLifetime / time.Second)),
		})
	case service == "74" && body.GrantType == "refresh_token":
		if body.RefreshToken != p.refreshToken {
			p.rejections++
			p.answer(w, http.StatusUnauthorized, map[string]any{"responseCode": "4017401", "responseMessage": "Invalid Token (refresh token reused)"})
			return
		}
		p.refreshes = append(p.refreshes, now)
		n := len(p.refreshes)
		p.accessToken, p.refreshToken = fmt.Sprintf("cat-%d", n), fmt.Sprintf("rt-%d", n)
		answer := map[string]any{
			"responseCode": "2007400", "responseMessage": "Successful",
			"accessToken": p.accessToken, "tokenType": "Bearer", "refreshToken": p.refreshToken,
			"accessTokenExpiryTime":  snapauth.FormatTimestamp(now.Add(fleetLifetime).In(snapauth.Jakarta)),
			"refreshTokenExpiryTime": snapauth.FormatTimestamp(p.refreshExpiry.In(snapauth.Jakarta)),
		}
		if p.lifetime != nil {
			delete(answer, "accessTokenExpiryTime")
			answer["expiresIn"] = fmt.Sprint(int(p.lifetime(n) / time.Second))
		}
		p.answer(w, http.StatusOK, answer)
	default:
		p.badRequests = append(p.badRequests, "grantType "+body.GrantType)
		p.answer(w, http.StatusBadRequest, map[string]any{"responseCode": "400" + service + "01", "responseMessage": "Invalid Field Format grantType"})
	}
}

// fleet is the harness of internal/fleet with what these tests read from
// the children's lines.
type fleet struct {
	*fleetproc.Fleet
	t      *testing.T
	tokens map[int][]string // access tokens each child saw, in order
	exits  map[int]error    // children that exited, with Wait's error
	done   map[int]bool     // children that printed done
}

func newFleet(t *testing.T, srv *httptest.Server, prefix string, extra ...string) *fleet {
	keyFile := writeFile0600(t, "partner.pem", testkey.PEM(t, testkey.RSA(t)))
	fi, err := os.Stat(keyFile)
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm())
	env := append([]string{"FLEET_URL=" + srv.URL, "FLEET_KEYFILE=" + keyFile, "FLEET_PREFIX=" + prefix, "REDIS_ADDR=" + redisAddr}, extra...)
	return &fleet{Fleet: fleetproc.New(t, fleetDeadline, env...), t: t,
		tokens: map[int][]string{}, exits: map[int]error{}, done: map[int]bool{}}
}

// start starts a child in mode, which stops once it holds the access token
// target, with extraEnv added to its environment.
func (f *fleet) start(mode, target string, extraEnv ...string) int {
	return f.Start(append([]string{helperEnv + "=" + mode, "FLEET_TARGET=" + target}, extraEnv...)...)
}

// await collects events until n events of kind arrived ("exit" counts the
// exits seen before too), and fails the test on an error line, an exit
// before "done" (unless allowExit) or the deadline.
func (f *fleet) await(kind string, n int, allowExit map[int]bool) []fleetproc.Event {
	t := f.t
	t.Helper()
	if kind == "exit" {
		n -= len(f.exits)
	}
	return f.Await(kind, n, func(e fleetproc.Event) {
		switch e.Kind {
		case "token":
			f.tokens[e.Member] = append(f.tokens[e.Member], e.Args[0])
		case "done":
			f.done[e.Member] = true
		case "exit":
			f.exits[e.Member] = e.Err
			if kind != "exit" && !allowExit[e.Member] && !f.done[e.Member] {
				t.Fatalf("child %d exited before it was done: %v\n%s", e.Member, e.Err, f.Stderr(e.Member))
			}
		}
	})
}

// startAll starts n children in mode and waits until every one is ready.
func (f *fleet) startAll(n int, mode, target string) []int {
	var ids []int
	for range n {
		ids = append(ids, f.start(mode, target))
	}
	f.await("ready", n, nil)
	return ids
}

// requireExitedCleanly waits until every child exited, and requires a
// clean exit of all but the ones in killed.
func requireExitedCleanly(t *testing.T, f *fleet, killed ...int) {
	t.Helper()
	f.await("exit", f.Len(), nil)
	for i, err := range f.exits {
		if slices.Contains(killed, i) {
			continue
		}
		require.NoErrorf(t, err, "child %d: %s", i, f.Stderr(i))
	}
}

// TestFleetB2B: 8 processes start cold at once, then run through two
// expiries of a 3 s token: the provider must see one fetch per expiry for
// the whole fleet.
func TestFleetB2B(t *testing.T) {
	p, srv := newProvider(t)
	c := newClient(t)
	f := newFleet(t, srv, testPrefix(t, c))
	ids := f.startAll(fleetSize, "b2b", "b2b-3")
	start := time.Now()
	f.Go(ids...)
	f.await("done", fleetSize, nil)
	requireExitedCleanly(t, f)

	p.mu.Lock()
	defer p.mu.Unlock()
	require.Empty(t, p.badRequests, "requests the provider refused")
	require.Len(t, p.fetches, 3, "fetches for the fleet: one cold, one per expiry")
	require.Equal(t, 3, p.requests)
	for i := 1; i < len(p.fetches); i++ {
		gap := p.fetches[i].Sub(p.fetches[i-1])
		require.Greaterf(t, gap, fleetLifetime*2/3, "fetch %d came %v after the previous, before the token was due", i+1, gap)
	}
	for i := range ids {
		seen := f.tokens[i]
		require.Equal(t, "b2b-3", seen[len(seen)-1], "child %d", i)
		require.IsIncreasing(t, seen, "child %d went back to an older token", i)
	}
	t.Logf("fleet of %d processes: %d token fetches in %v (1 cold + 1 per expiry for 2 expiries of a %v token); "+
		"fetch times after start: %v, %v, %v", fleetSize, len(p.fetches), time.Since(start).Round(time.Millisecond), fleetLifetime,
		p.fetches[0].Sub(start).Round(time.Millisecond), p.fetches[1].Sub(start).Round(time.Millisecond), p.fetches[2].Sub(start).Round(time.Millisecond))
}

// TestFleetB2B2C: 8 processes hold one customer's expired token and refresh
// it at once, then again at its expiry, against a provider that rejects a
// refresh token used twice.
func TestFleetB2B2C(t *testing.T) {
	p, srv := newProvider(t)
	c := newClient(t)
	prefix := testPrefix(t, c)
	// The customer linked the account earlier; the access token has expired.
	p.refreshToken = "rt-0"
	seed := (&oauth2.Token{AccessToken: "cat-0", TokenType: "Bearer", RefreshToken: "rt-0", Expiry: time.Now().Add(-time.Minute), ExpiresIn: 3}).
		WithExtra(map[string]any{"refreshTokenExpiryTime": snapauth.FormatTimestamp(p.refreshExpiry)})
	store := redisstore.New(c, redisstore.WithKeyPrefix(prefix))
	require.NoError(t, store.Save(context.Background(), "customer-42", seed))

	f := newFleet(t, srv, prefix)
	ids := f.startAll(fleetSize, "b2b2c", "cat-2")
	f.Go(ids...)
	done := f.await("done", fleetSize, nil)
	requireExitedCleanly(t, f)

	p.mu.Lock()
	defer p.mu.Unlock()
	require.Empty(t, p.badRequests)
	require.Zero(t, p.rejections, "refresh tokens spent twice")
	require.Len(t, p.refreshes, 2, "refreshes: one for the expired token, one at its expiry")
	require.Greater(t, p.refreshes[1].Sub(p.refreshes[0]), fleetLifetime*2/3-time.Second) // expiry times are whole seconds
	for _, e := range done {
		require.Equal(t, []string{p.accessToken, p.refreshToken}, e.Args, "child %d does not hold the newest token", e.Member)
	}
	stored, err := store.Load(context.Background(), "customer-42")
	require.NoError(t, err)
	require.Equal(t, p.accessToken, stored.AccessToken)
	require.Equal(t, p.refreshToken, stored.RefreshToken, "the store holds the newest refresh token")
	require.True(t, snapauth.RefreshTokenExpiry(stored).Equal(p.refreshExpiry.Truncate(time.Second)))
	t.Logf("fleet of %d processes, one customer: %d refreshes (1 at once from an expired token + 1 at expiry), %d rejections, newest token held by all %d",
		fleetSize, len(p.refreshes), p.rejections, len(done))
}

// TestFleetLockHolderKilled: a process is SIGKILLed while it holds the lock
// and its fetch is in flight; the 7 others, waiting on the lock, proceed
// once the lock's TTL (2 s here) ends, and fetch exactly once.
func TestFleetLockHolderKilled(t *testing.T) {
	const lockTTL = 2 * time.Second
	p, srv := newProvider(t)
	p.blockFirst = true
	c := newClient(t)
	prefix := testPrefix(t, c)
	f := newFleet(t, srv, prefix, "FLEET_LOCK_TTL="+lockTTL.String())
	store := redisstore.New(c, redisstore.WithKeyPrefix(prefix))

	// Every child is started (a process takes a while) before the first
	// one goes, so the 7 others wait on the lock from the moment it is held.
	ids := f.startAll(fleetSize, "b2b", "b2b-1")
	holder, others := ids[0], ids[1:]
	goHolder := time.Now()
	f.Go(holder)
	var firstRequest time.Time
	select {
	case firstRequest = <-p.firstRequest:
	case <-time.After(fleetDeadline):
		t.Fatal("the first child never asked for a token")
	}
	pttl, err := c.PTTL(context.Background(), store.LockKey("b2b")).Result()
	require.NoError(t, err)
	require.True(t, pttl > 0 && pttl <= lockTTL, "the holder's lock is in Redis with the 2 s TTL (PTTL %v)", pttl)

	f.Go(others...)
	require.NoError(t, f.Kill(holder))
	killed := time.Now()
	f.await("done", fleetSize-1, map[int]bool{holder: true})
	requireExitedCleanly(t, f, holder)
	var exitErr *exec.ExitError
	require.True(t, errors.As(f.exits[holder], &exitErr), "the holder was killed: %v", f.exits[holder])

	p.mu.Lock()
	defer p.mu.Unlock()
	require.Empty(t, p.badRequests)
	require.Equal(t, 2, p.requests, "the killed holder's request and one fetch after its lock expired")
	require.Len(t, p.fetches, 1)
	waited := p.fetches[0].Sub(goHolder)
	require.GreaterOrEqual(t, waited, lockTTL, "a waiter fetched before the dead holder's lock expired")
	require.Less(t, p.fetches[0].Sub(firstRequest), lockTTL+5*time.Second, "the waiters did not proceed after the lock TTL")
	t.Logf("lock holder SIGKILLed %v after its request reached the provider; the %d others waited on the lock, then fetched once, "+
		"%v after the holder's request (lock TTL %v); requests %d, tokens issued %d",
		killed.Sub(firstRequest).Round(time.Millisecond), fleetSize-1, p.fetches[0].Sub(firstRequest).Round(time.Millisecond), lockTTL,
		p.requests, len(p.fetches))
}

// TestFleetProviderRefuses shows that the fleet's provider catches what the
// fleet tests count on it to catch: a refresh token used twice, and a
// signature by another key.
func TestFleetProviderRefuses(t *testing.T) {
	ctx := context.Background()
	p, srv := newProvider(t)
	p.refreshToken = "rt-0"
	cfg := &snapauth.B2B2CConfig{TokenURL: srv.URL + "/v1.0/access-token/b2b2c", ClientKey: fleetClient, PrivateKey: testkey.RSA(t), MaxRetries: -1}
	tok, err := cfg.Refresh(ctx, "rt-0")
	require.NoError(t, err)
	require.Equal(t, "rt-1", tok.RefreshToken)
	_, err = cfg.Refresh(ctx, "rt-0")
	require.ErrorIs(t, err, snapauth.ErrReauthorize)
	require.Equal(t, 1, p.rejections)

	b2b := &snapauth.B2BConfig{TokenURL: srv.URL + "/v1.0/access-token/b2b", ClientKey: fleetClient, PrivateKey: testkey.Other(t), MaxRetries: -1}
	_, err = b2b.Token(ctx)
	var apiErr *snapauth.Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "4017300", apiErr.ResponseCode)
	require.Equal(t, []string{"Signature"}, p.badRequests)
	require.Empty(t, p.fetches)

	b2b.PrivateKey = testkey.RSA(t)
	tok, err = b2b.Token(ctx)
	require.NoError(t, err)
	require.Equal(t, "b2b-1", tok.AccessToken)
}

// TestHelperProcess is a member of a fleet when $REDISSTORE_FLEET is set,
// and does nothing otherwise.
func TestHelperProcess(t *testing.T) { fleetproc.Member(t, helperEnv, fleetMember) }

// fleetMember says "ready", waits for "go" on stdin, then asks its token
// source for a token every 10 ms, printing each new access token, until it
// holds $FLEET_TARGET.
func fleetMember(mode string) error {
	ctx, cancel := context.WithTimeout(context.Background(), fleetDeadline)
	defer cancel()
	keyPEM, err := os.ReadFile(os.Getenv("FLEET_KEYFILE"))
	if err != nil {
		return err
	}
	key, err := snapauth.ParsePrivateKey(keyPEM)
	if err != nil {
		return err
	}
	opts := []redisstore.Option{redisstore.WithKeyPrefix(os.Getenv("FLEET_PREFIX")), redisstore.WithPollInterval(10 * time.Millisecond)}
	if v := os.Getenv("FLEET_LOCK_TTL"); v != "" {
		ttl, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		opts = append(opts, redisstore.WithLockTTL(ttl))
	}
	client := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
	defer client.Close()
	store, err := memberStore(redisstore.New(client, opts...))
	if err != nil {
		return err
	}
	url := os.Getenv("FLEET_URL")
	early, _ := time.ParseDuration(os.Getenv("FLEET_EARLY")) // zero: the default margin

	var src oauth2.TokenSource
	switch mode {
	case "b2b":
		cfg := &snapauth.B2BConfig{TokenURL: url + "/v1.0/access-token/b2b", ClientKey: fleetClient, PrivateKey: key}
		src = cfg.StoredTokenSource(ctx, store, "b2b")
	case "b2b2c":
		cfg := &snapauth.B2B2CConfig{TokenURL: url + "/v1.0/access-token/b2b2c", ClientKey: fleetClient, PrivateKey: key, EarlyRefresh: early}
		src = cfg.StoredTokenSource(ctx, store, "customer-42")
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}

	if err := fleetproc.Ready(); err != nil {
		return err
	}
	target := os.Getenv("FLEET_TARGET")
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		tok, err := src.Token()
		if err != nil && softError(err) {
			fleetproc.Report("soft", strings.ReplaceAll(err.Error(), "\n", " "))
			tok, err = nil, nil
		}
		if err != nil {
			return err
		}
		if tok == nil {
			// a soft failure: ask again at the next tick
		} else if tok.AccessToken != last {
			last = tok.AccessToken
			fleetproc.Report("token", last)
		}
		if tok != nil && reached(last, target) {
			fleetproc.Report("done", tok.AccessToken, tok.RefreshToken)
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no token %s before the deadline (last %s)", target, last)
		case <-tick.C:
		}
	}
}
