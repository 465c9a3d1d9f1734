package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/snapauth/snapauth"
)

// ReplayKey returns the Redis key under which Seen records key:
// TokenKey(key) + ":seen", so that records never collide with tokens or
// locks, and live in the hash slot of their key.
func (s *Store) ReplayKey(key string) string {
	return s.TokenKey(key) + ":seen"
}

// Seen implements snapauth.ReplayStore, so that every replica of a fleet
// accepts an X-EXTERNAL-ID once: SET ReplayKey(key) 1 NX PX <ttl>, one atomic
// command, so concurrent calls from any number of processes see exactly one
// false. It reports true when the record already existed. A ttl under a
// millisecond is taken as one millisecond; a Redis failure is returned (the
// verifier then refuses the request, 500xx01).
func (s *Store) Seen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	rk := s.ReplayKey(key)
	set, err := s.client.SetNX(ctx, rk, 1, max(ttl, time.Millisecond)).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: recording %q: %w", rk, err)
	}
	return !set, nil
}

var _ snapauth.ReplayStore = (*Store)(nil)
