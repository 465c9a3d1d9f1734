package snapauth

import (
	"context"
	"crypto"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// B2BConfig describes how to obtain SNAP B2B access tokens (grant
// client_credentials, service code 73) from one provider. Its zero-valued
// optional fields mean the documented defaults. A B2BConfig must not be
// changed after its first use.
type B2BConfig struct {
	// Partner, if not nil, supplies ClientKey, PrivateKey, HTTPClient and
	// Provider when they are left empty here, and the Transport of Client.
	Partner *Partner

	// TokenURL is the full URL of the provider's access-token/b2b endpoint,
	// prefix included, e.g. https://snap.example.co.id/snap/v1.0/access-token/b2b.
	// It must use https unless its host is loopback or AllowInsecureHTTP is set.
	TokenURL string
	// ClientKey is the partner's client id, sent as X-CLIENT-KEY.
	ClientKey string
	// PrivateKey signs ClientKey|X-TIMESTAMP with SHA256withRSA. Any
	// crypto.Signer holding an RSA key works (see ParsePrivateKey).
	PrivateKey crypto.Signer

	// AdditionalInfo, if not nil, is sent as the request's additionalInfo
	// object.
	AdditionalInfo map[string]any
	// PartnerID, ChannelID and Origin are sent as X-PARTNER-ID, CHANNEL-ID
	// and ORIGIN on token requests when Provider.TokenHeaders names them
	// (DANA wants the first two); the request is refused before it is sent
	// if a named one is empty. Otherwise they are not used.
	PartnerID, ChannelID, Origin string
	// HTTPClient sends the token requests. Nil means the client in the
	// context under oauth2.HTTPClient, else http.DefaultClient.
	HTTPClient *http.Client
	// Provider holds the provider's deviations from the standard (timestamp
	// layout and zone, signature encoding). The zero value is the standard.
	Provider Provider
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// EarlyRefresh is how long before its expiry a cached token is renewed.
	// Zero means 10% of the token's lifetime or 60 s, whichever is smaller.
	EarlyRefresh time.Duration
	// MaxRetries is how often a failed request is retried: on 429, 5xx and
	// network errors, after Backoff or the provider's Retry-After. Zero means
	// DefaultMaxRetries; a negative value disables retries.
	MaxRetries int
	// Backoff is the wait before each retry. Nil means DefaultBackoff.
	Backoff Backoff
	// FetchTimeout bounds one fetch of a cached source, retries included; the
	// fetch runs on for other callers when one caller gives up. It bounds
	// every caller's wait too, even when the signer or the HTTP transport
	// ignores its context (then callers get an error matching ErrTemporary
	// and no second fetch starts until the stuck one returns). Zero means
	// DefaultFetchTimeout.
	FetchTimeout time.Duration
	// AllowInsecureHTTP permits a plain http TokenURL on a non-loopback host.
	AllowInsecureHTTP bool
	// Observer, if not nil, is told what the config's sources and calls do:
	// tokens fetched, renewed, failed and retried, store locks and saves
	// (see Event). Nil reports nothing.
	Observer Observer
}

func (c *B2BConfig) exchanger() *exchanger {
	return c.Partner.exchanger(exchanger{
		tokenURL: c.TokenURL, clientKey: c.ClientKey, key: c.PrivateKey, client: c.HTTPClient,
		provider: c.Provider, now: c.Now, maxRetries: c.MaxRetries, backoff: c.Backoff,
		allowHTTP: c.AllowInsecureHTTP, idempotent: true,
		obs:     c.observer(""),
		headers: tokenHeaders{c.PartnerID, c.ChannelID, c.Origin},
	})
}

func (c *B2BConfig) freshness() freshness {
	return freshness{now: c.Now, early: c.EarlyRefresh}
}

// Token fetches a new B2B access token: one exchange (with retries of
// transient failures), no cache. Use TokenSource for a cached token.
// A provider's refusal is an *Error.
func (c *B2BConfig) Token(ctx context.Context) (*oauth2.Token, error) {
	return c.exchanger().exchange(ctx, tokenRequest{
		GrantType:      c.Partner.provider(c.Provider).GrantType("client_credentials"),
		AdditionalInfo: c.AdditionalInfo,
	})
}

// TokenSource returns a source that caches the token in memory and renews it
// before it expires. The cached token is read without a lock; when it is due,
// exactly one fetch runs however many goroutines ask, callers get the
// still-valid token meanwhile, and each caller of TokenContext waiting for an
// expired one can give up on its own context. Fetches are at least
// MinRenewInterval apart. ctx supplies the HTTP client
// (oauth2.HTTPClient); its cancellation does not stop later fetches.
// The source implements ContextTokenSource and TokenInvalidator.
func (c *B2BConfig) TokenSource(ctx context.Context) oauth2.TokenSource {
	return c.StoredTokenSource(ctx, nil, "")
}

// StoredTokenSource is TokenSource backed by store under key: a token saved
// there by another process or replica is used, and a new token is saved
// before it is handed out. If the store implements Locker, renewals of key
// are serialised through it, so a fleet sharing the store fetches one token
// per expiry. A nil store keeps the token in memory only.
func (c *B2BConfig) StoredTokenSource(ctx context.Context, store TokenStore, key string) oauth2.TokenSource {
	f := c.freshness()
	grant := func(ctx context.Context, _ *oauth2.Token) (*oauth2.Token, error) { return c.Token(ctx) }
	return newCachedSource(ctx, storedFetch(store, key, f, grant), f, c.FetchTimeout, nil).observed(c.observer(key))
}

// Format writes the config with its private key redacted, for every verb.
func (c B2BConfig) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "snapauth.B2BConfig{TokenURL: %q, ClientKey: %q, PrivateKey: %s, Provider: %q}",
		shownURL(c.TokenURL), c.ClientKey, redactedKey(c.PrivateKey), c.Provider.Name)
}

func redactedKey(k crypto.Signer) string {
	if k == nil {
		return "nil"
	}
	return "[redacted]"
}
