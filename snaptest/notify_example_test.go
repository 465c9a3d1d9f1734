package snaptest_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
)

// The sandbox plays the provider calling the partner: a payment
// notification signed with the provider's key, which the partner checks with
// snapauth.Verifier and the provider's public key.
func ExampleServer_Notify() {
	srv := snaptest.NewServer()
	defer srv.Close()
	pub, err := snapauth.ParsePublicKey(srv.ProviderPublicKeyPEM()) // as the provider publishes it
	if err != nil {
		log.Fatal(err)
	}
	v := &snapauth.Verifier{PublicKey: pub}
	partner := httptest.NewServer(v.Middleware("52", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("verified notification from", r.Header.Get("X-PARTNER-ID") == srv.PartnerID)
	})))
	defer partner.Close()

	resp, err := srv.Notify(context.Background(), partner.URL+"/v1.0/qr/qr-mpm-notify", []byte(`{"latestTransactionStatus": "00"}`))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// verified notification from true
	// 200
}

// NewNotifyRequest gives the signed request without sending it, for a test
// that sends it twice (a replay) or changes it (a forgery).
func ExampleServer_NewNotifyRequest() {
	srv := snaptest.NewServer()
	defer srv.Close()
	req, err := srv.NewNotifyRequest(context.Background(), "http://127.0.0.1:1/v1.0/qr/qr-mpm-notify", []byte("{ \"a\": 1 }"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(req.Method, req.URL.Path, req.ContentLength, req.Header.Get("X-SIGNATURE") != "")
	// Output:
	// POST /v1.0/qr/qr-mpm-notify 7 true
}

func ExampleServer_ProviderPublicKey() {
	srv := snaptest.NewServer()
	defer srv.Close()
	fmt.Println(srv.ProviderPublicKey().N.BitLen(), srv.ProviderPublicKey().Equal(&srv.PrivateKey.PublicKey))
	// Output:
	// 2048 false
}
