// Package sqlstore is a snapauth.TokenStore in PostgreSQL, for merchants
// whose linked customers live in the relational database they already run:
// one B2B token fetched per expiry for a whole fleet of replicas, and a
// customer's rotating B2B2C refresh token spent by one replica at a time.
//
// A Store keeps each token as the bytes of snapauth.MarshalToken in one row
// of one table (see Store.Schema), and implements snapauth.Locker with a
// PostgreSQL transaction-level advisory lock held for the refresh: the
// database serialises the fleet, and a replica that dies releases the lock
// as its session ends. The Store takes a *sql.DB, so the application brings
// its own driver; the tests use pgx's database/sql adapter.
//
//	db, err := sql.Open("pgx", "postgres://app@db/shop")
//	store := sqlstore.New(db)
//	err = store.Migrate(ctx) // or run the SQL of store.Schema() in your migrations
//	src := b2bConfig.StoredTokenSource(ctx, store, "b2b")
package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/keylock"
	"golang.org/x/oauth2"
)

// DefaultTable is the name of the table of a Store unless WithTable says
// otherwise.
const DefaultTable = "snapauth_tokens"

// SchemaVersion is the version of the table layout this package reads and
// writes. Migrate writes it into the table's comment; a table whose comment
// names another version is refused with ErrSchemaVersion.
const SchemaVersion = 1

// MaxKeyLen is the longest key, in bytes, that Load, Save and Delete accept
// (a PostgreSQL index entry is limited to about 2.7 kB).
const MaxKeyLen = 2048

// schemaComment is the comment Migrate puts on the table, with its version.
const schemaComment = "snapauth sqlstore schema version "

var (
	// ErrNoTable is wrapped by the errors of a Store whose table does not
	// exist: call Store.Migrate, or run the SQL of Store.Schema.
	ErrNoTable = errors.New("sqlstore: token table does not exist")
	// ErrSchemaVersion is wrapped by the errors of a Store whose table
	// exists but is not a token table of SchemaVersion: another version,
	// another application's table of the same name, or missing columns.
	ErrSchemaVersion = errors.New("sqlstore: token table is not of this package's schema version")
	// ErrNotAToken is wrapped by the error of a Load (or a Delete with an
	// old token) that finds a row whose value snapauth.UnmarshalToken
	// refuses. The error names the key and the table, never the row's bytes.
	ErrNotAToken = errors.New("sqlstore: stored value is not a token")
)

// Store is a snapauth.TokenStore and snapauth.Locker in a PostgreSQL table.
// It is safe for concurrent use, and any number of Stores (in any number of
// processes) on the same table of the same database share tokens and locks.
// Create it with New. Its String method names its table, never a token.
type Store struct {
	db    *sql.DB
	table string // as given to WithTable
	ident string // table as a quoted SQL identifier
	q     queries
	locks *keylock.Set
	ok    atomic.Bool // the table was found of SchemaVersion
}

type queries struct {
	load, save, del, delIf string
}

// An Option changes a default of New.
type Option func(*Store)

// identRE is what WithTable accepts: a name or schema.name of letters,
// digits and underscores, not starting with a digit.
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// WithTable sets the table of the store (default DefaultTable), optionally
// qualified by its schema ("auth.snap_tokens"). The name is quoted, so it is
// case-sensitive. It must be at most 63 bytes per part, of ASCII letters,
// digits and underscores, not starting with a digit; New panics otherwise.
// The empty name means DefaultTable.
func WithTable(name string) Option {
	return func(s *Store) {
		if name != "" {
			s.table = name
		}
	}
}

// New returns a Store keeping tokens in db's table DefaultTable (see
// WithTable). New does not touch the database: the table is checked on the
// first use, and created by Migrate. db must not be nil, and a table name
// given with WithTable must be valid; New panics otherwise, as both are
// mistakes in the program. db's pool must allow at least two connections
// per key being refreshed at once (one holds the lock, one loads and
// saves); the default, no limit, does.
func New(db *sql.DB, opts ...Option) *Store {
	if db == nil {
		panic("sqlstore: New: nil *sql.DB")
	}
	s := &Store{db: db, table: DefaultTable, locks: new(keylock.Set)}
	for _, opt := range opts {
		opt(s)
	}
	if !identRE.MatchString(s.table) {
		panic(fmt.Sprintf("sqlstore: New: invalid table name %q", s.table))
	}
	parts := strings.Split(s.table, ".")
	for i, p := range parts {
		if len(p) > 63 {
			panic(fmt.Sprintf("sqlstore: New: table name %q has a part longer than 63 bytes", s.table))
		}
		parts[i] = `"` + p + `"`
	}
	s.ident = strings.Join(parts, ".")
	s.q = queries{
		load: `SELECT token FROM ` + s.ident + ` WHERE key = $1`,
		save: `INSERT INTO ` + s.ident + ` (key, token, updated_at) VALUES ($1, $2, now()) ` +
			`ON CONFLICT (key) DO UPDATE SET token = EXCLUDED.token, updated_at = EXCLUDED.updated_at`,
		del:   `DELETE FROM ` + s.ident + ` WHERE key = $1`,
		delIf: `DELETE FROM ` + s.ident + ` WHERE key = $1 AND token = $2`,
	}
	return s
}

// DB returns the database the store was created with.
func (s *Store) DB() *sql.DB { return s.db }

// Table returns the table's name as given to WithTable (or DefaultTable).
func (s *Store) Table() string { return s.table }

// sqlStater is implemented by the errors of pgx (*pgconn.PgError) and
// lib/pq (*pq.Error).
type sqlStater interface{ SQLState() string }

// dbError wraps err of the statement doing what; a table that vanished or
// changed since it was checked is reported as such.
func (s *Store) dbError(what string, err error) error {
	var st sqlStater
	if errors.As(err, &st) {
		switch st.SQLState() {
		case "42P01": // undefined_table
			s.ok.Store(false)
			return fmt.Errorf("sqlstore: %s: %w: %s (%w)", what, ErrNoTable, s.table, err)
		case "42703", "42804", "42P10": // undefined_column, datatype_mismatch, invalid_column_reference (no unique key)
			s.ok.Store(false)
			return fmt.Errorf("sqlstore: %s: %w: %s (%w)", what, ErrSchemaVersion, s.table, err)
		}
	}
	return fmt.Errorf("sqlstore: %s in %s: %w", what, s.table, err)
}

// checkKey refuses keys PostgreSQL's text cannot hold or index.
func checkKey(key string) error {
	switch {
	case len(key) > MaxKeyLen:
		return fmt.Errorf("sqlstore: key of %d bytes is longer than %d", len(key), MaxKeyLen)
	case !utf8.ValidString(key) || strings.IndexByte(key, 0) >= 0:
		return errors.New("sqlstore: key is not valid UTF-8 or holds a NUL byte")
	}
	return nil
}

// Load returns the token stored under key, or snapauth.ErrNoToken. A row
// that cannot be decoded is an error wrapping ErrNotAToken; a missing table
// wraps ErrNoTable; neither contains token text.
func (s *Store) Load(ctx context.Context, key string) (*oauth2.Token, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	var data []byte
	err := s.db.QueryRowContext(ctx, s.q.load, key).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, snapauth.ErrNoToken
	}
	if err != nil {
		return nil, s.dbError(fmt.Sprintf("loading %q", key), err)
	}
	t, err := snapauth.UnmarshalToken(data)
	if err != nil {
		return nil, &rowError{key: key, table: s.table, err: err}
	}
	return t, nil
}

// Save stores t under key, replacing the token there, in one statement
// (INSERT ... ON CONFLICT DO UPDATE), so a reader sees the old token or the
// new one. It fails as snapauth.MarshalToken does, or when the database
// does; the error never contains token text.
func (s *Store) Save(ctx context.Context, key string, t *oauth2.Token) error {
	data, err := snapauth.MarshalToken(t)
	if err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.ready(ctx); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, s.q.save, key, data); err != nil {
		return s.dbError(fmt.Sprintf("saving %q", key), err)
	}
	return nil
}

// Delete removes the token stored under key. When old is not nil it removes it only while the
// store still holds that same token (same AccessToken and RefreshToken), so a newer token saved
// by another replica survives. A key that is absent, or that holds another token, is not an error.
//
// With old, Delete reads the row, compares, and deletes it only if it
// still holds the bytes read (a compare-and-delete, so a Save between the
// two statements survives). A row that is not a token is then an error
// wrapping ErrNotAToken and is left in place; Delete(ctx, key, nil) removes
// it.
func (s *Store) Delete(ctx context.Context, key string, old *oauth2.Token) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.ready(ctx); err != nil {
		return err
	}
	if old == nil {
		if _, err := s.db.ExecContext(ctx, s.q.del, key); err != nil {
			return s.dbError(fmt.Sprintf("deleting %q", key), err)
		}
		return nil
	}
	var data []byte
	err := s.db.QueryRowContext(ctx, s.q.load, key).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return s.dbError(fmt.Sprintf("deleting %q", key), err)
	}
	cur, err := snapauth.UnmarshalToken(data)
	if err != nil {
		return &rowError{key: key, table: s.table, err: err}
	}
	if cur.AccessToken != old.AccessToken || cur.RefreshToken != old.RefreshToken {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, s.q.delIf, key, data); err != nil {
		return s.dbError(fmt.Sprintf("deleting %q", key), err)
	}
	return nil
}

// rowError reports a row that is not a token; it matches ErrNotAToken.
type rowError struct {
	key, table string
	err        error // from UnmarshalToken, which never quotes token text
}

func (e *rowError) Error() string {
	return fmt.Sprintf("sqlstore: row %q of table %s is not a token: %v", e.key, e.table, e.err)
}

func (e *rowError) Unwrap() error        { return e.err }
func (e *rowError) Is(target error) bool { return target == ErrNotAToken }

// LockID returns the advisory lock key (a bigint) Lock takes for key: the
// first 8 bytes of the SHA-256 of the table name and key, so that keys and
// tables do not share locks. In pg_locks it shows as locktype 'advisory'
// with classid and objid the high and low 32 bits, objsubid 1.
func (s *Store) LockID(key string) int64 {
	return s.lockID("\x01" + key)
}

func (s *Store) lockID(name string) int64 {
	sum := sha256.Sum256([]byte("snapauth sqlstore\x00" + s.ident + "\x00" + name))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// Lock takes key's lock for the whole fleet: first among the goroutines of
// this process, then in PostgreSQL with pg_advisory_xact_lock(LockID(key))
// in a transaction of its own, on a connection it holds until unlock. It
// waits until the lock is held or ctx ends (then the error wraps ctx.Err()),
// and returns a database failure at once. The lock lasts until unlock, or
// until ctx ends (database/sql then rolls the transaction back), or until
// the session ends: a replica that dies or loses its connection releases it
// at once. unlock rolls the transaction back and is safe to call more than
// once. The connection must reach PostgreSQL as one session for the
// transaction (direct, or a pooler in session or transaction mode), and the
// server's idle_in_transaction_session_timeout, if set, must exceed the
// refresh (snapauth.DefaultFetchTimeout). A pool limited to one connection
// is refused with an error, since the holder could not save.
func (s *Store) Lock(ctx context.Context, key string) (unlock func(), err error) {
	if s.db.Stats().MaxOpenConnections == 1 {
		// The holder's Load and Save would wait for the connection the lock holds.
		return nil, errors.New("sqlstore: Lock needs a pool of at least two connections (sql.DB.SetMaxOpenConns)")
	}
	unlockLocal, err := s.locks.Lock(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: waiting for the lock of %q: %w", key, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err == nil {
		_, err = tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, s.LockID(key))
		if err != nil {
			_ = tx.Rollback()
		}
	}
	if err != nil {
		unlockLocal()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("sqlstore: waiting for the lock of %q: %w", key, ctx.Err())
		}
		return nil, fmt.Errorf("sqlstore: locking %q: %w", key, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = tx.Rollback() // a failure means the session ended, and the lock with it
			unlockLocal()
		})
	}, nil
}

// String describes the store by its table.
func (s *Store) String() string { return "sqlstore.Store(table " + s.table + ")" }

// GoString is String, for the %#v verb.
func (s *Store) GoString() string { return s.String() }

var (
	_ snapauth.TokenStore = (*Store)(nil)
	_ snapauth.Locker     = (*Store)(nil)
)
