package snapauth_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"golang.org/x/oauth2"
)

// exampleCustomers returns a provider, a client and a Customers over a
// MemoryStore, all configured through one Partner.
func exampleCustomers() (*snaptest.Server, *http.Client, *snapauth.Customers) {
	srv := snaptest.NewServer()
	ctx := context.Background()
	partner := &snapauth.Partner{ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey,
		ClientSecret: srv.ClientSecret, PartnerID: srv.PartnerID, ChannelID: srv.ChannelID}
	b2b := &snapauth.B2BConfig{Partner: partner, TokenURL: srv.B2BTokenURL()}
	customers := &snapauth.Customers{
		Config: &snapauth.B2B2CConfig{Partner: partner, TokenURL: srv.B2B2CTokenURL()},
		Store:  snapauth.NewMemoryStore(),
	}
	return srv, b2b.Client(ctx, nil), customers
}

// Partner gives the partner's facts once: the B2B and B2B2C configs and the
// client's transport take them from it.
func ExamplePartner() {
	srv := snaptest.NewServer()
	defer srv.Close()
	partner := &snapauth.Partner{
		ClientKey:    srv.ClientKey,
		PrivateKey:   srv.PrivateKey,
		ClientSecret: srv.ClientSecret,
		PartnerID:    srv.PartnerID,
		ChannelID:    srv.ChannelID,
	}
	b2b := &snapauth.B2BConfig{Partner: partner, TokenURL: srv.B2BTokenURL()}
	client := b2b.Client(context.Background(), nil)
	resp, err := client.Post(srv.ServiceURL("/v1.0/balance-inquiry"), "application/json", strings.NewReader(`{}`))
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	fmt.Println("secret printed:", strings.Contains(fmt.Sprintf("%v %#v", partner, partner), srv.ClientSecret))
	// Output:
	// 200
	// secret printed: false
}

// Customers acts for any of many customers: link once, then one line per
// request.
func ExampleCustomers() {
	srv, client, customers := exampleCustomers()
	defer srv.Close()
	ctx := context.Background()
	if _, err := customers.Link(ctx, "customer:7", srv.MintAuthCode()); err != nil {
		log.Fatal(err)
	}

	req, err := http.NewRequestWithContext(customers.Context(ctx, "customer:7"), http.MethodPost,
		srv.ServiceURL("/v1.0/balance-inquiry"), strings.NewReader(`{"partnerReferenceNo": "1"}`))
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, customers.Cached())
	// Output:
	// 200 1
}

// Link exchanges the authorization code of the account-binding redirect
// and saves the customer's tokens under the key.
func ExampleCustomers_Link() {
	srv, _, customers := exampleCustomers()
	defer srv.Close()
	tok, err := customers.Link(context.Background(), "customer:7", srv.MintAuthCode())
	if err != nil {
		log.Fatal(err)
	}
	stored, err := customers.Store.Load(context.Background(), "customer:7")
	fmt.Println(err, stored.RefreshToken == tok.RefreshToken)
	// Output:
	// <nil> true
}

// Token returns a customer's access token; a customer never linked is
// ErrNotLinked, which matches ErrReauthorize.
func ExampleCustomers_Token() {
	srv, _, customers := exampleCustomers()
	defer srv.Close()
	ctx := context.Background()
	_, err := customers.Token(ctx, "customer:8")
	fmt.Println(errors.Is(err, snapauth.ErrNotLinked), errors.Is(err, snapauth.ErrReauthorize))
	_, err = customers.Token(ctx, "")
	fmt.Println(errors.Is(err, snapauth.ErrInvalidCustomerKey))
	// Output:
	// true true
	// true
}

// Source is a customer as an oauth2.TokenSource, for WithCustomerToken or
// any code that takes one.
func ExampleCustomers_Source() {
	srv, _, customers := exampleCustomers()
	defer srv.Close()
	if _, err := customers.Link(context.Background(), "customer:7", srv.MintAuthCode()); err != nil {
		log.Fatal(err)
	}
	src := customers.Source("customer:7")
	tok, err := oauth2.ReuseTokenSource(nil, src).Token()
	fmt.Println(err, tok.Valid(), fmt.Sprint(src))
	// Output:
	// <nil> true snapauth.CustomerSource{key: "customer:7"}
}

// Context is the one line a handler writes to act for a customer.
func ExampleCustomers_Context() {
	srv, _, customers := exampleCustomers()
	defer srv.Close()
	ctx := customers.Context(context.Background(), "customer:7")
	fmt.Println(ctx != context.Background())
	// Output:
	// true
}

// Unlink removes the customer's tokens from memory and the store.
func ExampleCustomers_Unlink() {
	srv, _, customers := exampleCustomers()
	defer srv.Close()
	ctx := context.Background()
	if _, err := customers.Link(ctx, "customer:7", srv.MintAuthCode()); err != nil {
		log.Fatal(err)
	}
	fmt.Println(customers.Unlink(ctx, "customer:7"))
	_, err := customers.Token(ctx, "customer:7")
	fmt.Println(errors.Is(err, snapauth.ErrNotLinked))
	// Output:
	// <nil>
	// true
}

// Cached counts the customers in memory, at most MaxCached.
func ExampleCustomers_Cached() {
	srv, _, customers := exampleCustomers()
	defer srv.Close()
	customers.MaxCached = 2
	ctx := context.Background()
	for _, key := range []string{"a", "b", "c", "d"} {
		if _, err := customers.Link(ctx, key, srv.MintAuthCode()); err != nil {
			log.Fatal(err)
		}
		if _, err := customers.Token(ctx, key); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(customers.Cached())
	// Output:
	// 2
}

// Delete removes a token only while the store still holds it: a newer one
// saved meanwhile survives.
func ExampleMemoryStore_Delete() {
	ctx := context.Background()
	store := snapauth.NewMemoryStore()
	old := &oauth2.Token{AccessToken: "a1", RefreshToken: "r1"}
	_ = store.Save(ctx, "customer:7", &oauth2.Token{AccessToken: "a2", RefreshToken: "r2"})
	fmt.Println(store.Delete(ctx, "customer:7", old))
	_, err := store.Load(ctx, "customer:7")
	fmt.Println(err)
	fmt.Println(store.Delete(ctx, "customer:7", nil))
	_, err = store.Load(ctx, "customer:7")
	fmt.Println(err)
	// Output:
	// <nil>
	// <nil>
	// <nil>
	// snapauth: no token stored
}

// Delete removes key's token file, and the next unlock of the key its lock
// file.
func ExampleFileStore_Delete() {
	ctx := context.Background()
	base, err := os.MkdirTemp("", "snapauth-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(base)
	store, err := snapauth.NewFileStore(filepath.Join(base, "tokens"))
	if err != nil {
		log.Fatal(err)
	}
	tok := &oauth2.Token{AccessToken: "a1", RefreshToken: "r1"}
	_ = store.Save(ctx, "customer:7", tok)
	unlock, err := store.Lock(ctx, "customer:7")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(store.Delete(ctx, "customer:7", tok))
	unlock()
	entries, _ := os.ReadDir(store.Dir())
	fmt.Println(len(entries), "files left")
	// Output:
	// <nil>
	// 0 files left
}
