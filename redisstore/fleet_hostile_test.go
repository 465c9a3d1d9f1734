package redisstore_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/fleet"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// memberStore is the store of a fleet child: redis, or the FileStore in
// the directory of $FLEET_STORE=file:<dir>; with $FLEET_FLAKY set, every
// Save fails with probability one half.
func memberStore(redis snapauth.TokenStore) (snapauth.TokenStore, error) {
	store := redis
	if dir, ok := strings.CutPrefix(os.Getenv("FLEET_STORE"), "file:"); ok {
		fs, err := snapauth.NewFileStore(dir)
		if err != nil {
			return nil, err
		}
		store = fs
	}
	if os.Getenv("FLEET_FLAKY") != "" {
		store = flakyStore{store}
	}
	return store, nil
}

// flakyStore is a TokenStore and Locker whose every Save fails with
// probability one half, as a store on a failing disk or network does.
type flakyStore struct{ snapauth.TokenStore }

func (s flakyStore) Save(ctx context.Context, key string, t *oauth2.Token) error {
	if rand.N(2) == 0 {
		return errors.New("flaky store: write failed")
	}
	return s.TokenStore.Save(ctx, key, t)
}

func (s flakyStore) Lock(ctx context.Context, key string) (func(), error) {
	return s.TokenStore.(snapauth.Locker).Lock(ctx, key)
}

// softError reports whether a child with $FLEET_SOFT set carries on after
// err: a temporary failure, a refresh the flaky store could not mark (and
// so never sent), or a new token its store could not save. A refused
// refresh token (ErrReauthorize) never is.
func softError(err error) bool {
	if os.Getenv("FLEET_SOFT") == "" || errors.Is(err, snapauth.ErrReauthorize) {
		return false
	}
	var se *snapauth.StoreError
	return errors.Is(err, snapauth.ErrTemporary) || errors.As(err, &se) || strings.Contains(err.Error(), "the refresh token was not sent")
}

// TestFleetB2B2CHostile: 8 processes share one customer's token in Redis,
// and in a FileStore, against a provider that shortens lifetimes (the first
// refresh gives an 8 s access token, every later one 1 s) and rejects a
// refresh token used twice. Child 0 renews early (EarlyRefresh 7.5 s), so
// it rotates the refresh token twice while the others still hold the first,
// longer-lived token, and then leaves; child 1's store fails every other
// Save. When the others' token is due, the store holds newer tokens that
// expire sooner than theirs: ordering by expiry would make them send their
// spent refresh token. No refresh token may be sent twice.
func TestFleetB2B2CHostile(t *testing.T) {
	for _, backend := range []string{"redis", "file"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			provider := snaptest.NewServer(snaptest.WithTokenLifetime(8 * time.Second))
			t.Cleanup(provider.Close)
			var b fleet.Backend
			if backend == "redis" {
				b, _, _ = newBackend(t, "FLEET_SOFT=1")
			} else {
				dir := filepath.Join(t.TempDir(), "tokens")
				fs, err := snapauth.NewFileStore(dir)
				require.NoError(t, err)
				b = fleet.Backend{ModeEnv: helperEnv, Store: fs, Env: []string{"FLEET_SOFT=1", "FLEET_STORE=file:" + dir}}
			}
			cfg := fleet.Seed(t, provider, b.Store)
			// Lifetimes apply to the requests that come after: the first
			// refresh gets 8 s, and sets 1 s for every later one.
			fleet.IssueTimes(provider, snaptest.EndpointB2B2C, func(n int) {
				if n == 1 {
					_ = provider.Configure(snaptest.WithTokenLifetime(time.Second))
				}
			})

			f := fleet.New(t, b, provider)
			ids := []int{f.Start("b2b2c", 3, fleet.EarlyRefresh(7500*time.Millisecond)), f.Start("b2b2c", 5, "FLEET_FLAKY=1")}
			for len(ids) < fleet.Size {
				ids = append(ids, f.Start("b2b2c", 5))
			}
			f.Await("ready", fleet.Size)
			start := time.Now()
			f.Go(ids...)
			f.Await("done", fleet.Size)
			f.Finish()

			st := provider.Stats()
			require.Zero(t, st.Rejections[snaptest.ReasonRefreshReuse], "refresh tokens sent twice")
			require.Empty(t, st.Rejections, "requests the provider refused")
			refreshes := st.Issued[snaptest.EndpointB2B2C] - 1 // after the seed's exchange
			require.GreaterOrEqual(t, refreshes, 5)
			stored, err := b.Store.Load(ctx, fleet.CustomerKey)
			require.NoError(t, err)
			_, err = cfg.Refresh(ctx, stored.RefreshToken)
			if err != nil {
				// Only a replica whose save failed after sending may leave
				// the store behind, and then the store says so.
				require.NotNil(t, stored.Extra(snapauth.RefreshingExtra), "the store lost the newest refresh token without a marker: %v", err)
			}
			t.Logf("%s fleet of %d processes (one renewing early and leaving, one with a store failing half its saves), "+
				"lifetimes 8 s then 1 s: %d refreshes in %v, %d refresh tokens sent twice; the stored refresh token is the newest: %t",
				backend, fleet.Size, refreshes, time.Since(start).Round(time.Millisecond), st.Rejections[snaptest.ReasonRefreshReuse], err == nil)
		})
	}
}
