package snapauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
)

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
