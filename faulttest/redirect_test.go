package faulttest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// TestRedirectNeverCarriesCredentials sends requests that the provider
// redirects to another host, with every redirect status. The ready client of
// B2BConfig.Client must refuse to follow it (an error) so that the other
// host receives nothing, and in particular no Authorization,
// Authorization-Customer or X-SIGNATURE; also when the client in the context
// has a CheckRedirect of its own that would follow anything. A redirect
// within the provider's host is still followed, signed afresh.
func TestRedirectNeverCarriesCredentials(t *testing.T) {
	verifyNoLeaks(t)
	var stolen atomic.Int64
	var leaked sync.Map
	thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		for _, h := range []string{"Authorization", "Authorization-Customer", "X-Signature", "X-Timestamp", "X-Partner-Id"} {
			if v := r.Header.Get(h); v != "" {
				leaked.Store(h, v)
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(thief.Close)
	// Another host by name and port: localhost instead of 127.0.0.1.
	thiefURL := strings.Replace(thief.URL, "127.0.0.1", "localhost", 1)

	p := newProvider(t, nil)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code := r.URL.Query().Get("redirect"); code != "" {
			var status int
			fmt.Sscan(code, &status)
			target := thiefURL + "/steal"
			if r.URL.Query().Get("same") != "" {
				target = servicePath + "?lang=id"
			}
			http.Redirect(w, r, target, status)
			return
		}
		p.serveHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	p.srv = front // the provider's URLs are now the front's

	ctx := context.Background()
	custCfg := &snapauth.B2B2CConfig{TokenURL: front.URL + b2b2cPath, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t)}
	linked, err := custCfg.Exchange(ctx, p.newAuthCode())
	require.NoError(t, err)
	customer := custCfg.TokenSource(ctx, linked)

	permissive := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	// redirected sends, with each redirect status, a call the front
	// redirects to the thief, which must fail, and one it redirects within
	// the provider's host, which must be followed and signed afresh; then
	// it checks that the thief received nothing.
	redirected := func(t *testing.T, client *http.Client) {
		for _, status := range []int{301, 302, 303, 307, 308} {
			req, err := http.NewRequestWithContext(snapauth.WithCustomerToken(ctx, customer), http.MethodPost,
				fmt.Sprintf("%s%s?redirect=%d", front.URL, servicePath, status), strings.NewReader(`{"amount":"10000.00"}`))
			require.NoError(t, err)
			resp, err := client.Do(req)
			require.Error(t, err, "a redirect to another host is an error")
			if resp != nil { // net/http returns the redirect, body closed, with the error
				require.Equal(t, status, resp.StatusCode)
			}
			require.Contains(t, err.Error(), "snapauth: refusing to follow a redirect")

			req, err = http.NewRequestWithContext(snapauth.WithCustomerToken(ctx, customer), http.MethodPost,
				fmt.Sprintf("%s%s?redirect=%d&same=1", front.URL, servicePath, status), strings.NewReader(`{"amount":"10000.00"}`))
			require.NoError(t, err)
			resp, err = client.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode, "a redirect within the provider's host is followed, signed afresh")
		}
		leaked.Range(func(k, v any) bool {
			t.Errorf("the other host received %s: %q", k, v)
			return true
		})
		require.Zero(t, stolen.Load(), "requests that reached the other host")
		require.Zero(t, p.sigRejected.Load())
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{
		{"default policy", ctx},
		{"context client that follows everything", context.WithValue(ctx, oauth2.HTTPClient, permissive)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b2b := &snapauth.B2BConfig{TokenURL: front.URL + b2bPath, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t)}
			redirected(t, b2b.Client(tc.ctx, &snapauth.Transport{ClientSecret: p.clientSecret, PartnerID: p.partnerID, ChannelID: p.channelID}))
		})
	}

	// A bare http.Client around the same Transport, which would follow any
	// redirect: the Transport itself sees that the request is a redirect
	// (req.Response) to another origin and refuses to sign or send it.
	t.Run("bare client", func(t *testing.T) {
		b2b := &snapauth.B2BConfig{TokenURL: front.URL + b2bPath, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t)}
		tr := &snapauth.Transport{Source: b2b.TokenSource(ctx), ClientSecret: p.clientSecret, PartnerID: p.partnerID, ChannelID: p.channelID}
		redirected(t, &http.Client{Transport: tr})
		redirected(t, &http.Client{Transport: tr, CheckRedirect: permissive.CheckRedirect})
	})

	// Control: a client that sets the same headers by hand follows the
	// redirect and the thief sees them, so the checks above are not blind.
	t.Run("control: headers set by hand", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, front.URL+servicePath+"?redirect=307", strings.NewReader(`{}`))
		require.NoError(t, err)
		req.Header.Set("X-Signature", "by-hand")
		req.Header.Set("X-Partner-Id", p.partnerID)
		resp, err := (&http.Client{}).Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.EqualValues(t, 1, stolen.Load())
		_, ok := leaked.Load("X-Signature")
		require.True(t, ok, "the thief did not see X-Signature: its check would be blind")
	})
}

// TestTokenRedirectNeverCarriesSecrets has the token endpoint redirect every
// token request (B2B, authorization code, refresh) to another host, with
// every redirect status, through HTTP clients that would follow anything:
// the exchange must refuse before anything reaches the other host, so that
// neither the signature nor the body (refresh token, authorization code)
// leaves the provider's origin, and it must not retry. A 307 within the
// provider's host is still followed.
func TestTokenRedirectNeverCarriesSecrets(t *testing.T) {
	verifyNoLeaks(t)
	var stolen atomic.Int64
	thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(thief.Close)
	thiefURL := strings.Replace(thief.URL, "127.0.0.1", "localhost", 1)
	p := newProvider(t, nil)
	var redirects atomic.Int64
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code := r.URL.Query().Get("redirect"); code != "" {
			redirects.Add(1)
			var status int
			fmt.Sscan(code, &status)
			target := thiefURL + r.URL.Path
			if r.URL.Query().Get("same") != "" {
				target = r.URL.Path
			}
			http.Redirect(w, r, target, status)
			return
		}
		p.serveHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	ctx := context.Background()
	for _, hc := range []*http.Client{
		{},
		{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }},
	} {
		for _, status := range []int{301, 302, 303, 307, 308} {
			q := fmt.Sprintf("?redirect=%d", status)
			b2b := &snapauth.B2BConfig{TokenURL: front.URL + b2bPath + q, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t), HTTPClient: hc}
			cust := &snapauth.B2B2CConfig{TokenURL: front.URL + b2b2cPath + q, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t), HTTPClient: hc}
			n := redirects.Load()
			for name, fetch := range map[string]func() error{
				"B2B":      func() error { _, err := b2b.Token(ctx); return err },
				"exchange": func() error { _, err := cust.Exchange(ctx, p.newAuthCode()); return err },
				"refresh":  func() error { _, err := cust.Refresh(ctx, "rt-"+randomText(16)); return err },
			} {
				err := fetch()
				require.Error(t, err, "%s %d", name, status)
				require.Contains(t, err.Error(), "snapauth: refusing to follow a", "%s %d", name, status)
				require.NotErrorIs(t, err, snapauth.ErrTemporary, "a refused redirect is not retried")
			}
			require.Equal(t, n+3, redirects.Load(), "one request per fetch: a refused redirect is not retried")
		}
	}
	require.Zero(t, stolen.Load(), "token requests that reached the other host")

	// Within the provider's host, a 307/308 keeps the POST and its body.
	b2b := &snapauth.B2BConfig{TokenURL: front.URL + b2bPath + "?redirect=307&same=1", ClientKey: p.clientKey, PrivateKey: testkey.RSA(t)}
	tok, err := b2b.Token(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, tok.AccessToken)
}

// TestPlainHTTPTokenURLRefused checks that a token URL in clear text on the
// network is refused before anything is sent, for every entry point, unless
// its host is loopback or AllowInsecureHTTP is set.
func TestPlainHTTPTokenURLRefused(t *testing.T) {
	verifyNoLeaks(t)
	var calls atomic.Int64
	answer := `{"responseCode":"2007300","accessToken":"tok","tokenType":"Bearer","expiresIn":"900","refreshToken":"rt"}`
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(answer)), Request: r}, nil
	})}
	ctx := context.Background()
	fetches := func(url string, insecure bool) map[string]func() error {
		b2b := &snapauth.B2BConfig{TokenURL: url, ClientKey: "k", PrivateKey: testkey.RSA(t), HTTPClient: hc, AllowInsecureHTTP: insecure}
		cust := &snapauth.B2B2CConfig{TokenURL: url, ClientKey: "k", PrivateKey: testkey.RSA(t), HTTPClient: hc, AllowInsecureHTTP: insecure}
		return map[string]func() error{
			"B2BConfig.Token":         func() error { _, err := b2b.Token(ctx); return err },
			"B2BConfig.TokenSource":   func() error { _, err := b2b.TokenSource(ctx).Token(); return err },
			"B2B2CConfig.Exchange":    func() error { _, err := cust.Exchange(ctx, "code"); return err },
			"B2B2CConfig.Refresh":     func() error { _, err := cust.Refresh(ctx, "rt"); return err },
			"B2B2CConfig.TokenSource": func() error { _, err := cust.TokenSource(ctx, &oauth2.Token{RefreshToken: "rt"}).Token(); return err },
		}
	}
	for _, url := range []string{
		"http://snap.example.com/v1.0/access-token/b2b",
		"HTTP://snap.example.com/v1.0/access-token/b2b",
		"http://10.0.0.7/v1.0/access-token/b2b",
		"http://127.0.0.1.nip.io/v1.0/access-token/b2b",
		"http://localhost.example.com/v1.0/access-token/b2b",
		"ftp://snap.example.com/v1.0/access-token/b2b",
		"//snap.example.com/v1.0/access-token/b2b",
	} {
		for name, fetch := range fetches(url, false) {
			n := calls.Load()
			err := fetch()
			require.Error(t, err, "%s accepted %s", name, url)
			require.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
			require.Equal(t, n, calls.Load(), "%s sent a request to %s", name, url)
		}
	}
	for _, tc := range []struct {
		url      string
		insecure bool
	}{
		{"http://127.0.0.1:8080/v1.0/access-token/b2b", false},
		{"http://127.9.9.9/v1.0/access-token/b2b", false},
		{"http://localhost:8080/v1.0/access-token/b2b", false},
		{"http://[::1]:8080/v1.0/access-token/b2b", false},
		{"https://snap.example.com/v1.0/access-token/b2b", false},
		{"http://snap.example.com/v1.0/access-token/b2b", true},
	} {
		for name, fetch := range fetches(tc.url, tc.insecure) {
			n := calls.Load()
			require.NoError(t, fetch(), "%s refused %s (AllowInsecureHTTP %v)", name, tc.url, tc.insecure)
			require.Equal(t, n+1, calls.Load())
		}
	}
}
