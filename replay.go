package snapauth

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// ReplayStore remembers the X-EXTERNAL-IDs a Verifier accepted, so that each
// is accepted once per partner per day, as SNAP requires (a reuse is answered
// 409xx00). Implementations must be safe for concurrent use, and Seen must
// be one atomic check-and-set: two calls with the same key racing each other,
// in one process or in a fleet sharing the store, must see exactly one false.
// MemoryReplayStore is the implementation for one process; redisstore.Store
// implements it for a fleet.
type ReplayStore interface {
	// Seen records key for ttl unless it is already recorded, and reports
	// whether it was: false the first time (the request is fresh), true for
	// every later call until the record expires.
	Seen(ctx context.Context, key string, ttl time.Duration) (seen bool, err error)
}

// ReplayKey returns the key under which a Verifier records a request from
// partnerID with externalID whose X-TIMESTAMP falls on day (yyyy-MM-dd, in
// Jakarta): the three joined with NUL bytes, which neither header can carry.
// It is keyed on the external id and the signed timestamp's day, never on
// the signature text, because one signature has several accepted encodings
// (padded and unpadded base64, hex).
func ReplayKey(partnerID, externalID, day string) string {
	return "snap-external-id\x00" + partnerID + "\x00" + day + "\x00" + externalID
}

// replayWindow returns the day of t in Jakarta (yyyy-MM-dd) and how long a
// record of a request signed at t must live: until that day ends plus skew,
// the last moment a request with t's timestamp can still be accepted. It is
// at least a second.
func replayWindow(t, now time.Time, skew time.Duration) (day string, ttl time.Duration) {
	j := t.In(Jakarta)
	y, m, d := j.Date()
	end := time.Date(y, m, d+1, 0, 0, 0, 0, Jakarta)
	return j.Format(time.DateOnly), max(end.Add(skew).Sub(now), time.Second)
}

// MemoryReplayStore is a ReplayStore in the process's memory: enough for a
// single process. Records expire after their time to live, and expired
// records are swept as new ones arrive, so the store holds about one day's
// accepted X-EXTERNAL-IDs. The zero value is ready to use; it must not be
// copied after first use.
type MemoryReplayStore struct {
	seen expiringMap
}

// NewMemoryReplayStore returns an empty MemoryReplayStore.
func NewMemoryReplayStore() *MemoryReplayStore { return &MemoryReplayStore{} }

// Seen records key for ttl unless a live record of it exists, and reports
// whether one did. It fails only when ctx has ended.
func (m *MemoryReplayStore) Seen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := time.Now()
	return !m.seen.add(key, nil, now, now.Add(ttl)), nil
}

// Len returns the number of records the store holds, expired ones not yet
// swept included.
func (m *MemoryReplayStore) Len() int { return m.seen.len() }

// String describes the store by its size.
func (m *MemoryReplayStore) String() string {
	return fmt.Sprintf("snapauth.MemoryReplayStore(%d records)", m.Len())
}

// expiringMap maps keys to values, each with an expiry. Expired entries are
// dropped by a sweep that runs when the map has doubled since the last one,
// so the work per write stays constant on average and the size stays within
// twice the live entries (and at least minSweep).
type expiringMap struct {
	mu        sync.Mutex
	m         map[string]expiringValue
	nextSweep int
}

type expiringValue struct {
	value   []byte
	expires time.Time
}

const minSweep = 1024

// add stores value under key until expires (times on one clock, now
// being the present) unless a live entry exists, and
// reports whether it stored it. The check and the store are one step.
func (s *expiringMap) add(key string, value []byte, now, expires time.Time) bool {
	return s.put(key, value, now, expires, false)
}

// set stores value under key until expires, replacing any entry.
func (s *expiringMap) set(key string, value []byte, now, expires time.Time) {
	s.put(key, value, now, expires, true)
}

func (s *expiringMap) put(key string, value []byte, now, expires time.Time, replace bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]expiringValue)
	}
	if e, ok := s.m[key]; ok && !replace && now.Before(e.expires) {
		return false
	}
	s.m[key] = expiringValue{value, expires}
	if len(s.m) >= max(s.nextSweep, minSweep) {
		for k, e := range s.m {
			if !now.Before(e.expires) {
				delete(s.m, k)
			}
		}
		s.nextSweep = 2 * len(s.m)
	}
	return true
}

// get returns the value of a live entry.
func (s *expiringMap) get(key string, now time.Time) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return e.value, true
}

func (s *expiringMap) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
