package redisstore_test

// The fleet tests run 8 copies of this test binary as separate OS processes
// (TestHelperProcess, selected by $REDISSTORE_FLEET), sharing one Redis and
// one snaptest provider served by the parent: the scenarios of
// internal/fleet, with what is Redis's own (the key prefix, the lock's TTL)
// here.

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/snapauth/snapauth/internal/fleet"
	"github.com/snapauth/snapauth/redisstore"
	"github.com/stretchr/testify/require"
)

const helperEnv = "REDISSTORE_FLEET" // the mode of a child: b2b or b2b2c

// newBackend returns a fleet backend on a key prefix of its own, whose
// members get env added to their environment.
func newBackend(t *testing.T, env ...string) (fleet.Backend, *redis.Client, *redisstore.Store) {
	c := newClient(t)
	prefix := testPrefix(t, c)
	store := redisstore.New(c, redisstore.WithKeyPrefix(prefix))
	env = append([]string{"FLEET_PREFIX=" + prefix, "REDIS_ADDR=" + redisAddr}, env...)
	return fleet.Backend{ModeEnv: helperEnv, Store: store, Env: env}, c, store
}

// TestFleetB2B runs fleet.B2B on Redis: one fetch per expiry for the fleet.
func TestFleetB2B(t *testing.T) {
	b, _, _ := newBackend(t)
	fleet.B2B(t, b)
}

// TestFleetB2B2C runs fleet.B2B2C on Redis: no refresh token spent twice.
func TestFleetB2B2C(t *testing.T) {
	b, _, _ := newBackend(t)
	fleet.B2B2C(t, b)
}

// TestFleetLockHolderKilled: the lock the dead holder took lives in Redis
// for its TTL (2 s here); the 7 others wait on it, and proceed once it
// ends.
func TestFleetLockHolderKilled(t *testing.T) {
	const lockTTL = 2 * time.Second
	b, c, store := newBackend(t, "FLEET_LOCK_TTL="+lockTTL.String())
	k := fleet.LockHolderKilled(t, b, func() {
		pttl, err := c.PTTL(context.Background(), store.LockKey(fleet.B2BKey)).Result()
		require.NoError(t, err)
		require.True(t, pttl > 0 && pttl <= lockTTL, "the holder's lock is in Redis with the 2 s TTL (PTTL %v)", pttl)
	}, nil)
	require.GreaterOrEqual(t, k.Fetch.Sub(k.Go), lockTTL, "a waiter fetched before the dead holder's lock expired")
	require.Less(t, k.Fetch.Sub(k.Request), lockTTL+5*time.Second, "the waiters did not proceed after the lock TTL")
	t.Logf("lock holder SIGKILLed %v after its request reached the provider; the %d others waited on the lock, then fetched once, "+
		"%v after the holder's request (lock TTL %v)",
		k.Kill.Sub(k.Request).Round(time.Millisecond), fleet.Size-1, k.Fetch.Sub(k.Request).Round(time.Millisecond), lockTTL)
}

// TestHelperProcess is a member of a fleet when $REDISSTORE_FLEET is set,
// and does nothing otherwise.
func TestHelperProcess(t *testing.T) { fleet.Member(t, helperEnv, fleetMember) }

// fleetMember opens the fleet's store (memberStore: Redis, with the lock
// TTL of $FLEET_LOCK_TTL when set, or a FileStore) and runs the member's
// token loop on it.
func fleetMember(ctx context.Context, mode string) error {
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
	return fleet.RunMember(ctx, mode, store, softError)
}
