package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/testserver"
	"github.com/snapauth/snapauth/redisstore"
	"github.com/snapauth/snapauth/storetest"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) snapauth.TokenStore { return newStore(t) })
}

// TestConformanceCluster runs the suite through a redis.ClusterClient
// against a one-node Redis Cluster holding every slot, and checks that a
// token and its lock always share a hash slot.
func TestConformanceCluster(t *testing.T) {
	addr, stop, err := startRedis("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	if err != nil && os.Getenv("CI") != "true" {
		t.Skip("no redis-server to run in cluster mode:", err)
	}
	require.NoError(t, err, "a redis-server in cluster mode")
	t.Cleanup(stop)
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()
	require.NoError(t, admin.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err())
	require.Eventually(t, func() bool {
		info, err := admin.ClusterInfo(ctx).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok")
	}, 10*time.Second, 20*time.Millisecond)

	var cluster redis.UniversalClient = redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}})
	t.Cleanup(func() { cluster.Close() })
	storetest.Run(t, func(t *testing.T) snapauth.TokenStore {
		return redisstore.New(cluster, redisstore.WithKeyPrefix(testPrefix(t, cluster)))
	})

	s := redisstore.New(cluster)
	slots := map[int64]bool{}
	for _, key := range append(storetest.OddKeys, "merchant-1", "merchant-2", "customer:42") {
		tokenSlot, err := admin.ClusterKeySlot(ctx, s.TokenKey(key)).Result()
		require.NoError(t, err)
		lockSlot, err := admin.ClusterKeySlot(ctx, s.LockKey(key)).Result()
		require.NoError(t, err)
		require.Equalf(t, tokenSlot, lockSlot, "key %q: token and lock in different slots", key)
		slots[tokenSlot] = true
	}
	require.Greater(t, len(slots), 10, "keys spread over the cluster's slots")
}

func TestKeys(t *testing.T) {
	s := redisstore.New(redis.NewClient(&redis.Options{Addr: redisAddr}))
	require.Equal(t, "snapauth:{merchant-1}", s.TokenKey("merchant-1"))
	require.Equal(t, "snapauth:{merchant-1}:lock", s.LockKey("merchant-1"))
	require.Equal(t, "snapauth:{%}", s.TokenKey(""))
	require.Equal(t, "snapauth:{%25}", s.TokenKey("%"))
	require.Equal(t, "snapauth:{a%7Bb%7Dc}", s.TokenKey("a{b}c"))
	p := redisstore.New(redis.NewClient(&redis.Options{Addr: redisAddr}), redisstore.WithKeyPrefix("app:prod:"))
	require.Equal(t, "app:prod:{k}:lock", p.LockKey("k"))
	seen := map[string]string{}
	for _, key := range storetest.OddKeys {
		rk := s.TokenKey(key)
		require.NotContainsf(t, seen, rk, "keys %q and %q share a Redis key", key, seen[rk])
		seen[rk] = key
	}
}

func TestNewNilClient(t *testing.T) {
	require.PanicsWithValue(t, "redisstore: New: nil client", func() { redisstore.New(nil) })
}

func TestTTL(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	c := newClient(t)
	s := redisstore.New(c, redisstore.WithKeyPrefix(testPrefix(t, c)), redisstore.WithClock(func() time.Time { return now }),
		redisstore.WithExpiryGrace(30*time.Second))
	b2b := &oauth2.Token{AccessToken: "b2b", Expiry: now.Add(15 * time.Minute)}
	customer := (&oauth2.Token{AccessToken: "c", RefreshToken: "r", Expiry: now.Add(15 * time.Minute)}).
		WithExtra(map[string]any{"refreshTokenExpiryTime": now.Add(30 * 24 * time.Hour).In(snapauth.Jakarta).Format(time.RFC3339)})
	unknownRefresh := &oauth2.Token{AccessToken: "c", RefreshToken: "r", Expiry: now.Add(15 * time.Minute)}
	garbledRefresh := unknownRefresh.WithExtra(map[string]any{"refreshTokenExpiryTime": "next tuesday"})
	for name, tc := range map[string]struct {
		tok  *oauth2.Token
		want time.Duration // -1: no expiry
	}{
		"b2b":                     {b2b, 15*time.Minute + 30*time.Second},
		"refresh token":           {customer, 30*24*time.Hour + 30*time.Second},
		"refresh token, unknown":  {unknownRefresh, -1},
		"refresh token, garbled":  {garbledRefresh, -1},
		"no expiry":               {&oauth2.Token{AccessToken: "forever"}, -1},
		"expired":                 {&oauth2.Token{AccessToken: "old", Expiry: now.Add(-time.Hour)}, 30 * time.Second},
		"refresh expires earlier": {customer.WithExtra(map[string]any{"refreshTokenExpiryTime": now.Add(time.Minute).Format(time.RFC3339)}), 15*time.Minute + 30*time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			if tc.want < 0 {
				require.Zero(t, s.TTL(tc.tok))
			} else {
				require.Equal(t, tc.want, s.TTL(tc.tok))
			}
			// The TTL Redis holds after a Save over a key that had another.
			require.NoError(t, s.Save(ctx, name, &oauth2.Token{AccessToken: "before", Expiry: now.Add(time.Second)}))
			require.NoError(t, s.Save(ctx, name, tc.tok))
			pttl, err := c.PTTL(ctx, s.TokenKey(name)).Result()
			require.NoError(t, err)
			if tc.want < 0 {
				require.Equal(t, time.Duration(-1), pttl, "no expiry in Redis")
				return
			}
			require.LessOrEqual(t, pttl, tc.want)
			require.Greater(t, pttl, tc.want-5*time.Second)
		})
	}
}

// TestTokenExpiresFromRedis lets Redis drop a token once it is useless.
func TestTokenExpiresFromRedis(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, redisstore.WithExpiryGrace(0))
	require.NoError(t, s.Save(ctx, "k", &oauth2.Token{AccessToken: "short", Expiry: time.Now().Add(150 * time.Millisecond)}))
	_, err := s.Load(ctx, "k")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := s.Load(ctx, "k")
		return err == snapauth.ErrNoToken
	}, 10*time.Second, 20*time.Millisecond)
}

// TestLockExpiry: a holder that never unlocks (a crashed process) blocks the
// others for the lock TTL only; its late unlock must not release the lock
// the next holder took meanwhile.
func TestLockExpiry(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	prefix := testPrefix(t, c)
	const ttl = 300 * time.Millisecond
	short := redisstore.New(c, redisstore.WithKeyPrefix(prefix), redisstore.WithLockTTL(ttl), redisstore.WithPollInterval(10*time.Millisecond))
	long := redisstore.New(newClient(t), redisstore.WithKeyPrefix(prefix), redisstore.WithPollInterval(10*time.Millisecond))

	unlockA, err := short.Lock(ctx, "k")
	require.NoError(t, err)
	pttl, err := c.PTTL(ctx, short.LockKey("k")).Result()
	require.NoError(t, err)
	require.InDelta(t, ttl, pttl, float64(100*time.Millisecond))

	start := time.Now()
	unlockB, err := long.Lock(ctx, "k")
	waited := time.Since(start)
	require.NoError(t, err)
	require.GreaterOrEqual(t, waited, ttl-50*time.Millisecond, "B took A's lock before its TTL")
	require.Less(t, waited, ttl+2*time.Second)
	pttl, err = c.PTTL(ctx, long.LockKey("k")).Result()
	require.NoError(t, err)
	require.Greater(t, pttl, 20*time.Second, "B's lock has the default TTL")

	unlockA() // late: A's lock expired and B holds the key now
	held, err := c.Exists(ctx, long.LockKey("k")).Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, held, "A's late unlock deleted B's lock")
	wait, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	_, err = short.Lock(wait, "k")
	require.ErrorIs(t, err, context.DeadlineExceeded)

	unlockB()
	held, err = c.Exists(ctx, long.LockKey("k")).Result()
	require.NoError(t, err)
	require.Zero(t, held, "B's unlock deleted its lock")
}

func TestLockAcrossClients(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	prefix := testPrefix(t, c)
	const n = 4
	var stores []*redisstore.Store
	for range n {
		stores = append(stores, redisstore.New(newClient(t), redisstore.WithKeyPrefix(prefix), redisstore.WithPollInterval(5*time.Millisecond)))
	}
	var mu sync.Mutex // only to collect the order; exclusion is Redis's
	var order []int
	var inside, overlaps int
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			for range 10 {
				unlock, err := s.Lock(ctx, "shared")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				inside++
				if inside > 1 {
					overlaps++
				}
				order = append(order, i)
				mu.Unlock()
				mu.Lock()
				inside--
				mu.Unlock()
				unlock()
			}
		})
	}
	wg.Wait()
	require.Zero(t, overlaps)
	require.Len(t, order, n*10)
}

func TestRedisUnavailable(t *testing.T) {
	port, err := testserver.FreePort() // nothing listens there
	require.NoError(t, err)
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	s := redisstore.New(c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = s.Load(ctx, "k")
	require.Error(t, err)
	require.NotErrorIs(t, err, snapauth.ErrNoToken, "a Redis failure is not an absent token")
	require.True(t, strings.HasPrefix(err.Error(), "redisstore: "), err.Error())
	require.Error(t, s.Save(ctx, "k", &oauth2.Token{AccessToken: "SECRET"}))
	_, err = s.Lock(ctx, "k")
	require.Error(t, err, "Lock returns a Redis failure instead of waiting")
	require.NoError(t, ctx.Err())
}

func TestCorruptValue(t *testing.T) {
	ctx := context.Background()
	c := newClient(t)
	s := redisstore.New(c, redisstore.WithKeyPrefix(testPrefix(t, c)))
	for _, value := range []string{"", "SECRET-garbage", `{"version":1,"access_token":"SECRET-A"`, `{"version":9,"access_token":"SECRET-A"}`} {
		require.NoError(t, c.Set(ctx, s.TokenKey("k"), value, 0).Err())
		tok, err := s.Load(ctx, "k")
		require.Error(t, err)
		require.Nil(t, tok)
		require.NotErrorIs(t, err, snapauth.ErrNoToken)
		require.Contains(t, err.Error(), s.TokenKey("k"))
		require.NotContains(t, err.Error(), "SECRET")
	}
}

func TestPrintsNoTokens(t *testing.T) {
	s := newStore(t)
	require.NoError(t, s.Save(context.Background(), "k", &oauth2.Token{AccessToken: "SECRET-A", RefreshToken: "SECRET-R"}))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		require.NotContains(t, fmt.Sprintf(verb, s), "SECRET")
		require.NotContains(t, fmt.Sprintf(verb, *s), "SECRET")
	}
	require.True(t, strings.HasPrefix(s.String(), `redisstore.Store(prefix "snapauth-test:`), s.String())
}
