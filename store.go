package snapauth

import (
	"context"
	"errors"

	"golang.org/x/oauth2"
)

// ErrNoToken is returned by TokenStore.Load when the store holds no token
// under the key.
var ErrNoToken = errors.New("snapauth: no token stored")

// TokenStore keeps tokens under string keys, so that they survive restarts
// and are shared by every replica of a service. Implementations must be safe
// for concurrent use and must keep every field of the token: AccessToken,
// TokenType, RefreshToken, Expiry, ExpiresIn and the extras listed in
// StoredExtras.
type TokenStore interface {
	// Load returns the token stored under key, or ErrNoToken.
	Load(ctx context.Context, key string) (*oauth2.Token, error)
	// Save stores t under key, replacing any token there.
	Save(ctx context.Context, key string, t *oauth2.Token) error
}

// Locker is implemented by a TokenStore that can serialise the refreshes of
// one key, across goroutines and, for shared stores, across processes.
// Lock blocks until the key's lock is held or ctx ends; the returned unlock
// releases it and is safe to call more than once.
type Locker interface {
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// A TokenDeleter is a TokenStore that can remove tokens: a customer unlinked, or tokens the provider refused.
type TokenDeleter interface {
	// Delete removes the token stored under key. When old is not nil it removes it only while the
	// store still holds that same token (same AccessToken and RefreshToken), so a newer token saved
	// by another replica survives. A key that is absent, or that holds another token, is not an error.
	Delete(ctx context.Context, key string, old *oauth2.Token) error
}

// sameToken reports whether a and b are the same token for TokenDeleter:
// the same access token and the same refresh token.
func sameToken(a, b *oauth2.Token) bool {
	return a != nil && b != nil && a.AccessToken == b.AccessToken && a.RefreshToken == b.RefreshToken
}
