package snapauth

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// One timer runs every item at its time; a stopped item never
// runs; the queue empties.
func TestDueQueue(t *testing.T) {
	var q dueQueue
	var mu sync.Mutex
	var order []int
	var ran atomic.Int32
	done := make(chan struct{})
	stopped := q.after(5*time.Millisecond, func() { ran.Add(100) })
	for i, d := range []time.Duration{30, 10, 20} {
		q.after(d*time.Millisecond, func() {
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			if ran.Add(1) == 3 {
				close(done)
			}
		})
	}
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop of a pending item must report true once")
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the items did not run")
	}
	q.mu.Lock()
	n := len(q.items)
	q.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	if n != 0 || ran.Load() != 3 || len(order) != 3 {
		t.Fatalf("ran %d (%v), %d items left; want the 3 not stopped, none left", ran.Load(), order, n)
	}

	// An item scheduled earlier than the armed time re-arms the timer.
	early := make(chan struct{})
	q.after(time.Hour, func() {})
	q.after(time.Millisecond, func() { close(early) })
	select {
	case <-early:
	case <-time.After(10 * time.Second):
		t.Fatal("an earlier item waited for a later one")
	}
}
