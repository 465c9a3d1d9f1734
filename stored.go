package snapauth

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"
)

// grantFunc renews a token; old is the newest known token (nil if none).
type grantFunc func(ctx context.Context, old *oauth2.Token) (*oauth2.Token, error)

// storedFetch builds the fetch of a source backed by a TokenStore (or, with
// a nil store, by the source's own memory). It reads the store first, since
// another replica may have renewed the token; on a miss it locks the key if
// the store can, reads again, renews only if still needed, and saves before
// returning.
func storedFetch(store TokenStore, key string, f freshness, grant grantFunc) fetchFunc {
	return func(ctx context.Context, last *oauth2.Token, rejected string) (*oauth2.Token, error) {
		usable := func(t *oauth2.Token) bool {
			return t != nil && t.AccessToken != rejected && f.fresh(t)
		}
		if store == nil {
			if usable(last) {
				return last, nil
			}
			return grant(ctx, last)
		}
		load := func() (*oauth2.Token, error) {
			t, err := store.Load(ctx, key)
			if errors.Is(err, ErrNoToken) {
				return newest(nil, last), nil
			}
			if err != nil {
				return nil, fmt.Errorf("snapauth: loading token %q: %w", key, err)
			}
			return newest(t, last), nil
		}
		t, err := load()
		if err != nil {
			return nil, err
		}
		if usable(t) {
			return t, nil
		}
		if l, ok := store.(Locker); ok {
			unlock, err := observedLock(ctx, l, key)
			if err != nil {
				return nil, fmt.Errorf("snapauth: locking token %q: %w", key, err)
			}
			defer unlock()
			if t, err = load(); err != nil {
				return nil, err
			}
			if usable(t) {
				return t, nil
			}
		}
		if t != nil && rejected != "" && t.AccessToken == rejected {
			t = dropRejected(ctx, store, key, t)
		}
		nt, err := grant(ctx, t)
		if err != nil {
			return nil, forgetRefused(ctx, store, key, t, err)
		}
		if err := observedSave(ctx, store, key, nt); err != nil {
			return nil, &StoreError{Key: key, Token: nt, Err: err}
		}
		return nt, nil
	}
}

// newest returns whichever of a and b expires later: the store's copy, or
// the one this process holds if the store lost an update.
func newest(a, b *oauth2.Token) *oauth2.Token {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case b.Expiry.After(a.Expiry):
		return b
	}
	return a
}
