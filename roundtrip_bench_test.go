package snapauth

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/snapauth/snapauth/internal/testkey"
	"golang.org/x/oauth2"
)

// BenchmarkRoundTrip measures one signed request through Transport on a
// no-op base beside the strict floor of the same request, body size by body
// size, so that benchstat can print each as a ratio in one run:
//
//	go test -run '^$' -bench 'RoundTrip' -benchmem -count=5 .
//
// body=0B is a bodiless GET; every other size is a pretty-printed POST. The
// strict floor is the work no signer can skip, each step done the cheapest
// way the standard library offers: json.Compact into a reused buffer (the
// one validating minifier it has), SHA-256 of the compact body, hex, a
// pre-keyed HMAC-SHA512 reused with Reset over a reused string-to-sign
// buffer, and base64 into a fixed array.
func BenchmarkRoundTrip(b *testing.B) {
	for _, size := range benchBodySizes {
		name := "body=" + benchSizeName(size)
		b.Run(name+"/impl=strict-floor", func(b *testing.B) { benchStrictFloor(b, benchBodyOfSize(b, size)) })
		b.Run(name+"/impl=snapauth", func(b *testing.B) { benchTransport(b, benchBodyOfSize(b, size), nil) })
	}
}

// benchBodySizes are the body sizes of BENCHMARKS.md's table; 1 KiB is the
// transfer body of benchPrettyBody.
var benchBodySizes = []int{0, 1 << 10, 16 << 10, 256 << 10, 1 << 20, 4 << 20, 32 << 20}

func benchSizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// benchBodyOfSize returns a pretty-printed JSON body of about n bytes: none
// for 0, the 1 KiB transfer body for 1 KiB, and for more an array of copies
// of it.
func benchBodyOfSize(tb testing.TB, n int) []byte {
	one := benchPrettyBody(tb)
	if n == 0 {
		return nil
	}
	if n <= len(one) {
		return one
	}
	out := make([]byte, 0, n+len(one)+8)
	out = append(out, "[\n"...)
	for len(out) < n-len(one) {
		if len(out) > 2 {
			out = append(out, ",\n"...)
		}
		out = append(out, one...)
	}
	out = append(out, "\n]"...)
	if !json.Valid(out) {
		tb.Fatal("benchmark body is not valid JSON")
	}
	return out
}

// benchTransport measures RoundTrip of tr, given the benchmark's base,
// partner and channel; nil means a symmetric transport.
func benchTransport(b *testing.B, body []byte, tr *Transport) {
	if tr == nil {
		tr = &Transport{Source: oauth2.StaticTokenSource(benchToken), ClientSecret: benchSecret}
	}
	tr.Base = noopBase{&http.Response{StatusCode: 200, Body: http.NoBody}}
	tr.PartnerID, tr.ChannelID = "82150823919040624621823174737537", "95221"
	benchAllowBody(tr, len(body))
	req, rb := newBenchRequest(b, body)
	if body == nil {
		req.Method, req.Body, req.ContentLength = http.MethodGet, nil, 0
		req.Header.Del("Content-Type")
	}
	// One request before the timed loop, so that a large body's first
	// page faults and the pools' first fills are not in the figures.
	if resp, err := tr.RoundTrip(req); err != nil || resp.StatusCode != 200 {
		b.Fatal(err)
	}
	defer measure(b, len(body))()
	for b.Loop() {
		rb.Reset(body)
		resp, err := tr.RoundTrip(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err)
		}
	}
}

// measure sets the benchmark's bytes per op and allocation report, and
// returns the function, to defer, that reports CPU time per op.
func measure(b *testing.B, bytes int) func() {
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	cpu := processCPU()
	return func() { reportCPU(b, cpu) }
}

// reportCPU reports the process's CPU time per iteration since cpu, a
// figure that other load on a shared machine disturbs less than ns/op.
func reportCPU(b *testing.B, cpu time.Duration) {
	if d := processCPU() - cpu; d > 0 && cpu > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

const benchSecret = "client-secret-of-64-bytes-0123456789abcdef0123456789abcdef012345"

func benchStrictFloor(b *testing.B, body []byte) {
	const endpoint = "/snap/v1.0/transfer-intrabank"
	method := http.MethodPost
	if body == nil {
		method = http.MethodGet
	}
	ts := Standard.Timestamp(time.Now())
	mac := hmac.New(sha512.New, []byte(benchSecret))
	var compact bytes.Buffer
	var sts []byte
	var sum [sha512.Size]byte
	var sig [88]byte
	compactHash(b, &compact, body) // warm the buffer, as benchTransport warms up
	defer measure(b, len(body))()
	for b.Loop() {
		h := compactHash(b, &compact, body)
		sts = append(sts[:0], method...)
		sts = append(sts, ':')
		sts = append(sts, endpoint...)
		sts = append(sts, ':')
		sts = append(sts, benchToken.AccessToken...)
		sts = append(sts, ':')
		sts = hex.AppendEncode(sts, h[:])
		sts = append(sts, ':')
		sts = append(sts, ts...)
		mac.Reset()
		mac.Write(sts)
		base64.StdEncoding.Encode(sig[:], mac.Sum(sum[:0]))
	}
}

// compactHash is the floor's minify and hash: json.Compact of body into
// the reused buffer, and the SHA-256 of the result.
func compactHash(b *testing.B, compact *bytes.Buffer, body []byte) [sha256.Size]byte {
	compact.Reset()
	if len(body) > 0 {
		if err := json.Compact(compact, body); err != nil {
			b.Fatal(err)
		}
	}
	return sha256.Sum256(compact.Bytes())
}

// benchAllowBody lets tr send a body of n bytes.
func benchAllowBody(tr *Transport, n int) {
	if int64(n) > tr.maxBodySize() {
		tr.MaxBodySize = int64(n)
	}
}

// BenchmarkRoundTripRSA is the asymmetric path (SHA256withRSA "without
// token", 2048-bit key) beside its floor: the strict floor's minify and
// hash, then rsa.SignPKCS1v15 of the string to sign and base64.
func BenchmarkRoundTripRSA(b *testing.B) {
	key := testkey.RSA(b)
	body := benchPrettyBody(b)
	b.Run("body=1KiB/impl=strict-floor", func(b *testing.B) {
		const endpoint = "/snap/v1.0/transfer-intrabank"
		ts := Standard.Timestamp(time.Now())
		var compact bytes.Buffer
		var sts []byte
		var sig [512]byte
		defer measure(b, len(body))()
		for b.Loop() {
			h := compactHash(b, &compact, body)
			sts = append(append(append(sts[:0], "POST:"...), endpoint...), ':')
			sts = hex.AppendEncode(sts, h[:])
			sts = append(append(sts, ':'), ts...)
			sum := sha256.Sum256(sts)
			raw, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
			if err != nil {
				b.Fatal(err)
			}
			base64.StdEncoding.Encode(sig[:], raw)
		}
	})
	b.Run("body=1KiB/impl=snapauth", func(b *testing.B) {
		benchTransport(b, body, &Transport{PrivateKey: key})
	})
}
