package snaptest_test

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
	"golang.org/x/oauth2"
)

// snapCode reads the responseCode of a SNAP answer.
func snapCode(resp *http.Response) string {
	var v struct {
		ResponseCode string `json:"responseCode"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return v.ResponseCode
}

// A test starts a sandbox provider and points a snapauth client at it with
// the credentials the sandbox generated.
func ExampleNewServer() {
	srv := snaptest.NewServer()
	defer srv.Close()

	cfg := &snapauth.B2BConfig{
		TokenURL:   srv.B2BTokenURL(),
		ClientKey:  srv.ClientKey,
		PrivateKey: srv.PrivateKey,
		HTTPClient: srv.Client(),
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client())
	client := cfg.Client(ctx, &snapauth.Transport{
		ClientSecret: srv.ClientSecret,
		PartnerID:    srv.PartnerID,
		ChannelID:    srv.ChannelID,
	})
	for range 2 {
		resp, err := client.Post(srv.ServiceURL("/v1.0/transfer-va/inquiry"), "application/json",
			strings.NewReader(`{"partnerServiceId": "  088899", "customerNo": "12345678901234567890"}`))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(resp.StatusCode, snapCode(resp))
		resp.Body.Close()
	}
	fmt.Println("B2B token requests:", srv.Count(snaptest.EndpointB2B))
	// Output:
	// 200 2004700
	// 200 2004700
	// B2B token requests: 1
}

// MintAuthCode stands in for the customer's consent on the account-binding
// page: the code it returns is exchanged like one from the page's redirect.
func ExampleServer_MintAuthCode() {
	srv := snaptest.NewServer()
	defer srv.Close()

	cfg := &snapauth.B2B2CConfig{
		TokenURL:   srv.B2B2CTokenURL(),
		ClientKey:  srv.ClientKey,
		PrivateKey: srv.PrivateKey,
		HTTPClient: srv.Client(),
	}
	ctx := context.Background()
	tok, err := cfg.Exchange(ctx, srv.MintAuthCode())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("refresh token longer than 512:", len(tok.RefreshToken) > 512)

	// Refresh tokens rotate and are single use.
	if _, err := cfg.Refresh(ctx, tok.RefreshToken); err != nil {
		log.Fatal(err)
	}
	_, err = cfg.Refresh(ctx, tok.RefreshToken)
	var snapErr *snapauth.Error
	if errors.As(err, &snapErr) {
		fmt.Println("reused refresh token:", snapErr.ResponseCode)
	}
	// Output:
	// refresh token longer than 512: true
	// reused refresh token: 4017401
}

// The knobs make the provider misbehave; Stats and LastRequest show what it
// saw.
func ExampleServer_FailTokenCalls() {
	srv := snaptest.NewServer()
	defer srv.Close()
	srv.FailTokenCalls(1, http.StatusServiceUnavailable, "")

	cfg := &snapauth.B2BConfig{
		TokenURL:   srv.B2BTokenURL(),
		ClientKey:  srv.ClientKey,
		PrivateKey: srv.PrivateKey,
		HTTPClient: srv.Client(),
		MaxRetries: -1,
	}
	_, err := cfg.Token(context.Background())
	var snapErr *snapauth.Error
	if errors.As(err, &snapErr) {
		fmt.Println(snapErr.StatusCode, snapErr.ResponseCode, errors.Is(err, snapauth.ErrTemporary))
	}
	if _, err := cfg.Token(context.Background()); err != nil {
		log.Fatal(err)
	}
	st := srv.Stats()
	fmt.Println("calls:", st.Calls[snaptest.EndpointB2B], "issued:", st.Issued[snaptest.EndpointB2B],
		"injected failures:", st.Rejections[snaptest.ReasonInjected])
	// Output:
	// 503 5037300 true
	// calls: 2 issued: 1 injected failures: 1
}

// LastRequest shows the string the server verified a signature against,
// to compare with the one the client signed.
func ExampleServer_LastRequest() {
	srv := snaptest.NewServer()
	defer srv.Close()

	cfg := &snapauth.B2BConfig{
		TokenURL:   srv.B2BTokenURL(),
		ClientKey:  srv.ClientKey,
		PrivateKey: srv.PrivateKey,
		HTTPClient: srv.Client(),
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client())
	client := cfg.Client(ctx, &snapauth.Transport{
		ClientSecret: "not-the-secret",
		PartnerID:    srv.PartnerID,
		ChannelID:    srv.ChannelID,
	})
	resp, err := client.Post(srv.ServiceURL("/v1.0/transfer-va/inquiry"), "application/json", strings.NewReader(`{"a": 1}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, snapCode(resp))
	resp.Body.Close()

	rec, _ := srv.LastRequest()
	fmt.Println("reason:", rec.Reason)
	fmt.Println("server hashed:", string(rec.Canonical))
	fmt.Println("string starts:", strings.SplitN(rec.StringToSign, ":", 3)[:2])
	// Output:
	// 401 4014700
	// reason: signature
	// server hashed: {"a":1}
	// string starts: [POST /v1.0/transfer-va/inquiry]
}

// A provider revokes one customer access token; its refresh token still
// renews it.
func ExampleServer_RevokeToken() {
	srv := snaptest.NewServer()
	defer srv.Close()
	creds := srv.Credentials
	cfg := &snapauth.B2B2CConfig{TokenURL: srv.B2B2CTokenURL(), ClientKey: creds.ClientKey, PrivateKey: creds.PrivateKey}
	tok, err := cfg.Exchange(context.Background(), srv.MintAuthCode())
	if err != nil {
		panic(err)
	}
	fmt.Println(srv.RevokeToken(tok.AccessToken), srv.RevokeToken(tok.AccessToken))
	_, err = cfg.Refresh(context.Background(), tok.RefreshToken)
	fmt.Println(err)
	// Output:
	// true false
	// <nil>
}
