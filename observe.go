package snapauth

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Observer receives the events of token sources and transports: tokens
// fetched, renewed, failed and retried, store locks and saves, tokens the
// provider rejected. ctx is the context of the call that caused the event,
// with its values (a trace span) but perhaps not its cancellation: for a
// shared fetch, the context of the caller that started it. An Observer is
// called synchronously on the path it reports on, possibly from several
// goroutines at once, so it must be quick and safe for concurrent use. A nil
// Observer reports nothing. Events never hold a secret: no token, auth code,
// client secret or key material. SlogObserver makes one that logs.
type Observer func(ctx context.Context, e Event)

// EventKind says what an Event reports. Its value is short and stable, fit
// for a metric label.
type EventKind string

// The kinds of Event.
const (
	// EventTokenFetched reports a first token obtained from the provider
	// (B2BConfig.Token, B2B2CConfig.Exchange, or a source's first fetch).
	EventTokenFetched EventKind = "token.fetched"
	// EventTokenRenewed reports that a source replaced the token it held,
	// or that a refresh token was exchanged for a new token.
	EventTokenRenewed EventKind = "token.renewed"
	// EventTokenFailed reports that no token could be obtained; Err says
	// why.
	EventTokenFailed EventKind = "token.failed"
	// EventTokenRetry reports that a token request failed with a temporary
	// error and is tried again after Wait; Attempt is the failed attempt.
	EventTokenRetry EventKind = "token.retry"
	// EventTokenLoaded reports that a source found a fresh token in its
	// store, saved there by another process or replica, and asked the
	// provider nothing.
	EventTokenLoaded EventKind = "token.loaded"
	// EventLockWaited reports that a source holds the store's lock on Key
	// after waiting Wait for it, or failed to get it (Err).
	EventLockWaited EventKind = "store.locked"
	// EventTokenSaved reports a new token saved to the store under Key.
	EventTokenSaved EventKind = "store.saved"
	// EventSaveFailed reports that a new token could not be saved to the
	// store; Err is the store's error, and the caller gets a *StoreError.
	EventSaveFailed EventKind = "store.save_failed"
	// EventTokenInvalidated reports that a Transport dropped a token the
	// provider rejected with a 401 (ResponseCode says which case), so that
	// the source fetches a fresh one, with which the request is sent again.
	EventTokenInvalidated EventKind = "token.invalidated"
)

// Flow says which kind of token an Event is about.
type Flow string

// The token flows.
const (
	// FlowB2B is the partner's B2B access token (B2BConfig).
	FlowB2B Flow = "b2b"
	// FlowB2B2C is a customer's access token (B2B2CConfig).
	FlowB2B2C Flow = "b2b2c"
)

// Event is one thing a token source or a Transport did. A zero field means
// the event has nothing to say about it. An Event holds no secret.
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Flow says which kind of token the event is about.
	Flow Flow
	// Key is the store key of the source, "" when it has none (TokenSource,
	// or a direct Token, Exchange or Refresh call).
	Key string
	// Attempt is the number of token requests made so far by one fetch: for
	// EventTokenRetry the attempt that failed, for an outcome all of them.
	Attempt int
	// Wait is the wait before a retry, or how long the store's lock took.
	Wait time.Duration
	// Duration is how long a fetch (retries and store included) or a save
	// took.
	Duration time.Duration
	// Expiry is the expiry of the token fetched, renewed or loaded.
	Expiry time.Time
	// StatusCode is the HTTP status of a provider's failure answer.
	StatusCode int
	// ResponseCode is the provider's 7-character SNAP responseCode, of a
	// success as of a failure, "" when there was none.
	ResponseCode string
	// Err is the failure: for EventTokenFailed the error the caller gets,
	// for EventTokenRetry the failed attempt's, for EventSaveFailed and
	// EventLockWaited the store's. Use its Error text, which never holds a
	// secret, rather than encoding its fields.
	Err error
}

// LogValue returns the event's fields as a slog group, without the zero ones.
func (e Event) LogValue() slog.Value {
	return slog.GroupValue(e.attrs()...)
}

// String returns the event as "kind field=value ...".
func (e Event) String() string {
	s := string(e.Kind)
	for _, a := range e.attrs() {
		s += " " + a.String()
	}
	return s
}

// Format writes String() for every verb, so that printing an Event, also
// with %#v, never prints the fields of its error.
func (e Event) Format(f fmt.State, verb rune) { io.WriteString(f, e.String()) }

func (e Event) attrs() []slog.Attr {
	a := make([]slog.Attr, 0, 9)
	a = append(a, slog.String("flow", string(e.Flow)))
	if e.Key != "" {
		a = append(a, slog.String("key", e.Key))
	}
	if e.Attempt > 0 {
		a = append(a, slog.Int("attempt", e.Attempt))
	}
	if e.Wait > 0 {
		a = append(a, slog.Duration("wait", e.Wait))
	}
	if e.Duration > 0 {
		a = append(a, slog.Duration("duration", e.Duration))
	}
	if !e.Expiry.IsZero() {
		a = append(a, slog.Time("expiry", e.Expiry))
	}
	if e.StatusCode != 0 {
		a = append(a, slog.Int("status", e.StatusCode))
	}
	if e.ResponseCode != "" {
		a = append(a, slog.String("code", e.ResponseCode))
	}
	if e.Err != nil {
		a = append(a, slog.String("err", e.Err.Error()))
	}
	return a
}

// SlogObserver returns an Observer that logs each event to logger with the
// message "snapauth: <kind>" and the event's non-zero fields as attributes:
// failures at level Error, retries and invalidations at Warn, fetched,
// renewed and loaded tokens at Info, locks and saves at Debug. A nil logger
// means slog.Default().
func SlogObserver(logger *slog.Logger) Observer {
	return func(ctx context.Context, e Event) {
		l := logger
		if l == nil {
			l = slog.Default()
		}
		l.LogAttrs(ctx, e.level(), "snapauth: "+string(e.Kind), e.attrs()...)
	}
}

func (e Event) level() slog.Level {
	switch e.Kind {
	case EventTokenFailed, EventSaveFailed:
		return slog.LevelError
	case EventTokenRetry, EventTokenInvalidated:
		return slog.LevelWarn
	case EventLockWaited, EventTokenSaved:
		if e.Err != nil {
			return slog.LevelError
		}
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
