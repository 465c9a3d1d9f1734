// Package storetest is the conformance test of snapauth.TokenStore (Run)
// and of snapauth.ReplayStore (RunReplay): every store of snapauth runs
// them, and so should a store of your own.
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
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"golang.org/x/oauth2"
)

// Run tests the store returned by newStore, which Run calls once per subtest
// and which must return an empty store that no other subtest shares. It
// checks that:
//
//   - every field survives Save and Load: AccessToken, TokenType,
//     RefreshToken (3000 characters, longer than SNAP's 2048), ExpiresIn,
//     Expiry as the same instant to the nanosecond (its zone may differ:
//     compare with time.Time.Equal), and each extra
//     snapauth.MarshalToken keeps (refreshTokenExpiryTime,
//     accessTokenExpiryTime, responseCode, responseMessage, additionalInfo,
//     snapauth.SequenceExtra, snapauth.RefreshingExtra) as the same JSON value (a number may come back
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

func testRoundTrip(t *testing.T, s snapauth.TokenStore) {
	ctx := testContext(t)
	want := fullToken("round-trip")
	noError(t, s.Save(ctx, "merchant-1", want), "Save(%q)", "merchant-1")
	got := requireLoads(t, ctx, s, "merchant-1", want, "")
	sameSecret(t, "merchant-1", "RefreshToken", "refresh-round-trip-"+strings.Repeat("r", 3000), got.RefreshToken)
	// The values as the token sources read them.
	sameValue(t, "merchant-1", "extra refreshTokenExpiryTime", "2031-05-05T06:07:08+07:00", got.Extra("refreshTokenExpiryTime"))
	sameValue(t, "merchant-1", "extra responseCode", "2007400", got.Extra("responseCode"))
	info, ok := got.Extra("additionalInfo").(map[string]any)
	if !ok {
		t.Fatalf("Load(%q): additionalInfo is %T, want map[string]any", "merchant-1", got.Extra("additionalInfo"))
	}
	sameValue(t, "merchant-1", "additionalInfo.id", "round-trip", info["id"])
	sameValue(t, "merchant-1", "additionalInfo.enabled", true, info["enabled"])
	if amount := fmt.Sprint(toFloat(t, info["amount"])); amount != "10000.5" {
		t.Fatalf("Load(%q): additionalInfo.amount is %s, want 10000.5", "merchant-1", amount)
	}
	if !got.Valid() {
		t.Fatalf("Load(%q): a token expiring in 2031 is not Valid", "merchant-1")
	}
}

func toFloat(t *testing.T, v any) float64 {
	t.Helper()
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		noError(t, err, "json.Number %q", n.String())
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
	noError(t, s.Save(ctx, "k", want), "Save(%q)", "k")
	got := requireLoads(t, ctx, s, "k", want, "")
	if !got.Expiry.IsZero() {
		t.Fatalf("Load(%q): Expiry %s, want the zero time", "k", got.Expiry)
	}
	if got.RefreshToken != "" {
		t.Fatalf("Load(%q): a refresh token (%d bytes) where none was saved", "k", len(got.RefreshToken))
	}

	// A token with only a refresh token (seeded for a refresh) is kept too.
	want = &oauth2.Token{RefreshToken: "only-a-refresh-token", Expiry: time.Unix(1, 0)}
	noError(t, s.Save(ctx, "r", want), "Save(%q)", "r")
	requireLoads(t, ctx, s, "r", want, "")
}

func testAbsent(t *testing.T, s snapauth.TokenStore) {
	ctx := testContext(t)
	_, err := s.Load(ctx, "never-saved")
	isError(t, err, snapauth.ErrNoToken, "Load(%q) of an empty store", "never-saved")
	noError(t, s.Save(ctx, "other", fullToken("other")), "Save(%q)", "other")
	tok, err := s.Load(ctx, "never-saved")
	isError(t, err, snapauth.ErrNoToken, "Load(%q) after a Save of another key", "never-saved")
	if tok != nil {
		t.Fatalf("Load(%q) returned a token with snapauth.ErrNoToken, want nil", "never-saved")
	}
}

func testOverwrite(t *testing.T, s snapauth.TokenStore) {
	ctx := testContext(t)
	noError(t, s.Save(ctx, "k", fullToken("first")), "Save(%q) of the first token", "k")
	second := &oauth2.Token{AccessToken: "second", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}
	noError(t, s.Save(ctx, "k", second), "Save(%q) of the second token", "k")
	requireLoads(t, ctx, s, "k", second, "") // no refresh token nor extra of the first survives
	third := fullToken("third")
	noError(t, s.Save(ctx, "k", third), "Save(%q) of the third token", "k")
	requireLoads(t, ctx, s, "k", third, "")
}

func testIndependent(t *testing.T, s snapauth.TokenStore) {
	ctx := testContext(t)
	a, b := fullToken("a"), fullToken("b")
	noError(t, s.Save(ctx, "a", a), "Save(%q)", "a")
	noError(t, s.Save(ctx, "b", b), "Save(%q)", "b")
	requireLoads(t, ctx, s, "a", a, "")
	requireLoads(t, ctx, s, "b", b, "")
	a2 := &oauth2.Token{AccessToken: "a2"}
	noError(t, s.Save(ctx, "a", a2), "Save(%q) of a second token", "a")
	requireLoads(t, ctx, s, "b", b, ` after a Save of key "a"`)
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
		noError(t, s.Save(ctx, key, tok), "Save(%q)", key)
	}
	// whose names the key whose token a wrong load returned, if any.
	whose := func(access string) string {
		for j, other := range OddKeys {
			if access == fmt.Sprintf("token-%d", j) {
				return fmt.Sprintf("the token saved under %q", other)
			}
		}
		return "a token never saved"
	}
	for i, key := range OddKeys {
		got, err := s.Load(ctx, key)
		noError(t, err, "Load(%q)", key)
		if got == nil {
			t.Fatalf("Load(%q) returned a nil token and no error", key)
		}
		if got.AccessToken != fmt.Sprintf("token-%d", i) {
			t.Fatalf("Load(%q): access token is %s, want the one saved under this key", key, whose(got.AccessToken))
		}
		if got.RefreshToken != fmt.Sprintf("refresh-%d", i) {
			t.Fatalf("Load(%q): refresh token is not the one saved under this key", key)
		}
	}
	_, err := s.Load(ctx, "x/../a")
	isError(t, err, snapauth.ErrNoToken, "Load(%q): a key is not a path: x/../a is not a", "x/../a")
}

func testCopies(t *testing.T, s snapauth.TokenStore) {
	ctx := testContext(t)
	tok := fullToken("copy")
	noError(t, s.Save(ctx, "k", tok), "Save(%q)", "k")
	tok.AccessToken = "changed after save"
	tok.Expiry = time.Time{}
	tok.Extra("additionalInfo").(map[string]any)["id"] = "changed after save"

	got, err := s.Load(ctx, "k")
	noError(t, err, "Load(%q)", "k")
	requireSameToken(t, "k", fullToken("copy"), got) // a change after Save changed nothing stored
	got.RefreshToken = "changed after load"
	if info, ok := got.Extra("additionalInfo").(map[string]any); ok {
		info["id"] = "changed after load"
	}
	again, err := s.Load(ctx, "k")
	noError(t, err, "Load(%q) again", "k")
	requireSameToken(t, "k", fullToken("copy"), again) // nor a change after Load
}

func testSaveNil(t *testing.T, s snapauth.TokenStore) {
	ctx := testContext(t)
	if err := s.Save(ctx, "k", nil); err == nil {
		t.Fatalf("Save(%q, nil) returned no error", "k")
	}
	_, err := s.Load(ctx, "k")
	isError(t, err, snapauth.ErrNoToken, "Load(%q) after Save(nil)", "k")
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
	noError(t, s.Save(ctx, "shared", first), "Save(%q)", "shared")

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
