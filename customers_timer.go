package snapauth

import (
	"container/heap"
	"sync"
	"time"
)

// dueQueue runs functions at given times with one runtime timer for all of
// them, so that the cached tokens of many customers are dropped when due
// without a timer each. Its functions run on the timer's goroutine, possibly
// at the same time as each other, and must be quick.
type dueQueue struct {
	mu    sync.Mutex
	items dueHeap
	timer *time.Timer // created at the first call to after
	next  time.Time   // when timer fires; zero when it is not armed
}

// dueItem is one scheduled function. Stop cancels it.
type dueItem struct {
	at time.Time
	f  func()
	q  *dueQueue
	i  int // index in q.items, -1 once run or stopped
}

// after schedules f to run once d has passed.
func (q *dueQueue) after(d time.Duration, f func()) *dueItem {
	it := &dueItem{at: time.Now().Add(d), f: f, q: q}
	q.mu.Lock()
	heap.Push(&q.items, it)
	q.arm()
	q.mu.Unlock()
	return it
}

// Stop cancels the item; it reports whether the item had not run yet.
func (it *dueItem) Stop() bool {
	q := it.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if it.i < 0 {
		return false
	}
	heap.Remove(&q.items, it.i)
	it.i = -1
	it.f = nil
	return true
}

// arm makes the timer fire at the earliest item. It is called with q.mu
// held.
func (q *dueQueue) arm() {
	if len(q.items) == 0 {
		return // a timer that fires early finds nothing due, and stops
	}
	at := q.items[0].at
	if !q.next.IsZero() && !at.Before(q.next) {
		return
	}
	q.next = at
	if q.timer == nil {
		q.timer = time.AfterFunc(time.Until(at), q.fire)
	} else {
		q.timer.Reset(time.Until(at))
	}
}

func (q *dueQueue) fire() {
	q.mu.Lock()
	q.next = time.Time{}
	var due []func()
	now := time.Now()
	for len(q.items) > 0 && !q.items[0].at.After(now) {
		it := heap.Pop(&q.items).(*dueItem)
		due = append(due, it.f)
		it.i, it.f = -1, nil
	}
	q.arm()
	q.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// dueHeap orders items by time, for container/heap.
type dueHeap []*dueItem

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].i, h[j].i = i, j
}
func (h *dueHeap) Push(x any) {
	it := x.(*dueItem)
	it.i = len(*h)
	*h = append(*h, it)
}
func (h *dueHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
