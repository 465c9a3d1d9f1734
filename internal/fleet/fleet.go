// Package fleet runs copies of a test binary as separate OS processes, the
// members of a fleet, and collects what they report. It holds the mechanics
// the stores' fleet tests share; what a member does (its store, its token
// source, its environment) stays in each store's tests.
//
// A member is the test binary run with -test.run=^TestHelperProcess$ and an
// environment that selects it. It reports lines "fleet: KIND ARGS..." on
// stdout: Ready says "ready" and waits for a "go" line on stdin, which Go
// writes, so that the parent can start every member before any begins.
package fleet

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

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
	t        testing.TB
	env      []string
	deadline time.Duration
	events   chan Event
	members  []*member
}

// New returns a fleet whose members get env added to the test's
// environment, and whose Await fails the test after deadline. When the test
// ends every member is killed, and when it failed their stderr is logged.
func New(t testing.TB, deadline time.Duration, env ...string) *Fleet {
	f := &Fleet{t: t, env: env, deadline: deadline, events: make(chan Event, 1024)}
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

// Start starts a member with env added to the fleet's, and returns its
// number: 0 for the first, then 1, 2 and so on.
func (f *Fleet) Start(env ...string) int {
	t := f.t
	t.Helper()
	i := len(f.members)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), env...), f.env...)
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

// Len reports how many members were started.
func (f *Fleet) Len() int { return len(f.members) }

// Stderr returns what member i wrote to its stderr so far.
func (f *Fleet) Stderr(i int) string { return f.members[i].stderr.String() }

// Kill sends SIGKILL to member i.
func (f *Fleet) Kill(i int) error { return f.members[i].cmd.Process.Signal(os.Kill) }

// Go writes the "go" line to each of the members, so that they begin.
func (f *Fleet) Go(members ...int) {
	for _, i := range members {
		if _, err := io.WriteString(f.members[i].stdin, "go\n"); err != nil {
			f.t.Fatal(err)
		}
	}
}

// Await passes each event to seen (nil: none) until n events of kind have
// come, and returns those. It fails the test on an "error" line or when the
// deadline passes first.
func (f *Fleet) Await(kind string, n int, seen func(Event)) []Event {
	t := f.t
	t.Helper()
	deadline := time.After(f.deadline)
	var got []Event
	for len(got) < n {
		select {
		case e := <-f.events:
			if e.Kind == "error" {
				t.Fatalf("child %d: %s", e.Member, strings.Join(e.Args, " "))
			}
			if seen != nil {
				seen(e)
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

// Member is the body of TestHelperProcess: when $env is set it runs member
// with its value and exits, reporting an "error" line and status 1 if member
// fails; otherwise it skips the test.
func Member(t *testing.T, env string, member func(mode string) error) {
	mode := os.Getenv(env)
	if mode == "" {
		t.Skip("a child process of the fleet tests")
	}
	if err := member(mode); err != nil {
		Report("error", strings.ReplaceAll(err.Error(), "\n", " "))
		os.Exit(1)
	}
}
