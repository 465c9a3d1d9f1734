package snapauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTransportSendsReplayableBody(t *testing.T) {
	tr := newTestTransport(newCountingSource("tok"))
	base := &recordingBase{}
	tr.Base = base
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/v1.0/x", newCloseCounter("{\n  \"a\": \"b\"\n}\n"))
	require.NoError(t, err)
	req.TransferEncoding = []string{"chunked"}
	_, err = tr.RoundTrip(req)
	require.NoError(t, err)

	first, err := io.ReadAll(base.last.Body)
	require.NoError(t, err)
	assert.Equal(t, `{"a":"b"}`, string(first))
	assert.EqualValues(t, len(first), base.last.ContentLength)
	assert.Nil(t, base.last.TransferEncoding)
	require.NotNil(t, base.last.GetBody)
	again, err := base.last.GetBody()
	require.NoError(t, err)
	second, err := io.ReadAll(again)
	require.NoError(t, err)
	assert.Equal(t, first, second)
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func TestTransportRefusesNonJSONBody(t *testing.T) {
	for _, body := range []string{
		"not json",
		`{"a":1`,
		`{"a":1} trailing`,
		"{\"a\":\"\xff\"}",
		"<xml/>",
	} {
		t.Run(body, func(t *testing.T) {
			var sent atomic.Int32
			src := newCountingSource("tok")
			tr := newTestTransport(src)
			tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
				sent.Add(1)
				return nil, errors.New("must not be called")
			})
			b := newCloseCounter(body)
			req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/v1.0/x", b)
			require.NoError(t, err)
			resp, err := tr.RoundTrip(req)
			assert.Nil(t, resp)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "not valid")
			assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
			assert.Zero(t, sent.Load(), "nothing is sent")
			assert.EqualValues(t, 1, b.closes.Load())
			calls, _ := src.stats()
			assert.Zero(t, calls, "no token is taken for a request that cannot be signed")
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// TestTransportClosesBodyOnEveryPath counts Close calls on the caller's body
// along every way out of RoundTrip.
func TestTransportClosesBodyOnEveryPath(t *testing.T) {
	okBase := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
	})
	var calls atomic.Int32
	rejectOnceBase := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r.Body.Close()
		if calls.Add(1) == 1 {
			return &http.Response{StatusCode: 401, Body: io.NopCloser(strings.NewReader(`{"responseCode":"4017301"}`)), Request: r}, nil
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{}`)), Request: r}, nil
	})
	baseErr := errors.New("connection refused")
	tokenErr := errors.New("token endpoint said no")

	for _, tc := range []struct {
		name    string
		body    io.Reader
		setup   func(tr *Transport, src *countingSource) context.Context
		wantErr error // nil: success
		anyErr  bool
	}{
		{name: "success", setup: func(tr *Transport, _ *countingSource) context.Context { tr.Base = okBase; return context.Background() }},
		{name: "minify error", body: strings.NewReader("{nope"), anyErr: true},
		{name: "read error", body: failingReader{}, anyErr: true},
		{name: "token error", wantErr: tokenErr, setup: func(_ *Transport, src *countingSource) context.Context {
			src.err = tokenErr
			return context.Background()
		}},
		{name: "customer token error", wantErr: tokenErr, setup: func(tr *Transport, _ *countingSource) context.Context {
			cs := newCountingSource("c")
			cs.err = tokenErr
			return WithCustomerToken(context.Background(), cs)
		}},
		{name: "base transport error", wantErr: baseErr, setup: func(tr *Transport, _ *countingSource) context.Context {
			tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) { r.Body.Close(); return nil, baseErr })
			return context.Background()
		}},
		{name: "retry", setup: func(tr *Transport, _ *countingSource) context.Context {
			tr.Base = rejectOnceBase
			return context.Background()
		}},
		{name: "no secret", anyErr: true, setup: func(tr *Transport, _ *countingSource) context.Context {
			tr.ClientSecret = ""
			return context.Background()
		}},
		{name: "no source", anyErr: true, setup: func(tr *Transport, _ *countingSource) context.Context {
			tr.Source = nil
			return context.Background()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newCountingSource("tok-1", "tok-2")
			tr := newTestTransport(src)
			tr.Base = roundTripFunc(func(*http.Request) (*http.Response, error) {
				t.Error("nothing should be sent")
				return nil, errors.New("unexpected")
			})
			ctx := context.Background()
			if tc.setup != nil {
				ctx = tc.setup(tr, src)
			}
			r := tc.body
			if r == nil {
				r = strings.NewReader(`{"ok":true}`)
			}
			body := &closeCounter{Reader: r}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:1/v1.0/x", body)
			require.NoError(t, err)
			resp, err := tr.RoundTrip(req)
			switch {
			case tc.wantErr != nil:
				require.ErrorIs(t, err, tc.wantErr)
			case tc.anyErr:
				require.Error(t, err)
			default:
				require.NoError(t, err)
				resp.Body.Close()
				assert.Equal(t, 200, resp.StatusCode)
			}
			if err != nil {
				assert.True(t, strings.HasPrefix(err.Error(), "snapauth: ") || errors.Is(err, baseErr), err.Error())
				assert.NotContains(t, err.Error(), testSecret)
				assert.NotContains(t, err.Error(), "tok-1")
			}
			assert.EqualValues(t, 1, body.closes.Load(), "the request body is closed exactly once")
		})
	}
}

// FuzzMinifyInPlace checks that the transport's in-place minification gives
// exactly what Minify gives, and fails where Minify fails.
func FuzzMinifyInPlace(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `[]`, `"x"`, `1.50e+2`,
		"{\n  \"a\" : \"\\u003cb\\u003e \\u0026 \\/ \\u00e9 \\ud83c\\udf89 \\ud800 \\u0001 \\\" \\\\ \\n\"\n}",
		`{"k":[1, 2 ,{"x":null,"y":true}], "s": "\uDBFF\uDFFF\u2028"}`,
		"not json", `{"a":1`, "\"\xff\"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantErr := Minify(body)
		got, sum, gotErr := minifyOwned(bytes.Clone(body))
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("Minify error %v, in place %v", wantErr, gotErr)
		}
		if wantErr == nil && !bytes.Equal(want, got) {
			t.Fatalf("in place %q, Minify %q", got, want)
		}
		if wantErr == nil && sum != sha256.Sum256(want) {
			t.Fatalf("in place SHA-256 of %q is not that of the output", body)
		}
	})
}
