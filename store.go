package snapauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
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

	"golang.org/x/oauth2"
)

// ErrNoToken is returned by TokenStore.Load when the store holds no token
// under the key.
var ErrNoToken = errors.New("snapauth: no token stored")

// TokenStore keeps tokens under string keys, so that they survive restarts
// and are shared by every replica of a service. Implementations must be safe
// for concurrent use and must keep every field of the token: AccessToken,
// TokenType, RefreshToken, Expiry, ExpiresIn and the extras listed in
// StoredExtras.
type TokenStore interface {
	// Load returns the token stored under key, or ErrNoToken.
	Load(ctx context.Context, key string) (*oauth2.Token, error)
	// Save stores t under key, replacing any token there.
	Save(ctx context.Context, key string, t *oauth2.Token) error
}

// Locker is implemented by a TokenStore that can serialise the refreshes of
// one key, across goroutines and, for shared stores, across processes.
// Lock blocks until the key's lock is held or ctx ends; the returned unlock
// releases it and is safe to call more than once.
type Locker interface {
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// StoredExtras are the names of the token extras (oauth2.Token.Extra) that a
// TokenStore persists beside the token's own fields.
var StoredExtras = []string{"refreshTokenExpiryTime", "accessTokenExpiryTime", "responseCode", "responseMessage", "additionalInfo"}

// TokenFormatVersion is the version of the JSON encoding written by
// MarshalToken. UnmarshalToken refuses any other version.
const TokenFormatVersion = 1

// maxTokenData bounds the size of one stored token (a SNAP access token is at
// most a few KiB; the bound only stops a runaway file from being read whole).
const maxTokenData = 1 << 20

// storedToken is the JSON encoding of a token, version 1.
type storedToken struct {
	Version      int                        `json:"version"`
	AccessToken  string                     `json:"access_token,omitempty"`
	TokenType    string                     `json:"token_type,omitempty"`
	RefreshToken string                     `json:"refresh_token,omitempty"`
	Expiry       string                     `json:"expiry,omitempty"`
	ExpiresIn    int64                      `json:"expires_in,omitempty"`
	Extra        map[string]json.RawMessage `json:"extra,omitempty"`
}

// MarshalToken encodes t as the JSON document the stores of this package
// (and redisstore) keep:
//
//	{"version":1,"access_token":"…","token_type":"Bearer","refresh_token":"…",
//	 "expiry":"2026-11-22T09:15:00.123456789+07:00","expires_in":900,
//	 "extra":{"refreshTokenExpiryTime":"…"}}
//
// Expiry is written in RFC 3339 with nanoseconds and t's zone offset, and
// omitted when zero. The extras named in StoredExtras that t holds (non-nil
// t.Extra(name)) are kept with their JSON types. Other extras are dropped.
// A nil token, a token with neither an access token nor a refresh token, an
// expiry outside the years 0-9999 or an extra that is not valid JSON is an
// error; the error never contains token text.
func MarshalToken(t *oauth2.Token) ([]byte, error) {
	if t == nil {
		return nil, errors.New("snapauth: cannot store a nil token")
	}
	if t.AccessToken == "" && t.RefreshToken == "" {
		return nil, errors.New("snapauth: cannot store a token with neither an access token nor a refresh token")
	}
	st := storedToken{
		Version:      TokenFormatVersion,
		AccessToken:  t.AccessToken,
		TokenType:    t.TokenType,
		RefreshToken: t.RefreshToken,
		ExpiresIn:    t.ExpiresIn,
	}
	if !t.Expiry.IsZero() {
		if y := t.Expiry.Year(); y < 0 || y > 9999 {
			return nil, errors.New("snapauth: cannot store a token whose expiry is outside the years 0-9999")
		}
		st.Expiry = t.Expiry.Format(time.RFC3339Nano)
	}
	for _, name := range StoredExtras {
		v := t.Extra(name)
		if v == nil {
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("snapauth: token extra %q cannot be stored as JSON", name)
		}
		if st.Extra == nil {
			st.Extra = make(map[string]json.RawMessage)
		}
		st.Extra[name] = raw
	}
	data, err := json.Marshal(st)
	if err != nil {
		return nil, errors.New("snapauth: token cannot be encoded as JSON")
	}
	return data, nil
}

// UnmarshalToken decodes a token written by MarshalToken. Numbers among the
// extras come back as json.Number, objects as map[string]any, arrays as
// []any. The expiry comes back as the same instant to the nanosecond, in a
// fixed zone with the offset it was written with (compare with
// time.Time.Equal). Empty, truncated or malformed data, another format
// version, a malformed expiry and a token with neither an access token nor a
// refresh token are errors, never an empty token; an error names the
// offending field or byte offset but never contains token text.
func UnmarshalToken(data []byte) (*oauth2.Token, error) {
	if len(data) > maxTokenData {
		return nil, fmt.Errorf("snapauth: stored token is larger than %d bytes", maxTokenData)
	}
	var st storedToken
	if err := json.Unmarshal(data, &st); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case len(bytes.TrimSpace(data)) == 0:
			return nil, errors.New("snapauth: stored token is empty")
		case errors.As(err, &syn):
			return nil, fmt.Errorf("snapauth: stored token is truncated or not valid JSON (at byte %d)", syn.Offset)
		case errors.As(err, &typ) && typ.Field != "":
			return nil, fmt.Errorf("snapauth: stored token field %q has the wrong JSON type", typ.Field)
		}
		return nil, errors.New("snapauth: stored token is not a JSON object of the expected shape")
	}
	if st.Version != TokenFormatVersion {
		if st.Version < 0 || st.Version > 1000 {
			// Not a version any snapauth wrote: say so without echoing the file.
			return nil, fmt.Errorf("snapauth: stored token has an invalid format version; this version of snapauth reads version %d", TokenFormatVersion)
		}
		return nil, fmt.Errorf("snapauth: stored token has format version %d; this version of snapauth reads version %d", st.Version, TokenFormatVersion)
	}
	if st.AccessToken == "" && st.RefreshToken == "" {
		return nil, errors.New("snapauth: stored token holds neither an access token nor a refresh token")
	}
	t := &oauth2.Token{
		AccessToken:  st.AccessToken,
		TokenType:    st.TokenType,
		RefreshToken: st.RefreshToken,
		ExpiresIn:    st.ExpiresIn,
	}
	if st.Expiry != "" {
		exp, err := time.Parse(time.RFC3339Nano, st.Expiry)
		if err != nil {
			return nil, errors.New("snapauth: stored token expiry is not an RFC 3339 time")
		}
		t.Expiry = exp
	}
	if len(st.Extra) > 0 {
		extra := make(map[string]any, len(st.Extra))
		for name, raw := range st.Extra {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				return nil, fmt.Errorf("snapauth: stored token extra %q is not valid JSON", name)
			}
			extra[name] = v
		}
		t = t.WithExtra(extra)
	}
	return t, nil
}

// MemoryStore is a TokenStore in the process's memory, for tests and for a
// single process that needs no persistence. It keeps an encoded copy of each
// token (as MarshalToken does), so neither the caller's token nor a loaded
// token shares anything with what the store holds. It implements Locker with
// a per-key lock inside the process. The zero value is not usable: call
// NewMemoryStore. Its String method does not print tokens.
type MemoryStore struct {
	s *memoryState // behind a pointer, so that no format verb can print tokens
}

type memoryState struct {
	mu     sync.RWMutex
	tokens map[string][]byte
	locks  keyLocks
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{s: &memoryState{tokens: make(map[string][]byte)}}
}

// Load returns a copy of the token stored under key, or ErrNoToken.
func (m *MemoryStore) Load(ctx context.Context, key string) (*oauth2.Token, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.s.mu.RLock()
	data, ok := m.s.tokens[key]
	m.s.mu.RUnlock()
	if !ok {
		return nil, ErrNoToken
	}
	return UnmarshalToken(data)
}

// Save stores a copy of t under key. It fails as MarshalToken does.
func (m *MemoryStore) Save(ctx context.Context, key string, t *oauth2.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := MarshalToken(t)
	if err != nil {
		return err
	}
	m.s.mu.Lock()
	m.s.tokens[key] = data
	m.s.mu.Unlock()
	return nil
}

// Lock takes key's lock within this process, waiting until it is free or
// ctx ends (then it returns an error wrapping ctx.Err()). unlock is safe to
// call more than once.
func (m *MemoryStore) Lock(ctx context.Context, key string) (unlock func(), err error) {
	return m.s.locks.lock(ctx, key)
}

// String describes the store without its tokens.
func (m *MemoryStore) String() string {
	m.s.mu.RLock()
	defer m.s.mu.RUnlock()
	return fmt.Sprintf("snapauth.MemoryStore(%d tokens)", len(m.s.tokens))
}

// GoString is String, for the %#v verb.
func (m *MemoryStore) GoString() string { return m.String() }

// keyLocks is a set of per-key locks within one process whose waiters give
// up when their context ends.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	held chan struct{} // holds one element while the lock is taken
	refs int           // holders and waiters; the entry is dropped at zero
}

func (l *keyLocks) lock(ctx context.Context, key string) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("snapauth: waiting for a token lock: %w", err)
	}
	l.mu.Lock()
	if l.m == nil {
		l.m = make(map[string]*keyLock)
	}
	kl := l.m[key]
	if kl == nil {
		kl = &keyLock{held: make(chan struct{}, 1)}
		l.m[key] = kl
	}
	kl.refs++
	l.mu.Unlock()
	select {
	case kl.held <- struct{}{}:
	case <-ctx.Done():
		l.release(key, kl)
		return nil, fmt.Errorf("snapauth: waiting for a token lock: %w", ctx.Err())
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-kl.held
			l.release(key, kl)
		})
	}, nil
}

func (l *keyLocks) release(key string, kl *keyLock) {
	l.mu.Lock()
	kl.refs--
	if kl.refs == 0 {
		delete(l.m, key)
	}
	l.mu.Unlock()
}

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
// host (lock files are left in place; removing them while in use would break
// the exclusion). flock is advisory and, on network file systems, may not
// be shared between hosts: use a shared store such as redisstore for a
// fleet. On systems without flock (Windows, Solaris, ...) the lock covers
// only the goroutines of one process.
type FileStore struct {
	dir   string
	locks *keyLocks
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
	return &FileStore{dir: abs, locks: new(keyLocks)}, nil
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
// not exist. A file that cannot be decoded is an error naming the file.
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
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := MarshalToken(t)
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
	unlockLocal, err := s.locks.lock(ctx, key)
	if err != nil {
		return nil, err
	}
	unlockFile, err := lockFile(ctx, filepath.Join(s.dir, fileStem(key)+".lock"))
	if err != nil {
		unlockLocal()
		return nil, err
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			unlockFile()
			unlockLocal()
		})
	}, nil
}
