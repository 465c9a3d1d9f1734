package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/snapauth/snapauth/internal/testserver"
	"github.com/snapauth/snapauth/sqlstore"
	"github.com/stretchr/testify/require"
)

// pgDSN is the PostgreSQL every test uses: $PG_DSN, or a throwaway cluster
// TestMain starts on a free loopback port.
var pgDSN string

// noServer says how to get what the tests need.
const noServer = "no PostgreSQL server binaries (initdb, postgres) in PATH or /usr/lib/postgresql/*/bin: " +
	"install them (Debian/Ubuntu: apt-get install postgresql) or set PG_DSN=postgres://user@host:5432/db"

// TestMain finds a PostgreSQL for the tests. With $PG_DSN set (a database
// where the tests may create and drop tables) it uses that; else it runs
// initdb and postgres in a temporary directory, listening on 127.0.0.1 only,
// and removes the cluster afterwards. Without either the tests are skipped,
// unless CI=true: then they fail.
func TestMain(m *testing.M) {
	testserver.Main(m, "sqlstore", "PG_DSN", helperEnv, &pgDSN, startPostgres)
}

// pgBinDir returns the directory of initdb and postgres: PATH first, then
// the newest /usr/lib/postgresql/*/bin (Debian keeps them off PATH).
func pgBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", errors.New(noServer)
}

// serverUser returns the credentials to run postgres with: PostgreSQL
// refuses to run as root, so as root it uses the user "postgres" (which the
// Debian package creates) or else "nobody".
func serverUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 == nil && err2 == nil {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
		}
	}
	return nil, errors.New("running as root, and neither user postgres nor nobody exists to run postgres as")
}

// startPostgres creates a cluster in a temporary directory and starts it on
// a free loopback port, without Unix sockets and without fsync (a throwaway
// cluster needs no durability), and waits until it answers.
func startPostgres() (dsn string, stop func(), err error) {
	bin, err := pgBinDir()
	if err != nil {
		return "", nil, err
	}
	cred, err := serverUser()
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "sqlstore-test-")
	if err != nil {
		return "", nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return "", nil, err
	}
	asServer := func(cmd *exec.Cmd) *exec.Cmd {
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		cmd.Dir = dir
		return cmd
	}
	if cred != nil {
		for _, p := range []string{dir, data} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				os.RemoveAll(dir)
				return "", nil, err
			}
		}
	}
	out, err := asServer(exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync")).CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	for range 5 { // a port found free may be taken before postgres binds it
		port, err := testserver.FreePort()
		if err != nil {
			os.RemoveAll(dir)
			return "", nil, err
		}
		cmd := asServer(exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-h", "127.0.0.1", "-p", strconv.Itoa(port),
			"-k", "", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"))
		logFile, err := os.Create(filepath.Join(dir, "postgres.log"))
		if err != nil {
			os.RemoveAll(dir)
			return "", nil, err
		}
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			logFile.Close()
			os.RemoveAll(dir)
			return "", nil, err
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
		kill := func() {
			_ = cmd.Process.Signal(os.Interrupt) // fast shutdown
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
		if waitPostgres(dsn, exited) {
			return dsn, func() { kill(); os.RemoveAll(dir) }, nil
		}
		kill()
	}
	log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
	os.RemoveAll(dir)
	return "", nil, fmt.Errorf("postgres did not start:\n%s", log)
}

// waitPostgres pings dsn for up to 30 s, or until the server exits.
func waitPostgres(dsn string, exited <-chan struct{}) bool {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return false
	}
	defer db.Close()
	return testserver.Wait(db.PingContext, exited, 30*time.Second)
}

// openDB returns a pool on the test database, closed at the end of t.
func openDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", pgDSN)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// testTable returns a table name of its own for one test, so that tests
// sharing a database never see each other's rows; the table is dropped at
// the end of t.
func testTable(t testing.TB, db *sql.DB) string {
	t.Helper()
	name := "snapauth_test_" + strings.ToLower(rand.Text()[:12])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, `DROP TABLE IF EXISTS `+name)
	})
	return name
}

// newStore returns a migrated Store on the test database with a table of its
// own.
func newStore(t testing.TB, opts ...sqlstore.Option) *sqlstore.Store {
	t.Helper()
	db := openDB(t)
	s := sqlstore.New(db, append([]sqlstore.Option{sqlstore.WithTable(testTable(t, db))}, opts...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, s.Migrate(ctx))
	return s
}
