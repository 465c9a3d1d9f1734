package sqlstore

import (
	"context"
	"sync"
)

// keyLocks is a set of per-key locks within one process whose waiters give
// up when their context ends. Lock takes one before the advisory lock, so a
// process keeps at most one connection per key waiting in PostgreSQL.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	held chan struct{} // holds one element while the lock is taken
	refs int           // holders and waiters; the entry is dropped at zero
}

// lock takes key's lock, or returns ctx.Err() once ctx ends. The returned
// unlock is safe to call more than once.
func (l *keyLocks) lock(ctx context.Context, key string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[string]*keyLock)
	}
	kl := l.m[key]
	if kl == nil {
		kl = &keyLock{held: make(chan struct{}, 1)}
		l.m[key] = kl
	}
	kl.refs++
	l.mu.Unlock()
	select {
	case kl.held <- struct{}{}:
	case <-ctx.Done():
		l.release(key, kl)
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-kl.held
			l.release(key, kl)
		})
	}, nil
}

func (l *keyLocks) release(key string, kl *keyLock) {
	l.mu.Lock()
	kl.refs--
	if kl.refs == 0 {
		delete(l.m, key)
	}
	l.mu.Unlock()
}
