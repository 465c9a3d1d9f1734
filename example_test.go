package snapauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"golang.org/x/oauth2"
)

// ---- Signer examples (signer.go): keys, strings to sign, signatures, timestamps ----

func ExampleParsePrivateKey() {
	// The partner's key as the provider's portal hands it out: PKCS#1 or
	// PKCS#8 PEM, or bare base64 DER; all parse the same way.
	data, err := os.ReadFile("testdata/keys/rsa-pkcs8.pem")
	if err != nil {
		log.Fatal(err)
	}
	key, err := snapauth.ParsePrivateKey(data)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("RSA bits:", key.N.BitLen())

	// A password-protected key is refused with ErrEncryptedKey.
	data, err = os.ReadFile("testdata/keys/rsa-pkcs8-encrypted.pem")
	if err != nil {
		log.Fatal(err)
	}
	_, err = snapauth.ParsePrivateKey(data)
	fmt.Println("encrypted:", errors.Is(err, snapauth.ErrEncryptedKey))
	// Output:
	// RSA bits: 2048
	// encrypted: true
}

func ExampleParsePublicKey() {
	// The provider's public key: PKIX or PKCS#1 PEM, an X.509 certificate,
	// or bare base64 DER.
	for _, name := range []string{"rsa-public-pkix.pem", "rsa-cert.pem", "rsa-public-pkix.b64"} {
		data, err := os.ReadFile("testdata/keys/" + name)
		if err != nil {
			log.Fatal(err)
		}
		pub, err := snapauth.ParsePublicKey(data)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(name, pub.N.BitLen())
	}
	// Output:
	// rsa-public-pkix.pem 2048
	// rsa-cert.pem 2048
	// rsa-public-pkix.b64 2048
}

func ExampleMinify() {
	// What json.MarshalIndent writes: whitespace and HTML escapes. A provider
	// that re-serialises the body (JSON.stringify(JSON.parse(body))) would
	// hash different bytes; Minify gives the form that survives that.
	body := []byte(`{
    "partnerReferenceNo": "2020102900000000000001",
    "remark": "\u003cb\u003eTom \u0026 Jerry\u003c/b\u003e caf\u00e9",
    "amount": {"value": "10000.00", "currency": "IDR"}
}`)
	min, err := snapauth.Minify(body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(min))

	_, err = snapauth.Minify([]byte(`{"amount": 10000.00,}`))
	fmt.Println(err)
	// Output:
	// {"partnerReferenceNo":"2020102900000000000001","remark":"<b>Tom & Jerry</b> café","amount":{"value":"10000.00","currency":"IDR"}}
	// snapauth: body is not valid JSON; refusing to sign it
}

func ExampleTokenStringToSign() {
	timestamp := "2020-12-17T10:55:00+07:00"
	fmt.Println(snapauth.TokenStringToSign("8b7ac5a0-2b5c-4d2e-9a3c-0f7c1e2d3b4a", timestamp))
	// Output:
	// 8b7ac5a0-2b5c-4d2e-9a3c-0f7c1e2d3b4a|2020-12-17T10:55:00+07:00
}

func ExampleServiceStringToSign() {
	body := []byte(`{ "partnerReferenceNo": "2020102900000000000001" }`)
	ts := "2020-12-17T10:55:00+07:00"

	// Symmetric form, signed with the client secret: the B2B access token is
	// one segment.
	sts, err := snapauth.ServiceStringToSign("post", "/snap/v1.0/transfer/status", "gp9HjjEj813Y9JGo", body, ts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sts)

	// Asymmetric form (no access token), signed with the private key. A GET
	// has no body: the hash is that of the empty string.
	sts, err = snapauth.ServiceStringToSign("GET", "/snap/v1.0/balance?account=123", "", nil, ts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sts)
	// Output:
	// POST:/snap/v1.0/transfer/status:gp9HjjEj813Y9JGo:f7691047ebc13ca9c0eeb206ebf5af1198aa4c615d7e3580fc487fc9b24ce2ba:2020-12-17T10:55:00+07:00
	// GET:/snap/v1.0/balance?account=123:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855:2020-12-17T10:55:00+07:00
}

func ExampleSignAsymmetric() {
	// In production: key, err := snapauth.ParsePrivateKey(pemBytes), or any
	// crypto.Signer backed by an HSM or a cloud KMS.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	sts := snapauth.TokenStringToSign("client-key", "2020-12-17T10:55:00+07:00")
	sig, err := snapauth.SignAsymmetric(key, sts) // X-SIGNATURE of the token request
	if err != nil {
		log.Fatal(err)
	}
	// The provider checks it with the partner's public key.
	fmt.Println("verified:", snapauth.VerifyAsymmetric(&key.PublicKey, sts, sig) == nil)
	// Output:
	// verified: true
}

func ExampleSignSymmetric() {
	sts := "POST:/v1.0/transfer-va/inquiry:gp9HjjEj813Y9JGo:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855:2020-12-17T10:55:00+07:00"
	// The same as: printf %s "$sts" | openssl dgst -sha512 -hmac client-secret -binary | base64
	fmt.Println(snapauth.SignSymmetric("client-secret", sts))
	// Output:
	// pSCNrrPmw84ZwIVv13PlFUa6TMndD6JWJ3qXSk5w+Lkpn2lvfFwOAqA1keicX/wREWgjGQzfR2DeNdj+A1TNXA==
}

func ExampleVerifyAsymmetric() {
	// The reverse direction: a provider calls the partner's access-token
	// endpoint, and the partner checks X-SIGNATURE with the provider's
	// public key (from snapauth.ParsePublicKey).
	providerKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&providerKey.PublicKey)
	if err != nil {
		log.Fatal(err)
	}
	pub, err := snapauth.ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil {
		log.Fatal(err)
	}

	sts := snapauth.TokenStringToSign("provider-client-key", "2020-12-17T10:55:00+07:00")
	sig, err := snapauth.SignAsymmetric(providerKey, sts) // done by the provider
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(snapauth.VerifyAsymmetric(pub, sts, sig))
	err = snapauth.VerifyAsymmetric(pub, snapauth.TokenStringToSign("provider-client-key", "2020-12-17T10:56:00+07:00"), sig)
	fmt.Println(errors.Is(err, snapauth.ErrInvalidSignature))
	// Output:
	// <nil>
	// true
}

func ExampleVerifySymmetric() {
	// A payment notification arrives; recompute the string to sign from the
	// received method, path, token, body and X-TIMESTAMP, then check
	// X-SIGNATURE in constant time.
	body := []byte(`{"virtualAccountNo":"   12345123456789012345678","paidAmount":{"value":"10000.00","currency":"IDR"}}`)
	sts, err := snapauth.ServiceStringToSign("POST", "/v1.0/transfer-va/payment", "issued-token", body, "2020-12-17T10:55:00+07:00")
	if err != nil {
		log.Fatal(err)
	}
	received := snapauth.SignSymmetric("client-secret", sts) // what the provider sent
	fmt.Println(snapauth.VerifySymmetric("client-secret", sts, received))
	fmt.Println(snapauth.VerifySymmetric("another-secret", sts, received))
	// Output:
	// <nil>
	// snapauth: invalid signature
}

func ExampleFormatTimestamp() {
	t := time.Date(2020, 12, 17, 3, 55, 0, 0, time.UTC)
	fmt.Println(snapauth.FormatTimestamp(t.In(snapauth.Jakarta)))
	fmt.Println(snapauth.FormatTimestamp(t)) // in t's own zone
	// Output:
	// 2020-12-17T10:55:00+07:00
	// 2020-12-17T03:55:00+00:00
}

func ExampleParseTimestamp() {
	for _, s := range []string{"2020-12-17T10:55:00+07:00", "2020-12-17T10:55:00.123+07:00", "2020-12-17T03:55:00Z", "2020-12-17T10:55:00"} {
		t, err := snapauth.ParseTimestamp(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(t.UTC().Format(time.RFC3339Nano))
	}
	// Output:
	// 2020-12-17T03:55:00Z
	// 2020-12-17T03:55:00.123Z
	// 2020-12-17T03:55:00Z
	// snapauth: X-TIMESTAMP "2020-12-17T10:55:00" is not yyyy-MM-ddTHH:mm:ss±hh:mm
}

func ExampleProvider_Timestamp() {
	now := time.Date(2020, 12, 17, 3, 55, 0, 123e6, time.UTC)
	for _, p := range []snapauth.Provider{snapauth.Standard, snapauth.BRI, snapauth.DOKU} {
		fmt.Printf("%-8s %s\n", p.Name, p.Timestamp(now))
	}
	// Output:
	// standard 2020-12-17T10:55:00+07:00
	// bri      2020-12-17T10:55:00.123+07:00
	// doku     2020-12-17T03:55:00Z
}

func ExampleProvider_EndpointURL() {
	u, err := url.Parse("https://sandbox.example.co.id/openapi/v1.0/transfer/status?b=2&name=Budi+S&a=1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(snapauth.Standard.EndpointURL(u))
	fmt.Println(snapauth.BCA.EndpointURL(u))
	fmt.Println(snapauth.Provider{Endpoint: snapauth.EndpointPathOnly}.EndpointURL(u))
	// Output:
	// /openapi/v1.0/transfer/status?b=2&name=Budi+S&a=1
	// /openapi/v1.0/transfer/status?a=1&b=2&name=Budi%20S
	// /openapi/v1.0/transfer/status
}

func ExampleProvider_GrantType() {
	fmt.Println(snapauth.Standard.GrantType("authorization_code"))
	fmt.Println(snapauth.DANA.GrantType("authorization_code"))
	// Output:
	// authorization_code
	// AUTHORIZATION_CODE
}

func ExampleProvider_EncodeSignature() {
	sig := []byte{0xde, 0xad, 0xbe, 0xef}
	fmt.Println(snapauth.Standard.EncodeSignature(sig))
	fmt.Println(snapauth.Provider{Encoding: snapauth.Hex}.EncodeSignature(sig))
	// Output:
	// 3q2+7w==
	// deadbeef
}

// ---- end of signer examples ----

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

// ---- Transport examples (transport.go): signed SNAP service calls ----

// Any http.Client speaks SNAP through a Transport: it minifies the JSON body,
// sends exactly the bytes it signed, and adds the SNAP headers. The provider
// here is snaptest's sandbox, which verifies everything a real one does.
func ExampleTransport() {
	srv := snaptest.NewServer()
	defer srv.Close()

	b2b := &snapauth.B2BConfig{TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey}
	client := &http.Client{Transport: &snapauth.Transport{
		Source:       b2b.TokenSource(context.Background()),
		ClientSecret: srv.ClientSecret,
		PartnerID:    srv.PartnerID,
		ChannelID:    srv.ChannelID,
	}}
	body := `{
		"partnerReferenceNo": "2020102900000000000001",
		"amount": {"value": "10000.00", "currency": "IDR"},
		"remark": "<Tom & Jerry> café"
	}`
	resp, err := client.Post(srv.ServiceURL("/v1.0/transfer-intrabank"), "application/json", strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()

	rec, _ := srv.LastRequest()
	fmt.Println(resp.StatusCode, rec.ResponseCode, rec.SignatureMode)
	fmt.Println(string(rec.Body))
	fmt.Println(rec.Header.Get("Authorization")[:7], len(rec.Header.Get("X-EXTERNAL-ID")), rec.Header.Get("CHANNEL-ID"))
	// Output:
	// 200 2004700 symmetric
	// {"partnerReferenceNo":"2020102900000000000001","amount":{"value":"10000.00","currency":"IDR"},"remark":"<Tom & Jerry> café"}
	// Bearer  36 95221
}

// With a private key instead of a client secret, the transport makes the
// asymmetric SHA256withRSA signature "without token": no Source is needed.
func ExampleTransport_asymmetric() {
	srv := snaptest.NewServer(snaptest.WithServiceAuth(snaptest.Asymmetric))
	defer srv.Close()

	client := &http.Client{Transport: &snapauth.Transport{
		PrivateKey: srv.PrivateKey,
		PartnerID:  srv.PartnerID,
		ChannelID:  srv.ChannelID,
	}}
	resp, err := client.Post(srv.ServiceURL("/v1.0/qr/qr-mpm-generate"), "application/json",
		strings.NewReader(`{"partnerReferenceNo": "1", "amount": {"value": "5000.00", "currency": "IDR"}}`))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	rec, _ := srv.LastRequest()
	fmt.Println(resp.StatusCode, rec.SignatureMode, "Authorization:", rec.Header.Get("Authorization") != "")
	// Output:
	// 200 asymmetric Authorization: false
}

// B2BConfig.Client wires the cached B2B token source into a ready client. When
// the provider rejects a token it issued (here: revoked), the transport drops
// it, fetches a new one and sends the request once more with the same
// X-EXTERNAL-ID.
func ExampleB2BConfig_Client() {
	srv := snaptest.NewServer()
	defer srv.Close()

	cfg := &snapauth.B2BConfig{TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey}
	client := cfg.Client(context.Background(), &snapauth.Transport{
		ClientSecret: srv.ClientSecret,
		PartnerID:    srv.PartnerID,
		ChannelID:    srv.ChannelID,
	})
	call := func() {
		resp, err := client.Post(srv.ServiceURL("/v1.0/balance-inquiry"), "application/json",
			strings.NewReader(`{"accountNo": "2000100101"}`))
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	call()
	srv.RevokeAccessTokens()
	call()
	fmt.Println("token requests:", srv.Count(snaptest.EndpointB2B), "service requests:", srv.Count(snaptest.EndpointService))
	// Output:
	// 200
	// 200
	// token requests: 2 service requests: 3
}

// A B2B2C call carries the customer's token too: put the customer's token
// source in the request's context with WithCustomerToken, and the transport
// adds Authorization-Customer. Device headers are set per request.
func ExampleWithCustomerToken() {
	srv := snaptest.NewServer()
	defer srv.Close()
	ctx := context.Background()

	b2b := &snapauth.B2BConfig{TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey}
	client := b2b.Client(ctx, &snapauth.Transport{
		ClientSecret: srv.ClientSecret,
		PartnerID:    srv.PartnerID,
		ChannelID:    srv.ChannelID,
	})

	// The customer's tokens, from the authorization code of account binding.
	b2b2c := &snapauth.B2B2CConfig{TokenURL: srv.B2B2CTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey}
	tok, err := b2b2c.Exchange(ctx, srv.MintAuthCode())
	if err != nil {
		log.Fatal(err)
	}
	customer := b2b2c.TokenSource(ctx, tok)

	req, err := http.NewRequestWithContext(snapauth.WithCustomerToken(ctx, customer), http.MethodPost,
		srv.ServiceURL("/v1.0/customer/balance-inquiry"), strings.NewReader(`{"partnerReferenceNo": "7"}`))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("X-DEVICE-ID", "android-1234")
	req.Header.Set("X-IP-ADDRESS", "203.0.113.7")
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	var answer struct {
		ResponseCode string        `json:"responseCode"`
		Echo         snaptest.Echo `json:"echo"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(answer.ResponseCode, answer.Echo.Customer)
	// Output:
	// 2004700 customer-1
}

// NewExternalID makes the default X-EXTERNAL-ID: 36 digits, unique without
// coordination. Set Transport.ExternalID to use your own.
func ExampleNewExternalID() {
	id := snapauth.NewExternalID()
	numeric := strings.Trim(id, "0123456789") == ""
	fmt.Println(len(id), numeric)
	// Output:
	// 36 true
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

func ExampleB2B2CConfig_Refresh() {
	srv := snaptest.NewServer()
	defer srv.Close()
	cfg := &snapauth.B2B2CConfig{TokenURL: srv.B2B2CTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey}
	ctx := context.Background()

	tok, err := cfg.Exchange(ctx, srv.MintAuthCode())
	if err != nil {
		log.Fatal(err)
	}
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
	cfg := &snapauth.B2B2CConfig{TokenURL: srv.B2B2CTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey}
	ctx := context.Background()

	tok, err := cfg.Exchange(ctx, srv.MintAuthCode())
	if err != nil {
		log.Fatal(err)
	}
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
		fmt.Println(e.StatusCode, e.ResponseCode, e.ServiceCode, e.CaseCode)
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

func ExampleCheckTimestamp() {
	now := time.Date(2026, 11, 22, 9, 15, 0, 0, snapauth.Jakarta)
	_, err := snapauth.CheckTimestamp("2026-11-22T09:13:30+07:00", now, 5*time.Minute)
	fmt.Println(err)
	_, err = snapauth.CheckTimestamp("2026-11-22T09:05:00+07:00", now, 5*time.Minute)
	fmt.Println(errors.Is(err, snapauth.ErrStaleTimestamp))
	// Output:
	// <nil>
	// true
}

// CheckResponse turns a SNAP service answer into nil or an *Error, keeping
// the body readable.
func ExampleCheckResponse() {
	srv := snaptest.NewServer()
	defer srv.Close()
	cfg := &snapauth.B2BConfig{TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey}
	client := cfg.Client(context.Background(), &snapauth.Transport{
		ClientSecret: srv.ClientSecret, PartnerID: srv.PartnerID, ChannelID: srv.ChannelID,
	})
	srv.FailServiceCalls(1, http.StatusServiceUnavailable, "5034700")

	for range 2 {
		resp, err := client.Post(srv.ServiceURL("/v1.0/balance-inquiry"), "application/json",
			strings.NewReader(`{"accountNo":"2000100101"}`))
		if err != nil {
			log.Fatal(err)
		}
		err = snapauth.CheckResponse(resp)
		var e *snapauth.Error
		switch {
		case errors.As(err, &e):
			fmt.Println("failed:", e.ResponseCode, "temporary:", errors.Is(err, snapauth.ErrTemporary))
		case err != nil:
			log.Fatal(err)
		default:
			var answer struct{ ResponseCode string }
			if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
				log.Fatal(err)
			}
			fmt.Println("ok:", answer.ResponseCode)
		}
		resp.Body.Close()
	}
	// Output:
	// failed: 5034700 temporary: true
	// ok: 2004700
}
