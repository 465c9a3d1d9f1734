package snapauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// rotator is a B2B2C provider's token logic: an authorization code is good
// once, every refresh token is single use and rotates, and a spent or
// unknown one is refused with 401.
type rotator struct {
	t        *testing.T
	clock    *srcClock
	mu       sync.Mutex
	gen      int
	codes    map[string]bool
	valid    map[string]bool
	rtPrefix string
	refreshs []string // refresh tokens presented, in order
}

func newRotator(t *testing.T, clock *srcClock, codes ...string) *rotator {
	r := &rotator{t: t, clock: clock, codes: map[string]bool{}, valid: map[string]bool{}, rtPrefix: "rt-"}
	for _, c := range codes {
		r.codes[c] = true
	}
	return r
}

// newRotating is the world of most B2B2C tests: a clock, a rotator
// accepting codes, a fake provider answering with it, and a config pointed
// at that provider.
func newRotating(t *testing.T, codes ...string) (*srcClock, *rotator, *fakeProvider, *B2B2CConfig) {
	clock := newSrcClock()
	ro := newRotator(t, clock, codes...)
	p := newFakeProvider(t, clock.Now, ro.answer)
	return clock, ro, p, p.b2b2c(clock)
}

// linkStored exchanges code and saves the token in store under key, as the
// account binding's redirect handler does, and returns the key's stored
// source.
func linkStored(t *testing.T, cfg *B2B2CConfig, store TokenStore, code, key string) oauth2.TokenSource {
	t.Helper()
	ctx := context.Background()
	tok, err := cfg.Exchange(ctx, code)
	require.NoError(t, err)
	require.NoError(t, store.Save(ctx, key, tok))
	return cfg.StoredTokenSource(ctx, store, key)
}

func (ro *rotator) answer(r fakeRequest) fakeAnswer {
	ro.mu.Lock()
	defer ro.mu.Unlock()
	grant, _ := r.str("grantType")
	switch strings.ToLower(grant) {
	case "authorization_code":
		code, _ := r.str("authCode")
		if !ro.codes[code] {
			return fakeAnswer{Status: 401, Body: `{"responseCode":"4017401","responseMessage":"Invalid Token (B2B2C)"}`}
		}
		delete(ro.codes, code)
	case "refresh_token":
		rt, _ := r.str("refreshToken")
		ro.refreshs = append(ro.refreshs, rt)
		if !ro.valid[rt] {
			return fakeAnswer{Status: 401, Body: `{"responseCode":"4017401","responseMessage":"Invalid Token (B2B2C)"}`}
		}
		delete(ro.valid, rt)
	default:
		return fakeAnswer{Status: 400, Body: `{"responseCode":"4007401","responseMessage":"Invalid Field Format [grantType]"}`}
	}
	ro.gen++
	rt := fmt.Sprintf("%s%d", ro.rtPrefix, ro.gen)
	ro.valid[rt] = true
	now := ro.clock.Now()
	return okAnswer(jsonOf(ro.t, map[string]any{
		"responseCode":           "2007400",
		"responseMessage":        "Successful",
		"accessToken":            fmt.Sprintf("at-%d", ro.gen),
		"tokenType":              "Bearer",
		"accessTokenExpiryTime":  now.Add(15 * time.Minute).Format(time.RFC3339),
		"refreshToken":           rt,
		"refreshTokenExpiryTime": now.Add(30 * 24 * time.Hour).Format(time.RFC3339),
	}))
}

func TestB2B2CExchange(t *testing.T) {
	clock, _, p, cfg := newRotating(t, "code-123")

	tok, err := cfg.Exchange(context.Background(), "code-123")
	require.NoError(t, err)
	assert.Equal(t, "at-1", tok.AccessToken)
	assert.Equal(t, "rt-1", tok.RefreshToken)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.True(t, tok.Expiry.Equal(clock.Now().Add(15*time.Minute)))
	assert.Equal(t, int64(900), tok.ExpiresIn)
	assert.True(t, RefreshTokenExpiry(tok).Equal(clock.Now().Add(30*24*time.Hour)))
	assert.Equal(t, "2007400", tok.Extra("responseCode"))
	reqs := p.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, `{"grantType":"authorization_code","authCode":"code-123"}`, string(reqs[0].Body))

	// A code is single use; its refusal is an *Error, not ErrReauthorize.
	_, err = cfg.Exchange(context.Background(), "code-123")
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "4017401", e.ResponseCode)
	assert.ErrorIs(t, err, ErrInvalidToken)
	assert.NotErrorIs(t, err, ErrReauthorize)

	_, err = cfg.Exchange(context.Background(), "")
	require.ErrorContains(t, err, "authorization code is empty")
	assert.Equal(t, int64(2), p.hits.Load())
}

func TestB2B2CExpiryOffsets(t *testing.T) {
	clock := newSrcClock() // 2025-03-01T10:00:00+07:00
	want := clock.Now().Add(15 * time.Minute)
	for _, exp := range []string{"2025-03-01T10:15:00+07:00", "2025-03-01T03:15:00Z", "2025-03-01T03:15:00+0000",
		"2025-03-01T03:15:00+00:00", "2025-03-01T10:15:00+0700", "2025-03-01T10:15:00.000+07:00", "2025-02-28T22:15:00-05:00"} {
		t.Run(exp, func(t *testing.T) {
			p := newFakeProvider(t, clock.Now, func(fakeRequest) fakeAnswer {
				return okAnswer(`{"responseCode":"2007400","accessToken":"a","refreshToken":"r","tokenType":"Bearer","accessTokenExpiryTime":"` +
					exp + `","refreshTokenExpiryTime":"` + exp + `"}`)
			})
			tok, err := p.b2b2c(clock).Exchange(context.Background(), "c")
			require.NoError(t, err)
			assert.True(t, tok.Expiry.Equal(want), "expiry %v", tok.Expiry)
			assert.True(t, RefreshTokenExpiry(tok).Equal(want))
			assert.Equal(t, int64(900), tok.ExpiresIn)
		})
	}
	p := newFakeProvider(t, clock.Now, func(fakeRequest) fakeAnswer {
		return okAnswer(`{"responseCode":"2007400","accessToken":"a","refreshToken":"r","accessTokenExpiryTime":"25/03/2025 10:15"}`)
	})
	_, err := p.b2b2c(clock).Exchange(context.Background(), "c")
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "accessTokenExpiryTime is not an ISO 8601 time", e.ResponseMessage)
	assert.Equal(t, "74", e.ServiceCode())
}

func TestB2B2CStoredSource(t *testing.T) {
	clock, ro, p, cfg := newRotating(t, "code")
	ctx := context.Background()
	store := newSrcStore()
	src := linkStored(t, cfg, store, "code", "customer-42")
	got, err := src.Token()
	require.NoError(t, err)
	assert.Equal(t, "at-1", got.AccessToken)
	assert.Equal(t, int64(1), p.hits.Load(), "the stored token was not used")

	// At expiry: refresh, and the rotated token is in the store when the
	// access token is handed out.
	clock.Advance(15 * time.Minute)
	got, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "at-2", got.AccessToken)
	inStore, err := store.Load(ctx, "customer-42")
	require.NoError(t, err)
	assert.Equal(t, "rt-2", inStore.RefreshToken)

	// Another replica refreshed (spending rt-2) and saved rt-3: this source
	// reads the store and refreshes with rt-3, never the spent rt-2.
	clock.Advance(15 * time.Minute)
	other := cfg.StoredTokenSource(ctx, store, "customer-42")
	got3, err := other.Token()
	require.NoError(t, err)
	assert.Equal(t, "at-3", got3.AccessToken)
	got, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "at-3", got.AccessToken, "the replica's token was not picked up")
	clock.Advance(15 * time.Minute)
	got, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "at-4", got.AccessToken)
	assert.Equal(t, []string{"rt-1", "rt-2", "rt-3"}, ro.refreshs)

	// Nothing stored under a key: link first.
	_, err = cfg.StoredTokenSource(ctx, store, "nobody").Token()
	require.ErrorIs(t, err, ErrReauthorize)
}

// TestB2B2CStoredSourceSaveFails: a replica whose store fails.
//   - When the refresh cannot even be marked in the store, the refresh token
//     is not sent at all.
//   - When the marker is saved but the rotated token's saves fail (retried
//     with backoff), the new token is a *StoreError's, served from memory;
//     another replica sharing the store does not send the refresh token the
//     first one spent, and the first one's next refresh uses its newer
//     token and repairs the store.
func TestB2B2CStoredSourceSaveFails(t *testing.T) {
	clock, ro, _, cfg := newRotating(t, "code")
	ctx := context.Background()
	store := newSrcStore()
	src := linkStored(t, cfg, store, "code", "c")
	other := cfg.StoredTokenSource(ctx, store, "c")

	clock.Advance(15 * time.Minute)
	store.failSaves(errors.New("redis: connection reset"))
	_, err := src.Token()
	require.ErrorContains(t, err, "the refresh token was not sent")
	require.ErrorContains(t, err, "connection reset")
	assert.Empty(t, ro.refreshs, "refreshed although the refresh could not be marked")

	store.mu.Lock()
	store.afterMark = true
	store.mu.Unlock()
	clock.Advance(time.Minute) // past the rate limit
	saves := store.saves.Load()
	_, err = src.Token()
	var se *StoreError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "rt-2", se.Token.RefreshToken)
	assert.NotContains(t, err.Error(), "rt-2")
	assert.NotContains(t, err.Error(), "at-2")
	assert.ErrorContains(t, err, "connection reset")
	assert.EqualValues(t, 1+saveRetries, store.saves.Load()-saves, "the marker, then the rotated token's save tried %d times", saveRetries)

	got, err := src.Token()
	require.NoError(t, err)
	assert.Equal(t, "at-2", got.AccessToken)

	// The other replica finds rt-1 marked in flight and does not send it.
	_, err = other.Token()
	var busy *refreshInFlightError
	require.ErrorAs(t, err, &busy)
	assert.ErrorIs(t, err, ErrTemporary)
	assert.Equal(t, []string{"rt-1"}, ro.refreshs, "the other replica sent the spent refresh token")

	store.failSaves(nil)
	clock.Advance(15 * time.Minute)
	got, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "at-3", got.AccessToken)
	assert.Equal(t, []string{"rt-1", "rt-2"}, ro.refreshs, "refreshed with the spent token from the store")
	held, err := store.Load(ctx, "c")
	require.NoError(t, err)
	assert.Equal(t, "rt-3", held.RefreshToken)
	assert.Nil(t, held.Extra(RefreshingExtra), "the store still marks a refresh in flight")
	got, err = other.Token()
	require.NoError(t, err)
	assert.Equal(t, "at-3", got.AccessToken, "the other replica picks up the repaired store")
}

func TestAuthCodeURL(t *testing.T) {
	cfg := &B2B2CConfig{AuthURL: "https://m.sandbox.dana.id/v1.0/get-auth-code?mode=API", PartnerID: "P-1",
		RedirectURL: "https://merchant.example/bind/done", Scopes: []string{"QUERY_BALANCE", "PUBLIC_ID"}}
	raw, err := cfg.AuthCodeURL("st4te", url.Values{"lang": {"id"}, "mode": {"WEB"}})
	require.NoError(t, err)
	u, err := url.Parse(raw)
	require.NoError(t, err)
	assert.Equal(t, "m.sandbox.dana.id", u.Host)
	assert.Equal(t, "/v1.0/get-auth-code", u.Path)
	q := u.Query()
	assert.Equal(t, "P-1", q.Get("partnerId"))
	assert.Equal(t, "https://merchant.example/bind/done", q.Get("redirectUrl"))
	assert.Equal(t, "QUERY_BALANCE,PUBLIC_ID", q.Get("scopes"))
	assert.Equal(t, "st4te", q.Get("state"))
	assert.Equal(t, "id", q.Get("lang"))
	assert.Equal(t, "WEB", q.Get("mode"), "extra overrides")

	for _, bad := range []string{"", "/relative/path", "::"} {
		_, err = (&B2B2CConfig{AuthURL: bad}).AuthCodeURL("s", nil)
		assert.ErrorContains(t, err, "AuthURL", bad)
	}
}

func TestAuthCodeFromRedirect(t *testing.T) {
	cfg := &B2B2CConfig{}
	parse := func(s string) *url.URL {
		u, err := url.Parse(s)
		require.NoError(t, err)
		return u
	}
	code, err := cfg.AuthCodeFromRedirect(parse("https://m.example/bind?authCode=AC-1&state=st4te"), "st4te")
	require.NoError(t, err)
	assert.Equal(t, "AC-1", code)
	code, err = cfg.AuthCodeFromRedirect(parse("https://m.example/bind?auth_code=AC-2&state=st4te"), "st4te")
	require.NoError(t, err)
	assert.Equal(t, "AC-2", code)

	_, err = cfg.AuthCodeFromRedirect(parse("https://m.example/bind?authCode=AC-1&state=forged"), "st4te")
	assert.ErrorIs(t, err, ErrStateMismatch)
	_, err = cfg.AuthCodeFromRedirect(parse("https://m.example/bind?authCode=AC-1"), "st4te")
	assert.ErrorIs(t, err, ErrStateMismatch)
	_, err = cfg.AuthCodeFromRedirect(parse("https://m.example/bind?authCode=AC-1"), "")
	assert.ErrorIs(t, err, ErrStateMismatch, "an empty expected state must not match a missing one")

	_, err = cfg.AuthCodeFromRedirect(parse("https://m.example/bind?error=access_denied&state=st4te"), "st4te")
	assert.ErrorIs(t, err, ErrAccessDenied)
	assert.ErrorContains(t, err, "access_denied")

	_, err = cfg.AuthCodeFromRedirect(parse("https://m.example/bind?state=st4te"), "st4te")
	require.ErrorContains(t, err, "no authCode")
	assert.NotErrorIs(t, err, ErrStateMismatch)
	assert.NotErrorIs(t, err, ErrAccessDenied)
}
