package snapauth

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// Sentinel errors for the conditions callers branch on. A *Error matches them
// with errors.Is according to its HTTP status and SNAP case code.
var (
	// ErrUnauthorized matches a 401 whose SNAP case is 00: "Unauthorized.
	// [reason]", most often a signature, timestamp or client-key problem.
	ErrUnauthorized = errors.New("snapauth: unauthorized")
	// ErrInvalidToken matches a 401 saying the access token or customer token
	// is invalid or unknown (cases 01 to 04).
	ErrInvalidToken = errors.New("snapauth: invalid or unknown token")
	// ErrRateLimited matches a 429 Too Many Requests.
	ErrRateLimited = errors.New("snapauth: rate limited")
	// ErrServerError matches a 5xx answer.
	ErrServerError = errors.New("snapauth: provider server error")
	// ErrTemporary matches every failure worth trying again later: 429, 5xx,
	// and network errors on the way to the provider.
	ErrTemporary = errors.New("snapauth: temporary failure")
	// ErrReauthorize means the customer's refresh token is expired or was
	// rejected: the customer must link the account again to get a new
	// authorization code.
	ErrReauthorize = errors.New("snapauth: refresh token expired or rejected; the customer must link the account again")
)

// Error is a failure answered by a SNAP provider: a non-2xx status, a
// responseCode that is not a success, or a success without a token. Its text
// holds the status and the SNAP code and message, never a secret.
type Error struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// ResponseCode is the 7-character SNAP code (HTTP status, service code,
	// case code), or "" when the answer had none.
	ResponseCode string
	// ResponseMessage is the provider's responseMessage (or
	// responseDescription), or a short description of a non-JSON answer.
	ResponseMessage string
	// ServiceCode is characters 4-5 of ResponseCode ("73" for B2B tokens).
	ServiceCode string
	// CaseCode is characters 6-7 of ResponseCode ("01" for an invalid token).
	CaseCode string
	// RetryAfter is the provider's Retry-After, zero when absent.
	RetryAfter time.Duration
	// Body is the raw answer, at most 64 KiB of it. It is not part of the
	// error text.
	Body []byte
}

// Error returns "snapauth: <status>: <code> <message>". It has a value
// receiver so that an Error printed by value shows this text too, never the
// fields (Body may echo a secret of the request).
func (e Error) Error() string {
	msg := "snapauth: " + strconv.Itoa(e.StatusCode) + " " + http.StatusText(e.StatusCode)
	if e.ResponseCode != "" {
		msg += ": " + e.ResponseCode
	}
	if e.ResponseMessage != "" {
		msg += " " + e.ResponseMessage
	}
	return msg
}

// GoString is the %#v form: the fields with Body's length only, since a
// provider's answer may echo a refresh token or an authorization code.
func (e Error) GoString() string {
	return fmt.Sprintf("snapauth.Error{StatusCode:%d, ResponseCode:%q, ResponseMessage:%q, ServiceCode:%q, CaseCode:%q, RetryAfter:%d, Body:[]byte{ /* %d bytes, not printed */ }}",
		e.StatusCode, e.ResponseCode, e.ResponseMessage, e.ServiceCode, e.CaseCode, e.RetryAfter, len(e.Body))
}

// Is reports whether e matches one of the package's sentinel errors.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.status() == http.StatusUnauthorized && (e.CaseCode == "00" || e.CaseCode == "")
	case ErrInvalidToken:
		return e.status() == http.StatusUnauthorized && e.CaseCode >= "01" && e.CaseCode <= "04"
	case ErrRateLimited:
		return e.status() == http.StatusTooManyRequests
	case ErrServerError:
		return e.status() >= 500
	case ErrTemporary:
		return e.Temporary()
	}
	return false
}

// Temporary reports whether the same request may succeed later (429 or 5xx).
func (e *Error) Temporary() bool {
	s := e.status()
	return s == http.StatusTooManyRequests || s >= 500
}

// status is the HTTP status the SNAP code speaks of, which some providers
// send with an HTTP 200; without a code it is the HTTP status.
func (e *Error) status() int {
	if len(e.ResponseCode) == 7 {
		if s, err := strconv.Atoi(e.ResponseCode[:3]); err == nil {
			return s
		}
	}
	return e.StatusCode
}

// newError builds an *Error from a status and a SNAP code and message.
func newError(status int, code, message string) *Error {
	e := &Error{StatusCode: status, ResponseCode: code, ResponseMessage: message}
	if len(code) == 7 {
		e.ServiceCode, e.CaseCode = code[3:5], code[5:7]
	}
	return e
}

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

// maxAnswer is the most of a token answer that is read; a larger answer is an
// error, so an endless or hostile answer cannot exhaust memory.
const maxAnswer = 1 << 20

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

// fetchError is a failure to reach the provider at all (connection refused,
// reset, timeout). It matches ErrTemporary.
type fetchError struct{ err error }

func (e *fetchError) Error() string { return "snapauth: token request failed: " + e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }
func (e *fetchError) Is(target error) bool {
	return target == ErrTemporary
}

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
}

// tokenRequest is the JSON body of a SNAP token request.
type tokenRequest struct {
	GrantType      string         `json:"grantType"`
	AuthCode       *string        `json:"authCode,omitempty"`
	RefreshToken   string         `json:"refreshToken,omitempty"`
	AdditionalInfo map[string]any `json:"additionalInfo,omitempty"`
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

func nowFunc(now func() time.Time) func() time.Time {
	if now != nil {
		return now
	}
	return time.Now
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
		if allowHTTP || isLoopback(u.Hostname()) {
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

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// exchange sends one token request, retrying as the grant allows, and
// returns the token or an error.
func (x *exchanger) exchange(ctx context.Context, req tokenRequest) (*oauth2.Token, error) {
	if err := checkTokenURL(x.tokenURL, x.allowHTTP); err != nil {
		return nil, err
	}
	if x.clientKey == "" {
		return nil, errors.New("snapauth: ClientKey is empty")
	}
	if x.key == nil {
		return nil, errors.New("snapauth: PrivateKey is nil")
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("snapauth: token request body: %w", err)
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
		tok, err, sent := x.once(ctx, body)
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
func (x *exchanger) once(ctx context.Context, body []byte) (tok *oauth2.Token, err error, sent bool) {
	ts := x.provider.Timestamp(x.now())
	sig, err := signRSA(x.key, TokenStringToSign(x.clientKey, ts))
	if err != nil {
		return nil, err, false
	}
	var gotConn atomic.Bool
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { gotConn.Store(true) }}
	hreq, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, x.tokenURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("snapauth: token request: %w", err), false
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("X-TIMESTAMP", ts)
	hreq.Header.Set("X-CLIENT-KEY", x.clientKey)
	hreq.Header.Set("X-SIGNATURE", x.provider.EncodeSignature(sig))
	resp, err := httpClient(ctx, x.client).Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("snapauth: token request: %w", context.Cause(ctx)), gotConn.Load()
		}
		return nil, &fetchError{err: redactURLError(err)}, gotConn.Load()
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, &fetchError{err: err}, true
	}
	tok, err = parseTokenAnswer(resp.StatusCode, resp.Header, data, x.now())
	return tok, err, true
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

// parseTokenAnswer reads a token endpoint's answer, tolerant of the shapes
// providers send and strict where a wrong token would follow.
func parseTokenAnswer(status int, header http.Header, data []byte, now time.Time) (*oauth2.Token, error) {
	if len(data) > maxAnswer {
		e := newError(status, "", "answer larger than 1 MiB")
		return nil, e
	}
	fields, jsonErr := decodeObject(data)
	if e := answerError(status, header, data, fields, jsonErr, now); e != nil {
		return nil, e
	}
	code, _ := snapCode(fields)
	access, _ := fields["accessToken"].(string)
	if access == "" {
		e := newError(status, code, "answer has no accessToken")
		return nil, e
	}
	tok := &oauth2.Token{AccessToken: access, TokenType: tokenType(fields["tokenType"])}
	tok.RefreshToken, _ = fields["refreshToken"].(string)
	if at, ok := fields["accessTokenExpiryTime"].(string); ok && at != "" {
		exp, err := parseISOTime(at)
		if err != nil {
			return nil, newError(status, code, "accessTokenExpiryTime is not an ISO 8601 time")
		}
		tok.Expiry = exp
		tok.ExpiresIn = int64(exp.Sub(now).Round(time.Second) / time.Second)
	} else if secs, ok := number(fields["expiresIn"]); ok && secs > 0 {
		tok.ExpiresIn = secs
		tok.Expiry = now.Add(time.Duration(secs) * time.Second)
	} else {
		tok.ExpiresIn = int64(DefaultLifetime / time.Second)
		tok.Expiry = now.Add(DefaultLifetime)
	}
	delete(fields, "accessToken")
	delete(fields, "refreshToken")
	return tok.WithExtra(fields), nil
}

// answerError returns the *Error a SNAP answer stands for, or nil when it is
// a success: a 2xx status, a JSON object, and a responseCode that, if
// present, starts with "200". fields and jsonErr are decodeObject's result.
func answerError(status int, header http.Header, data []byte, fields map[string]any, jsonErr error, now time.Time) *Error {
	code, message := snapCode(fields)
	if status >= 200 && status <= 299 && jsonErr == nil && (code == "" || strings.HasPrefix(code, "200")) {
		return nil
	}
	if jsonErr != nil && message == "" {
		message = describeNonJSON(header, data)
	}
	e := newError(status, code, message)
	e.RetryAfter = parseRetryAfter(header.Get("Retry-After"), now)
	e.Body = data[:min(len(data), 64<<10)]
	return e
}

func decodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

// snapCode returns responseCode (string or number) and responseMessage (or
// responseDescription) of a SNAP answer.
func snapCode(fields map[string]any) (code, message string) {
	switch v := fields["responseCode"].(type) {
	case string:
		code = strings.TrimSpace(v)
	case json.Number:
		code = v.String()
	}
	for _, k := range []string{"responseMessage", "responseDescription"} {
		if m, ok := fields[k].(string); ok && m != "" {
			return code, m
		}
	}
	return code, ""
}

func describeNonJSON(header http.Header, data []byte) string {
	if len(bytes.TrimSpace(data)) == 0 {
		return "empty answer"
	}
	ct, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if ct == "" {
		ct = "unknown content type"
	}
	return "answer is not JSON (" + ct + ")"
}

// tokenType normalises "bearer", "BEARER", "BearerToken" to "Bearer".
func tokenType(v any) string {
	s, _ := v.(string)
	if s == "" || strings.HasPrefix(strings.ToLower(s), "bearer") {
		return "Bearer"
	}
	return s
}

// number reads a JSON number or a string holding one.
func number(v any) (int64, bool) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	default:
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1<<40 {
		return 0, false
	}
	return int64(f), true
}

// parseISOTime parses ISO 8601 date-times with any offset: RFC 3339, with or
// without fractional seconds, and offsets written +0700.
func parseISOTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999-0700", "2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999-07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("snapauth: %q is not an ISO 8601 time with an offset", s)
}

func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs >= 0 {
		return min(time.Duration(secs)*time.Second, time.Hour)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), time.Hour)
	}
	return 0
}

// RefreshTokenExpiry returns the expiry of t's refresh token from its
// refreshTokenExpiryTime extra, or the zero time when t has none.
func RefreshTokenExpiry(t *oauth2.Token) time.Time {
	if t == nil {
		return time.Time{}
	}
	s, _ := t.Extra("refreshTokenExpiryTime").(string)
	if s == "" {
		return time.Time{}
	}
	exp, err := parseISOTime(s)
	if err != nil {
		return time.Time{}
	}
	return exp
}

// freshness decides when a token is due for renewal.
type freshness struct {
	now   func() time.Time // nil means the real clock
	early time.Duration    // fixed margin; 0 means min(10% of the lifetime, 60 s)
}

func (f freshness) clock() time.Time {
	if f.now != nil {
		return f.now()
	}
	return time.Now()
}

func (f freshness) margin(t *oauth2.Token) time.Duration {
	if f.early > 0 {
		return f.early
	}
	if t.ExpiresIn > 0 {
		return min(time.Duration(t.ExpiresIn)*time.Second/10, time.Minute)
	}
	return 10 * time.Second
}

// fresh reports whether t can be handed out without renewing it.
func (f freshness) fresh(t *oauth2.Token) bool {
	if t == nil || t.AccessToken == "" {
		return false
	}
	if t.Expiry.IsZero() {
		return true
	}
	return f.clock().Add(f.margin(t)).Before(t.Expiry)
}

// renewAt returns when t is due for renewal. With the real clock the time
// carries a monotonic reading, so that before needs one clock read.
func (f freshness) renewAt(t *oauth2.Token) time.Time {
	now := f.clock()
	return now.Add(t.Expiry.Sub(now) - f.margin(t))
}

// before reports whether the renewal time at is still ahead. With the real
// clock it is time.Until, a single monotonic clock read: the cached-token
// hot path costs one atomic load and this.
func (f freshness) before(at time.Time) bool {
	if f.now == nil {
		return time.Until(at) > 0
	}
	return f.now().Before(at)
}

// fetchFunc obtains a new token. last is the newest token the source has
// held (nil at first), rejected the access token the provider refused, if any.
type fetchFunc func(ctx context.Context, last *oauth2.Token, rejected string) (*oauth2.Token, error)

// cachedSource hands out a cached token with one atomic load, and renews it
// with exactly one fetch however many goroutines ask at once.
type cachedSource struct {
	ctx     context.Context // values only (the HTTP client); never cancelled
	fetch   fetchFunc
	fresh   freshness
	timeout time.Duration

	cur atomic.Pointer[cachedToken] // the token handed out, nil when dropped

	mu       sync.Mutex
	call     *fetchCall    // the fetch in flight, if any
	last     *oauth2.Token // newest token ever held
	rejected string        // access token reported invalid
}

// cachedToken is a token with the time it is due for renewal.
type cachedToken struct {
	tok     *oauth2.Token
	renewAt time.Time
	forever bool // the token has no expiry
	// timed says a timer drops this entry from the source when it is due
	// (real clock only), so that while it is cached it is fresh and the hot
	// path reads no clock.
	timed bool
	timer *time.Timer // read and written with the source's mu held
}

// valid returns the cached token if it can be handed out, else nil.
func (s *cachedSource) valid() *oauth2.Token {
	c := s.cur.Load()
	if c == nil {
		return nil
	}
	if c.timed || c.forever || s.fresh.before(c.renewAt) {
		return c.tok
	}
	return nil
}

// set caches t (nil drops the cached token). It is called with s.mu held,
// or before the source is shared.
func (s *cachedSource) set(t *oauth2.Token) {
	var c *cachedToken
	var wait time.Duration
	switch {
	case t == nil:
	case t.AccessToken == "":
		c = &cachedToken{tok: t} // never valid
	case t.Expiry.IsZero():
		c = &cachedToken{tok: t, forever: true}
	default:
		c = &cachedToken{tok: t, renewAt: s.fresh.renewAt(t)}
		if s.fresh.now == nil {
			wait = time.Until(c.renewAt)
			c.timed = wait > 0
		}
	}
	if old := s.cur.Swap(c); old != nil && old.timer != nil {
		old.timer.Stop()
	}
	if c != nil && c.timed {
		c.timer = time.AfterFunc(wait, func() { s.cur.CompareAndSwap(c, nil) })
	}
}

type fetchCall struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

func newCachedSource(ctx context.Context, fetch fetchFunc, fresh freshness, timeout time.Duration, initial *oauth2.Token) *cachedSource {
	if ctx == nil {
		ctx = context.Background()
	}
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	s := &cachedSource{ctx: context.WithoutCancel(ctx), fetch: fetch, fresh: fresh, timeout: timeout, last: initial}
	if fresh.fresh(initial) {
		s.set(initial)
	}
	return s
}

// Token returns a valid token, fetching one if needed.
func (s *cachedSource) Token() (*oauth2.Token, error) {
	return s.TokenContext(s.ctx)
}

// TokenContext returns a valid token. If a fetch is needed it waits for it
// until ctx ends; the fetch itself goes on for the other callers.
func (s *cachedSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	if t := s.valid(); t != nil {
		return t, nil
	}
	s.mu.Lock()
	if t := s.valid(); t != nil {
		s.mu.Unlock()
		return t, nil
	}
	c := s.call
	if c == nil {
		c = &fetchCall{done: make(chan struct{})}
		s.call = c
		go s.run(c, s.last, s.rejected)
	}
	s.mu.Unlock()
	select {
	case <-c.done:
		return c.tok, c.err
	case <-ctx.Done():
		return nil, fmt.Errorf("snapauth: gave up waiting for a token: %w", context.Cause(ctx))
	}
}

func (s *cachedSource) run(c *fetchCall, last *oauth2.Token, rejected string) {
	ctx, cancel := context.WithTimeout(s.ctx, s.timeout)
	defer cancel()
	tok, err := s.fetch(ctx, last, rejected)
	var se *StoreError
	if errors.As(err, &se) {
		tok = se.Token // obtained but not persisted: keep it, report the error
	}
	s.mu.Lock()
	if tok != nil {
		s.set(tok)
		s.last = tok
		s.rejected = ""
	}
	s.call = nil
	s.mu.Unlock()
	if err != nil {
		tok = nil
	}
	c.tok, c.err = tok, err
	close(c.done)
}

// Format writes the source without its tokens, for every verb.
func (s *cachedSource) Format(f fmt.State, verb rune) {
	if c := s.cur.Load(); c != nil {
		fmt.Fprintf(f, "snapauth.TokenSource{token: [redacted], expiry: %s}", c.tok.Expiry.Format(time.RFC3339))
		return
	}
	io.WriteString(f, "snapauth.TokenSource{token: none}")
}

// Invalidate drops t if it is still the cached token, so that the next call
// fetches a new one. The transport calls it when the provider answers that
// the token is invalid.
func (s *cachedSource) Invalidate(t *oauth2.Token) {
	if t == nil {
		return
	}
	s.mu.Lock()
	if c := s.cur.Load(); c != nil && c.tok.AccessToken == t.AccessToken {
		s.set(nil)
	}
	s.rejected = t.AccessToken
	s.mu.Unlock()
}

// StoreError reports that a token was obtained but could not be saved to the
// TokenStore. Token is the new token: for B2B2C it holds the only copy of the
// rotated refresh token, so persist it by other means. Its text never
// contains the token.
type StoreError struct {
	Key   string
	Token *oauth2.Token
	Err   error
}

// Error names the key and the store's error, never the token. It has a
// value receiver so that a StoreError printed by value shows this text too.
func (e StoreError) Error() string {
	return fmt.Sprintf("snapauth: new token for key %q not saved: %v", e.Key, e.Err)
}

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }

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
			unlock, err := l.Lock(ctx, key)
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
		nt, err := grant(ctx, t)
		if err != nil {
			return nil, err
		}
		if err := store.Save(ctx, key, nt); err != nil {
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
