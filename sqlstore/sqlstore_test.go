package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/sqlstore"
	"github.com/snapauth/snapauth/storetest"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) snapauth.TokenStore { return newStore(t) })
}

// TestConformanceSmallPool runs the suite with a pool of two connections:
// 20 goroutines waiting on one key's lock hold no connection while they wait
// in the process, so the holder can still load and save.
func TestConformanceSmallPool(t *testing.T) {
	storetest.Run(t, func(t *testing.T) snapauth.TokenStore {
		db := openDB(t)
		db.SetMaxOpenConns(2)
		return sqlstore.New(db, sqlstore.WithTable(newStore(t).Table()))
	})
}

func TestNew(t *testing.T) {
	db := openDB(t)
	require.PanicsWithValue(t, "sqlstore: New: nil *sql.DB", func() { sqlstore.New(nil) })
	require.Equal(t, sqlstore.DefaultTable, sqlstore.New(db, sqlstore.WithTable("")).Table())
	for _, bad := range []string{"1abc", "a-b", `a"b`, "a.b.c", "a;drop table x", " a", strings.Repeat("x", 64)} {
		require.Panicsf(t, func() { sqlstore.New(db, sqlstore.WithTable(bad)) }, "table %q", bad)
	}
	require.Equal(t, sqlstore.DefaultTable, sqlstore.New(db).Table())
	s := sqlstore.New(db, sqlstore.WithTable("auth.Tokens"))
	require.Equal(t, "auth.Tokens", s.Table())
	require.Contains(t, s.Schema(), `CREATE TABLE "auth"."Tokens" (`)
	require.Contains(t, s.Schema(), `COMMENT ON TABLE "auth"."Tokens" IS 'snapauth sqlstore schema version 1';`)
	require.Equal(t, "sqlstore.Store(table auth.Tokens)", s.String())
	require.Equal(t, s.String(), fmt.Sprintf("%#v", s))
}

// TestMigrate: Migrate is idempotent, safe when 8 replicas call it at once,
// and works in a schema of the database's own; the Schema SQL gives a table
// the store accepts.
func TestMigrate(t *testing.T) {
	ctx := testContext(t)
	db := openDB(t)
	table := testTable(t, db)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- sqlstore.New(openDB(t), sqlstore.WithTable(table)).Migrate(ctx) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	s := sqlstore.New(db, sqlstore.WithTable(table))
	require.NoError(t, s.Save(ctx, "k", &oauth2.Token{AccessToken: "a"}))
	require.NoError(t, s.Migrate(ctx), "again, on a table with rows")
	got, err := s.Load(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "a", got.AccessToken, "Migrate kept the rows")

	// A team's own migration: the SQL of Schema, in a schema of its own.
	_, err = db.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS sqlstore_test_auth`)
	require.NoError(t, err)
	t.Cleanup(func() { db.Exec(`DROP SCHEMA sqlstore_test_auth CASCADE`) })
	own := sqlstore.New(db, sqlstore.WithTable("sqlstore_test_auth.Tokens"))
	_, err = db.ExecContext(ctx, own.Schema())
	require.NoError(t, err)
	require.NoError(t, own.Save(ctx, "k", &oauth2.Token{AccessToken: "b"}))
	require.NoError(t, own.Migrate(ctx))
	got, err = own.Load(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "b", got.AccessToken)
}

func TestDelete(t *testing.T) {
	ctx := testContext(t)
	s := newStore(t)
	tok := func(at, rt string) *oauth2.Token {
		return (&oauth2.Token{AccessToken: at, RefreshToken: rt, Expiry: time.Now().Add(time.Hour)}).
			WithExtra(map[string]any{"refreshTokenExpiryTime": "2031-05-05T06:07:08+07:00"})
	}

	// Absent key, with and without old: no error.
	require.NoError(t, s.Delete(ctx, "absent", nil))
	require.NoError(t, s.Delete(ctx, "absent", tok("a", "r")))

	// Matching old: removed. The comparison is on the two tokens, not on
	// every field: old may come from the token source, without extras.
	require.NoError(t, s.Save(ctx, "k", tok("a1", "r1")))
	require.NoError(t, s.Delete(ctx, "k", &oauth2.Token{AccessToken: "a1", RefreshToken: "r1"}))
	_, err := s.Load(ctx, "k")
	require.ErrorIs(t, err, snapauth.ErrNoToken)

	// Non-matching old: a newer token saved by another replica survives,
	// whether the access token or the refresh token differs.
	require.NoError(t, s.Save(ctx, "k", tok("a2", "r2")))
	for _, old := range []*oauth2.Token{tok("a1", "r1"), tok("a2", "r1"), tok("a1", "r2"), tok("a2", "")} {
		require.NoError(t, s.Delete(ctx, "k", old))
		got, err := s.Load(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, "r2", got.RefreshToken, "a newer token was deleted by old %s/%s", old.AccessToken, old.RefreshToken)
	}

	// Nil old: removed whatever it holds; other keys stay.
	require.NoError(t, s.Save(ctx, "other", tok("o", "ro")))
	require.NoError(t, s.Delete(ctx, "k", nil))
	_, err = s.Load(ctx, "k")
	require.ErrorIs(t, err, snapauth.ErrNoToken)
	got, err := s.Load(ctx, "other")
	require.NoError(t, err)
	require.Equal(t, "o", got.AccessToken)

	// A row that is not a token: with old it is reported and kept, with
	// nil it is removed.
	_, err = s.DB().ExecContext(ctx, `INSERT INTO `+s.Table()+` (key, token) VALUES ('junk', 'SECRET-junk')`)
	require.NoError(t, err)
	err = s.Delete(ctx, "junk", tok("a", "r"))
	require.ErrorIs(t, err, sqlstore.ErrNotAToken)
	require.NotContains(t, err.Error(), "SECRET")
	require.NoError(t, s.Delete(ctx, "junk", nil))
	_, err = s.Load(ctx, "junk")
	require.ErrorIs(t, err, snapauth.ErrNoToken)
}

// TestDeleteRace: a Delete with an old token racing replicas that save newer
// tokens never removes a token other than old.
func TestDeleteRace(t *testing.T) {
	ctx := testContext(t)
	s := newStore(t)
	for i := range 50 {
		old := &oauth2.Token{AccessToken: fmt.Sprintf("a%d", i), RefreshToken: fmt.Sprintf("r%d", i)}
		newer := &oauth2.Token{AccessToken: fmt.Sprintf("a%d+", i), RefreshToken: fmt.Sprintf("r%d+", i)}
		require.NoError(t, s.Save(ctx, "k", old))
		var wg sync.WaitGroup
		wg.Go(func() { require.NoError(t, s.Save(ctx, "k", newer)) })
		wg.Go(func() { require.NoError(t, s.Delete(ctx, "k", old)) })
		wg.Wait()
		// Whichever came first, the newer token is there.
		got, err := s.Load(ctx, "k")
		require.NoErrorf(t, err, "round %d: the newer token was deleted", i)
		require.Equal(t, newer.RefreshToken, got.RefreshToken)
	}
}

func TestKeys(t *testing.T) {
	ctx := testContext(t)
	s := newStore(t)
	for _, bad := range []string{"nul\x00key", "\xff\xfe", strings.Repeat("k", sqlstore.MaxKeyLen+1)} {
		_, err := s.Load(ctx, bad)
		require.Error(t, err)
		require.NotErrorIs(t, err, snapauth.ErrNoToken)
		require.Error(t, s.Save(ctx, bad, &oauth2.Token{AccessToken: "a"}))
		require.Error(t, s.Delete(ctx, bad, nil))
		unlock, err := s.Lock(ctx, bad) // any key can be locked
		require.NoError(t, err)
		unlock()
	}
	long := strings.Repeat("ключ", sqlstore.MaxKeyLen/len("ключ"))
	require.NoError(t, s.Save(ctx, long, &oauth2.Token{AccessToken: "long"}))
	got, err := s.Load(ctx, long)
	require.NoError(t, err)
	require.Equal(t, "long", got.AccessToken)

	seen := map[int64]string{}
	for _, key := range storetest.OddKeys {
		id := s.LockID(key)
		require.NotContainsf(t, seen, id, "keys %q and %q share a lock", key, seen[id])
		seen[id] = key
	}
	other := sqlstore.New(s.DB(), sqlstore.WithTable("other_table"))
	require.NotEqual(t, s.LockID("k"), other.LockID("k"), "tables share locks")
}
