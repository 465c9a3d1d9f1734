package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCLIWith runs the command with stdin as its standard input and, when
// terminal is set, stderr taken for a terminal.
func runCLIWith(t *testing.T, env map[string]string, stdin string, terminal bool, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	c := &cli{env: func(k string) string { return env[k] }, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	if terminal {
		c.terminal = func(io.Writer) bool { return true }
	}
	code := runCLIContext(context.Background(), c, args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

func TestSecretsFromFileAndStdin(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	env := with(sb.env(), "SNAP_CLIENT_SECRET", "")
	url := sb.ServiceURL("/v1.0/transfer-va/inquiry")

	// @FILE, its trailing newline dropped: no warning.
	r := runCLI(t, env, "call", "POST", url, "--data", `{}`, "--client-secret", "@"+sb.secretFile(t))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)

	// - reads standard input.
	r = runCLIWith(t, env, sb.ClientSecret+"\n", false, "call", "POST", url, "--data", `{}`, "--client-secret", "-")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)

	// The private key from standard input too.
	pemKey, err := os.ReadFile(sb.keyFile)
	require.NoError(t, err)
	r = runCLIWith(t, with(sb.env(), "SNAP_PRIVATE_KEY", ""), string(pemKey), false, "token", "b2b", "--private-key", "-")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)

	// From the environment: no warning (not visible in ps).
	r = runCLI(t, sb.env(), "call", "POST", url, "--data", `{}`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)

	// On the command line: it works, with a warning that never repeats it.
	r = runCLI(t, env, "call", "POST", url, "--data", `{}`, "--client-secret", sb.ClientSecret)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "snapauth: warning: --client-secret on the command line is visible to other users of this machine (ps); "+
		"use --client-secret @FILE, --client-secret - (stdin) or SNAP_CLIENT_SECRET\n", r.stderr)
	r = runCLI(t, with(sb.env(), "SNAP_PRIVATE_KEY", ""), "token", "b2b", "--private-key", string(pemKey))
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stderr, "snapauth: warning: a private key on the command line is visible to other users")
	assertNoKeyMaterial(t, r.stderr, pemKey)

	// Two secrets cannot both read standard input; an empty or missing file is an error.
	r = runCLIWith(t, env, "x", false, "call", "POST", url, "--client-secret", "-", "--token", "-")
	require.Equal(t, 2, r.code)
	assertOneLineError(t, r, "--client-secret and --token both want standard input")
	r = runCLI(t, env, "call", "POST", url, "--client-secret", "@"+writeFile(t, "empty", "\n"))
	require.Equal(t, 2, r.code)
	assertOneLineError(t, r, "--client-secret names an empty secret")
	r = runCLI(t, env, "call", "POST", url, "--client-secret", "@/nonexistent/secret")
	require.Equal(t, 2, r.code)
	assertOneLineError(t, r, "/nonexistent/secret", "no such file")

	// Every secret flag says so, and the help says why.
	for _, args := range [][]string{{"call", "--help"}, {"token", "b2b2c", "--help"}} {
		r = runCLI(t, nil, args...)
		require.Equal(t, 0, r.code)
		assert.Contains(t, r.stdout, "the command line is visible to every\nuser of this machine (ps, /proc)")
	}
	r = runCLI(t, nil, "call", "--help")
	for _, name := range []string{"client-secret", "token", "customer-token"} {
		assert.Regexp(t, `--`+name+` [A-Z]+  \[SNAP_[A-Z_]+\]\n\t[^\n]*\(secret: @FILE, - for stdin, or the environment\)`, r.stdout)
	}
	r = runCLI(t, nil, "token", "b2b2c", "--help")
	assert.Contains(t, r.stdout, "from the account-binding redirect (secret: @FILE")
}

// echoingProvider answers every request with a SNAP error whose message
// and body repeat the refresh token, auth code or Authorization token the
// request carried, as a careless provider does.
func echoingProvider(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var fields map[string]string
		_ = json.Unmarshal(body, &fields)
		echo := fields["refreshToken"] + fields["authCode"]
		code := "4017401"
		if echo == "" {
			_, echo, _ = strings.Cut(r.Header.Get("Authorization"), " ")
			code = "4014701"
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Debug-Token", echo)
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"responseCode": code, "responseMessage": "Invalid Token [" + echo + "]", "hint": echo})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProviderEchoRedacted(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	evil := echoingProvider(t)
	env := with(sb.env(), "SNAP_TOKEN_URL", evil.URL+"/v1.0/access-token/b2b2c")

	const refreshToken = "rt-SECRET-0123456789abcdef"
	r := runCLI(t, env, "token", "b2b2c", "--refresh-token", "@"+writeFile(t, "rt", refreshToken))
	require.Equal(t, 2, r.code)
	assertOneLineError(t, r, "Invalid Token [[redacted]]")
	assert.NotContains(t, r.stderr, refreshToken)
	// The advice fits the flow: the refresh token was refused, not an access token.
	assert.Contains(t, r.stderr, "the provider refused the refresh token")
	assert.Contains(t, r.stderr, "the customer must link the account again")
	assert.NotContains(t, r.stderr, "fetch a new one")

	const code = "ac-SECRET-0123456789abcdef"
	r = runCLI(t, env, "token", "b2b2c", "--auth-code", "@"+writeFile(t, "code", code))
	require.Equal(t, 2, r.code)
	assert.NotContains(t, r.stderr, code)
	assert.Contains(t, r.stderr, "the provider refused the auth code")

	// A service that echoes the bearer token, in its message, body and headers.
	const token = "bt-SECRET-0123456789abcdef"
	r = runCLI(t, sb.env(), "call", "POST", evil.URL+"/v1.0/x", "--data", `{}`, "--token", "@"+writeFile(t, "tok", token), "--verbose")
	require.Equal(t, 2, r.code)
	assert.NotContains(t, r.stderr, token)
	assert.NotContains(t, r.stdout, token)
	assert.Contains(t, r.stdout, `"hint": "[redacted]"`)
	assert.Contains(t, r.stdout, "< X-Debug-Token: [redacted]")
	assertOneLineError(t, r, "Invalid Token [[redacted]]")
}
