package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/snapauth/snapauth/snaptest"
)

// result is what one run of the command printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command in-process with env as its whole environment.
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, func(k string) string { return env[k] }, &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// sandbox is a snaptest server with its private key written to a file.
type sandbox struct {
	*snaptest.Server
	keyFile string
	pubFile string
}

func newSandbox(t *testing.T, opts ...snaptest.Option) *sandbox {
	t.Helper()
	srv := snaptest.NewServer(opts...)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	sb := &sandbox{Server: srv, keyFile: filepath.Join(dir, "partner.pem"), pubFile: filepath.Join(dir, "partner.pub.pem")}
	require.NoError(t, os.WriteFile(sb.keyFile, srv.PrivateKeyPEM(), 0o600))
	require.NoError(t, os.WriteFile(sb.pubFile, srv.PublicKeyPEM(), 0o644))
	return sb
}

// secretFile writes the client secret to a file, for --client-secret @FILE.
func (sb *sandbox) secretFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "client-secret")
	require.NoError(t, os.WriteFile(path, []byte(sb.ClientSecret+"\n"), 0o600))
	return path
}

// env is the environment the sandbox command tells users to export.
func (sb *sandbox) env() map[string]string {
	return map[string]string{
		"SNAP_TOKEN_URL":     sb.B2BTokenURL(),
		"SNAP_CLIENT_KEY":    sb.ClientKey,
		"SNAP_PRIVATE_KEY":   sb.keyFile,
		"SNAP_CLIENT_SECRET": sb.ClientSecret,
		"SNAP_PARTNER_ID":    sb.PartnerID,
		"SNAP_CHANNEL_ID":    sb.ChannelID,
	}
}

// assertNoSecrets checks that stderr holds neither the client secret nor
// any part of the private key.
func (sb *sandbox) assertNoSecrets(t *testing.T, r result) {
	t.Helper()
	assertNoKeyMaterial(t, r.stderr, sb.PrivateKeyPEM())
	assert.NotContains(t, r.stderr, sb.ClientSecret, "stderr holds the client secret")
}

// assertNoKeyMaterial checks that s holds no line of the PEM's base64 body.
func assertNoKeyMaterial(t *testing.T, s string, pemData []byte) {
	t.Helper()
	for line := range strings.SplitSeq(string(pemData), "\n") {
		if len(line) < 16 || strings.HasPrefix(line, "-----") {
			continue
		}
		require.NotContains(t, s, line, "output holds private key material")
	}
}

// assertOneLineError checks a usage or failure message: one line on stderr,
// starting with "snapauth: ", after any warnings about secrets on the
// command line.
func assertOneLineError(t *testing.T, r result, want ...string) {
	t.Helper()
	r.stderr = withoutWarnings(r.stderr)
	assert.True(t, strings.HasPrefix(r.stderr, "snapauth: "), "stderr %q", r.stderr)
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "stderr is not one line: %q", r.stderr)
	assert.NotContains(t, r.stderr, "goroutine", "stack trace on stderr")
	for _, w := range want {
		assert.Contains(t, r.stderr, w)
	}
}

// withoutWarnings drops the "snapauth: warning:" lines of stderr.
func withoutWarnings(stderr string) string {
	var kept []string
	for _, line := range strings.SplitAfter(stderr, "\n") {
		if !strings.HasPrefix(line, "snapauth: warning: ") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "")
}

// otherKeyFile writes an RSA key that no sandbox knows.
func otherKeyFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "other.pem")
	require.NoError(t, os.WriteFile(path, testkey.PEM(t, testkey.Other(t)), 0o600))
	return path
}

// with returns a copy of env with the given pairs set ("" deletes).
func with(env map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(env))
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

func TestHelp(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "help")
	require.Equal(t, 0, r.code)
	for _, cmd := range []string{"demo", "sandbox", "token", "sign", "call"} {
		assert.Contains(t, r.stdout, "\t"+cmd+" ")
	}
	assert.Empty(t, r.stderr)

	for _, args := range [][]string{
		{"--help"}, {"token", "--help"}, {"token", "b2b", "--help"}, {"token", "b2b2c", "-h"},
		{"sign", "--help"}, {"sign", "service", "--help"}, {"call", "--help"}, {"sandbox", "--help"},
		{"demo", "--help"}, {"help", "call"}, {"help", "sign"},
	} {
		r := runCLI(t, nil, args...)
		assert.Equal(t, 0, r.code, "%v", args)
		assert.Contains(t, r.stdout, "Usage:", "%v", args)
		assert.Empty(t, r.stderr, "%v", args)
	}
	r = runCLI(t, nil, "call", "--help")
	assert.Contains(t, r.stdout, "--client-secret SECRET  [SNAP_CLIENT_SECRET]")
	assert.Contains(t, r.stdout, "--private-key FILE  [SNAP_PRIVATE_KEY]")
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	env := sb.env()
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	require.NoError(t, os.WriteFile(garbage, []byte("not a key at all"), 0o600))
	encrypted := "../../testdata/keys/rsa-pkcs8-encrypted.pem"
	ecKey := "../../testdata/keys/ec-pkcs8.pem"

	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"no command", nil, nil, nil},
		{"unknown command", nil, []string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		{"unknown flag", env, []string{"token", "b2b", "--bogus"}, []string{"-bogus"}},
		{"token without kind", env, []string{"token"}, []string{"b2b"}},
		{"token unknown kind", env, []string{"token", "b2c"}, []string{`"b2c"`}},
		{"missing client key", with(env, "SNAP_CLIENT_KEY", ""), []string{"token", "b2b"}, []string{"--client-key is required", "SNAP_CLIENT_KEY"}},
		{"missing token url", with(env, "SNAP_TOKEN_URL", ""), []string{"token", "b2b"}, []string{"--token-url is required"}},
		{"no such key file", env, []string{"token", "b2b", "--private-key", "/nonexistent/key.pem"}, []string{"/nonexistent/key.pem", "no such file"}},
		{"key file from env", with(env, "SNAP_PRIVATE_KEY", "/nonexistent/env.pem"), []string{"token", "b2b"}, []string{"SNAP_PRIVATE_KEY", "no such file"}},
		{"garbage key file", env, []string{"token", "b2b", "--private-key", garbage}, []string{"private key:", "garbage.pem"}},
		{"encrypted key file", env, []string{"token", "b2b", "--private-key", encrypted}, []string{"encrypted"}},
		{"EC key file", env, []string{"call", "POST", sb.ServiceURL("/v1.0/x"), "--private-key", ecKey}, []string{"RSA"}},
		{"unknown provider", env, []string{"token", "b2b", "--provider", "acme"}, []string{`"acme"`, "bca"}},
		{"bad bool in env", with(env, "SNAP_INSECURE_HTTP", "maybe"), []string{"token", "b2b"}, []string{"SNAP_INSECURE_HTTP"}},
		{"b2b2c without grant", env, []string{"token", "b2b2c", "--token-url", sb.B2B2CTokenURL()}, []string{"--auth-code"}},
		{"b2b2c with both grants", env, []string{"token", "b2b2c", "--auth-code", "a", "--refresh-token", "r"}, []string{"not both"}},
		{"call without URL", env, []string{"call", "POST"}, []string{"METHOD and URL"}},
		{"call relative URL", env, []string{"call", "POST", "/v1.0/x"}, []string{"absolute"}},
		{"call plain http", env, []string{"call", "POST", "http://snap.example.com/v1.0/x"}, []string{"plain http"}},
		{"call bad JSON", env, []string{"call", "POST", sb.ServiceURL("/v1.0/x"), "--data", "{nope"}, []string{"not valid JSON"}},
		{"call data file missing", env, []string{"call", "POST", sb.ServiceURL("/v1.0/x"), "--data", "@/nonexistent/body.json"}, []string{"no such file"}},
		{"call without secret", with(env, "SNAP_CLIENT_SECRET", ""), []string{"call", "POST", sb.ServiceURL("/v1.0/x")}, []string{"--client-secret is required"}},
		{"call without partner", with(env, "SNAP_PARTNER_ID", ""), []string{"call", "POST", sb.ServiceURL("/v1.0/x")}, []string{"--partner-id is required"}},
		{"bad header", env, []string{"call", "POST", sb.ServiceURL("/v1.0/x"), "--header", "novalue"}, []string{"NAME: VALUE"}},
		{"sign without kind", nil, []string{"sign"}, []string{"sign token"}},
		{"sign verify without timestamp", env, []string{"sign", "token", "--verify", "abc"}, []string{"--timestamp"}},
		{"sign service without url", env, []string{"sign", "service"}, []string{"--url is required"}},
		{"sign service secret without token", env, []string{"sign", "service", "--url", "/x", "--client-secret", "s"}, []string{"--token"}},
		{"sandbox bad addr", nil, []string{"sandbox", "--addr", "nowhere"}, []string{"HOST:PORT"}},
		{"demo argument", nil, []string{"demo", "extra"}, []string{`"extra"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.env, tt.args...)
			assert.Equal(t, 2, r.code, "stdout %q stderr %q", r.stdout, r.stderr)
			if tt.args == nil {
				assert.Contains(t, r.stderr, "Usage:")
				return
			}
			assertOneLineError(t, r, tt.want...)
			sb.assertNoSecrets(t, r)
		})
	}
}

func TestFlagsOverrideEnv(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	// The environment names the wrong client and key; the flags fix both.
	env := with(sb.env(), "SNAP_CLIENT_KEY", "someone-else", "SNAP_PRIVATE_KEY", otherKeyFile(t))
	r := runCLI(t, env, "token", "b2b")
	require.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "4017300")

	r = runCLI(t, env, "token", "b2b", "--client-key", sb.ClientKey, "--private-key", sb.keyFile)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"access_token"`)

	// A b2b2c grant on the command line wins over the other one in the environment.
	code := sb.MintAuthCode()
	r = runCLI(t, with(sb.env(), "SNAP_REFRESH_TOKEN", "stale"), "token", "b2b2c", "--token-url", sb.B2B2CTokenURL(), "--auth-code", code)
	require.Equal(t, 0, r.code, r.stderr)
}

func TestExplainCode(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "HTTP status 401, service 73 (B2B access token), case 00: Unauthorized; "+unauthorizedHints["signature/token"],
		explainAnswer("4017300", "Unauthorized. [Signature]"))
	assert.Contains(t, explainAnswer("4014700", "Unauthorized. [Signature]"), "call --verbose")
	assert.Contains(t, explainAnswer("4014700", "Unauthorized.[Timestamp]"), "clock")
	assert.Contains(t, explainAnswer("4014700", "Unauthorized. [Why Not]"), "[why not]")
	assert.Contains(t, explainAnswer("4014700", "Unauthorized"), "no reason")
	assert.Contains(t, explainCode("4094700"), "X-EXTERNAL-ID")
	assert.Contains(t, explainCode("4031234"), "Forbidden (a provider-specific case)")
	assert.Equal(t, "no responseCode", explainCode(""))
	assert.Contains(t, explainCode("12"), "not the 7-character")
}

func TestMask(t *testing.T) {
	t.Parallel()
	tok := strings.Repeat("eyJ0", 300)
	assert.Equal(t, "eyJ0…(1200 chars)", mask(tok))
	assert.Equal(t, "…(6 chars)", mask("secret"))
	assert.Equal(t, "ab€d…(20 chars)", mask("ab€d"+strings.Repeat("x", 16)))
}

func FuzzMask(f *testing.F) {
	f.Add("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9")
	f.Add("short")
	f.Add("\xff\xfe€€€€€€€€€€€€€€")
	f.Fuzz(func(t *testing.T, s string) {
		m := mask(s)
		if len(s) > 16 && strings.Contains(m, s) {
			t.Fatalf("mask(%q) = %q reveals the value", s, m)
		}
		if !strings.Contains(m, "chars)") {
			t.Fatalf("mask(%q) = %q has no length", s, m)
		}
	})
}

func FuzzHeaderFlag(f *testing.F) {
	f.Add("X-DEVICE-ID: abc")
	f.Add("novalue")
	f.Add(": x")
	f.Fuzz(func(t *testing.T, v string) {
		var h headerFlag
		if h.Set(v) == nil {
			if len(h) != 1 || h[0].name == "" || strings.ContainsAny(h[0].name, " \t:") {
				t.Fatalf("Set(%q) accepted a bad header name %q", v, h[0].name)
			}
		}
	})
}
