package snapauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

func TestB2BToken(t *testing.T) {
	clock := newSrcClock()
	p := newFakeProvider(t, clock.Now, func(r fakeRequest) fakeAnswer { return b2bAnswer("b2b-access-token") })
	cfg := p.b2b(clock)

	tok, err := cfg.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "b2b-access-token", tok.AccessToken)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Empty(t, tok.RefreshToken)
	assert.True(t, tok.Expiry.Equal(clock.Now().Add(900*time.Second)), "expiry %v", tok.Expiry)
	assert.Equal(t, int64(900), tok.ExpiresIn)
	assert.Equal(t, "2007300", tok.Extra("responseCode"))
	assert.Equal(t, "Successful", tok.Extra("responseMessage"))

	reqs := p.requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, `{"grantType":"client_credentials"}`, string(reqs[0].Body))
	assert.True(t, reqs[0].Timestamp.Equal(clock.Now()))
	assert.Equal(t, "2025-03-01T10:00:00+07:00", reqs[0].Timestamp.Format(time.RFC3339))

	// Token never caches.
	_, err = cfg.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(2), p.hits.Load())
}

func TestB2BAdditionalInfoAndProviders(t *testing.T) {
	clock := newSrcClock()
	p := newFakeProvider(t, clock.Now, func(r fakeRequest) fakeAnswer { return b2bAnswer("t") })
	for _, prov := range []Provider{Standard, BRI, DOKU, DANA} {
		cfg := p.b2b(clock)
		cfg.Provider = prov
		cfg.PartnerID, cfg.ChannelID = "P-1", "95221"
		cfg.AdditionalInfo = map[string]any{"merchantId": "M-1", "nested": map[string]any{"a": 1}}
		_, err := cfg.Token(context.Background())
		require.NoError(t, err, prov.Name)
	}
	reqs := p.requests()
	require.Len(t, reqs, 4)
	var stamps []string
	for _, r := range reqs {
		stamps = append(stamps, r.Stamp)
		g, _ := r.str("grantType")
		assert.Equal(t, "client_credentials", strings.ToLower(g))
		assert.Equal(t, map[string]any{"merchantId": "M-1", "nested": map[string]any{"a": float64(1)}}, r.Fields["additionalInfo"])
	}
	g, _ := reqs[3].str("grantType")
	assert.Equal(t, "CLIENT_CREDENTIALS", g, "DANA upper-cases grant types")
	assert.Equal(t, []string{"2025-03-01T10:00:00+07:00", "2025-03-01T10:00:00.000+07:00", "2025-03-01T03:00:00Z", "2025-03-01T10:00:00+07:00"}, stamps)
}

func TestB2BHTTPClientFromContext(t *testing.T) {
	clock := newSrcClock()
	p := newFakeProvider(t, clock.Now, func(fakeRequest) fakeAnswer { return b2bAnswer("t") })
	cfg := p.b2b(clock)
	cfg.HTTPClient = nil
	var used atomic.Int64
	base := p.srv.Client().Transport
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Add(1)
		return base.RoundTrip(r)
	})}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, client)
	_, err := cfg.Token(ctx)
	require.NoError(t, err)
	_, err = cfg.TokenSource(ctx).Token()
	require.NoError(t, err)
	assert.Equal(t, int64(2), used.Load())
}

func TestB2BErrorAnswers(t *testing.T) {
	tests := []struct {
		name   string
		answer fakeAnswer
		status int
		code   string
		msg    string
		is     error
	}{
		{"401 SNAP error", fakeAnswer{Status: 401, Body: `{"responseCode":"4017300","responseMessage":"Unauthorized. Signature"}`},
			401, "4017300", "Unauthorized. Signature", ErrUnauthorized},
		{"200 with failure code", fakeAnswer{Status: 200, Body: `{"responseCode":"4017300","responseMessage":"Unauthorized. Unknown client"}`},
			200, "4017300", "Unauthorized. Unknown client", ErrUnauthorized},
		{"400 number code", fakeAnswer{Status: 400, Body: `{"responseCode":4007302,"responseMessage":"Invalid Mandatory Field {grantType}"}`},
			400, "4007302", "Invalid Mandatory Field {grantType}", nil},
		{"HTML page", fakeAnswer{Status: 403, Header: map[string]string{"Content-Type": "text/html"}, Body: "<html><body>Request blocked by WAF</body></html>"},
			403, "", "answer is not JSON (text/html)", nil},
		{"empty body", fakeAnswer{Status: 200, Body: ""}, 200, "", "empty answer", nil},
		{"body over 1 MiB", fakeAnswer{Status: 200, Body: `{"accessToken":"a","pad":"` + strings.Repeat("p", maxAnswer) + `"}`},
			200, "", "answer larger than 1 MiB", nil},
		{"2xx without accessToken", fakeAnswer{Status: 200, Body: `{"responseCode":"2007300","responseMessage":"Successful"}`},
			200, "2007300", "answer has no accessToken", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newSrcClock()
			p := newFakeProvider(t, clock.Now, func(fakeRequest) fakeAnswer { return tt.answer })
			tok, err := p.b2b(clock).Token(context.Background())
			assert.Nil(t, tok)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.status, e.StatusCode)
			assert.Equal(t, tt.code, e.ResponseCode)
			assert.Equal(t, tt.msg, e.ResponseMessage)
			if tt.code != "" {
				assert.Equal(t, "73", e.ServiceCode())
				assert.Equal(t, tt.code[5:], e.CaseCode())
			}
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			assert.NotErrorIs(t, err, ErrTemporary)
			assert.Equal(t, int64(1), p.hits.Load(), "a refusal is not retried")
			assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "))
		})
	}
}

// TestB2BRetries: 429 and 5xx are retried up to MaxRetries with the
// injected Backoff; 4xx never; MaxRetries < 0 disables retries.
func TestB2BRetries(t *testing.T) {
	tests := []struct {
		name       string
		maxRetries int
		status     int
		code       string
		wantHits   int64
		is         error
	}{
		{"503 three retries", 3, 503, "5037300", 4, ErrServerError},
		{"500 default retries", 0, 500, "5007301", 1 + DefaultMaxRetries, ErrServerError},
		{"429 one retry", 1, 429, "4297300", 2, ErrRateLimited},
		{"no retries", -1, 503, "5037300", 1, ErrServerError},
		{"401 not retried", 5, 401, "4017300", 1, ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newSrcClock()
			p := newFakeProvider(t, clock.Now, func(fakeRequest) fakeAnswer {
				return fakeAnswer{Status: tt.status, Body: `{"responseCode":"` + tt.code + `","responseMessage":"x"}`}
			})
			cfg := p.b2b(clock)
			cfg.MaxRetries = tt.maxRetries
			var mu sync.Mutex
			var attempts []int
			cfg.Backoff = func(a int) time.Duration {
				mu.Lock()
				attempts = append(attempts, a)
				mu.Unlock()
				return time.Millisecond
			}
			_, err := cfg.Token(context.Background())
			require.ErrorIs(t, err, tt.is)
			assert.Equal(t, tt.wantHits, p.hits.Load())
			var want []int
			for i := int64(1); i < tt.wantHits; i++ {
				want = append(want, int(i))
			}
			assert.Equal(t, want, attempts)
		})
	}
}

func TestB2BRetryThenSuccess(t *testing.T) {
	clock := newSrcClock()
	p := newFakeProvider(t, clock.Now, func(r fakeRequest) fakeAnswer {
		if r.N < 3 {
			return fakeAnswer{Status: 502, Header: map[string]string{"Content-Type": "text/html"}, Body: "<h1>Bad Gateway</h1>"}
		}
		return b2bAnswer("third-time")
	})
	tok, err := p.b2b(clock).Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "third-time", tok.AccessToken)
	assert.Equal(t, int64(3), p.hits.Load())
}

func TestB2BRetryAfter(t *testing.T) {
	clock := newSrcClock()
	p := newFakeProvider(t, clock.Now, func(r fakeRequest) fakeAnswer {
		if r.N == 1 {
			return fakeAnswer{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: `{"responseCode":"4297300","responseMessage":"Too Many Requests"}`}
		}
		return b2bAnswer("after-wait")
	})
	cfg := p.b2b(clock)
	cfg.Backoff = func(int) time.Duration { return time.Millisecond }
	start := time.Now()
	tok, err := cfg.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "after-wait", tok.AccessToken)
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "Retry-After: 1 not honoured")
	assert.Equal(t, int64(2), p.hits.Load())

	// A Retry-After longer than the caller's deadline returns the error at once.
	p2 := newFakeProvider(t, clock.Now, func(fakeRequest) fakeAnswer {
		return fakeAnswer{Status: 503, Header: map[string]string{"Retry-After": "3600"}, Body: `{"responseCode":"5037300","responseMessage":"Maintenance"}`}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start = time.Now()
	_, err = p2.b2b(clock).Token(ctx)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, time.Hour, e.RetryAfter)
	assert.Less(t, time.Since(start), 4*time.Second)
	assert.Equal(t, int64(1), p2.hits.Load())
}

// refusingDialer dials a closed port (a real "connection refused") for the
// first fail dials, then the provider.
func refusingClient(t *testing.T, target string, fail int64) (*http.Client, *atomic.Int64) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())
	var dials atomic.Int64
	var d net.Dialer
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		if dials.Add(1) <= fail {
			return d.DialContext(ctx, network, closed)
		}
		return d.DialContext(ctx, network, target)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}, &dials
}

func TestB2BConnectionRefusedRetried(t *testing.T) {
	clock := newSrcClock()
	p := newFakeProvider(t, clock.Now, func(fakeRequest) fakeAnswer { return b2bAnswer("reached") })
	cfg := p.b2b(clock)
	client, dials := refusingClient(t, p.srv.Listener.Addr().String(), 2)
	cfg.HTTPClient = client
	tok, err := cfg.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "reached", tok.AccessToken)
	assert.Equal(t, int64(3), dials.Load())
	assert.Equal(t, int64(1), p.hits.Load())

	// Refused every time: an ErrTemporary after 1+MaxRetries attempts.
	cfg.HTTPClient, dials = refusingClient(t, p.srv.Listener.Addr().String(), 100)
	cfg.MaxRetries = 2
	_, err = cfg.Token(context.Background())
	require.ErrorIs(t, err, ErrTemporary)
	assert.NotErrorIs(t, err, ErrServerError)
	assert.ErrorContains(t, err, "connection refused")
	assert.Equal(t, int64(3), dials.Load())
}

func TestB2BContextCancelled(t *testing.T) {
	clock := newSrcClock()
	g, p := newGatedProvider(t, clock.Now, func(fakeRequest) fakeAnswer { return b2bAnswer("late") })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := p.b2b(clock).Token(ctx)
		errc <- err
	}()
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the provider")
	}
	cancel()
	var err error
	select {
	case err = <-errc:
	case <-time.After(10 * time.Second):
		t.Fatal("Token did not return after its context was cancelled")
	}
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int64(1), p.hits.Load(), "a cancelled request is not retried")
	g.open()
}

func TestB2BConfigChecks(t *testing.T) {
	clock := newSrcClock()
	p := newFakeProvider(t, clock.Now, func(fakeRequest) fakeAnswer { return b2bAnswer("t") })
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tests := []struct {
		name   string
		modify func(*B2BConfig)
		want   string
	}{
		{"empty TokenURL", func(c *B2BConfig) { c.TokenURL = "" }, "TokenURL is empty"},
		{"relative TokenURL", func(c *B2BConfig) { c.TokenURL = "/v1.0/access-token/b2b" }, "not an absolute URL"},
		{"plain http", func(c *B2BConfig) { c.TokenURL = "http://snap.example.co.id/v1.0/access-token/b2b" }, "uses plain http"},
		{"ftp", func(c *B2BConfig) { c.TokenURL = "ftp://snap.example.co.id/token" }, "scheme must be https"},
		{"empty ClientKey", func(c *B2BConfig) { c.ClientKey = "" }, "ClientKey is empty"},
		{"nil key", func(c *B2BConfig) { c.PrivateKey = nil }, "PrivateKey is nil"},
		{"typed nil key", func(c *B2BConfig) { c.PrivateKey = (*rsa.PrivateKey)(nil) }, "no private key"},
		{"ECDSA key", func(c *B2BConfig) { c.PrivateKey = ec }, "SNAP needs an RSA key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := p.b2b(clock)
			tt.modify(cfg)
			_, err := cfg.Token(context.Background())
			require.ErrorContains(t, err, tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
			_, err = cfg.TokenSource(context.Background()).Token()
			require.ErrorContains(t, err, tt.want)
		})
	}
	assert.Zero(t, p.hits.Load())
}

// TestB2BInsecureHTTP: plain http to a non-loopback host is refused unless
// AllowInsecureHTTP; the test dials the provider whatever the host name.
func TestB2BInsecureHTTP(t *testing.T) {
	clock := newSrcClock()
	p := newFakeProvider(t, clock.Now, func(fakeRequest) fakeAnswer { return b2bAnswer("over-http") })
	cfg := p.b2b(clock)
	cfg.HTTPClient, _ = refusingClient(t, p.srv.Listener.Addr().String(), 0)
	cfg.TokenURL = "http://sandbox.provider.test/v1.0/access-token/b2b"
	_, err := cfg.Token(context.Background())
	require.ErrorContains(t, err, "uses plain http")
	assert.Zero(t, p.hits.Load())

	cfg.AllowInsecureHTTP = true
	tok, err := cfg.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "over-http", tok.AccessToken)

	for _, u := range []string{"http://localhost:1/x", "http://127.0.0.1:1/x", "http://[::1]:1/x", "https://snap.example.co.id/x"} {
		assert.NoError(t, checkTokenURL(u, false), u)
	}
}

func TestB2BFormatRedactsKey(t *testing.T) {
	cfg := B2BConfig{TokenURL: "https://snap.example.co.id/t", ClientKey: "ck", PrivateKey: testkey.RSA(t), Provider: BRI}
	want := `snapauth.B2BConfig{TokenURL: "https://snap.example.co.id/t", ClientKey: "ck", PrivateKey: [redacted], Provider: "bri"}`
	assert.Equal(t, want, fmt.Sprint(cfg))
	assert.Equal(t, want, fmt.Sprintf("%#v", &cfg))
	cfg.PrivateKey = nil
	assert.Contains(t, fmt.Sprintf("%+v", cfg), "PrivateKey: nil")
	cfg.TokenURL = "https://partner:pw-in-url@snap.example.co.id/t?key=key-in-url#frag"
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, cfg)
		assert.NotContains(t, out, "pw-in-url")
		assert.NotContains(t, out, "key-in-url")
		assert.Contains(t, out, "snap.example.co.id/t")
	}
}
