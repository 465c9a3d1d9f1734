package redisstore_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/redisstore"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/require"
)

// customerFleet is n replicas of a merchant service, each with its own
// Redis client, Store, B2B source and snapauth.Customers, sharing one Redis
// prefix and one snaptest provider.
type customerFleet struct {
	srv      *snaptest.Server
	clients  []*http.Client
	cust     []*snapauth.Customers
	redis    *redis.Client
	store    *redisstore.Store
	customer string
}

func newCustomerFleet(t *testing.T, n int) *customerFleet {
	srv := snaptest.NewServer()
	t.Cleanup(srv.Close)
	first := newClient(t)
	prefix := testPrefix(t, first)
	f := &customerFleet{srv: srv, redis: first, store: redisstore.New(first, redisstore.WithKeyPrefix(prefix)), customer: "customer:42"}
	ctx := context.Background()
	for range n {
		store := redisstore.New(newClient(t), redisstore.WithKeyPrefix(prefix))
		partner := &snapauth.Partner{ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, ClientSecret: srv.ClientSecret,
			PartnerID: srv.PartnerID, ChannelID: srv.ChannelID, HTTPClient: srv.Client()}
		b2b := &snapauth.B2BConfig{Partner: partner, TokenURL: srv.B2BTokenURL()}
		f.clients = append(f.clients, b2b.Client(ctx, &snapauth.Transport{Source: b2b.StoredTokenSource(ctx, store, "b2b")}))
		f.cust = append(f.cust, &snapauth.Customers{Config: &snapauth.B2B2CConfig{Partner: partner, TokenURL: srv.B2B2CTokenURL()}, Store: store})
	}
	return f
}

// callAll has every replica make one call for the customer at once and
// returns each one's status or error.
func (f *customerFleet) callAll() ([]int, []error) {
	statuses, errs := make([]int, len(f.clients)), make([]error, len(f.clients))
	var wg sync.WaitGroup
	for i, c := range f.clients {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(f.cust[i].Context(context.Background(), f.customer),
				http.MethodPost, f.srv.ServiceURL("/v1.0/balance-inquiry"), strings.NewReader(`{"partnerReferenceNo":"1"}`))
			if err != nil {
				errs[i] = err
				return
			}
			resp, err := c.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	return statuses, errs
}

// The provider revokes a customer's access token; the refresh token is
// still good. Eight replicas calling at once all succeed, the fleet refreshes
// exactly once, and no spent refresh token is ever sent.
func TestFleetCustomerAccessTokenRevoked(t *testing.T) {
	f := newCustomerFleet(t, 8)
	tok, err := f.cust[0].Link(context.Background(), f.customer, f.srv.MintAuthCode())
	require.NoError(t, err)
	statuses, errs := f.callAll()
	for i := range statuses {
		require.NoError(t, errs[i])
		require.Equal(t, http.StatusOK, statuses[i])
	}
	f.srv.ResetStats()

	require.True(t, f.srv.RevokeToken(tok.AccessToken))
	statuses, errs = f.callAll()
	for i := range statuses {
		require.NoErrorf(t, errs[i], "replica %d", i)
		require.Equalf(t, http.StatusOK, statuses[i], "replica %d", i)
	}
	st := f.srv.Stats()
	require.Equal(t, 1, st.Calls[snaptest.EndpointB2B2C], "one refresh for the fleet")
	require.Zero(t, st.Rejections[snaptest.ReasonRefreshReuse], "a spent refresh token was sent")
	require.Equal(t, len(f.clients), st.Rejections[snaptest.ReasonCustomerTokenInvalid], "one rejection per replica")
	saved, err := f.store.Load(context.Background(), f.customer)
	require.NoError(t, err)
	require.NotEqual(t, tok.RefreshToken, saved.RefreshToken)
}

// The provider revokes the refresh token too: every replica's call fails
// with snapauth.ErrReauthorize, the refresh token is sent once for the whole
// fleet, and the customer's tokens are gone from Redis.
func TestFleetCustomerRefreshTokenRevoked(t *testing.T) {
	f := newCustomerFleet(t, 8)
	ctx := context.Background()
	tok, err := f.cust[0].Link(ctx, f.customer, f.srv.MintAuthCode())
	require.NoError(t, err)
	_, errs := f.callAll()
	require.NoError(t, errors.Join(errs...))
	f.srv.ResetStats()

	f.srv.RevokeToken(tok.AccessToken)
	f.srv.RevokeToken(tok.RefreshToken)
	_, errs = f.callAll()
	for i, err := range errs {
		require.ErrorIsf(t, err, snapauth.ErrReauthorize, "replica %d", i)
	}
	require.Equal(t, 1, f.srv.Stats().Calls[snaptest.EndpointB2B2C], "the refused refresh token was sent more than once")
	_, err = f.store.Load(ctx, f.customer)
	require.ErrorIs(t, err, snapauth.ErrNoToken)
	n, err := f.redis.Exists(ctx, f.store.TokenKey(f.customer), f.store.LockKey(f.customer)).Result()
	require.NoError(t, err)
	require.Zero(t, n, "the customer's token or lock is left in Redis")

	// Linking again from any replica mends it; unlinking (with the
	// provider's account unbinding, which revokes the tokens there) cuts
	// every replica off without a refresh.
	relinked, err := f.cust[3].Link(ctx, f.customer, f.srv.MintAuthCode())
	require.NoError(t, err)
	_, errs = f.callAll()
	require.NoError(t, errors.Join(errs...))
	require.NoError(t, f.cust[5].Unlink(ctx, f.customer))
	f.srv.RevokeToken(relinked.AccessToken)
	f.srv.ResetStats()
	_, errs = f.callAll()
	for _, err := range errs {
		require.ErrorIs(t, err, snapauth.ErrNotLinked)
	}
	require.Zero(t, f.srv.Stats().Calls[snaptest.EndpointB2B2C])
}
