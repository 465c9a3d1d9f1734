package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sandboxRun runs the sandbox command until its context is cancelled,
// handing its output over line by line.
type sandboxRun struct {
	lines  chan string
	done   chan int
	cancel context.CancelFunc
}

func startSandbox(t *testing.T, args ...string) *sandboxRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &sandboxRun{lines: make(chan string, 100), done: make(chan int, 1), cancel: cancel}
	var stderr strings.Builder
	go func() {
		code := runContext(ctx, append([]string{"sandbox"}, args...), func(string) string { return "" }, pw, &stderr)
		pw.Close()
		s.done <- code
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	t.Cleanup(func() {
		cancel()
		for range s.lines {
		}
	})
	return s
}

// exports reads the sandbox's output up to "Press Ctrl-C" and returns the
// exported variables and the whole text.
func (s *sandboxRun) exports(t *testing.T) (map[string]string, string) {
	t.Helper()
	env := map[string]string{}
	var all strings.Builder
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-s.lines:
			require.True(t, ok, "the sandbox ended early:\n%s", all.String())
			all.WriteString(line + "\n")
			if k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "export "), "="); ok && strings.HasPrefix(k, "SNAP_") {
				env[k] = strings.Trim(v, "'")
			}
			if strings.HasPrefix(line, "Press Ctrl-C") {
				return env, all.String()
			}
		case <-deadline:
			t.Fatalf("the sandbox printed no credentials in time:\n%s", all.String())
		}
	}
}

// stop cancels the sandbox and returns its exit status.
func (s *sandboxRun) stop(t *testing.T) int {
	t.Helper()
	s.cancel()
	for range s.lines {
	}
	select {
	case code := <-s.done:
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("the sandbox did not stop")
		return -1
	}
}

func TestSandbox(t *testing.T) {
	t.Parallel()
	s := startSandbox(t, "--addr", "127.0.0.1:0")
	env, out := s.exports(t)
	for _, k := range []string{"SNAP_TOKEN_URL", "SNAP_CLIENT_KEY", "SNAP_PRIVATE_KEY", "SNAP_CLIENT_SECRET", "SNAP_PARTNER_ID", "SNAP_CHANNEL_ID"} {
		assert.NotEmpty(t, env[k], "%s not exported:\n%s", k, out)
	}
	assert.Regexp(t, `URL +http://127\.0\.0\.1:\d+\n`, out)
	keyFile := env["SNAP_PRIVATE_KEY"]
	info, err := os.Stat(keyFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// The printed URL and credentials answer a token request and a call.
	r := runCLI(t, env, "token", "b2b")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"access_token"`)
	base := strings.TrimSuffix(env["SNAP_TOKEN_URL"], "/v1.0/access-token/b2b")
	r = runCLI(t, env, "call", "POST", base+"/v1.0/transfer-va/inquiry", "--data", `{}`)
	require.Equal(t, 0, r.code, r.stderr)

	require.Equal(t, 0, s.stop(t))
	_, err = os.Stat(keyFile)
	assert.True(t, os.IsNotExist(err), "the temporary key file is removed on exit")
	_, err = runCLIErr(env)
	assert.Error(t, err, "the sandbox no longer answers")
}

// runCLIErr fetches a token and reports whether it failed.
func runCLIErr(env map[string]string) (string, error) {
	var out, errb strings.Builder
	if code := run([]string{"token", "b2b", "--timeout", "5s"}, func(k string) string { return env[k] }, &out, &errb); code != 0 {
		return "", fmt.Errorf("exit %d: %s", code, errb.String())
	}
	return out.String(), nil
}

func TestSandboxKeyOut(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "sandbox.pem")
	require.NoError(t, os.WriteFile(keyFile, []byte("old, world-readable"), 0o644))
	s := startSandbox(t, "--key-out", keyFile, "--path-prefix", "/snap")
	env, _ := s.exports(t)
	assert.Equal(t, keyFile, env["SNAP_PRIVATE_KEY"])
	info, err := os.Stat(keyFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	assert.Contains(t, env["SNAP_TOKEN_URL"], "/snap/v1.0/access-token/b2b")

	r := runCLI(t, env, "token", "b2b")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, 0, s.stop(t))
	_, err = os.Stat(keyFile)
	assert.NoError(t, err, "a key file the user named is kept")
}
