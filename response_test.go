package snapauth

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckResponse(t *testing.T) {
	resp := func(status int, ctype, body string, hdr ...string) *http.Response {
		h := http.Header{"Content-Type": {ctype}}
		for i := 0; i+1 < len(hdr); i += 2 {
			h.Set(hdr[i], hdr[i+1])
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
	}
	tests := []struct {
		name     string
		resp     *http.Response
		code     string // "" with ok
		ok       bool
		sentinel error
	}{
		{"success code", resp(200, "application/json", `{"responseCode":"2004700","responseMessage":"Successful"}`), "", true, nil},
		{"success without code", resp(200, "application/json", `{"foo":1}`), "", true, nil},
		{"200 with a failure code", resp(200, "application/json", `{"responseCode":"4014700","responseMessage":"Unauthorized. [Signature]"}`), "4014700", false, ErrUnauthorized},
		{"invalid token, numeric code", resp(401, "application/json", `{"responseCode":4014701,"responseMessage":"Invalid Token (B2B)"}`), "4014701", false, ErrInvalidToken},
		{"rate limited", resp(429, "application/json", `{"responseCode":"4294700","responseMessage":"Too Many Requests"}`, "Retry-After", "7"), "4294700", false, ErrRateLimited},
		{"gateway HTML", resp(502, "text/html", `<html>Bad Gateway</html>`), "", false, ErrServerError},
		{"2xx HTML", resp(200, "text/html", `<html>maintenance</html>`), "", false, nil},
		{"business refusal", resp(403, "application/json", `{"responseCode":"4034714","responseDescription":"Insufficient Funds"}`), "4034714", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := io.ReadAll(tt.resp.Body)
			require.NoError(t, err)
			tt.resp.Body = io.NopCloser(bytes.NewReader(body))
			err = CheckResponse(tt.resp)
			// The caller can still read the whole body.
			after, rerr := io.ReadAll(tt.resp.Body)
			require.NoError(t, rerr)
			assert.Equal(t, string(body), string(after))
			if tt.ok {
				require.NoError(t, err)
				return
			}
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.resp.StatusCode, e.StatusCode)
			assert.Equal(t, tt.code, e.ResponseCode)
			if tt.sentinel != nil {
				assert.ErrorIs(t, err, tt.sentinel)
			}
		})
	}
	var e *Error
	err := CheckResponse(resp(429, "application/json", `{"responseCode":"4294700"}`, "Retry-After", "7"))
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 7*time.Second, e.RetryAfter)
	err = CheckResponse(resp(403, "application/json", `{"responseCode":"4034714","responseDescription":"Insufficient Funds"}`))
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "14", e.CaseCode())
	assert.Contains(t, err.Error(), "Insufficient Funds")
	require.Error(t, CheckResponse(nil))
}
