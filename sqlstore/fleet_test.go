package sqlstore_test

// The fleet tests run 8 copies of this test binary as separate OS processes
// (TestHelperProcess, selected by $SQLSTORE_FLEET), sharing one PostgreSQL
// table and one snaptest provider served by the parent, which verifies every
// token request's signature and counts what it issued. A child never prints
// a token: it reports a short hash of each one.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	fleetproc "github.com/snapauth/snapauth/internal/fleet"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/snapauth/snapauth/sqlstore"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

const (
	helperEnv     = "SQLSTORE_FLEET" // the mode of a child: b2b or b2b2c
	fleetSize     = 8
	fleetLifetime = 3 * time.Second // of every access token the provider issues
	fleetDeadline = 60 * time.Second
	customerKey   = "customer-42"
)

// tokenID is what a child prints instead of a token.
func tokenID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// fleet is the harness of internal/fleet with what these tests read from
// the children's lines.
type fleet struct {
	*fleetproc.Fleet
	t      *testing.T
	seen   map[int][]string // token ids each child printed, in order
	done   map[int][]string // the args of each child's done line
	exits  map[int]error
	killed map[int]bool
}

// newFleet prepares children using provider and store's table.
func newFleet(t *testing.T, provider *snaptest.Server, store *sqlstore.Store) *fleet {
	keyFile := filepath.Join(t.TempDir(), "partner.pem")
	require.NoError(t, os.WriteFile(keyFile, provider.PrivateKeyPEM(), 0o600))
	return &fleet{
		Fleet: fleetproc.New(t, fleetDeadline, "FLEET_URL="+provider.URL, "FLEET_CLIENT="+provider.ClientKey, "FLEET_KEYFILE="+keyFile,
			"FLEET_TABLE="+store.Table(), "PG_DSN="+pgDSN),
		t:    t,
		seen: map[int][]string{}, done: map[int][]string{}, exits: map[int]error{}, killed: map[int]bool{},
	}
}

// startAll starts n children in mode, each stopping once it has seen
// tokens distinct access tokens, and waits until every one is ready.
func (f *fleet) startAll(n int, mode string, tokens int) []int {
	var ids []int
	for range n {
		ids = append(ids, f.Start(helperEnv+"="+mode, "FLEET_TOKENS="+strconv.Itoa(tokens)))
	}
	f.await("ready", n)
	return ids
}

// await collects events until n of kind have come, failing the test on an
// error line, an unexpected exit, or the deadline.
func (f *fleet) await(kind string, n int) {
	t := f.t
	t.Helper()
	f.Await(kind, n, func(e fleetproc.Event) {
		switch e.Kind {
		case "token":
			f.seen[e.Member] = append(f.seen[e.Member], e.Args[0])
		case "done":
			f.done[e.Member] = e.Args
		case "exit":
			f.exits[e.Member] = e.Err
			if e.Err != nil && !f.killed[e.Member] {
				t.Fatalf("child %d exited: %v", e.Member, e.Err) // the cleanup logs its stderr
			}
		}
	})
}

// finish waits until every child has exited.
func (f *fleet) finish() { f.await("exit", f.Len()-len(f.exits)) }

// issueTimes records when the provider answered each request of endpoint
// with a token.
func issueTimes(provider *snaptest.Server, endpoint string) func() []time.Time {
	var mu sync.Mutex
	var times []time.Time
	provider.Configure(snaptest.WithObserver(func(r snaptest.Record) {
		if r.Endpoint == endpoint && r.Status == 200 {
			mu.Lock()
			times = append(times, time.Now())
			mu.Unlock()
		}
	}))
	return func() []time.Time { mu.Lock(); defer mu.Unlock(); return slices.Clone(times) }
}

// TestFleetB2B: 8 processes start cold at once, then run through two
// expiries of a 3 s token: the provider sees one fetch per expiry for the
// whole fleet, and every process holds the same three tokens in turn.
func TestFleetB2B(t *testing.T) {
	provider := snaptest.NewServer(snaptest.WithTokenLifetime(fleetLifetime))
	t.Cleanup(provider.Close)
	fetches := issueTimes(provider, snaptest.EndpointB2B)
	f := newFleet(t, provider, newStore(t))
	ids := f.startAll(fleetSize, "b2b", 3)
	start := time.Now()
	f.Go(ids...)
	f.await("done", fleetSize)
	f.finish()

	st := provider.Stats()
	require.Empty(t, st.Rejections, "requests the provider refused")
	require.Equal(t, 3, st.Issued[snaptest.EndpointB2B], "fetches for the fleet: one cold, one per expiry")
	require.Equal(t, 3, st.Calls[snaptest.EndpointB2B])
	times := fetches()
	require.Len(t, times, 3)
	for i := 1; i < len(times); i++ {
		require.Greaterf(t, times[i].Sub(times[i-1]), fleetLifetime*2/3, "fetch %d came before the token was due", i+1)
	}
	for _, i := range ids {
		require.Equalf(t, f.seen[ids[0]], f.seen[i], "child %d held other tokens than child 0", i)
		require.Len(t, f.seen[i], 3)
	}
	t.Logf("fleet of %d processes: %d token fetches in %v (1 cold + 1 per expiry for 2 expiries of a %v token); "+
		"fetch times after start: %v, %v, %v", fleetSize, len(times), time.Since(start).Round(time.Millisecond), fleetLifetime,
		times[0].Sub(start).Round(time.Millisecond), times[1].Sub(start).Round(time.Millisecond), times[2].Sub(start).Round(time.Millisecond))
}

// TestFleetB2B2C: 8 processes hold one customer's expired token and refresh
// it at once, then again at its expiry, against a provider that rejects a
// refresh token used twice.
func TestFleetB2B2C(t *testing.T) {
	ctx := testContext(t)
	provider := snaptest.NewServer(snaptest.WithTokenLifetime(fleetLifetime), snaptest.WithRevokeOnRefreshReuse(true))
	t.Cleanup(provider.Close)
	refreshes := issueTimes(provider, snaptest.EndpointB2B2C)
	store := newStore(t)
	// The customer linked the account earlier; the access token has expired.
	cfg := &snapauth.B2B2CConfig{TokenURL: provider.B2B2CTokenURL(), ClientKey: provider.ClientKey, PrivateKey: provider.PrivateKey}
	seed, err := cfg.Exchange(ctx, provider.MintAuthCode())
	require.NoError(t, err)
	seed.Expiry = time.Now().Add(-time.Minute)
	require.NoError(t, store.Save(ctx, customerKey, seed))

	f := newFleet(t, provider, store)
	ids := f.startAll(fleetSize, "b2b2c", 2)
	f.Go(ids...)
	f.await("done", fleetSize)
	f.finish()

	st := provider.Stats()
	require.Empty(t, st.Rejections, "no refresh token was spent twice (nor revoked)")
	require.Equal(t, 1+2, st.Issued[snaptest.EndpointB2B2C], "the exchange, then one refresh at once and one at expiry")
	times := refreshes()[1:]
	require.Greater(t, times[1].Sub(times[0]), fleetLifetime*2/3-time.Second) // expiry times are whole seconds
	stored, err := store.Load(ctx, customerKey)
	require.NoError(t, err)
	newest := []string{tokenID(stored.AccessToken), tokenID(stored.RefreshToken)}
	for _, i := range ids {
		require.Equalf(t, newest, f.done[i], "child %d does not hold the stored, newest token", i)
	}
	_, err = cfg.Refresh(ctx, stored.RefreshToken)
	require.NoError(t, err, "the stored refresh token is the provider's live one")
	t.Logf("fleet of %d processes, one customer: %d refreshes (1 at once from an expired token + 1 at expiry), %d rejections, newest token held by all %d",
		fleetSize, len(times), len(st.Rejections), len(ids))
}

// TestFleetLockHolderKilled: a process is SIGKILLed while it holds the lock
// and its fetch is in flight; the 7 others, waiting in PostgreSQL for the
// lock, proceed as soon as the dead process's session ends, and fetch once.
func TestFleetLockHolderKilled(t *testing.T) {
	ctx := testContext(t)
	provider := snaptest.NewServer(snaptest.WithDelay(fleetDeadline)) // the first fetch hangs
	t.Cleanup(provider.Close)
	fetches := issueTimes(provider, snaptest.EndpointB2B)
	store := newStore(t)
	f := newFleet(t, provider, store)

	ids := f.startAll(fleetSize, "b2b", 1)
	holder, others := ids[0], ids[1:]
	f.Go(holder)
	require.Eventually(t, func() bool { return provider.Stats().Calls[snaptest.EndpointB2B] == 1 }, fleetDeadline, 5*time.Millisecond,
		"the first child never asked for a token")
	require.Len(t, advisoryHolders(t, store.DB(), store, "b2b"), 1, "the holder's lock is in pg_locks")
	provider.Configure(snaptest.WithDelay(0))

	f.Go(others...)
	require.Eventually(t, func() bool { return len(advisorySessions(t, store.DB(), store, "b2b", false)) == len(others) }, fleetDeadline, 5*time.Millisecond,
		"the others wait in PostgreSQL for the lock")
	f.killed[holder] = true
	require.NoError(t, f.Kill(holder))
	killed := time.Now()
	f.await("done", len(others))
	f.finish()
	require.Error(t, f.exits[holder], "the holder was killed")

	st := provider.Stats()
	require.Empty(t, st.Rejections)
	require.Equal(t, 2, st.Calls[snaptest.EndpointB2B], "the killed holder's request and one fetch after it died")
	require.Equal(t, 1, st.Issued[snaptest.EndpointB2B])
	after := fetches()[0].Sub(killed)
	require.Positive(t, after, "a waiter fetched while the holder held the lock")
	require.Less(t, after, 5*time.Second, "the waiters did not proceed once the holder's session ended")
	tok, err := store.Load(ctx, "b2b")
	require.NoError(t, err)
	for _, i := range others {
		require.Equal(t, []string{tokenID(tok.AccessToken)}, f.seen[i])
	}
	t.Logf("lock holder SIGKILLed while its fetch was in flight and %d others waited in pg_advisory_xact_lock; "+
		"one of them fetched %v after the kill; requests %d, tokens issued %d",
		len(others), after.Round(time.Millisecond), st.Calls[snaptest.EndpointB2B], st.Issued[snaptest.EndpointB2B])
}

// TestHelperProcess is a member of a fleet when $SQLSTORE_FLEET is set, and
// does nothing otherwise.
func TestHelperProcess(t *testing.T) { fleetproc.Member(t, helperEnv, fleetMember) }

// fleetMember says "ready", waits for "go" on stdin, then asks its token
// source for a token every 10 ms, printing the id of each new access token,
// until it has seen $FLEET_TOKENS of them.
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
	want, err := strconv.Atoi(os.Getenv("FLEET_TOKENS"))
	if err != nil {
		return err
	}
	db, err := sql.Open("pgx", os.Getenv("PG_DSN"))
	if err != nil {
		return err
	}
	defer db.Close()
	store := sqlstore.New(db, sqlstore.WithTable(os.Getenv("FLEET_TABLE")))
	if err := store.Migrate(ctx); err != nil { // every replica may, at start
		return err
	}
	url, client := os.Getenv("FLEET_URL"), os.Getenv("FLEET_CLIENT")
	var src oauth2.TokenSource
	switch mode {
	case "b2b":
		cfg := &snapauth.B2BConfig{TokenURL: url + "/v1.0/access-token/b2b", ClientKey: client, PrivateKey: key}
		src = cfg.StoredTokenSource(ctx, store, "b2b")
	case "b2b2c":
		cfg := &snapauth.B2B2CConfig{TokenURL: url + "/v1.0/access-token/b2b2c", ClientKey: client, PrivateKey: key}
		src = cfg.StoredTokenSource(ctx, store, customerKey)
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}

	if err := fleetproc.Ready(); err != nil {
		return err
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var seen []string
	for {
		tok, err := src.Token()
		if err != nil {
			return err
		}
		if id := tokenID(tok.AccessToken); len(seen) == 0 || seen[len(seen)-1] != id {
			seen = append(seen, id)
			fleetproc.Report("token", id)
		}
		if len(seen) == want {
			fleetproc.Report("done", tokenID(tok.AccessToken), tokenID(tok.RefreshToken))
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("saw %d of %d tokens before the deadline", len(seen), want)
		case <-tick.C:
		}
	}
}
