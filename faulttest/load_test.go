package faulttest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/require"
)

// TestLoad sends 10,000 signed requests from 200 goroutines through one
// Transport to the strict provider, each carrying a B2B token and a
// customer token from a stored B2B2C source. The test clock jumps past the
// tokens' lifetime after requests 3,334 and 6,667 (between phases, with no
// request in flight, so the run is deterministic): two expiries of both
// tokens. The provider, which recomputes every signature, must reject none
// and see no X-EXTERNAL-ID twice; the B2B source must fetch exactly three
// tokens (expiries + 1), and the customer source must refresh exactly twice
// after the initial exchange, each rotating refresh token spent once.
func TestLoad(t *testing.T) {
	const (
		total   = 10_000
		workers = 200
		phases  = 3
	)
	verifyNoLeaks(t)
	clk := &clock{}
	p := newProvider(t, clk.Now)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	tokenHTTP := &http.Transport{}
	t.Cleanup(tokenHTTP.CloseIdleConnections)
	tokenRequests := &countingTransport{base: tokenHTTP}
	b2b := (&snapauth.B2BConfig{
		TokenURL: p.srv.URL + b2bPath, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t),
		HTTPClient: &http.Client{Transport: tokenRequests}, Now: clk.Now,
	}).TokenSource(ctx)
	cust := &snapauth.B2B2CConfig{
		TokenURL: p.srv.URL + b2b2cPath, ClientKey: p.clientKey, PrivateKey: testkey.RSA(t),
		HTTPClient: &http.Client{Transport: tokenRequests}, Now: clk.Now,
	}
	store := snapauth.NewMemoryStore()
	linked, err := cust.Exchange(ctx, p.newAuthCode())
	require.NoError(t, err)
	require.NoError(t, store.Save(ctx, "customer-1", linked))
	customer := cust.StoredTokenSource(ctx, store, "customer-1")

	base := &http.Transport{MaxIdleConns: workers, MaxIdleConnsPerHost: workers}
	t.Cleanup(base.CloseIdleConnections)
	client := &http.Client{Transport: &snapauth.Transport{
		Base: base, Source: b2b, ClientSecret: p.clientSecret,
		PartnerID: p.partnerID, ChannelID: p.channelID, Now: clk.Now,
	}}
	reqCtx := snapauth.WithCustomerToken(ctx, customer)

	var sent, failed atomic.Int64
	var firstErr sync.Once
	var errText string
	start := time.Now()
	for phase := range phases {
		if phase > 0 {
			clk.Advance(p.lifetime) // both tokens expire
		}
		quota := int64(total * (phase + 1) / phases)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					n := sent.Add(1)
					if n > quota {
						sent.Add(-1)
						return
					}
					// Insignificant whitespace the transport must minify,
					// and a body unique to the request.
					body := fmt.Sprintf(`{ "partnerServiceId" : "  088899", "customerNo": "%020d", "inquiryRequestId": "r-%d" }`, n, n)
					req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, p.srv.URL+servicePath+"?lang=id", strings.NewReader(body))
					if err == nil {
						var resp *http.Response
						if resp, err = client.Do(req); err == nil {
							_, _ = io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if resp.StatusCode != http.StatusOK {
								err = fmt.Errorf("status %d", resp.StatusCode)
							}
						}
					}
					if err != nil {
						failed.Add(1)
						firstErr.Do(func() { errText = err.Error() })
					}
				}
			})
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	t.Logf("%d requests from %d goroutines in %v (%.0f requests/s)", total, workers, elapsed.Round(time.Millisecond), total/elapsed.Seconds())

	require.Zero(t, failed.Load(), "failed requests; first: %s", errText)
	require.Zero(t, p.sigRejected.Load(), "signature rejections")
	require.Zero(t, p.dupExternalIDs.Load(), "duplicate X-EXTERNAL-IDs")
	require.Zero(t, p.tokenRejected.Load(), "token rejections")
	require.EqualValues(t, total, p.served.Load())
	p.mu.Lock()
	ids := len(p.externalIDs)
	p.mu.Unlock()
	require.Equal(t, total, ids, "distinct X-EXTERNAL-IDs")
	require.EqualValues(t, phases, p.b2bIssued.Load(), "B2B token fetches = expiries + 1")
	require.EqualValues(t, phases-1, p.refreshes.Load(), "customer refreshes = expiries")
	require.EqualValues(t, phases-1, p.refreshIssued.Load(), "customer refreshes answered")
	require.EqualValues(t, 1+phases+(phases-1), tokenRequests.n.Load(), "token requests sent: exchange, B2B fetches, refreshes")
	held, err := store.Load(ctx, "customer-1")
	require.NoError(t, err)
	require.True(t, p.refreshValid(held.RefreshToken), "the stored refresh token is the live one")
}
