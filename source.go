package snapauth

import (
	"context"
	"math/rand/v2"
	"time"

	"golang.org/x/oauth2"
)

// ContextTokenSource is a token source that can honour a caller's context.
// The sources of this package implement it; Transport uses it to pass the
// request's context, so that a caller can give up waiting for a token.
type ContextTokenSource interface {
	oauth2.TokenSource
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// TokenInvalidator is a token source that can be told a token was rejected by
// the provider. Invalidate drops t if it is still the cached token, so the
// next call fetches a fresh one; it does nothing if t was already replaced.
// The sources of this package implement it; Transport calls it on a 401 that
// says the token is invalid.
type TokenInvalidator interface {
	Invalidate(t *oauth2.Token)
}

// Defaults of the optional configuration fields.
const (
	// DefaultFetchTimeout bounds one token fetch, retries included, when the
	// config's FetchTimeout is zero.
	DefaultFetchTimeout = 30 * time.Second
	// DefaultMaxRetries is the number of retries of a failed token request
	// when the config's MaxRetries is zero.
	DefaultMaxRetries = 2
	// DefaultLifetime is assumed for a token whose answer gives no expiry.
	DefaultLifetime = 15 * time.Minute
	// MinRenewInterval bounds how often a cached source fetches: a fetch
	// starts at least MinRenewInterval after the previous one started, and a
	// token just fetched is handed out for at least MinRenewInterval, even
	// one that is due on arrival (an expiry in the past, a lifetime shorter
	// than the early-refresh margin, a local clock ahead of the provider's).
	// So no token answer, failure or rejection can make a source fetch (or,
	// for B2B2C, rotate its refresh token) in a tight loop: at most one
	// fetch per source per MinRenewInterval.
	MinRenewInterval = time.Second
	// MaxLifetime is the longest lifetime a token is given: an expiresIn or
	// accessTokenExpiryTime further away than that is read as MaxLifetime
	// from now, so that an absurd value can neither overflow into an expiry
	// in the past nor keep a token forever.
	MaxLifetime = 366 * 24 * time.Hour
)

// Backoff returns how long to wait before retry number attempt (1 for the
// first retry). A nil Backoff in a config means DefaultBackoff. A provider's
// Retry-After, when present, is honoured instead.
type Backoff func(attempt int) time.Duration

// DefaultBackoff waits a random time between zero and 250ms·2^(attempt-1),
// capped at 5 s ("full jitter"), so that a fleet does not retry in step.
func DefaultBackoff(attempt int) time.Duration {
	d := 250 * time.Millisecond << min(attempt-1, 5)
	return rand.N(min(d, 5*time.Second)) + time.Millisecond
}
