package main

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDemo(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "demo")
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Empty(t, r.stderr)
	for i, title := range []string{
		"Fetch a B2B access token",
		"Make a signed service call",
		"Account binding",
		"Exchange the auth code",
		"Refresh the customer token",
		"Call a service on behalf of the customer",
		"A rejected call",
		"The provider calls the partner",
	} {
		assert.Contains(t, r.stdout, fmt.Sprintf("Step %d of 8. %s", i+1, title))
		assert.Contains(t, r.stdout, fmt.Sprintf("=> step %d OK", i+1))
	}
	assert.Contains(t, r.stdout, "All 8 steps behaved as expected.")
	assert.Contains(t, r.stdout, "Unauthorized. [Signature]")
	assert.Contains(t, r.stdout, "responseCode 4095200")
	assert.Contains(t, r.stdout, "Authorization-Customer: Bearer ")
	assert.Regexp(t, `string signed: POST:/v1\.0/transfer-va/inquiry:.{4}…\(256 chars\):[0-9a-f]{64}:\d{4}-`, r.stdout)
	assert.Regexp(t, `old refresh token .{4}…\(\d+ chars\)\n  new refresh token .{4}…\(\d+ chars\)`, r.stdout)

	// Nothing long and secret-looking is printed whole: tokens (256 and more
	// characters), refresh tokens and signatures are masked. The longest
	// unmasked values are SHA-256 hashes (64 hex digits).
	long := regexp.MustCompile(`[A-Za-z0-9_+/=-]{65,}`)
	assert.Empty(t, long.FindAllString(r.stdout, -1))
}
