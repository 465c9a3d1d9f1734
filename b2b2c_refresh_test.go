package snapauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

func TestB2B2CRefreshRequests(t *testing.T) {
	longRT := strings.Repeat("r0-", 1000) // 3,000 characters: never truncated
	tests := []struct {
		name     string
		provider Provider
		grants   [2]string
		authCode bool // authCode sent on refresh
	}{
		{"standard", Standard, [2]string{"authorization_code", "refresh_token"}, false},
		{"DANA upper case", DANA, [2]string{"AUTHORIZATION_CODE", "REFRESH_TOKEN"}, false},
		{"Finnet authCode on refresh", Finnet, [2]string{"authorization_code", "refresh_token"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ro, p, cfg := newRotating(t, "code")
			ro.rtPrefix = longRT
			cfg.Provider = tt.provider
			cfg.PartnerID, cfg.ChannelID = "P-1", "95221"
			tok, err := cfg.Exchange(context.Background(), "code")
			require.NoError(t, err)
			require.Equal(t, longRT+"1", tok.RefreshToken)
			tok2, err := cfg.RefreshWithAuthCode(context.Background(), tok.RefreshToken, TokenAuthCode(tok))
			require.NoError(t, err)
			assert.Equal(t, "at-2", tok2.AccessToken)
			assert.Equal(t, longRT+"2", tok2.RefreshToken)

			reqs := p.requests()
			require.Len(t, reqs, 2)
			g, _ := reqs[0].str("grantType")
			assert.Equal(t, tt.grants[0], g)
			g, _ = reqs[1].str("grantType")
			assert.Equal(t, tt.grants[1], g)
			rt, _ := reqs[1].str("refreshToken")
			assert.Equal(t, longRT+"1", rt)
			code, hasCode := reqs[1].Fields["authCode"]
			assert.Equal(t, tt.authCode, hasCode)
			if tt.authCode {
				assert.Equal(t, "code", code, "the binding's authorization code, never empty")
				assert.Equal(t, "code", TokenAuthCode(tok2), "kept for the next refresh")
			} else {
				assert.Empty(t, TokenAuthCode(tok2), "kept only where the provider wants it")
			}
		})
	}
}

func TestB2B2CRefreshRejected(t *testing.T) {
	_, _, p, cfg := newRotating(t, "code")
	tok, err := cfg.Exchange(context.Background(), "code")
	require.NoError(t, err)
	_, err = cfg.Refresh(context.Background(), tok.RefreshToken)
	require.NoError(t, err)
	// Reusing the spent refresh token: the customer must link again.
	_, err = cfg.Refresh(context.Background(), tok.RefreshToken)
	require.ErrorIs(t, err, ErrReauthorize)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 401, e.StatusCode)
	assert.Equal(t, "4017401", e.ResponseCode)
	assert.ErrorIs(t, err, ErrInvalidToken)
	assert.Contains(t, err.Error(), "link the account again")
	assert.Contains(t, err.Error(), "4017401")
	assert.Equal(t, int64(3), p.hits.Load())

	_, err = cfg.Refresh(context.Background(), "")
	require.ErrorIs(t, err, ErrReauthorize)
	assert.Equal(t, int64(3), p.hits.Load())
}

func TestB2B2CRefreshServerErrorNotRetried(t *testing.T) {
	clock := newSrcClock()
	p := newFakeProvider(t, clock.Now, func(fakeRequest) fakeAnswer {
		return fakeAnswer{Status: 500, Body: `{"responseCode":"5007400","responseMessage":"General Error"}`}
	})
	cfg := p.b2b2c(clock)
	cfg.MaxRetries = 5
	_, err := cfg.Refresh(context.Background(), "rt")
	require.ErrorIs(t, err, ErrServerError)
	require.ErrorIs(t, err, ErrTemporary)
	assert.NotErrorIs(t, err, ErrReauthorize)
	assert.Equal(t, int64(1), p.hits.Load(), "a single-use refresh token was sent twice")
	_, err = cfg.Exchange(context.Background(), "code")
	require.ErrorIs(t, err, ErrServerError)
	assert.Equal(t, int64(2), p.hits.Load(), "a single-use code was sent twice")
}

// TestB2B2CConnectionRefusedRetried: a request that never left (connection
// refused) is retried even for single-use grants.
func TestB2B2CConnectionRefusedRetried(t *testing.T) {
	_, _, p, cfg := newRotating(t, "code")
	client, dials := refusingClient(t, p.srv.Listener.Addr().String(), 2)
	cfg.HTTPClient = client
	tok, err := cfg.Exchange(context.Background(), "code")
	require.NoError(t, err)
	assert.Equal(t, "at-1", tok.AccessToken)
	assert.Equal(t, int64(3), dials.Load())
	assert.Equal(t, int64(1), p.hits.Load())
}

// TestB2B2CDroppedAfterSendNotRetried: a connection that dies after the
// request was written may have spent the code: no retry.
func TestB2B2CDroppedAfterSendNotRetried(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer srv.Close()
	clock := newSrcClock()
	cfg := &B2B2CConfig{TokenURL: srv.URL + "/v1.0/access-token/b2b2c", ClientKey: "ck", PrivateKey: testkey.RSA(t),
		HTTPClient: srv.Client(), Now: clock.Now, MaxRetries: 3, Backoff: func(int) time.Duration { return time.Millisecond }}
	_, err := cfg.Refresh(context.Background(), "rt")
	require.ErrorIs(t, err, ErrTemporary)
	assert.NotErrorIs(t, err, ErrReauthorize)
	assert.Equal(t, int64(1), hits.Load())

	// The same failure is retried for B2B, whose grant is idempotent.
	b2b := &B2BConfig{TokenURL: srv.URL + "/v1.0/access-token/b2b", ClientKey: "ck", PrivateKey: testkey.RSA(t),
		HTTPClient: srv.Client(), Now: clock.Now, MaxRetries: 3, Backoff: func(int) time.Duration { return time.Millisecond }}
	_, err = b2b.Token(context.Background())
	require.ErrorIs(t, err, ErrTemporary)
	assert.Equal(t, int64(1+4), hits.Load())
}

// TestB2B2CRotation: each refresh uses the newest refresh token (the
// provider refuses spent ones), and 50 callers at expiry cause one refresh.
func TestB2B2CRotation(t *testing.T) {
	clock := newSrcClock()
	ro := newRotator(t, clock, "code")
	g := newGate(t)
	var gated atomic.Bool
	p := newFakeProvider(t, clock.Now, func(r fakeRequest) fakeAnswer {
		if gated.Load() {
			g.wait(r)
		}
		return ro.answer(r)
	})
	cfg := p.b2b2c(clock)
	tok, err := cfg.Exchange(context.Background(), "code")
	require.NoError(t, err)
	gated.Store(true)
	src := cfg.TokenSource(context.Background(), tok).(ContextTokenSource)

	got, err := src.Token()
	require.NoError(t, err)
	assert.Same(t, tok, got, "a fresh initial token is served as is")
	for round := 2; round <= 5; round++ {
		clock.Advance(15 * time.Minute)
		const n = 50
		toks, errs := fetchTogether(t, src, g, n)
		for i := range n {
			require.NoError(t, errs[i])
			require.Equal(t, fmt.Sprintf("at-%d", round), toks[i].AccessToken)
		}
		assert.Equal(t, int64(round), p.hits.Load(), "one refresh per expiry")
	}
	assert.Equal(t, []string{"rt-1", "rt-2", "rt-3", "rt-4"}, ro.refreshs)

	// Invalidate forces a refresh with the newest refresh token.
	cur, err := src.Token()
	require.NoError(t, err)
	src.(TokenInvalidator).Invalidate(cur)
	go g.open()
	next, err := src.Token()
	require.NoError(t, err)
	assert.Equal(t, "at-6", next.AccessToken)
	assert.Equal(t, "rt-5", ro.refreshs[len(ro.refreshs)-1])
}

func TestB2B2CSourceReauthorize(t *testing.T) {
	clock, _, p, cfg := newRotating(t)

	// The refresh token expired per refreshTokenExpiryTime: no request.
	expired := (&oauth2.Token{AccessToken: "old", RefreshToken: "rt-old", Expiry: clock.Now().Add(-time.Minute)}).
		WithExtra(map[string]any{"refreshTokenExpiryTime": clock.Now().Add(-time.Second).Format(time.RFC3339)})
	_, err := cfg.TokenSource(context.Background(), expired).Token()
	require.ErrorIs(t, err, ErrReauthorize)
	assert.Contains(t, err.Error(), "expired")
	assert.Zero(t, p.hits.Load())

	// No refresh token at all.
	_, err = cfg.TokenSource(context.Background(), &oauth2.Token{AccessToken: "x", Expiry: clock.Now().Add(-time.Minute)}).Token()
	require.ErrorIs(t, err, ErrReauthorize)
	_, err = cfg.TokenSource(context.Background(), nil).Token()
	require.ErrorIs(t, err, ErrReauthorize)
	assert.Zero(t, p.hits.Load())

	// A refresh token the provider does not know: one request, then
	// ErrReauthorize with the provider's *Error inside.
	unknown := (&oauth2.Token{AccessToken: "old", RefreshToken: "rt-unknown", Expiry: clock.Now().Add(-time.Minute)}).
		WithExtra(map[string]any{"refreshTokenExpiryTime": clock.Now().Add(time.Hour).Format(time.RFC3339)})
	src := cfg.TokenSource(context.Background(), unknown)
	_, err = src.Token()
	require.ErrorIs(t, err, ErrReauthorize)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 401, e.StatusCode)
	assert.Equal(t, int64(1), p.hits.Load())

	// Asking again does not spend another request on the refused token.
	for range 3 {
		_, err = src.Token()
		require.ErrorIs(t, err, ErrReauthorize)
	}
	assert.Equal(t, int64(1), p.hits.Load())
}

// A 401 case 00 on refresh speaks of the request (signature, clock, client
// key), not of the refresh token: re-linking would not help, so it is not
// ErrReauthorize; 403 and 404 are.
func TestB2B2CRefreshUnauthorizedIsNotReauthorize(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		reauth bool
	}{
		{401, `{"responseCode":"4017400","responseMessage":"Unauthorized. [Signature]"}`, false},
		{401, `{"responseCode":"4017402","responseMessage":"Invalid Customer Token"}`, true},
		{403, `{"responseCode":"4037400","responseMessage":"Forbidden"}`, true},
		{404, `{"responseCode":"4047401","responseMessage":"Not Found"}`, true},
		{400, `{"responseCode":"4007401","responseMessage":"Invalid Field Format"}`, false},
	} {
		t.Run(tc.body, func(t *testing.T) {
			clock := newSrcClock()
			p := newFakeProvider(t, clock.Now, func(fakeRequest) fakeAnswer { return fakeAnswer{Status: tc.status, Body: tc.body} })
			_, err := p.b2b2c(clock).Refresh(context.Background(), "rt-1")
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.reauth, errors.Is(err, ErrReauthorize))
			assert.Equal(t, tc.status, e.StatusCode)
		})
	}
}
