package snapauth

import (
	"context"
	"fmt"
	"sync"

	"github.com/snapauth/snapauth/internal/keylock"
	"golang.org/x/oauth2"
)

// MemoryStore is a TokenStore in the process's memory, for tests and for a
// single process that needs no persistence. It keeps an encoded copy of each
// token (as MarshalToken does), so neither the caller's token nor a loaded
// token shares anything with what the store holds. It implements Locker with
// a per-key lock inside the process. The zero value is not usable: call
// NewMemoryStore. Its String method does not print tokens.
type MemoryStore struct {
	s *memoryState // behind a pointer, so that no format verb can print tokens
}

type memoryState struct {
	mu     sync.RWMutex
	tokens map[string][]byte
	locks  keylock.Set
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{s: &memoryState{tokens: make(map[string][]byte)}}
}

// Load returns a copy of the token stored under key, or ErrNoToken.
func (m *MemoryStore) Load(ctx context.Context, key string) (*oauth2.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.s.mu.RLock()
	data, ok := m.s.tokens[key]
	m.s.mu.RUnlock()
	if !ok {
		return nil, ErrNoToken
	}
	return UnmarshalToken(data)
}

// Save stores a copy of t under key. It fails as MarshalToken does.
func (m *MemoryStore) Save(ctx context.Context, key string, t *oauth2.Token) error {
	data, err := marshalToSave(ctx, t)
	if err != nil {
		return err
	}
	m.s.mu.Lock()
	m.s.tokens[key] = data
	m.s.mu.Unlock()
	return nil
}

// marshalToSave is the stored form of t (MarshalToken), unless ctx is
// already done: the start of a store's Save.
func marshalToSave(ctx context.Context, t *oauth2.Token) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return MarshalToken(t)
}

// Delete removes the token stored under key; with old not nil, only while
// the store holds that same token (TokenDeleter). It does not take key's
// lock, so a holder of the lock may call it.
func (m *MemoryStore) Delete(ctx context.Context, key string, old *oauth2.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	data, ok := m.s.tokens[key]
	if !ok {
		return nil
	}
	if old != nil {
		if cur, err := UnmarshalToken(data); err != nil || !sameToken(cur, old) {
			return nil
		}
	}
	delete(m.s.tokens, key)
	return nil
}

// Lock takes key's lock within this process, waiting until it is free or
// ctx ends (then it returns an error wrapping ctx.Err()). unlock is safe to
// call more than once.
func (m *MemoryStore) Lock(ctx context.Context, key string) (unlock func(), err error) {
	unlock, err = m.s.locks.Lock(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("snapauth: waiting for a token lock: %w", err)
	}
	return unlock, nil
}

// String describes the store without its tokens.
func (m *MemoryStore) String() string {
	m.s.mu.RLock()
	defer m.s.mu.RUnlock()
	return fmt.Sprintf("snapauth.MemoryStore(%d tokens)", len(m.s.tokens))
}

// GoString is String, for the %#v verb.
func (m *MemoryStore) GoString() string { return m.String() }
