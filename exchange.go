package snapauth

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/snapauth/snapauth/internal/hostcheck"
	"golang.org/x/oauth2"
)

// exchanger performs the one token-endpoint exchange both flows share.
type exchanger struct {
	tokenURL   string
	clientKey  string
	key        crypto.Signer
	client     *http.Client
	provider   Provider
	now        func() time.Time
	maxRetries int
	backoff    Backoff
	allowHTTP  bool
	// idempotent says the grant may be sent again after a failure that
	// reached the provider (client_credentials); otherwise a request is only
	// repeated when it provably never left this process.
	idempotent bool
	obs        observer     // reports retries, and outcomes outside a cached source
	headers    tokenHeaders // the provider's extra token-request headers
	keep       []keptExtra  // added to the answer's extras
}

// tokenRequest is the JSON body of a SNAP token request.
type tokenRequest struct {
	GrantType      string         `json:"grantType"`
	AuthCode       *string        `json:"authCode,omitempty"`
	RefreshToken   string         `json:"refreshToken,omitempty"`
	AdditionalInfo map[string]any `json:"additionalInfo,omitempty"`
}

// secrets returns what the request carries that must never appear in an
// error: the refresh token and the authorization code.
func (r tokenRequest) secrets() []string {
	s := []string{r.RefreshToken}
	if r.AuthCode != nil {
		s = append(s, *r.AuthCode)
	}
	return s
}

func httpClient(ctx context.Context, c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	if c, ok := ctx.Value(oauth2.HTTPClient).(*http.Client); ok && c != nil {
		return c
	}
	return http.DefaultClient
}

// nowFunc returns now, or time.Now when now is nil: the clock of a config
// whose Now field is now.
func nowFunc(now func() time.Time) func() time.Time {
	if now != nil {
		return now
	}
	return time.Now
}

// positiveOr returns v if it is positive, else def: the value of a limit
// whose zero (or negative) value means its default.
func positiveOr[T ~int64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// checkTokenURL refuses a token URL that would send the signed request in
// clear text over the network.
func checkTokenURL(raw string, allowHTTP bool) error {
	if raw == "" {
		return errors.New("snapauth: TokenURL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("snapauth: TokenURL %q is not an absolute URL", shownURL(raw))
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowHTTP || hostcheck.IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("snapauth: TokenURL %q uses plain http; use https, or set AllowInsecureHTTP for a test provider", shownURL(raw))
	}
	return fmt.Errorf("snapauth: TokenURL %q: scheme must be https", shownURL(raw))
}

// shownURL is raw as error texts and Format show it: without the query or
// password, where a user may have put a secret.
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[invalid URL]"
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	u.Fragment, u.RawFragment = "", ""
	return u.Redacted()
}

// exchange sends one token request, retrying as the grant allows, and
// returns the token or an error.
func (x *exchanger) exchange(ctx context.Context, req tokenRequest) (tok *oauth2.Token, err error) {
	ev := x.events(ctx, req.GrantType)
	defer ev.done(&tok, &err)
	if err := checkTokenURL(x.tokenURL, x.allowHTTP); err != nil {
		return nil, err
	}
	if x.clientKey == "" {
		return nil, errors.New("snapauth: ClientKey is empty")
	}
	if x.key == nil {
		return nil, errors.New("snapauth: PrivateKey is nil")
	}
	if err := x.provider.Validate(); err != nil {
		return nil, err
	}
	if err := x.headers.check(x.provider); err != nil {
		return nil, err
	}
	body, contentType, err := x.provider.encodeTokenRequest(req)
	if err != nil {
		return nil, err
	}
	retries := x.maxRetries
	if retries == 0 {
		retries = DefaultMaxRetries
	}
	backoff := x.backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	for attempt := 0; ; attempt++ {
		ev.sending(attempt + 1)
		tok, sent, err := x.once(ctx, body, contentType)
		err = redactError(err, req.secrets()...)
		if err == nil || attempt >= retries || ctx.Err() != nil || !x.retryable(err, sent) {
			return tok, err
		}
		wait := backoff(attempt + 1)
		var apiErr *Error
		if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
			wait = apiErr.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, err // the wait would outlast the caller
		}
		ev.retry(wait, err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

func (x *exchanger) retryable(err error, sent bool) bool {
	if !errors.Is(err, ErrTemporary) {
		return false
	}
	return x.idempotent || !sent
}

// once makes one attempt. sent reports whether the request may have reached
// the provider (a connection was obtained for it).
func (x *exchanger) once(ctx context.Context, body []byte, contentType string) (tok *oauth2.Token, sent bool, err error) {
	ts := x.provider.Timestamp(x.now())
	sig, err := signRSA(x.key, TokenStringToSign(x.clientKey, ts))
	if err != nil {
		return nil, false, err
	}
	var gotConn atomic.Bool
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) }}
	hreq, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, x.tokenURL, bytes.NewReader(body))
	if err != nil {
		return nil, false, fmt.Errorf("snapauth: token request: %w", err)
	}
	hreq.Header.Set("Content-Type", contentType)
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("X-TIMESTAMP", ts)
	hreq.Header.Set("X-CLIENT-KEY", x.clientKey)
	hreq.Header.Set("X-SIGNATURE", x.provider.EncodeSignature(sig))
	x.headers.set(x.provider, hreq.Header)
	resp, err := tokenClient(httpClient(ctx, x.client)).Do(hreq)
	if err != nil {
		if re := (*redirectError)(nil); errors.As(err, &re) {
			return nil, gotConn.Load(), re
		}
		if ctx.Err() != nil {
			return nil, gotConn.Load(), fmt.Errorf("snapauth: token request: %w", context.Cause(ctx))
		}
		return nil, gotConn.Load(), &fetchError{err: redactURLError(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, true, &fetchError{err: err}
	}
	tok, err = parseTokenAnswer(resp.StatusCode, resp.Header, data, x.now(), x.keep...)
	return tok, true, err
}

// redactURLError drops the query of a *url.Error's URL; token URLs carry no
// secrets by SNAP's rules, but a user may have put one there.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.RawQuery != "" {
			u.RawQuery = "…"
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}
