package snapauth

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHeaderSlotsNamed: every slot has its own canonical header name, so a
// slot added without a name (or with a name twice) fails here.
func TestHeaderSlotsNamed(t *testing.T) {
	seen := map[string]bool{}
	for i, k := range headerNames {
		require.NotEmpty(t, k, "slot %d has no header name", i)
		assert.Equal(t, http.CanonicalHeaderKey(k), k)
		assert.False(t, seen[k], "%s named twice", k)
		seen[k] = true
	}
}

// TestTransportSetsEveryHeaderAtOnce sends a request that fills every slot,
// on top of caller headers under non-canonical keys, and finds each header
// the transport owns exactly once with its value.
func TestTransportSetsEveryHeaderAtOnce(t *testing.T) {
	var got http.Header
	tr := newTestTransport(newCountingSource("tok"))
	tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r.Header
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	ctx := WithCustomerToken(context.Background(), newCountingSource("cust"))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:1/v1.0/x", newCloseCounter(`{"a":1}`))
	require.NoError(t, err)
	req.Header["x-signature"] = []string{"forged"}
	req.Header["content-type"] = []string{"text/plain"}
	req.Header.Set("X-Device-Id", "dev-1")
	_, err = tr.RoundTrip(req)
	require.NoError(t, err)

	for _, k := range headerNames {
		assert.Len(t, got[k], 1, k)
	}
	assert.Len(t, got, len(headerNames)+1, "the caller's X-Device-Id and ours, nothing else: %v", got)
	assert.Equal(t, "Bearer tok", got.Get(hAuthorization))
	assert.Equal(t, "Bearer cust", got.Get(hCustomer))
	assert.NotEqual(t, "forged", got.Get(hSignature))
	assert.Equal(t, "application/json", got.Get(hContentType))
	assert.Equal(t, "dev-1", got.Get("X-Device-Id"))
}

// TestTransportBodyIsKnownInMemory: the signed body goes to Base as
// io.NopCloser over a *bytes.Reader, the form net/http's transfer code
// recognises as in memory (isKnownInMemoryReader) and sends with the
// headers in one write, and GetBody gives the same form.
func TestTransportBodyIsKnownInMemory(t *testing.T) {
	want := reflect.TypeOf(io.NopCloser(bytes.NewReader(nil)))
	var body, again io.ReadCloser
	tr := newTestTransport(newCountingSource("tok"))
	tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		body = r.Body
		var err error
		again, err = r.GetBody()
		require.NoError(t, err)
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/v1.0/x", newCloseCounter(`{"a": 1}`))
	require.NoError(t, err)
	_, err = tr.RoundTrip(req)
	require.NoError(t, err)
	for _, b := range []io.ReadCloser{body, again} {
		require.Equal(t, want, reflect.TypeOf(b))
		_, isBytesReader := reflect.ValueOf(b).Field(0).Interface().(*bytes.Reader)
		assert.True(t, isBytesReader)
		got, err := io.ReadAll(b)
		require.NoError(t, err)
		assert.Equal(t, `{"a":1}`, string(got))
	}
}
