package snapauth

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"
)

// BenchmarkLoopback sends 1 KiB JSON requests over loopback HTTP/1.1 from
// 1, 8 and 64 concurrent clients to a server that verifies the symmetric
// signature of every request the same way, whatever the mode (it computes
// the HMAC-SHA512 of the string to sign for every request, and compares it
// with the X-SIGNATURE received, if any), so that it does the same work for
// each: a plain http.Client
// (mode=plain), the same client with oauth2.Transport adding a bearer token
// (mode=oauth2), and with snapauth.Transport signing (mode=snapauth). A
// control, mode=oauth2+snapheaders, is oauth2 sending fixed values of the
// five other headers snapauth sends (same lengths, no signing), to show how
// much of the gap between oauth2 and snapauth is the protocol's headers on
// the wire and in both HTTP stacks rather than snapauth's own work. Each
// reports requests/s and the CPU time the process (clients and server) spent
// per request, which a loaded machine disturbs far less than wall time;
// compare the modes within one run:
//
//	go test -run '^$' -bench 'Loopback' -benchmem -count=5 .
func BenchmarkLoopback(b *testing.B) {
	body := benchPrettyBody(b)
	var bad atomic.Int64 // snapauth requests whose signature did not verify
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// The same work whatever the mode: the string to sign and its
		// HMAC-SHA512 are computed for every request, then compared with
		// the X-SIGNATURE received (none in the plain and oauth2 modes).
		access := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		sts, err := ServiceStringToSign(r.Method, r.URL.EscapedPath(), access, got, r.Header.Get("X-Timestamp"))
		want := SignSymmetric(benchSecret, sts)
		sig := r.Header.Get("X-Signature")
		if err == nil && sig != "" && subtle.ConstantTimeCompare([]byte(want), []byte(sig)) != 1 {
			bad.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"responseCode":"2001700","responseMessage":"Successful"}`)
	}))
	defer srv.Close()
	url := srv.URL + "/snap/v1.0/transfer-intrabank"

	for _, clients := range []int{1, 8, 64} {
		for _, mode := range []string{"plain", "oauth2", "oauth2+snapheaders", "snapauth"} {
			b.Run(fmt.Sprintf("clients=%d/mode=%s", clients, mode), func(b *testing.B) {
				base := &http.Transport{MaxIdleConns: 128, MaxIdleConnsPerHost: 128, DisableCompression: true}
				defer base.CloseIdleConnections()
				var rt http.RoundTripper = base
				switch mode {
				case "oauth2":
					rt = &oauth2.Transport{Base: base, Source: oauth2.StaticTokenSource(benchToken)}
				case "oauth2+snapheaders":
					rt = &oauth2.Transport{Base: snapHeaders{base}, Source: oauth2.StaticTokenSource(benchToken)}
				case "snapauth":
					rt = &Transport{Base: base, Source: oauth2.StaticTokenSource(benchToken), ClientSecret: benchSecret,
						PartnerID: "82150823919040624621823174737537", ChannelID: "95221"}
				}
				benchLoopbackClients(b, &http.Client{Transport: rt}, url, body, clients)
				if n := bad.Swap(0); n != 0 {
					b.Fatalf("%d signatures did not verify", n)
				}
			})
		}
	}
}

// benchLoopbackClients runs b.N requests from n goroutines sharing client.
func benchLoopbackClients(b *testing.B, client *http.Client, url string, body []byte, n int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	if cpu := processCPU() - cpu; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/req")
	}
}

// snapHeaders adds fixed values, of the lengths snapauth's have, of the
// headers snapauth sends besides Authorization and Content-Type. The
// signature goes under another name, so that the server does not count it
// as a failed signature.
type snapHeaders struct{ base http.RoundTripper }

func (h snapHeaders) RoundTrip(r *http.Request) (*http.Response, error) {
	r.Header.Set("X-Timestamp", "2026-12-01T20:10:00+07:00")
	r.Header.Set("X-Signaturf", strings.Repeat("A", 86)+"==")
	r.Header.Set("X-Partner-Id", "82150823919040624621823174737537")
	r.Header.Set("X-External-Id", "123456789012345678901234567890123456")
	r.Header.Set("Channel-Id", "95221")
	return h.base.RoundTrip(r)
}
