package snapauth_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/snapauth/snapauth"
)

// Benchmarks of Verify on a 1 KiB body beside the floor, the hashing no
// verifier can skip:
//
//	go test -run '^$' -bench 'Verify' -benchmem -count=5 .

// benchVerifyBody is a compact SNAP body of 1 KiB, with Go's HTML escapes, as
// a Go sender puts it on the wire.
func benchVerifyBody(tb testing.TB) []byte {
	v := map[string]any{
		"partnerServiceId":   "   12345",
		"customerNo":         "0812345678",
		"virtualAccountNo":   "   123450812345678",
		"virtualAccountName": "Jokul Doe <VIP> & family",
		"trxId":              "abcdefgh1234",
		"paidAmount":         map[string]string{"value": "10000.00", "currency": "IDR"},
		"additionalInfo":     map[string]string{"deviceId": "12345679237", "channel": "mobilephone", "note": "Pembayaran café Ñ 日本"},
	}
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	b = append(b[:len(b)-1], []byte(`,"pad":"`+strings.Repeat("x", 1024-len(b)-9)+`"}`)...)
	if len(b) != 1024 || !json.Valid(b) {
		tb.Fatalf("body of %d bytes", len(b))
	}
	return b
}

func BenchmarkVerify(b *testing.B) {
	body := benchVerifyBody(b)
	ts := snapauth.Standard.Timestamp(vfyNow)
	const target = "/v1.0/transfer-va/payment"

	b.Run("symmetric", func(b *testing.B) {
		v := vfySymmetric()
		req := vfySend(b, nil, http.MethodPost, target, body, body, ts)
		r := httptest.NewRequest(http.MethodPost, target, nil)
		r.Header = req.Header
		ids := r.Header["X-External-Id"]
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ids[0] = strconv.Itoa(i) // a fresh external id: no replay
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			if err := v.Verify(r); err != nil {
				b.Fatal(err)
			}
		}
	})

	// The floor as the issue states it: SHA-256 and HMAC-SHA512 of the same
	// 1 KiB, and the base64 of the MAC to compare.
	b.Run("floor-body", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			sum := sha256.Sum256(body)
			m := hmac.New(sha512.New, []byte(vfySecret))
			m.Write(body)
			m.Write(sum[:1])
			_ = base64.StdEncoding.EncodeToString(m.Sum(nil))
		}
	})

	// The strict floor: SHA-256 of the body and HMAC-SHA512 of the string to
	// sign (about 190 bytes), exactly the cryptography of a verification.
	b.Run("floor-crypto", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			sum := sha256.Sum256(body)
			sts := "POST:" + target + ":" + vfyToken + ":" + hex.EncodeToString(sum[:]) + ":" + ts
			m := hmac.New(sha512.New, []byte(vfySecret))
			m.Write([]byte(sts))
			_ = base64.StdEncoding.EncodeToString(m.Sum(nil))
		}
	})
}
