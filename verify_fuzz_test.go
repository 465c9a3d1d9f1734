package snapauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
)

// fuzzNoReplay accepts every external id, so that one valid request can be
// verified over and over by the fuzzer.
type fuzzNoReplay struct{}

func (fuzzNoReplay) Seen(context.Context, string, time.Duration) (bool, error) { return false, nil }

// fuzzRefusal fails unless err is nil or a SNAP refusal of bad input: a
// *RequestError with status 400, 401 or 409, a 7-character code, a message.
func fuzzRefusal(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var re *snapauth.RequestError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a *RequestError", err)
	}
	switch re.StatusCode {
	case 400, 401, 409:
	default:
		t.Fatalf("bad input answered %d: %v", re.StatusCode, err)
	}
	if code := re.ResponseCode("24"); len(code) != 7 || re.Message == "" || !strings.HasPrefix(err.Error(), "snapauth: ") {
		t.Fatalf("refusal %q %q: %v", code, re.Message, err)
	}
}

// FuzzVerifyHeaders feeds the verifier arbitrary header values around a
// valid symmetric request: every outcome is an acceptance of the valid
// values or a SNAP refusal, never a panic or a 500.
func FuzzVerifyHeaders(f *testing.F) {
	ts := snapauth.Standard.Timestamp(vfyNow)
	body := []byte(`{"a":"b"}`)
	valid := vfySend(f, nil, http.MethodPost, "/v1.0/x?q=1", body, body, ts)
	sig := valid.Header.Get("X-SIGNATURE")
	f.Add(ts, sig, vfyPartner, "123", "Bearer "+vfyToken, "/v1.0/x?q=1")
	f.Add(ts+" ", sig+"=", "", "", "bearer  "+vfyToken, "/v1.0/x?q=1&")
	f.Add("2026-12-01T10:55:00.123456789Z", "00"+sig[2:], "P\x00", "1\n2", "Basic x", "*")
	f.Add("2026-12-01T25:55:00+07:00", strings.Repeat("ab", 64), strings.Repeat("x", 65), "é", "Bearer", "//x")
	v := vfySymmetric()
	v.Replay = fuzzNoReplay{}
	f.Fuzz(func(t *testing.T, ts, sig, partner, externalID, auth, target string) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.RequestURI = target
		r.Header = http.Header{
			"X-Timestamp": {ts}, "X-Signature": {sig}, "X-Partner-Id": {partner},
			"X-External-Id": {externalID}, "Authorization": {auth},
		}
		err := v.Verify(r)
		fuzzRefusal(t, err)
		if err == nil && (ts != valid.Header.Get("X-TIMESTAMP") || !strings.HasSuffix(auth, vfyToken) || target != "/v1.0/x?q=1") {
			t.Fatalf("accepted a signature over other values: %q %q %q", ts, auth, target)
		}
		if got, _ := io.ReadAll(r.Body); err == nil && !bytes.Equal(got, body) {
			t.Fatalf("body reads %q after Verify", got)
		}
	})
}

// FuzzVerifyBody signs arbitrary bodies the way senders do and checks the
// verifier's body handling: a body signed over itself minus whitespace is
// accepted exactly when it is JSON (or blank); one signed over its canonical
// Minify form is accepted too; a byte changed is refused; and the body
// reads whole afterwards.
func FuzzVerifyBody(f *testing.F) {
	for _, b := range vfyBodies() {
		f.Add([]byte(b))
	}
	for _, b := range []string{"", " ", "\n{ }\n", `{"a":`, "\"\xff\"", `[1,2`, "{} {}", `{"a":"x y"}`, "null", `"\u00e9\/"`} {
		f.Add([]byte(b))
	}
	ts := snapauth.Standard.Timestamp(vfyNow)
	v := vfySymmetric()
	v.Replay = fuzzNoReplay{}
	f.Fuzz(func(t *testing.T, body []byte) {
		blank := len(bytes.Trim(body, " \t\r\n")) == 0
		var compact bytes.Buffer
		isJSON := json.Compact(&compact, body) == nil
		if blank {
			compact.Reset()
		}
		req := vfySend(t, nil, http.MethodPost, "/v1.0/x", body, compact.Bytes(), ts)
		r := req.build()
		err := v.Verify(r)
		fuzzRefusal(t, err)
		switch {
		case (isJSON || blank) && err != nil:
			t.Fatalf("body %q signed over %q refused: %v", body, compact.Bytes(), err)
		case !isJSON && !blank && !errors.Is(err, snapauth.ErrInvalidBody):
			t.Fatalf("non-JSON body %q: %v, want ErrInvalidBody", body, err)
		}
		if got, _ := io.ReadAll(r.Body); !bytes.Equal(got, body) {
			t.Fatalf("body reads %q after Verify, want %q", got, body)
		}
		if !isJSON || blank {
			return
		}
		if canonical, err := snapauth.Minify(body); err == nil {
			req := vfySend(t, nil, http.MethodPost, "/v1.0/x", body, canonical, ts)
			if err := v.Verify(req.build()); err != nil {
				t.Fatalf("body %q signed over its Minify form %q refused: %v", body, canonical, err)
			}
		}
		// Change one significant byte (not whitespace): refused.
		for i, c := range compact.Bytes() {
			if c == '"' || c == '\\' {
				continue
			}
			changed := bytes.Clone(compact.Bytes())
			changed[i] ^= 0x01
			if !json.Valid(changed) {
				continue
			}
			bad := req.clone()
			bad.Body = changed
			if err := v.Verify(bad.build()); !errors.Is(err, snapauth.ErrInvalidSignature) {
				if m1, e1 := snapauth.Minify(changed); e1 == nil {
					if m2, e2 := snapauth.Minify(body); e2 == nil && bytes.Equal(m1, m2) {
						break // the same canonical text, such as \u00e9 for \u00E9
					}
				}
				t.Fatalf("body %q changed to %q: %v, want ErrInvalidSignature", body, changed, err)
			}
			break
		}
	})
}
