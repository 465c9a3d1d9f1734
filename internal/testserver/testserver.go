// Package testserver runs a module's tests against an external server
// (Redis, PostgreSQL): the one the environment names, else one the test
// binary starts for itself, else none, and then the tests are skipped, or
// fail in CI.
package testserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// Main runs m against a server, stores its address in *addr and exits with
// m's code. The address is $env when set. In a child process of the tests
// (when $child is set) it is $env and nothing is started. Else start is
// called: it returns the address of a server it started and a func that stops
// it, which Main calls once m has run, and Main sets $env to the address for
// the examples and any child process. If start fails, the tests are skipped
// (exit 0), or fail when $CI is "true". suite names the tests in those
// messages.
func Main(m *testing.M, suite, env, child string, addr *string, start func() (string, func(), error)) {
	*addr = os.Getenv(env)
	if *addr != "" || os.Getenv(child) != "" {
		os.Exit(m.Run())
	}
	a, stop, err := start()
	if err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintf(os.Stderr, "%s tests: no server in CI: $%s is empty and %v\n", suite, env, err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "%s tests: SKIP: $%s is empty and %v\n", suite, env, err)
		os.Exit(0)
	}
	*addr = a
	os.Setenv(env, a)
	code := m.Run()
	stop()
	os.Exit(code)
}

// Wait calls ping every 20 ms until it succeeds, for up to limit or until
// exited is closed (the server process ended), and reports whether it
// succeeded. Each ping gets a context of one second.
func Wait(ping func(context.Context) error, exited <-chan struct{}, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := ping(ctx)
		cancel()
		if err == nil {
			return true
		}
		select {
		case <-exited:
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	return false
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for a
// server the tests start.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
