package snapauth_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"golang.org/x/oauth2"
)

// synthStore makes up a fresh customer token for any key and keeps
// nothing, so that memory measured is the cache's, not the store's. Its
// tokens are as long as snaptest's: 43-character access and refresh tokens.
type synthStore struct{ expiry time.Time }

func (s synthStore) Load(_ context.Context, key string) (*oauth2.Token, error) {
	pad := strings.Repeat("x", max(0, 40-len(key)))
	return &oauth2.Token{AccessToken: "at-" + key + pad, RefreshToken: "rt-" + key + pad, TokenType: "Bearer", Expiry: s.expiry}, nil
}

func (synthStore) Save(context.Context, string, *oauth2.Token) error { return nil }

// benchConfig is a B2B2C config that the benchmarks never make send a
// request: every token they meet is fresh.
var benchConfig = &snapauth.B2B2CConfig{TokenURL: "http://127.0.0.1:1/v1.0/access-token/b2b2c", ClientKey: "bench"}

func customerKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("customer:%07d", i)
	}
	return keys
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkCustomersWarmParallel compares the lookup of a warm customer's
// token through Customers with the hand-written alternative, a sync.Map of
// StoredTokenSource sources, from parallel goroutines over 1,000 customers.
// Run:
//
//	go test -run '^$' -bench 'CustomersWarm' -benchmem -count=5 .
func BenchmarkCustomersWarmParallel(b *testing.B) {
	ctx := context.Background()
	store := synthStore{expiry: time.Now().Add(time.Hour)}
	keys := customerKeys(1000)
	customers := &snapauth.Customers{Config: benchConfig, Store: store}
	var sources sync.Map
	for _, k := range keys {
		if _, err := customers.Token(ctx, k); err != nil {
			b.Fatal(err)
		}
		src := benchConfig.StoredTokenSource(ctx, store, k)
		if _, err := src.Token(); err != nil {
			b.Fatal(err)
		}
		sources.Store(k, src)
	}
	b.Run("Customers", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := customers.Token(ctx, keys[i%len(keys)]); err != nil {
					b.Error(err)
					return
				}
				i += 7
			}
		})
	})
	b.Run("syncMapOfSources", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				v, _ := sources.Load(keys[i%len(keys)])
				if _, err := v.(snapauth.ContextTokenSource).TokenContext(ctx); err != nil {
					b.Error(err)
					return
				}
				i += 7
			}
		})
	})
}

// BenchmarkCustomersCold measures a customer's first lookup (one store read)
// and reports the heap each cached customer holds (heap-B/customer), beside
// the hand-written alternative (a sync.Map of StoredTokenSource sources, each
// with its renewal timer).
func BenchmarkCustomersCold(b *testing.B) {
	ctx := context.Background()
	store := synthStore{expiry: time.Now().Add(time.Hour)}
	b.Run("Customers", func(b *testing.B) {
		keys := customerKeys(b.N)
		customers := &snapauth.Customers{Config: benchConfig, Store: store, MaxCached: b.N + 1}
		before := liveHeap()
		b.ReportAllocs()
		b.ResetTimer()
		for _, k := range keys {
			if _, err := customers.Token(ctx, k); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(liveHeap()-before)/float64(b.N), "heap-B/customer")
		runtime.KeepAlive(customers)
	})
	b.Run("syncMapOfSources", func(b *testing.B) {
		keys := customerKeys(b.N)
		var sources sync.Map
		before := liveHeap()
		b.ReportAllocs()
		b.ResetTimer()
		for _, k := range keys {
			src := benchConfig.StoredTokenSource(ctx, store, k)
			if _, err := src.Token(); err != nil {
				b.Fatal(err)
			}
			sources.Store(k, src)
		}
		b.StopTimer()
		b.ReportMetric(float64(liveHeap()-before)/float64(b.N), "heap-B/customer")
		runtime.KeepAlive(&sources)
	})
}

// TestCustomersHeapBounded passes distinct customers (1,000,000; 50,000
// under -short or -race) through a Customers bounded at 10,000: the live
// heap stays what 10,000 customers need and the goroutine count stays put.
func TestCustomersHeapBounded(t *testing.T) {
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 50_000
	}
	const bound, every = 10_000, 10_000
	ctx := context.Background()
	customers := &snapauth.Customers{Config: benchConfig, Store: synthStore{expiry: time.Now().Add(time.Hour)}, MaxCached: bound}
	base := liveHeap()
	goroutines := runtime.NumGoroutine()
	var full, peak uint64
	maxG := 0
	for i := range n {
		if _, err := customers.Token(ctx, fmt.Sprintf("customer:%07d", i)); err != nil {
			t.Fatal(err)
		}
		if (i+1)%every != 0 {
			continue
		}
		h := liveHeap() - base
		if i+1 == bound {
			full = h
		}
		peak = max(peak, h)
		maxG = max(maxG, runtime.NumGoroutine())
	}
	if got := customers.Cached(); got != bound {
		t.Fatalf("%d customers cached, want the bound %d", got, bound)
	}
	t.Logf("%d customers through a cache of %d: live heap %.1f MiB when full, peak %.1f MiB; goroutines %d before, at most %d during",
		n, bound, float64(full)/(1<<20), float64(peak)/(1<<20), goroutines, maxG)
	if peak > full*3/2+1<<20 {
		t.Errorf("live heap grew from %d to %d bytes: not bounded", full, peak)
	}
	// A fetch goroutine may still be on its way out after its answer.
	if maxG > goroutines+2 {
		t.Errorf("goroutines grew from %d to %d", goroutines, maxG)
	}
}
