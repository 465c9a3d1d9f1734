package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
)

func TestCallSuccess(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	r := runCLI(t, nil, "call", "post", sb.ServiceURL("/v1.0/transfer-va/inquiry?lang=id"),
		"--token-url", sb.B2BTokenURL(), "--client-key", sb.ClientKey, "--private-key", sb.keyFile,
		"--client-secret", "@"+sb.secretFile(t), "--partner-id", sb.PartnerID, "--channel-id", sb.ChannelID,
		"--origin", "partner.example", "--external-id", "20261122000001",
		"--header", "X-DEVICE-ID: device-7",
		"--data", `{ "virtualAccountNo": "  08123", "note": "<b>&" }`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, r.stderr)
	assert.Contains(t, r.stdout, "HTTP 200 OK")
	assert.Regexp(t, `(?m)^responseCode: +2004700 \(HTTP status 200, service 47`, r.stdout)
	assert.Regexp(t, `(?m)^responseMessage: +Successful$`, r.stdout)
	assert.Contains(t, r.stdout, `"signatureMode": "symmetric"`, "the body is printed indented")

	// What the provider received: every header, and the minified body the
	// signature covered, which it verified itself.
	last, ok := sb.LastRequest()
	require.True(t, ok)
	assert.Equal(t, 200, last.Status)
	assert.Equal(t, `{"virtualAccountNo":"  08123","note":"<b>&"}`, string(last.Body))
	assert.Equal(t, "20261122000001", last.Header.Get("X-EXTERNAL-ID"))
	assert.Equal(t, "partner.example", last.Header.Get("ORIGIN"))
	assert.Equal(t, "device-7", last.Header.Get("X-DEVICE-ID"))
	assert.Equal(t, sb.PartnerID, last.Header.Get("X-PARTNER-ID"))
	assert.Equal(t, "/v1.0/transfer-va/inquiry?lang=id", last.EndpointURL)
	assert.Equal(t, 1, sb.Count(snaptest.EndpointB2B))

	// The same X-EXTERNAL-ID again is a SNAP error: exit status 2.
	r = runCLI(t, sb.env(), "call", "POST", sb.ServiceURL("/v1.0/transfer-va/inquiry"),
		"--external-id", "20261122000001", "--data", `{}`)
	require.Equal(t, 2, r.code)
	assert.Contains(t, r.stdout, "HTTP 409 Conflict")
	assertOneLineError(t, r, "HTTP 409 4094700 Conflict", "X-EXTERNAL-ID was already used")
	sb.assertNoSecrets(t, r)
}

func TestCallDataFromFileAndGET(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	body := filepath.Join(t.TempDir(), "body.json")
	require.NoError(t, os.WriteFile(body, []byte("{\n  \"amount\": {\"value\": \"10.00\"}\n}\n"), 0o600))
	r := runCLI(t, sb.env(), "call", "POST", sb.ServiceURL("/v1.0/debit/payment"), "--data", "@"+body)
	require.Equal(t, 0, r.code, r.stderr)
	last, _ := sb.LastRequest()
	assert.Equal(t, `{"amount":{"value":"10.00"}}`, string(last.Body))

	r = runCLI(t, sb.env(), "call", "GET", sb.ServiceURL("/v1.0/status"))
	require.Equal(t, 0, r.code, r.stderr)
	last, _ = sb.LastRequest()
	assert.Equal(t, "GET", last.Method)
	assert.Empty(t, last.Body)
}

func TestCallSNAPErrors(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	env := sb.env()
	url := sb.ServiceURL("/v1.0/transfer-intrabank")
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"wrong client secret", with(env, "SNAP_CLIENT_SECRET", "not-the-secret"), nil,
			[]string{"HTTP 401 4014700 Unauthorized. [Signature]", "service 47", "case 00"}},
		{"wrong partner id", with(env, "SNAP_PARTNER_ID", "SOMEONE"), nil, []string{"4014700", "[X-PARTNER-ID]"}},
		{"wrong channel id", with(env, "SNAP_CHANNEL_ID", "00000"), nil, []string{"4004701", "Invalid Field Format"}},
		{"revoked token", env, []string{"--token", "made-up-token"}, []string{"4014701", "Invalid Token (B2B)"}},
		{"customer path without customer token", env, []string{"--url-path", "/v1.0/customer/balance"}, []string{"4014704", "Customer Token Not Found"}},
		{"bad customer token", env, []string{"--url-path", "/v1.0/customer/balance", "--customer-token", "nope"}, []string{"4014702", "Invalid Customer Token"}},
		{"token refused", with(env, "SNAP_PRIVATE_KEY", otherKeyFile(t)), nil, []string{"call: fetching the B2B access token: the provider refused: HTTP 401 4017300"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target, args := url, tt.args
			if len(args) >= 2 && args[0] == "--url-path" {
				target, args = sb.ServiceURL(args[1]), args[2:]
			}
			r := runCLI(t, tt.env, append([]string{"call", "POST", target, "--data", `{"a":1}`}, args...)...)
			require.Equal(t, 2, r.code, "stdout %q stderr %q", r.stdout, r.stderr)
			assertOneLineError(t, r, tt.want...)
			sb.assertNoSecrets(t, r)
			assert.NotContains(t, r.stderr, "not-the-secret")
		})
	}
}

func TestCallHTMLAnswer(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	sb.FailServiceCalls(1, 502, "")
	r := runCLI(t, sb.env(), "call", "POST", sb.ServiceURL("/v1.0/x"), "--data", `{}`)
	require.Equal(t, 2, r.code, r.stdout)
	assert.Contains(t, r.stdout, "HTTP 502")
	assertOneLineError(t, r, "HTTP 502")
}

func TestCallVerbose(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	r := runCLI(t, sb.env(), "call", "POST", sb.ServiceURL("/v1.0/transfer-va/inquiry"), "--verbose", "--data", `{"a": 1}`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "POST "+sb.B2BTokenURL())
	assert.Contains(t, r.stdout, "string signed: "+sb.ClientKey+"|")
	assert.Contains(t, r.stdout, "string signed: POST:/v1.0/transfer-va/inquiry:")
	// Signatures and the strings signed are shown whole (they are not
	// secrets), tokens masked; the secret never appears.
	last, _ := sb.LastRequest()
	_, token, _ := cutBearer(last.Header.Get("Authorization"))
	assert.NotContains(t, r.stdout, token)
	assert.Contains(t, r.stdout, mask(token))
	assert.Contains(t, r.stdout, "X-SIGNATURE:   "+last.Header.Get("X-SIGNATURE")+"\n")
	assert.Contains(t, r.stdout, "string signed: "+strings.Replace(last.StringToSign, token, mask(token), 1)+"\n")
	assert.NotContains(t, r.stdout, sb.ClientSecret)
	// The answers' status lines, headers and times.
	assert.Regexp(t, `(?m)^  < HTTP/1\.1 200 OK \(\d+(\.\d+)?m?s\)\n  < Content-Length: \d+\n  < Content-Type: application/json$`, r.stdout)
	assert.Equal(t, 2, strings.Count(r.stdout, "  < HTTP/1.1 200 OK"), "the token answer and the service answer")
	assertNoKeyMaterial(t, r.stdout, sb.PrivateKeyPEM())
}

func TestCallAsymmetric(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t, snaptest.WithServiceAuth(snaptest.Asymmetric))
	r := runCLI(t, with(sb.env(), "SNAP_CLIENT_SECRET", "", "SNAP_TOKEN_URL", ""),
		"call", "POST", sb.ServiceURL("/v1.0/qr/qr-mpm-notify"), "--asymmetric", "--data", `{"x":"y"}`)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"signatureMode": "asymmetric"`)
	last, _ := sb.LastRequest()
	assert.Empty(t, last.Header.Get("Authorization"))
	require.NoError(t, snapauth.VerifyAsymmetric(&sb.PrivateKey.PublicKey, last.StringToSign, last.Header.Get("X-SIGNATURE")))
	assert.Equal(t, 0, sb.Count(snaptest.EndpointB2B))
}

func cutBearer(v string) (string, string, bool) {
	if len(v) > 7 && v[:7] == "Bearer " {
		return "Bearer", v[7:], true
	}
	return "", v, false
}
