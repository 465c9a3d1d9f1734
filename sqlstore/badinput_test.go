package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/testserver"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/snapauth/snapauth/sqlstore"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// openDBAt returns a pool on the test database reached at addr instead.
func openDBAt(t *testing.T, addr string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(pgDSN)
	require.NoError(t, err)
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	cfg.Host, cfg.Fallbacks, cfg.ConnectTimeout = host, nil, 2*time.Second
	_, err = fmt.Sscan(port, &cfg.Port)
	require.NoError(t, err)
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	return db
}

// requireClean checks what every failure must be: an error of this package,
// not an absent token, holding no secret.
func requireClean(t *testing.T, err error, secrets ...string) {
	t.Helper()
	require.Error(t, err)
	require.NotErrorIs(t, err, snapauth.ErrNoToken, "a failure is not an absent token")
	require.Truef(t, strings.HasPrefix(err.Error(), "sqlstore: ") || strings.HasPrefix(err.Error(), "snapauth: "), "error %q", err)
	for _, s := range append(secrets, "SECRET") {
		require.NotContains(t, err.Error(), s)
		require.NotContains(t, fmt.Sprintf("%+v", err), s)
	}
}

func TestDatabaseDown(t *testing.T) {
	port, err := testserver.FreePort() // nothing listens there
	require.NoError(t, err)
	s := sqlstore.New(openDBAt(t, fmt.Sprintf("127.0.0.1:%d", port)))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = s.Load(ctx, "k")
	requireClean(t, err)
	t.Log(err)
	requireClean(t, s.Save(ctx, "k", &oauth2.Token{AccessToken: "SECRET-A", RefreshToken: "SECRET-R"}))
	requireClean(t, s.Delete(ctx, "k", nil))
	requireClean(t, s.Migrate(ctx))
	_, err = s.Lock(ctx, "k")
	requireClean(t, err)
	require.NoError(t, ctx.Err(), "the failures came at once, not after waiting for ctx")
}

func TestTableMissing(t *testing.T) {
	ctx := testContext(t)
	db := openDB(t)
	s := sqlstore.New(db, sqlstore.WithTable(testTable(t, db)))
	_, err := s.Load(ctx, "k")
	require.ErrorIs(t, err, sqlstore.ErrNoTable)
	requireClean(t, err)
	require.Contains(t, err.Error(), s.Table())
	require.Contains(t, err.Error(), "Migrate")
	t.Log(err)
	err = s.Save(ctx, "k", &oauth2.Token{AccessToken: "SECRET-A"})
	require.ErrorIs(t, err, sqlstore.ErrNoTable)
	requireClean(t, err)
	require.ErrorIs(t, s.Delete(ctx, "k", nil), sqlstore.ErrNoTable)

	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, s.Save(ctx, "k", &oauth2.Token{AccessToken: "SECRET-A"}))

	// Dropped while in use (the check is cached): still ErrNoTable.
	_, err = db.ExecContext(ctx, `DROP TABLE `+s.Table())
	require.NoError(t, err)
	_, err = s.Load(ctx, "k")
	require.ErrorIs(t, err, sqlstore.ErrNoTable)
	requireClean(t, err)
	err = s.Save(ctx, "k", &oauth2.Token{AccessToken: "SECRET-A"})
	require.ErrorIs(t, err, sqlstore.ErrNoTable)
	requireClean(t, err)
}

func TestTableOfAnotherVersion(t *testing.T) {
	ctx := testContext(t)
	db := openDB(t)
	for name, tc := range map[string]struct {
		ddl  string // %s is the table
		want string
	}{
		"version 2": {`CREATE TABLE %[1]s (key text PRIMARY KEY, token bytea NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
			COMMENT ON TABLE %[1]s IS 'snapauth sqlstore schema version 2'`, "has schema version 2; this package uses version 1"},
		"absurd version": {`CREATE TABLE %[1]s (key text PRIMARY KEY);
			COMMENT ON TABLE %[1]s IS 'snapauth sqlstore schema version 99999999999999999999'`, "invalid schema version"},
		"another application's table": {`CREATE TABLE %[1]s (id serial PRIMARY KEY, payload text)`, "does not name a snapauth sqlstore schema version"},
		"wrong columns": {`CREATE TABLE %[1]s (key text PRIMARY KEY, token jsonb NOT NULL, updated_at timestamptz);
			COMMENT ON TABLE %[1]s IS 'snapauth sqlstore schema version 1'`, "lacks the columns"},
	} {
		t.Run(name, func(t *testing.T) {
			s := sqlstore.New(db, sqlstore.WithTable(testTable(t, db)))
			_, err := db.ExecContext(ctx, fmt.Sprintf(tc.ddl, s.Table()))
			require.NoError(t, err)
			_, err = s.Load(ctx, "k")
			require.ErrorIs(t, err, sqlstore.ErrSchemaVersion)
			require.Contains(t, err.Error(), tc.want)
			t.Log(err)
			require.Contains(t, err.Error(), s.Table())
			requireClean(t, err)
			require.ErrorIs(t, s.Save(ctx, "k", &oauth2.Token{AccessToken: "SECRET-A"}), sqlstore.ErrSchemaVersion)
			err = s.Migrate(ctx)
			require.ErrorIs(t, err, sqlstore.ErrSchemaVersion, "Migrate leaves a foreign table alone")
		})
	}

	// Changed under a running store (the check is cached): the statement's
	// failure is reported as a schema mismatch.
	s := newStore(t)
	require.NoError(t, s.Save(ctx, "k", &oauth2.Token{AccessToken: "a"}))
	_, err := db.ExecContext(ctx, `ALTER TABLE `+s.Table()+` RENAME COLUMN token TO value`)
	require.NoError(t, err)
	err = s.Save(ctx, "k", &oauth2.Token{AccessToken: "SECRET-A"})
	require.ErrorIs(t, err, sqlstore.ErrSchemaVersion)
	requireClean(t, err)
}

func TestRowNotAToken(t *testing.T) {
	ctx := testContext(t)
	s := newStore(t)
	for _, value := range []string{"", "SECRET-garbage", `{"version":1,"access_token":"SECRET-A"`, `{"version":9,"access_token":"SECRET-A"}`,
		`{"version":1}`, `{"version":1,"access_token":"SECRET-A","expiry":"SECRET-tuesday"}`, "\xff\x00SECRET"} {
		_, err := s.DB().ExecContext(ctx, `INSERT INTO `+s.Table()+` (key, token) VALUES ('k', $1)
			ON CONFLICT (key) DO UPDATE SET token = EXCLUDED.token`, []byte(value))
		require.NoError(t, err)
		tok, err := s.Load(ctx, "k")
		require.Nil(t, tok)
		require.ErrorIs(t, err, sqlstore.ErrNotAToken)
		requireClean(t, err)
		require.Contains(t, err.Error(), `row "k" of table `+s.Table())
		t.Log(err)
	}
}

// cutProxy forwards loopback TCP connections to a PostgreSQL; cut drops
// every connection and refuses new ones until restore, as a network that
// fails does.
type cutProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	cutOff bool
	conns  []net.Conn
}

func newCutProxy(t *testing.T) *cutProxy {
	cfg, err := pgx.ParseConfig(pgDSN)
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{l: l, target: net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))}
	t.Cleanup(func() { l.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		off := p.cutOff
		p.mu.Unlock()
		if off {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close() }()
		go func() { _, _ = io.Copy(c, s); c.Close() }()
	}
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutOff = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) restore() {
	p.mu.Lock()
	p.cutOff = false
	p.mu.Unlock()
}

// cutAfter is a RoundTripper that cuts the proxy once the provider's answer
// has arrived: the refresh succeeded, and the database is gone for the save.
type cutAfter struct{ p *cutProxy }

func (c cutAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		c.p.cut()
	}
	return resp, err
}

// TestConnectionDroppedMidRefresh: the replica refreshing a customer's token
// loses its database connections after the provider rotated the refresh
// token. The refresh token is not lost (the *snapauth.StoreError holds it
// and the store still holds the old one, not nothing), no error shows a
// token, the lock is released with the session so another replica is not
// blocked, and once the network is back the token saves.
func TestConnectionDroppedMidRefresh(t *testing.T) {
	ctx := testContext(t)
	provider := snaptest.NewServer()
	t.Cleanup(provider.Close)
	direct := newStore(t)
	proxy := newCutProxy(t)
	viaProxy := sqlstore.New(openDBAt(t, proxy.l.Addr().String()), sqlstore.WithTable(direct.Table()))

	cfg := &snapauth.B2B2CConfig{TokenURL: provider.B2B2CTokenURL(), ClientKey: provider.ClientKey, PrivateKey: provider.PrivateKey, MaxRetries: -1}
	seed, err := cfg.Exchange(ctx, provider.MintAuthCode())
	require.NoError(t, err)
	seed.Expiry = time.Now().Add(-time.Minute) // due for a refresh
	require.NoError(t, direct.Save(ctx, "customer-42", seed))

	cutting := *cfg
	cutting.HTTPClient = &http.Client{Transport: cutAfter{proxy}}
	_, err = cutting.StoredTokenSource(ctx, viaProxy, "customer-42").Token()
	var se *snapauth.StoreError
	require.ErrorAs(t, err, &se, "the save failed: %v", err)
	require.NotNil(t, se.Token)
	require.NotEqual(t, seed.RefreshToken, se.Token.RefreshToken, "the error holds the rotated refresh token")
	requireClean(t, err, seed.AccessToken, seed.RefreshToken, se.Token.AccessToken, se.Token.RefreshToken)
	t.Log(err)
	require.Equal(t, 2, provider.Stats().Issued[snaptest.EndpointB2B2C], "the exchange and one refresh")

	// The store still holds the old token; the dead session's lock is gone.
	old, err := direct.Load(ctx, "customer-42")
	require.NoError(t, err)
	require.Equal(t, seed.RefreshToken, old.RefreshToken)
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	unlock, err := direct.Lock(wait, "customer-42")
	require.NoError(t, err, "another replica is not blocked by the dropped session's lock")
	unlock()

	// While the network is down every call fails cleanly; once back, the
	// application saves the token it was handed.
	requireClean(t, viaProxy.Save(ctx, "customer-42", se.Token), se.Token.AccessToken, se.Token.RefreshToken)
	proxy.restore()
	require.NoError(t, viaProxy.Save(ctx, "customer-42", se.Token))
	now, err := direct.Load(ctx, "customer-42")
	require.NoError(t, err)
	require.Equal(t, se.Token.RefreshToken, now.RefreshToken)
	_, err = cfg.Refresh(ctx, now.RefreshToken)
	require.NoError(t, err, "the saved refresh token is the provider's live one")
}

// TestPrintsNoTokens: the store prints its table, never a token.
func TestPrintsNoTokens(t *testing.T) {
	s := newStore(t)
	require.NoError(t, s.Save(context.Background(), "k", &oauth2.Token{AccessToken: "SECRET-A", RefreshToken: "SECRET-R"}))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, s)
		require.NotContains(t, out, "SECRET")
		require.Equal(t, "sqlstore.Store(table "+s.Table()+")", out)
	}
}
