package redisstore_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/redisstore"
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

// reached reports whether a child holding access token last is done: it
// holds target, or, with $FLEET_AT_LEAST set, a token numbered target or
// later ("cat-7" is past "cat-5").
func reached(last, target string) bool {
	if last == target {
		return true
	}
	if os.Getenv("FLEET_AT_LEAST") == "" {
		return false
	}
	num := func(s string) int {
		n, err := strconv.Atoi(s[strings.LastIndexByte(s, '-')+1:])
		if err != nil {
			return -1
		}
		return n
	}
	return num(last) >= num(target) && num(target) >= 0
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
			p, srv := newProvider(t)
			p.lifetime = func(n int) time.Duration {
				if n == 1 {
					return 8 * time.Second
				}
				return time.Second
			}
			p.refreshToken = "rt-0"
			seed := (&oauth2.Token{AccessToken: "cat-0", TokenType: "Bearer", RefreshToken: "rt-0", Expiry: time.Now().Add(-time.Minute), ExpiresIn: 3}).
				WithExtra(map[string]any{"refreshTokenExpiryTime": snapauth.FormatTimestamp(p.refreshExpiry)})
			var store snapauth.TokenStore
			var f *fleet
			soft := []string{"FLEET_SOFT=1", "FLEET_AT_LEAST=1"}
			if backend == "redis" {
				c := newClient(t)
				prefix := testPrefix(t, c)
				store = redisstore.New(c, redisstore.WithKeyPrefix(prefix))
				f = newFleet(t, srv, prefix, soft...)
			} else {
				dir := filepath.Join(t.TempDir(), "tokens")
				fs, err := snapauth.NewFileStore(dir)
				require.NoError(t, err)
				store = fs
				f = newFleet(t, srv, "", append(soft, "FLEET_STORE=file:"+dir)...)
			}
			require.NoError(t, store.Save(context.Background(), "customer-42", seed))

			ids := []int{f.start("b2b2c", "cat-3", "FLEET_EARLY=7500ms"), f.start("b2b2c", "cat-5", "FLEET_FLAKY=1")}
			for len(ids) < fleetSize {
				ids = append(ids, f.start("b2b2c", "cat-5"))
			}
			f.await("ready", fleetSize, nil)
			start := time.Now()
			f.Go(ids...)
			f.await("done", fleetSize, nil)
			requireExitedCleanly(t, f)

			p.mu.Lock()
			defer p.mu.Unlock()
			require.Empty(t, p.badRequests)
			require.Zero(t, p.rejections, "refresh tokens sent twice")
			require.GreaterOrEqual(t, len(p.refreshes), 5)
			stored, err := store.Load(context.Background(), "customer-42")
			require.NoError(t, err)
			if stored.RefreshToken != p.refreshToken {
				// Only a replica whose save failed after sending may leave
				// the store behind, and then the store says so.
				require.NotNil(t, stored.Extra(snapauth.RefreshingExtra), "the store lost the newest refresh token without a marker")
			}
			t.Logf("%s fleet of %d processes (one renewing early and leaving, one with a store failing half its saves), "+
				"lifetimes 8 s then 1 s: %d refreshes in %v, %d refresh tokens sent twice; store holds %s (newest %s)",
				backend, fleetSize, len(p.refreshes), time.Since(start).Round(time.Millisecond), p.rejections, stored.RefreshToken, p.refreshToken)
		})
	}
}
