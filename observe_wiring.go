package snapauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

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
	if caller != nil { // Token passes s.ctx itself: wrapping it again is harmless
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
