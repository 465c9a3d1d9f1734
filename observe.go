package snapauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
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
	// EventTokenFetched: a first token was obtained from the provider
	// (B2BConfig.Token, B2B2CConfig.Exchange, or a source's first fetch).
	EventTokenFetched EventKind = "token.fetched"
	// EventTokenRenewed: a source replaced the token it held, or a refresh
	// token was exchanged for a new token.
	EventTokenRenewed EventKind = "token.renewed"
	// EventTokenFailed: no token could be obtained; Err says why.
	EventTokenFailed EventKind = "token.failed"
	// EventTokenRetry: a token request failed with a temporary error and is
	// tried again after Wait; Attempt is the number of the failed attempt.
	EventTokenRetry EventKind = "token.retry"
	// EventTokenLoaded: a source found a fresh token in its store, saved
	// there by another process or replica, and asked the provider nothing.
	EventTokenLoaded EventKind = "token.loaded"
	// EventLockWaited: a source holds the store's lock on Key after waiting
	// Wait for it, or failed to get it (Err).
	EventLockWaited EventKind = "store.locked"
	// EventTokenSaved: a new token was saved to the store under Key.
	EventTokenSaved EventKind = "store.saved"
	// EventSaveFailed: a new token could not be saved to the store; Err is
	// the store's error, and the caller gets a *StoreError.
	EventSaveFailed EventKind = "store.save_failed"
	// EventTokenInvalidated: a Transport dropped a token the provider
	// rejected with a 401 (ResponseCode says which case), to send the
	// request once more with a fresh one.
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
	// Err is the failure, as the caller gets it (or, for EventSaveFailed,
	// the store's error). Use its Error text, which never holds a secret,
	// rather than encoding its fields.
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

// observer is the Observer of one config, source or transport with what it
// reports about.
type observer struct {
	fn   Observer
	flow Flow
	key  string
}

func (o observer) emit(ctx context.Context, e Event) {
	if o.fn == nil {
		return
	}
	e.Flow = o.flow
	if e.Key == "" {
		e.Key = o.key
	}
	var apiErr *Error
	if errors.As(e.Err, &apiErr) {
		e.StatusCode, e.ResponseCode = apiErr.StatusCode, apiErr.ResponseCode
	}
	o.fn(ctx, e)
}

func (c *B2BConfig) observer(key string) observer {
	return observer{fn: c.Observer, flow: FlowB2B, key: key}
}

func (c *B2B2CConfig) observer(key string) observer {
	return observer{fn: c.Observer, flow: FlowB2B2C, key: key}
}

// observed sets the observer of s and returns s.
func (s *cachedSource) observed(o observer) *cachedSource {
	s.obs = o
	return s
}

// fetchNote travels in the context of a cached source's fetch, so that the
// store and the exchange below it report to the source's observer, and the
// source reports the fetch's outcome once.
type fetchNote struct {
	obs       observer
	start     time.Time
	attempts  int  // token requests made by the exchange
	refreshed bool // the exchange spent a refresh token
}

type fetchNoteKey struct{}

func noteOf(ctx context.Context) *fetchNote {
	n, _ := ctx.Value(fetchNoteKey{}).(*fetchNote)
	return n
}

// callerValues is the context of a fetch started by a caller: the caller's
// values without its cancellation, then the source's construction context's
// values for what the caller's lacks. The HTTP client (oauth2.HTTPClient) is
// the one of the construction context when it names one, as documented, so
// that which caller starts a shared fetch does not decide where it is sent.
type callerValues struct {
	context.Context                 // context.WithoutCancel(caller)
	base            context.Context // the source's construction context
}

func (c callerValues) Value(key any) any {
	if key == oauth2.HTTPClient {
		if v := c.base.Value(key); v != nil {
			return v
		}
	}
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.base.Value(key)
}

// fetchContext returns the context of a fetch started by a caller with ctx
// (before its timeout is applied), with a note for the observer, if any.
func (s *cachedSource) fetchContext(caller context.Context) context.Context {
	ctx := s.ctx
	if caller != nil && caller != s.ctx {
		ctx = callerValues{Context: context.WithoutCancel(caller), base: s.ctx}
	}
	if s.obs.fn == nil {
		return ctx
	}
	return context.WithValue(ctx, fetchNoteKey{}, &fetchNote{obs: s.obs, start: time.Now()})
}

// fetched reports the outcome of a cached source's fetch: a token from the
// store, a fetched or renewed one, or a failure. A StoreError was reported as
// EventSaveFailed, and its token counts as obtained.
func (s *cachedSource) fetched(ctx context.Context, last, tok *oauth2.Token, err error) {
	n := noteOf(ctx)
	if n == nil {
		return
	}
	e := Event{Attempt: n.attempts, Duration: time.Since(n.start), Err: err}
	var se *StoreError
	if errors.As(err, &se) {
		tok, e.Err = se.Token, nil
	}
	switch {
	case e.Err != nil:
		e.Kind = EventTokenFailed
	case tok == nil || tok == last:
		return // nothing new: the source's own token was still usable
	case n.attempts == 0:
		e.Kind = EventTokenLoaded
	case last != nil || n.refreshed:
		e.Kind = EventTokenRenewed
	default:
		e.Kind = EventTokenFetched
	}
	if tok != nil && e.Err == nil {
		e.Expiry = tok.Expiry
		e.ResponseCode = extraString(tok, "responseCode")
	}
	s.obs.emit(ctx, e)
}

func extraString(t *oauth2.Token, key string) string {
	s, _ := t.Extra(key).(string)
	return s
}

// exchangeEvents reports on one exchange: each retry, and its outcome when
// it is not part of a cached source's fetch, which reports its own. A nil
// *exchangeEvents (no observer) reports nothing.
type exchangeEvents struct {
	obs     observer
	ctx     context.Context
	note    *fetchNote
	refresh bool // the grant spends a refresh token
	start   time.Time
	attempt int
}

func (x *exchanger) events(ctx context.Context, grantType string) *exchangeEvents {
	if x.obs.fn == nil {
		return nil
	}
	e := &exchangeEvents{obs: x.obs, ctx: ctx, note: noteOf(ctx), start: time.Now(),
		refresh: strings.EqualFold(grantType, "refresh_token")}
	if e.note != nil {
		e.obs.key = e.note.obs.key
	}
	return e
}

// sending records that attempt number n is about to be sent.
func (e *exchangeEvents) sending(n int) {
	if e == nil {
		return
	}
	e.attempt = n
	if e.note != nil {
		e.note.attempts++
		e.note.refreshed = e.note.refreshed || e.refresh
	}
}

// retry reports that the last attempt failed with err and another follows
// after wait.
func (e *exchangeEvents) retry(wait time.Duration, err error) {
	if e == nil {
		return
	}
	e.obs.emit(e.ctx, Event{Kind: EventTokenRetry, Attempt: e.attempt, Wait: wait, Err: err})
}

// done reports the outcome of an exchange made outside a cached source.
func (e *exchangeEvents) done(tok **oauth2.Token, err *error) {
	if e == nil || e.note != nil {
		return
	}
	ev := Event{Kind: EventTokenFetched, Attempt: e.attempt, Duration: time.Since(e.start), Err: *err}
	var apiErr *Error
	switch {
	case *err != nil:
		ev.Kind = EventTokenFailed
		if e.refresh && errors.As(*err, &apiErr) && refreshRejected(apiErr) {
			ev.Err = fmt.Errorf("%w: %w", ErrReauthorize, apiErr) // as Refresh returns it
		}
	case *tok != nil:
		if e.refresh {
			ev.Kind = EventTokenRenewed
		}
		ev.Expiry = (*tok).Expiry
		ev.ResponseCode = extraString(*tok, "responseCode")
	}
	e.obs.emit(e.ctx, ev)
}

// observedLock takes the store's lock on key, reporting how long it took to
// the observer of the fetch in ctx.
func observedLock(ctx context.Context, l Locker, key string) (func(), error) {
	n := noteOf(ctx)
	if n == nil {
		return l.Lock(ctx, key)
	}
	start := time.Now()
	unlock, err := l.Lock(ctx, key)
	n.obs.emit(ctx, Event{Kind: EventLockWaited, Key: key, Wait: time.Since(start), Err: err})
	return unlock, err
}

// observedSave saves t to the store under key, reporting the save or its
// failure to the observer of the fetch in ctx.
func observedSave(ctx context.Context, store TokenStore, key string, t *oauth2.Token) error {
	n := noteOf(ctx)
	if n == nil {
		return store.Save(ctx, key, t)
	}
	start := time.Now()
	err := store.Save(ctx, key, t)
	e := Event{Kind: EventTokenSaved, Key: key, Duration: time.Since(start), Expiry: t.Expiry, Err: err}
	if err != nil {
		e.Kind, e.Expiry = EventSaveFailed, time.Time{}
	}
	n.obs.emit(ctx, e)
	return err
}

// invalidated reports that the transport dropped the token of src, of kind
// flow, after the 401 answer resp, whose body it leaves whole.
func (t *Transport) invalidated(ctx context.Context, flow Flow, src oauth2.TokenSource, resp *http.Response) {
	o := observer{fn: t.Observer, flow: flow}
	if s, ok := src.(*cachedSource); ok {
		o.key = s.obs.key
		if o.fn == nil {
			o.fn = s.obs.fn
		}
	}
	if o.fn == nil {
		return
	}
	o.emit(ctx, Event{Kind: EventTokenInvalidated, StatusCode: resp.StatusCode, ResponseCode: peekCode(resp)})
}

// peekCode returns the SNAP responseCode of an answer, reading at most
// maxErrorBody bytes of its body and leaving the body whole for the caller.
func peekCode(resp *http.Response) string {
	if resp.Body == nil || resp.Body == http.NoBody {
		return ""
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(head), resp.Body), closer: resp.Body}
	fields, _ := decodeObject(head)
	code, _ := snapCode(fields)
	return code
}
