package snaptest_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"strings"

	"golang.org/x/oauth2"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
)

// The inspector explains a rejected signature: here the client signs the
// query string sorted (as BCA's pre-SNAP API did) while the sandbox, following the
// standard, signs it as sent. Open srv.InspectorURL() in a browser to see
// the same as a page that refreshes itself.
func ExampleWithInspector() {
	srv := snaptest.NewServer(snaptest.WithInspector())
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
		Provider:     snapauth.Provider{Name: "sorted-query", EndpointForm: snapauth.EndpointSortedQuery},
	})
	resp, err := client.Post(srv.ServiceURL("/v1.0/transfer-va/inquiry?b=2&a=1"), "application/json", strings.NewReader(`{}`))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()

	all := srv.Inspected()
	last := all[len(all)-1]
	fmt.Println(len(all), "requests; the last one", last.Verdict, last.ResponseCode)
	fmt.Println("why:", last.Rule)
	fmt.Println("cause:", strings.SplitN(last.Causes[0], ":", 2)[0])
	// Output:
	// 2 requests; the last one rejected 4014700
	// why: X-SIGNATURE is not the HMAC-SHA512, keyed with the client secret, of the string to sign the provider computed (below)
	// cause: wrong EndpointUrl form
}

// The consent page names the partner, says what each scope allows, and
// where the customer goes back to.
func ExampleWithPartnerName() {
	srv := snaptest.NewServer(snaptest.WithPartnerName("Toko Kopi"))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.AuthCodePageURL("https://shop.example/cb", "state-1", "QUERY_BALANCE"))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	for _, want := range []string{"Toko Kopi", "See your balance", "shop.example", "Approve", "Deny"} {
		fmt.Println(want, strings.Contains(string(page), want))
	}
	// Output:
	// Toko Kopi true
	// See your balance true
	// shop.example true
	// Approve true
	// Deny true
}
