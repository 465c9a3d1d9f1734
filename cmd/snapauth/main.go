// Command snapauth talks to SNAP payment APIs from the command line, in the
// manner of Google's oauth2l: it fetches B2B and B2B2C access tokens, makes
// signed service calls, prints the exact string a signature covers (to debug
// "Unauthorized. [Signature]"), serves an in-process sandbox provider, and
// walks the whole SNAP story in a demo.
//
// Usage:
//
//	snapauth demo                       the whole story against an in-process sandbox
//	snapauth sandbox [--addr ADDR]      serve the sandbox provider until interrupted
//	snapauth token b2b|b2b2c [flags]    fetch an access token, print it as JSON
//	snapauth sign token|service [flags] print the string to sign and its signature
//	snapauth call METHOD URL [flags]    make one signed service call
//
// Every flag can also be given as an environment variable SNAP_<FLAG>, with
// dashes as underscores (SNAP_TOKEN_URL for --token-url); a flag on the
// command line wins over the environment. "snapauth <command> --help" lists
// a command's flags.
//
// Exit status: 0 on success, 1 on a failure (network error, signature
// mismatch, a demo step that misbehaved), 2 on a usage error (a missing or bad
// flag, an unreadable or invalid key file) and when the provider answers with
// a SNAP error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is the whole program: it runs the command named by args and returns
// the exit status. SIGINT and SIGTERM cancel the command's context.
func run(args []string, env func(string) string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, env, stdout, stderr)
}

// cli is what every command is given: its environment, its input and its
// output, and the secrets it sent, which no provider text it prints repeats.
type cli struct {
	env            func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
	// terminal reports whether w is a terminal, where waiting feedback is
	// shown. Nil means isTerminal.
	terminal func(w io.Writer) bool

	secrets []string  // longest first
	rec     *recorder // the requests sent, nil when none were recorded
}

// command is one sub-command of snapauth.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, c *cli, args []string) error
}

// commands is filled in init, because the help command lists them.
var commands []command

func init() {
	commands = []command{
		{"demo", "walk the whole SNAP story against an in-process sandbox", runDemo},
		{"sandbox", "serve the sandbox provider and print its credentials", runSandbox},
		{"token", "fetch a B2B or B2B2C access token and print it as JSON", runToken},
		{"sign", "print the string to sign and the signature; check a signature with --verify", runSign},
		{"call", "make one signed SNAP service call and print the answer", runCall},
		{"help", "print this help, or a command's help", runHelp},
	}
}

// runContext is run with a context the caller controls, so that tests can
// stop long-running commands such as sandbox.
func runContext(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	return runCLIContext(ctx, &cli{env: env, stdin: os.Stdin, stdout: stdout, stderr: stderr}, args)
}

// runCLIContext runs the command named by args with c.
func runCLIContext(ctx context.Context, c *cli, args []string) int {
	if c.env == nil {
		c.env = func(string) string { return "" }
	}
	if c.stdin == nil {
		c.stdin = strings.NewReader("")
	}
	stderr := c.stderr
	if len(args) == 0 {
		fmt.Fprint(stderr, mainUsage())
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	}
	for _, cmd := range commands {
		if cmd.name == name {
			return c.exit(cmd.run(ctx, c, args[1:]))
		}
	}
	fmt.Fprintf(stderr, "snapauth: unknown command %q (run 'snapauth help' for the list)\n", name)
	return 2
}

// exitError ends a command with a status and a one-line message on stderr.
type exitError struct {
	code int
	msg  string // without the "snapauth: " prefix; empty prints nothing
}

func (e *exitError) Error() string { return "snapauth: " + e.msg }

// usageErrorf is a usage error: a missing or bad flag or argument, an
// unreadable or invalid key file. It exits with status 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf(format, args...)}
}

// failf is a failure of the command itself. It exits with status 1.
func failf(format string, args ...any) error {
	return &exitError{code: 1, msg: fmt.Sprintf(format, args...)}
}

// errHelpShown ends a command whose help was asked for and printed.
var errHelpShown = errors.New("help shown")

// exit prints err as one line on stderr, every secret the command sent
// redacted, and returns the exit status.
func (c *cli) exit(err error) int {
	if err == nil || errors.Is(err, errHelpShown) {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(c.stderr, "snapauth: "+c.redact(oneLine(ee.msg)))
		}
		return ee.code
	}
	fmt.Fprintln(c.stderr, "snapauth: "+c.redact(errText(err)))
	return 1
}

// errText is err's text without the repeated "snapauth: " prefixes that
// wrapped library errors carry, on one line.
func errText(err error) string {
	msg := strings.TrimPrefix(err.Error(), "snapauth: ")
	return oneLine(strings.ReplaceAll(msg, ": snapauth: ", ": "))
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func mainUsage() string {
	var b strings.Builder
	b.WriteString(`snapauth talks to SNAP (Indonesian payment API) providers from the command line.

Usage:
	snapauth <command> [arguments]

Commands:
`)
	for _, cmd := range commands {
		fmt.Fprintf(&b, "\t%-8s %s\n", cmd.name, cmd.summary)
	}
	b.WriteString(`
New here? Run "snapauth demo": it starts a sandbox provider in-process and
walks through tokens, signatures, account binding and errors.

Every flag can also be set with an environment variable SNAP_<FLAG>, dashes
as underscores (--token-url is SNAP_TOKEN_URL); flags win over the
environment. "snapauth sandbox" prints the lines to export.

Run "snapauth <command> --help" for a command's flags.
Exit status: 0 success, 1 failure, 2 usage error or SNAP error answer.
`)
	return b.String()
}

func runHelp(_ context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stdout, mainUsage())
		return nil
	}
	if args[0] == "help" {
		fmt.Fprint(c.stdout, mainUsage())
		return nil
	}
	for _, cmd := range commands {
		if cmd.name == args[0] {
			return cmd.run(context.Background(), c, append(args[1:len(args):len(args)], "--help"))
		}
	}
	return usageErrorf("help: unknown command %q (run 'snapauth help' for the list)", args[0])
}
