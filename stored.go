package snapauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2"
)

// grantFunc renews a token; old is the newest known token (nil if none).
type grantFunc func(ctx context.Context, old *oauth2.Token) (*oauth2.Token, error)

// storedFetch builds the fetch of a source backed by a TokenStore (or, with
// a nil store, by the source's own memory). It reads the store first, since
// another replica may have renewed the token; on a miss it locks the key if
// the store can, reads again, renews only if still needed, and saves before
// returning.
//
// Tokens are ordered by SequenceExtra, bumped for each new token, never by
// their expiry. Before a refresh token is sent, the token is saved marked
// with RefreshingExtra; if that save fails, nothing is sent. The rotated
// token's save is retried with backoff under the lock; if it still fails,
// the marker stays in the store, and no other replica sends the refresh
// token that this one already spent.
func storedFetch(store TokenStore, key string, f freshness, grant grantFunc) fetchFunc {
	self := newReplicaID()
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
		seq := sequence(t)
		if seq == 0 {
			seq = chainStart(time.Now())
		}
		rotating := t != nil && t.RefreshToken != ""
		if rotating {
			if since, busy := inFlight(t, self, f.clock()); busy {
				return nil, &refreshInFlightError{key: key, since: since}
			}
			t = withOrder(t, seq, marker(self, f.clock()))
			if err := store.Save(ctx, key, t); err != nil {
				return nil, fmt.Errorf("snapauth: token %q not refreshed: marking the refresh in the store failed, so the refresh token was not sent: %w", key, err)
			}
		}
		nt, err := grant(ctx, t)
		if err != nil {
			if rotating && answered(err) && !errors.Is(err, ErrReauthorize) {
				// No new token exists anywhere: let any replica refresh.
				_ = store.Save(ctx, key, withOrder(t, seq, ""))
			}
			// A refused refresh token leaves the store (forgetRefused).
			return nil, forgetRefused(ctx, store, key, t, err)
		}
		nt = withOrder(nt, seq+1, "")
		save := func(ctx context.Context, key string, t *oauth2.Token) error { return observedSave(ctx, store, key, t) }
		if rotating {
			save = func(ctx context.Context, key string, t *oauth2.Token) error { return saveRotated(ctx, store, key, t) }
		}
		if err := save(ctx, key, nt); err != nil {
			return nil, &StoreError{Key: key, Token: nt, Err: err}
		}
		return nt, nil
	}
}

// answered reports whether a failed refresh is known to have left no new
// token behind: the provider answered with an error, or the refresh was
// refused before it was sent.
func answered(err error) bool {
	var e *Error
	return errors.As(err, &e) || errors.Is(err, ErrReauthorize)
}
