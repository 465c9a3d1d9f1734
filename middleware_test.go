package snapauth_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mwServer serves h on loopback; next counts the requests that reach the
// merchant's handler and records the body each read.
type mwServer struct {
	*httptest.Server
	calls  atomic.Int64
	mu     sync.Mutex
	bodies [][]byte
}

func newMWServer(t *testing.T, wrap func(next http.Handler) http.Handler) *mwServer {
	t.Helper()
	s := &mwServer{}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "body", http.StatusTeapot)
			return
		}
		s.mu.Lock()
		s.bodies = append(s.bodies, body)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"responseCode":"2002400","responseMessage":"Successful"}`)
	})
	s.Server = httptest.NewServer(wrap(next))
	t.Cleanup(s.Close)
	return s
}

type snapAnswer struct {
	Status          int
	ResponseCode    string `json:"responseCode"`
	ResponseMessage string `json:"responseMessage"`
}

// send puts req on the wire to the server, header values exactly as given
// (duplicates included), and decodes the SNAP answer.
func (s *mwServer) send(t *testing.T, req vfyRequest) snapAnswer {
	t.Helper()
	hr, err := http.NewRequest(req.Method, s.URL+req.Target, bytes.NewReader(req.Body))
	require.NoError(t, err)
	if len(req.Body) == 0 {
		hr.Body, hr.ContentLength = http.NoBody, 0
	}
	hr.Header = req.Header
	resp, err := s.Client().Do(hr)
	require.NoError(t, err)
	defer resp.Body.Close()
	var a snapAnswer
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &a), "answer %q", raw)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK {
		_, err := snapauth.ParseTimestamp(resp.Header.Get("X-TIMESTAMP"))
		assert.NoError(t, err, "a refusal carries X-TIMESTAMP")
	}
	a.Status = resp.StatusCode
	return a
}

func TestMiddlewarePassesVerifiedRequests(t *testing.T) {
	v := vfySymmetric()
	s := newMWServer(t, func(next http.Handler) http.Handler { return v.Middleware("24", next) })
	body := []byte(phpJSON(`{"partnerServiceId":"   12345","url":"https://x/y","name":"Café"}`))
	a := s.send(t, vfySend(t, nil, http.MethodPost, "/v1.0/transfer-va/inquiry", body, body, snapauth.Standard.Timestamp(vfyNow)))
	assert.Equal(t, snapAnswer{200, "2002400", "Successful"}, a)
	require.Equal(t, int64(1), s.calls.Load())
	assert.Equal(t, body, s.bodies[0], "the handler reads the body as sent")
}

// TestMiddlewareRefusesBadInput sends every kind of bad input: each is a
// SNAP-form refusal with the right code, never a 500, and the handler never
// runs.
func TestMiddlewareRefusesBadInput(t *testing.T) {
	v := vfySymmetric()
	v.MaxBody = 256
	var refusals atomic.Int64
	v.OnRefusal = func(*http.Request, error) { refusals.Add(1) }
	s := newMWServer(t, func(next http.Handler) http.Handler { return v.Middleware("24", next) })
	ts := snapauth.Standard.Timestamp(vfyNow)
	body := []byte(`{"virtualAccountNo":"   123450812345678"}`)
	good := func() vfyRequest {
		return vfySend(t, nil, http.MethodPost, "/v1.0/transfer-va/inquiry", body, body, ts)
	}
	signedBody := func(b []byte) vfyRequest {
		return vfySend(t, nil, http.MethodPost, "/v1.0/transfer-va/inquiry", b, b, ts)
	}
	cases := map[string]struct {
		req  vfyRequest
		want snapAnswer
	}{
		"body too large":      {signedBody([]byte(`{"a":"` + strings.Repeat("x", 300) + `"}`)), snapAnswer{400, "4002400", "Bad Request. [body too large]"}},
		"body not JSON":       {signedBody([]byte(`virtualAccountNo=123`)), snapAnswer{400, "4002400", "Bad Request. [body is not JSON]"}},
		"body truncated JSON": {signedBody([]byte(`{"a":`)), snapAnswer{400, "4002400", "Bad Request. [body is not JSON]"}},
		"body two values":     {signedBody([]byte(`{} {}`)), snapAnswer{400, "4002400", "Bad Request. [body is not JSON]"}},
		"signature hex of garbage": {with(good(), func(r *vfyRequest) { r.Header.Set("X-SIGNATURE", strings.Repeat("zz", 64)) }),
			snapAnswer{401, "4012400", "Unauthorized. [Signature]"}},
		"signature base64url": {with(good(), func(r *vfyRequest) {
			r.Header.Set("X-SIGNATURE", strings.NewReplacer("+", "-", "/", "_", "=", "").Replace(r.Header.Get("X-SIGNATURE"))+"_-")
		}), snapAnswer{401, "4012400", "Unauthorized. [Signature]"}},
		"signature with a tab": {with(good(), func(r *vfyRequest) {
			sig := r.Header.Get("X-SIGNATURE")
			r.Header.Set("X-SIGNATURE", sig[:10]+"\t"+sig[10:])
		}), snapAnswer{401, "4012400", "Unauthorized. [Signature]"}},
		"timestamp layout": {with(good(), func(r *vfyRequest) { r.Header.Set("X-TIMESTAMP", vfyNow.Format("2006-01-02 15:04:05")) }),
			snapAnswer{400, "4002401", "Invalid Field Format [X-TIMESTAMP]"}},
		"timestamp stale": {with(good(), func(r *vfyRequest) { r.Header.Set("X-TIMESTAMP", snapauth.Standard.Timestamp(vfyNow.Add(-time.Hour))) }),
			snapAnswer{401, "4012400", "Unauthorized. [Timestamp]"}},
		"external id too long": {with(good(), func(r *vfyRequest) { r.Header.Set("X-EXTERNAL-ID", strings.Repeat("9", 65)) }),
			snapAnswer{400, "4002401", "Invalid Field Format [X-EXTERNAL-ID]"}},
		"external id with a space": {with(good(), func(r *vfyRequest) { r.Header.Set("X-EXTERNAL-ID", "12 34") }),
			snapAnswer{400, "4002401", "Invalid Field Format [X-EXTERNAL-ID]"}},
		"authorization basic": {with(good(), func(r *vfyRequest) { r.Header.Set("Authorization", "Basic eDp5") }),
			snapAnswer{401, "4012401", "Invalid Token (B2B)"}},
		"authorization missing": {with(good(), func(r *vfyRequest) { r.Header.Del("Authorization") }),
			snapAnswer{401, "4012403", "Token Not Found (B2B)"}},
	}
	for _, h := range []string{"X-TIMESTAMP", "X-SIGNATURE", "X-PARTNER-ID", "X-EXTERNAL-ID"} {
		cases["missing "+h] = struct {
			req  vfyRequest
			want snapAnswer
		}{with(good(), func(r *vfyRequest) { r.Header.Del(h) }), snapAnswer{400, "4002402", "Invalid Mandatory Field [" + h + "]"}}
		cases["blank "+h] = struct {
			req  vfyRequest
			want snapAnswer
		}{with(good(), func(r *vfyRequest) { r.Header.Set(h, " ") }), snapAnswer{400, "4002402", "Invalid Mandatory Field [" + h + "]"}}
		cases["duplicated "+h] = struct {
			req  vfyRequest
			want snapAnswer
		}{with(good(), func(r *vfyRequest) { r.Header.Add(h, r.Header.Get(h)) }), snapAnswer{400, "4002401", "Invalid Field Format [" + h + "]"}}
	}
	cases["duplicated Authorization"] = struct {
		req  vfyRequest
		want snapAnswer
	}{with(good(), func(r *vfyRequest) { r.Header.Add("Authorization", "Bearer other") }), snapAnswer{400, "4002401", "Invalid Field Format [Authorization]"}}

	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, c.want, s.send(t, c.req))
		})
	}
	assert.Zero(t, s.calls.Load(), "the handler never ran")
	assert.Equal(t, int64(len(cases)), refusals.Load(), "OnRefusal saw every refusal")

	// The good request itself passes, after all of that.
	assert.Equal(t, 200, s.send(t, good()).Status)
}

func with(r vfyRequest, change func(*vfyRequest)) vfyRequest {
	r = r.clone()
	change(&r)
	return r
}

func TestMiddlewareReplay(t *testing.T) {
	v := vfySymmetric()
	s := newMWServer(t, func(next http.Handler) http.Handler { return v.Middleware("", next) })
	body := []byte(`{"a":"b"}`)
	req := vfySend(t, nil, http.MethodPost, "/v1.0/transfer-va/payment", body, body, snapauth.Standard.Timestamp(vfyNow))
	assert.Equal(t, 200, s.send(t, req).Status)
	assert.Equal(t, snapAnswer{409, "4092500", "Conflict"}, s.send(t, req), "service code 25 from the route")
	assert.Equal(t, int64(1), s.calls.Load())
}

func TestServiceCode(t *testing.T) {
	for path, want := range map[string]string{
		"/v1.0/transfer-va/inquiry":          "24",
		"/snap/v1.0/transfer-va/payment":     "25",
		"/openapi/v1.0/qr/qr-mpm-notify":     "52",
		"/v1.0/access-token/b2b":             "73",
		"/v2.0/qr/qr-mpm-query/":             "51",
		"/v1.0/unknown":                      "00",
		"/transfer-va/inquiry":               "00",
		"":                                   "00",
		"/v":                                 "00",
		"/v1.0/transfer-va/inquiry/../other": "00",
	} {
		assert.Equal(t, want, snapauth.ServiceCode(path), path)
	}
}

func TestWriteRefusal(t *testing.T) {
	w := httptest.NewRecorder()
	snapauth.WriteRefusal(w, io.ErrUnexpectedEOF, "xx")
	assert.Equal(t, 500, w.Code)
	assert.JSONEq(t, `{"responseCode":"5000001","responseMessage":"Internal Server Error"}`, w.Body.String())
	assert.NotContains(t, w.Body.String(), "EOF", "an internal error's text is not sent")
}
