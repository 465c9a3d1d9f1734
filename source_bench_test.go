package snapauth

import (
	"context"
	"slices"
	"sync"
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

// BenchmarkRenewal measures the stall at renewal. Each iteration is one
// renewal of a token that is due but still valid, whose fetch takes
// renewalLatency, while 16 callers ask for a token every 100 µs each until
// they hold the renewed one. It reports the slowest Token() call of an
// iteration as a fraction of the fetch's latency: slowest/fetch is the
// median over the iterations, worst/fetch the largest. Our cached source
// hands out the still-valid token while it renews; oauth2.ReuseTokenSource,
// in the same run, makes every caller wait for its fetch. Run:
//
//	go test -run '^$' -bench 'Renewal' -benchtime=50x .
func BenchmarkRenewal(b *testing.B) {
	for _, impl := range []string{"ours", "oauth2Reuse"} {
		b.Run("impl="+impl, func(b *testing.B) {
			var slowest []time.Duration
			for b.Loop() {
				slowest = append(slowest, renewalEpisode(b, renewalSource(impl)))
			}
			slices.Sort(slowest)
			b.ReportMetric(float64(slowest[len(slowest)/2])/float64(renewalLatency), "slowest/fetch")
			b.ReportMetric(float64(slowest[len(slowest)-1])/float64(renewalLatency), "worst/fetch")
		})
	}
}

// renewalLatency is the provider's answer time in BenchmarkRenewal.
const renewalLatency = 20 * time.Millisecond

// slowFetch answers "t2" after renewalLatency, like a provider.
func slowFetch(ctx context.Context) (*oauth2.Token, error) {
	answer := time.NewTimer(renewalLatency) // the provider's answer time, not a synchronisation
	defer answer.Stop()
	select {
	case <-answer.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &oauth2.Token{AccessToken: "t2", ExpiresIn: 900, Expiry: time.Now().Add(900 * time.Second)}, nil
}

type slowSource struct{}

func (slowSource) Token() (*oauth2.Token, error) { return slowFetch(context.Background()) }

// renewalSource returns a source holding "t1", due for renewal but valid
// for a while yet, that renews it with slowFetch.
func renewalSource(impl string) oauth2.TokenSource {
	if impl == "oauth2Reuse" {
		// Within oauth2's 10 s expiry margin: the next Token() renews.
		return oauth2.ReuseTokenSource(&oauth2.Token{AccessToken: "t1", Expiry: time.Now().Add(5 * time.Second)}, slowSource{})
	}
	return dueSource(func(ctx context.Context, _ *oauth2.Token, _ string) (*oauth2.Token, error) { return slowFetch(ctx) })
}

// renewalEpisode runs 16 paced callers of src until each holds "t2", and
// returns the slowest Token() call.
func renewalEpisode(b *testing.B, src oauth2.TokenSource) time.Duration {
	var mu sync.Mutex
	var slowest time.Duration
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			pace := time.NewTicker(100 * time.Microsecond) // callers at a steady rate, not spinning on 2 cores
			defer pace.Stop()
			var worst time.Duration
			defer func() { mu.Lock(); slowest = max(slowest, worst); mu.Unlock() }()
			for range 100_000 { // 10 s at the most
				<-pace.C
				t0 := time.Now()
				tok, err := src.Token()
				worst = max(worst, time.Since(t0))
				if err != nil {
					b.Error(err)
					return
				}
				if tok.AccessToken == "t2" {
					return
				}
			}
			b.Error("the renewed token never came")
		})
	}
	wg.Wait()
	return slowest
}
