package snapauth_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/require"
)

// Looking up keys that were never saved leaves no lock file behind, while
// the lock stays exclusive: the goroutines of two FileStores on one
// directory (two processes) take the locks of never-saved keys at once.
func TestFileStoreLeavesNoLockFiles(t *testing.T) {
	ctx := context.Background()
	dir, a, b := twoFileStores(t)

	var inside, overlaps, held [3]atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		s := []*snapauth.FileStore{a, b}[g%2]
		wg.Go(func() {
			for i := range 30 {
				k := i % 3
				unlock, err := s.Lock(ctx, fmt.Sprintf("unknown-%d", k))
				if err != nil {
					t.Error(err)
					return
				}
				if inside[k].Add(1) != 1 {
					overlaps[k].Add(1)
				}
				runtime.Gosched()
				held[k].Add(1)
				inside[k].Add(-1)
				unlock()
			}
		})
	}
	wg.Wait()
	for k := range 3 {
		require.Zero(t, overlaps[k].Load(), "holders of key %d overlapped", k)
		require.Equal(t, int64(80), held[k].Load())
	}
	require.Empty(t, storeDirEntries(t, dir), "lock files of never-saved keys were left behind")

	// A saved key keeps its lock file; deleting the token lets the next
	// unlock remove it.
	require.NoError(t, a.Save(ctx, "linked", storeSecretToken()))
	unlock, err := a.Lock(ctx, "linked")
	require.NoError(t, err)
	unlock()
	require.Len(t, storeDirEntries(t, dir), 2, "token and lock file")
	unlock, err = a.Lock(ctx, "linked")
	require.NoError(t, err)
	require.NoError(t, a.Delete(ctx, "linked", storeSecretToken()))
	unlock()
	require.Empty(t, storeDirEntries(t, dir))
}
