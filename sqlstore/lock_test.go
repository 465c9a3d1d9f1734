package sqlstore_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/snapauth/snapauth/sqlstore"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// replicas returns n Stores on one table, each with a pool of its own, as n
// processes would have: only PostgreSQL's lock is shared between them.
func replicas(t *testing.T, n int) []*sqlstore.Store {
	first := newStore(t)
	stores := []*sqlstore.Store{first}
	for len(stores) < n {
		stores = append(stores, sqlstore.New(openDB(t), sqlstore.WithTable(first.Table())))
	}
	return stores
}

// advisoryHolders returns the backend pids holding Lock's advisory lock of
// key, as pg_locks shows it.
func advisoryHolders(t *testing.T, db *sql.DB, s *sqlstore.Store, key string) []int {
	t.Helper()
	return advisorySessions(t, db, s, key, true)
}

// advisorySessions returns the backend pids holding (granted) or waiting
// for Lock's advisory lock of key; on a query error it fails t and returns
// nil, so it may run in require.Eventually's goroutine.
func advisorySessions(t *testing.T, db *sql.DB, s *sqlstore.Store, key string, granted bool) []int {
	id := uint64(s.LockID(key))
	rows, err := db.Query(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted = $3
		AND classid = $1 AND objid = $2 AND objsubid = 1`, int64(id>>32), int64(id&0xffffffff), granted)
	if err != nil {
		t.Error(err)
		return nil
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Error(err)
			return nil
		}
		pids = append(pids, pid)
	}
	if err := rows.Err(); err != nil {
		t.Error(err)
	}
	return pids
}

// TestLockAcrossReplicas: 4 replicas incrementing a counter row under the
// lock lose no update; the exclusion is PostgreSQL's alone.
func TestLockAcrossReplicas(t *testing.T) {
	ctx := testContext(t)
	stores := replicas(t, 4)
	db := stores[0].DB()
	table := testTable(t, db)
	_, err := db.ExecContext(ctx, `CREATE TABLE `+table+` (n int NOT NULL)`)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `INSERT INTO `+table+` VALUES (0)`)
	require.NoError(t, err)
	const rounds = 10
	var wg sync.WaitGroup
	for _, s := range stores {
		wg.Go(func() {
			for range rounds {
				unlock, err := s.Lock(ctx, "counter")
				if !assertNoError(t, err) {
					return
				}
				// Read, then write: two statements an overlap would interleave.
				var n int
				err = s.DB().QueryRowContext(ctx, `SELECT n FROM `+table).Scan(&n)
				if assertNoError(t, err) {
					_, err = s.DB().ExecContext(ctx, `UPDATE `+table+` SET n = $1`, n+1)
					assertNoError(t, err)
				}
				unlock()
			}
		})
	}
	wg.Wait()
	var n int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT n FROM `+table).Scan(&n))
	require.Equal(t, len(stores)*rounds, n, "updates lost: replicas overlapped under the lock")
}

func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}

// TestLockInDatabase: the lock is an advisory lock PostgreSQL shows in
// pg_locks while held, and gone after unlock.
func TestLockInDatabase(t *testing.T) {
	ctx := testContext(t)
	s := newStore(t)
	unlock, err := s.Lock(ctx, "customer-42")
	require.NoError(t, err)
	require.Len(t, advisoryHolders(t, s.DB(), s, "customer-42"), 1)
	require.Empty(t, advisoryHolders(t, s.DB(), s, "customer-43"))
	unlock()
	require.Empty(t, advisoryHolders(t, s.DB(), s, "customer-42"))
}

// TestLockWaitInDatabaseEnds: a replica waiting in pg_advisory_xact_lock
// gives up when its context ends, and leaves neither a lock nor a waiting
// session behind.
func TestLockWaitInDatabaseEnds(t *testing.T) {
	ctx := testContext(t)
	r := replicas(t, 2)
	unlock, err := r[0].Lock(ctx, "k")
	require.NoError(t, err)

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = r[1].Lock(short, "k")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 2*time.Second)

	canceled, cancelNow := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := r[1].Lock(canceled, "k"); done <- err }()
	require.Eventually(t, func() bool { return len(advisorySessions(t, r[0].DB(), r[0], "k", false)) == 1 }, 10*time.Second, 5*time.Millisecond,
		"the waiter is in PostgreSQL")
	cancelNow()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("Lock did not return after its context was canceled")
	}

	unlock()
	require.Eventually(t, func() bool { return len(advisoryHolders(t, r[0].DB(), r[0], "k")) == 0 }, 10*time.Second, 5*time.Millisecond,
		"a waiter that gave up holds the lock")
	again, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	u, err := r[1].Lock(again, "k")
	require.NoError(t, err, "the lock is usable after waiters gave up")
	u()
}

// TestLockEndsWithContext: a lock whose holder's context ends is released
// by database/sql's rollback, even if unlock is never called.
func TestLockEndsWithContext(t *testing.T) {
	ctx := testContext(t)
	r := replicas(t, 2)
	holderCtx, cancel := context.WithCancel(ctx)
	_, err := r[0].Lock(holderCtx, "k")
	require.NoError(t, err)
	cancel()
	wait, cancel2 := context.WithTimeout(ctx, 5*time.Second)
	defer cancel2()
	u, err := r[1].Lock(wait, "k")
	require.NoError(t, err)
	u()
}

// TestLockReleasedWhenSessionEnds: the holder's session is terminated (its
// replica died, or its connection dropped): the next replica gets the lock
// at once, and the late unlock is harmless.
func TestLockReleasedWhenSessionEnds(t *testing.T) {
	ctx := testContext(t)
	r := replicas(t, 2)
	unlock, err := r[0].Lock(ctx, "k")
	require.NoError(t, err)
	pids := advisoryHolders(t, r[1].DB(), r[0], "k")
	require.Len(t, pids, 1)

	got := make(chan error, 1)
	go func() {
		u, err := r[1].Lock(ctx, "k")
		if err == nil {
			u()
		}
		got <- err
	}()
	var ok bool
	require.NoError(t, r[1].DB().QueryRowContext(ctx, `SELECT pg_terminate_backend($1)`, pids[0]).Scan(&ok))
	require.True(t, ok)
	select {
	case err := <-got:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the lock of a terminated session was not released")
	}
	unlock() // its connection is gone: a no-op
	u, err := r[0].Lock(ctx, "k")
	require.NoError(t, err, "the replica whose session died can lock again")
	u()
}

// TestLockOneConnectionPool: a pool of one connection would leave the
// holder unable to save; Lock says so at once instead of hanging.
func TestLockOneConnectionPool(t *testing.T) {
	ctx := testContext(t)
	s := newStore(t)
	s.DB().SetMaxOpenConns(1)
	_, err := s.Lock(ctx, "k")
	require.ErrorContains(t, err, "at least two connections")
	require.NoError(t, ctx.Err())
	s.DB().SetMaxOpenConns(2)
	unlock, err := s.Lock(ctx, "k")
	require.NoError(t, err)
	require.NoError(t, s.Save(ctx, "k", &oauth2.Token{AccessToken: "a"}), "the holder saves on the second connection")
	unlock()
}
