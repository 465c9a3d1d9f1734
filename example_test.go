package snapauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"golang.org/x/oauth2"
)

// The whole story: a B2B client for the partner's own calls, a customer's
// tokens from account binding, and a call on behalf of that customer, against
// snaptest's sandbox (which verifies every signature the way a bank does).
func Example() {
	srv := snaptest.NewServer() // in production: the bank's URLs and your keys
	defer srv.Close()
	ctx := context.Background()

	// B2B: one token source, shared by every request, renewed before expiry.
	b2b := &snapauth.B2BConfig{TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey}
	client := b2b.Client(ctx, &snapauth.Transport{
		ClientSecret: srv.ClientSecret,
		PartnerID:    srv.PartnerID,
		ChannelID:    srv.ChannelID,
	})
	resp, err := client.Post(srv.ServiceURL("/v1.0/balance-inquiry"), "application/json",
		strings.NewReader(`{ "accountNo": "2000100101" }`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("B2B call:", resp.StatusCode, snapauth.CheckResponse(resp))
	resp.Body.Close()

	// B2B2C: the customer approved account binding; exchange the code, keep
	// the tokens in a store (the refresh token rotates on every refresh).
	b2b2c := &snapauth.B2B2CConfig{TokenURL: srv.B2B2CTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey}
	tok, err := b2b2c.Exchange(ctx, srv.MintAuthCode())
	if err != nil {
		log.Fatal(err)
	}
	store := snapauth.NewMemoryStore() // or NewFileStore, or redisstore
	if err := store.Save(ctx, "customer-42", tok); err != nil {
		log.Fatal(err)
	}
	customer := b2b2c.StoredTokenSource(ctx, store, "customer-42")

	req, err := http.NewRequestWithContext(snapauth.WithCustomerToken(ctx, customer), http.MethodPost,
		srv.ServiceURL("/v1.0/customer/balance-inquiry"), strings.NewReader(`{"partnerReferenceNo": "7"}`))
	if err != nil {
		log.Fatal(err)
	}
	resp, err = client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("customer call:", resp.StatusCode, snapauth.CheckResponse(resp))
	resp.Body.Close()
	// Output:
	// B2B call: 200 <nil>
	// customer call: 200 <nil>
}

// ---- Token source examples (b2b_source.go, b2b2c_source.go) ----

func ExampleB2BConfig_TokenSource() {
	key, err := rsa.GenerateKey(rand.Reader, 2048) // in production: snapauth.ParsePrivateKey
	if err != nil {
		log.Fatal(err)
	}
	// A stand-in for the provider's access-token/b2b endpoint: it verifies
	// the token signature with the partner's public key, as a provider does.
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		toSign := snapauth.TokenStringToSign(r.Header.Get("X-CLIENT-KEY"), r.Header.Get("X-TIMESTAMP"))
		if snapauth.VerifyAsymmetric(&key.PublicKey, toSign, r.Header.Get("X-SIGNATURE")) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"responseCode":"4017300","responseMessage":"Unauthorized. Signature"}`)
			return
		}
		fmt.Fprint(w, `{"responseCode":"2007300","responseMessage":"Successful","accessToken":"b2b-token","tokenType":"Bearer","expiresIn":"900"}`)
	}))
	defer provider.Close()
	// A stand-in for a SNAP service that echoes the Authorization header.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Header.Get("Authorization"))
	}))
	defer api.Close()

	cfg := &snapauth.B2BConfig{
		TokenURL:   provider.URL + "/snap/v1.0/access-token/b2b",
		ClientKey:  "partner-client-key",
		PrivateKey: key,
	}
	// The context supplies the HTTP client (here the test server's).
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, provider.Client())
	src := cfg.TokenSource(ctx) // cached: one token fetch for both calls below
	client := oauth2.NewClient(ctx, src)
	for range 2 {
		resp, err := client.Get(api.URL + "/v1.0/balance-inquiry")
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body))
	}
	// Output:
	// Bearer b2b-token
	// Bearer b2b-token
}

func ExampleB2B2CConfig_Exchange() {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	// A stand-in for the provider's access-token/b2b2c endpoint.
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		toSign := snapauth.TokenStringToSign(r.Header.Get("X-CLIENT-KEY"), r.Header.Get("X-TIMESTAMP"))
		var req struct{ GrantType, AuthCode string }
		if snapauth.VerifyAsymmetric(&key.PublicKey, toSign, r.Header.Get("X-SIGNATURE")) != nil ||
			json.NewDecoder(r.Body).Decode(&req) != nil || req.AuthCode != "AC-123" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"responseCode":"4017400","responseMessage":"Unauthorized"}`)
			return
		}
		fmt.Fprintf(w, `{"responseCode":"2007400","accessToken":"customer-token","tokenType":"Bearer",`+
			`"accessTokenExpiryTime":%q,"refreshToken":"rt-1","refreshTokenExpiryTime":%q}`,
			time.Now().Add(15*time.Minute).Format(time.RFC3339), time.Now().AddDate(0, 1, 0).Format(time.RFC3339))
	}))
	defer provider.Close()

	cfg := &snapauth.B2B2CConfig{
		TokenURL:    provider.URL + "/v1.0/access-token/b2b2c",
		ClientKey:   "partner-client-key",
		PrivateKey:  key,
		AuthURL:     "https://wallet.example/v1.0/get-auth-code",
		PartnerID:   "P-1",
		RedirectURL: "https://merchant.example/bind/done",
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, provider.Client())

	// 1. Send the customer to the account-binding page with an unguessable
	// state (crypto/rand.Text()) kept in the customer's session.
	state := "st4te"
	bindURL, err := cfg.AuthCodeURL(state, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(bindURL)

	// 2. The provider redirects the customer back; in a handler, r.URL.
	back, _ := url.Parse("https://merchant.example/bind/done?authCode=AC-123&state=st4te")
	code, err := cfg.AuthCodeFromRedirect(back, state)
	if err != nil {
		log.Fatal(err) // ErrStateMismatch, ErrAccessDenied, or no code
	}

	// 3. Exchange the code and save the token under the customer's key.
	tok, err := cfg.Exchange(ctx, code)
	if err != nil {
		log.Fatal(err)
	}
	store := snapauth.NewMemoryStore() // a FileStore or redisstore in production
	if err := store.Save(ctx, "customer-42", tok); err != nil {
		log.Fatal(err)
	}

	// 4. From now on, any replica serves and refreshes the customer's token.
	src := cfg.StoredTokenSource(ctx, store, "customer-42")
	t, err := src.Token()
	if err != nil {
		log.Fatal(err) // errors.Is(err, snapauth.ErrReauthorize): bind again
	}
	fmt.Println(t.AccessToken, t.RefreshToken)
	// Output:
	// https://wallet.example/v1.0/get-auth-code?partnerId=P-1&redirectUrl=https%3A%2F%2Fmerchant.example%2Fbind%2Fdone&state=st4te
	// customer-token rt-1
}

// ---- end of transport examples ----

// ---- More token-source examples, against the snaptest sandbox ----

func ExampleB2BConfig_Token() {
	srv := snaptest.NewServer()
	defer srv.Close()
	cfg := &snapauth.B2BConfig{TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey}

	// One exchange, no cache: for a command-line tool or a health check.
	// Long-running code wants TokenSource.
	tok, err := cfg.Token(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.TokenType, tok.Valid(), tok.ExpiresIn)
	// Output: Bearer true 900
}

func ExampleB2BConfig_StoredTokenSource() {
	srv := snaptest.NewServer()
	defer srv.Close()
	cfg := &snapauth.B2BConfig{TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey}
	ctx := context.Background()

	// Two replicas share one store (a FileStore on one host, redisstore for a
	// fleet): the second finds the token the first fetched.
	store := snapauth.NewMemoryStore()
	replica1 := cfg.StoredTokenSource(ctx, store, "b2b")
	replica2 := cfg.StoredTokenSource(ctx, store, "b2b")
	t1, err := replica1.Token()
	if err != nil {
		log.Fatal(err)
	}
	t2, err := replica2.Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same token:", t1.AccessToken == t2.AccessToken)
	fmt.Println("token requests:", srv.Count(snaptest.EndpointB2B))
	// Output:
	// same token: true
	// token requests: 1
}

// exampleLinked returns the B2B2C config of srv and a customer's first
// token, as Exchange gives it after the account binding (see
// ExampleB2B2CConfig_Exchange).
func exampleLinked(ctx context.Context, srv *snaptest.Server) (*snapauth.B2B2CConfig, *oauth2.Token) {
	cfg := &snapauth.B2B2CConfig{TokenURL: srv.B2B2CTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey}
	tok, err := cfg.Exchange(ctx, srv.MintAuthCode())
	if err != nil {
		log.Fatal(err)
	}
	return cfg, tok
}

func ExampleB2B2CConfig_Refresh() {
	srv := snaptest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	cfg, tok := exampleLinked(ctx, srv) // tok is from cfg.Exchange

	renewed, err := cfg.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("refresh token rotated:", renewed.RefreshToken != tok.RefreshToken)

	// The old refresh token is spent: the customer would have to link again.
	_, err = cfg.Refresh(ctx, tok.RefreshToken)
	fmt.Println("reusing it:", errors.Is(err, snapauth.ErrReauthorize))
	// Output:
	// refresh token rotated: true
	// reusing it: true
}

func ExampleB2B2CConfig_TokenSource() {
	srv := snaptest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	cfg, tok := exampleLinked(ctx, srv) // tok is from cfg.Exchange

	// The source hands out tok while it is fresh and refreshes it, with the
	// newest refresh token, when it is due. Use StoredTokenSource to keep the
	// rotated refresh token across restarts.
	src := cfg.TokenSource(ctx, tok)
	t, err := src.Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.AccessToken == tok.AccessToken, srv.Count(snaptest.EndpointB2B2C))
	// Output: true 1
}

func ExampleB2B2CConfig_StoredTokenSource() {
	srv := snaptest.NewServer()
	defer srv.Close()
	cfg := &snapauth.B2B2CConfig{TokenURL: srv.B2B2CTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey}
	ctx := context.Background()
	store := snapauth.NewMemoryStore() // FileStore or redisstore in production

	// Nothing saved under the key yet: the customer has not linked.
	_, err := cfg.StoredTokenSource(ctx, store, "customer-7").Token()
	fmt.Println("before binding:", errors.Is(err, snapauth.ErrReauthorize))

	tok, err := cfg.Exchange(ctx, srv.MintAuthCode())
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Save(ctx, "customer-7", tok); err != nil {
		log.Fatal(err)
	}
	t, err := cfg.StoredTokenSource(ctx, store, "customer-7").Token()
	fmt.Println("after binding:", err == nil && t.AccessToken == tok.AccessToken)
	// Output:
	// before binding: true
	// after binding: true
}

func ExampleB2B2CConfig_AuthCodeURL() {
	cfg := &snapauth.B2B2CConfig{
		AuthURL:     "https://wallet.example/v1.0/get-auth-code",
		PartnerID:   "P-1",
		RedirectURL: "https://merchant.example/bind/done",
		Scopes:      []string{"QUERY_BALANCE", "PAYMENT"},
	}
	// Keep the state in the customer's session; use crypto/rand.Text().
	u, err := cfg.AuthCodeURL("st4te", url.Values{"lang": {"id"}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u)
	// Output: https://wallet.example/v1.0/get-auth-code?lang=id&partnerId=P-1&redirectUrl=https%3A%2F%2Fmerchant.example%2Fbind%2Fdone&scopes=QUERY_BALANCE%2CPAYMENT&state=st4te
}

func ExampleB2B2CConfig_AuthCodeFromRedirect() {
	var cfg snapauth.B2B2CConfig
	back, _ := url.Parse("https://merchant.example/bind/done?authCode=AC-9&state=st4te")
	code, err := cfg.AuthCodeFromRedirect(back, "st4te")
	fmt.Println(code, err)

	forged, _ := url.Parse("https://merchant.example/bind/done?authCode=AC-9&state=other")
	_, err = cfg.AuthCodeFromRedirect(forged, "st4te")
	fmt.Println(errors.Is(err, snapauth.ErrStateMismatch))

	denied, _ := url.Parse("https://merchant.example/bind/done?error=access_denied&state=st4te")
	_, err = cfg.AuthCodeFromRedirect(denied, "st4te")
	fmt.Println(errors.Is(err, snapauth.ErrAccessDenied))
	// Output:
	// AC-9 <nil>
	// true
	// true
}

func ExampleError() {
	srv := snaptest.NewServer()
	defer srv.Close()
	// A provider whose next token call fails with 429 Too Many Requests.
	srv.FailTokenCalls(1, http.StatusTooManyRequests, "4297300")
	cfg := &snapauth.B2BConfig{TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, MaxRetries: -1}

	_, err := cfg.Token(context.Background())
	var e *snapauth.Error
	if errors.As(err, &e) {
		fmt.Println(e.StatusCode, e.ResponseCode, e.ServiceCode(), e.CaseCode())
	}
	fmt.Println(errors.Is(err, snapauth.ErrRateLimited), errors.Is(err, snapauth.ErrTemporary))
	// Output:
	// 429 4297300 73 00
	// true true
}

func ExampleRefreshTokenExpiry() {
	tok := (&oauth2.Token{AccessToken: "a", RefreshToken: "r"}).WithExtra(map[string]any{
		"refreshTokenExpiryTime": "2026-12-22T08:55:05+07:00",
	})
	fmt.Println(snapauth.RefreshTokenExpiry(tok).UTC())
	// Output: 2026-12-22 01:55:05 +0000 UTC
}
