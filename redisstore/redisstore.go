// Package redisstore is a snapauth.TokenStore in Redis, for a fleet of
// replicas that must share SNAP tokens: one B2B token fetched per expiry for
// the whole fleet, and a customer's rotating B2B2C refresh token spent by
// one replica at a time.
//
// A Store keeps each token as the JSON of snapauth.MarshalToken under
// "<prefix>{<key>}", with a time to live until the token is useless, and
// implements snapauth.Locker with a lock under "<prefix>{<key>}:lock". The
// braces are a Redis Cluster hash tag: a token and its lock live in one hash
// slot, and different keys spread over the cluster. Any
// redis.UniversalClient works: a single node, Sentinel (failover) or
// Cluster client.
//
//	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"redis:6379"}})
//	store := redisstore.New(client)
//	src := b2bConfig.StoredTokenSource(ctx, store, "b2b")
//
// New takes the client and functional options, as Redis backends of other
// stores do (httpcache's redis.NewWithClient): the client is the one
// required part, and the few knobs (key prefix, lock TTL) all have defaults.
package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/snapauth/snapauth"
	"golang.org/x/oauth2"
)

// Defaults of the options.
const (
	// DefaultKeyPrefix starts the name of every Redis key of a Store.
	DefaultKeyPrefix = "snapauth:"
	// DefaultLockTTL is how long a lock lives if its holder never releases
	// it (a crashed process). It exceeds snapauth.DefaultFetchTimeout, which
	// bounds a token source's whole renewal (waiting for the lock, the fetch
	// with its retries, the save), so that a live holder never loses its
	// lock to a second replica mid-refresh.
	DefaultLockTTL = snapauth.DefaultFetchTimeout + 10*time.Second
	// DefaultPollInterval is how often a waiter tries to take a held lock.
	DefaultPollInterval = 50 * time.Millisecond
	// DefaultExpiryGrace is how long a token outlives its expiry in Redis,
	// so that replicas whose clocks lag still find it.
	DefaultExpiryGrace = time.Minute
)

// unlockTimeout bounds the compare-and-delete of an unlock; if it fails the
// lock expires after its TTL.
const unlockTimeout = 5 * time.Second

// Store is a snapauth.TokenStore and snapauth.Locker in Redis. It is safe
// for concurrent use, and any number of Stores (in any number of processes)
// with the same prefix on the same Redis share tokens and locks. Create it
// with New. Its String method names its prefix, never a token.
type Store struct {
	client  redis.UniversalClient
	prefix  string
	lockTTL time.Duration
	poll    time.Duration
	grace   time.Duration
	now     func() time.Time
}

// An Option changes a default of New.
type Option func(*Store)

// WithKeyPrefix sets the prefix of every Redis key of the store (default
// DefaultKeyPrefix), so that several applications or environments can share
// one Redis. The prefix should not contain braces, which would change the
// Cluster hash tag.
func WithKeyPrefix(prefix string) Option {
	return func(s *Store) { s.prefix = prefix }
}

// WithLockTTL sets how long a lock lives unless released (default
// DefaultLockTTL). It must be longer than the FetchTimeout of the token
// sources using the store (a renewal's bound, retries and save included), or
// a second replica may refresh while the first still does and spend a
// rotated refresh token twice; it is also how long the fleet waits after a
// replica dies holding the lock. Zero or negative means the default.
func WithLockTTL(ttl time.Duration) Option {
	return func(s *Store) {
		if ttl > 0 {
			s.lockTTL = ttl
		}
	}
}

// WithPollInterval sets how often a waiter tries to take a held lock
// (default DefaultPollInterval). Zero or negative means the default.
func WithPollInterval(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.poll = d
		}
	}
}

// WithExpiryGrace sets how long a token outlives its expiry in Redis
// (default DefaultExpiryGrace). Negative means zero.
func WithExpiryGrace(d time.Duration) Option {
	return func(s *Store) { s.grace = max(d, 0) }
}

// WithClock sets the clock used to compute time-to-live values (default
// time.Now). A nil now means time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// New returns a Store keeping tokens in Redis through client, which must
// not be nil (New panics otherwise). Options change the defaults.
func New(client redis.UniversalClient, opts ...Option) *Store {
	if client == nil {
		panic("redisstore: New: nil client")
	}
	s := &Store{
		client:  client,
		prefix:  DefaultKeyPrefix,
		lockTTL: DefaultLockTTL,
		poll:    DefaultPollInterval,
		grace:   DefaultExpiryGrace,
		now:     time.Now,
	}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// TokenKey returns the Redis key holding key's token: the prefix, then key
// in braces (a Cluster hash tag) with "%", "{" and "}" percent-encoded; the
// empty key is written as a lone "%", which no other key produces, so that
// the hash tag is never empty.
func (s *Store) TokenKey(key string) string {
	esc := "%"
	if key != "" {
		esc = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D").Replace(key)
	}
	return s.prefix + "{" + esc + "}"
}

// LockKey returns the Redis key of key's lock: TokenKey(key) + ":lock", in
// the same Cluster hash slot as the token.
func (s *Store) LockKey(key string) string {
	return s.TokenKey(key) + ":lock"
}

// TTL returns the time to live Save gives t: until the expiry of its refresh
// token (from the refreshTokenExpiryTime extra, or its access token's expiry
// if later) when t has a refresh token, else until the expiry of its access
// token; plus the grace (WithExpiryGrace). It returns 0, meaning no expiry,
// when that time is unknown: a refresh token of unknown lifetime is never
// dropped. A time already past gives the grace alone (at least 1 ms).
func (s *Store) TTL(t *oauth2.Token) time.Duration {
	exp := t.Expiry
	if t.RefreshToken != "" {
		rexp := snapauth.RefreshTokenExpiry(t)
		if rexp.IsZero() {
			return 0
		}
		if rexp.After(exp) {
			exp = rexp
		}
	}
	if exp.IsZero() {
		return 0
	}
	return max(exp.Sub(s.now()), 0) + max(s.grace, time.Millisecond)
}

// Load returns the token stored under key, or snapauth.ErrNoToken. A value
// that cannot be decoded is an error naming its Redis key, never containing
// token text.
func (s *Store) Load(ctx context.Context, key string) (*oauth2.Token, error) {
	rk := s.TokenKey(key)
	data, err := s.client.Get(ctx, rk).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, snapauth.ErrNoToken
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: loading %s: %w", rk, err)
	}
	t, err := snapauth.UnmarshalToken(data)
	if err != nil {
		return nil, fmt.Errorf("redisstore: value of %s: %w", rk, err)
	}
	return t, nil
}

// Save stores t under key, replacing the token there and its time to live
// (see TTL). It fails as snapauth.MarshalToken does, or when Redis does.
func (s *Store) Save(ctx context.Context, key string, t *oauth2.Token) error {
	data, err := snapauth.MarshalToken(t)
	if err != nil {
		return err
	}
	rk := s.TokenKey(key)
	if err := s.client.Set(ctx, rk, data, s.TTL(t)).Err(); err != nil {
		return fmt.Errorf("redisstore: saving %s: %w", rk, err)
	}
	return nil
}

// Delete removes the token stored under key (snapauth.TokenDeleter). With
// old not nil it reads the token, compares it in Go, and deletes it only if
// the value is still the bytes it read (compare-and-delete in Lua), so a
// newer token another replica saved meanwhile survives. It does not take
// key's lock, so a holder of the lock may call it.
func (s *Store) Delete(ctx context.Context, key string, old *oauth2.Token) error {
	rk := s.TokenKey(key)
	if old == nil {
		if err := s.client.Del(ctx, rk).Err(); err != nil {
			return fmt.Errorf("redisstore: deleting %s: %w", rk, err)
		}
		return nil
	}
	data, err := s.client.Get(ctx, rk).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("redisstore: deleting %s: %w", rk, err)
	}
	cur, err := snapauth.UnmarshalToken(data)
	if err != nil {
		return fmt.Errorf("redisstore: value of %s: %w", rk, err)
	}
	if cur.AccessToken != old.AccessToken || cur.RefreshToken != old.RefreshToken {
		return nil
	}
	if err := compareAndDelete.Run(ctx, s.client, []string{rk}, data).Err(); err != nil {
		return fmt.Errorf("redisstore: deleting %s: %w", rk, err)
	}
	return nil
}

// compareAndDelete deletes KEYS[1] only if it still holds ARGV[1]. Unlock
// uses it so that a holder whose lock expired and was taken by another
// replica does not release the other's lock, and Delete so that a token
// saved since it was read survives.
var compareAndDelete = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

// Lock takes key's lock for the whole fleet: SET LockKey(key) <random> NX PX
// <lock TTL>, tried every poll interval until it succeeds or ctx ends (then
// the error wraps ctx.Err()). A Redis failure is returned at once. The lock
// expires after the lock TTL even if never released. unlock deletes it only
// if it still holds this holder's random value (compare-and-delete in Lua),
// with a timeout of its own, and is safe to call more than once.
func (s *Store) Lock(ctx context.Context, key string) (unlock func(), err error) {
	lk := s.LockKey(key)
	value := rand.Text()
	var timer *time.Timer
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("redisstore: waiting for %s: %w", lk, err)
		}
		ok, err := s.client.SetNX(ctx, lk, value, s.lockTTL).Result()
		if err != nil {
			if ctx.Err() != nil {
				// The SET may have succeeded with its answer lost: release
				// what may be ours rather than block the fleet for a TTL.
				s.release(ctx, lk, value, time.Second)
				return nil, fmt.Errorf("redisstore: waiting for %s: %w", lk, ctx.Err())
			}
			return nil, fmt.Errorf("redisstore: locking %s: %w", lk, err)
		}
		if ok {
			break
		}
		if timer == nil {
			timer = time.NewTimer(s.poll)
			defer timer.Stop()
		} else {
			timer.Reset(s.poll)
		}
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
	}
	var once sync.Once
	return func() { once.Do(func() { s.release(ctx, lk, value, unlockTimeout) }) }, nil
}

// release deletes the lock lk if it holds value, within timeout and whether
// or not ctx has ended. A failure is ignored: the lock expires by its TTL.
func (s *Store) release(ctx context.Context, lk, value string, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	_ = compareAndDelete.Run(ctx, s.client, []string{lk}, value).Err()
}

// String describes the store by its key prefix.
func (s *Store) String() string {
	return fmt.Sprintf("redisstore.Store(prefix %q)", s.prefix)
}

// GoString is String, for the %#v verb.
func (s *Store) GoString() string { return s.String() }

var (
	_ snapauth.TokenStore   = (*Store)(nil)
	_ snapauth.Locker       = (*Store)(nil)
	_ snapauth.TokenDeleter = (*Store)(nil)
)
