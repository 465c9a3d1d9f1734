package sqlstore_test

// The fleet tests run 8 copies of this test binary as separate OS processes
// (TestHelperProcess, selected by $SQLSTORE_FLEET), sharing one PostgreSQL
// table and one snaptest provider served by the parent: the scenarios of
// internal/fleet, with what is PostgreSQL's own (the table, pg_locks) here.

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/snapauth/snapauth/internal/fleet"
	"github.com/snapauth/snapauth/sqlstore"
	"github.com/stretchr/testify/require"
)

const helperEnv = "SQLSTORE_FLEET" // the mode of a child: b2b or b2b2c

// newBackend returns a fleet backend on a table of its own.
func newBackend(t *testing.T) (fleet.Backend, *sqlstore.Store) {
	store := newStore(t)
	return fleet.Backend{ModeEnv: helperEnv, Store: store, Env: []string{"FLEET_TABLE=" + store.Table(), "PG_DSN=" + pgDSN}}, store
}

// TestFleetB2B runs fleet.B2B on PostgreSQL: one fetch per expiry for the fleet.
func TestFleetB2B(t *testing.T) {
	b, _ := newBackend(t)
	fleet.B2B(t, b)
}

// TestFleetB2B2C runs fleet.B2B2C on PostgreSQL: no refresh token spent twice.
func TestFleetB2B2C(t *testing.T) {
	b, _ := newBackend(t)
	fleet.B2B2C(t, b)
}

// TestFleetLockHolderKilled: the 7 others wait in PostgreSQL for the lock
// (pg_advisory_xact_lock), and proceed as soon as the dead process's
// session ends.
func TestFleetLockHolderKilled(t *testing.T) {
	b, store := newBackend(t)
	k := fleet.LockHolderKilled(t, b, func() {
		require.Len(t, advisoryHolders(t, store.DB(), store, fleet.B2BKey), 1, "the holder's lock is in pg_locks")
	}, func() {
		require.Eventually(t, func() bool { return len(advisorySessions(t, store.DB(), store, fleet.B2BKey, false)) == fleet.Size-1 },
			fleet.Deadline, 5*time.Millisecond, "the others wait in PostgreSQL for the lock")
	})
	after := k.Fetch.Sub(k.Kill)
	require.Positive(t, after, "a waiter fetched while the holder held the lock")
	require.Less(t, after, 5*time.Second, "the waiters did not proceed once the holder's session ended")
	t.Logf("lock holder SIGKILLed while its fetch was in flight and %d others waited in pg_advisory_xact_lock; "+
		"one of them fetched %v after the kill", fleet.Size-1, after.Round(time.Millisecond))
}

// TestHelperProcess is a member of a fleet when $SQLSTORE_FLEET is set, and
// does nothing otherwise.
func TestHelperProcess(t *testing.T) { fleet.Member(t, helperEnv, fleetMember) }

// fleetMember opens the fleet's table, migrating it as every replica may at
// start, and runs the member's token loop on it.
func fleetMember(ctx context.Context, mode string) error {
	db, err := sql.Open("pgx", os.Getenv("PG_DSN"))
	if err != nil {
		return err
	}
	defer db.Close()
	store := sqlstore.New(db, sqlstore.WithTable(os.Getenv("FLEET_TABLE")))
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	return fleet.RunMember(ctx, mode, store, nil)
}
