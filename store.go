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
