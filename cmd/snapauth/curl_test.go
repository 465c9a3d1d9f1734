package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapauth/snapauth/snaptest"
)

// curlBinary returns the path of curl; without it the test is skipped,
// unless CI=true, where it fails.
func curlBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/curl"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("curl"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("the --curl test needs curl (Debian: apt-get install curl)")
	}
	t.Skip("the --curl test needs curl")
	return ""
}

// TestCallCurl signs a call without sending it, then replays the printed
// command with curl: the sandbox accepts it, signature and all.
func TestCallCurl(t *testing.T) {
	t.Parallel()
	curl := curlBinary(t)
	sb := newSandbox(t)
	url := sb.ServiceURL("/v1.0/transfer-va/inquiry?lang=id")
	data := `{ "virtualAccountNo": "  08123", "note": "it's <b>&" }`
	r := runCLI(t, sb.env(), "call", "POST", url, "--data", data, "--curl", "--show-tokens", "--header", "X-DEVICE-ID: dev 7")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	assert.True(t, strings.HasPrefix(r.stdout, "curl -sS -i -X POST '"+url+"' \\\n"), r.stdout)
	assert.Contains(t, r.stdout, `--data-binary '{"virtualAccountNo":"  08123","note":"it'\''s <b>&"}'`)
	assert.Equal(t, 0, sb.Count(snaptest.EndpointService), "--curl must not send the call")
	assert.Equal(t, 1, sb.Count(snaptest.EndpointB2B), "the token the call is signed with is fetched")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", strings.Replace(r.stdout, "curl ", curl+" ", 1))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "HTTP/1.1 200 OK")
	assert.Contains(t, string(out), `"responseCode":"2004700"`)
	last, ok := sb.LastRequest()
	require.True(t, ok)
	assert.Equal(t, "dev 7", last.Header.Get("X-DEVICE-ID"))
	assert.Equal(t, `{"virtualAccountNo":"  08123","note":"it's <b>&"}`, string(last.Body))
	assert.Equal(t, "/v1.0/transfer-va/inquiry?lang=id", last.EndpointURL)

	// Without --show-tokens the tokens are masked, and the user is told
	// that the command will not replay.
	r = runCLI(t, sb.env(), "call", "POST", url, "--data", data, "--curl")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `-H 'Authorization: Bearer .{4}…\(256 chars\)'`, r.stdout)
	assert.Contains(t, r.stderr, "masked, so it will not replay; add --show-tokens")
	sb.assertNoSecrets(t, r)
	assert.NotContains(t, r.stdout, sb.ClientSecret)
}

func TestCurlQuoting(t *testing.T) {
	t.Parallel()
	req := &sentRequest{Method: "GET", URL: "https://snap.example/v1.0/x?a=1&b=it's", Header: map[string][]string{
		"X-Timestamp": {"2026-01-02T03:04:05+07:00"}, "Authorization": {"Bearer abcdefghijklmnopq"},
	}}
	assert.Equal(t, "curl -sS -i -X GET 'https://snap.example/v1.0/x?a=1&b=it'\\''s' \\\n"+
		"  -H 'Authorization: Bearer abcd…(17 chars)' \\\n"+
		"  -H 'X-TIMESTAMP: 2026-01-02T03:04:05+07:00'\n", curlCommand(req, display{}))
	assert.Contains(t, curlCommand(req, display{tokens: true}), "-H 'Authorization: Bearer abcdefghijklmnopq'")
}
