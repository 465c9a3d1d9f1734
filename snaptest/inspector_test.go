package snaptest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// feed reads the inspector's JSON feed.
func feed(t *testing.T, srv *snaptest.Server, after int) ([]snaptest.Inspected, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.InspectorURL() + "/requests.json?after=" + strconv.Itoa(after))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out []snaptest.Inspected
	require.NoError(t, json.Unmarshal(raw, &out))
	return out, string(raw)
}

// lastInspected sends req and returns what the inspector made of it, and
// the whole feed as JSON.
func lastInspected(t *testing.T, srv *snaptest.Server, req *http.Request) (snaptest.Inspected, string) {
	t.Helper()
	send(t, srv, req)
	all, raw := feed(t, srv, 0)
	require.NotEmpty(t, all)
	return all[len(all)-1], raw
}

func TestInspectorOffByDefault(t *testing.T) {
	srv := snaptest.NewServer()
	defer srv.Close()
	resp, err := srv.Client().Get(srv.InspectorURL())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Empty(t, srv.Inspected())
}

func TestInspectorAccepted(t *testing.T) {
	srv := snaptest.NewServer(snaptest.WithInspector())
	defer srv.Close()
	token := b2bToken(t, srv)
	in, raw := lastInspected(t, srv, serviceCall{token: token, body: `{"a": 1}`}.request(t, srv))
	assert.Equal(t, "accepted", in.Verdict)
	assert.Equal(t, "2004700", in.ResponseCode)
	assert.Empty(t, in.Rule)
	assert.Equal(t, snaptest.EndpointService, in.Endpoint)
	assert.Contains(t, in.StringToSign, "POST:/v1.0/transfer-va/inquiry:"+token[:4]+"…(256 chars):")
	// Tokens are masked everywhere; X-SIGNATURE and X-CLIENT-KEY are not
	// secrets; the client secret never appears.
	assert.NotContains(t, raw, token)
	assert.NotContains(t, raw, srv.ClientSecret)
	headers := map[string]string{}
	for _, h := range in.Header {
		headers[h[0]] = h[1]
	}
	assert.Equal(t, "Bearer "+token[:4]+"…(256 chars)", headers["Authorization"])
	assert.NotEmpty(t, headers["X-Signature"])

	all, _ := feed(t, srv, 0)
	require.Len(t, all, 2, "the token request and the service call")
	assert.Equal(t, snaptest.EndpointB2B, all[0].Endpoint)
	assert.Equal(t, srv.ClientKey+"|"+headerOf(all[0], "X-Timestamp"), all[0].StringToSign)
	later, _ := feed(t, srv, all[0].Seq)
	assert.Len(t, later, 1, "?after= returns only newer requests")
}

func headerOf(in snaptest.Inspected, name string) string {
	for _, h := range in.Header {
		if h[0] == name {
			return h[1]
		}
	}
	return ""
}

// TestInspectorSignatureCauses makes the signature mistakes clients make
// and checks that the inspector names each one.
func TestInspectorSignatureCauses(t *testing.T) {
	srv := snaptest.NewServer(snaptest.WithInspector())
	defer srv.Close()
	token := b2bToken(t, srv)
	sum := func(b string) string { s := sha256.Sum256([]byte(b)); return hex.EncodeToString(s[:]) }
	pretty := "{\n  \"amount\": \"10.00\"\n}"

	tests := []struct {
		name string
		req  *http.Request
		want string
	}{
		{"query signed sorted", serviceCall{token: token, path: "/v1.0/x?b=2&a=1", body: `{}`, provider: sortedQuery}.request(t, srv),
			`wrong EndpointUrl form: the signature covers "/v1.0/x?a=1&b=2", the provider (standard) signs "/v1.0/x?b=2&a=1"`},
		{"query left out", serviceCall{token: token, path: "/v1.0/x?lang=id", body: `{}`, edit: func(r *http.Request) {
			sts := "POST:/v1.0/x:" + token + ":" + sum("{}") + ":" + r.Header.Get("X-TIMESTAMP")
			r.Header.Set("X-SIGNATURE", snapauth.SignSymmetric(srv.ClientSecret, sts))
		}}.request(t, srv), `the signature covers "/v1.0/x"`},
		{"timestamp layout", serviceCall{token: token, body: `{}`, edit: func(r *http.Request) {
			ts, err := snapauth.ParseTimestamp(r.Header.Get("X-TIMESTAMP"))
			require.NoError(t, err)
			signed := ts.UTC().Format(snapauth.TimestampLayoutZulu)
			sts := "POST:/v1.0/transfer-va/inquiry:" + token + ":" + sum("{}") + ":" + signed
			r.Header.Set("X-SIGNATURE", snapauth.SignSymmetric(srv.ClientSecret, sts))
		}}.request(t, srv), "timestamp layout: the signature covers X-TIMESTAMP written as"},
		{"body not minified", serviceCall{token: token, body: pretty, sendBody: &pretty, edit: func(r *http.Request) {
			sts := "POST:/v1.0/transfer-va/inquiry:" + token + ":" + sum(pretty) + ":" + r.Header.Get("X-TIMESTAMP")
			r.Header.Set("X-SIGNATURE", snapauth.SignSymmetric(srv.ClientSecret, sts))
		}}.request(t, srv), "body not minified"},
		{"body keys re-ordered", serviceCall{token: token, body: `{"b":1,"a":2}`, edit: func(r *http.Request) {
			sts := "POST:/v1.0/transfer-va/inquiry:" + token + ":" + sum(`{"a":2,"b":1}`) + ":" + r.Header.Get("X-TIMESTAMP")
			r.Header.Set("X-SIGNATURE", snapauth.SignSymmetric(srv.ClientSecret, sts))
		}}.request(t, srv), "body re-encoded: the signature covers the body with its keys sorted"},
		{"body HTML-escaped when signed", serviceCall{token: token, body: `{"note":"<b>&"}`, edit: func(r *http.Request) {
			sts := "POST:/v1.0/transfer-va/inquiry:" + token + ":" + sum(`{"note":"\u003cb\u003e\u0026"}`) + ":" + r.Header.Get("X-TIMESTAMP")
			r.Header.Set("X-SIGNATURE", snapauth.SignSymmetric(srv.ClientSecret, sts))
		}}.request(t, srv), `body re-encoded: the signature covers the body with <, > and & escaped`},
		{"body changed after signing", serviceCall{token: token, body: `{"amount":"10.00"}`, sendBody: ptr(`{"amount":"99.00"}`)}.request(t, srv),
			"most likely the body changed after it was signed"},
		{"token request signed by a stranger", tokenCall{key: testkey.Other(t), body: `{"grantType":"client_credentials"}`}.request(t, srv, srv.B2BTokenURL()),
			"signed with another private key"},
		{"token request timestamp layout", tokenCall{body: `{"grantType":"client_credentials"}`, edit: func(r *http.Request) {
			ts, err := snapauth.ParseTimestamp(r.Header.Get("X-TIMESTAMP"))
			require.NoError(t, err)
			sig, err := snapauth.SignAsymmetric(srv.PrivateKey, srv.ClientKey+"|"+ts.In(snapauth.Jakarta).Format(snapauth.TimestampLayoutMillis))
			require.NoError(t, err)
			r.Header.Set("X-SIGNATURE", sig)
		}}.request(t, srv, srv.B2BTokenURL()), "timestamp layout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, raw := lastInspected(t, srv, tt.req)
			assert.Equal(t, "rejected", in.Verdict)
			assert.Equal(t, snaptest.ReasonSignature, in.Reason)
			assert.Contains(t, in.Rule, "X-SIGNATURE is not")
			require.NotEmpty(t, in.Causes)
			assert.Contains(t, strings.Join(in.Causes, "\n"), tt.want)
			assert.NotContains(t, raw, token)
			assert.NotContains(t, raw, srv.ClientSecret)
		})
	}
}

func ptr(s string) *string { return &s }

// TestInspectorRules checks that the verdict names the header and the rule.
func TestInspectorRules(t *testing.T) {
	clock := &fakeClock{t: time.Now().Truncate(time.Second)}
	srv := snaptest.NewServer(snaptest.WithInspector(), snaptest.WithClock(clock.Now))
	defer srv.Close()
	token := b2bToken(t, srv)

	in, _ := lastInspected(t, srv, serviceCall{token: token, body: `{}`, edit: func(r *http.Request) { r.Header.Del("X-PARTNER-ID") }}.request(t, srv))
	assert.Equal(t, "the mandatory header X-PARTNER-ID is missing or empty", in.Rule)

	in, _ = lastInspected(t, srv, serviceCall{token: token, body: `{}`, at: clock.Now().Add(-7 * time.Minute)}.request(t, srv))
	assert.Equal(t, snaptest.ReasonTimestampSkew, in.Reason)
	assert.Contains(t, in.Rule, "clock skew")
	assert.Contains(t, in.Rule, "is 7m0s behind the provider's clock; at most 5m0s")

	in, _ = lastInspected(t, srv, serviceCall{token: token, body: `{}`, partnerID: "SOMEONE"}.request(t, srv))
	assert.Contains(t, in.Rule, `X-PARTNER-ID "SOMEONE" is not the partner's`)

	in, raw := lastInspected(t, srv, refreshCall(t, srv, "not-a-refresh-token-at-all"))
	assert.Equal(t, snaptest.ReasonRefreshToken, in.Reason)
	assert.NotContains(t, raw, "not-a-refresh-token-at-all", "refresh tokens in bodies are masked")
}

func refreshCall(t *testing.T, srv *snaptest.Server, rt string) *http.Request {
	body, _ := json.Marshal(map[string]string{"grantType": "refresh_token", "refreshToken": rt})
	return tokenCall{body: string(body)}.request(t, srv, srv.B2B2CTokenURL())
}

// TestInspectorPrefixAndMode names a path prefix left out of the signed
// EndpointUrl, and the asymmetric string keyed with HMAC.
func TestInspectorPrefixAndMode(t *testing.T) {
	srv := snaptest.NewServer(snaptest.WithInspector(), snaptest.WithPathPrefix("/snap"))
	defer srv.Close()
	token := b2bToken(t, srv)
	sum := sha256.Sum256([]byte("{}"))
	hash := hex.EncodeToString(sum[:])
	resign := func(sts func(ts string) string) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Set("X-SIGNATURE", snapauth.SignSymmetric(srv.ClientSecret, sts(r.Header.Get("X-TIMESTAMP"))))
		}
	}
	in, _ := lastInspected(t, srv, serviceCall{token: token, body: `{}`, edit: resign(func(ts string) string {
		return "POST:/v1.0/transfer-va/inquiry:" + token + ":" + hash + ":" + ts
	})}.request(t, srv))
	require.NotEmpty(t, in.Causes)
	assert.Contains(t, in.Causes[0], `the signature covers "/v1.0/transfer-va/inquiry", the provider (standard) signs "/snap/v1.0/transfer-va/inquiry"`)

	in, _ = lastInspected(t, srv, serviceCall{token: token, body: `{}`, edit: resign(func(ts string) string {
		return "POST:/snap/v1.0/transfer-va/inquiry:" + hash + ":" + ts
	})}.request(t, srv))
	require.NotEmpty(t, in.Causes)
	assert.Contains(t, in.Causes[0], "no access-token segment")
}

// sortedQuery signs the query sorted, as BCA's pre-SNAP API did.
var sortedQuery = snapauth.Provider{Name: "sorted-query", EndpointForm: snapauth.EndpointSortedQuery}
