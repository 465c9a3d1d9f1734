package snapauth

import (
	"sync"
	"sync/atomic"
)

// customerEntry is one customer's token source in a Customers.
type customerEntry struct {
	key string
	src *cachedSource
	// used is the CLOCK reference bit: set by a lookup, cleared by the
	// eviction hand as it passes. Lookups only write it when it is clear, so
	// a warm customer's lookups share its cache line read-only.
	used atomic.Bool
	// unsaved says the source holds a token its store refused to save (a
	// StoreError): evicting it would lose the only copy of a rotated
	// refresh token, so the hand passes over it.
	unsaved atomic.Bool
	// due is the scheduled drop of the cached token, stopped on eviction so
	// that the shared timer's queue holds no evicted customer.
	due  atomic.Pointer[dueItem]
	slot int // index in customerIndex.ring, -1 once removed; guarded by customerIndex.mu
}

// drop forgets e's scheduled work once it has left the index.
func (e *customerEntry) drop() {
	e.slot = -1
	if it := e.due.Load(); it != nil {
		it.Stop()
	}
}

// customerIndex maps customer keys to their entries, bounded by max with
// CLOCK eviction (an approximation of least-recently-used): lookups are a
// sync.Map load and an atomic load, with no lock; adding an entry takes a
// mutex and, when the ring is full, moves the hand to the first entry not
// used since the hand last passed, which it replaces. No goroutine, timer or
// clock belongs to an entry.
type customerIndex struct {
	m   sync.Map // string -> *customerEntry
	max int

	mu   sync.Mutex
	ring []*customerEntry // nil slots are free
	hand int
}

// lookup returns key's entry, or nil, and marks it used.
func (x *customerIndex) lookup(key string) *customerEntry {
	v, ok := x.m.Load(key)
	if !ok {
		return nil
	}
	e := v.(*customerEntry)
	if !e.used.Load() {
		e.used.Store(true)
	}
	return e
}

// add returns key's entry, making it with newEntry if there is none, and
// evicting another customer's entry if the index is full.
func (x *customerIndex) add(key string, newEntry func() *customerEntry) *customerEntry {
	x.mu.Lock()
	defer x.mu.Unlock()
	if e := x.lookup(key); e != nil {
		return e
	}
	e := newEntry()
	x.place(e)
	x.m.Store(key, e)
	return e
}

// place puts e in a ring slot. It is called with x.mu held.
func (x *customerIndex) place(e *customerEntry) {
	if len(x.ring) < x.max {
		e.slot = len(x.ring)
		x.ring = append(x.ring, e)
		return
	}
	// Two turns clear every reference bit; only entries that hold unsaved
	// tokens can survive them, and then the ring grows past max.
	for range 2*len(x.ring) + 1 {
		i := x.hand
		x.hand = (x.hand + 1) % len(x.ring)
		old := x.ring[i]
		if old != nil {
			if old.unsaved.Load() || old.used.Swap(false) {
				continue
			}
			x.m.CompareAndDelete(old.key, old)
			old.drop()
		}
		e.slot = i
		x.ring[i] = e
		return
	}
	e.slot = len(x.ring)
	x.ring = append(x.ring, e)
}

// remove drops e from the index, if it is still there.
func (x *customerIndex) remove(e *customerEntry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if e.slot < 0 {
		return
	}
	x.m.CompareAndDelete(e.key, e)
	x.ring[e.slot] = nil
	e.drop()
}

// len returns the number of entries held.
func (x *customerIndex) len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for _, e := range x.ring {
		if e != nil {
			n++
		}
	}
	return n
}
