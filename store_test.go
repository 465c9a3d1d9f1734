package snapauth_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/storetest"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) snapauth.TokenStore { return snapauth.NewMemoryStore() })
}

func TestFileStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) snapauth.TokenStore {
		s, err := snapauth.NewFileStore(filepath.Join(t.TempDir(), "tokens"))
		require.NoError(t, err)
		return s
	})
}

// storeSecretToken is a token whose every secret holds a marker that must
// never appear in an error or a printed store.
// storeTempDir returns a new directory of mode 0700 (t.TempDir's own is open
// to others, which NewFileStore refuses).
func storeTempDir(t *testing.T) string {
	return filepath.Join(t.TempDir(), "tokens")
}

// twoFileStores returns a new token directory and two FileStores on it,
// which stand for two processes: their flocks are separate open files.
func twoFileStores(t *testing.T) (string, *snapauth.FileStore, *snapauth.FileStore) {
	t.Helper()
	dir := storeTempDir(t)
	a, err := snapauth.NewFileStore(dir)
	require.NoError(t, err)
	b, err := snapauth.NewFileStore(dir)
	require.NoError(t, err)
	return dir, a, b
}

func storeSecretToken() *oauth2.Token {
	return (&oauth2.Token{
		AccessToken:  "SECRET-ACCESS-0123456789abcdef",
		TokenType:    "Bearer",
		RefreshToken: "SECRET-REFRESH-0123456789abcdef",
		Expiry:       time.Date(2030, 1, 2, 3, 4, 5, 600700800, time.FixedZone("WIB", 7*3600)),
		ExpiresIn:    900,
	}).WithExtra(map[string]any{
		"refreshTokenExpiryTime": "2030-02-02T03:04:05+07:00",
		"responseCode":           "2007400",
		"notStored":              "dropped",
	})
}

func storeRequireNoSecret(t *testing.T, s string) {
	t.Helper()
	require.NotContains(t, s, "SECRET")
}

func TestStoresPrintNoTokens(t *testing.T) {
	ctx := context.Background()
	mem := snapauth.NewMemoryStore()
	file, err := snapauth.NewFileStore(storeTempDir(t))
	require.NoError(t, err)
	for _, s := range []snapauth.TokenStore{mem, file} {
		require.NoError(t, s.Save(ctx, "k", storeSecretToken()))
	}
	for _, v := range []any{mem, *mem, file, *file, []snapauth.TokenStore{mem, file}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			out := fmt.Sprintf(verb, v)
			storeRequireNoSecret(t, out)
		}
	}
	require.Equal(t, "snapauth.MemoryStore(1 tokens)", mem.String())
	require.Equal(t, "snapauth.FileStore("+file.Dir()+")", fmt.Sprint(file))
}

func TestStoresHonourContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	file, err := snapauth.NewFileStore(storeTempDir(t))
	require.NoError(t, err)
	for _, s := range []snapauth.TokenStore{snapauth.NewMemoryStore(), file} {
		require.ErrorIs(t, s.Save(ctx, "k", storeSecretToken()), context.Canceled)
		_, err := s.Load(ctx, "k")
		require.ErrorIs(t, err, context.Canceled)
	}
}

func TestMemoryStoreLockWaitersGiveUp(t *testing.T) {
	// Many waiters that give up leave no state behind: the lock still works.
	ctx := context.Background()
	s := snapauth.NewMemoryStore()
	unlock, err := s.Lock(ctx, "k")
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			c, cancel := context.WithTimeout(ctx, time.Millisecond)
			defer cancel()
			_, err := s.Lock(c, "k")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("waiter: %v", err)
			}
		})
	}
	wg.Wait()
	unlock()
	u, err := s.Lock(ctx, "k")
	require.NoError(t, err)
	u()
}
