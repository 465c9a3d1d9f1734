package storetest

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
)

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
	if n := overlaps.Load(); n != 0 {
		t.Errorf("Lock(%q): holders overlapped %d times", "counter", n)
	}
	if got, want := counter.Load(), int64(goroutines*rounds); got != want {
		t.Errorf("Lock(%q): %d increments under the lock left the counter at %d: updates lost", "counter", want, got)
	}
}

func testLockContext(t *testing.T, l snapauth.Locker) {
	ctx := testContext(t)
	unlock, err := l.Lock(ctx, "held")
	noError(t, err, "Lock(%q)", "held")
	defer unlock()

	const timeout = 200 * time.Millisecond
	short, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	u2, err := l.Lock(short, "held")
	elapsed := time.Since(start)
	isError(t, err, context.DeadlineExceeded, "Lock(%q) of a held key with a %s context", "held", timeout)
	if u2 != nil {
		t.Fatalf("Lock(%q) returned an unlock function with its error", "held")
	}
	if elapsed < timeout-10*time.Millisecond {
		t.Fatalf("Lock(%q) gave up after %s, before its %s context ended", "held", elapsed, timeout)
	}
	if elapsed >= timeout+2*time.Second {
		t.Fatalf("Lock(%q) kept waiting %s after its %s context ended", "held", elapsed-timeout, timeout)
	}

	canceled, cancelNow := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := l.Lock(canceled, "held")
		done <- err
	}()
	cancelNow()
	select {
	case err := <-done:
		isError(t, err, context.Canceled, "Lock(%q) of a held key, its context canceled", "held")
	case <-time.After(5 * time.Second):
		t.Fatal("Lock did not return after its context was canceled")
	}

	// A context that has already ended never takes even a free lock.
	_, err = l.Lock(canceled, "free")
	isError(t, err, context.Canceled, "Lock(%q) of a free key with a canceled context", "free")

	// The waiters that gave up leave the lock usable.
	unlock()
	u3, err := l.Lock(ctx, "held")
	noError(t, err, "Lock(%q) after the waiters gave up", "held")
	u3()
}

func testLockKeys(t *testing.T, l snapauth.Locker) {
	ctx := testContext(t)
	unlock, err := l.Lock(ctx, "one")
	noError(t, err, "Lock(%q)", "one")
	defer unlock()
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, key := range []string{"two", "", "one/..", "ONE"} {
		u, err := l.Lock(short, key)
		noError(t, err, "Lock(%q) while key \"one\" is held", key)
		u()
	}
}

func testUnlockTwice(t *testing.T, l snapauth.Locker) {
	ctx := testContext(t)
	unlockA, err := l.Lock(ctx, "k")
	noError(t, err, "Lock(%q) by A", "k")
	unlockA()
	unlockA() // safe, and must not release B's lock below

	unlockB, err := l.Lock(ctx, "k")
	noError(t, err, "Lock(%q) by B after A unlocked twice", "k")
	unlockA()
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = l.Lock(short, "k")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock(%q): a second unlock of A released B's lock (err %v, want context.DeadlineExceeded)", "k", err)
	}
	unlockB()
	unlockB()
	u, err := l.Lock(ctx, "k")
	noError(t, err, "Lock(%q) after B unlocked twice", "k")
	u()
}
