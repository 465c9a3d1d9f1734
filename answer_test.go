package snapauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// --- answer parsing -----------------------------------------------------

func TestParseTokenAnswerShapes(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, Jakarta)
	tests := []struct {
		name    string
		body    string
		expiry  time.Time
		typ     string
		extra   map[string]any
		noExtra []string
	}{
		{"expiresIn string", `{"responseCode":"2007300","accessToken":"a","tokenType":"Bearer","expiresIn":"900"}`,
			now.Add(900 * time.Second), "Bearer", map[string]any{"responseCode": "2007300"}, nil},
		{"expiresIn number", `{"responseCode":"2007300","accessToken":"a","tokenType":"Bearer","expiresIn":900}`,
			now.Add(900 * time.Second), "Bearer", nil, nil},
		{"expiresIn float", `{"accessToken":"a","expiresIn":600.0}`, now.Add(600 * time.Second), "Bearer", nil, nil},
		{"expiresIn absent", `{"responseCode":"2007300","accessToken":"a","tokenType":"Bearer"}`,
			now.Add(DefaultLifetime), "Bearer", nil, nil},
		{"expiresIn garbage", `{"accessToken":"a","expiresIn":"soon"}`, now.Add(DefaultLifetime), "Bearer", nil, nil},
		{"expiresIn negative", `{"accessToken":"a","expiresIn":-5}`, now.Add(DefaultLifetime), "Bearer", nil, nil},
		{"bearer lower case", `{"accessToken":"a","tokenType":"bearer","expiresIn":"900"}`, now.Add(900 * time.Second), "Bearer", nil, nil},
		{"BearerToken", `{"accessToken":"a","tokenType":"BearerToken","expiresIn":"900"}`, now.Add(900 * time.Second), "Bearer", nil, nil},
		{"BEARER", `{"accessToken":"a","tokenType":"BEARER","expiresIn":"900"}`, now.Add(900 * time.Second), "Bearer", nil, nil},
		{"Mac kept", `{"accessToken":"a","tokenType":"Mac","expiresIn":"900"}`, now.Add(900 * time.Second), "Mac", nil, nil},
		{"tokenType absent", `{"accessToken":"a","expiresIn":"900"}`, now.Add(900 * time.Second), "Bearer", nil, nil},
		{"responseCode number", `{"responseCode":2007300,"accessToken":"a","expiresIn":"900"}`,
			now.Add(900 * time.Second), "Bearer", map[string]any{"responseCode": json.Number("2007300")}, nil},
		{"responseCode absent", `{"accessToken":"a","tokenType":"Bearer","expiresIn":"900"}`, now.Add(900 * time.Second), "Bearer", nil, nil},
		{"unknown fields in Extra", `{"responseCode":"2007300","accessToken":"a","expiresIn":"900","additionalInfo":{"merchantId":"M1"},"scope":"read"}`,
			now.Add(900 * time.Second), "Bearer",
			map[string]any{"additionalInfo": map[string]any{"merchantId": "M1"}, "scope": "read"},
			[]string{"accessToken", "refreshToken"}},
		{"expiry time +07:00", `{"accessToken":"a","accessTokenExpiryTime":"2025-03-01T10:15:00+07:00"}`, now.Add(15 * time.Minute), "Bearer", nil, nil},
		{"expiry time Z", `{"accessToken":"a","accessTokenExpiryTime":"2025-03-01T03:15:00Z"}`, now.Add(15 * time.Minute), "Bearer", nil, nil},
		{"expiry time +0000", `{"accessToken":"a","accessTokenExpiryTime":"2025-03-01T03:15:00+0000"}`, now.Add(15 * time.Minute), "Bearer", nil, nil},
		{"expiry time +00:00", `{"accessToken":"a","accessTokenExpiryTime":"2025-03-01T03:15:00+00:00"}`, now.Add(15 * time.Minute), "Bearer", nil, nil},
		{"expiry time millis", `{"accessToken":"a","accessTokenExpiryTime":"2025-03-01T10:15:00.000+07:00"}`, now.Add(15 * time.Minute), "Bearer", nil, nil},
		{"expiry time wins over expiresIn", `{"accessToken":"a","expiresIn":"60","accessTokenExpiryTime":"2025-03-01T10:15:00+07:00"}`, now.Add(15 * time.Minute), "Bearer", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := parseTokenAnswer(200, http.Header{}, []byte(tt.body), now)
			require.NoError(t, err)
			assert.Equal(t, "a", tok.AccessToken)
			assert.Equal(t, tt.typ, tok.TokenType)
			assert.True(t, tok.Expiry.Equal(tt.expiry), "expiry %v, want %v", tok.Expiry, tt.expiry)
			assert.Equal(t, int64(tt.expiry.Sub(now)/time.Second), tok.ExpiresIn)
			for k, v := range tt.extra {
				assert.Equal(t, v, tok.Extra(k), "extra %s", k)
			}
			for _, k := range tt.noExtra {
				assert.Nil(t, tok.Extra(k), "extra %s", k)
			}
		})
	}
}

// TestParseTokenAnswerShortLifetime: an expiry time under half a second
// ahead gives ExpiresIn 1, not 0 (which means "lifetime unknown" and its
// 10 s margin), so that the cache renews such a token on its own margin;
// an expiry already past gives no positive lifetime.
func TestParseTokenAnswerShortLifetime(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 14, 59, 600_000_000, Jakarta)
	tok, err := parseTokenAnswer(200, http.Header{}, []byte(`{"accessToken":"a","accessTokenExpiryTime":"2025-03-01T10:15:00+07:00"}`), now)
	require.NoError(t, err)
	assert.Equal(t, int64(1), tok.ExpiresIn)
	assert.Equal(t, 100*time.Millisecond, freshness{}.margin(tok), "a tenth of its 1 s lifetime")

	tok, err = parseTokenAnswer(200, http.Header{}, []byte(`{"accessToken":"a","accessTokenExpiryTime":"2025-03-01T10:14:00+07:00"}`), now)
	require.NoError(t, err)
	assert.Less(t, tok.ExpiresIn, int64(1), "expired a minute ago")
}

func TestParseTokenAnswerErrors(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, Jakarta)
	tests := []struct {
		name     string
		status   int
		ctype    string
		body     string
		code     string
		service  string
		caseCode string
		msg      string
		is       []error
		isNot    []error
	}{
		{"401 SNAP error", 401, "application/json", `{"responseCode":"4017300","responseMessage":"Unauthorized. Signature"}`,
			"4017300", "73", "00", "Unauthorized. Signature", []error{ErrUnauthorized}, []error{ErrInvalidToken, ErrTemporary, ErrServerError, ErrRateLimited}},
		{"200 with 401 code", 200, "application/json", `{"responseCode":"4017300","responseMessage":"Unauthorized. Invalid Client Key"}`,
			"4017300", "73", "00", "Unauthorized. Invalid Client Key", []error{ErrUnauthorized}, []error{ErrTemporary}},
		{"401 without code", 401, "application/json", `{"error":"nope"}`,
			"", "", "", "", []error{ErrUnauthorized}, []error{ErrInvalidToken}},
		{"invalid token", 401, "application/json", `{"responseCode":"4017401","responseMessage":"Invalid Token (B2B)"}`,
			"4017401", "74", "01", "Invalid Token (B2B)", []error{ErrInvalidToken}, []error{ErrUnauthorized}},
		{"token not found", 401, "application/json", `{"responseCode":"4017304","responseMessage":"Customer Token Not Found"}`,
			"4017304", "73", "04", "Customer Token Not Found", []error{ErrInvalidToken}, []error{ErrUnauthorized}},
		{"rate limited", 429, "application/json", `{"responseCode":"4297300","responseMessage":"Too Many Requests"}`,
			"4297300", "73", "00", "Too Many Requests", []error{ErrRateLimited, ErrTemporary}, []error{ErrServerError}},
		{"server error", 500, "application/json", `{"responseCode":"5007300","responseMessage":"General Error"}`,
			"5007300", "73", "00", "General Error", []error{ErrServerError, ErrTemporary}, []error{ErrRateLimited}},
		{"responseCode number", 400, "application/json", `{"responseCode":4007302,"responseMessage":"Invalid Mandatory Field grantType"}`,
			"4007302", "73", "02", "Invalid Mandatory Field grantType", nil, []error{ErrTemporary}},
		{"responseDescription", 403, "application/json", `{"responseCode":"4037300","responseDescription":"Forbidden"}`,
			"4037300", "73", "00", "Forbidden", nil, []error{ErrTemporary, ErrUnauthorized}},
		{"HTML gateway page", 502, "text/html; charset=utf-8", `<html><body><h1>502 Bad Gateway</h1></body></html>`,
			"", "", "", "answer is not JSON (text/html)", []error{ErrServerError, ErrTemporary}, nil},
		{"HTML with 200", 200, "text/html", `<!DOCTYPE html><html>login</html>`,
			"", "", "", "answer is not JSON (text/html)", nil, []error{ErrTemporary}},
		{"empty body", 200, "application/json", ``, "", "", "", "empty answer", nil, nil},
		{"JSON array", 200, "application/json", `[{"accessToken":"a"}]`, "", "", "", "answer is not JSON (application/json)", nil, nil},
		{"JSON null", 200, "application/json", `null`, "", "", "", "answer is not JSON (application/json)", nil, nil},
		{"2xx without accessToken", 200, "application/json", `{"responseCode":"2007300","responseMessage":"Successful","expiresIn":"900"}`,
			"2007300", "73", "00", "answer has no accessToken", nil, []error{ErrTemporary}},
		{"accessToken not a string", 200, "application/json", `{"accessToken":12345}`, "", "", "", "answer has no accessToken", nil, nil},
		{"invalid accessTokenExpiryTime", 200, "application/json", `{"responseCode":"2007400","accessToken":"a","accessTokenExpiryTime":"tomorrow"}`,
			"2007400", "74", "00", "accessTokenExpiryTime is not an ISO 8601 time", nil, nil},
		{"expiry time without offset", 200, "application/json", `{"accessToken":"a","accessTokenExpiryTime":"2025-03-01T10:15:00"}`,
			"", "", "", "accessTokenExpiryTime is not an ISO 8601 time", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := parseTokenAnswer(tt.status, http.Header{"Content-Type": {tt.ctype}}, []byte(tt.body), now)
			require.Error(t, err)
			assert.Nil(t, tok)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.status, e.StatusCode)
			assert.Equal(t, tt.code, e.ResponseCode)
			assert.Equal(t, tt.service, e.ServiceCode())
			assert.Equal(t, tt.caseCode, e.CaseCode())
			assert.Equal(t, tt.msg, e.ResponseMessage)
			assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
			assert.Contains(t, err.Error(), fmt.Sprint(tt.status))
			if tt.code != "" {
				assert.Contains(t, err.Error(), tt.code)
			}
			for _, target := range tt.is {
				assert.ErrorIs(t, err, target)
			}
			for _, target := range tt.isNot {
				assert.NotErrorIs(t, err, target)
			}
		})
	}
}

func TestParseTokenAnswerTooLarge(t *testing.T) {
	// A valid answer padded past 1 MiB is refused, not parsed.
	big := `{"accessToken":"a","expiresIn":"900","pad":"` + strings.Repeat("x", maxAnswer) + `"}`
	_, err := parseTokenAnswer(200, http.Header{}, []byte(big), time.Now())
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "answer larger than 1 MiB", e.ResponseMessage)
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	assert.Equal(t, 7*time.Second, parseRetryAfter("7", now))
	assert.Equal(t, 30*time.Second, parseRetryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now))
	assert.Equal(t, time.Hour, parseRetryAfter("999999", now), "capped")
	assert.Zero(t, parseRetryAfter("", now))
	assert.Zero(t, parseRetryAfter("-3", now))
	assert.Zero(t, parseRetryAfter("soon", now))
	assert.Zero(t, parseRetryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now))
}

func TestRefreshTokenExpiry(t *testing.T) {
	tok := (&oauth2.Token{AccessToken: "a"}).WithExtra(map[string]any{"refreshTokenExpiryTime": "2025-03-31T10:00:00+07:00"})
	assert.True(t, RefreshTokenExpiry(tok).Equal(time.Date(2025, 3, 31, 3, 0, 0, 0, time.UTC)))
	assert.True(t, RefreshTokenExpiry(nil).IsZero())
	assert.True(t, RefreshTokenExpiry(&oauth2.Token{AccessToken: "a"}).IsZero())
	bad := (&oauth2.Token{}).WithExtra(map[string]any{"refreshTokenExpiryTime": "never"})
	assert.True(t, RefreshTokenExpiry(bad).IsZero())
}

// --- fuzzing --------------------------------------------------------------

// FuzzParseTokenAnswer feeds the answer parser arbitrary statuses and bodies:
// it must never panic, a token it accepts must be usable, and anything else
// must be an *Error that says what went wrong.
func FuzzParseTokenAnswer(f *testing.F) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, Jakarta)
	f.Add(200, []byte(`{"responseCode":"2007300","responseMessage":"Successful","accessToken":"a","tokenType":"Bearer","expiresIn":"900"}`))
	f.Add(200, []byte(`{"responseCode":2007300,"accessToken":"a","tokenType":"bearer","expiresIn":900}`))
	f.Add(200, []byte(`{"responseCode":"2007400","accessToken":"a","tokenType":"BearerToken","accessTokenExpiryTime":"2025-03-01T10:15:00+0700","refreshToken":"r","refreshTokenExpiryTime":"2025-03-31T03:00:00Z"}`))
	f.Add(401, []byte(`{"responseCode":"4017300","responseMessage":"Unauthorized. Signature"}`))
	f.Add(200, []byte(`{"responseCode":"4017300","responseMessage":"Unauthorized"}`))
	f.Add(502, []byte(`<html>Bad Gateway</html>`))
	f.Add(200, []byte(``))
	f.Add(200, []byte(`{"accessToken":"a","expiresIn":1e300}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		tok, err := parseTokenAnswer(status, http.Header{}, body, now)
		if err == nil {
			if status < 200 || status > 299 {
				t.Fatalf("status %d accepted", status)
			}
			if tok.AccessToken == "" || tok.TokenType == "" || tok.Expiry.IsZero() {
				t.Fatalf("unusable token accepted: %+v", tok)
			}
			if tok.Extra("accessToken") != nil || tok.Extra("refreshToken") != nil {
				t.Fatal("tokens left in Extra")
			}
			return
		}
		if tok != nil {
			t.Fatal("token and error")
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("not an *Error: %T %v", err, err)
		}
		if e.StatusCode != status || !strings.HasPrefix(err.Error(), "snapauth: ") {
			t.Fatalf("bad error %q for status %d", err, status)
		}
		if len(e.ResponseCode) == 7 && (e.ServiceCode() != e.ResponseCode[3:5] || e.CaseCode() != e.ResponseCode[5:]) {
			t.Fatalf("codes not split: %+v", e)
		}
		if len(e.Body) > 64<<10 || (len(e.Body) > 0 && !bytes.HasPrefix(body, e.Body)) {
			t.Fatal("Body is not a prefix of the answer")
		}
	})
}
