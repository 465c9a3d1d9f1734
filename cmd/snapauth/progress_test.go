package main

import (
	"bytes"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapauth/snapauth/snaptest"
)

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	defer pw.Close()
	assert.False(t, isTerminal(pw), "a pipe is not a terminal")
	assert.False(t, isTerminal(&bytes.Buffer{}))
	f, err := os.Create(t.TempDir() + "/out")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, isTerminal(f), "a file is not a terminal")
}

// TestSilentProvider calls a provider that never answers: on a terminal,
// stderr counts the seconds (then the line is cleared or ended); on a pipe
// it stays quiet; either way the command ends at --timeout with an error
// that says so.
func TestSilentProvider(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t, snaptest.WithDelay(time.Hour))
	host := regexp.QuoteMeta(sb.Listener.Addr().String())
	for _, args := range [][]string{
		{"token", "b2b", "--timeout", "1500ms"},
		{"call", "POST", sb.ServiceURL("/v1.0/x"), "--data", "{}", "--timeout", "1500ms"},
	} {
		start := time.Now()
		r := runCLIWith(t, sb.env(), "", true, args...)
		took := time.Since(start)
		require.Equal(t, 1, r.code, "%v: %s", args, r.stderr)
		assert.Regexp(t, `^\rsnapauth: waiting for `+host+`… 1s `, r.stderr, "%v", args)
		assert.Regexp(t, `(\n|\r\x1b\[K)snapauth: [a-z0-9 ]+: fetching (a|the) B2B (access )?token: no answer from the provider within 1.5s \(--timeout\); it may be down, or slow: raise --timeout\n$`, r.stderr)
		assert.Less(t, took, 10*time.Second)

		r = runCLIWith(t, sb.env(), "", false, args...)
		require.Equal(t, 1, r.code)
		assert.NotContains(t, r.stderr, "waiting", "no feedback on a pipe")
		assertOneLineError(t, r, "no answer from the provider within 1.5s")
	}
}

// TestWaitingCleared shows that a quick answer leaves no feedback behind.
func TestWaitingCleared(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	r := runCLIWith(t, sb.env(), "", true, "token", "b2b")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)
}
