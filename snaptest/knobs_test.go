package snaptest_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFailTokenCalls(t *testing.T) {
	srv := snaptest.NewServer()
	defer srv.Close()
	srv.FailTokenCalls(2, http.StatusServiceUnavailable, "")
	srv.FailTokenCalls(1, http.StatusInternalServerError, "5007301")
	for _, want := range []struct {
		status int
		code   string
	}{{503, "5037300"}, {503, "5037300"}, {500, "5007301"}, {200, "2007300"}} {
		a := send(t, srv, tokenCall{body: clientCredentials}.request(t, srv, srv.B2BTokenURL()))
		assert.Equal(t, want.status, a.status)
		assert.Equal(t, want.code, a.code(), string(a.raw))
		if want.status == 503 {
			assert.Equal(t, "1", a.header.Get("Retry-After"))
		}
	}
	assert.Equal(t, 3, srv.Stats().Rejections[snaptest.ReasonInjected])

	// The B2B2C endpoint shares the queue; n <= 0 clears it.
	srv.FailTokenCalls(1, http.StatusTooManyRequests, "")
	a := exchangeCode(t, srv, srv.MintAuthCode())
	assert.Equal(t, "4297400", a.code())
	srv.FailTokenCalls(5, http.StatusInternalServerError, "")
	srv.FailTokenCalls(0, 0, "")
	b2bToken(t, srv)

	srv.FailServiceCalls(1, http.StatusGatewayTimeout, "")
	a = send(t, srv, serviceCall{token: b2bToken(t, srv)}.request(t, srv))
	assert.Equal(t, "5044700", a.code())
	assert.Equal(t, "Timeout", a.str("responseMessage"))
}

func TestHTMLTokenCalls(t *testing.T) {
	srv := snaptest.NewServer()
	defer srv.Close()
	srv.HTMLTokenCalls(1, http.StatusBadGateway)
	a := send(t, srv, tokenCall{body: clientCredentials}.request(t, srv, srv.B2BTokenURL()))
	assert.Equal(t, http.StatusBadGateway, a.status)
	assert.Equal(t, "text/html; charset=utf-8", a.header.Get("Content-Type"))
	assert.Contains(t, string(a.raw), "<title>502 Bad Gateway</title>")
	assert.Nil(t, a.fields, "not JSON")
	b2bToken(t, srv)
}

func TestDelay(t *testing.T) {
	srv := snaptest.NewServer(snaptest.WithDelay(100 * time.Millisecond))
	defer srv.Close()
	start := time.Now()
	b2bToken(t, srv)
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond)

	// A client that gives up ends the wait.
	srv.Configure(snaptest.WithDelay(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req := tokenCall{body: clientCredentials}.request(t, srv, srv.B2BTokenURL()).WithContext(ctx)
	_, err := srv.Client().Do(req)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	// Close returns although a request waits an hour (checked by the
	// test's own time limit), because closing ends the delay.
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := srv.Client().Do(tokenCall{body: clientCredentials}.request(t, srv, srv.B2BTokenURL()))
		if err == nil {
			resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool { return srv.Count(snaptest.EndpointB2B) == 3 }, 5*time.Second, 5*time.Millisecond)
	srv.Close()
	<-done
}

func TestExpiresInAndLifetime(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	srv := snaptest.NewServer(snaptest.WithExpiresInNumber(true), snaptest.WithTokenLifetime(time.Minute),
		snaptest.WithClock(clock.Now), snaptest.WithTokenType("bearer"))
	defer srv.Close()
	a := send(t, srv, tokenCall{body: clientCredentials}.request(t, srv, srv.B2BTokenURL()))
	require.Equal(t, "2007300", a.code())
	assert.Equal(t, float64(60), a.fields["expiresIn"], "a JSON number")
	assert.Equal(t, "bearer", a.str("tokenType"))
	token := a.str("accessToken")

	srv.Configure(snaptest.WithExpiresInNumber(false))
	a = send(t, srv, tokenCall{body: clientCredentials}.request(t, srv, srv.B2BTokenURL()))
	assert.Equal(t, "60", a.fields["expiresIn"])

	// The token works until the server's clock passes its lifetime. The
	// client's timestamps follow the server's clock.
	call := func() answer {
		return send(t, srv, serviceCall{token: token, at: clock.Now()}.request(t, srv))
	}
	assert.Equal(t, "2004700", call().code())
	clock.Advance(59 * time.Second)
	assert.Equal(t, "2004700", call().code())
	clock.Advance(time.Second)
	assert.Equal(t, "4014701", call().code())
}

func TestAuthCodeExpires(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	srv := snaptest.NewServer(snaptest.WithClock(clock.Now), snaptest.WithRefreshTokenLifetime(time.Hour))
	defer srv.Close()
	code := srv.MintAuthCode()
	clock.Advance(snaptest.DefaultAuthCodeLifetime)
	body := `{"grantType":"authorization_code","authCode":"` + code + `"}`
	a := send(t, srv, tokenCall{at: clock.Now(), body: body}.request(t, srv, srv.B2B2CTokenURL()))
	assert.Equal(t, "4017401", a.code())
	assert.Contains(t, a.str("responseMessage"), "expired")

	a = send(t, srv, tokenCall{at: clock.Now(), body: `{"grantType":"authorization_code","authCode":"` + srv.MintAuthCode() + `"}`}.request(t, srv, srv.B2B2CTokenURL()))
	require.Equal(t, "2007400", a.code())
	clock.Advance(time.Hour)
	a = send(t, srv, tokenCall{at: clock.Now(), body: `{"grantType":"refresh_token","refreshToken":"` + a.str("refreshToken") + `"}`}.request(t, srv, srv.B2B2CTokenURL()))
	assert.Equal(t, "4017401", a.code())
	assert.Contains(t, a.str("responseMessage"), "expired")
}

func TestRevoke(t *testing.T) {
	srv := snaptest.NewServer()
	defer srv.Close()
	token := b2bToken(t, srv)
	access, rt := customerTokens(t, srv)
	customerCall := func(token, access string) answer {
		return send(t, srv, serviceCall{token: token, customer: access, path: "/v1.0/customer/x"}.request(t, srv))
	}
	require.Equal(t, "2004700", customerCall(token, access).code())

	srv.RevokeAccessTokens()
	assert.Equal(t, "4014701", customerCall(token, access).code())
	token = b2bToken(t, srv)
	assert.Equal(t, "4014702", customerCall(token, access).code())
	r := refresh(t, srv, rt)
	require.Equal(t, "2007400", r.code(), "refresh tokens survive RevokeAccessTokens")
	require.Equal(t, "2004700", customerCall(token, r.str("accessToken")).code())

	srv.RevokeAll()
	assert.Equal(t, "4014701", customerCall(token, r.str("accessToken")).code())
	assert.Equal(t, "4017401", refresh(t, srv, r.str("refreshToken")).code())
}

func TestRefreshReuseRevokesFamily(t *testing.T) {
	for _, revoke := range []bool{false, true} {
		t.Run(fmt.Sprint("revoke=", revoke), func(t *testing.T) {
			srv := snaptest.NewServer(snaptest.WithRevokeOnRefreshReuse(revoke))
			defer srv.Close()
			token := b2bToken(t, srv)
			_, old := customerTokens(t, srv)
			bystander, bystanderRT := customerTokens(t, srv)
			r := refresh(t, srv, old)
			require.Equal(t, "2007400", r.code())
			newAccess, newRT := r.str("accessToken"), r.str("refreshToken")

			reused := refresh(t, srv, old)
			assert.Equal(t, "4017401", reused.code())
			assert.Equal(t, 1, srv.Stats().Rejections[snaptest.ReasonRefreshReuse])

			wantAccess, wantRefresh := "2004700", "2007400"
			if revoke {
				wantAccess, wantRefresh = "4014702", "4017401"
			}
			a := send(t, srv, serviceCall{token: token, customer: newAccess, path: "/v1.0/customer/x"}.request(t, srv))
			assert.Equal(t, wantAccess, a.code())
			assert.Equal(t, wantRefresh, refresh(t, srv, newRT).code())

			// Another customer's family is untouched.
			a = send(t, srv, serviceCall{token: token, customer: bystander, path: "/v1.0/customer/x"}.request(t, srv))
			assert.Equal(t, "2004700", a.code())
			assert.Equal(t, "2007400", refresh(t, srv, bystanderRT).code())
		})
	}
}

func TestConcurrentSingleUse(t *testing.T) {
	srv := snaptest.NewServer()
	defer srv.Close()
	token := b2bToken(t, srv)
	_, rt := customerTokens(t, srv)
	code := srv.MintAuthCode()

	const n = 8
	var (
		wg                        sync.WaitGroup
		mu                        sync.Mutex
		refreshOK, codeOK, extIDs int
	)
	for range n {
		wg.Go(func() {
			r := refresh(t, srv, rt)
			c := exchangeCode(t, srv, code)
			s := send(t, srv, serviceCall{token: token, externalID: "777"}.request(t, srv))
			mu.Lock()
			defer mu.Unlock()
			refreshOK += b2i(r.code() == "2007400")
			codeOK += b2i(c.code() == "2007400")
			extIDs += b2i(s.code() == "2004700")
		})
	}
	wg.Wait()
	assert.Equal(t, 1, refreshOK, "a refresh token is used once")
	assert.Equal(t, 1, codeOK, "an auth code is used once")
	assert.Equal(t, 1, extIDs, "an external id is used once a day")
}

func TestExternalIDNextDay(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 3, 1, 23, 50, 0, 0, snapauth.Jakarta)}
	srv := snaptest.NewServer(snaptest.WithClock(clock.Now), snaptest.WithTokenLifetime(time.Hour))
	defer srv.Close()
	a := send(t, srv, tokenCall{at: clock.Now(), body: clientCredentials}.request(t, srv, srv.B2BTokenURL()))
	token := a.str("accessToken")
	call := func() string {
		return send(t, srv, serviceCall{token: token, at: clock.Now(), externalID: "1"}.request(t, srv)).code()
	}
	assert.Equal(t, "2004700", call())
	assert.Equal(t, "4094700", call())
	clock.Advance(15 * time.Minute) // past midnight in Jakarta
	assert.Equal(t, "2004700", call())
}

func TestCredentials(t *testing.T) {
	srv := snaptest.NewServer()
	defer srv.Close()
	for _, s := range []string{fmt.Sprint(srv.Credentials), fmt.Sprintf("%+v", srv.Credentials), fmt.Sprintf("%#v", srv.Credentials), fmt.Sprint(srv)} {
		assert.NotContains(t, s, srv.ClientSecret)
		assert.NotContains(t, s, srv.PrivateKey.D.String())
		assert.NotContains(t, s, "PRIVATE KEY")
		assert.Contains(t, s, srv.ClientKey)
	}
	key, err := snapauth.ParsePrivateKey(srv.PrivateKeyPEM())
	require.NoError(t, err)
	assert.True(t, key.Equal(srv.PrivateKey))
	pub, err := snapauth.ParsePublicKey(srv.PublicKeyPEM())
	require.NoError(t, err)
	assert.True(t, pub.Equal(&srv.PrivateKey.PublicKey))
	assert.Equal(t, 2048, srv.PrivateKey.N.BitLen())
	assert.LessOrEqual(t, len(srv.PartnerID), 36)
	assert.LessOrEqual(t, len(srv.ChannelID), 5)

	other := snaptest.NewServer(snaptest.WithCredentials(snaptest.Credentials{ClientKey: "mine", PartnerID: "P1"}))
	defer other.Close()
	assert.Equal(t, "mine", other.ClientKey)
	assert.Equal(t, "P1", other.PartnerID)
	assert.NotEqual(t, srv.ClientSecret, other.ClientSecret, "each server has its own secret")
	b2bToken(t, other)
	a := send(t, srv, tokenCall{clientKey: "mine", body: clientCredentials}.request(t, srv, srv.B2BTokenURL()))
	assert.Equal(t, "4017300", a.code(), "a server knows only its own client")
}

func TestObserver(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []snaptest.Record
	)
	srv := snaptest.NewServer(snaptest.WithObserver(func(r snaptest.Record) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r)
	}))
	defer srv.Close()
	token := b2bToken(t, srv)
	send(t, srv, serviceCall{token: token, secret: "wrong", body: `{"a": 1}`}.request(t, srv))
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 2)
	assert.Equal(t, snaptest.EndpointB2B, seen[0].Endpoint)
	assert.Equal(t, "2007300", seen[0].ResponseCode)
	assert.Equal(t, seen[0].Header.Get("X-CLIENT-KEY")+"|"+seen[0].Header.Get("X-TIMESTAMP"), seen[0].StringToSign)
	assert.Equal(t, snaptest.ReasonSignature, seen[1].Reason)
	assert.Equal(t, `{"a":1}`, string(seen[1].Canonical))
	assert.True(t, strings.HasPrefix(seen[1].StringToSign, "POST:/v1.0/transfer-va/inquiry:"+token+":"), seen[1].StringToSign)
	assert.Equal(t, "symmetric", seen[1].SignatureMode)
}

func TestUnstartedServer(t *testing.T) {
	srv := snaptest.NewUnstartedServer()
	assert.Empty(t, srv.URL)
	srv.Start()
	defer srv.Close()
	assert.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), srv.URL)
	assert.Panics(t, srv.Start)
	b2bToken(t, srv)

	// A listener of the caller's choice, as a command-line sandbox needs.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	own := snaptest.NewUnstartedServer(snaptest.WithPathPrefix("openapi"))
	own.Listener = l
	own.Start()
	defer own.Close()
	assert.Equal(t, "http://"+l.Addr().String()+"/openapi", own.URL)
	b2bToken(t, own)
}
