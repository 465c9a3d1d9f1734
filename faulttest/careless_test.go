package faulttest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// hugeBody is a request body of size bytes of JSON-looking text, made as it
// is read and counting what was read. Reading past stopAt fails the test
// and ends the stream, so that a transport without a cap cannot take the
// machine's memory.
type hugeBody struct {
	t            *testing.T
	size, stopAt int64
	read         atomic.Int64
}

func (h *hugeBody) Read(p []byte) (int, error) {
	done := h.read.Load()
	if done >= h.size {
		return 0, io.EOF
	}
	if done > h.stopAt {
		h.t.Errorf("the transport read %d bytes of the body, past %d", done, h.stopAt)
		return 0, errors.New("read past the cap")
	}
	n := int(min(int64(len(p)), h.size-done))
	for i := range p[:n] {
		p[i] = ' '
	}
	if done == 0 && n > 0 {
		p[0] = '['
	}
	h.read.Add(int64(n))
	return n, nil
}

func (h *hugeBody) Close() error { return nil }

// TestCarelessCallerHugeBody: a caller streams a 400 MiB body of unknown
// length through a Transport in an ordinary http.Client. It is refused with
// a MaxBytesError after at most MaxBodySize+1 bytes, the heap grows by about
// twice the cap at most, and nothing reaches the provider, not even a token
// request.
func TestCarelessCallerHugeBody(t *testing.T) {
	const size, limit = 400 << 20, 2 << 20
	p := newProvider(t, nil)
	var fetched atomic.Int32
	src := oauth2.ReuseTokenSource(nil, tokenSourceFunc(func() (*oauth2.Token, error) {
		fetched.Add(1)
		return &oauth2.Token{AccessToken: "unused", Expiry: time.Now().Add(time.Hour)}, nil
	}))
	var sent atomic.Int32
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})
	tr := &snapauth.Transport{Base: base, Source: src, ClientSecret: p.clientSecret, PartnerID: p.partnerID,
		ChannelID: p.channelID, MaxBodySize: limit}
	body := &hugeBody{t: t, size: size, stopAt: 2 * limit}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, p.srv.URL+servicePath, body)
	require.NoError(t, err)

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	runtime.ReadMemStats(&after)

	if resp != nil {
		resp.Body.Close()
	}
	var mbe *http.MaxBytesError
	require.ErrorAs(t, err, &mbe)
	assert.EqualValues(t, limit, mbe.Limit)
	assert.Contains(t, err.Error(), "snapauth: request body is larger than Transport.MaxBodySize")
	assert.LessOrEqual(t, body.read.Load(), int64(limit+1), "read at most the cap and one byte")
	assert.Zero(t, sent.Load(), "nothing was sent")
	assert.Zero(t, fetched.Load(), "no token was fetched for a request that cannot be sent")
	assert.Zero(t, p.served.Load()+p.sigRejected.Load()+p.b2bIssued.Load())
	grew := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, grew, uint64(3*limit), "allocated %d bytes for a %d-byte cap", grew, limit)
	t.Logf("400 MiB body, cap %d: read %d bytes, allocated %d bytes", limit, body.read.Load(), grew)
}

type tokenSourceFunc func() (*oauth2.Token, error)

func (f tokenSourceFunc) Token() (*oauth2.Token, error) { return f() }

// TestBrokenBase: a Base below the Transport that breaks the RoundTripper
// contract, returning no response and no error, or a response and an
// error, gives the caller an error through http.Client, never a panic, and
// an answer the caller never sees is closed.
func TestBrokenBase(t *testing.T) {
	src := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok", Expiry: time.Now().Add(time.Hour)})
	baseErr := errors.New("half-broken base")
	var closed atomic.Int32
	for name, base := range map[string]roundTripFunc{
		"nil response, nil error": func(*http.Request) (*http.Response, error) { return nil, nil },
		"response and error": func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Request: r, Body: closeFunc(func() error { closed.Add(1); return nil })}, baseErr
		},
	} {
		t.Run(name, func(t *testing.T) {
			tr := &snapauth.Transport{Base: base, Source: src, ClientSecret: "s3cret"}
			req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1"+servicePath, strings.NewReader(`{"a":1}`))
			require.NoError(t, err)
			var resp *http.Response
			require.NotPanics(t, func() { resp, err = (&http.Client{Transport: tr}).Do(req) })
			assert.Nil(t, resp)
			require.Error(t, err)
			if !errors.Is(err, baseErr) {
				assert.Contains(t, err.Error(), "snapauth: Base RoundTripper")
			}
		})
	}
	assert.EqualValues(t, 1, closed.Load(), "the response sent with an error was closed")
}

// closeFunc is an empty response body that runs a function on Close.
type closeFunc func() error

func (closeFunc) Read([]byte) (int, error) { return 0, io.EOF }
func (f closeFunc) Close() error           { return f() }
