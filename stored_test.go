package snapauth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// --- stored sources ---------------------------------------------------------

// srcStore is the package's MemoryStore (TokenStore and Locker) with a
// switch that makes Save fail and counters of the calls.
type srcStore struct {
	*MemoryStore
	mu      sync.Mutex
	saveErr error
	// afterMark makes saveErr hit only the saves of rotated tokens, not
	// those marking a refresh in flight (RefreshingExtra).
	afterMark bool
	saves     atomic.Int64
	locks     atomic.Int64
}

func newSrcStore() *srcStore { return &srcStore{MemoryStore: NewMemoryStore()} }

func (s *srcStore) failSaves(err error) {
	s.mu.Lock()
	s.saveErr = err
	s.mu.Unlock()
}

func (s *srcStore) Save(ctx context.Context, key string, t *oauth2.Token) error {
	s.saves.Add(1)
	s.mu.Lock()
	err := s.saveErr
	if s.afterMark && t.Extra(RefreshingExtra) != nil {
		err = nil
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.MemoryStore.Save(ctx, key, t)
}

func (s *srcStore) Lock(ctx context.Context, key string) (func(), error) {
	s.locks.Add(1)
	return s.MemoryStore.Lock(ctx, key)
}

func TestStoredSourceUsesOtherReplicasToken(t *testing.T) {
	clock := newSrcClock()
	p := newFakeProvider(t, clock.Now, func(r fakeRequest) fakeAnswer { return b2bAnswer(fmt.Sprintf("fetched-%d", r.N)) })
	store := newSrcStore()
	saved := &oauth2.Token{AccessToken: "from-replica", TokenType: "Bearer", Expiry: clock.Now().Add(10 * time.Minute), ExpiresIn: 900}
	require.NoError(t, store.Save(context.Background(), "b2b", saved))

	src := p.b2b(clock).StoredTokenSource(context.Background(), store, "b2b")
	tok, err := src.Token()
	require.NoError(t, err)
	assert.Equal(t, "from-replica", tok.AccessToken)
	assert.Zero(t, p.hits.Load(), "fetched although the store held a fresh token")

	// At expiry it renews, under the store's lock, and saves before
	// handing the token out.
	clock.Advance(10 * time.Minute)
	tok, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "fetched-1", tok.AccessToken)
	assert.Equal(t, int64(1), store.locks.Load())
	inStore, err := store.Load(context.Background(), "b2b")
	require.NoError(t, err)
	assert.Equal(t, tok.AccessToken, inStore.AccessToken, "token handed out before it was saved")
	assert.True(t, tok.Expiry.Equal(inStore.Expiry))

	// A replica renews first: its token is picked up without a fetch.
	clock.Advance(15 * time.Minute)
	newer := &oauth2.Token{AccessToken: "replica-2", TokenType: "Bearer", Expiry: clock.Now().Add(15 * time.Minute), ExpiresIn: 900}
	require.NoError(t, store.Save(context.Background(), "b2b", newer))
	tok, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "replica-2", tok.AccessToken)
	assert.Equal(t, int64(1), p.hits.Load())

	// A rejected token in the store is not handed out again.
	assert.Equal(t, "fetched-2", afterInvalidate(t, src, tok).AccessToken)
}

func TestStoredSourceSaveFails(t *testing.T) {
	clock := newSrcClock()
	p := newFakeProvider(t, clock.Now, func(r fakeRequest) fakeAnswer { return b2bAnswer("secret-access-token-xyz") })
	store := newSrcStore()
	store.failSaves(errors.New("disk full"))
	src := p.b2b(clock).StoredTokenSource(context.Background(), store, "b2b")

	tok, err := src.Token()
	assert.Nil(t, tok)
	var se *StoreError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "b2b", se.Key)
	require.NotNil(t, se.Token)
	assert.Equal(t, "secret-access-token-xyz", se.Token.AccessToken)
	assert.ErrorContains(t, err, "disk full")
	for _, s := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err)} {
		assert.NotContains(t, s, "secret-access-token-xyz")
	}
	assert.Equal(t, int64(1), store.saves.Load())

	// The token obtained is served from memory; no second fetch.
	tok, err = src.Token()
	require.NoError(t, err)
	assert.Equal(t, "secret-access-token-xyz", tok.AccessToken)
	assert.Equal(t, int64(1), p.hits.Load())
}

func TestStoredSourceLoadFails(t *testing.T) {
	clock := newSrcClock()
	p := newFakeProvider(t, clock.Now, func(r fakeRequest) fakeAnswer { return b2bAnswer("x") })
	src := p.b2b(clock).StoredTokenSource(context.Background(), failingStore{}, "b2b")
	_, err := src.Token()
	require.ErrorContains(t, err, "store is down")
	assert.Zero(t, p.hits.Load())
}

type failingStore struct{}

func (failingStore) Load(context.Context, string) (*oauth2.Token, error) {
	return nil, errors.New("store is down")
}
func (failingStore) Save(context.Context, string, *oauth2.Token) error {
	return errors.New("store is down")
}

// TestNewestBySequence: the newest token is the one obtained last
// (SequenceExtra), not the one expiring last: a provider that shortens
// lifetimes issues newer tokens that expire sooner.
func TestNewestBySequence(t *testing.T) {
	now := time.Now()
	tok := func(rt string, seq int64, life time.Duration) *oauth2.Token {
		t := &oauth2.Token{AccessToken: "at-" + rt, RefreshToken: rt, Expiry: now.Add(life)}
		if seq == 0 {
			return t
		}
		return withOrder(t, seq, "")
	}
	older, newer := tok("rt-1", 7, time.Hour), tok("rt-2", 8, time.Minute)
	assert.Same(t, newer, newest(newer, older), "the store's newer token, expiring sooner")
	assert.Same(t, newer, newest(older, newer), "this replica's newer token, the store lost the update")
	relinked := tok("rt-new", 0, 10*time.Minute)
	assert.Same(t, relinked, newest(relinked, newer), "a token saved by hand (a relink) wins")
	tie := withOrder(newer, 8, "other 2026-01-01T00:00:00Z")
	assert.Same(t, tie, newest(tie, newer), "on a tie the store's copy, with its marker, wins")
	a, b := tok("a", 0, time.Hour), tok("b", 0, time.Minute)
	assert.Same(t, a, newest(b, a), "without sequences the later expiry wins, as before")
	assert.Same(t, a, newest(nil, a))
	assert.Same(t, a, newest(a, nil))

	// The encoding keeps the sequence and the marker.
	data, err := MarshalToken(tie)
	require.NoError(t, err)
	back, err := UnmarshalToken(data)
	require.NoError(t, err)
	assert.EqualValues(t, 8, sequence(back))
	assert.Equal(t, "other 2026-01-01T00:00:00Z", back.Extra(RefreshingExtra))
}
