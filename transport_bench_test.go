package snapauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// Benchmarks of the signing transport beside the bare work it cannot avoid
// (the floor) and beside oauth2.Transport on the same no-op base:
//
//	go test -run '^$' -bench 'Transport|Floor' -benchmem -count=5 .

// benchPrettyBody is a pretty-printed SNAP transfer body of about 1 KiB.
func benchPrettyBody(tb testing.TB) []byte {
	v := map[string]any{
		"partnerReferenceNo":     "2020102900000000000001",
		"amount":                 map[string]string{"value": "12345678.00", "currency": "IDR"},
		"beneficiaryAccountNo":   "888801000157508",
		"beneficiaryEmail":       "yories.yolanda@work.bri.co.id",
		"currency":               "IDR",
		"customerReference":      "10052019",
		"feeType":                "BEN",
		"remark":                 "remark test <urgent> & important",
		"sourceAccountNo":        "888801000157508",
		"transactionDate":        "2019-07-03T12:08:56+07:00",
		"originatorInfos":        []map[string]string{{"originatorCustomerNo": "999901000157508", "originatorCustomerName": "Alice Wijaya", "originatorBankCode": "002"}},
		"additionalInfo":         map[string]string{"deviceId": "12345679237", "channel": "mobilephone", "note": "Pembayaran café Ñ 日本"},
		"beneficiaryAddress":     "Palembang, Sumatera Selatan",
		"beneficiaryBankCode":    "002",
		"beneficiaryBankName":    "Bank BRI",
		"beneficiaryCustomerRef": "INV/2024/0001/XYZ",
	}
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		tb.Fatal(err)
	}
	for len(b) < 1024 { // pad to 1 KiB with a pretty-printed field
		b = append(b[:len(b)-2], []byte(",\n    \"pad\": \""+strings.Repeat("x", 1024-len(b))+"\"\n}")...)
	}
	return b
}

// noopBase answers every request with the same canned response.
type noopBase struct{ resp *http.Response }

func (n noopBase) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return n.resp, nil
}

// reusableBody is a request body that can be rewound without allocating, so
// that the benchmark loop measures the transport, not the body's setup.
type reusableBody struct{ bytes.Reader }

func (*reusableBody) Close() error { return nil }

func newBenchRequest(tb testing.TB, body []byte) (*http.Request, *reusableBody) {
	rb := &reusableBody{}
	rb.Reset(body)
	req, err := http.NewRequest(http.MethodPost, "https://api.bank.example/snap/v1.0/transfer-intrabank", rb)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = int64(len(body)) // as http.NewRequest sets it for a *bytes.Reader
	return req, rb
}

// benchRoundTrips sends the same request with body through tr for the whole
// benchmark, rewinding the body each time, and requires a 200 each time.
func benchRoundTrips(b *testing.B, tr http.RoundTripper, body []byte) {
	req, rb := newBenchRequest(b, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rb.Reset(body)
		resp, err := tr.RoundTrip(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err)
		}
	}
}

var benchToken = &oauth2.Token{AccessToken: strings.Repeat("gp9HjjEj813Y9JGoqwOeOPWbnt4CUpvIJbU1mMU4a11MNDZ7Sg5u9a", 2), TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}

func BenchmarkTransport(b *testing.B) {
	body := benchPrettyBody(b)
	tr := &Transport{
		Base:         noopBase{&http.Response{StatusCode: 200, Body: http.NoBody}},
		Source:       oauth2.StaticTokenSource(benchToken),
		ClientSecret: "client-secret-of-64-bytes-0123456789abcdef0123456789abcdef012345",
		PartnerID:    "82150823919040624621823174737537",
		ChannelID:    "95221",
	}
	benchRoundTrips(b, tr, body)
}

// BenchmarkSigningFloor is the work no signer can skip: minify the body, hash
// it, HMAC the string to sign and encode the signature.
func BenchmarkSigningFloor(b *testing.B) {
	body := benchPrettyBody(b)
	secret := []byte("client-secret-of-64-bytes-0123456789abcdef0123456789abcdef012345")
	const endpoint = "/snap/v1.0/transfer-intrabank"
	ts := Standard.Timestamp(time.Now())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		min, err := Minify(body)
		if err != nil {
			b.Fatal(err)
		}
		sum := sha256.Sum256(min)
		sts := "POST:" + endpoint + ":" + benchToken.AccessToken + ":" + hex.EncodeToString(sum[:]) + ":" + ts
		mac := hmac.New(sha512.New, secret)
		mac.Write([]byte(sts))
		if len(base64.StdEncoding.EncodeToString(mac.Sum(nil))) != 88 {
			b.Fatal("bad signature length")
		}
	}
}

func BenchmarkOAuth2Transport(b *testing.B) {
	body := benchPrettyBody(b)
	tr := &oauth2.Transport{
		Base:   noopBase{&http.Response{StatusCode: 200, Body: http.NoBody}},
		Source: oauth2.StaticTokenSource(benchToken),
	}
	benchRoundTrips(b, tr, body)
}

func TestBenchPrettyBodyIsOneKiB(t *testing.T) {
	body := benchPrettyBody(t)
	if len(body) < 1024 || len(body) > 1100 || !json.Valid(body) || !bytes.Contains(body, []byte("\n    ")) {
		t.Fatalf("benchmark body: %d bytes, valid %v", len(body), json.Valid(body))
	}
	t.Logf("benchmark body: %d bytes", len(body))
}
