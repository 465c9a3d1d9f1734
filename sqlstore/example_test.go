package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/snapauth/snapauth/sqlstore"
	"golang.org/x/oauth2"
)

// Two replicas of a service share one B2B token through PostgreSQL: the
// second uses the token the first fetched. (PG_DSN is the database, for
// example "postgres://app@127.0.0.1:5432/shop"; snaptest stands in for the
// provider.)
func Example() {
	ctx := context.Background()
	provider := snaptest.NewServer()
	defer provider.Close()
	cfg := &snapauth.B2BConfig{
		TokenURL:   provider.B2BTokenURL(),
		ClientKey:  provider.ClientKey,
		PrivateKey: provider.PrivateKey,
	}

	replica := func() oauth2.TokenSource {
		db, err := sql.Open("pgx", os.Getenv("PG_DSN"))
		if err != nil {
			panic(err)
		}
		store := sqlstore.New(db, sqlstore.WithTable("snapauth_example"))
		if err := store.Migrate(ctx); err != nil { // idempotent: every replica may call it at start
			panic(err)
		}
		return cfg.StoredTokenSource(ctx, store, "b2b:"+provider.ClientKey)
	}
	a, b := replica(), replica()

	tokA, err := a.Token()
	if err != nil {
		fmt.Println(err)
		return
	}
	tokB, err := b.Token()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("same token:", tokA.AccessToken == tokB.AccessToken)
	fmt.Println("tokens fetched:", provider.Stats().Issued[snaptest.EndpointB2B])
	// Output:
	// same token: true
	// tokens fetched: 1
}

// Schema is the SQL for teams that run their own migrations.
func ExampleStore_Schema() {
	db, _ := sql.Open("pgx", os.Getenv("PG_DSN")) // Open does not connect
	store := sqlstore.New(db, sqlstore.WithTable("auth.snap_tokens"))
	fmt.Print(store.Schema())
	// Output:
	// CREATE TABLE "auth"."snap_tokens" (
	// 	key        text        PRIMARY KEY,
	// 	token      bytea       NOT NULL,
	// 	updated_at timestamptz NOT NULL DEFAULT now()
	// );
	// COMMENT ON TABLE "auth"."snap_tokens" IS 'snapauth sqlstore schema version 1';
}

// A table that was never created is a typed error, not an absent token.
func ExampleErrNoTable() {
	db, err := sql.Open("pgx", os.Getenv("PG_DSN"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	store := sqlstore.New(db, sqlstore.WithTable("never_migrated"))
	_, err = store.Load(context.Background(), "customer-42")
	fmt.Println(errors.Is(err, sqlstore.ErrNoTable), errors.Is(err, snapauth.ErrNoToken))
	fmt.Println(err)
	// Output:
	// true false
	// sqlstore: token table does not exist: never_migrated (create it with Store.Migrate, or run the SQL of Store.Schema)
}

// When a customer unlinks their account, Delete with the token the
// application last saw removes it, unless another replica has meanwhile
// saved a newer one.
func ExampleStore_Delete() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("PG_DSN"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	store := sqlstore.New(db, sqlstore.WithTable("snapauth_example_delete"))
	if err := store.Migrate(ctx); err != nil {
		panic(err)
	}
	defer db.Exec(`DROP TABLE snapauth_example_delete`)

	seen := &oauth2.Token{AccessToken: "access-1", RefreshToken: "refresh-1"}
	newer := &oauth2.Token{AccessToken: "access-2", RefreshToken: "refresh-2"}
	_ = store.Save(ctx, "customer-42", newer) // another replica refreshed

	fmt.Println(store.Delete(ctx, "customer-42", seen)) // leaves the newer token
	_, err = store.Load(ctx, "customer-42")
	fmt.Println("still stored:", err == nil)

	fmt.Println(store.Delete(ctx, "customer-42", newer))
	_, err = store.Load(ctx, "customer-42")
	fmt.Println(err)
	// Output:
	// <nil>
	// still stored: true
	// <nil>
	// snapauth: no token stored
}

// Lock serialises work on one key across every process sharing the
// database; a waiter gives up when its context ends.
func ExampleStore_Lock() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("PG_DSN"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	replicaA := sqlstore.New(db)
	replicaB := sqlstore.New(db)

	unlock, err := replicaA.Lock(ctx, "customer-42")
	if err != nil {
		fmt.Println(err)
		return
	}
	wait, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = replicaB.Lock(wait, "customer-42")
	fmt.Println(err)
	unlock()
	// Output:
	// sqlstore: waiting for the lock of "customer-42": context deadline exceeded
}

// Migrate creates the table once; a second call, by this replica or
// another, changes nothing.
func ExampleStore_Migrate() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("PG_DSN"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	store := sqlstore.New(db, sqlstore.WithTable("snapauth_example_migrate"))
	defer db.Exec(`DROP TABLE snapauth_example_migrate`)

	fmt.Println(store.Migrate(ctx))
	fmt.Println(store.Save(ctx, "merchant-1", &oauth2.Token{AccessToken: "…", Expiry: time.Now().Add(time.Hour)}))
	fmt.Println(store.Migrate(ctx))
	tok, err := store.Load(ctx, "merchant-1")
	fmt.Println(tok.Valid(), err)
	// Output:
	// <nil>
	// <nil>
	// <nil>
	// true <nil>
}

// LockID names the advisory lock of a key, to find its holder in pg_locks.
func ExampleStore_LockID() {
	ctx := context.Background()
	db, err := sql.Open("pgx", os.Getenv("PG_DSN"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	store := sqlstore.New(db)
	unlock, err := store.Lock(ctx, "customer-42")
	if err != nil {
		panic(err)
	}
	defer unlock()

	id := uint64(store.LockID("customer-42"))
	var holders int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND classid = $1 AND objid = $2 AND objsubid = 1`, int64(id>>32), int64(id&0xffffffff)).Scan(&holders)
	fmt.Println(holders, err)
	// Output:
	// 1 <nil>
}
