package snapauth

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTransportBaseReturnsNothing: a Base that breaks the RoundTripper
// contract with (nil, nil) gets an error back, as net/http's Client gives
// one, on the first attempt and on the retry after a rejected token.
func TestTransportBaseReturnsNothing(t *testing.T) {
	for _, tc := range []struct {
		name      string
		nilOnCall int // the call of Base that returns (nil, nil)
	}{{"first attempt", 1}, {"retry", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			var calls int
			var rejected *closeCounter
			tr := newTestTransport(newCountingSource("tok-1", "tok-2"))
			tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
				calls++
				if calls == tc.nilOnCall {
					return nil, nil
				}
				rejected = newCloseCounter(`{"responseCode":"4017301","responseMessage":"Invalid Token (B2B)"}`)
				return &http.Response{StatusCode: 401, Body: rejected, Request: r}, nil
			})
			body := newCloseCounter(`{"a":1}`)
			req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/v1.0/x", body)
			require.NoError(t, err)

			var resp *http.Response
			require.NotPanics(t, func() { resp, err = tr.RoundTrip(req) })
			assert.Nil(t, resp)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
			assert.Contains(t, err.Error(), "nil *http.Response")
			assert.Equal(t, tc.nilOnCall, calls)
			assert.EqualValues(t, 1, body.closes.Load())
			if rejected != nil {
				assert.EqualValues(t, 1, rejected.closes.Load(), "the rejected answer is closed")
			}
		})
	}
}

// TestTransportBaseReturnsResponseAndError: a Base that returns a response
// together with an error gets its response body closed, and the caller only
// the error, as the RoundTripper contract says a caller may assume.
func TestTransportBaseReturnsResponseAndError(t *testing.T) {
	baseErr := errors.New("half-broken base")
	var answer *closeCounter
	tr := newTestTransport(newCountingSource("tok"))
	tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		answer = newCloseCounter(`{}`)
		return &http.Response{StatusCode: 200, Body: answer, Request: r}, baseErr
	})
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/v1.0/x", strings.NewReader(`{"a":1}`))
	require.NoError(t, err)

	resp, err := tr.RoundTrip(req)
	assert.Nil(t, resp)
	require.ErrorIs(t, err, baseErr)
	require.NotNil(t, answer)
	assert.EqualValues(t, 1, answer.closes.Load(), "the response body the caller never sees is closed")
}

// TestTransportBaseResponseWithoutBody: a response whose Body is nil (a
// careless Base) reaches the caller with an empty body, as net/http's Client
// hands it, and a 401 without a body is not retried.
func TestTransportBaseResponseWithoutBody(t *testing.T) {
	tr := newTestTransport(newCountingSource("tok-1", "tok-2"))
	var calls int
	tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls++
		return &http.Response{StatusCode: 401, Request: r}, nil
	})
	req, err := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/v1.0/x", nil)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	require.NotNil(t, resp.Body)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Empty(t, b)
	assert.Equal(t, 1, calls)
}
