package snapauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseTokenAnswerHostile: answers a hostile or broken provider sends
// that must not become a usable token.
func TestParseTokenAnswerHostile(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, Jakarta)
	for _, tc := range []struct{ name, body, want string }{
		{"200FAIL is not a success code", `{"responseCode":"200FAIL","accessToken":"a","expiresIn":"900"}`, "200FAIL"},
		{"200 alone", `{"responseCode":"200","accessToken":"a","expiresIn":"900"}`, "200"},
		{"eight digits", `{"responseCode":"20073000","accessToken":"a","expiresIn":"900"}`, "20073000"},
		{"duplicate responseCode, success last", `{"responseCode":"4017300","responseCode":"2007300","accessToken":"a"}`, `duplicate key "responseCode"`},
		{"duplicate responseCode, success first", `{"responseCode":"2007300","accessToken":"a","responseCode":"4017300"}`, `duplicate key "responseCode"`},
		{"duplicate accessToken", `{"responseCode":"2007300","accessToken":"a","accessToken":"b"}`, `duplicate key "accessToken"`},
		{"CR LF in accessToken", `{"responseCode":"2007300","accessToken":"a\r\nX-Evil: 1","expiresIn":"900"}`, "accessToken contains a control character"},
		{"NUL in refreshToken", `{"responseCode":"2007400","accessToken":"a","refreshToken":"r\u0000","expiresIn":"900"}`, "refreshToken contains a control character"},
		{"DEL in tokenType", `{"responseCode":"2007300","accessToken":"a","tokenType":"Mac\u007f","expiresIn":"900"}`, "tokenType contains a control character"},
		{"tab in accessToken", `{"accessToken":"a\tb"}`, "accessToken contains a control character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := parseTokenAnswer(200, http.Header{}, []byte(tc.body), now)
			require.Nil(t, tok)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "))
		})
	}
	// A nested object may repeat its parent's keys, and success codes of
	// every service are seven digits.
	tok, err := parseTokenAnswer(200, http.Header{}, []byte(`{"responseCode":"2007400","accessToken":"a","additionalInfo":{"responseCode":"x","accessToken":"y"}}`), now)
	require.NoError(t, err)
	assert.Equal(t, "a", tok.AccessToken)
}

// TestParseTokenAnswerClampsExpiry: an absurd expiresIn or expiry time is
// read as MaxLifetime from now, never as an expiry in the past.
func TestParseTokenAnswerClampsExpiry(t *testing.T) {
	now := time.Date(2025, 3, 1, 10, 0, 0, 0, Jakarta)
	for _, body := range []string{
		`{"accessToken":"a","expiresIn":10000000000}`,
		`{"accessToken":"a","expiresIn":"10000000000"}`,
		`{"accessToken":"a","expiresIn":9223372036854775807}`,
		`{"accessToken":"a","expiresIn":1e12}`,
		`{"accessToken":"a","expiresIn":31708800}`, // 367 days
		`{"accessToken":"a","accessTokenExpiryTime":"9999-12-31T23:59:59+07:00"}`,
	} {
		tok, err := parseTokenAnswer(200, http.Header{}, []byte(body), now)
		require.NoError(t, err, body)
		assert.True(t, tok.Expiry.Equal(now.Add(MaxLifetime)), "%s: expiry %v", body, tok.Expiry)
		assert.Equal(t, int64(MaxLifetime/time.Second), tok.ExpiresIn, body)
	}
	tok, err := parseTokenAnswer(200, http.Header{}, []byte(`{"accessToken":"a","expiresIn":31536000}`), now) // 365 days: kept
	require.NoError(t, err)
	assert.True(t, tok.Expiry.Equal(now.Add(365*24*time.Hour)))
}

// TestErrorRedactsEchoedSecrets: a provider echoing the refresh token or
// authorization code, whole or in part, in responseMessage or responseCode
// does not put it in the error text; Body keeps the raw answer.
func TestErrorRedactsEchoedSecrets(t *testing.T) {
	const rt = "RT-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	const code = "AC-0123456789abcdefghij"
	for _, msg := range []string{
		"Invalid refresh token [" + rt + "]",
		"Invalid token " + rt[:20] + "...",
		"bad code " + code + " for token " + rt,
		"prefix" + rt[10:] + "suffix",
	} {
		answer, _ := json.Marshal(map[string]string{"responseCode": "4017401", "responseMessage": msg})
		_, err := parseTokenAnswer(401, http.Header{}, answer, time.Now())
		err = redactError(err, rt, code, "")
		var e *Error
		require.ErrorAs(t, err, &e)
		for _, s := range []string{err.Error(), e.ResponseMessage} {
			for i := 0; i+redactRun <= len(rt); i++ {
				require.NotContains(t, s, rt[i:i+redactRun])
			}
			for i := 0; i+redactRun <= len(code); i++ {
				require.NotContains(t, s, code[i:i+redactRun])
			}
		}
		assert.Contains(t, e.ResponseMessage, "[redacted]")
		assert.Contains(t, string(e.Body), rt[10:20], "Body stays raw")
	}
	_, err := parseTokenAnswer(200, http.Header{}, []byte(`{"responseCode":"`+rt+`"}`), time.Now())
	err = redactError(err, rt)
	assert.NotContains(t, err.Error(), rt[:redactRun])
	// Ordinary text is left alone.
	assert.Equal(t, "Unauthorized. [Signature]", redactText("Unauthorized. [Signature]", []string{rt, code}))
	assert.NoError(t, redactError(nil, rt))
	plain := errors.New("x")
	assert.Same(t, plain, redactError(plain, rt))
}

// FuzzDuplicateKey: duplicateKey never panics, a key it reports is a key of
// the object, and an object encoding/json wrote never has one.
func FuzzDuplicateKey(f *testing.F) {
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`{"a":{"a":1},"b":[1,{"b":2}]}`))
	f.Add([]byte(`{"\u0061":1,"a":2}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"a":`))
	f.Fuzz(func(t *testing.T, data []byte) {
		key := duplicateKey(data)
		var m map[string]json.RawMessage
		err := json.Unmarshal(data, &m)
		if key != "" {
			if err != nil {
				return // a duplicate before the syntax error; the decoder refuses data anyway
			}
			if _, ok := m[key]; !ok {
				t.Fatalf("reported key %q is not in the object", key)
			}
		}
		if err == nil && m != nil {
			clean, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if k := duplicateKey(clean); k != "" {
				t.Fatalf("duplicate %q reported in %s", k, clean)
			}
		}
	})
}

// FuzzRedactText: whatever the text and the secret, no run of redactRun
// characters of the secret (all of a shorter one) survives redaction.
func FuzzRedactText(f *testing.F) {
	f.Add("Invalid refresh token [RT-9f8e7d6c5b4a3928]", "RT-9f8e7d6c5b4a3928")
	f.Add("aaaaaaaaaaaaaaaa", "aaaaaaaaa")
	f.Add("[redacted][redacted]", "redacted]")
	f.Fuzz(func(t *testing.T, text, secret string) {
		out := redactText(text, []string{secret})
		if len(secret) < minSecret {
			if out != text {
				t.Fatalf("a %d-byte value was redacted", len(secret))
			}
			return
		}
		if strings.ContainsAny(secret, "[]") {
			return // a secret sharing the marker's brackets may re-form across it; tokens are base64 or alphanumeric
		}
		k := min(len(secret), redactRun)
		for i := 0; i+k <= len(secret); i++ {
			if strings.Contains(out, secret[i:i+k]) && !strings.Contains("[redacted]", secret[i:i+k]) {
				t.Fatalf("%q survives in %q", secret[i:i+k], out)
			}
		}
	})
}
