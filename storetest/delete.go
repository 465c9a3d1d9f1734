package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"golang.org/x/oauth2"
)

// runDeleter runs the checks of snapauth.TokenDeleter, skipping them for a
// store that does not implement it.
func runDeleter(t *testing.T, newStore func(t *testing.T) snapauth.TokenStore) {
	if _, ok := newStore(t).(snapauth.TokenDeleter); !ok {
		t.Skip("the store does not implement snapauth.TokenDeleter")
	}
	store := func(t *testing.T) (snapauth.TokenStore, snapauth.TokenDeleter) {
		s := newStore(t)
		return s, s.(snapauth.TokenDeleter)
	}
	t.Run("Unconditional", func(t *testing.T) {
		s, d := store(t)
		ctx := testContext(t)
		mustSave(t, s, "k", fullToken("k"))
		mustSave(t, s, "other", fullToken("other"))
		if err := d.Delete(ctx, "k", nil); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		requireAbsent(t, s, "k")
		requireHolds(t, s, "other", fullToken("other"))
		if err := d.Delete(ctx, "k", nil); err != nil {
			t.Fatalf("Delete of an absent key: %v", err)
		}
		mustSave(t, s, "k", fullToken("again"))
		requireHolds(t, s, "k", fullToken("again"))
	})
	t.Run("SameToken", func(t *testing.T) {
		s, d := store(t)
		ctx := testContext(t)
		mustSave(t, s, "k", fullToken("k"))
		// Same access and refresh token, other fields changed: the same token.
		same := fullToken("k")
		same.Expiry = time.Unix(1, 0)
		same.TokenType = ""
		if err := d.Delete(ctx, "k", same); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		requireAbsent(t, s, "k")
	})
	t.Run("NewerTokenSurvives", func(t *testing.T) {
		s, d := store(t)
		ctx := testContext(t)
		old, newer := fullToken("old"), fullToken("newer")
		mustSave(t, s, "k", newer)
		for _, stale := range []*oauth2.Token{
			old,
			{AccessToken: newer.AccessToken, RefreshToken: "another refresh token"},
			{AccessToken: "another access token", RefreshToken: newer.RefreshToken},
			{},
		} {
			if err := d.Delete(ctx, "k", stale); err != nil {
				t.Fatalf("Delete of a token no longer stored: %v", err)
			}
			requireHolds(t, s, "k", newer)
		}
	})
	t.Run("AbsentKey", func(t *testing.T) {
		s, d := store(t)
		ctx := testContext(t)
		if err := d.Delete(ctx, "never-saved", fullToken("x")); err != nil {
			t.Fatalf("Delete of an absent key: %v", err)
		}
		requireAbsent(t, s, "never-saved")
	})
	t.Run("OddKeys", func(t *testing.T) {
		s, d := store(t)
		ctx := testContext(t)
		for i, key := range OddKeys {
			mustSave(t, s, key, &oauth2.Token{AccessToken: "a" + key, RefreshToken: "r"})
			if i%2 == 0 {
				continue
			}
			if err := d.Delete(ctx, key, &oauth2.Token{AccessToken: "a" + key, RefreshToken: "r"}); err != nil {
				t.Fatalf("Delete(%q): %v", key, err)
			}
		}
		for i, key := range OddKeys {
			if i%2 == 0 {
				requireHolds(t, s, key, &oauth2.Token{AccessToken: "a" + key, RefreshToken: "r"})
			} else {
				requireAbsent(t, s, key)
			}
		}
	})
	t.Run("UnderLock", func(t *testing.T) {
		s, d := store(t)
		l, ok := s.(snapauth.Locker)
		if !ok {
			t.Skip("the store does not implement snapauth.Locker")
		}
		ctx := testContext(t)
		mustSave(t, s, "k", fullToken("k"))
		unlock, err := l.Lock(ctx, "k")
		if err != nil {
			t.Fatalf("Lock: %v", err)
		}
		if err := d.Delete(ctx, "k", fullToken("k")); err != nil {
			t.Fatalf("Delete while holding the lock: %v", err)
		}
		unlock()
		requireAbsent(t, s, "k")
		short, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		unlock, err = l.Lock(short, "k")
		if err != nil {
			t.Fatalf("Lock after Delete: %v", err)
		}
		unlock()
	})
}

func mustSave(t *testing.T, s snapauth.TokenStore, key string, tok *oauth2.Token) {
	t.Helper()
	if err := s.Save(testContext(t), key, tok); err != nil {
		t.Fatalf("Save(%q): %v", key, err)
	}
}

func requireAbsent(t *testing.T, s snapauth.TokenStore, key string) {
	t.Helper()
	if _, err := s.Load(testContext(t), key); !errors.Is(err, snapauth.ErrNoToken) {
		t.Fatalf("Load(%q) after Delete: err %v, want snapauth.ErrNoToken", key, err)
	}
}

func requireHolds(t *testing.T, s snapauth.TokenStore, key string, want *oauth2.Token) {
	t.Helper()
	got, err := s.Load(testContext(t), key)
	if err != nil {
		t.Fatalf("Load(%q): %v", key, err)
	}
	if got.AccessToken != want.AccessToken || got.RefreshToken != want.RefreshToken {
		t.Fatalf("Load(%q) returned another token than the one saved (deleted or replaced)", key)
	}
}
