package keylock

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestMutualExclusionAndCleanup(t *testing.T) {
	var s Set
	var wg sync.WaitGroup
	inside, maxInside := 0, 0
	var mu sync.Mutex
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := s.Lock(context.Background(), "k")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside++
			maxInside = max(maxInside, inside)
			mu.Unlock()
			mu.Lock()
			inside--
			mu.Unlock()
			unlock()
			unlock() // a second call is harmless
		}()
	}
	wg.Wait()
	if maxInside != 1 {
		t.Fatalf("%d holders at once", maxInside)
	}
	if n := s.Len(); n != 0 {
		t.Fatalf("%d entries left after every unlock", n)
	}
}

func TestWaiterGivesUp(t *testing.T) {
	var s Set
	unlock, err := s.Lock(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(ctx, "k"); err != context.DeadlineExceeded {
		t.Fatalf("waiter: %v, want the context's error", err)
	}
	if _, err := s.Lock(ctx, "k"); err != context.DeadlineExceeded {
		t.Fatalf("with an ended context: %v", err)
	}
	other, err := s.Lock(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	other()
	unlock()
	if n := s.Len(); n != 0 {
		t.Fatalf("%d entries left", n)
	}
}
