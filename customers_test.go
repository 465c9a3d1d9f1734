package snapauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// replica is one replica of a merchant service: its own B2B source and
// Customers over a store it shares with the other replicas.
type replica struct {
	client    *http.Client
	customers *snapauth.Customers
}

func newReplica(t *testing.T, srv *snaptest.Server, store snapauth.TokenStore) replica {
	t.Helper()
	ctx := context.Background()
	partner := &snapauth.Partner{
		ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, ClientSecret: srv.ClientSecret,
		PartnerID: srv.PartnerID, ChannelID: srv.ChannelID, HTTPClient: srv.Client(),
	}
	b2b := &snapauth.B2BConfig{Partner: partner, TokenURL: srv.B2BTokenURL()}
	b2b2c := &snapauth.B2B2CConfig{Partner: partner, TokenURL: srv.B2B2CTokenURL()}
	return replica{
		client:    b2b.Client(ctx, &snapauth.Transport{Source: b2b.StoredTokenSource(ctx, store, "b2b")}),
		customers: &snapauth.Customers{Config: b2b2c, Store: store},
	}
}

// call makes one customer request, a balance inquiry, and returns its
// status or the error.
func (r replica) call(key string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, "", strings.NewReader(`{"partnerReferenceNo":"1"}`))
	if err != nil {
		return 0, err
	}
	return r.callURL(req, key)
}

var serviceURL string // set by each test: the server's balance-inquiry URL

func (r replica) callURL(req *http.Request, key string) (int, error) {
	req.URL, _ = req.URL.Parse(serviceURL)
	req = req.WithContext(r.customers.Context(context.Background(), key))
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// linkCustomer binds a new customer of srv under key through r.
func linkCustomer(t *testing.T, srv *snaptest.Server, r replica, key string) *oauth2.Token {
	t.Helper()
	tok, err := r.customers.Link(context.Background(), key, srv.MintAuthCode())
	require.NoError(t, err)
	return tok
}

// linkedReplicas returns n FileStore replicas (see fileReplicas) with one
// customer linked under key, whose token every replica holds in memory
// after a call; the server's counters start from zero.
func linkedReplicas(t *testing.T, srv *snaptest.Server, n int, key string) ([]replica, string, *oauth2.Token) {
	t.Helper()
	rs, dir := fileReplicas(t, srv, n)
	tok := linkCustomer(t, srv, rs[0], key)
	for i, r := range rs {
		status, err := r.call(key)
		require.NoErrorf(t, err, "replica %d", i)
		require.Equalf(t, http.StatusOK, status, "replica %d", i)
	}
	srv.ResetStats()
	return rs, dir, tok
}

func newCustomerServer(t *testing.T) (*snaptest.Server, *observed) {
	obs := new(observed)
	srv := snaptest.NewServer(snaptest.WithObserver(obs.observe))
	t.Cleanup(srv.Close)
	serviceURL = srv.ServiceURL("/v1.0/balance-inquiry")
	return srv, obs
}

// fileReplicas returns n replicas, each with its own FileStore on one
// directory, as n processes of one host: their flocks are separate.
func fileReplicas(t *testing.T, srv *snaptest.Server, n int) ([]replica, string) {
	dir := storeTempDir(t)
	var rs []replica
	for range n {
		fs, err := snapauth.NewFileStore(dir)
		require.NoError(t, err)
		rs = append(rs, newReplica(t, srv, fs))
	}
	return rs, dir
}

// A provider revokes a customer's access token; its refresh token is still
// good. Every replica's next call succeeds, the fleet refreshes exactly once,
// each retry carries its first attempt's X-EXTERNAL-ID, and no spent refresh
// token is ever sent.
func TestCustomersRevokedAccessToken(t *testing.T) {
	srv, obs := newCustomerServer(t)
	rs, _ := fileReplicas(t, srv, 3)
	tok := linkCustomer(t, srv, rs[0], "customer:1")
	for _, r := range rs { // every replica holds the token in memory
		status, err := r.call("customer:1")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
	}
	obs.take()
	srv.ResetStats()

	require.True(t, srv.RevokeToken(tok.AccessToken))
	for i, r := range rs {
		status, err := r.call("customer:1")
		require.NoErrorf(t, err, "replica %d", i)
		require.Equalf(t, http.StatusOK, status, "replica %d", i)
	}
	st := srv.Stats()
	require.Equal(t, 1, st.Calls[snaptest.EndpointB2B2C], "one refresh for the fleet")
	require.Zero(t, st.Rejections[snaptest.ReasonRefreshReuse], "a spent refresh token was sent")
	require.Zero(t, st.Rejections[snaptest.ReasonRefreshToken])
	recs := obs.take()
	require.Len(t, recs, 2*len(rs), "each replica: the rejected call and its one resend")
	for i := 0; i < len(recs); i += 2 {
		require.Equal(t, snaptest.ReasonCustomerTokenInvalid, recs[i].Reason)
		require.Equal(t, snaptest.ReasonNone, recs[i+1].Reason)
		require.Equal(t, recs[i].Header.Get("X-External-Id"), recs[i+1].Header.Get("X-External-Id"))
		require.NotEqual(t, recs[i].Header.Get("Authorization-Customer"), recs[i+1].Header.Get("Authorization-Customer"))
	}

	// Later calls use the new token without a refresh.
	for _, r := range rs {
		status, err := r.call("customer:1")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
	}
	require.Equal(t, 1, srv.Stats().Calls[snaptest.EndpointB2B2C])
}

// A provider revokes the refresh token too: the call fails with
// ErrReauthorize, the customer's tokens are removed from the store, and no
// replica sends the refused refresh token again.
func TestCustomersRevokedRefreshToken(t *testing.T) {
	srv, _ := newCustomerServer(t)
	rs, dir := fileReplicas(t, srv, 2)
	tok := linkCustomer(t, srv, rs[0], "customer:1")
	linkCustomer(t, srv, rs[0], "customer:2")
	for _, r := range rs {
		_, err := r.call("customer:1")
		require.NoError(t, err)
	}
	srv.ResetStats()
	require.True(t, srv.RevokeToken(tok.AccessToken))
	require.True(t, srv.RevokeToken(tok.RefreshToken))

	_, err := rs[0].call("customer:1")
	require.ErrorIs(t, err, snapauth.ErrReauthorize)
	store, err := snapauth.NewFileStore(dir)
	require.NoError(t, err)
	_, err = store.Load(context.Background(), "customer:1")
	require.ErrorIs(t, err, snapauth.ErrNoToken, "the refused tokens are removed")
	_, err = store.Load(context.Background(), "customer:2")
	require.NoError(t, err, "another customer's tokens stay")
	require.Equal(t, 1, srv.Stats().Calls[snaptest.EndpointB2B2C])

	// The other replica still holds the revoked access token in memory: its
	// next call is rejected, and the store says the customer is not linked.
	for _, r := range rs {
		_, err = r.call("customer:1")
		require.ErrorIs(t, err, snapauth.ErrNotLinked)
		require.ErrorIs(t, err, snapauth.ErrReauthorize)
	}
	require.Equal(t, 1, srv.Stats().Calls[snaptest.EndpointB2B2C], "the refused refresh token is never sent again")

	// Linking again mends it.
	linkCustomer(t, srv, rs[1], "customer:1")
	for _, r := range rs {
		status, err := r.call("customer:1")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
	}
}

// Unknown customers, keys a store may not hold, and unlinking.
func TestCustomersBadInput(t *testing.T) {
	srv, _ := newCustomerServer(t)
	rs, dir := fileReplicas(t, srv, 1)
	r := rs[0]
	ctx := context.Background()
	_, err := r.customers.Token(ctx, "never-linked")
	require.ErrorIs(t, err, snapauth.ErrNotLinked)
	_, err = r.call("never-linked")
	require.ErrorIs(t, err, snapauth.ErrNotLinked)
	require.Zero(t, srv.Stats().Calls[snaptest.EndpointB2B2C])
	require.Zero(t, srv.Stats().Calls[snaptest.EndpointService], "nothing sent for an unknown customer")

	for _, key := range []string{"", "nul\x00byte", "\xff\xfe", "line\nbreak", strings.Repeat("k", snapauth.MaxCustomerKeyLen+1)} {
		_, err := r.customers.Token(ctx, key)
		require.ErrorIsf(t, err, snapauth.ErrInvalidCustomerKey, "key %q", key)
		_, err = r.customers.Link(ctx, key, "code")
		require.ErrorIs(t, err, snapauth.ErrInvalidCustomerKey)
		require.ErrorIs(t, r.customers.Unlink(ctx, key), snapauth.ErrInvalidCustomerKey)
	}
	require.NoError(t, r.customers.Unlink(ctx, "never-linked"))

	linkCustomer(t, srv, r, "ключ 🔑")
	status, err := r.call("ключ 🔑")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, r.customers.Unlink(ctx, "ключ 🔑"))
	_, err = r.customers.Token(ctx, "ключ 🔑")
	require.ErrorIs(t, err, snapauth.ErrNotLinked)

	// Only the B2B token's files remain: no token or lock file of a
	// customer that is unknown or unlinked.
	require.Len(t, storeDirEntries(t, dir), 2, "b2b token and lock file: %v", storeDirEntries(t, dir))

	_, err = (&snapauth.Customers{Config: &snapauth.B2B2CConfig{}}).Token(ctx, "k")
	require.ErrorContains(t, err, "Store is nil")
	_, err = (&snapauth.Customers{Store: snapauth.NewMemoryStore()}).Token(ctx, "k")
	require.ErrorContains(t, err, "Config is nil")
}

// failingStore is a MemoryStore whose Saves of a refreshed token fail while
// fail is set: the store breaks after the refresh was marked and sent.
type failingStore struct {
	*snapauth.MemoryStore
	mu   sync.Mutex
	fail bool
}

func (s *failingStore) Save(ctx context.Context, key string, t *oauth2.Token) error {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	marked, _ := t.Extra(snapauth.RefreshingExtra).(string)
	if fail && marked == "" && t.AccessToken != "" {
		return errors.New("disk full")
	}
	return s.MemoryStore.Save(ctx, key, t)
}

// A store that fails mid-way loses no refresh token: the refreshed token is
// served from memory, reported as a *StoreError holding it, kept in memory
// however many other customers pass through, and saved by the next refresh.
func TestCustomersStoreFailsMidway(t *testing.T) {
	srv, _ := newCustomerServer(t)
	store := &failingStore{MemoryStore: snapauth.NewMemoryStore()}
	r := newReplica(t, srv, store)
	r.customers.MaxCached = 2
	tok := linkCustomer(t, srv, r, "c")
	_, err := r.call("c")
	require.NoError(t, err)

	store.mu.Lock()
	store.fail = true
	store.mu.Unlock()
	srv.RevokeToken(tok.AccessToken)
	_, err = r.call("c")
	var se *snapauth.StoreError
	require.ErrorAs(t, err, &se)
	require.NotEmpty(t, se.Token.RefreshToken)
	require.NotContains(t, err.Error(), se.Token.RefreshToken)

	// Other customers pass through the small cache; "c" stays.
	ctx := context.Background()
	for _, k := range []string{"x", "y", "z"} {
		_, err := r.customers.Token(ctx, k)
		require.ErrorIs(t, err, snapauth.ErrNotLinked)
	}
	got, err := r.customers.Token(ctx, "c")
	require.NoError(t, err)
	require.Equal(t, se.Token.AccessToken, got.AccessToken)

	// The store recovers; the next rejection refreshes with the newest
	// refresh token and saves.
	store.mu.Lock()
	store.fail = false
	store.mu.Unlock()
	srv.RevokeToken(got.AccessToken)
	status, err := r.call("c")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Zero(t, srv.Stats().Rejections[snaptest.ReasonRefreshReuse])
	saved, err := store.Load(ctx, "c")
	require.NoError(t, err)
	require.NotEqual(t, se.Token.RefreshToken, saved.RefreshToken)
}

// Replicas on one host (separate FileStores, so separate flocks), four
// requests each, hit the revoked token at once: all succeed after exactly
// one refresh.
func TestCustomersRevokedAccessTokenAtOnce(t *testing.T) {
	srv, _ := newCustomerServer(t)
	rs, _, tok := linkedReplicas(t, srv, 6, "customer:1")
	require.True(t, srv.RevokeToken(tok.AccessToken))
	var wg sync.WaitGroup
	for _, r := range rs {
		for range 4 {
			wg.Go(func() {
				status, err := r.call("customer:1")
				if err != nil || status != http.StatusOK {
					t.Errorf("status %d, err %v", status, err)
				}
			})
		}
	}
	wg.Wait()
	require.Equal(t, 1, srv.Stats().Calls[snaptest.EndpointB2B2C])
	require.Zero(t, srv.Stats().Rejections[snaptest.ReasonRefreshReuse])
}

// The refresh after a rejection fails (the provider is down): the rejected
// access token has left the store, the refresh token has not, and the next
// call, on another replica, succeeds after one refresh.
func TestCustomersRejectedTokenLeavesStoreRefreshTokenStays(t *testing.T) {
	srv, _ := newCustomerServer(t)
	rs, dir, tok := linkedReplicas(t, srv, 2, "customer:1")
	srv.RevokeToken(tok.AccessToken)
	srv.FailTokenCalls(1, http.StatusServiceUnavailable, "5037401")
	_, err := rs[0].call("customer:1")
	require.ErrorIs(t, err, snapauth.ErrTemporary)

	store, err := snapauth.NewFileStore(dir)
	require.NoError(t, err)
	kept, err := store.Load(context.Background(), "customer:1")
	require.NoError(t, err)
	require.Empty(t, kept.AccessToken, "the rejected access token is still stored")
	require.Equal(t, tok.RefreshToken, kept.RefreshToken, "the refresh token is kept")

	status, err := rs[1].call("customer:1")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	status, err = rs[0].call("customer:1")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, 2, srv.Stats().Calls[snaptest.EndpointB2B2C], "the failed refresh and one more")
	require.Zero(t, srv.Stats().Rejections[snaptest.ReasonRefreshReuse])
}
