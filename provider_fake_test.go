package snapauth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// ---------------------------------------------------------------------------
// Test parts: a counting token source, a clock, a body that counts its closes.

// countingSource hands out tokens in order: the current one until it is
// invalidated, then the next. It implements ContextTokenSource and
// TokenInvalidator and records what it was asked.
type countingSource struct {
	mu          sync.Mutex
	tokens      []*oauth2.Token
	i           int
	err         error // returned by every call while set
	errOnRenew  error // becomes err after an Invalidate
	stayOnToken bool  // Invalidate drops nothing
	calls       int   // Token and TokenContext calls
	invalidated []string
	lastCtx     context.Context
}

func newCountingSource(tokens ...string) *countingSource {
	s := &countingSource{}
	for _, a := range tokens {
		// The provider's lower-case token type; the transport must send "Bearer".
		s.tokens = append(s.tokens, &oauth2.Token{AccessToken: a, TokenType: "bearer", Expiry: time.Now().Add(time.Hour)})
	}
	return s
}

func (s *countingSource) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

func (s *countingSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.lastCtx = ctx
	if s.err != nil {
		return nil, s.err
	}
	return s.tokens[s.i], nil
}

func (s *countingSource) Invalidate(t *oauth2.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalidated = append(s.invalidated, t.AccessToken)
	if s.errOnRenew != nil {
		s.err = s.errOnRenew
	}
	if !s.stayOnToken && s.tokens[s.i].AccessToken == t.AccessToken && s.i+1 < len(s.tokens) {
		s.i++
	}
}

func (s *countingSource) stats() (calls int, invalidated []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, slices.Clone(s.invalidated)
}

// stepClock returns start, start+step, start+2*step, ...
type stepClock struct {
	mu   sync.Mutex
	next time.Time
	step time.Duration
}

func newStepClock(start time.Time, step time.Duration) *stepClock {
	return &stepClock{next: start, step: step}
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.next
	c.next = c.next.Add(c.step)
	return now
}

// closeCounter is a request body that counts its Close calls.
type closeCounter struct {
	io.Reader
	closes atomic.Int32
}

func newCloseCounter(s string) *closeCounter { return &closeCounter{Reader: strings.NewReader(s)} }

func (c *closeCounter) Close() error { c.closes.Add(1); return nil }

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// recordingBase answers every request 200 with no body, and keeps the last
// request it was sent.
type recordingBase struct{ last *http.Request }

func (b *recordingBase) RoundTrip(r *http.Request) (*http.Response, error) {
	b.last = r
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
}

// newTestTransport returns a symmetric transport on a fixed clock.
func newTestTransport(src oauth2.TokenSource) *Transport {
	return &Transport{
		Source:       src,
		ClientSecret: testSecret,
		PartnerID:    "partner-82150823919040624621823174737537",
		ChannelID:    "95221",
		Origin:       "www.merchant.example",
	}
}

// prettyPayload is a pretty-printed body with the characters json.Marshal
// escapes (<>&), non-ASCII text, escapes and numbers written unusually.
func prettyPayload(t *testing.T) []byte {
	t.Helper()
	v := map[string]any{
		"partnerReferenceNo": "2020102900000000000001",
		"note":               "<b>Tom & Jerry</b> café Ñandú 日本語 🎉",
		"amount":             map[string]any{"value": "12345678.00", "currency": "IDR"},
		"additionalInfo":     map[string]any{"path": "a/b\\c", "quote": `say "hi"`, "tab": "x\ty\nz"},
	}
	b, err := json.MarshalIndent(v, "", "    ") // escapes <, > and & as \u003c...
	require.NoError(t, err)
	require.Contains(t, string(b), `\u003cb\u003e`, "json.Marshal escapes HTML characters")
	// An escaped solidus and odd spacing, as in a hand-written body.
	return append(b[:len(b)-1], []byte(",\n    \"n\" : 150 ,  \"url\": \"https:\\/\\/x.example\\/cb\"\n}")...)
}
