package snaptest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const clientCredentials = `{"grantType":"client_credentials"}`

func strptr(s string) *string { return &s }

// TestRejections sends each kind of bad request, signed by hand, and checks
// the exact SNAP answer and the reason the server counted.
func TestRejections(t *testing.T) {
	setHeader := func(name, value string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set(name, value) }
	}
	delHeader := func(name string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Del(name) }
	}
	b2b := func(c tokenCall) func(testing.TB, *snaptest.Server) *http.Request {
		if c.body == "" {
			c.body = clientCredentials
		}
		return func(t testing.TB, srv *snaptest.Server) *http.Request { return c.request(t, srv, srv.B2BTokenURL()) }
	}
	b2b2c := func(c tokenCall) func(testing.TB, *snaptest.Server) *http.Request {
		return func(t testing.TB, srv *snaptest.Server) *http.Request { return c.request(t, srv, srv.B2B2CTokenURL()) }
	}
	// svc builds a symmetric service call with a live B2B token; edit may
	// change the call before it is signed.
	svc := func(edit func(t testing.TB, srv *snaptest.Server, c *serviceCall)) func(testing.TB, *snaptest.Server) *http.Request {
		return func(t testing.TB, srv *snaptest.Server) *http.Request {
			c := serviceCall{token: b2bToken(t, srv), body: `{"partnerServiceId":"  088899","customerNo":"12345678901234567890","virtualAccountNo":"  08889912345678901234567890"}`}
			if edit != nil {
				edit(t, srv, &c)
			}
			return c.request(t, srv)
		}
	}
	usedCode := func(t testing.TB, srv *snaptest.Server) string {
		code := srv.MintAuthCode()
		require.Equal(t, "2007400", exchangeCode(t, srv, code).code())
		return code
	}

	tests := []requestCase{
		// B2B token endpoint.
		{"b2b signed with another key", nil, b2b(tokenCall{key: testkey.Other(t)}), 401, "4017300", snaptest.ReasonSignature},
		{"b2b signature over another client key", nil, b2b(tokenCall{signKey: "someone-else"}), 401, "4017300", snaptest.ReasonSignature},
		{"b2b signature header garbage", nil, b2b(tokenCall{edit: setHeader("X-SIGNATURE", "bm90IGEgc2lnbmF0dXJl")}), 401, "4017300", snaptest.ReasonSignature},
		{"b2b timestamp changed after signing", nil, b2b(tokenCall{edit: func(r *http.Request) {
			r.Header.Set("X-TIMESTAMP", snapauth.Standard.Timestamp(time.Now().Add(-time.Second)))
		}}), 401, "4017300", snaptest.ReasonSignature},
		{"b2b unknown client key", nil, b2b(tokenCall{clientKey: "nobody"}), 401, "4017300", snaptest.ReasonUnknownClient},
		{"b2b timestamp 10 minutes old", nil, b2b(tokenCall{at: time.Now().Add(-10 * time.Minute)}), 401, "4017300", snaptest.ReasonTimestampSkew},
		{"b2b timestamp 10 minutes ahead", nil, b2b(tokenCall{at: time.Now().Add(10 * time.Minute)}), 401, "4017300", snaptest.ReasonTimestampSkew},
		{"b2b skew knob", []snaptest.Option{snaptest.WithSkew(time.Second)}, b2b(tokenCall{at: time.Now().Add(-30 * time.Second)}), 401, "4017300", snaptest.ReasonTimestampSkew},
		{"b2b timestamp without zone", nil, b2b(tokenCall{timestamp: time.Now().Format("2006-01-02T15:04:05")}), 400, "4007301", snaptest.ReasonTimestampFormat},
		{"b2b timestamp RFC 1123", nil, b2b(tokenCall{timestamp: time.Now().Format(time.RFC1123)}), 400, "4007301", snaptest.ReasonTimestampFormat},
		{"b2b timestamp with Z at a standard provider", nil, b2b(tokenCall{timestamp: time.Now().UTC().Format(time.RFC3339)}), 400, "4007301", snaptest.ReasonTimestampFormat},
		{"b2b timestamp with millis at a standard provider", nil, b2b(tokenCall{provider: snapauth.BRI}), 400, "4007301", snaptest.ReasonTimestampFormat},
		{"b2b standard timestamp at BRI", []snaptest.Option{snaptest.WithProvider(snapauth.BRI)}, b2b(tokenCall{}), 400, "4007301", snaptest.ReasonTimestampFormat},
		{"b2b +07:00 timestamp at DOKU", []snaptest.Option{snaptest.WithProvider(snapauth.DOKU)}, b2b(tokenCall{}), 400, "4007301", snaptest.ReasonTimestampFormat},
		{"b2b missing X-TIMESTAMP", nil, b2b(tokenCall{edit: delHeader("X-TIMESTAMP")}), 400, "4007302", snaptest.ReasonMissingHeader},
		{"b2b missing X-CLIENT-KEY", nil, b2b(tokenCall{edit: delHeader("X-CLIENT-KEY")}), 400, "4007302", snaptest.ReasonMissingHeader},
		{"b2b missing X-SIGNATURE", nil, b2b(tokenCall{edit: delHeader("X-SIGNATURE")}), 400, "4007302", snaptest.ReasonMissingHeader},
		{"b2b missing Content-Type", nil, b2b(tokenCall{edit: delHeader("Content-Type")}), 400, "4007302", snaptest.ReasonContentType},
		{"b2b form Content-Type", nil, b2b(tokenCall{edit: setHeader("Content-Type", "application/x-www-form-urlencoded")}), 400, "4007301", snaptest.ReasonContentType},
		{"b2b wrong grant", nil, b2b(tokenCall{body: `{"grantType":"password"}`}), 400, "4007301", snaptest.ReasonGrantType},
		{"b2b grant in upper case at a standard provider", nil, b2b(tokenCall{body: `{"grantType":"CLIENT_CREDENTIALS"}`}), 400, "4007301", snaptest.ReasonGrantType},
		{"b2b grant in lower case at DANA", []snaptest.Option{snaptest.WithProvider(snapauth.DANA)}, func(t testing.TB, srv *snaptest.Server) *http.Request {
			return tokenCall{body: clientCredentials, edit: func(r *http.Request) {
				r.Header.Set("X-PARTNER-ID", srv.PartnerID)
				r.Header.Set("CHANNEL-ID", srv.ChannelID)
			}}.request(t, srv, srv.B2BTokenURL())
		}, 400, "4007301", snaptest.ReasonGrantType},
		{"b2b grant not a string", nil, b2b(tokenCall{body: `{"grantType":1}`}), 400, "4007301", snaptest.ReasonGrantType},
		{"b2b missing grant", nil, b2b(tokenCall{body: `{"additionalInfo":{}}`}), 400, "4007302", snaptest.ReasonGrantType},
		{"b2b body not JSON", nil, b2b(tokenCall{body: `grantType=client_credentials`}), 400, "4007300", snaptest.ReasonBody},
		{"b2b GET", nil, func(t testing.TB, srv *snaptest.Server) *http.Request {
			r, _ := http.NewRequest(http.MethodGet, srv.B2BTokenURL(), nil)
			return r
		}, 405, "4057300", snaptest.ReasonMethod},

		// B2B2C token endpoint.
		{"b2b2c wrong grant", nil, b2b2c(tokenCall{body: clientCredentials}), 400, "4007401", snaptest.ReasonGrantType},
		{"b2b2c signed with another key", nil, b2b2c(tokenCall{key: testkey.Other(t), body: `{"grantType":"authorization_code","authCode":"x"}`}), 401, "4017400", snaptest.ReasonSignature},
		{"b2b2c missing authCode", nil, b2b2c(tokenCall{body: `{"grantType":"authorization_code"}`}), 400, "4007402", snaptest.ReasonBody},
		{"b2b2c unknown authCode", nil, b2b2c(tokenCall{body: `{"grantType":"authorization_code","authCode":"made-up"}`}), 401, "4017401", snaptest.ReasonAuthCode},
		{"b2b2c reused authCode", nil, func(t testing.TB, srv *snaptest.Server) *http.Request {
			code, _ := json.Marshal(usedCode(t, srv))
			return tokenCall{body: `{"grantType":"authorization_code","authCode":` + string(code) + `}`}.request(t, srv, srv.B2B2CTokenURL())
		}, 401, "4017401", snaptest.ReasonAuthCode},
		{"b2b2c missing refreshToken", nil, b2b2c(tokenCall{body: `{"grantType":"refresh_token"}`}), 400, "4007402", snaptest.ReasonBody},
		{"b2b2c unknown refreshToken", nil, b2b2c(tokenCall{body: `{"grantType":"refresh_token","refreshToken":"made-up"}`}), 401, "4017401", snaptest.ReasonRefreshToken},
		{"b2b2c access token used as refreshToken", nil, func(t testing.TB, srv *snaptest.Server) *http.Request {
			access, _ := customerTokens(t, srv)
			return tokenCall{body: `{"grantType":"refresh_token","refreshToken":"` + access + `"}`}.request(t, srv, srv.B2B2CTokenURL())
		}, 401, "4017401", snaptest.ReasonRefreshToken},
		{"b2b2c reused refreshToken", nil, func(t testing.TB, srv *snaptest.Server) *http.Request {
			_, rt := customerTokens(t, srv)
			require.Equal(t, "2007400", refresh(t, srv, rt).code())
			return tokenCall{body: `{"grantType":"refresh_token","refreshToken":"` + rt + `"}`}.request(t, srv, srv.B2B2CTokenURL())
		}, 401, "4017401", snaptest.ReasonRefreshReuse},
		{"b2b2c refresh without authCode at Finnet", []snaptest.Option{snaptest.WithProvider(snapauth.Finnet)}, func(t testing.TB, srv *snaptest.Server) *http.Request {
			_, rt := customerTokens(t, srv)
			return tokenCall{body: `{"grantType":"refresh_token","refreshToken":"` + rt + `"}`}.request(t, srv, srv.B2B2CTokenURL())
		}, 400, "4007402", snaptest.ReasonBody},

		// Service family.
		{"service bad symmetric signature", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) { c.secret = "not-the-secret" }), 401, "4014700", snaptest.ReasonSignature},
		{"service symmetric signature over another token", nil, svc(func(t testing.TB, srv *snaptest.Server, c *serviceCall) {
			other := b2bToken(t, srv)
			c.edit = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+other) }
		}), 401, "4014700", snaptest.ReasonSignature},
		{"service bad asymmetric signature", []snaptest.Option{snaptest.WithServiceAuth(snaptest.Asymmetric)}, svc(func(t testing.TB, _ *snaptest.Server, c *serviceCall) {
			c.asymmetric, c.key = true, testkey.Other(t)
		}), 401, "4014700", snaptest.ReasonSignature},
		{"service symmetric signature where asymmetric is expected", []snaptest.Option{snaptest.WithServiceAuth(snaptest.Asymmetric)}, svc(nil), 401, "4014700", snaptest.ReasonSignature},
		{"service asymmetric without token where symmetric is expected", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) { c.asymmetric = true }), 401, "4014703", snaptest.ReasonTokenMissing},
		{"service body re-ordered after signing", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) {
			c.body = `{"a":"1","b":"2"}`
			c.sendBody = strptr(`{"b":"2","a":"1"}`)
		}), 401, "4014700", snaptest.ReasonSignature},
		{"service body changed after signing", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) {
			c.body = `{"amount":{"value":"10000.00","currency":"IDR"}}`
			c.sendBody = strptr(`{"amount":{"value":"90000.00","currency":"IDR"}}`)
		}), 401, "4014700", snaptest.ReasonSignature},
		{"service query changed after signing", nil, svc(func(_ testing.TB, srv *snaptest.Server, c *serviceCall) {
			c.method, c.body, c.path = http.MethodGet, "", "/v1.0/balance?account=1"
			c.edit = func(r *http.Request) { r.URL.RawQuery = "account=2" }
		}), 401, "4014700", snaptest.ReasonSignature},
		{"service query sent unsorted to a sorted-query provider", []snaptest.Option{snaptest.WithProvider(snapauth.Provider{Name: "bca-pre-snap", EndpointForm: snapauth.EndpointSortedQuery})}, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) {
			c.method, c.body, c.path = http.MethodGet, "", "/v1.0/balance?b=2&a=1"
		}), 401, "4014700", snaptest.ReasonSignature},
		{"service signed over HTML escapes a provider undoes", nil, svc(func(_ testing.TB, srv *snaptest.Server, c *serviceCall) {
			raw := `{"note":"a\u003cb"}` // as json.Marshal writes "a<b"
			c.body, c.sendBody = raw, strptr(raw)
			token := c.token
			c.edit = func(r *http.Request) { // hash the raw bytes, as a careless client does
				sum := sha256.Sum256([]byte(raw))
				sts := "POST:" + r.URL.RequestURI() + ":" + token + ":" + hex.EncodeToString(sum[:]) + ":" + r.Header.Get("X-TIMESTAMP")
				r.Header.Set("X-SIGNATURE", snapauth.SignSymmetric(srv.ClientSecret, sts))
			}
		}), 401, "4014700", snaptest.ReasonSignature},
		{"service missing bearer", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) {
			c.edit = func(r *http.Request) { r.Header.Del("Authorization") }
		}), 401, "4014703", snaptest.ReasonTokenMissing},
		{"service invalid bearer", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) { c.token = "made-up" }), 401, "4014701", snaptest.ReasonTokenInvalid},
		{"service bearer without scheme", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) {
			c.edit = func(r *http.Request) {
				r.Header.Set("Authorization", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			}
		}), 401, "4014701", snaptest.ReasonTokenInvalid},
		{"service customer token as bearer", nil, svc(func(t testing.TB, srv *snaptest.Server, c *serviceCall) { c.token, _ = customerTokens(t, srv) }), 401, "4014701", snaptest.ReasonTokenInvalid},
		{"service missing customer token", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) { c.path = "/v1.0/customer/balance-inquiry" }), 401, "4014704", snaptest.ReasonCustomerTokenMissing},
		{"service invalid customer token", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) {
			c.path, c.customer = "/v1.0/customer/balance-inquiry", "made-up"
		}), 401, "4014702", snaptest.ReasonCustomerTokenInvalid},
		{"service B2B token as customer token", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) {
			c.path, c.customer = "/v1.0/customer/balance-inquiry", c.token
		}), 401, "4014702", snaptest.ReasonCustomerTokenInvalid},
		{"service wrong partner id", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) { c.partnerID = "SOMEONE" }), 401, "4014700", snaptest.ReasonPartnerID},
		{"service reused external id", nil, svc(func(t testing.TB, srv *snaptest.Server, c *serviceCall) {
			first := *c
			first.externalID = "4242"
			require.Equal(t, "2004700", send(t, srv, first.request(t, srv)).code())
			c.externalID = "4242"
		}), 409, "4094700", snaptest.ReasonExternalIDReused},
		{"service external id not numeric", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) { c.externalID = "abc-123" }), 400, "4004701", snaptest.ReasonExternalIDFormat},
		{"service external id of 37 digits", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) { c.externalID = strings.Repeat("1", 37) }), 400, "4004701", snaptest.ReasonExternalIDFormat},
		{"service wrong channel id", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) {
			c.edit = func(r *http.Request) { r.Header.Set("CHANNEL-ID", "12345") }
		}), 400, "4004701", snaptest.ReasonChannelID},
		{"service timestamp 10 minutes old", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) { c.at = time.Now().Add(-10 * time.Minute) }), 401, "4014700", snaptest.ReasonTimestampSkew},
		{"service timestamp in the wrong layout", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) { c.provider = snapauth.BRI }), 400, "4004701", snaptest.ReasonTimestampFormat},
		{"service body not JSON", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) {
			c.body, c.sendBody = "", strptr(`{"a":`)
		}), 400, "4004700", snaptest.ReasonBody},
		{"service body with text/plain", nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) {
			c.edit = func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }
		}), 400, "4004701", snaptest.ReasonContentType},
		{"unknown path", nil, func(t testing.TB, srv *snaptest.Server) *http.Request {
			r, _ := http.NewRequest(http.MethodPost, srv.URL+"/v2/whatever", nil)
			return r
		}, 404, "4044700", snaptest.ReasonNotFound},
	}
	for _, h := range []string{"X-TIMESTAMP", "X-SIGNATURE", "X-PARTNER-ID", "X-EXTERNAL-ID", "CHANNEL-ID"} {
		tests = append(tests, requestCase{"service missing " + h, nil, svc(func(_ testing.TB, _ *snaptest.Server, c *serviceCall) {
			c.edit = func(r *http.Request) { r.Header.Del(h) }
		}), 400, "4004702", snaptest.ReasonMissingHeader})
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := snaptest.NewServer(tt.opts...)
			defer srv.Close()
			req := tt.req(t, srv)
			before := srv.Stats().Rejections[tt.reason]
			a := send(t, srv, req)
			assert.Equal(t, tt.status, a.status, string(a.raw))
			assert.Equal(t, tt.code, a.code(), string(a.raw))
			assert.NotEmpty(t, a.str("responseMessage"))
			assert.Equal(t, "application/json", a.header.Get("Content-Type"))
			rec, ok := srv.LastRequest()
			require.True(t, ok)
			assert.Equal(t, tt.reason, rec.Reason)
			assert.Equal(t, tt.code, rec.ResponseCode)
			if tt.reason != snaptest.ReasonNone {
				assert.Equal(t, before+1, srv.Stats().Rejections[tt.reason])
			}
		})
	}
}

func TestConfigureRefusesConstructionOptions(t *testing.T) {
	srv := snaptest.NewServer()
	defer srv.Close()
	require.NoError(t, srv.Configure(snaptest.WithSkew(time.Minute)))

	err := srv.Configure(snaptest.WithSkew(time.Hour), snaptest.WithPathPrefix("/snap"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "WithPathPrefix")
	err = srv.Configure(snaptest.WithSkew(time.Hour), snaptest.WithCredentials(snaptest.Credentials{ClientKey: "other"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "WithCredentials")

	// A refused Configure applies none of its options: the skew is still a
	// minute, so a clock ten minutes behind is refused.
	cfg := &snapauth.B2BConfig{TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey,
		Now: func() time.Time { return time.Now().Add(-10 * time.Minute) }}
	_, err = cfg.Token(context.Background())
	require.ErrorIs(t, err, snapauth.ErrUnauthorized)
}
