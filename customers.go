package snapauth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/snapauth/snapauth/internal/keylock"
	"golang.org/x/oauth2"
)

// DefaultMaxCachedCustomers is how many customers' tokens a Customers keeps
// in memory when its MaxCached is zero.
const DefaultMaxCachedCustomers = 10_000

// MaxCustomerKeyLen is the longest customer key, in bytes, that Customers
// accepts.
const MaxCustomerKeyLen = 512

// ErrInvalidCustomerKey means a customer key is empty, longer than
// MaxCustomerKeyLen bytes, or not printable UTF-8 (control characters, NUL),
// which some stores cannot represent. Retrying does not help: fix the key.
var ErrInvalidCustomerKey = errors.New("snapauth: customer key is empty, too long, or not printable UTF-8")

// Customers hands out the B2B2C token sources of the customers of one
// partner, each under its key in Store, and keeps the sources of at most
// MaxCached customers in memory: a service with any number of linked
// customers writes one line per request to act for one,
//
//	req = req.WithContext(customers.Context(req.Context(), customerKey))
//
// and a Transport sends that customer's token (Authorization-Customer),
// renewing it when the provider rejects it.
//
// Each customer has at most one refresh in flight in the process, and with
// a Store that implements Locker (FileStore, redisstore) one across the
// replicas sharing the store; every refresh reads the store first and uses
// the newest refresh token. When the provider refuses a refresh token, the
// customer's tokens are removed from the store (with a TokenDeleter) and the
// error matches ErrReauthorize. An idle customer costs its entry in memory
// (measured in BENCHMARKS.md) and no goroutine or timer; beyond MaxCached,
// the entry not used for longest (approximately: CLOCK eviction) is dropped,
// to be read from the store again when needed, except one holding a token
// its store failed to save.
//
// Errors of Token and of requests for a customer: ErrInvalidCustomerKey
// (fix the key), ErrNotLinked and ErrReauthorize (send the customer to the
// account-binding page again), a *StoreError (a new token was obtained but
// not saved: it is served from memory, and saved again before the next
// refresh; persist StoreError.Token if you can), and anything else (the store or the provider
// failed: retry later).
//
// The fields must be set before first use and not changed after.
type Customers struct {
	// Config obtains the customers' tokens. It is required.
	Config *B2B2CConfig
	// Store keeps the customers' tokens under their keys, shared by the
	// replicas of the service. It is required: refresh tokens rotate, and a
	// refresh token kept only in memory is lost on restart.
	Store TokenStore
	// MaxCached bounds the customers whose sources stay in memory. Zero
	// means DefaultMaxCachedCustomers.
	MaxCached int

	once  sync.Once
	idx   customerIndex
	locks keylock.Set
	due   dueQueue
	err   error
}

func (c *Customers) init() error {
	c.once.Do(func() {
		switch {
		case c.Config == nil:
			c.err = errors.New("snapauth: Customers.Config is nil")
		case c.Store == nil:
			c.err = errors.New("snapauth: Customers.Store is nil; customer tokens must be stored")
		}
		c.idx.max = c.MaxCached
		if c.idx.max <= 0 {
			c.idx.max = DefaultMaxCachedCustomers
		}
	})
	return c.err
}

// checkCustomerKey returns ErrInvalidCustomerKey for a key some store could
// not hold.
func checkCustomerKey(key string) error {
	if key == "" || len(key) > MaxCustomerKeyLen || !utf8.ValidString(key) {
		return ErrInvalidCustomerKey
	}
	for _, r := range key {
		if !unicode.IsPrint(r) && r != ' ' {
			return ErrInvalidCustomerKey
		}
	}
	return nil
}

// entry returns key's entry, loading it into the index if needed.
func (c *Customers) entry(key string) (*customerEntry, error) {
	if e := c.idx.lookup(key); e != nil {
		return e, nil // only a valid key of an initialised Customers is found
	}
	if err := c.init(); err != nil {
		return nil, err
	}
	if err := checkCustomerKey(key); err != nil {
		return nil, err
	}
	return c.idx.add(key, func() *customerEntry { return c.newEntry(key) }), nil
}

func (c *Customers) newEntry(key string) *customerEntry {
	cfg := c.Config
	f := freshness{now: cfg.Now, early: cfg.EarlyRefresh}
	e := &customerEntry{key: key}
	stored := storedFetch(c.Store, key, f, cfg.refreshGrant())
	fetch := func(ctx context.Context, last *oauth2.Token, rejected string) (*oauth2.Token, error) {
		// One refresh per customer in the process, even across an evicted
		// entry and its successor.
		unlock, err := c.locks.Lock(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("snapauth: waiting for customer %q's refresh: %w", key, err)
		}
		defer unlock()
		switch {
		case !e.unsaved.Load():
			// The store's copy is the truth: a token held only in memory
			// was unlinked, or refused on another replica.
			last = nil
		case last != nil && c.Store.Save(ctx, key, last) == nil:
			// The token the store failed to save is saved now.
			e.unsaved.Store(false)
		}
		tok, err := stored(ctx, last, rejected)
		var se *StoreError
		e.unsaved.Store(errors.As(err, &se))
		return tok, err
	}
	e.src = newCachedSource(context.Background(), fetch, f, cfg.FetchTimeout, nil)
	// With the real clock, one timer for all customers drops their tokens
	// when due, so that a lookup reads no clock.
	e.src.after = func(d time.Duration, f func()) stopper {
		it := c.due.after(d, f)
		e.due.Store(it)
		return it
	}
	return e
}

// Token returns a valid access token of the customer under key, reading
// the store and refreshing as needed; see Customers for its errors.
func (c *Customers) Token(ctx context.Context, key string) (*oauth2.Token, error) {
	e, err := c.entry(key)
	if err != nil {
		return nil, err
	}
	tok, err := e.src.TokenContext(ctx)
	if err != nil && errors.Is(err, ErrReauthorize) {
		c.idx.remove(e) // the store no longer holds its tokens either
	}
	return tok, err
}

// Source returns the token source of the customer under key. It holds only
// c and key: each call finds the customer's cached source, so the source
// stays valid however long it is kept, across evictions. It implements
// ContextTokenSource and TokenInvalidator.
func (c *Customers) Source(key string) oauth2.TokenSource {
	return customerHandle{c: c, key: key}
}

// Context returns a copy of ctx that makes a Transport act for the customer
// under key: WithCustomerToken(ctx, c.Source(key)).
func (c *Customers) Context(ctx context.Context, key string) context.Context {
	return WithCustomerToken(ctx, c.Source(key))
}

// Link exchanges authCode, from the account-binding redirect, for the
// customer's tokens, saves them under key (replacing any held there) and
// returns them. If the save fails the error is a *StoreError holding the
// token: the refresh token in it is the only copy.
func (c *Customers) Link(ctx context.Context, key, authCode string) (*oauth2.Token, error) {
	if err := c.init(); err != nil {
		return nil, err
	}
	if err := checkCustomerKey(key); err != nil {
		return nil, err
	}
	tok, err := c.Config.Exchange(ctx, authCode)
	if err != nil {
		return nil, err
	}
	err = c.locked(ctx, key, func(ctx context.Context) error { return c.Store.Save(ctx, key, tok) })
	if err != nil {
		return nil, &StoreError{Key: key, Token: tok, Err: err}
	}
	return tok, nil
}

// Unlink removes the customer's tokens from memory and from the store,
// which must implement TokenDeleter, after any refresh in flight for the
// customer has ended. The customer must link the account again. An unknown
// key is not an error. Other replicas keep the access token they hold in
// memory until it is due or the provider rejects it, then find the customer
// not linked: call the provider's account unbinding as well, which revokes
// the tokens there.
func (c *Customers) Unlink(ctx context.Context, key string) error {
	if err := c.init(); err != nil {
		return err
	}
	if err := checkCustomerKey(key); err != nil {
		return err
	}
	d, ok := c.Store.(TokenDeleter)
	if !ok {
		return fmt.Errorf("snapauth: cannot unlink: the store %T cannot delete tokens (TokenDeleter)", c.Store)
	}
	return c.locked(ctx, key, func(ctx context.Context) error { return d.Delete(ctx, key, nil) })
}

// locked runs fn holding key's lock in the process and, if the store can,
// in the store, so that no refresh of the customer runs meanwhile.
func (c *Customers) locked(ctx context.Context, key string, fn func(context.Context) error) error {
	unlock, err := c.locks.Lock(ctx, key)
	if err != nil {
		return fmt.Errorf("snapauth: waiting for customer %q's refresh: %w", key, err)
	}
	defer unlock()
	if l, ok := c.Store.(Locker); ok {
		unlockStore, err := l.Lock(ctx, key)
		if err != nil {
			return fmt.Errorf("snapauth: locking token %q: %w", key, err)
		}
		defer unlockStore()
	}
	if e := c.idx.lookup(key); e != nil {
		c.idx.remove(e) // the next lookup reads what fn left in the store
	}
	return fn(ctx)
}

// Cached returns how many customers' sources are in memory.
func (c *Customers) Cached() int {
	if c.init() != nil {
		return 0
	}
	return c.idx.len()
}

// Format writes the bound and the number of customers cached, never a
// token, for every verb.
func (c *Customers) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "snapauth.Customers{cached: %d, max: %d}", c.Cached(), c.idx.max)
}

// customerHandle is the source Customers.Source returns.
type customerHandle struct {
	c   *Customers
	key string
}

func (s customerHandle) Token() (*oauth2.Token, error) { return s.c.Token(context.Background(), s.key) }

func (s customerHandle) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	return s.c.Token(ctx, s.key)
}

// Invalidate drops t from the customer's cached source, so that the next
// token comes from the store or a refresh, never t again.
func (s customerHandle) Invalidate(t *oauth2.Token) {
	if e, err := s.c.entry(s.key); err == nil {
		e.src.Invalidate(t)
	}
}

// Format writes the key, never a token.
func (s customerHandle) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "snapauth.CustomerSource{key: %q}", s.key)
}
