// Package storetest is the conformance test of snapauth.TokenStore: every
// store of snapauth runs it, and so should a store of your own.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) snapauth.TokenStore {
//			return mystore.New(...) // empty, private to t
//		})
//	}
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// Run tests the store returned by newStore, which Run calls once per subtest
// and which must return an empty store that no other subtest shares. It
// checks that:
//
//   - every field survives Save and Load: AccessToken, TokenType,
//     RefreshToken (3000 characters, longer than SNAP's 2048), ExpiresIn,
//     Expiry as the same instant to the nanosecond (its zone may differ:
//     compare with time.Time.Equal), and each extra of
//     snapauth.StoredExtras as the same JSON value (a number may come back
//     as json.Number or float64, an object as map[string]any);
//   - a key never saved is snapauth.ErrNoToken (errors.Is), a Save replaces
//     the whole token (no extra or refresh token of the old one survives),
//     keys are independent, and odd keys ("", "/", "..", "../x", spaces,
//     unicode, 1000 characters, braces) work without colliding;
//   - the store holds copies: changing a token after Save or after Load
//     changes nothing stored; Save(nil) is an error, not a panic;
//   - 50 goroutines saving and loading one key see only whole tokens that
//     were saved, never a mix of two (run the tests with -race);
//   - if the store implements snapauth.TokenDeleter: Delete with a nil old
//     removes the token, with old removes it only while the store holds the
//     same access and refresh token, an absent key is no error, other keys
//     are untouched, a deleted key can be saved again, and with a Locker,
//     Delete works while the key's lock is held and the lock still works
//     after it;
//   - if the store implements snapauth.Locker: 20 goroutines incrementing a
//     counter under the lock lose no update and never overlap, a Lock
//     waiting on a held key returns ctx's error promptly when ctx ends, locks
//     of different keys are independent, and unlock may be called twice
//     without releasing a later holder's lock.
func Run(t *testing.T, newStore func(t *testing.T) snapauth.TokenStore) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
	t.Run("MinimalToken", func(t *testing.T) { testMinimal(t, newStore(t)) })
	t.Run("AbsentKey", func(t *testing.T) { testAbsent(t, newStore(t)) })
	t.Run("Overwrite", func(t *testing.T) { testOverwrite(t, newStore(t)) })
	t.Run("IndependentKeys", func(t *testing.T) { testIndependent(t, newStore(t)) })
	t.Run("OddKeys", func(t *testing.T) { testOddKeys(t, newStore(t)) })
	t.Run("Copies", func(t *testing.T) { testCopies(t, newStore(t)) })
	t.Run("SaveNil", func(t *testing.T) { testSaveNil(t, newStore(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newStore(t)) })
	t.Run("Deleter", func(t *testing.T) { runDeleter(t, newStore) })
	t.Run("Locker", func(t *testing.T) {
		s := newStore(t)
		if _, ok := s.(snapauth.Locker); !ok {
			t.Skipf("%T does not implement snapauth.Locker", s)
		}
		t.Run("Exclusion", func(t *testing.T) { testLockExclusion(t, newStore(t).(snapauth.Locker)) })
		t.Run("ContextEnds", func(t *testing.T) { testLockContext(t, newStore(t).(snapauth.Locker)) })
		t.Run("IndependentKeys", func(t *testing.T) { testLockKeys(t, newStore(t).(snapauth.Locker)) })
		t.Run("UnlockTwice", func(t *testing.T) { testUnlockTwice(t, newStore(t).(snapauth.Locker)) })
	})
}

// wait bounds every blocking step of the suite.
const wait = 20 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// fullToken returns a token with every field and every stored extra set,
// with values derived from id.
func fullToken(id string) *oauth2.Token {
	zone := time.FixedZone("WIB", 7*3600)
	exp := time.Date(2031, 4, 5, 6, 7, 8, 123456789, zone)
	t := &oauth2.Token{
		AccessToken:  "access-" + id + "-" + strings.Repeat("A", 2100),
		TokenType:    "Bearer",
		RefreshToken: "refresh-" + id + "-" + strings.Repeat("r", 3000),
		Expiry:       exp,
		ExpiresIn:    900,
	}
	return t.WithExtra(map[string]any{
		"refreshTokenExpiryTime": "2031-05-05T06:07:08+07:00",
		"accessTokenExpiryTime":  exp.Format(time.RFC3339),
		"responseCode":           "2007400",
		"responseMessage":        "Successful " + id,
		snapauth.SequenceExtra:   "1764633600000000007",
		snapauth.RefreshingExtra: "replica-" + id + " 2031-04-05T06:07:08.123456789Z",
		"additionalInfo": map[string]any{
			"id":      id,
			"amount":  json.Number("10000.50"),
			"count":   json.Number("3"),
			"enabled": true,
			"none":    nil,
			"list":    []any{"a", json.Number("1"), map[string]any{"b": "c"}},
			"text":    "<&> \"quoted\" ünïcödé",
		},
	})
}

// requireSameToken asserts that got holds every field of want, as Run
// documents.
func requireSameToken(t *testing.T, want, got *oauth2.Token) {
	t.Helper()
	require.NotNil(t, got)
	require.Equal(t, want.AccessToken, got.AccessToken, "AccessToken")
	require.Equal(t, want.TokenType, got.TokenType, "TokenType")
	require.Equal(t, want.RefreshToken, got.RefreshToken, "RefreshToken")
	require.Equal(t, want.ExpiresIn, got.ExpiresIn, "ExpiresIn")
	require.Equal(t, want.Expiry.IsZero(), got.Expiry.IsZero(), "Expiry.IsZero")
	require.Truef(t, want.Expiry.Equal(got.Expiry), "Expiry: want %s, got %s", want.Expiry, got.Expiry)
	require.Equal(t, want.Expiry.UnixNano(), got.Expiry.UnixNano(), "Expiry to the nanosecond")
	for _, name := range snapauth.StoredExtras {
		w, g := want.Extra(name), got.Extra(name)
		if w == nil {
			require.Nilf(t, g, "extra %q was not saved but was loaded", name)
			continue
		}
		wj, err := json.Marshal(w)
		require.NoError(t, err)
		gj, err := json.Marshal(g)
		require.NoErrorf(t, err, "extra %q", name)
		require.JSONEqf(t, string(wj), string(gj), "extra %q", name)
	}
}

func testRoundTrip(t *testing.T, s snapauth.TokenStore) {
	ctx := testContext(t)
	want := fullToken("round-trip")
	require.NoError(t, s.Save(ctx, "merchant-1", want))
	got, err := s.Load(ctx, "merchant-1")
	require.NoError(t, err)
	requireSameToken(t, want, got)
	require.Equal(t, "refresh-round-trip-"+strings.Repeat("r", 3000), got.RefreshToken)
	// The values as the token sources read them.
	require.Equal(t, "2031-05-05T06:07:08+07:00", got.Extra("refreshTokenExpiryTime"))
	require.Equal(t, "2007400", got.Extra("responseCode"))
	info, ok := got.Extra("additionalInfo").(map[string]any)
	require.Truef(t, ok, "additionalInfo is %T, want map[string]any", got.Extra("additionalInfo"))
	require.Equal(t, "round-trip", info["id"])
	require.Equal(t, true, info["enabled"])
	require.Equal(t, "10000.5", fmt.Sprint(toFloat(t, info["amount"])))
	require.True(t, got.Valid(), "a token expiring in 2031 is valid")
}

func toFloat(t *testing.T, v any) float64 {
	t.Helper()
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		require.NoError(t, err)
		return f
	case float64:
		return n
	}
	t.Fatalf("number came back as %T", v)
	return 0
}

func testMinimal(t *testing.T, s snapauth.TokenStore) {
	ctx := testContext(t)
	want := &oauth2.Token{AccessToken: "only-an-access-token"}
	require.NoError(t, s.Save(ctx, "k", want))
	got, err := s.Load(ctx, "k")
	require.NoError(t, err)
	requireSameToken(t, want, got)
	require.True(t, got.Expiry.IsZero())
	require.Empty(t, got.RefreshToken)

	// A token with only a refresh token (seeded for a refresh) is kept too.
	want = &oauth2.Token{RefreshToken: "only-a-refresh-token", Expiry: time.Unix(1, 0)}
	require.NoError(t, s.Save(ctx, "r", want))
	got, err = s.Load(ctx, "r")
	require.NoError(t, err)
	requireSameToken(t, want, got)
}

func testAbsent(t *testing.T, s snapauth.TokenStore) {
	ctx := testContext(t)
	_, err := s.Load(ctx, "never-saved")
	require.ErrorIs(t, err, snapauth.ErrNoToken)
	require.NoError(t, s.Save(ctx, "other", fullToken("other")))
	tok, err := s.Load(ctx, "never-saved")
	require.ErrorIs(t, err, snapauth.ErrNoToken)
	require.Nil(t, tok)
}

func testOverwrite(t *testing.T, s snapauth.TokenStore) {
	ctx := testContext(t)
	require.NoError(t, s.Save(ctx, "k", fullToken("first")))
	second := &oauth2.Token{AccessToken: "second", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}
	require.NoError(t, s.Save(ctx, "k", second))
	got, err := s.Load(ctx, "k")
	require.NoError(t, err)
	requireSameToken(t, second, got) // no refresh token nor extra of the first survives
	third := fullToken("third")
	require.NoError(t, s.Save(ctx, "k", third))
	got, err = s.Load(ctx, "k")
	require.NoError(t, err)
	requireSameToken(t, third, got)
}

func testIndependent(t *testing.T, s snapauth.TokenStore) {
	ctx := testContext(t)
	a, b := fullToken("a"), fullToken("b")
	require.NoError(t, s.Save(ctx, "a", a))
	require.NoError(t, s.Save(ctx, "b", b))
	got, err := s.Load(ctx, "a")
	require.NoError(t, err)
	requireSameToken(t, a, got)
	got, err = s.Load(ctx, "b")
	require.NoError(t, err)
	requireSameToken(t, b, got)
	a2 := &oauth2.Token{AccessToken: "a2"}
	require.NoError(t, s.Save(ctx, "a", a2))
	got, err = s.Load(ctx, "b")
	require.NoError(t, err)
	requireSameToken(t, b, got)
}

// OddKeys are the keys Run tries, each of which must be stored apart from
// the others.
var OddKeys = []string{
	"", "/", "..", ".", "../x", "../../etc/passwd", "a/b", "a\\b", " spaced key ", "tab\tkey",
	"ключ-🔑-キー", "A", "a", strings.Repeat("k", 1000), strings.Repeat("k", 999) + "l",
	"{", "}", "{tag}", "a}:lock", "%", "%25", "*", "key:lock", "key.json", "key.lock", "-", "~",
}

func testOddKeys(t *testing.T, s snapauth.TokenStore) {
	ctx := testContext(t)
	for i, key := range OddKeys {
		tok := &oauth2.Token{AccessToken: fmt.Sprintf("token-%d", i), RefreshToken: fmt.Sprintf("refresh-%d", i)}
		require.NoErrorf(t, s.Save(ctx, key, tok), "key %q", key)
	}
	for i, key := range OddKeys {
		got, err := s.Load(ctx, key)
		require.NoErrorf(t, err, "key %q", key)
		require.Equalf(t, fmt.Sprintf("token-%d", i), got.AccessToken, "key %q", key)
		require.Equalf(t, fmt.Sprintf("refresh-%d", i), got.RefreshToken, "key %q", key)
	}
	_, err := s.Load(ctx, "x/../a")
	require.ErrorIs(t, err, snapauth.ErrNoToken, "a key is not a path: x/../a is not a")
}

func testCopies(t *testing.T, s snapauth.TokenStore) {
	ctx := testContext(t)
	tok := fullToken("copy")
	require.NoError(t, s.Save(ctx, "k", tok))
	tok.AccessToken = "changed after save"
	tok.Expiry = time.Time{}
	tok.Extra("additionalInfo").(map[string]any)["id"] = "changed after save"

	got, err := s.Load(ctx, "k")
	require.NoError(t, err)
	requireSameToken(t, fullToken("copy"), got)
	got.RefreshToken = "changed after load"
	if info, ok := got.Extra("additionalInfo").(map[string]any); ok {
		info["id"] = "changed after load"
	}
	again, err := s.Load(ctx, "k")
	require.NoError(t, err)
	requireSameToken(t, fullToken("copy"), again)
}

func testSaveNil(t *testing.T, s snapauth.TokenStore) {
	ctx := testContext(t)
	require.Error(t, s.Save(ctx, "k", nil))
	_, err := s.Load(ctx, "k")
	require.ErrorIs(t, err, snapauth.ErrNoToken)
}

// testConcurrent has 50 goroutines save and load one key. Every token saved
// is consistent in itself (all fields derive from one id), so a loaded token
// mixing two saves is detected, as is one that was never saved.
func testConcurrent(t *testing.T, s snapauth.TokenStore) {
	ctx := testContext(t)
	const goroutines, rounds = 50, 10
	consistent := func(tok *oauth2.Token) *oauth2.Token {
		id := strings.TrimPrefix(tok.AccessToken, "at-")
		return (&oauth2.Token{
			AccessToken:  "at-" + id,
			TokenType:    "Bearer",
			RefreshToken: "rt-" + id + strings.Repeat("x", 2500),
			Expiry:       time.Unix(2000000000, int64(len(id))),
			ExpiresIn:    int64(len(id)),
		}).WithExtra(map[string]any{"refreshTokenExpiryTime": "id " + id, "additionalInfo": map[string]any{"id": id}})
	}
	var saved sync.Map
	first := consistent(&oauth2.Token{AccessToken: "at-seed"})
	saved.Store(first.AccessToken, true)
	require.NoError(t, s.Save(ctx, "shared", first))

	var wg sync.WaitGroup
	errs := make(chan error, goroutines*rounds*2)
	for g := range goroutines {
		wg.Go(func() {
			for i := range rounds {
				tok := consistent(&oauth2.Token{AccessToken: fmt.Sprintf("at-%d-%d", g, i)})
				saved.Store(tok.AccessToken, true)
				if err := s.Save(ctx, "shared", tok); err != nil {
					errs <- fmt.Errorf("save: %w", err)
					return
				}
				got, err := s.Load(ctx, "shared")
				if err != nil {
					errs <- fmt.Errorf("load: %w", err)
					return
				}
				if _, ok := saved.Load(got.AccessToken); !ok {
					errs <- fmt.Errorf("loaded a token that was never saved (%d bytes of access token)", len(got.AccessToken))
					return
				}
				want := consistent(got)
				if got.RefreshToken != want.RefreshToken || !got.Expiry.Equal(want.Expiry) || got.ExpiresIn != want.ExpiresIn ||
					got.Extra("refreshTokenExpiryTime") != want.Extra("refreshTokenExpiryTime") {
					errs <- fmt.Errorf("torn read: fields of token %s mixed with another save", got.AccessToken[:min(len(got.AccessToken), 20)])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testLockExclusion(t *testing.T, l snapauth.Locker) {
	ctx := testContext(t)
	const goroutines, rounds = 20, 5
	// The counter is read and written in two atomic steps, so that an
	// overlap loses an update (and inside shows it) without being a data
	// race for the race detector, which cannot see a lock held in another
	// process or server.
	var counter, inside atomic.Int64
	var overlaps atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for range goroutines {
		wg.Go(func() {
			for range rounds {
				unlock, err := l.Lock(ctx, "counter")
				if err != nil {
					errs <- err
					return
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				v := counter.Load()
				runtime.Gosched() // widen the window an overlap would need
				counter.Store(v + 1)
				inside.Add(-1)
				unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	require.Zero(t, overlaps.Load(), "holders overlapped")
	require.Equal(t, int64(goroutines*rounds), counter.Load(), "updates lost")
}

func testLockContext(t *testing.T, l snapauth.Locker) {
	ctx := testContext(t)
	unlock, err := l.Lock(ctx, "held")
	require.NoError(t, err)
	defer unlock()

	const timeout = 200 * time.Millisecond
	short, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	u2, err := l.Lock(short, "held")
	elapsed := time.Since(start)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Nil(t, u2)
	require.GreaterOrEqual(t, elapsed, timeout-10*time.Millisecond, "gave up before ctx ended")
	require.Less(t, elapsed, timeout+2*time.Second, "kept waiting after ctx ended")

	canceled, cancelNow := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := l.Lock(canceled, "held")
		done <- err
	}()
	cancelNow()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("Lock did not return after its context was canceled")
	}

	// A context that has already ended never takes even a free lock.
	_, err = l.Lock(canceled, "free")
	require.ErrorIs(t, err, context.Canceled)

	// The waiters that gave up leave the lock usable.
	unlock()
	u3, err := l.Lock(ctx, "held")
	require.NoError(t, err)
	u3()
}

func testLockKeys(t *testing.T, l snapauth.Locker) {
	ctx := testContext(t)
	unlock, err := l.Lock(ctx, "one")
	require.NoError(t, err)
	defer unlock()
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, key := range []string{"two", "", "one/..", "ONE"} {
		u, err := l.Lock(short, key)
		require.NoErrorf(t, err, "key %q is blocked by key \"one\"", key)
		u()
	}
}

func testUnlockTwice(t *testing.T, l snapauth.Locker) {
	ctx := testContext(t)
	unlockA, err := l.Lock(ctx, "k")
	require.NoError(t, err)
	unlockA()
	unlockA() // safe, and must not release B's lock below

	unlockB, err := l.Lock(ctx, "k")
	require.NoError(t, err)
	unlockA()
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = l.Lock(short, "k")
	require.Truef(t, errors.Is(err, context.DeadlineExceeded), "a second unlock of A released B's lock (err %v)", err)
	unlockB()
	unlockB()
	u, err := l.Lock(ctx, "k")
	require.NoError(t, err)
	u()
}
