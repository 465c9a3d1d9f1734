package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Schema returns the SQL that creates the store's table, for teams that run
// their own migrations; Migrate runs the same statements. The comment is
// part of the schema: it is how a Store knows the table's version.
func (s *Store) Schema() string {
	return `CREATE TABLE ` + s.ident + ` (
	key        text        PRIMARY KEY,
	token      bytea       NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ` + s.ident + ` IS '` + schemaComment + strconv.Itoa(SchemaVersion) + `';
`
}

// Migrate creates the store's table if it does not exist, in a transaction
// serialised with other replicas' Migrate by an advisory lock, so every
// replica may call it at start. It is idempotent. A table of the same name
// that is not a token table of SchemaVersion is left alone and reported
// with an error wrapping ErrSchemaVersion.
func (s *Store) Migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: migrating %s: %w", s.table, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, s.lockID("\x00migrate")); err != nil {
		return fmt.Errorf("sqlstore: migrating %s: %w", s.table, err)
	}
	err = s.checkSchema(ctx, tx)
	switch {
	case errors.Is(err, ErrNoTable):
		if _, err := tx.ExecContext(ctx, s.Schema()); err != nil {
			return fmt.Errorf("sqlstore: creating %s: %w", s.table, err)
		}
	case err != nil:
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: migrating %s: %w", s.table, err)
	}
	s.ok.Store(true)
	return nil
}

// querier is what checkSchema needs of a *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkSchema reports whether the table exists with the comment of
// SchemaVersion and the columns of Schema.
func (s *Store) checkSchema(ctx context.Context, q querier) error {
	var exists bool
	var comment string
	var columns int
	err := q.QueryRowContext(ctx, `SELECT c.oid IS NOT NULL, coalesce(obj_description(c.oid, 'pg_class'), ''),
	(SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		AND ((a.attname = 'key' AND a.atttypid = 'text'::regtype) OR (a.attname = 'token' AND a.atttypid = 'bytea'::regtype)
			OR (a.attname = 'updated_at' AND a.atttypid = 'timestamptz'::regtype)))
	FROM (SELECT to_regclass($1)::oid AS oid) c`, s.ident).Scan(&exists, &comment, &columns)
	if err != nil {
		return fmt.Errorf("sqlstore: checking table %s: %w", s.table, err)
	}
	if !exists {
		return fmt.Errorf("%w: %s (create it with Store.Migrate, or run the SQL of Store.Schema)", ErrNoTable, s.table)
	}
	v, isOurs := strings.CutPrefix(comment, schemaComment)
	switch {
	case !isOurs:
		return fmt.Errorf("%w: table %s exists but its comment does not name a snapauth sqlstore schema version; "+
			"use another table (WithTable) or create it with the SQL of Store.Schema", ErrSchemaVersion, s.table)
	case v != strconv.Itoa(SchemaVersion):
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			return fmt.Errorf("%w: table %s has an invalid schema version; this package uses version %d", ErrSchemaVersion, s.table, SchemaVersion)
		}
		return fmt.Errorf("%w: table %s has schema version %d; this package uses version %d", ErrSchemaVersion, s.table, n, SchemaVersion)
	case columns != 3:
		return fmt.Errorf("%w: table %s lacks the columns key text, token bytea, updated_at timestamptz of version %d",
			ErrSchemaVersion, s.table, SchemaVersion)
	}
	return nil
}

// ready checks the table once; a failed check is tried again next time, so
// that a Migrate by another replica is noticed.
func (s *Store) ready(ctx context.Context) error {
	if s.ok.Load() {
		return nil
	}
	if err := s.checkSchema(ctx, s.db); err != nil {
		return err
	}
	s.ok.Store(true)
	return nil
}
