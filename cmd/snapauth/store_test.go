package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
)

// TestStoreCustomerCalls walks the stored flow: link a customer into a
// FileStore, call for that customer from it, and let a due token be
// refreshed with its rotated refresh token saved.
func TestStoreCustomerCalls(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	dir := filepath.Join(t.TempDir(), "tokens")
	env := with(sb.env(), "SNAP_STORE", dir)
	st, err := snapauth.NewFileStore(dir)
	require.NoError(t, err)
	ctx := context.Background()

	// The exchange saves the customer's token under --key before printing it.
	r := runCLI(t, env, "token", "b2b2c", "--token-url", sb.B2B2CTokenURL(), "--key", "alice",
		"--auth-code", "@"+writeFile(t, "code", sb.MintAuthCode()))
	require.Equal(t, 0, r.code, r.stderr)
	printed := decodeToken(t, r.stdout)
	saved, err := st.Load(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, printed.RefreshToken, saved.RefreshToken)
	info, err := os.Stat(st.Path("alice"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// Customer calls from the store; the B2B token is cached there too.
	url := sb.ServiceURL("/v1.0/customer/balance-inquiry")
	for range 2 {
		r = runCLI(t, env, "call", "POST", url, "--data", `{}`, "--key", "alice")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, `"customer": "customer-1"`)
	}
	assert.Equal(t, 1, sb.Count(snaptest.EndpointB2B), "the second call reused the stored B2B token")
	_, err = st.Load(ctx, b2bKey(sb.ClientKey))
	require.NoError(t, err)
	assert.Equal(t, 0, sb.Stats().Issued[snaptest.EndpointB2B2C]-1, "no refresh while the customer token is fresh")

	// A due token is refreshed; the rotated refresh token is in the store
	// when the command ends, and the old one is spent.
	saved.Expiry = time.Now().Add(-time.Minute)
	require.NoError(t, st.Save(ctx, "alice", saved))
	r = runCLI(t, env, "call", "POST", url, "--data", `{}`, "--key", "alice")
	require.Equal(t, 0, r.code, r.stderr)
	rotated, err := st.Load(ctx, "alice")
	require.NoError(t, err)
	assert.NotEqual(t, saved.RefreshToken, rotated.RefreshToken)
	assert.True(t, rotated.Expiry.After(time.Now()))
	assert.Equal(t, 2, sb.Stats().Issued[snaptest.EndpointB2B2C])
	r = runCLI(t, env, "token", "b2b2c", "--token-url", sb.B2B2CTokenURL(), "--refresh-token", "@"+writeFile(t, "old", saved.RefreshToken))
	require.Equal(t, 2, r.code, "the old refresh token is spent")
	assert.NotContains(t, r.stdout+r.stderr, rotated.RefreshToken)

	// token b2b2c with only --key prints the stored token, refreshing it when due.
	r = runCLI(t, env, "token", "b2b2c", "--token-url", sb.B2B2CTokenURL(), "--key", "alice")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, rotated.AccessToken, decodeToken(t, r.stdout).AccessToken)

	// token b2b with --store caches.
	r = runCLI(t, env, "token", "b2b")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 1, sb.Count(snaptest.EndpointB2B))

	// A cached B2B token the provider no longer knows (a restarted sandbox)
	// is replaced: the transport invalidates it on 4014701 and fetches anew.
	sb.RevokeAccessTokens()
	r = runCLI(t, env, "call", "POST", sb.ServiceURL("/v1.0/transfer-va/inquiry"), "--data", `{}`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 2, sb.Count(snaptest.EndpointB2B))

	// Usage errors.
	r = runCLI(t, with(env, "SNAP_STORE", ""), "call", "POST", url, "--key", "alice")
	require.Equal(t, 2, r.code)
	assertOneLineError(t, r, "--key names a customer token in a store: give --store DIR too")
	r = runCLI(t, env, "call", "POST", url, "--key", "alice", "--customer-token", "@"+writeFile(t, "ct", "some-customer-token"))
	require.Equal(t, 2, r.code)
	assertOneLineError(t, r, "not both")
}

// TestStoreSaveFails makes the save of a new customer token fail: the
// token is printed all the same (it is the only copy), with an error.
func TestStoreSaveFails(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	dir := filepath.Join(t.TempDir(), "tokens")
	st, err := snapauth.NewFileStore(dir)
	require.NoError(t, err)
	// A directory where the token file goes: the rename onto it fails.
	require.NoError(t, os.MkdirAll(filepath.Join(st.Path("bob"), "x"), 0o700))
	r := runCLI(t, with(sb.env(), "SNAP_STORE", dir), "token", "b2b2c", "--token-url", sb.B2B2CTokenURL(), "--key", "bob",
		"--auth-code", "@"+writeFile(t, "code", sb.MintAuthCode()))
	require.Equal(t, 1, r.code)
	tok := decodeToken(t, r.stdout)
	assert.NotEmpty(t, tok.RefreshToken)
	assertOneLineError(t, r, "could not be saved", `under "bob"`, "the only copy")
	assert.NotContains(t, r.stderr, tok.RefreshToken)
}
