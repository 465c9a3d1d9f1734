package snapauth

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapauth/snapauth/internal/canonjson"
	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ---------------------------------------------------------------------------
// Tests

func TestTransportSignsPrettyBody(t *testing.T) {
	clock := newStepClock(time.Now(), time.Millisecond)
	p := startFake(t, &fakeProvider{now: time.Now})
	src := newCountingSource("tok-1")
	tr := newTestTransport(src)
	tr.Now = clock.Now

	// Numbers are kept exactly as written (SNAP amounts are strings anyway).
	pretty := prettyPayload(t)
	payload := append(pretty[:len(pretty)-1:len(pretty)-1], []byte(", \"m\": 1.50e+2 }")...)
	body := newCloseCounter(string(payload))
	req, err := http.NewRequest(http.MethodPost, p.URL("/snap/v1.0/transfer-intrabank"), body)
	require.NoError(t, err)
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, 1, body.closes.Load())

	seen := p.requests()
	require.Len(t, seen, 1)
	got := seen[0]
	want, err := canonjson.Reserialize(payload)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got.Body), "the minified bytes are sent")
	assert.Contains(t, string(got.Body), `"note":"<b>Tom & Jerry</b> café Ñandú 日本語 🎉"`)
	assert.Contains(t, string(got.Body), `"n":150,"url":"https://x.example/cb","m":1.50e+2}`)
	assert.Contains(t, string(got.Body), `"path":"a/b\\c","quote":"say \"hi\"","tab":"x\ty\nz"`)
	assert.Equal(t, "Bearer tok-1", got.Header.Get("Authorization"), "token type normalised to Bearer")
	assert.Equal(t, tr.PartnerID, got.Header.Get("X-PARTNER-ID"))
	assert.Equal(t, "95221", got.Header.Get("CHANNEL-ID"))
	assert.Equal(t, "www.merchant.example", got.Header.Get("ORIGIN"))
	assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
	assert.Regexp(t, `^[0-9]{36}$`, got.Header.Get("X-EXTERNAL-ID"))
	assert.Empty(t, got.Header.Get("Authorization-Customer"))
	assert.True(t, strings.HasPrefix(got.StringToSign, "POST:/snap/v1.0/transfer-intrabank:tok-1:"), got.StringToSign)
	calls, _ := src.stats()
	assert.Equal(t, 1, calls)
}

func TestTransportQueryStringsAndEndpointForms(t *testing.T) {
	const path = "/openapi/v1.0/balance-inquiry"
	const query = "b=2&a=z&a=1&q=hello%20world&sym=%2A~%2B"
	for _, tc := range []struct {
		name     string
		provider Provider
		form     EndpointForm
		endpoint string // what the verifier must have derived
	}{
		{"as sent", Standard, EndpointAsSent, path + "?" + query},
		{"sorted (BCA pre-SNAP)", Provider{Name: "bca-pre-snap", EndpointForm: EndpointSortedQuery}, EndpointSortedQuery, path + "?a=1&a=z&b=2&q=hello%20world&sym=%2A~%2B"},
		{"path only", Provider{Name: "payermax", EndpointForm: EndpointPathOnly}, EndpointPathOnly, path},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startFake(t, &fakeProvider{endpoint: tc.form})
			tr := newTestTransport(newCountingSource("tok-q"))
			tr.Provider = tc.provider
			resp, err := (&http.Client{Transport: tr}).Get(p.URL(path + "?" + query))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			seen := p.requests()
			require.Len(t, seen, 1)
			emptySum := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
			assert.Equal(t, "GET:"+tc.endpoint+":tok-q:"+emptySum+":"+seen[0].Header.Get("X-TIMESTAMP"), seen[0].StringToSign)
			assert.Empty(t, seen[0].Header.Get("Content-Type"), "no body, no Content-Type")
		})
	}
}

func TestTransportEmptyBody(t *testing.T) {
	p := startFake(t, &fakeProvider{})
	tr := newTestTransport(newCountingSource("tok-e"))
	for _, tc := range []struct {
		name string
		body io.Reader
	}{
		{"nil", nil},
		{"NoBody", http.NoBody},
		{"empty reader", bytes.NewReader(nil)},
		{"empty unknown-length reader", io.LimitReader(strings.NewReader("x"), 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, p.URL("/v1.0/ping"), tc.body)
			require.NoError(t, err)
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
		})
	}
	for _, s := range p.requests() {
		assert.Empty(t, s.Body)
		assert.Contains(t, s.StringToSign, ":e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855:")
	}
	assert.Len(t, p.requests(), 4)
}

func TestTransportTimestampAndEncodingDeviations(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 89_000_000, time.UTC)
	for _, tc := range []struct {
		provider  Provider
		pattern   *regexp.Regexp
		timestamp string
		hexSig    bool
	}{
		{Standard, standardTimestamp, "2026-03-04T12:06:07+07:00", false},
		{BRI, regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+07:00$`), "2026-03-04T12:06:07.089+07:00", false},
		{DOKU, regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`), "2026-03-04T05:06:07Z", false},
		{Provider{Name: "hex sandbox", Encoding: Hex}, standardTimestamp, "2026-03-04T12:06:07+07:00", true},
	} {
		t.Run(tc.provider.Name, func(t *testing.T) {
			p := startFake(t, &fakeProvider{timestamp: tc.pattern, hexSig: tc.hexSig, now: func() time.Time { return at }})
			tr := newTestTransport(newCountingSource("tok-ts"))
			tr.Provider = tc.provider
			tr.Now = func() time.Time { return at }
			resp, err := (&http.Client{Transport: tr}).Post(p.URL("/v1.0/x"), "application/json", strings.NewReader(`{ "a" : 1 }`))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			seen := p.requests()
			require.Len(t, seen, 1)
			assert.Equal(t, tc.timestamp, seen[0].Header.Get("X-TIMESTAMP"))
			sig := seen[0].Header.Get("X-SIGNATURE")
			if tc.hexSig {
				assert.Regexp(t, `^[0-9a-f]{128}$`, sig)
			} else {
				assert.Len(t, sig, 88)
			}
		})
	}
}

func TestTransportCustomerToken(t *testing.T) {
	p := startFake(t, &fakeProvider{})
	b2b := newCountingSource("tok-b2b")
	customer := newCountingSource("tok-customer")
	tr := newTestTransport(b2b)

	type probe struct{}
	ctx := context.WithValue(context.Background(), probe{}, "request context")
	ctx = WithCustomerToken(ctx, customer)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL("/v1.0/debit/payment-host-to-host"), strings.NewReader(`{"partnerReferenceNo":"1"}`))
	require.NoError(t, err)
	req.Header.Set("X-DEVICE-ID", "device-7")
	req.Header.Set("X-IP-ADDRESS", "203.0.113.9")
	req.Header.Set("X-LATITUDE", "-6.2")
	req.Header.Set("X-LONGITUDE", "106.8")
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	seen := p.requests()
	require.Len(t, seen, 1)
	h := seen[0].Header
	assert.Equal(t, "Bearer tok-b2b", h.Get("Authorization"))
	assert.Equal(t, "Bearer tok-customer", h.Get("Authorization-Customer"))
	assert.Equal(t, "device-7", h.Get("X-DEVICE-ID"))
	assert.Equal(t, "203.0.113.9", h.Get("X-IP-ADDRESS"))
	assert.Equal(t, "-6.2", h.Get("X-LATITUDE"))
	assert.Equal(t, "106.8", h.Get("X-LONGITUDE"))
	// Both sources got the request's context.
	for _, s := range []*countingSource{b2b, customer} {
		s.mu.Lock()
		assert.Equal(t, "request context", s.lastCtx.Value(probe{}))
		s.mu.Unlock()
	}
	assert.Equal(t, context.Background(), WithCustomerToken(context.Background(), nil), "nil source: ctx unchanged")
}

func TestTransportKeepsCallerHeadersAndRequest(t *testing.T) {
	p := startFake(t, &fakeProvider{})
	tr := newTestTransport(newCountingSource("tok-k"))

	body := newCloseCounter(`{ "x" : [1, 2] }`)
	req, err := http.NewRequest(http.MethodPost, p.URL("/v1.0/x?z=1"), body)
	require.NoError(t, err)
	req.Header.Set("X-EXTERNAL-ID", "123456789")
	req.Header.Set("Authorization", "Bearer caller-should-not-win")
	req.Header["X-TIMESTAMP"] = []string{"caller's non-canonical key"}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Add("X-Custom", "a")
	req.Header.Add("X-Custom", "b")
	req.ContentLength = -1

	wantHeader := req.Header.Clone()
	wantURL := req.URL.String()
	wantURLPtr := *req.URL
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The caller's request is untouched.
	assert.Equal(t, wantHeader, req.Header)
	assert.Equal(t, wantURL, req.URL.String())
	assert.Equal(t, wantURLPtr, *req.URL)
	assert.Same(t, body, req.Body)
	assert.Nil(t, req.GetBody)
	assert.EqualValues(t, -1, req.ContentLength)
	assert.Equal(t, http.MethodPost, req.Method)
	assert.EqualValues(t, 1, body.closes.Load())

	seen := p.requests()
	require.Len(t, seen, 1)
	h := seen[0].Header
	assert.Equal(t, "123456789", h.Get("X-EXTERNAL-ID"))
	assert.Equal(t, "Bearer tok-k", h.Get("Authorization"))
	assert.Equal(t, []string{h.Get("X-TIMESTAMP")}, h.Values("X-TIMESTAMP"), "one timestamp, the signed one")
	assert.Equal(t, "application/json; charset=utf-8", h.Get("Content-Type"))
	assert.Equal(t, []string{"a", "b"}, h.Values("X-Custom"))
	assert.Equal(t, `{"x":[1,2]}`, string(seen[0].Body))
}

func TestTransportReplacesNonJSONContentType(t *testing.T) {
	tr := newTestTransport(newCountingSource("tok"))
	base := &recordingBase{}
	tr.Base = base
	resp, err := (&http.Client{Transport: tr}).Post("http://127.0.0.1:1/v1.0/x", "text/plain", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "application/json", base.last.Header.Get("Content-Type"))
	assert.True(t, isJSONMediaType("Application/JSON ; charset=utf-8"))
	assert.False(t, isJSONMediaType("application/jsonp"))
}

func TestTransportConcurrentUse(t *testing.T) {
	p := startFake(t, &fakeProvider{})
	src := newCountingSource("tok-shared")
	client := &http.Client{Transport: newTestTransport(src)}
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf("{\n  \"partnerReferenceNo\": \"%d\",\n  \"note\": \"<%d & %d>\"\n}", i, i, i)
			resp, err := client.Post(p.URL(fmt.Sprintf("/v1.0/x?i=%d", i)), "application/json", strings.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				errs <- fmt.Errorf("request %d: %d %s", i, resp.StatusCode, b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	seen := p.requests()
	require.Len(t, seen, n)
	ids := map[string]bool{}
	for _, s := range seen {
		ids[s.Header.Get("X-EXTERNAL-ID")] = true
	}
	assert.Len(t, ids, n, "every request has its own external id")
	calls, _ := src.stats()
	assert.Equal(t, n, calls)
}

func TestTransportAsymmetricSignature(t *testing.T) {
	key := testkey.RSA(t)
	for _, withToken := range []bool{false, true} {
		t.Run(fmt.Sprintf("token=%v", withToken), func(t *testing.T) {
			p := startFake(t, &fakeProvider{pub: &key.PublicKey, asymmetric: true})
			tr := &Transport{PrivateKey: key, PartnerID: "p", ChannelID: "c"}
			if withToken {
				tr.Source = newCountingSource("tok-a")
			}
			resp, err := (&http.Client{Transport: tr}).Post(p.URL("/v1.0/qr/qr-mpm-generate?x=1"), "application/json",
				strings.NewReader("{\n \"merchantId\": \"M&<1>\"\n}"))
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, 200, resp.StatusCode)
			seen := p.requests()
			require.Len(t, seen, 1)
			if withToken {
				assert.Equal(t, "Bearer tok-a", seen[0].Header.Get("Authorization"))
			} else {
				assert.Empty(t, seen[0].Header.Get("Authorization"))
			}
			sum := sha256.Sum256([]byte(`{"merchantId":"M&<1>"}`))
			assert.Equal(t, "POST:/v1.0/qr/qr-mpm-generate?x=1:"+hex.EncodeToString(sum[:])+":"+seen[0].Header.Get("X-TIMESTAMP"),
				seen[0].StringToSign, "no token segment")
		})
	}
}

func TestTransportFormatRedactsSecrets(t *testing.T) {
	tr := newTestTransport(newCountingSource("tok-secret-value"))
	tr.PrivateKey = testkey.RSA(t)
	for _, s := range []string{fmt.Sprint(tr), fmt.Sprintf("%+v", *tr), fmt.Sprintf("%#v", tr), fmt.Sprintf("%s", tr)} {
		assert.NotContains(t, s, testSecret)
		assert.NotContains(t, s, "tok-secret-value")
		assert.NotContains(t, s, tr.PrivateKey.(*rsa.PrivateKey).D.String()[:20])
		assert.Contains(t, s, "[redacted]")
	}
}
