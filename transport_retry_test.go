package snapauth

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// rejectFirst answers 401 with code to every request signed with the token
// reject, and 200 otherwise.
func rejectToken(reject string, answer string) func(w http.ResponseWriter, r fakeRequest, n int) {
	return func(w http.ResponseWriter, r fakeRequest, n int) {
		if r.Header.Get("Authorization") == "Bearer "+reject {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, answer)
			return
		}
		fmt.Fprintf(w, `{"responseCode":"2001700","responseMessage":"Successful"}`)
	}
}

func TestTransportRetriesRejectedB2BToken(t *testing.T) {
	for _, answer := range []string{
		`{"responseCode":"4017301","responseMessage":"Invalid Token (B2B)"}`,
		`{"responseCode":"4011703","responseMessage":"Token Not Found (B2B)"}`,
		`{"responseCode":4017301,"responseMessage":"Invalid Token (B2B)"}`,
	} {
		t.Run(answer, func(t *testing.T) {
			clock := newStepClock(time.Now(), time.Second)
			p := startFake(t, &fakeProvider{respond: rejectToken("tok-old", answer)})
			src := newCountingSource("tok-old", "tok-new")
			tr := newTestTransport(src)
			tr.Now = clock.Now
			body := newCloseCounter("{\n \"amount\": {\"value\": \"10.00\"}\n}")
			req, err := http.NewRequest(http.MethodPost, p.URL("/v1.0/transfer"), body)
			require.NoError(t, err)
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Contains(t, string(got), "2001700")
			assert.EqualValues(t, 1, body.closes.Load())

			seen := p.requests()
			require.Len(t, seen, 2)
			_, invalidated := src.stats()
			assert.Equal(t, []string{"tok-old"}, invalidated)
			assert.Equal(t, "Bearer tok-old", seen[0].Header.Get("Authorization"))
			assert.Equal(t, "Bearer tok-new", seen[1].Header.Get("Authorization"))
			assert.Equal(t, seen[0].Header.Get("X-EXTERNAL-ID"), seen[1].Header.Get("X-EXTERNAL-ID"), "same external id")
			assert.NotEqual(t, seen[0].Header.Get("X-TIMESTAMP"), seen[1].Header.Get("X-TIMESTAMP"), "new timestamp")
			assert.NotEqual(t, seen[0].Header.Get("X-SIGNATURE"), seen[1].Header.Get("X-SIGNATURE"))
			assert.Equal(t, seen[0].Body, seen[1].Body)
			assert.Equal(t, `{"amount":{"value":"10.00"}}`, string(seen[1].Body))
		})
	}
}

func TestTransportDoesNotRetryOtherwise(t *testing.T) {
	big := `{"responseCode":"4017301","responseMessage":"` + strings.Repeat("x", 100<<10) + `"}`
	for _, tc := range []struct {
		name   string
		status int
		answer string
		src    func() oauth2.TokenSource
	}{
		{"401 unauthorized 00", 401, `{"responseCode":"4017300","responseMessage":"Unauthorized. [Signature]"}`, nil},
		{"401 invalid customer token 02", 401, `{"responseCode":"4017302","responseMessage":"Invalid Customer Token"}`, nil},
		{"401 customer token not found 04", 401, `{"responseCode":"4017304","responseMessage":"Customer Token Not Found"}`, nil},
		{"401 html", 401, `<html><body>401 Authorization Required</body></html>`, nil},
		{"401 empty", 401, ``, nil},
		{"401 code of another status", 401, `{"responseCode":"4037301"}`, nil},
		{"401 longer than the cap", 401, big, nil},
		{"403 with case 01", 403, `{"responseCode":"4037301","responseMessage":"Feature Not Allowed"}`, nil},
		{"500", 500, `{"responseCode":"5007301","responseMessage":"Internal Server Error"}`, nil},
		{"source cannot invalidate", 401, `{"responseCode":"4017301","responseMessage":"Invalid Token (B2B)"}`, func() oauth2.TokenSource {
			return oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "tok-1"})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startFake(t, &fakeProvider{respond: func(w http.ResponseWriter, _ fakeRequest, _ int) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.answer)
			}})
			src := newCountingSource("tok-1", "tok-2")
			var ts oauth2.TokenSource = src
			if tc.src != nil {
				ts = tc.src()
			}
			body := newCloseCounter(`{"a":1}`)
			req, err := http.NewRequest(http.MethodPost, p.URL("/v1.0/x"), body)
			require.NoError(t, err)
			resp, err := newTestTransport(ts).RoundTrip(req)
			require.NoError(t, err)
			got, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Equal(t, tc.answer, string(got), "the caller gets the whole answer")
			assert.Len(t, p.requests(), 1)
			assert.EqualValues(t, 1, body.closes.Load())
			_, invalidated := src.stats()
			assert.Empty(t, invalidated)
		})
	}
}

// postThrough posts {} to p through a test transport on src and returns
// the answer's status and body.
func postThrough(t *testing.T, p *fakeProvider, src oauth2.TokenSource) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Transport: newTestTransport(src)}).Post(p.URL("/v1.0/x"), "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(got)
}

func TestTransportRetriesOnlyOnce(t *testing.T) {
	const answer = `{"responseCode":"4017301","responseMessage":"Invalid Token (B2B)"}`
	p := startFake(t, &fakeProvider{respond: func(w http.ResponseWriter, _ fakeRequest, _ int) {
		w.WriteHeader(401)
		io.WriteString(w, answer)
	}})
	src := newCountingSource("tok-1", "tok-2", "tok-3")
	status, got := postThrough(t, p, src)
	assert.Equal(t, 401, status)
	assert.Equal(t, answer, got)
	assert.Len(t, p.requests(), 2)
	_, invalidated := src.stats()
	assert.Equal(t, []string{"tok-1"}, invalidated)
}

func TestTransportNoRetryWithoutAFreshToken(t *testing.T) {
	const answer = `{"responseCode":"4017301","responseMessage":"Invalid Token (B2B)"}`
	newProvider := func(t *testing.T) *fakeProvider {
		return startFake(t, &fakeProvider{respond: rejectToken("tok-1", answer)})
	}

	t.Run("source gives the same token", func(t *testing.T) {
		p := newProvider(t)
		src := newCountingSource("tok-1", "tok-2")
		src.stayOnToken = true
		status, got := postThrough(t, p, src)
		assert.Equal(t, 401, status)
		assert.Equal(t, answer, got)
		assert.Len(t, p.requests(), 1)
	})

	t.Run("fresh token fails", func(t *testing.T) {
		p := newProvider(t)
		src := newCountingSource("tok-1", "tok-2")
		renewErr := errors.New("token endpoint down")
		src.errOnRenew = renewErr
		var respClosed atomic.Int32
		tr := newTestTransport(src)
		tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := http.DefaultTransport.RoundTrip(r)
			if err == nil {
				inner := resp.Body
				resp.Body = struct {
					io.Reader
					io.Closer
				}{inner, closerFunc(func() error { respClosed.Add(1); return inner.Close() })}
			}
			return resp, err
		})
		body := newCloseCounter(`{}`)
		req, err := http.NewRequest(http.MethodPost, p.URL("/v1.0/x"), body)
		require.NoError(t, err)
		resp, err := tr.RoundTrip(req)
		assert.Nil(t, resp)
		require.ErrorIs(t, err, renewErr)
		assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
		assert.EqualValues(t, 1, respClosed.Load(), "the rejected answer is closed")
		assert.EqualValues(t, 1, body.closes.Load())
		assert.Len(t, p.requests(), 1)
	})
}
