package snaptest_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFinnetStrict runs Finnet's B2B and B2B2C flows against the sandbox in
// strict Finnet mode, the way a fleet would: one replica binds the customer
// and saves the token in a FileStore, two others refresh from it in turn
// (each refresh rotating the refresh token and resending the binding's
// authorization code, which only the stored token carries), and every
// service call goes out with 32-digit ids and ORIGIN.
func TestFinnetStrict(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	srv := snaptest.NewServer(snaptest.WithProvider(snapauth.Finnet), snaptest.WithClock(clock.Now))
	defer srv.Close()
	ctx := context.Background()
	store, err := snapauth.NewFileStore(filepath.Join(t.TempDir(), "tokens"))
	require.NoError(t, err)

	replica := func() (*snapauth.B2B2CConfig, *http.Client) {
		b2b := &snapauth.B2BConfig{TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, Provider: snapauth.Finnet, Now: clock.Now}
		b2b2c := &snapauth.B2B2CConfig{TokenURL: srv.B2B2CTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey, Provider: snapauth.Finnet, Now: clock.Now}
		return b2b2c, b2b.Client(ctx, &snapauth.Transport{
			ClientSecret: srv.ClientSecret, PartnerID: srv.PartnerID, ChannelID: srv.ChannelID, Origin: "merchant.example",
		})
	}

	// Replica 1 binds (by the signed API call) and saves the token.
	cfg1, client1 := replica()
	b, err := snapauth.StartBinding(ctx, client1, srv.BindingURL(), snapauth.BindingRequest{PartnerReferenceNo: "b-1", RedirectURL: "https://m.example/done?state=s"})
	require.NoError(t, err)
	require.Equal(t, "2000700", b.ResponseCode)
	code := srv.MintAuthCode() // what the approved web view would send back
	tok, err := cfg1.Exchange(ctx, code)
	require.NoError(t, err)
	require.NoError(t, store.Save(ctx, "cust", tok))
	raw, err := os.ReadFile(store.Path("cust"))
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"auth_code":"`+code+`"`, "the stored token carries the code for every replica")

	seenRT := map[string]bool{tok.RefreshToken: true}
	for i := range 2 {
		clock.Advance(snaptest.DefaultTokenLifetime) // the customer token is due
		cfg, client := replica()
		src := cfg.StoredTokenSource(ctx, store, "cust")
		req, err := http.NewRequestWithContext(snapauth.WithCustomerToken(ctx, src), http.MethodPost,
			srv.ServiceURL("/v1.0/customer/balance-inquiry"), strings.NewReader(`{"partnerReferenceNo":"x"}`))
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		rec, _ := srv.LastRequest()
		assert.Len(t, rec.Header.Get("X-EXTERNAL-ID"), 32, "replica %d", i+2)
		assert.Equal(t, "merchant.example", rec.Header.Get("ORIGIN"))

		now, err := store.Load(ctx, "cust")
		require.NoError(t, err)
		assert.False(t, seenRT[now.RefreshToken], "replica %d rotated the refresh token", i+2)
		seenRT[now.RefreshToken] = true
		assert.Equal(t, code, snapauth.TokenAuthCode(now), "the rotated token keeps the code")
	}
	st := srv.Stats()
	assert.Equal(t, 3, st.Issued[snaptest.EndpointB2B2C], "exchange and two refreshes")
	assert.Empty(t, st.Rejections, "strict Finnet mode refused nothing")
}
