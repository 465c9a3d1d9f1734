package snapauth

import (
	"context"
	"crypto"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// B2B2CConfig describes how to obtain SNAP B2B2C (customer) access tokens
// from one provider, service code 74: an authorization code from the
// account-binding page is exchanged for an access token and a refresh token,
// and the refresh token renews the access token. Refresh tokens rotate and
// are single use, so the sources of this config always refresh with the
// newest refresh token, never twice at once, and save the rotated token to
// their TokenStore before handing out the access token.
// A B2B2CConfig must not be changed after its first use.
type B2B2CConfig struct {
	// Partner, if not nil, supplies ClientKey, PrivateKey, PartnerID,
	// HTTPClient and Provider when they are left empty here.
	Partner *Partner

	// TokenURL is the full URL of the provider's access-token/b2b2c endpoint.
	// It must use https unless its host is loopback or AllowInsecureHTTP is set.
	TokenURL string
	// ClientKey is the partner's client id, sent as X-CLIENT-KEY.
	ClientKey string
	// PrivateKey signs ClientKey|X-TIMESTAMP with SHA256withRSA.
	PrivateKey crypto.Signer

	// AuthURL is the provider's account-binding ("get auth code") page, used
	// by AuthCodeURL. Empty if the provider's binding happens elsewhere.
	AuthURL string
	// PartnerID is sent as partnerId to the account-binding page, and as
	// X-PARTNER-ID on token requests when Provider.TokenHeaders names it.
	PartnerID string
	// ChannelID is sent as CHANNEL-ID on token requests and as channelId to
	// the binding page when the Provider asks for them (DANA); a request
	// that needs it while it is empty is refused. Otherwise it is not used.
	ChannelID string
	// Origin is sent as ORIGIN on token requests when
	// Provider.TokenHeaders names it. Otherwise it is not used.
	Origin string
	// RedirectURL is where the account-binding page sends the customer back.
	RedirectURL string
	// Scopes are the consents asked of the customer on the binding page.
	Scopes []string

	// HTTPClient sends the token requests. Nil means the client in the
	// context under oauth2.HTTPClient, else http.DefaultClient.
	HTTPClient *http.Client
	// Provider holds the provider's deviations: grant-type casing, whether
	// authCode rides along on refresh, timestamp layout, signature encoding.
	// The zero value is the standard.
	Provider Provider
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// EarlyRefresh is how long before its expiry a cached access token is
	// renewed. Zero means 10% of its lifetime or 60 s, whichever is smaller.
	EarlyRefresh time.Duration
	// MaxRetries is how often a request that provably never reached the
	// provider is retried (authorization codes and refresh tokens are single
	// use, so nothing else is retried). Zero means DefaultMaxRetries; a
	// negative value disables retries.
	MaxRetries int
	// Backoff is the wait before each retry. Nil means DefaultBackoff.
	Backoff Backoff
	// FetchTimeout bounds one refresh of a cached source, and every
	// caller's wait for it, even when the signer or the HTTP transport
	// ignores its context. Zero means DefaultFetchTimeout.
	FetchTimeout time.Duration
	// AllowInsecureHTTP permits a plain http TokenURL on a non-loopback host.
	AllowInsecureHTTP bool
	// Observer, if not nil, is told what the config's sources and calls do:
	// tokens fetched, renewed, failed and retried, store locks and saves
	// (see Event). Nil reports nothing.
	Observer Observer
}

// exchanger is the token-endpoint exchange of this config. B2BConfig and
// B2B2CConfig declare the fields they share each on their own, rather than
// embed a common struct, so that composite literals such as
// B2BConfig{TokenURL: ..., ClientKey: ...} keep working (promoted fields
// cannot be named in a literal); Partner.exchanger is the one place that
// turns either into an exchange.
func (c *B2B2CConfig) exchanger() *exchanger {
	return c.Partner.exchanger(exchanger{
		tokenURL: c.TokenURL, clientKey: c.ClientKey, key: c.PrivateKey, client: c.HTTPClient,
		provider: c.Provider, now: c.Now, maxRetries: c.MaxRetries, backoff: c.Backoff,
		allowHTTP: c.AllowInsecureHTTP,
		obs:       c.observer(""),
		headers:   tokenHeaders{c.PartnerID, c.ChannelID, c.Origin},
	})
}

// Exchange trades an authorization code from the account-binding redirect
// for a customer token with a refresh token. Save the token (TokenStore.Save)
// under the key a StoredTokenSource will use. When the Provider has
// AuthCodeOnRefresh (Finnet), the token keeps authCode for its refreshes
// (TokenAuthCode), and stores keep it with the token. A provider's refusal
// is an *Error.
func (c *B2B2CConfig) Exchange(ctx context.Context, authCode string) (*oauth2.Token, error) {
	if authCode == "" {
		return nil, errors.New("snapauth: authorization code is empty")
	}
	x := c.exchanger()
	if x.provider.AuthCodeOnRefresh {
		x.keep = []keptExtra{keepAuthCode(authCode)}
	}
	return x.exchange(ctx, tokenRequest{
		GrantType: x.provider.GrantType("authorization_code"),
		AuthCode:  &authCode,
	})
}

// Refresh renews a customer token with refreshToken, once. The answer
// carries a new refresh token: the one given is spent. If the provider
// rejects the refresh token the error matches ErrReauthorize (and is also an
// *Error): the customer must link the account again. A Provider with
// AuthCodeOnRefresh (Finnet) wants the authorization code as well, which a
// bare refresh token does not carry: Refresh then fails without a request,
// and RefreshWithAuthCode (or a token source) does the refresh.
func (c *B2B2CConfig) Refresh(ctx context.Context, refreshToken string) (*oauth2.Token, error) {
	return c.RefreshWithAuthCode(ctx, refreshToken, "")
}

// RefreshWithAuthCode is Refresh for a Provider with AuthCodeOnRefresh
// (Finnet): it sends authCode, the customer's authorization code from the
// account binding (TokenAuthCode of the token from Exchange), with the
// refresh token, and the new token keeps it for the next refresh. Finnet's
// published B2B2C table is the evidence: authCode mandatory, at least one
// character, on both grants; that it must be the original code is inferred
// (the page does not say which code). An empty authCode is an error, never
// sent. Without AuthCodeOnRefresh, authCode is neither sent nor kept.
func (c *B2B2CConfig) RefreshWithAuthCode(ctx context.Context, refreshToken, authCode string) (*oauth2.Token, error) {
	if refreshToken == "" {
		return nil, fmt.Errorf("%w (no refresh token)", ErrReauthorize)
	}
	x := c.exchanger()
	req := tokenRequest{GrantType: x.provider.GrantType("refresh_token"), RefreshToken: refreshToken}
	if x.provider.AuthCodeOnRefresh {
		if authCode == "" {
			return nil, ErrNoAuthCode
		}
		req.AuthCode = &authCode
		x.keep = []keptExtra{keepAuthCode(authCode)}
	}
	tok, err := x.exchange(ctx, req)
	var apiErr *Error
	if errors.As(err, &apiErr) && refreshRejected(apiErr) {
		return nil, fmt.Errorf("%w: %w", ErrReauthorize, apiErr)
	}
	return tok, err
}

// refreshRejected reports whether a provider's answer to a refresh says the
// refresh token itself is no good (401 cases 01-04, 403, 404), rather than
// the request's signature or clock (401 case 00), which re-linking the
// customer's account would not mend.
func refreshRejected(e *Error) bool {
	switch e.status() {
	case http.StatusUnauthorized:
		return errors.Is(e, ErrInvalidToken)
	case http.StatusForbidden, http.StatusNotFound:
		return true
	}
	return false
}

// refreshGrant returns the grant of one source: it renews old with its
// refresh token, refusing without a request when that refresh token is known
// to have expired or was already refused, so that a source whose customer
// must link again does not ask the provider on every call.
func (c *B2B2CConfig) refreshGrant() grantFunc {
	var refused atomic.Pointer[string]
	return func(ctx context.Context, old *oauth2.Token) (*oauth2.Token, error) {
		if old == nil {
			return nil, ErrNotLinked
		}
		if old.RefreshToken == "" {
			return nil, fmt.Errorf("%w (no refresh token held)", ErrReauthorize)
		}
		if exp := RefreshTokenExpiry(old); !exp.IsZero() && !nowFunc(c.Now)().Before(exp) {
			return nil, fmt.Errorf("%w (refresh token expired at %s)", ErrReauthorize, exp.Format(time.RFC3339))
		}
		if c.Partner.provider(c.Provider).AuthCodeOnRefresh && TokenAuthCode(old) == "" {
			return nil, fmt.Errorf("%w (%w)", ErrReauthorize, ErrNoAuthCode)
		}
		if r := refused.Load(); r != nil && *r == old.RefreshToken {
			return nil, fmt.Errorf("%w (the provider already refused this refresh token)", ErrReauthorize)
		}
		tok, err := c.RefreshWithAuthCode(ctx, old.RefreshToken, TokenAuthCode(old))
		if errors.Is(err, ErrReauthorize) {
			refused.Store(&old.RefreshToken)
		}
		return tok, err
	}
}

// TokenSource returns a cached source of customer access tokens starting
// from t (as returned by Exchange), refreshing it before it expires with the
// newest refresh token, one refresh at a time. The rotated token lives only
// in memory: use StoredTokenSource to keep it across restarts.
// The source implements ContextTokenSource and TokenInvalidator.
func (c *B2B2CConfig) TokenSource(ctx context.Context, t *oauth2.Token) oauth2.TokenSource {
	f := freshness{now: c.Now, early: c.EarlyRefresh}
	return newCachedSource(ctx, storedFetch(nil, "", f, c.refreshGrant()), f, c.FetchTimeout, t).observed(c.observer(""))
}

// StoredTokenSource returns a cached source of customer access tokens kept in
// store under key (save the token from Exchange there first). Before each
// refresh it reads the store, since another replica may have refreshed; with
// a store that implements Locker, refreshes of key are serialised across
// processes, so a rotating refresh token is never spent twice. The rotated
// token is saved before the access token is handed out; if that save fails
// the error is a *StoreError holding the new token.
func (c *B2B2CConfig) StoredTokenSource(ctx context.Context, store TokenStore, key string) oauth2.TokenSource {
	f := freshness{now: c.Now, early: c.EarlyRefresh}
	return newCachedSource(ctx, storedFetch(store, key, f, c.refreshGrant()), f, c.FetchTimeout, nil).observed(c.observer(key))
}

// AuthCodeURL returns the URL of the provider's account-binding page
// (AuthURL) asking the customer to consent, with partnerId, redirectUrl,
// scopes and state, and the parameters Provider.AuthCodeParams names (DANA:
// timestamp, externalId, channelId). state should be unguessable (crypto/rand.Text) and kept
// to check the redirect with AuthCodeFromRedirect. extra adds or overrides
// parameters (seamlessData, lang, ...).
func (c *B2B2CConfig) AuthCodeURL(state string, extra url.Values) (string, error) {
	u, err := url.Parse(c.AuthURL)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "", errors.New("snapauth: AuthURL is not set to an absolute URL")
	}
	q := u.Query()
	q.Set("partnerId", c.partnerID())
	q.Set("redirectUrl", c.RedirectURL)
	if len(c.Scopes) > 0 {
		q.Set("scopes", strings.Join(c.Scopes, ","))
	}
	q.Set("state", state)
	if err := c.addAuthCodeParams(q); err != nil {
		return "", err
	}
	for k, v := range extra {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (c *B2B2CConfig) partnerID() string {
	if c.PartnerID != "" || c.Partner == nil {
		return c.PartnerID
	}
	return c.Partner.PartnerID
}

// Errors of AuthCodeFromRedirect.
var (
	// ErrStateMismatch means the redirect's state is not the one sent: the
	// redirect may be forged, and its code must not be used.
	ErrStateMismatch = errors.New("snapauth: account-binding redirect has the wrong state")
	// ErrAccessDenied means the customer declined, or the provider refused,
	// the account binding.
	ErrAccessDenied = errors.New("snapauth: account binding was denied")
)

// AuthCodeFromRedirect reads the account-binding redirect u (in a handler,
// r.URL), checks its state against the one sent (in constant time) and
// returns the authorization code to pass to Exchange.
func (c *B2B2CConfig) AuthCodeFromRedirect(u *url.URL, state string) (string, error) {
	q := u.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 || state == "" {
		return "", ErrStateMismatch
	}
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("%w: %s", ErrAccessDenied, e)
	}
	code := q.Get("authCode")
	if code == "" {
		code = q.Get("auth_code")
	}
	if code == "" {
		return "", errors.New("snapauth: account-binding redirect has no authCode")
	}
	return code, nil
}

// Format writes the config with its private key redacted, for every verb.
func (c B2B2CConfig) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "snapauth.B2B2CConfig{TokenURL: %q, ClientKey: %q, PrivateKey: %s, Provider: %q}",
		shownURL(c.TokenURL), c.ClientKey, redactedKey(c.PrivateKey), c.Provider.Name)
}
