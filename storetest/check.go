package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"golang.org/x/oauth2"
)

// The checks below use the testing package alone, so that a store's tests
// compile no assertion library. None prints an access or refresh token: a
// wrong one is described by its length and first differing byte.

// noError ends the test when err is not nil, saying what failed.
func noError(t *testing.T, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}

// requireLoads ends the test unless s loads under key a token the same as
// want, and returns that token; what follows "Load(key)" in a failure.
func requireLoads(t *testing.T, ctx context.Context, s snapauth.TokenStore, key string, want *oauth2.Token, what string) *oauth2.Token {
	t.Helper()
	got, err := s.Load(ctx, key)
	noError(t, err, "Load(%q)%s", key, what)
	requireSameToken(t, key, want, got)
	return got
}

// isError ends the test unless errors.Is(err, target).
func isError(t *testing.T, err, target error, format string, args ...any) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err %v, want %v (errors.Is)", fmt.Sprintf(format, args...), err, target)
	}
}

// sameSecret ends the test unless got equals want, the field of the token
// loaded from key, without printing either.
func sameSecret(t *testing.T, key, field, want, got string) {
	t.Helper()
	if got == want {
		return
	}
	at := 0
	for at < min(len(want), len(got)) && want[at] == got[at] {
		at++
	}
	t.Fatalf("Load(%q): %s is not the one saved: %d bytes, want %d, first difference at byte %d",
		key, field, len(got), len(want), at)
}

// requireSameToken ends the test unless got, loaded from key, holds every
// field of want, as Run documents.
func requireSameToken(t *testing.T, key string, want, got *oauth2.Token) {
	t.Helper()
	if got == nil {
		t.Fatalf("Load(%q) returned a nil token and no error", key)
	}
	sameSecret(t, key, "AccessToken", want.AccessToken, got.AccessToken)
	if got.TokenType != want.TokenType {
		t.Fatalf("Load(%q): TokenType %q, want %q", key, got.TokenType, want.TokenType)
	}
	sameSecret(t, key, "RefreshToken", want.RefreshToken, got.RefreshToken)
	if got.ExpiresIn != want.ExpiresIn {
		t.Fatalf("Load(%q): ExpiresIn %d, want %d", key, got.ExpiresIn, want.ExpiresIn)
	}
	if got.Expiry.IsZero() != want.Expiry.IsZero() {
		t.Fatalf("Load(%q): Expiry.IsZero() is %v, want %v", key, got.Expiry.IsZero(), want.Expiry.IsZero())
	}
	if !want.Expiry.Equal(got.Expiry) {
		t.Fatalf("Load(%q): Expiry %s, want the instant %s", key, got.Expiry.Format(time.RFC3339Nano), want.Expiry.Format(time.RFC3339Nano))
	}
	if got.Expiry.UnixNano() != want.Expiry.UnixNano() {
		t.Fatalf("Load(%q): Expiry is %d ns after the epoch, want %d (to the nanosecond)",
			key, got.Expiry.UnixNano(), want.Expiry.UnixNano())
	}
	for _, name := range keptExtras {
		w, g := want.Extra(name), got.Extra(name)
		if w == nil {
			if g != nil {
				t.Fatalf("Load(%q): extra %q was not saved but was loaded (a %T)", key, name, g)
			}
			continue
		}
		sameJSON(t, key, name, w, g)
	}
}

// sameJSON ends the test unless extra name of the token loaded from key,
// got, is the same JSON value as want: equal once both are encoded and
// decoded again, so that a number may come back as json.Number or float64
// and an object as map[string]any.
func sameJSON(t *testing.T, key, name string, want, got any) {
	t.Helper()
	wj, err := json.Marshal(want)
	noError(t, err, "encoding extra %q of the saved token", name)
	gj, err := json.Marshal(got)
	noError(t, err, "Load(%q): encoding extra %q (a %T)", key, name, got)
	var wv, gv any
	noError(t, json.Unmarshal(wj, &wv), "decoding extra %q of the saved token", name)
	noError(t, json.Unmarshal(gj, &gv), "Load(%q): decoding extra %q", key, name)
	if !reflect.DeepEqual(wv, gv) {
		t.Fatalf("Load(%q): extra %q is %s, want %s (as JSON)", key, name, gj, wj)
	}
}

// sameValue ends the test unless got, what of the token loaded from key,
// is want of the same type. It is for values that are no secret.
func sameValue(t *testing.T, key, what string, want, got any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("Load(%q): %s is %#v (a %T), want %#v (a %T)", key, what, got, got, want, want)
	}
}

// keptExtras are the token extras the suite's tokens carry: every extra that
// snapauth.MarshalToken keeps (the answer fields a store must give back, and
// the stored sources' own order and in-flight marker).
var keptExtras = []string{
	"refreshTokenExpiryTime", "accessTokenExpiryTime", "responseCode", "responseMessage", "additionalInfo",
	snapauth.SequenceExtra, snapauth.RefreshingExtra,
}
