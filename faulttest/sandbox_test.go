package faulttest

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// pathCounter counts the requests sent, by URL path.
type pathCounter struct {
	base http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
}

func (c *pathCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n[r.URL.Path]++
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

func (c *pathCounter) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

// TestSandboxThroughFaults runs the whole client stack, the ready client of
// B2BConfig.Client (signing Transport, cached B2B source) plus a customer
// token from WithCustomerToken, against the snaptest sandbox with Toxiproxy
// in between, through each fault while the B2B token is due. The service
// call fails with a typed, retryable error within the caller's deadline and
// leaves no goroutine behind; once the network heals, the next call
// succeeds with exactly one B2B token request and one service request, and
// the sandbox, which checks every header and signature, has rejected
// nothing.
func TestSandboxThroughFaults(t *testing.T) {
	const customerPath = "/v1.0/customer/balance-inquiry"
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			verifyNoLeaks(t)
			clk := &clock{}
			sb := snaptest.NewServer(snaptest.WithClock(clk.Now))
			t.Cleanup(sb.Close)
			c := newChaos(t, sb.Listener.Addr().String())
			base := &http.Transport{}
			t.Cleanup(base.CloseIdleConnections)
			sent := &pathCounter{base: base, n: map[string]int{}}
			proxied := &http.Client{Transport: sent, Timeout: clientTimeout}
			ctx := context.WithValue(context.Background(), oauth2.HTTPClient, proxied)

			b2b := &snapauth.B2BConfig{
				TokenURL: c.URL() + "/v1.0/access-token/b2b", ClientKey: sb.ClientKey, PrivateKey: sb.PrivateKey,
				Now: clk.Now, FetchTimeout: fetchTimeout,
			}
			client := b2b.Client(ctx, &snapauth.Transport{ClientSecret: sb.ClientSecret, PartnerID: sb.PartnerID, ChannelID: sb.ChannelID})
			// The customer's token comes straight from the sandbox: the
			// faults here are on the B2B token and the service calls.
			cust := &snapauth.B2B2CConfig{TokenURL: sb.B2B2CTokenURL(), ClientKey: sb.ClientKey, PrivateKey: sb.PrivateKey, Now: clk.Now, HTTPClient: sb.Client()}
			linked, err := cust.Exchange(context.Background(), sb.MintAuthCode())
			require.NoError(t, err)
			customer := cust.TokenSource(context.Background(), linked)

			call := func(d time.Duration) (*http.Response, time.Duration, error) {
				ctx, cancel := context.WithTimeout(snapauth.WithCustomerToken(context.Background(), customer), d)
				defer cancel()
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL()+customerPath, strings.NewReader(`{ "partnerReferenceNo": "2020102900000000000001" }`))
				require.NoError(t, err)
				start := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				return resp, time.Since(start), err
			}
			resp, _, err := call(5 * time.Second)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			clk.Advance(snaptest.DefaultTokenLifetime) // the B2B and customer tokens expire

			f.inject(t, c)
			resp, elapsed, err := call(callerDeadline)
			require.Nil(t, resp)
			requireRetryable(t, err)
			require.Less(t, elapsed, callerDeadline+slack)

			// The fetch the call gave up on may still run (FetchTimeout
			// outlasts the client's Timeout); wait for it, it fails too.
			src := client.Transport.(*snapauth.Transport).Source.(snapauth.ContextTokenSource)
			_, err = tokenWithin(t, src, 5*time.Second)
			requireRetryable(t, err)

			c.heal()
			// Fetches of one source start at least MinRenewInterval apart;
			// the test clock moves past that, so the client's 400 ms
			// Timeout is not spent waiting for the next fetch.
			clk.Advance(snapauth.MinRenewInterval)
			tokens, services := sent.count("/v1.0/access-token/b2b"), sent.count(customerPath)
			resp, _, err = call(5 * time.Second)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, 1, sent.count("/v1.0/access-token/b2b")-tokens, "B2B token requests after recovery")
			require.Equal(t, 1, sent.count(customerPath)-services, "service requests after recovery")
			require.Empty(t, sb.Stats().Rejections, "requests the sandbox rejected")
		})
	}
}
