// Package fleet runs the stores' fleet tests: copies of a test binary, run as
// separate OS processes, are the members of a fleet; they share one token
// store and one snaptest provider served by the parent, which counts what
// the provider issued and reads what each member reports holding.
//
// It holds what the stores' fleet tests share: the harness that starts,
// releases, kills and watches members (Fleet), a member's token loop
// (RunMember), and the scenarios whose checks do not depend on the store
// (B2B, B2B2C, LockHolderKilled). What is a store's own stays in its tests
// and reaches the scenarios in a Backend: the store as the parent opens it,
// the environment a member needs to open it, and, for LockHolderKilled, the
// checks of its lock.
//
// A member is the test binary run with -test.run=^TestHelperProcess$ and an
// environment that selects it (Backend.ModeEnv carries its mode, "b2b" or
// "b2b2c"). It reports lines "fleet: KIND ARGS..." on stdout: Ready says
// "ready" and waits for a "go" line on stdin, which Go writes, so that the
// parent can start every member before any begins; RunMember then reports
// "token ID" for each new access token and "done ACCESS REFRESH" once it has
// seen as many as the parent asked for. A member never prints a token, only
// TokenID's short hash of it.
package fleet

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
)

// Deadline bounds each wait of a fleet test, and a member's whole run.
const Deadline = 60 * time.Second

// Backend is a store's side of a fleet.
type Backend struct {
	// ModeEnv is the variable that makes the test binary a member (its
	// TestHelperProcess, see Member) and carries its mode.
	ModeEnv string
	// Store is the store the members share, as the parent opens it to seed
	// tokens and to read what the members left.
	Store snapauth.TokenStore
	// Env is what a member needs to open the store ("PG_DSN=...",
	// "FLEET_TABLE=..."), added to its environment.
	Env []string
}

// Event is a line a member printed (Kind "ready", "token", "done", "error",
// or what else the member reports, with the rest of the line in Args) or its
// exit (Kind "exit", with Wait's error in Err).
type Event struct {
	Member int
	Kind   string
	Args   []string
	At     time.Time
	Err    error
}

type member struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *syncBuffer

	// Read and written by the test's goroutine only (Await).
	seen   []string // the token ids it reported, in order
	done   []string // the args of its done line
	exited bool
	err    error // Wait's, once exited
	killed bool
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Fleet starts members and collects their events. Its methods are for the
// test's goroutine.
type Fleet struct {
	t       testing.TB
	modeEnv string
	env     []string
	events  chan Event
	members []*member
	exits   int
}

// New returns a fleet whose members use provider and b's store. It writes
// the provider's partner key to a file of mode 0600 for them (a member
// reads it, as a deployed client reads its key). When the test ends every
// member is killed, and when it failed their stderr is logged.
func New(t testing.TB, b Backend, provider *snaptest.Server) *Fleet {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "partner.pem")
	if err := os.WriteFile(keyFile, provider.PrivateKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append([]string{"FLEET_B2B_URL=" + provider.B2BTokenURL(), "FLEET_B2B2C_URL=" + provider.B2B2CTokenURL(),
		"FLEET_CLIENT=" + provider.ClientKey, "FLEET_KEYFILE=" + keyFile}, b.Env...)
	f := &Fleet{t: t, modeEnv: b.ModeEnv, env: env, events: make(chan Event, 1024)}
	t.Cleanup(func() {
		for i, m := range f.members {
			_ = m.cmd.Process.Kill()
			if t.Failed() {
				t.Logf("child %d stderr:\n%s", i, m.stderr.String())
			}
		}
	})
	return f
}

// EarlyRefresh is an environment entry for Start: the member's token source
// renews its token d before expiry.
func EarlyRefresh(d time.Duration) string { return "FLEET_EARLY=" + d.String() }

// Start starts a member in mode ("b2b" or "b2b2c") that is done once it has
// seen tokens distinct access tokens, with env added to its environment,
// and returns its number: 0 for the first, then 1, 2 and so on.
func (f *Fleet) Start(mode string, tokens int, env ...string) int {
	t := f.t
	t.Helper()
	i := len(f.members)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(append(append(os.Environ(), f.env...), env...), f.modeEnv+"="+mode, "FLEET_TOKENS="+strconv.Itoa(tokens))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	m := &member{cmd: cmd, stdin: stdin, stderr: &syncBuffer{}}
	cmd.Stderr = m.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.members = append(f.members, m)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "fleet: "); ok {
				if fields := strings.Fields(rest); len(fields) > 0 {
					f.events <- Event{Member: i, Kind: fields[0], Args: fields[1:], At: time.Now()}
				}
			}
		}
		err := cmd.Wait()
		f.events <- Event{Member: i, Kind: "exit", At: time.Now(), Err: err}
	}()
	return i
}

// StartAll starts n members as Start does and waits until every one is
// ready.
func (f *Fleet) StartAll(n int, mode string, tokens int) []int {
	f.t.Helper()
	var ids []int
	for range n {
		ids = append(ids, f.Start(mode, tokens))
	}
	f.Await("ready", n)
	return ids
}

// Len reports how many members were started.
func (f *Fleet) Len() int { return len(f.members) }

// Stderr returns what member i wrote to its stderr so far.
func (f *Fleet) Stderr(i int) string { return f.members[i].stderr.String() }

// Seen returns the ids of the access tokens member i reported, in order.
func (f *Fleet) Seen(i int) []string { return f.members[i].seen }

// Done returns the args of member i's done line: the ids of the access and
// refresh token it held last. It is nil until the member is done.
func (f *Fleet) Done(i int) []string { return f.members[i].done }

// Err returns the error of member i's exit (an *exec.ExitError when it
// failed or was killed), nil while it runs or when it exited cleanly.
func (f *Fleet) Err(i int) error { return f.members[i].err }

// Kill sends SIGKILL to member i; its exit is then no failure of the test.
func (f *Fleet) Kill(i int) error {
	f.members[i].killed = true
	return f.members[i].cmd.Process.Signal(os.Kill)
}

// Go writes the "go" line to each of the members, so that they begin.
func (f *Fleet) Go(members ...int) {
	for _, i := range members {
		if _, err := io.WriteString(f.members[i].stdin, "go\n"); err != nil {
			f.t.Fatal(err)
		}
	}
}

// Await collects events until n events of kind have come, and returns
// those. It fails the test on an "error" line, when a member that was not
// killed exits before it is done or with an error, and when Deadline passes
// first.
func (f *Fleet) Await(kind string, n int) []Event {
	t := f.t
	t.Helper()
	deadline := time.After(Deadline)
	var got []Event
	for len(got) < n {
		select {
		case e := <-f.events:
			m := f.members[e.Member]
			switch e.Kind {
			case "error":
				t.Fatalf("child %d: %s", e.Member, strings.Join(e.Args, " "))
			case "token":
				m.seen = append(m.seen, e.Args[0])
			case "done":
				m.done = e.Args
			case "exit":
				m.exited, m.err = true, e.Err
				f.exits++
				if !m.killed && (e.Err != nil || m.done == nil) {
					t.Fatalf("child %d exited before it was done: %v", e.Member, e.Err) // the cleanup logs its stderr
				}
			}
			if e.Kind == kind {
				got = append(got, e)
			}
		case <-deadline:
			t.Fatalf("%d of %d %q events before the deadline", len(got), n, kind)
		}
	}
	return got
}

// Finish waits until every member has exited.
func (f *Fleet) Finish() {
	f.t.Helper()
	f.Await("exit", f.Len()-f.exits)
}

// Report prints a line "fleet: kind args..." for the parent, from a member.
func Report(kind string, args ...string) {
	fmt.Println(strings.Join(append([]string{"fleet:", kind}, args...), " "))
}

// Ready reports "ready", from a member, and waits for the "go" line.
func Ready() error {
	Report("ready")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil || line != "go\n" {
		return fmt.Errorf("no go line on stdin: %q, %v", line, err)
	}
	return nil
}
