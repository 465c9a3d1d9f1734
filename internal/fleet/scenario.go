package fleet

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"golang.org/x/oauth2"
)

// The shape of the scenarios.
const (
	Size     = 8               // members of a fleet
	Lifetime = 3 * time.Second // of the access tokens B2B and B2B2C have the provider issue
)

// IssueTimes records when provider answered a request of endpoint with a
// token, and returns what it recorded so far. After each such answer it
// calls then (nil: nothing) with how many it recorded, from the provider's
// observer, so that then may Configure the provider for the requests that
// follow. It replaces the provider's observer.
func IssueTimes(provider *snaptest.Server, endpoint string, then func(n int)) func() []time.Time {
	var mu sync.Mutex
	var times []time.Time
	_ = provider.Configure(snaptest.WithObserver(func(r snaptest.Record) {
		if r.Endpoint != endpoint || r.Status != 200 {
			return
		}
		mu.Lock()
		times = append(times, time.Now())
		n := len(times)
		mu.Unlock()
		if then != nil {
			then(n)
		}
	}))
	return func() []time.Time { mu.Lock(); defer mu.Unlock(); return slices.Clone(times) }
}

// Seed stores under CustomerKey in store the token of a customer who linked
// the account earlier, by a real exchange of an authorization code at
// provider, with its access token expired since. It returns the config of
// the exchange, to refresh with.
func Seed(t testing.TB, provider *snaptest.Server, store snapauth.TokenStore) *snapauth.B2B2CConfig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Deadline)
	defer cancel()
	cfg := &snapauth.B2B2CConfig{TokenURL: provider.B2B2CTokenURL(), ClientKey: provider.ClientKey, PrivateKey: provider.PrivateKey}
	seed, err := cfg.Exchange(ctx, provider.MintAuthCode())
	if err != nil {
		t.Fatal(err)
	}
	seed.Expiry = time.Now().Add(-time.Minute)
	if err := store.Save(ctx, CustomerKey, seed); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// load returns the token under key in b's store.
func load(t testing.TB, b Backend, key string) *oauth2.Token {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Deadline)
	defer cancel()
	tok, err := b.Store.Load(ctx, key)
	if err != nil {
		t.Fatalf("load %s: %v", key, err)
	}
	return tok
}

// noRejections fails the test when the provider refused a request.
func noRejections(t testing.TB, st snaptest.Stats) {
	t.Helper()
	if n := st.Rejections[snaptest.ReasonRefreshReuse]; n != 0 {
		t.Errorf("%d refresh tokens were spent twice", n)
	}
	if len(st.Rejections) != 0 {
		t.Errorf("the provider refused requests: %v", st.Rejections)
	}
}

// waitFor polls cond every 5 ms until it holds, failing the test with what
// after Deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(Deadline)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s before the deadline", what)
		}
	}
}

// B2B runs the B2B scenario: 8 members start cold at once, then run through
// two expiries of a 3 s token: the provider sees one fetch per expiry for
// the whole fleet, every member holds the same three tokens in turn, and the
// store the newest.
func B2B(t *testing.T, b Backend) {
	provider := snaptest.NewServer(snaptest.WithTokenLifetime(Lifetime))
	t.Cleanup(provider.Close)
	fetches := IssueTimes(provider, snaptest.EndpointB2B, nil)
	f := New(t, b, provider)
	ids := f.StartAll(Size, "b2b", 3)
	start := time.Now()
	f.Go(ids...)
	f.Await("done", Size)
	f.Finish()

	st := provider.Stats()
	noRejections(t, st)
	if st.Issued[snaptest.EndpointB2B] != 3 || st.Calls[snaptest.EndpointB2B] != 3 {
		t.Fatalf("%d fetches (%d requests) for the fleet, want 3: one cold, one per expiry", st.Issued[snaptest.EndpointB2B], st.Calls[snaptest.EndpointB2B])
	}
	times := fetches()
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap <= Lifetime*2/3 {
			t.Errorf("fetch %d came %v after the previous, before the token was due", i+1, gap)
		}
	}
	first := f.Seen(ids[0])
	if len(first) != 3 || first[0] == first[1] || first[1] == first[2] || first[0] == first[2] {
		t.Fatalf("child 0 held %d tokens, not the 3 issued in turn: %v", len(first), first)
	}
	if newest := TokenID(load(t, b, B2BKey).AccessToken); first[2] != newest {
		t.Errorf("the fleet's last token %s is not the stored one %s", first[2], newest)
	}
	for _, i := range ids {
		if !slices.Equal(f.Seen(i), first) {
			t.Errorf("child %d held other tokens than child 0: %v, %v", i, f.Seen(i), first)
		}
	}
	t.Logf("fleet of %d processes: %d token fetches in %v (1 cold + 1 per expiry for 2 expiries of a %v token); "+
		"fetch times after start: %v, %v, %v", Size, len(times), time.Since(start).Round(time.Millisecond), Lifetime,
		times[0].Sub(start).Round(time.Millisecond), times[1].Sub(start).Round(time.Millisecond), times[2].Sub(start).Round(time.Millisecond))
}

// B2B2C runs the B2B2C scenario: 8 members hold one customer's expired token
// (Seed) and refresh it at once, then again at its expiry, against a
// provider that rejects a refresh token used twice, and then revokes its
// family. Every member ends with the newest token, and the store holds it
// with its refresh token's expiry; that refresh token is the provider's live
// one.
func B2B2C(t *testing.T, b Backend) {
	provider := snaptest.NewServer(snaptest.WithTokenLifetime(Lifetime), snaptest.WithRevokeOnRefreshReuse(true))
	t.Cleanup(provider.Close)
	cfg := Seed(t, provider, b.Store)
	// Refresh n issues a refresh token good for n hours, so that each
	// refresh token's expiry is its own.
	_ = provider.Configure(snaptest.WithRefreshTokenLifetime(time.Hour))
	refreshes := IssueTimes(provider, snaptest.EndpointB2B2C, func(n int) {
		_ = provider.Configure(snaptest.WithRefreshTokenLifetime(time.Duration(n+1) * time.Hour))
	})
	f := New(t, b, provider)
	ids := f.StartAll(Size, "b2b2c", 2)
	f.Go(ids...)
	f.Await("done", Size)
	f.Finish()

	st := provider.Stats()
	noRejections(t, st)
	if n := st.Issued[snaptest.EndpointB2B2C]; n != 1+2 {
		t.Fatalf("%d tokens issued, want 3: the exchange, then one refresh at once and one at expiry", n)
	}
	times := refreshes()
	if gap := times[1].Sub(times[0]); gap <= Lifetime*2/3-time.Second { // expiry times are whole seconds
		t.Errorf("the second refresh came %v after the first, before the token was due", gap)
	}
	stored := load(t, b, CustomerKey)
	newest := []string{TokenID(stored.AccessToken), TokenID(stored.RefreshToken)}
	for _, i := range ids {
		if !slices.Equal(f.Done(i), newest) {
			t.Errorf("child %d does not hold the stored, newest token: %v, stored %v", i, f.Done(i), newest)
		}
	}
	// The second refresh's token is good for 2 hours from its issue, which
	// came before the observer saw it; the provider's expiry times are
	// whole seconds.
	want := times[1].Add(2 * time.Hour)
	if exp := snapauth.RefreshTokenExpiry(stored); exp.After(want) || !exp.After(want.Add(-2*time.Second)) {
		t.Errorf("the stored refresh token expires at %v, not with the newest (at %v, to the second)", exp, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Deadline)
	defer cancel()
	if _, err := cfg.Refresh(ctx, stored.RefreshToken); err != nil {
		t.Errorf("the stored refresh token is not the provider's live one: %v", err)
	}
	t.Logf("fleet of %d processes, one customer: %d refreshes (1 at once from an expired token + 1 at expiry), %d rejections, newest token held by all %d",
		Size, len(times), len(st.Rejections), len(ids))
}

// Killed says when the events of LockHolderKilled happened, for a store's
// checks of when its waiters proceeded.
type Killed struct {
	Go      time.Time // the holder was told to go
	Request time.Time // its fetch had reached the provider (seen within 5 ms)
	Kill    time.Time // it was SIGKILLed
	Fetch   time.Time // the provider answered the others' one fetch
}

// LockHolderKilled runs the scenario where a member is SIGKILLed while it
// holds the store's lock and its fetch hangs at the provider; the 7 others,
// waiting on the lock, fetch exactly once after it died, and all hold that
// token, the stored one. Every member is started (a process takes a while)
// before the first goes, so that the others wait on the lock from the moment
// it is held. held runs while the holder's fetch hangs (to check the lock is
// in the store); waiting (nil: none) after the others went, before the kill
// (to wait until they wait on the lock).
func LockHolderKilled(t *testing.T, b Backend, held, waiting func()) Killed {
	provider := snaptest.NewServer(snaptest.WithDelay(Deadline)) // the first fetch hangs
	t.Cleanup(provider.Close)
	fetches := IssueTimes(provider, snaptest.EndpointB2B, nil)
	f := New(t, b, provider)
	ids := f.StartAll(Size, "b2b", 1)
	holder, others := ids[0], ids[1:]

	var k Killed
	k.Go = time.Now()
	f.Go(holder)
	waitFor(t, "the first child never asked for a token", func() bool { return provider.Count(snaptest.EndpointB2B) == 1 })
	k.Request = time.Now()
	held()
	_ = provider.Configure(snaptest.WithDelay(0))
	f.Go(others...)
	if waiting != nil {
		waiting()
	}
	if err := f.Kill(holder); err != nil {
		t.Fatal(err)
	}
	k.Kill = time.Now()
	f.Await("done", len(others))
	f.Finish()
	if exitErr := (*exec.ExitError)(nil); !errors.As(f.Err(holder), &exitErr) {
		t.Errorf("the holder was not killed: %v", f.Err(holder))
	}

	st := provider.Stats()
	noRejections(t, st)
	if st.Calls[snaptest.EndpointB2B] != 2 || st.Issued[snaptest.EndpointB2B] != 1 {
		t.Fatalf("%d requests, %d tokens issued; want 2 and 1: the killed holder's request and one fetch after it died",
			st.Calls[snaptest.EndpointB2B], st.Issued[snaptest.EndpointB2B])
	}
	k.Fetch = fetches()[0]
	stored := []string{TokenID(load(t, b, B2BKey).AccessToken)}
	for _, i := range others {
		if !slices.Equal(f.Seen(i), stored) {
			t.Errorf("child %d held %v, not only the stored token %v", i, f.Seen(i), stored)
		}
	}
	return k
}
