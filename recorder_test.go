package snapauth_test

import (
	"context"
	"sync"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
)

// recorder collects values from any goroutine.
type recorder[T any] struct {
	mu  sync.Mutex
	got []T
}

func (r *recorder[T]) add(v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, v)
}

// take returns the values recorded since the last take.
func (r *recorder[T]) take() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

// eventLog records the events an Observer receives.
type eventLog struct{ recorder[snapauth.Event] }

func (l *eventLog) observe(_ context.Context, e snapauth.Event) { l.add(e) }

// observed collects the server's records of service calls.
type observed struct{ recorder[snaptest.Record] }

func (o *observed) observe(r snaptest.Record) {
	if r.Endpoint == snaptest.EndpointService {
		o.add(r)
	}
}
