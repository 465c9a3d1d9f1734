package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
)

// RunReplay tests the snapauth.ReplayStore returned by newStore, which
// RunReplay calls once per subtest and which must return an empty store
// that no other subtest shares. It checks that:
//
//   - Seen reports false the first time it is given a key and true every
//     later time while the record lives, and keys are independent (keys
//     made by snapauth.ReplayKey, with their NUL bytes, and odd keys);
//   - a record expires after its ttl: the key is fresh again, once;
//   - of 32 goroutines asking about one key at once, exactly one is told it
//     is fresh (a replay must never pass twice, whatever the interleaving);
//   - a context that has ended is an error, never a fresh request.
func RunReplay(t *testing.T, newStore func(t *testing.T) snapauth.ReplayStore) {
	t.Run("SeenOnce", func(t *testing.T) { testSeenOnce(t, newStore(t)) })
	t.Run("Expiry", func(t *testing.T) { testReplayExpiry(t, newStore(t)) })
	t.Run("Concurrent", func(t *testing.T) { testReplayConcurrent(t, newStore(t)) })
	t.Run("EndedContext", func(t *testing.T) { testReplayContext(t, newStore(t)) })
}

// seen calls s.Seen and fails the test on an error.
func seen(t *testing.T, s snapauth.ReplayStore, key string, ttl time.Duration) bool {
	t.Helper()
	got, err := s.Seen(testContext(t), key, ttl)
	noError(t, err, "Seen(%q)", key)
	return got
}

func testSeenOnce(t *testing.T, s snapauth.ReplayStore) {
	keys := []string{
		snapauth.ReplayKey("82150823919040624621823174737537", "123456789012345678901234567890123456", "2026-12-01"),
		snapauth.ReplayKey("82150823919040624621823174737537", "123456789012345678901234567890123456", "2026-12-02"),
		snapauth.ReplayKey("other-partner", "123456789012345678901234567890123456", "2026-12-01"),
		"", "k", "k ", "ключ", "{braces}", "a/b/../c",
	}
	for _, k := range keys {
		if seen(t, s, k, time.Hour) {
			t.Errorf("Seen(%q) the first time: true, want false (a fresh request refused)", k)
		}
	}
	for _, k := range keys {
		for i := range 2 {
			if !seen(t, s, k, time.Hour) {
				t.Errorf("Seen(%q) call %d after the first: false, want true (a replay let through)", k, i+2)
			}
		}
	}
}

func testReplayExpiry(t *testing.T, s snapauth.ReplayStore) {
	const ttl = 50 * time.Millisecond
	if seen(t, s, "short", ttl) {
		t.Fatal(`Seen("short") the first time: true, want false`)
	}
	if seen(t, s, "long", time.Hour) {
		t.Fatal(`Seen("long") the first time: true, want false`)
	}
	// Wait out the record's lifetime: what is tested is that it ends.
	expired := time.NewTimer(4 * ttl)
	defer expired.Stop()
	<-expired.C
	if seen(t, s, "short", time.Hour) {
		t.Errorf("Seen(%q) after its %v record expired: true, want false", "short", ttl)
	}
	if !seen(t, s, "short", time.Hour) {
		t.Errorf("Seen(%q) once more after it was recorded again: false, want true", "short")
	}
	if !seen(t, s, "long", time.Hour) {
		t.Errorf("Seen(%q) within its hour: false, want true (another key's expiry dropped it)", "long")
	}
}

func testReplayConcurrent(t *testing.T, s snapauth.ReplayStore) {
	const callers = 32
	ctx := testContext(t)
	for round := range 5 {
		key := fmt.Sprintf("race-%d", round)
		var fresh atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, callers)
		for range callers {
			wg.Go(func() {
				<-start
				got, err := s.Seen(ctx, key, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if !got {
					fresh.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("Seen(%q): %v", key, err)
		}
		if n := fresh.Load(); n != 1 {
			t.Fatalf("%d goroutines asking about %q at once: %d were told it is fresh, want exactly 1", callers, key, n)
		}
	}
}

func testReplayContext(t *testing.T, s snapauth.ReplayStore) {
	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	got, err := s.Seen(ctx, "cancelled", time.Hour)
	if err == nil {
		t.Fatalf("Seen with an ended context: %v and no error, want the context's error", got)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Seen with an ended context: %v, want an error matching context.Canceled", err)
	}
}
