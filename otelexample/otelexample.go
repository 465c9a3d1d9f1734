// Package otelexample shows snapauth under OpenTelemetry: an
// otelhttp-instrumented client whose token fetches appear as child spans of
// the request that caused them, and SpanObserver, which records snapauth's
// events on the span of the call that caused them. It is a module of its
// own, so that snapauth itself stays free of OpenTelemetry.
//
// Wire it like this (see the package example):
//
//	traced := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport)}
//	cfg := &snapauth.B2BConfig{
//		// TokenURL, ClientKey, PrivateKey ...
//		HTTPClient: traced,                     // the token requests: child spans
//		Observer:   otelexample.SpanObserver(), // fetches, retries, saves: span events
//	}
//	client := &http.Client{Transport: otelhttp.NewTransport(&snapauth.Transport{
//		Source: cfg.TokenSource(ctx),
//		// ClientSecret, PartnerID, ChannelID ...
//	})}
//
// A token fetch is shared by every caller that needs the token at that
// moment; it runs with the context values of the caller that started it,
// without that caller's cancellation, so its span is a child of that
// caller's request span.
package otelexample

import (
	"context"

	"github.com/snapauth/snapauth"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// SpanObserver returns a snapauth.Observer that adds each event to the span
// in its context as a span event named "snapauth: <kind>", with the event's
// non-zero fields as attributes. A failed token fetch or save also sets the
// span's status to Error. Without a span in the context it does nothing.
func SpanObserver() snapauth.Observer {
	return func(ctx context.Context, e snapauth.Event) {
		span := trace.SpanFromContext(ctx)
		if !span.IsRecording() {
			return
		}
		attrs := []attribute.KeyValue{attribute.String("snapauth.flow", string(e.Flow))}
		if e.Key != "" {
			attrs = append(attrs, attribute.String("snapauth.key", e.Key))
		}
		if e.Attempt > 0 {
			attrs = append(attrs, attribute.Int("snapauth.attempt", e.Attempt))
		}
		if e.Wait > 0 {
			attrs = append(attrs, attribute.String("snapauth.wait", e.Wait.String()))
		}
		if e.ResponseCode != "" {
			attrs = append(attrs, attribute.String("snapauth.response_code", e.ResponseCode))
		}
		if e.Err != nil {
			attrs = append(attrs, attribute.String("snapauth.error", e.Err.Error()))
		}
		span.AddEvent("snapauth: "+string(e.Kind), trace.WithAttributes(attrs...))
		if e.Kind == snapauth.EventTokenFailed || e.Kind == snapauth.EventSaveFailed {
			span.SetStatus(codes.Error, string(e.Kind))
		}
	}
}
