package otelexample_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/otelexample"
	"github.com/snapauth/snapauth/snaptest"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// spanName names a client span after its method and path.
func spanName(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }

// The token fetch a request causes is a child span of that request's span,
// and snapauth's events land on the request span.
func Example() {
	srv := snaptest.NewServer()
	defer srv.Close()
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	traced := func(base http.RoundTripper) http.RoundTripper {
		return otelhttp.NewTransport(base, otelhttp.WithTracerProvider(tp), otelhttp.WithSpanNameFormatter(spanName))
	}

	cfg := &snapauth.B2BConfig{
		TokenURL:   srv.B2BTokenURL(),
		ClientKey:  srv.ClientKey,
		PrivateKey: srv.PrivateKey,
		HTTPClient: &http.Client{Transport: traced(http.DefaultTransport)},
		Observer:   otelexample.SpanObserver(),
	}
	client := &http.Client{Transport: traced(&snapauth.Transport{
		Source:       cfg.TokenSource(context.Background()),
		ClientSecret: srv.ClientSecret,
		PartnerID:    srv.PartnerID,
		ChannelID:    srv.ChannelID,
	})}

	ctx, checkout := tp.Tracer("shop").Start(context.Background(), "checkout")
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.ServiceURL("/v1.0/balance-inquiry"), strings.NewReader(`{}`))
	resp, err := client.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	checkout.End()

	// Print the span tree, parents first.
	ended := spans.Ended()
	var show func(parent string, depth int)
	show = func(parent string, depth int) {
		for _, s := range ended {
			if s.Parent().SpanID().String() != parent {
				continue
			}
			fmt.Printf("%s%s", strings.Repeat("  ", depth), s.Name())
			for _, e := range s.Events() {
				fmt.Printf(" [%s]", e.Name)
			}
			fmt.Println()
			show(s.SpanContext().SpanID().String(), depth+1)
		}
	}
	show("0000000000000000", 0)
	// Output:
	// checkout
	//   POST /v1.0/balance-inquiry [snapauth: token.fetched]
	//     POST /v1.0/access-token/b2b
}
