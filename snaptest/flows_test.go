package snaptest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func decodeEcho(t testing.TB, a answer) snaptest.Echo {
	t.Helper()
	var v struct {
		Echo snaptest.Echo `json:"echo"`
	}
	require.NoError(t, json.Unmarshal(a.raw, &v), string(a.raw))
	return v.Echo
}

func TestB2BToken(t *testing.T) {
	srv := snaptest.NewServer()
	defer srv.Close()
	a := send(t, srv, tokenCall{body: `{"grantType":"client_credentials","additionalInfo":{}}`}.request(t, srv, srv.B2BTokenURL()))
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	assert.Equal(t, "2007300", a.code())
	assert.Equal(t, "Bearer", a.str("tokenType"))
	assert.Equal(t, "900", a.fields["expiresIn"], "the standard's expiresIn is a string")
	assert.GreaterOrEqual(t, len(a.str("accessToken")), 200)

	second := b2bToken(t, srv)
	assert.NotEqual(t, a.str("accessToken"), second, "every token is new")
	st := srv.Stats()
	assert.Equal(t, 2, st.Calls[snaptest.EndpointB2B])
	assert.Equal(t, 2, st.Issued[snaptest.EndpointB2B])
	assert.Empty(t, st.Rejections)
	assert.Equal(t, 2, srv.Count(snaptest.EndpointB2B))
}

func TestB2B2CTokenRotation(t *testing.T) {
	srv := snaptest.NewServer()
	defer srv.Close()
	before := time.Now()
	a := exchangeCode(t, srv, srv.MintAuthCode())
	require.Equal(t, "2007400", a.code(), string(a.raw))
	assert.Equal(t, "Bearer", a.str("tokenType"))
	rt := a.str("refreshToken")
	assert.Greater(t, len(rt), 512, "refresh tokens are longer than the standard's 512, to catch truncation")
	for _, f := range []string{"accessTokenExpiryTime", "refreshTokenExpiryTime"} {
		v := a.str(f)
		assert.True(t, strings.HasSuffix(v, "+07:00"), "%s = %q", f, v)
		exp, err := time.Parse(time.RFC3339, v)
		require.NoError(t, err)
		assert.True(t, exp.After(before), f)
	}
	exp, _ := time.Parse(time.RFC3339, a.str("accessTokenExpiryTime"))
	assert.WithinDuration(t, before.Add(snaptest.DefaultTokenLifetime), exp, 5*time.Second)

	// Each refresh token works once and gives a new one.
	seen := map[string]bool{rt: true}
	for range 3 {
		r := refresh(t, srv, rt)
		require.Equal(t, "2007400", r.code(), string(r.raw))
		rt = r.str("refreshToken")
		assert.False(t, seen[rt], "refresh tokens rotate")
		seen[rt] = true
	}
	assert.Equal(t, 4, srv.Stats().Issued[snaptest.EndpointB2B2C])
}

func TestServiceSymmetric(t *testing.T) {
	srv := snaptest.NewServer()
	defer srv.Close()
	token := b2bToken(t, srv)
	pretty := "{\n  \"partnerReferenceNo\": \"2020102900000000000001\",\n  \"amount\": {\"value\": \"10000.00\", \"currency\": \"IDR\"},\n  \"note\": \"a\\u003cb \\u00e9\"\n}"
	c := serviceCall{token: token, body: pretty, externalID: "41807553358950093184162180797837"}
	a := send(t, srv, c.request(t, srv))
	require.Equal(t, "2004700", a.code(), string(a.raw))
	e := decodeEcho(t, a)
	assert.Equal(t, "41807553358950093184162180797837", e.ExternalID)
	assert.Equal(t, srv.PartnerID, e.PartnerID)
	assert.Equal(t, srv.ChannelID, e.ChannelID)
	assert.Equal(t, "symmetric", e.SignatureMode)
	assert.Equal(t, "/v1.0/transfer-va/inquiry", e.EndpointURL)
	assert.JSONEq(t, `{"partnerReferenceNo":"2020102900000000000001","amount":{"value":"10000.00","currency":"IDR"},"note":"a<b é"}`, string(e.Body))

	// The record holds what the server recomputed, equal to what the
	// client signed.
	rec, ok := srv.LastRequest()
	require.True(t, ok)
	want, err := snapauth.ServiceStringToSign("POST", "/v1.0/transfer-va/inquiry", token, []byte(pretty), rec.Header.Get("X-TIMESTAMP"))
	require.NoError(t, err)
	assert.Equal(t, want, rec.StringToSign)
	assert.Equal(t, `{"partnerReferenceNo":"2020102900000000000001","amount":{"value":"10000.00","currency":"IDR"},"note":"a<b é"}`, string(rec.Canonical))

	// The same bytes sent pretty-printed are accepted too: the server
	// hashes its own re-serialisation, as providers do.
	c.externalID, c.sendBody = "", strptr(pretty)
	a = send(t, srv, c.request(t, srv))
	assert.Equal(t, "2004700", a.code(), string(a.raw))

	// A GET with a query and no body.
	a = send(t, srv, serviceCall{token: token, method: http.MethodGet, path: "/v1.0/balance-inquiry?accountNo=123&b=x%20y"}.request(t, srv))
	require.Equal(t, "2004700", a.code(), string(a.raw))
	assert.Equal(t, "/v1.0/balance-inquiry?accountNo=123&b=x%20y", decodeEcho(t, a).EndpointURL)
}

func TestServiceAsymmetric(t *testing.T) {
	for _, mode := range []snaptest.ServiceAuth{snaptest.Asymmetric, snaptest.EitherAuth} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := snaptest.NewServer(snaptest.WithServiceAuth(mode))
			defer srv.Close()
			a := send(t, srv, serviceCall{asymmetric: true, body: `{"a":1}`, edit: func(r *http.Request) { r.Header.Del("Authorization") }}.request(t, srv))
			require.Equal(t, "2004700", a.code(), string(a.raw))
			assert.Equal(t, "asymmetric", decodeEcho(t, a).SignatureMode)
			assert.Zero(t, srv.Count(snaptest.EndpointB2B), "no token needed")
		})
	}
	t.Run("either with a token", func(t *testing.T) {
		srv := snaptest.NewServer(snaptest.WithServiceAuth(snaptest.EitherAuth))
		defer srv.Close()
		a := send(t, srv, serviceCall{token: b2bToken(t, srv), body: `{"a":1}`}.request(t, srv))
		require.Equal(t, "2004700", a.code(), string(a.raw))
		assert.Equal(t, "symmetric", decodeEcho(t, a).SignatureMode)
	})
}

func TestServiceCustomer(t *testing.T) {
	srv := snaptest.NewServer()
	defer srv.Close()
	token := b2bToken(t, srv)
	access, rt := customerTokens(t, srv)
	a := send(t, srv, serviceCall{token: token, customer: access, path: "/v1.0/customer/balance-inquiry", body: `{}`}.request(t, srv))
	require.Equal(t, "2004700", a.code(), string(a.raw))
	first := decodeEcho(t, a).Customer
	assert.NotEmpty(t, first)

	// The refreshed token belongs to the same customer.
	r := refresh(t, srv, rt)
	require.Equal(t, "2007400", r.code())
	a = send(t, srv, serviceCall{token: token, customer: r.str("accessToken"), path: "/v1.0/customer/balance-inquiry", body: `{}`}.request(t, srv))
	require.Equal(t, "2004700", a.code(), string(a.raw))
	assert.Equal(t, first, decodeEcho(t, a).Customer)

	// Another customer is another customer.
	other, _ := customerTokens(t, srv)
	a = send(t, srv, serviceCall{token: token, customer: other, path: "/v1.0/customer/balance-inquiry", body: `{}`}.request(t, srv))
	require.Equal(t, "2004700", a.code(), string(a.raw))
	assert.NotEqual(t, first, decodeEcho(t, a).Customer)

	// A customer token sent on a B2B path is checked too.
	a = send(t, srv, serviceCall{token: token, customer: "made-up", body: `{}`}.request(t, srv))
	assert.Equal(t, "4014702", a.code(), string(a.raw))
}

// TestProviders runs the whole story against each named provider in strict
// mode (WithProvider), through snapauth's own sources and Transport
// configured with nothing but that provider's value and the partner's
// credentials: B2B token, exchange, refresh with rotation, a customer call.
func TestProviders(t *testing.T) {
	for _, name := range snapauth.ProviderNames() {
		p, _ := snapauth.ProviderByName(name)
		t.Run(name, func(t *testing.T) {
			srv := snaptest.NewServer(snaptest.WithProvider(p), snaptest.WithPathPrefix("/snap/"))
			defer srv.Close()
			require.True(t, strings.HasSuffix(srv.URL, "/snap"), srv.URL)
			ctx := context.Background()
			b2b := &snapauth.B2BConfig{
				TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, Provider: p,
				PartnerID: srv.PartnerID, ChannelID: srv.ChannelID, Origin: "merchant.example",
			}
			b2b2c := &snapauth.B2B2CConfig{
				TokenURL: srv.B2B2CTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, Provider: p,
				PartnerID: srv.PartnerID, ChannelID: srv.ChannelID, Origin: "merchant.example",
			}
			tok, err := b2b2c.Exchange(ctx, srv.MintAuthCode())
			require.NoError(t, err)
			src := b2b2c.TokenSource(ctx, tok)
			if inv, ok := src.(snapauth.TokenInvalidator); ok {
				first, err := src.Token()
				require.NoError(t, err)
				inv.Invalidate(first) // the next call refreshes, rotating the refresh token
			}
			client := b2b.Client(ctx, &snapauth.Transport{
				ClientSecret: srv.ClientSecret, PartnerID: srv.PartnerID, ChannelID: srv.ChannelID, Origin: "merchant.example",
			})
			req, err := http.NewRequestWithContext(snapauth.WithCustomerToken(ctx, src), http.MethodPost,
				srv.ServiceURL("/v1.0/customer/inquiry?z=1&a=b%2Fc"), strings.NewReader(`{"x":"y"}`))
			require.NoError(t, err)
			resp, err := client.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var a struct {
				ResponseCode string        `json:"responseCode"`
				Echo         snaptest.Echo `json:"echo"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
			require.Equal(t, "2004700", a.ResponseCode)
			assert.True(t, strings.HasPrefix(a.Echo.EndpointURL, "/snap/v1.0/customer/inquiry"))
			assert.Equal(t, 2, srv.Stats().Issued[snaptest.EndpointB2B2C], "exchange and one refresh")
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
