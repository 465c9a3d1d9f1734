package snapauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
)

// answer prints the status and SNAP code of a response and closes it.
func answer(resp *http.Response, err error) {
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ ResponseCode, ResponseMessage string }
	_ = json.NewDecoder(resp.Body).Decode(&v)
	fmt.Println(resp.StatusCode, v.ResponseCode, v.ResponseMessage)
}

// Receiving a QRIS payment notification (service 52) as a provider such as
// Finpay posts it to the merchant. Here the sandbox plays the provider and
// signs with its own key, the asymmetric form; register the provider's
// public key with the Verifier. (A provider that signs symmetrically, with a
// token it got from you, goes through TokenServer.Middleware instead.)
func ExampleVerifier_Middleware() {
	provider := snaptest.NewServer(snaptest.WithProvider(snapauth.Finnet))
	defer provider.Close()

	v := &snapauth.Verifier{PublicKey: provider.ProviderPublicKey()} // in production: snapauth.ParsePublicKey
	mux := http.NewServeMux()
	mux.Handle("POST /v1.0/qr/qr-mpm-notify", v.Middleware("52", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only verified requests get here, with the body readable.
		var n struct {
			OriginalReferenceNo     string `json:"originalReferenceNo"`
			LatestTransactionStatus string `json:"latestTransactionStatus"`
		}
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		fmt.Println("paid:", n.OriginalReferenceNo, n.LatestTransactionStatus)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"responseCode":"2005200","responseMessage":"Successful"}`)
	})))
	merchant := httptest.NewServer(mux)
	defer merchant.Close()

	notification := []byte(`{
		"originalReferenceNo": "2020102977770000000009",
		"latestTransactionStatus": "00",
		"amount": {"value": "12345678.00", "currency": "IDR"},
		"additionalInfo": {"merchantName": "BB011 WARTEG MUSTIKA", "note": "caf\u00e9 \/ <3"}
	}`)
	req, err := provider.NewNotifyRequest(context.Background(), merchant.URL+"/v1.0/qr/qr-mpm-notify", notification)
	if err != nil {
		log.Fatal(err)
	}
	answer(http.DefaultClient.Do(req))

	// The same delivery again: refused as a replay of its X-EXTERNAL-ID.
	again := req.Clone(context.Background())
	again.Body, _ = req.GetBody()
	answer(http.DefaultClient.Do(again))

	// A tampered one: the amount changed after the provider signed it.
	forged, _ := provider.NewNotifyRequest(context.Background(), merchant.URL+"/v1.0/qr/qr-mpm-notify", notification)
	body, _ := io.ReadAll(forged.Body)
	forged.Body = io.NopCloser(bytes.NewReader(bytes.Replace(body, []byte("12345678.00"), []byte("99999999.00"), 1)))
	answer(http.DefaultClient.Do(forged))
	// Output:
	// paid: 2020102977770000000009 00
	// 200 2005200 Successful
	// 409 4095200 Conflict
	// 401 4015200 Unauthorized. [Signature]
}

// Serving a bank's virtual-account inquiry with the token endpoint in front:
// the bank first asks the merchant for a B2B token (signed with the bank's
// key, checked with the public key it registered), then calls the inquiry
// with that token and the symmetric signature keyed with the client secret
// the merchant gave it.
func ExampleTokenServer() {
	bankKeyPEM, err := os.ReadFile("testdata/keys/rsa-pkcs8.pem")
	if err != nil {
		log.Fatal(err)
	}
	bankKey, err := snapauth.ParsePrivateKey(bankKeyPEM)
	if err != nil {
		log.Fatal(err)
	}

	// The merchant's side: partners by client key; Store and Replay would be
	// a redisstore.Store for a fleet.
	ts := &snapauth.TokenServer{Callers: map[string]snapauth.Caller{
		"bca-client-key": {ClientKey: "bca-client-key", PublicKey: &bankKey.PublicKey, ClientSecret: "secret-for-bca"},
	}}
	mux := http.NewServeMux()
	mux.Handle("POST /v1.0/access-token/b2b", ts)
	mux.Handle("POST /v1.0/transfer-va/inquiry", ts.Middleware("24", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bank, _ := snapauth.ClientKeyFromContext(r.Context())
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("inquiry from %s: %s\n", bank, body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"responseCode":"2002400","responseMessage":"Successful"}`)
	})))
	merchant := httptest.NewServer(mux)
	defer merchant.Close()

	// The bank's side, here with snapauth's own client.
	bank := &snapauth.B2BConfig{TokenURL: merchant.URL + "/v1.0/access-token/b2b", ClientKey: "bca-client-key", PrivateKey: bankKey}
	client := bank.Client(context.Background(), &snapauth.Transport{ClientSecret: "secret-for-bca", PartnerID: "BCA", ChannelID: "95231"})
	answer(client.Post(merchant.URL+"/v1.0/transfer-va/inquiry", "application/json",
		strings.NewReader(`{"partnerServiceId": "   12345", "customerNo": "0812345678"}`)))

	// A plain POST without SNAP headers, and a call with a made-up token.
	answer(http.Post(merchant.URL+"/v1.0/transfer-va/inquiry", "application/json", strings.NewReader(`{}`)))
	req, _ := http.NewRequest(http.MethodPost, merchant.URL+"/v1.0/transfer-va/inquiry", strings.NewReader(`{}`))
	for k, v := range map[string]string{"Authorization": "Bearer guessed", "X-TIMESTAMP": snapauth.Standard.Timestamp(time.Now()),
		"X-SIGNATURE": "AAAA", "X-PARTNER-ID": "BCA", "X-EXTERNAL-ID": "1"} {
		req.Header.Set(k, v)
	}
	answer(http.DefaultClient.Do(req))
	// Output:
	// inquiry from bca-client-key: {"partnerServiceId":"   12345","customerNo":"0812345678"}
	// 200 2002400 Successful
	// 400 4002402 Invalid Mandatory Field [X-TIMESTAMP]
	// 401 4012401 Invalid Token (B2B)
}

// Verify in a handler of your own, answering refusals with WriteRefusal.
func ExampleVerifier_Verify() {
	v := &snapauth.Verifier{ClientSecret: "client-secret"}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := v.Verify(r); err != nil {
			fmt.Println("stale:", errors.Is(err, snapauth.ErrStaleTimestamp))
			snapauth.WriteRefusal(w, err, "24")
			return
		}
		io.WriteString(w, `{"responseCode":"2002400"}`)
	})
	r := httptest.NewRequest(http.MethodPost, "/v1.0/transfer-va/inquiry", strings.NewReader(`{}`))
	r.Header.Set("Authorization", "Bearer token")
	r.Header.Set("X-TIMESTAMP", "2020-12-17T10:55:00+07:00")
	r.Header.Set("X-SIGNATURE", "c2lnbmF0dXJl")
	r.Header.Set("X-PARTNER-ID", "BCA")
	r.Header.Set("X-EXTERNAL-ID", "41807553358950093184162180797837")
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// stale: true
	// 401 {"responseCode":"4012400","responseMessage":"Unauthorized. [Timestamp]"}
}

func ExampleVerifier_VerifyTokenRequest() {
	pemData, err := os.ReadFile("testdata/keys/rsa-pkcs8.pem") // the partner's key
	if err != nil {
		log.Fatal(err)
	}
	key, err := snapauth.ParsePrivateKey(pemData)
	if err != nil {
		log.Fatal(err)
	}
	v := &snapauth.Verifier{PublicKey: &key.PublicKey} // the partner's public key, as registered
	ts := snapauth.Standard.Timestamp(time.Now())
	sig, err := snapauth.SignAsymmetric(key, snapauth.TokenStringToSign("client-key", ts)) // the partner signs
	if err != nil {
		log.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/v1.0/access-token/b2b", strings.NewReader(`{"grantType":"client_credentials"}`))
	r.Header.Set("X-TIMESTAMP", ts)
	r.Header.Set("X-CLIENT-KEY", "client-key")
	r.Header.Set("X-SIGNATURE", sig)
	fmt.Println(v.VerifyTokenRequest(r))
	r.Header.Set("X-CLIENT-KEY", "another-client")
	fmt.Println(errors.Is(v.VerifyTokenRequest(r), snapauth.ErrInvalidSignature))
	// Output:
	// <nil>
	// true
}

func ExampleTokenServer_Middleware() {
	ts := &snapauth.TokenServer{Callers: map[string]snapauth.Caller{}}
	h := ts.Middleware("", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { fmt.Println("never reached") }))
	r := httptest.NewRequest(http.MethodPost, "/snap/v1.0/transfer-va/payment", strings.NewReader(`{}`))
	for k, v := range map[string]string{"X-TIMESTAMP": snapauth.Standard.Timestamp(time.Now()), "X-SIGNATURE": "AAAA", "X-PARTNER-ID": "BCA", "X-EXTERNAL-ID": "1"} {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r) // no Authorization; service code 25 from the route
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 401 {"responseCode":"4012503","responseMessage":"Token Not Found (B2B)"}
}

func ExampleClientKeyFromContext() {
	_, ok := snapauth.ClientKeyFromContext(context.Background())
	fmt.Println(ok) // true only inside TokenServer.Middleware; see ExampleTokenServer
	// Output:
	// false
}

func ExampleWriteRefusal() {
	w := httptest.NewRecorder()
	snapauth.WriteRefusal(w, &snapauth.RequestError{StatusCode: 409, CaseCode: "00", Message: "Conflict", Err: snapauth.ErrReplay}, "52")
	fmt.Println(w.Code, w.Header().Get("Content-Type"), w.Body.String())
	// Output:
	// 409 application/json {"responseCode":"4095200","responseMessage":"Conflict"}
}

func ExampleRequestError_ResponseCode() {
	err := &snapauth.RequestError{StatusCode: 401, CaseCode: "01", Message: "Invalid Token (B2B)", Err: snapauth.ErrInvalidToken}
	fmt.Println(err.ResponseCode("24"), err.ResponseCode(""), errors.Is(err, snapauth.ErrInvalidToken))
	// Output:
	// 4012401 4010001 true
}

func ExampleServiceCode() {
	fmt.Println(snapauth.ServiceCode("/snap/v1.0/transfer-va/inquiry"), snapauth.ServiceCode("/v1.0/qr/qr-mpm-notify"), snapauth.ServiceCode("/hook"))
	// Output:
	// 24 52 00
}

func ExampleReplayKey() {
	fmt.Printf("%q\n", snapauth.ReplayKey("FINPAY", "41807553358950093184162180797837", "2026-12-01"))
	// Output:
	// "snap-external-id\x00FINPAY\x002026-12-01\x0041807553358950093184162180797837"
}

func ExampleNewMemoryReplayStore() {
	store := snapauth.NewMemoryReplayStore()
	for range 2 {
		seen, err := store.Seen(context.Background(), snapauth.ReplayKey("BCA", "1", "2026-12-01"), time.Hour)
		fmt.Println(seen, err)
	}
	// Output:
	// false <nil>
	// true <nil>
}

func ExampleIssuedTokenKey() {
	fmt.Println(snapauth.IssuedTokenKey("an-access-token"))
	// Output:
	// snap-issued-b2b:YiHPD2T9DaX5B837XJXto32BKkT6ZcpVAT6si9f5KiY
}
