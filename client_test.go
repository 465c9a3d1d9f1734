package snapauth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// ---------------------------------------------------------------------------
// B2BConfig.Client, with the real token source against a provider that also
// serves the token endpoint.

// issuing answers token requests with tok-1, tok-2, ... in turn, counting
// them in issued.
func issuing(issued *atomic.Int32) func(fakeRequest) fakeAnswer {
	return func(fakeRequest) fakeAnswer {
		return okAnswer(fmt.Sprintf(`{"responseCode":"2007300","responseMessage":"Successful","accessToken":"tok-%d","tokenType":"BearerToken","expiresIn":"900"}`, issued.Add(1)))
	}
}

func TestB2BConfigClient(t *testing.T) {
	key := testkey.RSA(t)
	var issued atomic.Int32
	// tok-1 is revoked: the first call is rejected, the client must renew.
	p := startFake(t, &fakeProvider{pub: &key.PublicKey, clientKey: "client-key", answer: issuing(&issued),
		respond: rejectToken("tok-1", `{"responseCode":"4017301","responseMessage":"Invalid Token (B2B)"}`)})
	srv := p.srv

	var baseCalls atomic.Int32
	ctxClient := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		baseCalls.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, ctxClient)
	cfg := &B2BConfig{TokenURL: srv.URL + "/v1.0/access-token/b2b", ClientKey: "client-key", PrivateKey: key}
	client := cfg.Client(ctx, &Transport{ClientSecret: testSecret, PartnerID: "partner", ChannelID: "95221"})

	resp, err := client.Post(srv.URL+"/v1.0/transfer-intrabank", "application/json", strings.NewReader("{\n \"a\": \"<&>\"\n}"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	seen := p.calls()
	require.Len(t, seen, 2)
	assert.Equal(t, "Bearer tok-1", seen[0].Header.Get("Authorization"))
	assert.Equal(t, "Bearer tok-2", seen[1].Header.Get("Authorization"), "the rejected token was dropped and a new one fetched")
	assert.Equal(t, seen[0].Header.Get("X-EXTERNAL-ID"), seen[1].Header.Get("X-EXTERNAL-ID"))
	assert.EqualValues(t, 2, issued.Load())
	// Two token fetches (through the config's own client lookup) and two service calls, all on the context's transport.
	assert.EqualValues(t, 4, baseCalls.Load())

	// The second call reuses the cached token.
	resp, err = client.Post(srv.URL+"/v1.0/transfer-intrabank", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	assert.EqualValues(t, 2, issued.Load())
}

func TestB2BConfigClientRedirects(t *testing.T) {
	key := testkey.RSA(t)
	var issued atomic.Int32
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
	}))
	defer other.Close()

	p := startFake(t, &fakeProvider{pub: &key.PublicKey, clientKey: "client-key", answer: issuing(&issued)})
	mux := http.NewServeMux()
	mux.Handle("/v1.0/access-token/", p)
	mux.HandleFunc("/v1.0/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/v1.0/here?after=redirect", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/v1.0/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	})
	mux.Handle("/v1.0/here", p)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cfg := &B2BConfig{TokenURL: srv.URL + "/v1.0/access-token/b2b", ClientKey: "client-key", PrivateKey: key}
	client := cfg.Client(context.Background(), &Transport{ClientSecret: testSecret, PartnerID: "partner", ChannelID: "1"})

	resp, err := client.Post(srv.URL+"/v1.0/moved", "application/json", strings.NewReader(`{"a": 1}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, "a same-host redirect is followed and signed for its own URL")
	seen := p.calls()
	require.Len(t, seen, 1)
	assert.True(t, strings.HasPrefix(seen[0].StringToSign, "POST:/v1.0/here?after=redirect:tok-1:"), seen[0].StringToSign)
	assert.Equal(t, `{"a":1}`, string(seen[0].Body))

	_, err = client.Post(srv.URL+"/v1.0/away", "application/json", strings.NewReader(`{}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing to follow a redirect")
	assert.Zero(t, otherHits.Load(), "nothing reaches the other host")
}

func TestB2BConfigClientNilTransport(t *testing.T) {
	cfg := &B2BConfig{TokenURL: "https://127.0.0.1:1/t", ClientKey: "k", PrivateKey: testkey.RSA(t), Provider: BRI}
	client := cfg.Client(context.Background(), nil)
	tr, ok := client.Transport.(*Transport)
	require.True(t, ok)
	assert.Equal(t, BRI, tr.Provider, "the config's provider when the transport has none")
	assert.NotNil(t, tr.Source)
	_, err := client.Get("https://127.0.0.1:1/v1.0/x")
	require.Error(t, err, "no signing key: refused before anything is sent")
	assert.Contains(t, err.Error(), "neither ClientSecret nor PrivateKey")

	orig := &Transport{ClientSecret: testSecret, Provider: DOKU}
	client = cfg.Client(context.Background(), orig)
	assert.Nil(t, orig.Source, "the caller's transport is not modified")
	assert.Equal(t, DOKU, client.Transport.(*Transport).Provider)
}

func TestCheckOrigin(t *testing.T) {
	u := func(s string) *url.URL { v, err := url.Parse(s); require.NoError(t, err); return v }
	for _, ok := range [][2]string{
		{"https://a.example/x", "https://a.example/y"},
		{"https://a.example/x", "https://A.EXAMPLE/y"},
		{"http://a.example/x", "https://a.example/y"},
		{"http://127.0.0.1:8080/x", "http://127.0.0.1:8080/y?z"},
	} {
		require.NoError(t, checkOrigin(u(ok[0]), u(ok[1])), "%s -> %s", ok[0], ok[1])
	}
	for _, bad := range [][2]string{
		{"https://a.example/x", "http://a.example/x"},
		{"https://a.example/x", "https://b.example/x"},
		{"https://a.example/x", "https://a.example:8443/x"},
		{"http://127.0.0.1:8080/x", "http://localhost:8080/x"},
	} {
		err := checkOrigin(u(bad[0]), u(bad[1]))
		require.ErrorContains(t, err, "snapauth: refusing to follow a redirect", "%s -> %s", bad[0], bad[1])
	}
}
