package snapauth

import (
	"context"
	"testing"
	"time"

	"github.com/snapauth/snapauth/internal/testkey"
	"golang.org/x/oauth2"
)

// benchSources returns our cached B2B source, warmed by one real fetch from
// a signature-checking provider, and oauth2.ReuseTokenSource holding the
// same token over a static source: the two warm paths to compare.
func benchSources(b *testing.B) (ours, reuse oauth2.TokenSource) {
	b.Helper()
	p := newFakeProvider(b, nil, func(fakeRequest) fakeAnswer { return b2bAnswer("bench-token") })
	cfg := &B2BConfig{TokenURL: p.srv.URL + "/v1.0/access-token/b2b", ClientKey: p.clientKey,
		PrivateKey: testkey.RSA(b), HTTPClient: p.srv.Client()}
	ours = cfg.TokenSource(context.Background())
	tok, err := ours.Token()
	if err != nil {
		b.Fatal(err)
	}
	if p.hits.Load() != 1 || time.Until(tok.Expiry) < 10*time.Minute {
		b.Fatalf("warm-up: %d fetches, expiry %v", p.hits.Load(), tok.Expiry)
	}
	reuse = oauth2.ReuseTokenSource(tok, oauth2.StaticTokenSource(tok))
	return ours, reuse
}

// BenchmarkTokenSource compares a warm Token call of our cached source with
// oauth2.ReuseTokenSource, serially and from parallel goroutines. Run:
//
//	go test -run '^$' -bench 'TokenSource' -benchmem -count=5 .
func BenchmarkTokenSource(b *testing.B) {
	ours, reuse := benchSources(b)
	for _, bc := range []struct {
		name string
		src  oauth2.TokenSource
	}{{"ours", ours}, {"oauth2Reuse", reuse}} {
		b.Run(bc.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.src.Token(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := bc.src.Token(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
