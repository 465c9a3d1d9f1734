package snapauth_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tsBank is a partner of the merchant, with its own key and secret.
type tsBank struct {
	clientKey, secret string
	key               *rsa.PrivateKey
}

func tsBanks(t *testing.T) (bca, bri tsBank) {
	other, err := snapauth.ParsePrivateKey(signerReadKeyFile(t, "rsa-other-pkcs8.pem"))
	require.NoError(t, err)
	return tsBank{"bank-bca", "bca-secret", signerOpenSSLKey(t)}, tsBank{"bank-bri", "bri-secret", other}
}

// tsMerchant is a merchant's service: the token endpoint and a VA inquiry
// behind the token server's middleware, all on one mux.
type tsMerchant struct {
	srv        *httptest.Server
	ts         *snapauth.TokenServer
	mu         sync.Mutex
	clientKeys []string // ClientKeyFromContext of each request that reached the handler
}

func newTSMerchant(t *testing.T, ts *snapauth.TokenServer) *tsMerchant {
	m := &tsMerchant{ts: ts}
	mux := http.NewServeMux()
	mux.Handle("/v1.0/access-token/b2b", ts)
	mux.Handle("/v1.0/transfer-va/inquiry", ts.Middleware("24", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, _ := snapauth.ClientKeyFromContext(r.Context())
		m.mu.Lock()
		m.clientKeys = append(m.clientKeys, ck)
		m.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"responseCode":"2002400","responseMessage":"Successful"}`)
	})))
	m.srv = httptest.NewServer(mux)
	t.Cleanup(m.srv.Close)
	return m
}

func tsServer(t *testing.T, now *time.Time, banks ...tsBank) *snapauth.TokenServer {
	ps := map[string]snapauth.Caller{}
	for _, b := range banks {
		ps[b.clientKey] = snapauth.Caller{ClientKey: b.clientKey, PublicKey: &b.key.PublicKey, ClientSecret: b.secret}
	}
	return &snapauth.TokenServer{Callers: ps, Now: func() time.Time { return *now }}
}

type tokenAnswer struct {
	Status          int
	ResponseCode    string `json:"responseCode"`
	ResponseMessage string `json:"responseMessage"`
	AccessToken     string `json:"accessToken"`
	TokenType       string `json:"tokenType"`
	ExpiresIn       string `json:"expiresIn"`
}

// askToken requests a token as the bank does, signing with crypto/rsa.
func (m *tsMerchant) askToken(t *testing.T, b tsBank, ts string, body string, change ...func(http.Header)) tokenAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, m.srv.URL+"/v1.0/access-token/b2b", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-TIMESTAMP", ts)
	req.Header.Set("X-CLIENT-KEY", b.clientKey)
	req.Header.Set("X-SIGNATURE", independentRSA(t, b.key, b.clientKey+"|"+ts))
	for _, c := range change {
		c(req.Header)
	}
	resp, err := m.srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var a tokenAnswer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	a.Status = resp.StatusCode
	_, err = snapauth.ParseTimestamp(resp.Header.Get("X-TIMESTAMP"))
	assert.NoError(t, err, "the answer carries X-TIMESTAMP")
	if a.Status == http.StatusOK {
		assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	}
	return a
}

// inquire calls the VA inquiry as the bank does, with token and HMAC.
func (m *tsMerchant) inquire(t *testing.T, b tsBank, token, ts string) snapAnswer {
	t.Helper()
	body := []byte(`{"partnerServiceId":"   12345","customerNo":"0812345678"}`)
	req := vfySend(t, nil, http.MethodPost, "/v1.0/transfer-va/inquiry", body, body, ts)
	if token == "" {
		req.Header.Del("Authorization")
	} else {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("X-SIGNATURE", independentHMAC(b.secret, independentStringToSign("POST", req.Target, token, body, ts)))
	return (&mwServer{Server: m.srv}).send(t, req)
}

func TestTokenServerIssuesAndChecks(t *testing.T) {
	now := vfyNow
	bca, bri := tsBanks(t)
	m := newTSMerchant(t, tsServer(t, &now, bca, bri))
	ts := snapauth.Standard.Timestamp(now)

	a := m.askToken(t, bca, ts, `{"grantType":"client_credentials"}`)
	assert.Equal(t, 200, a.Status)
	assert.Equal(t, "2007300", a.ResponseCode)
	assert.Equal(t, "Bearer", a.TokenType)
	assert.Equal(t, "900", a.ExpiresIn)
	assert.Len(t, a.AccessToken, 43)
	b := m.askToken(t, bri, ts, `{"grant_type":"CLIENT_CREDENTIALS","additionalInfo":{}}`)
	require.Equal(t, 200, b.Status)
	assert.NotEqual(t, a.AccessToken, b.AccessToken)

	assert.Equal(t, snapAnswer{200, "2002400", "Successful"}, m.inquire(t, bca, a.AccessToken, ts))
	assert.Equal(t, snapAnswer{200, "2002400", "Successful"}, m.inquire(t, bri, b.AccessToken, ts))
	assert.Equal(t, []string{"bank-bca", "bank-bri"}, m.clientKeys, "the handler knows which bank called")

	// BRI's token with BCA's secret, and the other way round: the token's own
	// partner's secret is the only one that counts.
	assert.Equal(t, snapAnswer{401, "4012400", "Unauthorized. [Signature]"}, m.inquire(t, bca, b.AccessToken, ts))
	// A token nobody issued, and no token at all.
	assert.Equal(t, snapAnswer{401, "4012401", "Invalid Token (B2B)"}, m.inquire(t, bca, "made-up-token", ts))
	assert.Equal(t, snapAnswer{401, "4012403", "Token Not Found (B2B)"}, m.inquire(t, bca, "", ts))

	// After its lifetime the token is refused as invalid (401xx01).
	now = now.Add(snapauth.DefaultIssuedTokenLifetime + time.Second)
	assert.Equal(t, snapAnswer{401, "4012401", "Invalid Token (B2B)"}, m.inquire(t, bca, a.AccessToken, snapauth.Standard.Timestamp(now)))
	assert.Len(t, m.clientKeys, 2)
}

func TestTokenServerRefusals(t *testing.T) {
	now := vfyNow
	bca, bri := tsBanks(t)
	m := newTSMerchant(t, tsServer(t, &now, bca))
	ts := snapauth.Standard.Timestamp(now)
	grant := `{"grantType":"client_credentials"}`
	for name, c := range map[string]struct {
		got  tokenAnswer
		want snapAnswer
	}{
		"unknown client key": {m.askToken(t, bri, ts, grant), snapAnswer{401, "4017300", "Unauthorized. [Unknown client]"}},
		"signed with another key": {m.askToken(t, bca, ts, grant, func(h http.Header) {
			h.Set("X-SIGNATURE", independentRSA(t, bri.key, bca.clientKey+"|"+ts))
		}), snapAnswer{401, "4017300", "Unauthorized. [Signature]"}},
		"stale timestamp":  {m.askToken(t, bca, snapauth.Standard.Timestamp(now.Add(-time.Hour)), grant), snapAnswer{401, "4017300", "Unauthorized. [Timestamp]"}},
		"timestamp layout": {m.askToken(t, bca, now.Format(time.RFC1123), grant), snapAnswer{400, "4007301", "Invalid Field Format [X-TIMESTAMP]"}},
		"no client key": {m.askToken(t, bca, ts, grant, func(h http.Header) { h.Del("X-CLIENT-KEY") }),
			snapAnswer{400, "4007302", "Invalid Mandatory Field [X-CLIENT-KEY]"}},
		"two client keys": {m.askToken(t, bca, ts, grant, func(h http.Header) { h.Add("X-CLIENT-KEY", "bank-bri") }),
			snapAnswer{400, "4007301", "Invalid Field Format [X-CLIENT-KEY]"}},
		"no signature": {m.askToken(t, bca, ts, grant, func(h http.Header) { h.Del("X-SIGNATURE") }),
			snapAnswer{400, "4007302", "Invalid Mandatory Field [X-SIGNATURE]"}},
		"body not JSON":   {m.askToken(t, bca, ts, `grantType=client_credentials`), snapAnswer{400, "4007300", "Bad Request. [body is not a JSON object]"}},
		"no grant type":   {m.askToken(t, bca, ts, `{}`), snapAnswer{400, "4007302", "Invalid Mandatory Field [grantType]"}},
		"wrong grant":     {m.askToken(t, bca, ts, `{"grantType":"password"}`), snapAnswer{400, "4007301", "Invalid Field Format [grantType]"}},
		"grant not text":  {m.askToken(t, bca, ts, `{"grantType":1}`), snapAnswer{400, "4007301", "Invalid Field Format [grantType]"}},
		"body too large":  {m.askToken(t, bca, ts, `{"grantType":"client_credentials","x":"`+strings.Repeat("y", 2<<20)+`"}`), snapAnswer{400, "4007300", "Bad Request. [body too large]"}},
		"form-encoded ok": {m.askToken(t, bca, ts, `grant_type=client_credentials`, func(h http.Header) { h.Set("Content-Type", "application/x-www-form-urlencoded") }), snapAnswer{200, "2007300", "Successful"}},
	} {
		assert.Equal(t, c.want, snapAnswer{c.got.Status, c.got.ResponseCode, c.got.ResponseMessage}, name)
		if c.want.Status != 200 {
			assert.Empty(t, c.got.AccessToken, name)
		}
	}

	resp, err := m.srv.Client().Get(m.srv.URL + "/v1.0/access-token/b2b")
	require.NoError(t, err)
	defer resp.Body.Close()
	var a snapAnswer
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&a))
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "4057300", a.ResponseCode)
	assert.Equal(t, http.MethodPost, resp.Header.Get("Allow"))
}

func TestTokenServerFleetSharesStore(t *testing.T) {
	// Two replicas sharing a FileStore and a replay store: a token issued by
	// one is accepted by the other, and an external id used on one is
	// refused on the other. The files never hold the token itself.
	now := vfyNow
	bca, _ := tsBanks(t)
	dir := filepath.Join(t.TempDir(), "tokens")
	store, err := snapauth.NewFileStore(dir)
	require.NoError(t, err)
	replay := snapauth.NewMemoryReplayStore()
	var replicas []*tsMerchant
	for range 2 {
		s := tsServer(t, &now, bca)
		s.Store, s.Replay = store, replay
		replicas = append(replicas, newTSMerchant(t, s))
	}
	ts := snapauth.Standard.Timestamp(now)
	a := replicas[0].askToken(t, bca, ts, `{"grantType":"client_credentials"}`)
	require.Equal(t, 200, a.Status)
	assert.Equal(t, 200, replicas[1].inquire(t, bca, a.AccessToken, ts).Status)

	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f.Name()))
		require.NoError(t, err)
		assert.NotContains(t, string(data), a.AccessToken)
		assert.NotContains(t, f.Name(), a.AccessToken)
	}
	tok, err := store.Load(t.Context(), snapauth.IssuedTokenKey(a.AccessToken))
	require.NoError(t, err)
	assert.WithinDuration(t, now.Add(900*time.Second), tok.Expiry, time.Second)

	// The same external id on the other replica.
	body := []byte(`{"partnerServiceId":"   12345","customerNo":"0812345678"}`)
	req := vfySend(t, nil, http.MethodPost, "/v1.0/transfer-va/inquiry", body, body, ts)
	req.Header.Set("Authorization", "Bearer "+a.AccessToken)
	req.Header.Set("X-SIGNATURE", independentHMAC(bca.secret, independentStringToSign("POST", req.Target, a.AccessToken, body, ts)))
	assert.Equal(t, 200, (&mwServer{Server: replicas[0].srv}).send(t, req).Status)
	assert.Equal(t, snapAnswer{409, "4092400", "Conflict"}, (&mwServer{Server: replicas[1].srv}).send(t, req))
}

func TestTokenServerWithSnapauthClient(t *testing.T) {
	// snapauth's own client against its own server: B2BConfig fetches the
	// token, Transport signs the call.
	bca, _ := tsBanks(t)
	now := time.Now()
	m := newTSMerchant(t, tsServer(t, &now, bca))
	cfg := &snapauth.B2BConfig{TokenURL: m.srv.URL + "/v1.0/access-token/b2b", ClientKey: bca.clientKey, PrivateKey: bca.key, HTTPClient: m.srv.Client()}
	client := &http.Client{Transport: &snapauth.Transport{
		Base: m.srv.Client().Transport, Source: cfg.TokenSource(t.Context()),
		ClientSecret: bca.secret, PartnerID: "BCA", ChannelID: "95231",
	}}
	for range 3 {
		resp, err := client.Post(m.srv.URL+"/v1.0/transfer-va/inquiry", "application/json",
			bytes.NewReader([]byte(`{ "virtualAccountNo": "\u003c12345\u003e" }`)))
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
	}
	assert.Equal(t, []string{"bank-bca", "bank-bca", "bank-bca"}, m.clientKeys)
}

func TestPartnerStringMasksSecret(t *testing.T) {
	p := snapauth.Caller{ClientKey: "bank", ClientSecret: "s3cr3t-value"}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		assert.NotContains(t, fmt.Sprintf(f, p), "s3cr3t-value", f)
	}
}

func TestTokenServerConcurrent(t *testing.T) {
	// Many banks' goroutines at once against the default in-memory stores
	// (run with -race): each gets its own token and its call is accepted.
	now := vfyNow
	bca, _ := tsBanks(t)
	m := newTSMerchant(t, tsServer(t, &now, bca))
	ts := snapauth.Standard.Timestamp(now)
	var wg sync.WaitGroup
	tokens := make([]string, 20)
	for i := range tokens {
		wg.Go(func() {
			a := m.askToken(t, bca, ts, `{"grantType":"client_credentials"}`)
			tokens[i] = a.AccessToken
			assert.Equal(t, 200, m.inquire(t, bca, a.AccessToken, ts).Status)
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, tok := range tokens {
		assert.False(t, seen[tok], "tokens are distinct")
		seen[tok] = true
	}
	assert.Len(t, m.clientKeys, len(tokens))
}
