package faulttest

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	// Toxiproxy logs every connection through zerolog; the suite reads
	// what it needs from the provider's counters instead.
	zerolog.SetGlobalLevel(zerolog.Disabled)
	os.Exit(m.Run())
}

// chaos is a Toxiproxy proxy run in-process, on a random 127.0.0.1 port,
// between the code under test and an upstream address.
type chaos struct {
	srv   *toxiproxy.ApiServer
	proxy *toxiproxy.Proxy
}

func newChaos(t testing.TB, upstream string) *chaos {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, "provider", "127.0.0.1:0", upstream)
	require.NoError(t, srv.Collection.Add(p, true))
	t.Cleanup(func() { _ = srv.Collection.Clear() }) // stops the proxy, closes its connections
	return &chaos{srv: srv, proxy: p}
}

// URL is the proxy's base URL.
func (c *chaos) URL() string { return "http://" + c.proxy.Listen }

// add installs a toxic; stream is "upstream" (towards the provider) or
// "downstream" (the provider's answers).
func (c *chaos) add(t testing.TB, typ, stream string, attrs map[string]any) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"type": typ, "stream": stream, "toxicity": 1.0, "attributes": attrs})
	require.NoError(t, err)
	_, err = c.proxy.Toxics.AddToxicJson(strings.NewReader(string(b)))
	require.NoError(t, err)
}

// heal removes every toxic.
func (c *chaos) heal() { c.proxy.Toxics.ResetToxics(context.Background()) }

// down stops the proxy: connections are closed and new ones refused, as
// when the provider is unreachable.
func (c *chaos) down() { c.proxy.Stop() }

// up starts the proxy again on the same address.
func (c *chaos) up(t testing.TB) {
	t.Helper()
	require.NoError(t, c.proxy.Start())
}

// outage is how long the provider stays down in TestProviderOutage:
// FAULT_OUTAGE when set (the full 30s), else 3s so CI stays quick.
func outage(t testing.TB) time.Duration {
	if v := os.Getenv("FAULT_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "FAULT_OUTAGE must be a Go duration such as 30s")
		return d
	}
	return 3 * time.Second
}
