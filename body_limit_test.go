package snapauth

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// streamingBody is a request body of size bytes ('[' then spaces) made as it
// is read, counting what was read. Reading past stopAt is a test failure and
// ends the stream with an error, so that a transport without a cap fails the
// test instead of taking hundreds of megabytes.
type streamingBody struct {
	t            *testing.T
	size, stopAt int64
	read         int64
	closes       atomic.Int32
}

func (s *streamingBody) Read(p []byte) (int, error) {
	if s.read >= s.size {
		return 0, io.EOF
	}
	if s.read > s.stopAt {
		s.t.Errorf("the transport read %d bytes, past %d", s.read, s.stopAt)
		return 0, errors.New("read past the cap")
	}
	n := int(min(int64(len(p)), s.size-s.read))
	for i := range p[:n] {
		p[i] = ' '
	}
	if s.read == 0 && n > 0 {
		p[0] = '['
	}
	s.read += int64(n)
	return n, nil
}

func (s *streamingBody) Close() error { s.closes.Add(1); return nil }

// TestTransportRefusesBodyOverCap sends a 400 MiB streaming body of unknown
// length, under the default cap and under a small one: it is refused with a
// MaxBytesError before any token is taken or anything sent, after reading at
// most cap+1 bytes, with memory bounded by the cap, not the body.
func TestTransportRefusesBodyOverCap(t *testing.T) {
	const size = 400 << 20
	for _, tc := range []struct {
		name  string
		max   int64 // Transport.MaxBodySize
		limit int64 // the cap in effect
	}{{"default cap", 0, 8 << 20}, {"1 MiB cap", 1 << 20, 1 << 20}, {"cap below one chunk", 100, 100}} {
		t.Run(tc.name, func(t *testing.T) {
			src := newCountingSource("tok")
			tr := newTestTransport(src)
			tr.MaxBodySize = tc.max
			var sent atomic.Int32
			tr.Base = roundTripFunc(func(*http.Request) (*http.Response, error) {
				sent.Add(1)
				return nil, errors.New("must not be called")
			})
			body := &streamingBody{t: t, size: size, stopAt: 2*tc.limit + 1}
			req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/v1.0/x", body)
			require.NoError(t, err)
			require.EqualValues(t, 0, req.ContentLength, "length unknown")

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			resp, err := tr.RoundTrip(req)
			runtime.ReadMemStats(&after)

			assert.Nil(t, resp)
			require.Error(t, err)
			var mbe *http.MaxBytesError
			require.ErrorAs(t, err, &mbe)
			assert.Equal(t, tc.limit, mbe.Limit)
			assert.True(t, strings.HasPrefix(err.Error(), "snapauth: request body is larger than Transport.MaxBodySize"), err.Error())
			assert.LessOrEqual(t, body.read, tc.limit+1, "read at most cap+1 bytes")
			assert.GreaterOrEqual(t, body.read, tc.limit+1, "read up to the cap before refusing")
			assert.Zero(t, sent.Load(), "nothing is sent")
			calls, _ := src.stats()
			assert.Zero(t, calls, "no token is taken")
			assert.EqualValues(t, 1, body.closes.Load())
			allocated := after.TotalAlloc - before.TotalAlloc
			assert.LessOrEqual(t, allocated, uint64(2*tc.limit+64<<10), "memory bounded by the cap")
			t.Logf("cap %d: read %d of %d bytes, allocated %d bytes", tc.limit, body.read, size, allocated)
		})
	}
}

// TestTransportRefusesDeclaredLengthOverCap: a body whose ContentLength says
// it is over the cap is refused without reading a byte of it.
func TestTransportRefusesDeclaredLengthOverCap(t *testing.T) {
	tr := newTestTransport(newCountingSource("tok"))
	tr.MaxBodySize = 1 << 10
	body := &streamingBody{t: t, size: 400 << 20, stopAt: 0}
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/v1.0/x", body)
	require.NoError(t, err)
	req.ContentLength = body.size
	_, err = tr.RoundTrip(req)
	var mbe *http.MaxBytesError
	require.ErrorAs(t, err, &mbe)
	assert.Zero(t, body.read)
	assert.EqualValues(t, 1, body.closes.Load())
}

// TestTransportBodyCapEdges: exactly MaxBodySize bytes pass, one more is
// refused, whether the length is declared, unknown, or declared too small.
func TestTransportBodyCapEdges(t *testing.T) {
	const limit = 10 << 10
	atCap := jsonOfSize(limit)
	overCap := jsonOfSize(limit + 1)
	for _, tc := range []struct {
		name     string
		body     []byte
		declared int64 // ContentLength; -1: unknown
		ok       bool
	}{
		{"at cap, declared", atCap, limit, true},
		{"at cap, unknown", atCap, -1, true},
		{"over cap, unknown", overCap, -1, false},
		{"over cap, declared too small", overCap, 10, false},
		{"over cap, declared", overCap, limit + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startFake(t, &fakeProvider{})
			tr := newTestTransport(newCountingSource("tok"))
			tr.MaxBodySize = limit
			req, err := http.NewRequest(http.MethodPost, p.URL("/v1.0/x"), io.NopCloser(bytes.NewReader(tc.body)))
			require.NoError(t, err)
			req.ContentLength = tc.declared
			resp, err := tr.RoundTrip(req)
			if !tc.ok {
				var mbe *http.MaxBytesError
				require.ErrorAs(t, err, &mbe)
				assert.Empty(t, p.requests())
				return
			}
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, 200, resp.StatusCode)
			require.Len(t, p.requests(), 1)
			assert.Equal(t, tc.body, p.requests()[0].Body)
		})
	}
}

// TestTransportDefaultCapPassesLargeSNAPBody: a 1 MiB body, of unknown
// length and declared, passes the default cap and the provider's signature
// check.
func TestTransportDefaultCapPassesLargeSNAPBody(t *testing.T) {
	body := jsonOfSize(1 << 20)
	for _, declared := range []bool{false, true} {
		p := startFake(t, &fakeProvider{})
		tr := newTestTransport(newCountingSource("tok"))
		req, err := http.NewRequest(http.MethodPost, p.URL("/v1.0/x"), io.NopCloser(bytes.NewReader(body)))
		require.NoError(t, err)
		if declared {
			req.ContentLength = int64(len(body))
		}
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 200, resp.StatusCode)
		require.Len(t, p.requests(), 1)
		assert.Equal(t, body, p.requests()[0].Body)
	}
}

// jsonOfSize returns compact JSON of exactly n bytes (n >= 8).
func jsonOfSize(n int) []byte {
	return []byte(`{"a":"` + strings.Repeat("x", n-8) + `"}`)
}
