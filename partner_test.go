package snapauth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/require"
)

// The partner's facts, given once, reach the token requests of both configs
// and every service header; a value set on a config or the Transport wins.
func TestPartnerShared(t *testing.T) {
	srv := snaptest.NewServer(snaptest.WithProvider(snapauth.DANA)) // DANA's grant-type casing
	defer srv.Close()
	ctx := context.Background()
	partner := &snapauth.Partner{Provider: snapauth.DANA, ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey,
		ClientSecret: srv.ClientSecret, PartnerID: srv.PartnerID, ChannelID: srv.ChannelID, Origin: "https://merchant.example",
		HTTPClient: srv.Client()}
	b2b := &snapauth.B2BConfig{Partner: partner, TokenURL: srv.B2BTokenURL()}
	b2b2c := &snapauth.B2B2CConfig{Partner: partner, TokenURL: srv.B2B2CTokenURL(), AuthURL: srv.AuthURL()}

	tok, err := b2b2c.Exchange(ctx, srv.MintAuthCode())
	require.NoError(t, err)
	_, err = b2b2c.Refresh(ctx, tok.RefreshToken)
	require.NoError(t, err)
	u, err := b2b2c.AuthCodeURL("state", nil)
	require.NoError(t, err)
	require.Contains(t, u, "partnerId="+srv.PartnerID)

	client := b2b.Client(ctx, nil)
	resp, err := client.Post(srv.ServiceURL("/v1.0/balance-inquiry"), "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	rec, ok := srv.LastRequest()
	require.True(t, ok)
	require.Equal(t, "https://merchant.example", rec.Header.Get("Origin"))
	require.Equal(t, srv.ChannelID, rec.Header.Get("Channel-Id"))

	// A field set on the Transport wins over the partner's.
	client = b2b.Client(ctx, &snapauth.Transport{ChannelID: "99999"})
	resp, err = client.Post(srv.ServiceURL("/v1.0/balance-inquiry"), "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "the provider refuses another channel")

	for _, v := range []any{partner, *partner, b2b, b2b2c} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			require.NotContains(t, fmt.Sprintf(verb, v), srv.ClientSecret)
		}
	}
}

// A fleet-ready client, its B2B token in a store, keeps the refusal of
// redirects to another host.
func TestPartnerStoredClientRefusesCrossHostRedirect(t *testing.T) {
	srv := snaptest.NewServer()
	defer srv.Close()
	leaked := make(chan http.Header, 1)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { leaked <- r.Header }))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()

	ctx := context.Background()
	partner := &snapauth.Partner{ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, ClientSecret: srv.ClientSecret,
		PartnerID: srv.PartnerID, ChannelID: srv.ChannelID}
	b2b := &snapauth.B2BConfig{Partner: partner, TokenURL: srv.B2BTokenURL()}
	store := snapauth.NewMemoryStore()
	client := b2b.Client(ctx, &snapauth.Transport{Source: b2b.StoredTokenSource(ctx, store, "b2b")})
	_, err := client.Post(redirector.URL+"/v1.0/balance-inquiry", "application/json", strings.NewReader(`{}`))
	require.ErrorContains(t, err, "refusing to follow a redirect")
	select {
	case <-leaked:
		t.Fatal("the request followed the redirect to another host")
	default:
	}
	_, err = store.Load(ctx, "b2b")
	require.NoError(t, err, "the stored source was used")
}

// One customer's StoredTokenSource (no Customers) recovers from a revoked
// access token the same way.
func TestTransportCustomerTokenRevokedStoredSource(t *testing.T) {
	srv, obs := newCustomerServer(t)
	ctx := context.Background()
	partner := &snapauth.Partner{ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, ClientSecret: srv.ClientSecret,
		PartnerID: srv.PartnerID, ChannelID: srv.ChannelID}
	b2b := &snapauth.B2BConfig{Partner: partner, TokenURL: srv.B2BTokenURL()}
	b2b2c := &snapauth.B2B2CConfig{Partner: partner, TokenURL: srv.B2B2CTokenURL()}
	store := snapauth.NewMemoryStore()
	tok, err := b2b2c.Exchange(ctx, srv.MintAuthCode())
	require.NoError(t, err)
	require.NoError(t, store.Save(ctx, "c", tok))
	src := b2b2c.StoredTokenSource(ctx, store, "c")
	client := b2b.Client(ctx, nil)
	call := func() (int, error) {
		req, err := http.NewRequestWithContext(snapauth.WithCustomerToken(ctx, src), http.MethodPost, serviceURL, strings.NewReader(`{}`))
		require.NoError(t, err)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	status, err := call()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	srv.ResetStats()
	obs.take()

	srv.RevokeToken(tok.AccessToken)
	status, err = call()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, 1, srv.Stats().Calls[snaptest.EndpointB2B2C])
	recs := obs.take()
	require.Len(t, recs, 2)
	require.Equal(t, recs[0].Header.Get("X-External-Id"), recs[1].Header.Get("X-External-Id"))

	// Refused refresh: ErrReauthorize, and the store forgets the customer.
	stored, err := store.Load(ctx, "c")
	require.NoError(t, err)
	srv.RevokeToken(stored.AccessToken)
	srv.RevokeToken(stored.RefreshToken)
	_, err = call()
	require.ErrorIs(t, err, snapauth.ErrReauthorize)
	_, err = store.Load(ctx, "c")
	require.ErrorIs(t, err, snapauth.ErrNoToken)
	_, err = call()
	require.ErrorIs(t, err, snapauth.ErrReauthorize)
	require.Equal(t, 2, srv.Stats().Calls[snaptest.EndpointB2B2C], "the refused refresh token is not sent again")
}
