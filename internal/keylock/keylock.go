// Package keylock is a set of per-key locks within one process whose waiters
// give up when their context ends. The memory store locks with it, and the
// SQL store takes one before a database lock, so that a process keeps at most
// one connection per key waiting in the database.
package keylock

import (
	"context"
	"sync"
)

// Set is a set of per-key locks. Its zero value is ready to use; it must not
// be copied after first use. An entry lives only while the key is held or
// waited for, so idle keys cost nothing.
type Set struct {
	mu sync.Mutex
	m  map[string]*entry
}

type entry struct {
	held chan struct{} // holds one element while the lock is taken
	refs int           // holders and waiters; the entry is dropped at zero
}

// Lock takes key's lock, or returns ctx.Err() once ctx ends. The returned
// unlock is safe to call more than once.
func (s *Set) Lock(ctx context.Context, key string) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[string]*entry)
	}
	e := s.m[key]
	if e == nil {
		e = &entry{held: make(chan struct{}, 1)}
		s.m[key] = e
	}
	e.refs++
	s.mu.Unlock()
	select {
	case e.held <- struct{}{}:
	case <-ctx.Done():
		s.release(key, e)
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-e.held
			s.release(key, e)
		})
	}, nil
}

// Len returns the number of keys held or waited for.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *Set) release(key string, e *entry) {
	s.mu.Lock()
	e.refs--
	if e.refs == 0 {
		delete(s.m, key)
	}
	s.mu.Unlock()
}
