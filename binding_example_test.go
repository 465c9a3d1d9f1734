package snapauth_test

import (
	"context"
	"fmt"
	"log"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
)

// Binding by a signed API call (Finnet, DOKU, ShopeePay): the provider
// answers the web view's URL.
func ExampleStartBinding() {
	srv := snaptest.NewServer(snaptest.WithProvider(snapauth.Finnet)) // strict Finnet rules
	defer srv.Close()
	ctx := context.Background()
	b2b := &snapauth.B2BConfig{TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, Provider: snapauth.Finnet}
	client := b2b.Client(ctx, &snapauth.Transport{
		ClientSecret: srv.ClientSecret, PartnerID: srv.PartnerID, ChannelID: srv.ChannelID,
		Origin: "merchant.example", // Finnet requires ORIGIN
	})

	b, err := snapauth.StartBinding(ctx, client, srv.BindingURL(), snapauth.BindingRequest{
		PartnerReferenceNo: "bind-0001",
		RedirectURL:        "https://merchant.example/bind/done?state=st4te", // the state comes back
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(b.ResponseCode, strings.HasPrefix(b.RedirectURL, srv.AuthURL()))
	fmt.Printf("%v\n", b.LinkageToken != "" && !strings.Contains(fmt.Sprint(b), b.LinkageToken))
	// Send the customer to b.RedirectURL; the redirect back to /bind/done
	// carries authCode and state: AuthCodeFromRedirect, then Exchange.
	// Output:
	// 2000700 true
	// true
}

// Binding by a URL the partner builds (DANA get-auth-code, with the
// parameters DANA's SDK adds).
func ExampleB2B2CConfig_AuthCodeURL_dana() {
	cfg := &snapauth.B2B2CConfig{
		AuthURL:     "https://m.sandbox.dana.id/v1.0/get-auth-code",
		PartnerID:   "P-1",
		ChannelID:   "95221",
		RedirectURL: "https://merchant.example/bind/done",
		Provider:    snapauth.DANA,
		Now:         func() time.Time { return time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC) },
	}
	raw, err := cfg.AuthCodeURL("st4te", url.Values{"isSnapBI": {"true"}})
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	keys := slices.Sorted(maps.Keys(q))
	fmt.Println(keys)
	fmt.Println(q.Get("timestamp"), len(q.Get("externalId")))
	// Output:
	// [channelId externalId isSnapBI partnerId redirectUrl state timestamp]
	// 2026-03-01T10:00:00+07:00 36
}

// Finnet wants the binding's authorization code again on every refresh; the
// token from Exchange keeps it.
func ExampleB2B2CConfig_RefreshWithAuthCode() {
	srv := snaptest.NewServer(snaptest.WithProvider(snapauth.Finnet))
	defer srv.Close()
	cfg := &snapauth.B2B2CConfig{TokenURL: srv.B2B2CTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, Provider: snapauth.Finnet}
	ctx := context.Background()

	tok, err := cfg.Exchange(ctx, srv.MintAuthCode())
	if err != nil {
		log.Fatal(err)
	}
	renewed, err := cfg.RefreshWithAuthCode(ctx, tok.RefreshToken, snapauth.TokenAuthCode(tok))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("rotated:", renewed.RefreshToken != tok.RefreshToken)
	fmt.Println("code kept:", snapauth.TokenAuthCode(renewed) == snapauth.TokenAuthCode(tok))

	// A bare refresh token cannot carry the code: refused before sending.
	_, err = cfg.Refresh(ctx, renewed.RefreshToken)
	fmt.Println("bare refresh refused:", err != nil)
	// Output:
	// rotated: true
	// code kept: true
	// bare refresh refused: true
}

func ExampleTokenAuthCode() {
	srv := snaptest.NewServer(snaptest.WithProvider(snapauth.Finnet))
	defer srv.Close()
	cfg := &snapauth.B2B2CConfig{TokenURL: srv.B2B2CTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, Provider: snapauth.Finnet}
	code := srv.MintAuthCode()
	tok, err := cfg.Exchange(context.Background(), code)
	if err != nil {
		log.Fatal(err)
	}
	// The code travels with the token, into every store, but never into print.
	data, _ := snapauth.MarshalToken(tok)
	back, _ := snapauth.UnmarshalToken(data)
	fmt.Println(snapauth.TokenAuthCode(back) == code, strings.Contains(fmt.Sprintf("%+v", tok), code))
	// Output: true false
}

func ExampleProvider_Validate() {
	p := snapauth.Finnet
	p.ExternalIDLength = 40 // more than SNAP allows
	fmt.Println(p.Validate())
	// Output: snapauth: Provider "finnet": ExternalIDLength 40: must be at most 36, SNAP's limit (0 means 36)
}

func ExampleProvider_Deviations() {
	for _, d := range snapauth.Finnet.Deviations() {
		fmt.Println(d)
	}
	// Output:
	// service calls require ORIGIN
	// X-EXTERNAL-ID numeric, at most 32
	// authCode on refresh
	// expiresIn a number
	// expiry times in +00:00
	// binding by API call
}
