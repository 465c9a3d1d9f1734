package otelexample_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/otelexample"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestTokenFetchSpanIsChildOfRequest: with otelhttp on both the service
// client and the token client, the token request a service request causes is
// recorded as a child span of that service request, in its trace, both for
// the first fetch and for the renewal after a 401; and snapauth's events are
// on the service request's span.
func TestTokenFetchSpanIsChildOfRequest(t *testing.T) {
	srv := snaptest.NewServer()
	t.Cleanup(srv.Close)
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	traced := func(base http.RoundTripper) http.RoundTripper {
		return otelhttp.NewTransport(base, otelhttp.WithTracerProvider(tp), otelhttp.WithSpanNameFormatter(spanName))
	}
	cfg := &snapauth.B2BConfig{
		TokenURL: srv.B2BTokenURL(), ClientKey: srv.ClientKey, PrivateKey: srv.PrivateKey,
		HTTPClient: &http.Client{Transport: traced(http.DefaultTransport)},
		Observer:   otelexample.SpanObserver(),
	}
	// The source is built with a context of its own, as at start-up: the
	// spans must come from each request's context, not from this one.
	startup, startSpan := tp.Tracer("test").Start(context.Background(), "startup")
	src := cfg.StoredTokenSource(startup, snapauth.NewMemoryStore(), "partner-a")
	startSpan.End()
	client := &http.Client{Transport: traced(&snapauth.Transport{Source: src, ClientSecret: srv.ClientSecret, PartnerID: srv.PartnerID, ChannelID: srv.ChannelID})}

	call := func(name string) {
		ctx, span := tp.Tracer("test").Start(context.Background(), name)
		defer span.End()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.ServiceURL("/v1.0/balance-inquiry"), strings.NewReader(`{}`))
		require.NoError(t, err)
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	call("first")
	srv.RevokeAccessTokens()
	call("second")

	ended := spans.Ended()
	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range ended {
		byName[s.Name()] = append(byName[s.Name()], s)
	}
	require.Len(t, byName["POST /v1.0/access-token/b2b"], 2, "one token request per call")
	// otelhttp wraps the snapauth Transport, so the retry after the 401
	// happens inside the one client span of the second call.
	require.Len(t, byName["POST /v1.0/balance-inquiry"], 2, "one client span per call")
	for i, root := range []string{"first", "second"} {
		require.Len(t, byName[root], 1)
		rootSpan := byName[root][0]
		service := byName["POST /v1.0/balance-inquiry"][i]
		token := byName["POST /v1.0/access-token/b2b"][i]
		assert.Equal(t, rootSpan.SpanContext().SpanID(), service.Parent().SpanID(), "%s: the service request is in the caller's span", root)
		assert.Equal(t, service.SpanContext().SpanID(), token.Parent().SpanID(), "%s: the token request is a child of the service request", root)
		assert.Equal(t, rootSpan.SpanContext().TraceID(), token.SpanContext().TraceID(), "%s: one trace", root)
		var events []string
		for _, e := range service.Events() {
			events = append(events, e.Name)
		}
		want := []string{"snapauth: store.locked", "snapauth: store.saved", "snapauth: token.fetched"}
		if root == "second" {
			want = []string{"snapauth: token.invalidated", "snapauth: store.locked", "snapauth: store.saved", "snapauth: token.renewed"}
		}
		assert.Equal(t, want, events, root)
	}
	assert.Empty(t, byName["startup"][0].Events(), "nothing lands on the construction context's span")
}
