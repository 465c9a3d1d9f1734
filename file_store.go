package snapauth

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/snapauth/snapauth/internal/keylock"
	"golang.org/x/oauth2"
)

// FileStore is a TokenStore keeping one file per key in a directory, for a
// single host: tokens survive restarts, and the processes of one host that
// share the directory share the tokens.
//
// Each token is a file of mode 0600 holding MarshalToken's JSON, named after
// the key: "t-" and the key in lower-case unpadded base32 when the key is
// at most 128 bytes, else "h-" and the hex SHA-256 of the key; then ".json".
// Any key works, including "", "../x", "a/b" and unicode. Saves are atomic
// and durable: a temporary file in the same directory is written, synced and
// renamed over the old file, then the directory is synced, so a reader sees
// the old token or the new one, never a mix, and a crash loses neither.
// A file that is corrupt or truncated is an error naming the file.
//
// FileStore implements Locker with flock(2) on a "<name>.lock" file beside
// the token file, so refreshes are serialised across the processes of the
// host. The unlock of a key without a token file (never saved, or deleted)
// removes its lock file; a waiter that locked the removed file notices and
// locks the new one, so the exclusion holds. flock is advisory and, on network file systems, may not
// be shared between hosts: use a shared store such as redisstore for a
// fleet. On systems without flock (Windows, Solaris, ...) the lock covers
// only the goroutines of one process.
type FileStore struct {
	dir   string
	locks *keylock.Set
}

// lockPoll is how often FileStore.Lock retries a flock held by another
// process (flock cannot be interrupted, so the wait polls).
const lockPoll = 10 * time.Millisecond

// NewFileStore returns a FileStore keeping its files in dir. If dir does not
// exist it is created, with its parents, with mode 0700. If it exists it must
// be a directory that neither its group nor others may read, write or search
// (mode 0700 or narrower, as with ~/.ssh); otherwise NewFileStore refuses it
// rather than change the mode of a directory it did not create: give it a
// subdirectory of its own or run chmod 700 on dir. (The check is skipped on
// Windows, where modes do not describe access.) A relative dir is made
// absolute at once.
func NewFileStore(dir string) (*FileStore, error) {
	if dir == "" {
		return nil, errors.New("snapauth: NewFileStore: empty directory name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("snapauth: NewFileStore: %w", err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return nil, fmt.Errorf("snapauth: NewFileStore: %w", err)
		}
		// MkdirAll's mode is filtered by the umask; set it exactly.
		if err := os.Chmod(abs, 0o700); err != nil {
			return nil, fmt.Errorf("snapauth: NewFileStore: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("snapauth: NewFileStore: %w", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("snapauth: NewFileStore: %s is not a directory", abs)
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("snapauth: NewFileStore: directory %s has mode %#o, open to its group or others; "+
			"tokens need a directory of mode 0700 (chmod 700 %s, or name a new subdirectory)", abs, fi.Mode().Perm(), abs)
	}
	return &FileStore{dir: abs, locks: new(keylock.Set)}, nil
}

// Dir returns the store's directory, an absolute path.
func (s *FileStore) Dir() string { return s.dir }

// String describes the store by its directory.
func (s *FileStore) String() string { return "snapauth.FileStore(" + s.dir + ")" }

// GoString is String, for the %#v verb.
func (s *FileStore) GoString() string { return s.String() }

var fileNameEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// fileStem returns the name, without extension, of key's files. Base32 in
// lower case is safe on every file system, case-insensitive ones included;
// a long key is hashed so that the name stays under the usual 255-byte limit.
func fileStem(key string) string {
	if len(key) <= 128 {
		return "t-" + fileNameEncoding.EncodeToString([]byte(key))
	}
	sum := sha256.Sum256([]byte(key))
	return "h-" + hex.EncodeToString(sum[:])
}

// Path returns the path of the file holding key's token.
func (s *FileStore) Path(key string) string {
	return filepath.Join(s.dir, fileStem(key)+".json")
}

// Load returns the token stored under key, or ErrNoToken if its file does
// not exist. A file that cannot be decoded is an error naming the file, and
// so is a file its group or others may read or write (Save writes 0600): its
// tokens may have been read, or planted.
func (s *FileStore) Load(ctx context.Context, key string) (*oauth2.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := s.Path(key)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoToken
	}
	if err != nil {
		return nil, fmt.Errorf("snapauth: reading token file: %w", err)
	}
	defer f.Close()
	if err := checkTokenFileMode(f, path); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxTokenData+1))
	if err != nil {
		return nil, fmt.Errorf("snapauth: reading token file %s: %w", path, err)
	}
	t, err := UnmarshalToken(data)
	if err != nil {
		return nil, fmt.Errorf("snapauth: token file %s: %w", path, err)
	}
	return t, nil
}

// Save writes t to key's file atomically and durably, with mode 0600. It
// fails as MarshalToken does, or when the file system does.
func (s *FileStore) Save(ctx context.Context, key string, t *oauth2.Token) error {
	data, err := marshalToSave(ctx, t)
	if err != nil {
		return err
	}
	stem := fileStem(key)
	final := filepath.Join(s.dir, stem+".json")
	tmp, err := os.CreateTemp(s.dir, "."+stem+".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("snapauth: saving token: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("snapauth: saving token to %s: %w", final, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("snapauth: saving token to %s: %w", final, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("snapauth: saving token to %s: %w", final, err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		os.Remove(tmp.Name())
		done = true
		return fmt.Errorf("snapauth: saving token to %s: %w", final, err)
	}
	done = true
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("snapauth: saving token to %s: syncing the directory: %w", final, err)
	}
	return nil
}

// syncDir makes a rename in dir durable. Windows cannot sync a directory
// (and needs not), and some file systems refuse it with EINVAL.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// Lock takes key's lock: first among the goroutines of this process, then
// with flock(2) on key's lock file among processes, polling every 10 ms since
// flock cannot be interrupted. It waits until the lock is held or ctx ends
// (then it returns an error wrapping ctx.Err()). unlock is safe to call more
// than once.
func (s *FileStore) Lock(ctx context.Context, key string) (unlock func(), err error) {
	unlockLocal, err := s.locks.Lock(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("snapauth: waiting for a token lock: %w", err)
	}
	lockPath := filepath.Join(s.dir, fileStem(key)+".lock")
	unlockFile, err := lockFile(ctx, lockPath)
	if err != nil {
		unlockLocal()
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.dropLockFile(key, lockPath)
			unlockFile()
			unlockLocal()
		})
	}, nil
}

// checkTokenFileMode refuses a token file that is not a regular file or that
// its group or others may access (skipped on Windows, where modes do not
// describe access).
func checkTokenFileMode(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("snapauth: reading token file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("snapauth: token file %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("snapauth: token file %s has mode %#o, open to its group or others; its tokens may have been read: "+
			"revoke them if so, then chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return nil
}
