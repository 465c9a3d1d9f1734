package snaptest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProfileRejections: under WithProvider(p) the server rejects what p's
// provider rejects, with that provider's response code, and accepts the
// same request made right.
func TestProfileRejections(t *testing.T) {
	finnet := []snaptest.Option{snaptest.WithProvider(snapauth.Finnet)}
	withOrigin := func(r *http.Request) { r.Header.Set("ORIGIN", "merchant.example") }
	svc := func(edit func(c *serviceCall)) func(testing.TB, *snaptest.Server) *http.Request {
		return func(t testing.TB, srv *snaptest.Server) *http.Request {
			c := serviceCall{token: profileToken(t, srv), body: `{"a":"b"}`, edit: withOrigin}
			edit(&c)
			return c.request(t, srv)
		}
	}
	// refreshFinnet exchanges a code, then refreshes sending authCode (nil: none).
	refreshFinnet := func(authCode func(bound string) *string) func(testing.TB, *snaptest.Server) *http.Request {
		return func(t testing.TB, srv *snaptest.Server) *http.Request {
			code := srv.MintAuthCode()
			a := exchangeCode(t, srv, code)
			require.Equal(t, "2007400", a.code(), string(a.raw))
			body := map[string]string{"grantType": "refresh_token", "refreshToken": a.str("refreshToken")}
			if c := authCode(code); c != nil {
				body["authCode"] = *c
			}
			raw, _ := json.Marshal(body)
			return tokenCall{body: string(raw)}.request(t, srv, srv.B2B2CTokenURL())
		}
	}
	form := snapauth.Provider{Name: "form", TokenBody: snapauth.TokenBodyForm}
	tests := []requestCase{
		{"finnet 32-digit external id", finnet, svc(func(c *serviceCall) { c.externalID = strings.Repeat("7", 32) }), 200, "2004700", snaptest.ReasonNone},
		{"finnet 33-digit external id", finnet, svc(func(c *serviceCall) { c.externalID = strings.Repeat("7", 33) }), 400, "4004701", snaptest.ReasonExternalIDFormat},
		{"standard 36-digit external id", nil, svc(func(c *serviceCall) { c.externalID = strings.Repeat("7", 36) }), 200, "2004700", snaptest.ReasonNone},
		{"finnet service call without ORIGIN", finnet, svc(func(c *serviceCall) { c.edit = nil }), 400, "4004702", snaptest.ReasonMissingHeader},
		{"finnet refresh with the bound authCode", finnet, refreshFinnet(func(bound string) *string { return &bound }), 200, "2007400", snaptest.ReasonNone},
		{"finnet refresh with an empty authCode", finnet, refreshFinnet(func(string) *string { return strptr("") }), 400, "4007402", snaptest.ReasonBody},
		{"finnet refresh without authCode", finnet, refreshFinnet(func(string) *string { return nil }), 400, "4007402", snaptest.ReasonBody},
		{"finnet refresh with another authCode", finnet, refreshFinnet(func(string) *string { return strptr("another") }), 401, "4017401", snaptest.ReasonAuthCode},
		{"dana query signed in the EndpointUrl", []snaptest.Option{snaptest.WithProvider(snapauth.DANA)}, svc(func(c *serviceCall) {
			c.method, c.body, c.path, c.externalID = http.MethodGet, "", "/v1.0/balance?account=1", "2b0c5a3e-8f7d-4c1e-9a2b-3d4e5f6a7b8c"
			// signed as a standard client would: the query in the EndpointUrl
		}), 401, "4014700", snaptest.ReasonSignature},
		{"dana path-only signature with a UUID id", []snaptest.Option{snaptest.WithProvider(snapauth.DANA)}, svc(func(c *serviceCall) {
			c.method, c.body, c.path, c.externalID = http.MethodGet, "", "/v1.0/balance?account=1", "2b0c5a3e-8f7d-4c1e-9a2b-3d4e5f6a7b8c"
			c.provider = snapauth.Provider{EndpointForm: snapauth.EndpointPathOnly}
		}), 200, "2004700", snaptest.ReasonNone},
		{"standard UUID external id", nil, svc(func(c *serviceCall) { c.externalID = "2b0c5a3e-8f7d-4c1e-9a2b-3d4e5f6a7b8c" }), 400, "4004701", snaptest.ReasonExternalIDFormat},
		{"dana token call without X-PARTNER-ID", []snaptest.Option{snaptest.WithProvider(snapauth.DANA)}, func(t testing.TB, srv *snaptest.Server) *http.Request {
			return tokenCall{body: `{"grantType":"CLIENT_CREDENTIALS"}`, edit: func(r *http.Request) { r.Header.Set("CHANNEL-ID", srv.ChannelID) }}.request(t, srv, srv.B2BTokenURL())
		}, 400, "4007302", snaptest.ReasonMissingHeader},
		{"dana token call with another partner", []snaptest.Option{snaptest.WithProvider(snapauth.DANA)}, func(t testing.TB, srv *snaptest.Server) *http.Request {
			return tokenCall{body: `{"grantType":"CLIENT_CREDENTIALS"}`, edit: func(r *http.Request) {
				r.Header.Set("CHANNEL-ID", srv.ChannelID)
				r.Header.Set("X-PARTNER-ID", "someone-else")
			}}.request(t, srv, srv.B2BTokenURL())
		}, 401, "4017300", snaptest.ReasonPartnerID},
		{"midtrans token body in camel case", []snaptest.Option{snaptest.WithProvider(snapauth.Midtrans)}, func(t testing.TB, srv *snaptest.Server) *http.Request {
			return tokenCall{provider: snapauth.Midtrans, body: clientCredentials}.request(t, srv, srv.B2BTokenURL())
		}, 400, "4007302", snaptest.ReasonGrantType},
		{"midtrans token body in snake case", []snaptest.Option{snaptest.WithProvider(snapauth.Midtrans)}, func(t testing.TB, srv *snaptest.Server) *http.Request {
			return tokenCall{provider: snapauth.Midtrans, body: `{"grant_type":"client_credentials"}`}.request(t, srv, srv.B2BTokenURL())
		}, 200, "2007300", snaptest.ReasonNone},
		{"midtrans timestamp with an offset", []snaptest.Option{snaptest.WithProvider(snapauth.Midtrans)}, func(t testing.TB, srv *snaptest.Server) *http.Request {
			return tokenCall{body: `{"grant_type":"client_credentials"}`}.request(t, srv, srv.B2BTokenURL())
		}, 400, "4007301", snaptest.ReasonTimestampFormat},
		{"form provider sent JSON", []snaptest.Option{snaptest.WithProvider(form)}, b2bCall(tokenCall{body: clientCredentials}), 400, "4007301", snaptest.ReasonContentType},
		{"form provider sent a form", []snaptest.Option{snaptest.WithProvider(form)}, b2bCall(tokenCall{body: "grant_type=client_credentials", edit: func(r *http.Request) {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}}), 200, "2007300", snaptest.ReasonNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := snaptest.NewServer(tt.opts...)
			defer srv.Close()
			a := send(t, srv, tt.req(t, srv))
			assert.Equal(t, tt.status, a.status, string(a.raw))
			assert.Equal(t, tt.code, a.code(), string(a.raw))
			rec, ok := srv.LastRequest()
			require.True(t, ok)
			assert.Equal(t, tt.reason, rec.Reason)
		})
	}
}

// profileToken fetches a B2B token by hand from a server in any of the
// JSON-bodied profiles: the grant in either casing (retried upper case),
// with the partner's X-PARTNER-ID and CHANNEL-ID, which DANA wants.
func profileToken(t testing.TB, srv *snaptest.Server) string {
	t.Helper()
	edit := func(r *http.Request) {
		r.Header.Set("X-PARTNER-ID", srv.PartnerID)
		r.Header.Set("CHANNEL-ID", srv.ChannelID)
	}
	a := send(t, srv, tokenCall{body: clientCredentials, edit: edit}.request(t, srv, srv.B2BTokenURL()))
	if a.code() == "4007301" {
		a = send(t, srv, tokenCall{body: `{"grantType":"CLIENT_CREDENTIALS"}`, edit: edit}.request(t, srv, srv.B2BTokenURL()))
	}
	require.Equal(t, "2007300", a.code(), string(a.raw))
	return a.str("accessToken")
}

func b2bCall(c tokenCall) func(testing.TB, *snaptest.Server) *http.Request {
	return func(t testing.TB, srv *snaptest.Server) *http.Request { return c.request(t, srv, srv.B2BTokenURL()) }
}

// TestProfileAnswers: the server answers in the provider's forms.
func TestProfileAnswers(t *testing.T) {
	srv := snaptest.NewServer(snaptest.WithProvider(snapauth.Finnet))
	defer srv.Close()
	a := send(t, srv, tokenCall{body: clientCredentials}.request(t, srv, srv.B2BTokenURL()))
	require.Equal(t, "2007300", a.code(), string(a.raw))
	assert.Contains(t, string(a.raw), `"expiresIn":900`, "Finnet's sample answers a number")
	a = exchangeCode(t, srv, srv.MintAuthCode())
	require.Equal(t, "2007400", a.code(), string(a.raw))
	for _, f := range []string{"accessTokenExpiryTime", "refreshTokenExpiryTime"} {
		assert.True(t, strings.HasSuffix(a.str(f), "+00:00"), "%s = %q, as Finnet's sample", f, a.str(f))
	}

	at := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	durian := snapauth.Provider{Name: "datetime", ExpiresIn: snapauth.ExpiresInDateTime, TimestampLayout: snapauth.TimestampLayoutMillis}
	srv2 := snaptest.NewServer(snaptest.WithProvider(durian), snaptest.WithClock(func() time.Time { return at }))
	defer srv2.Close()
	a = send(t, srv2, tokenCall{provider: durian, at: at, body: clientCredentials}.request(t, srv2, srv2.B2BTokenURL()))
	require.Equal(t, "2007300", a.code(), string(a.raw))
	assert.Equal(t, "2026-03-01T10:15:00+07:00", a.str("expiresIn"))
}

// TestBindingByAPI: the signed account-binding call answers the consent page,
// whose approval redirects with an authCode and the partner's state, which
// then exchanges.
func TestBindingByAPI(t *testing.T) {
	srv := snaptest.NewServer(snaptest.WithProvider(snapauth.Finnet))
	defer srv.Close()
	body := `{"partnerReferenceNo":"ref-1","redirectUrl":"https://partner.example/bound?state=s-42"}`
	a := send(t, srv, serviceCall{token: b2bToken(t, srv), path: "/v1.0/registration-account-binding", body: body,
		edit: func(r *http.Request) { r.Header.Set("ORIGIN", "merchant.example") }}.request(t, srv))
	require.Equal(t, "2000700", a.code(), string(a.raw))
	assert.Equal(t, "ref-1", a.str("partnerReferenceNo"))
	assert.NotEmpty(t, a.str("linkageToken"))
	assert.Equal(t, 1, srv.Count(snaptest.EndpointBinding))

	ticket := openConsent(t, srv, a.str("redirectUrl"))
	resp := decide(t, srv, ticket, "approve")
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "partner.example", loc.Host)
	assert.Equal(t, "s-42", loc.Query().Get("state"))
	e := exchangeCode(t, srv, loc.Query().Get("authCode"))
	assert.Equal(t, "2007400", e.code(), string(e.raw))

	// Unsigned or without redirectUrl, it is refused like any service call.
	a = send(t, srv, serviceCall{token: b2bToken(t, srv), path: "/v1.0/registration-account-binding", body: `{"partnerReferenceNo":"ref-2"}`,
		edit: func(r *http.Request) { r.Header.Set("ORIGIN", "merchant.example") }}.request(t, srv))
	assert.Equal(t, "4000702", a.code(), string(a.raw))
	a = send(t, srv, serviceCall{token: b2bToken(t, srv), secret: "wrong", path: "/v1.0/registration-account-binding", body: body,
		edit: func(r *http.Request) { r.Header.Set("ORIGIN", "merchant.example") }}.request(t, srv))
	assert.Equal(t, "4010700", a.code(), string(a.raw))
}
