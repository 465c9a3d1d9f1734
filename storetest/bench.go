package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"golang.org/x/oauth2"
)

// Benchmark measures the store returned by newStore (called once per
// sub-benchmark, an empty store private to it) with a customer token of a
// SNAP provider's size: a 1 KiB access token, a refresh token and the
// stored extras. Its sub-benchmarks are the same for every store, so their
// figures compare:
//
//   - Load: a Load of a stored token;
//   - Save: a Save replacing it;
//   - LockRefreshSave: the store's share of one renewal by a token source:
//     Lock, Load under the lock, Save of the new token, unlock (the
//     provider's round trip left out). A store that is not a
//     snapauth.Locker is skipped.
func Benchmark(b *testing.B, newStore func(b *testing.B) snapauth.TokenStore) {
	const key = "customer-42"
	ctx := context.Background()
	seeded := func(b *testing.B) snapauth.TokenStore {
		s := newStore(b)
		if err := s.Save(ctx, key, benchToken(0)); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		return s
	}
	b.Run("Load", func(b *testing.B) {
		s := seeded(b)
		for b.Loop() {
			if _, err := s.Load(ctx, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Save", func(b *testing.B) {
		s := seeded(b)
		tok := benchToken(1)
		for b.Loop() {
			if err := s.Save(ctx, key, tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LockRefreshSave", func(b *testing.B) {
		s := seeded(b)
		l, ok := s.(snapauth.Locker)
		if !ok {
			b.Skipf("%T does not implement snapauth.Locker", s)
		}
		i := 0
		for b.Loop() {
			unlock, err := l.Lock(ctx, key)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.Load(ctx, key); err != nil {
				b.Fatal(err)
			}
			i++
			if err := s.Save(ctx, key, benchToken(i)); err != nil {
				b.Fatal(err)
			}
			unlock()
		}
	})
}

func benchToken(i int) *oauth2.Token {
	return (&oauth2.Token{
		AccessToken:  strings.Repeat("a", 1024),
		TokenType:    "Bearer",
		RefreshToken: strings.Repeat("r", 64),
		Expiry:       time.Now().Add(15 * time.Minute),
		ExpiresIn:    int64(900 + i%2),
	}).WithExtra(map[string]any{
		"refreshTokenExpiryTime": "2026-12-22T09:00:00+07:00",
		"responseCode":           "2007400",
		"responseMessage":        "Successful",
	})
}
