package snapauth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/oauth2"
)

// Delete removes key's token file; with old not nil, only while the file
// holds that same token (TokenDeleter). It does not take key's lock, so a
// holder of the lock may call it; it is safe against concurrent Saves
// without the lock too: the file is first renamed aside (atomically), then
// what was renamed is checked, and a token that is not old is linked back
// unless a newer Save has taken its place. A key's lock file is removed by
// the next unlock of the key (see Lock).
func (s *FileStore) Delete(ctx context.Context, key string, old *oauth2.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if old != nil {
		cur, err := s.Load(ctx, key)
		if errors.Is(err, ErrNoToken) {
			return nil
		}
		if err != nil || !sameToken(cur, old) {
			return err
		}
	}
	stem := fileStem(key)
	final := filepath.Join(s.dir, stem+".json")
	aside := filepath.Join(s.dir, "."+stem+".del-"+rand.Text())
	if err := os.Rename(final, aside); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("snapauth: deleting token file %s: %w", final, err)
	}
	if old != nil {
		if moved, err := readTokenFile(aside); err != nil || !sameToken(moved, old) {
			// A Save replaced the file between the check and the rename.
			if err := os.Link(aside, final); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("snapauth: deleting token file %s: restoring a newer token: %w (it is kept in %s)", final, err, aside)
			}
		}
	}
	if err := os.Remove(aside); err != nil {
		return fmt.Errorf("snapauth: deleting token file %s: %w", final, err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("snapauth: deleting token file %s: syncing the directory: %w", final, err)
	}
	return nil
}

func readTokenFile(path string) (*oauth2.Token, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTokenData+1))
	if err != nil {
		return nil, err
	}
	return UnmarshalToken(data)
}

// dropLockFile removes key's lock file, at lockPath, if key has no token
// file, so that looking up keys never saved leaves nothing behind. It is
// called with the file's flock held; lockFile checks that the file it
// locked is still the one at its path, so a waiter that had opened the
// removed file retries on a new one.
func (s *FileStore) dropLockFile(key, lockPath string) {
	if _, err := os.Lstat(s.Path(key)); errors.Is(err, fs.ErrNotExist) {
		_ = os.Remove(lockPath)
	}
}
