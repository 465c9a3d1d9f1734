package main

import (
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
)

func decodeToken(t *testing.T, out string) tokenJSON {
	t.Helper()
	var tok tokenJSON
	require.NoError(t, json.Unmarshal([]byte(out), &tok), "stdout is not token JSON: %q", out)
	return tok
}

func TestTokenB2B(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	r := runCLI(t, nil, "token", "b2b",
		"--token-url", sb.B2BTokenURL(), "--client-key", sb.ClientKey, "--private-key", sb.keyFile)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	tok := decodeToken(t, r.stdout)
	assert.NotEmpty(t, tok.AccessToken)
	assert.Equal(t, "Bearer", tok.TokenType)
	assert.Equal(t, int64(900), tok.ExpiresIn)
	exp, err := time.Parse(time.RFC3339, tok.Expiry)
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(900*time.Second), exp, time.Minute)
	assert.Empty(t, tok.RefreshToken)

	// The provider saw one signed request, and the token it printed is live:
	// a service call carrying it is accepted.
	assert.Equal(t, 1, sb.Count(snaptest.EndpointB2B))
	last, ok := sb.LastRequest()
	require.True(t, ok)
	assert.Equal(t, 200, last.Status)
	assert.Equal(t, sb.ClientKey+"|"+last.Header.Get("X-TIMESTAMP"), last.StringToSign)

	r = runCLI(t, sb.env(), "call", "POST", sb.ServiceURL("/v1.0/balance-inquiry"), "--token", tok.AccessToken, "--data", `{}`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 1, sb.Count(snaptest.EndpointB2B), "--token must not fetch a token")
}

func TestTokenB2BProviderDeviation(t *testing.T) {
	t.Parallel()
	// BRI wants milliseconds in X-TIMESTAMP: the standard layout is refused,
	// --provider bri is accepted.
	sb := newSandbox(t, snaptest.WithProvider(snapauth.BRI))
	r := runCLI(t, sb.env(), "token", "b2b")
	require.Equal(t, 2, r.code)
	assertOneLineError(t, r, "4007301")
	sb.assertNoSecrets(t, r)

	r = runCLI(t, sb.env(), "token", "b2b", "--provider", "bri")
	require.Equal(t, 0, r.code, r.stderr)
	last, _ := sb.LastRequest()
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+07:00$`, last.Header.Get("X-TIMESTAMP"))
}

func TestTokenB2B2C(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	env := with(sb.env(), "SNAP_TOKEN_URL", sb.B2B2CTokenURL())

	code := sb.MintAuthCode()
	r := runCLI(t, env, "token", "b2b2c", "--auth-code", code)
	require.Equal(t, 0, r.code, r.stderr)
	first := decodeToken(t, r.stdout)
	assert.NotEmpty(t, first.AccessToken)
	assert.NotEmpty(t, first.RefreshToken)
	refreshExp, err := snapauth.ParseTimestamp(first.RefreshTokenExpiryTime)
	require.NoError(t, err, "refreshTokenExpiryTime %q", first.RefreshTokenExpiryTime)
	assert.True(t, refreshExp.After(time.Now().Add(24*time.Hour)))
	last, _ := sb.LastRequest()
	assert.JSONEq(t, `{"grantType":"authorization_code","authCode":"`+code+`"}`, string(last.Body))

	// The code is single use.
	r = runCLI(t, env, "token", "b2b2c", "--auth-code", code)
	require.Equal(t, 2, r.code)
	assertOneLineError(t, r, "4017401", "authCode already used")
	assert.NotContains(t, r.stderr, code)

	// Refresh rotates the refresh token, and the old one is spent.
	r = runCLI(t, with(env, "SNAP_REFRESH_TOKEN", first.RefreshToken), "token", "b2b2c")
	require.Equal(t, 0, r.code, r.stderr)
	second := decodeToken(t, r.stdout)
	assert.NotEqual(t, first.RefreshToken, second.RefreshToken)
	assert.NotEqual(t, first.AccessToken, second.AccessToken)

	r = runCLI(t, env, "token", "b2b2c", "--refresh-token", first.RefreshToken)
	require.Equal(t, 2, r.code)
	assertOneLineError(t, r, "4017401", "already used")
	assert.NotContains(t, r.stderr, first.RefreshToken)
	sb.assertNoSecrets(t, r)

	// The customer token works for a customer call.
	r = runCLI(t, sb.env(), "call", "POST", sb.ServiceURL("/v1.0/customer/balance"), "--customer-token", second.AccessToken)
	require.Equal(t, 0, r.code, r.stderr)
}

func TestTokenRefused(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	r := runCLI(t, with(sb.env(), "SNAP_PRIVATE_KEY", otherKeyFile(t)), "token", "b2b")
	require.Equal(t, 2, r.code)
	assertOneLineError(t, r, "HTTP 401", "4017300", "Unauthorized. [Signature]", "snapauth sign token")
	sb.assertNoSecrets(t, r)
}

func TestTokenNetworkFailure(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	// A port nobody listens on: take one, then free it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	r := runCLI(t, sb.env(), "token", "b2b", "--token-url", "http://"+addr+"/v1.0/access-token/b2b", "--timeout", "5s")
	require.Equal(t, 1, r.code)
	assertOneLineError(t, r, "fetching a B2B token")
	assert.NotContains(t, r.stderr, "snapauth: snapauth:")
	sb.assertNoSecrets(t, r)
}

// TestTokenFinnetAndDANA: the token command sends what strict profiles
// want: DANA's X-PARTNER-ID and CHANNEL-ID, Finnet's authCode on refresh.
func TestTokenFinnetAndDANA(t *testing.T) {
	t.Parallel()
	dana := newSandbox(t, snaptest.WithProvider(snapauth.DANA))
	r := runCLI(t, dana.env(), "token", "b2b", "--provider", "dana")
	require.Equal(t, 0, r.code, r.stderr)
	r = runCLI(t, with(dana.env(), "SNAP_PARTNER_ID", ""), "token", "b2b", "--provider", "dana")
	require.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, "PartnerID is empty")

	finnet := newSandbox(t, snaptest.WithProvider(snapauth.Finnet))
	env := with(finnet.env(), "SNAP_TOKEN_URL", finnet.B2B2CTokenURL())
	code := finnet.MintAuthCode()
	r = runCLI(t, env, "token", "b2b2c", "--provider", "finnet", "--auth-code", code)
	require.Equal(t, 0, r.code, r.stderr)
	var first tokenJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &first))
	r = runCLI(t, env, "token", "b2b2c", "--provider", "finnet", "--refresh-token", first.RefreshToken)
	require.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "--auth-code")
	r = runCLI(t, env, "token", "b2b2c", "--provider", "finnet", "--refresh-token", first.RefreshToken, "--auth-code", code)
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, code, "the auth code is not printed")
}
