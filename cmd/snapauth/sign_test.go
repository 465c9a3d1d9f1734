package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
)

// field returns the value of a labelled line of sign's output.
func field(t *testing.T, out, label string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + `: +(.*)$`).FindStringSubmatch(out)
	require.NotNil(t, m, "no %q line in %q", label, out)
	return m[1]
}

// post sends a request with exactly the given headers and body, as a
// hand-written client would, and returns the status and SNAP code.
func post(t *testing.T, url string, header map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var answer struct {
		ResponseCode string `json:"responseCode"`
	}
	require.NoError(t, json.Unmarshal(data, &answer), "%s", data)
	return resp.StatusCode, answer.ResponseCode
}

// flipped changes one character of a base64 signature.
func flipped(sig string) string {
	b := []byte(sig)
	if b[10] == 'A' {
		b[10] = 'B'
	} else {
		b[10] = 'A'
	}
	return string(b)
}

func TestSignTokenRoundTrip(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	ts := snapauth.Standard.Timestamp(time.Now())
	r := runCLI(t, sb.env(), "sign", "token", "--timestamp", ts)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, sb.ClientKey+"|"+ts, field(t, r.stdout, "string to sign"))
	sig := field(t, r.stdout, "signature")

	// The provider accepts a token request carrying the printed signature.
	status, code := post(t, sb.B2BTokenURL(), map[string]string{
		"Content-Type": "application/json", "X-TIMESTAMP": ts, "X-CLIENT-KEY": sb.ClientKey, "X-SIGNATURE": sig,
	}, `{"grantType":"client_credentials"}`)
	assert.Equal(t, 200, status)
	assert.Equal(t, "2007300", code)

	// --verify with the public key: the signature matches...
	args := []string{"sign", "token", "--client-key", sb.ClientKey, "--timestamp", ts, "--public-key", sb.pubFile}
	r = runCLI(t, nil, append(args, "--verify", sig)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, field(t, r.stdout, "verify"), "OK")
	assert.NotContains(t, r.stdout, "signature:", "no private key, so nothing is signed")

	// ...and a tampered one, or another timestamp, does not.
	r = runCLI(t, nil, append(args, "--verify", flipped(sig))...)
	require.Equal(t, 1, r.code)
	assert.Equal(t, "MISMATCH", field(t, r.stdout, "verify"))
	assertOneLineError(t, r, "does not match")

	r = runCLI(t, nil, "sign", "token", "--client-key", sb.ClientKey, "--timestamp", ts+" ", "--public-key", sb.pubFile, "--verify", sig)
	require.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "note:", "an odd timestamp is pointed out")

	// With only the private key, its public half checks.
	r = runCLI(t, sb.env(), "sign", "token", "--timestamp", ts, "--verify", sig)
	require.Equal(t, 0, r.code, r.stderr)
	sb.assertNoSecrets(t, r)
}

func TestSignServiceSymmetricRoundTrip(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	cfg := &snapauth.B2BConfig{TokenURL: sb.B2BTokenURL(), ClientKey: sb.ClientKey, PrivateKey: sb.PrivateKey}
	tok, err := cfg.Token(context.Background())
	require.NoError(t, err)

	ts := snapauth.Standard.Timestamp(time.Now())
	data := `{ "amount": { "value": "10.00", "currency": "IDR" }, "note": "a\u003cb" }`
	r := runCLI(t, sb.env(), "sign", "service", "--method", "post",
		"--url", sb.ServiceURL("/v1.0/transfer-intrabank?b=2&a=1"), "--token", tok.AccessToken,
		"--data", data, "--timestamp", ts)
	require.Equal(t, 0, r.code, r.stderr)
	minified := field(t, r.stdout, "minified body")
	assert.Equal(t, `{"amount":{"value":"10.00","currency":"IDR"},"note":"a<b"}`, minified)
	assert.Equal(t, "/v1.0/transfer-intrabank?b=2&a=1", field(t, r.stdout, "endpoint url"))
	want, err := snapauth.ServiceStringToSign("POST", "/v1.0/transfer-intrabank?b=2&a=1", tok.AccessToken, []byte(data), ts)
	require.NoError(t, err)
	assert.Equal(t, want, field(t, r.stdout, "string to sign"))
	sig := field(t, r.stdout, "signature")

	// The provider, recomputing from the bytes it receives, accepts it.
	status, code := post(t, sb.ServiceURL("/v1.0/transfer-intrabank?b=2&a=1"), map[string]string{
		"Content-Type": "application/json", "Authorization": "Bearer " + tok.AccessToken,
		"X-TIMESTAMP": ts, "X-SIGNATURE": sig, "X-PARTNER-ID": sb.PartnerID,
		"X-EXTERNAL-ID": "1", "CHANNEL-ID": sb.ChannelID,
	}, minified)
	assert.Equal(t, 200, status)
	assert.Equal(t, "2004700", code)

	base := []string{"sign", "service", "--method", "POST", "--url", "/v1.0/transfer-intrabank?b=2&a=1",
		"--token", tok.AccessToken, "--timestamp", ts}
	r = runCLI(t, sb.env(), append(base, "--data", data, "--verify", sig)...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, field(t, r.stdout, "verify"), "OK")

	// A body that differs in one digit does not match.
	r = runCLI(t, sb.env(), append(base, "--data", strings.Replace(data, "10.00", "10.01", 1), "--verify", sig)...)
	require.Equal(t, 1, r.code)
	assertOneLineError(t, r, "does not match", "minified bytes")
	sb.assertNoSecrets(t, r)

	// So does the right body signed with another secret.
	r = runCLI(t, with(sb.env(), "SNAP_CLIENT_SECRET", "another-secret"), append(base, "--data", data, "--verify", sig)...)
	require.Equal(t, 1, r.code)
	assert.NotContains(t, r.stderr, "another-secret")

	// BCA SNAP signs the query as sent; DANA signs the path alone.
	r = runCLI(t, sb.env(), append(base, "--data", data, "--provider", "bca")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "/v1.0/transfer-intrabank?b=2&a=1", field(t, r.stdout, "endpoint url"))
	r = runCLI(t, sb.env(), append(base, "--data", data, "--provider", "dana")...)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "/v1.0/transfer-intrabank", field(t, r.stdout, "endpoint url"))
}

func TestSignServiceAsymmetricRoundTrip(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t, snaptest.WithServiceAuth(snaptest.Asymmetric))
	ts := snapauth.Standard.Timestamp(time.Now())
	env := with(sb.env(), "SNAP_CLIENT_SECRET", "")
	r := runCLI(t, env, "sign", "service", "--url", "/v1.0/qr/qr-mpm-notify", "--data", `{"x": 1}`, "--timestamp", ts)
	require.Equal(t, 0, r.code, r.stderr)
	want, err := snapauth.ServiceStringToSign("POST", "/v1.0/qr/qr-mpm-notify", "", []byte(`{"x":1}`), ts)
	require.NoError(t, err)
	assert.Equal(t, want, field(t, r.stdout, "string to sign"))
	assert.Contains(t, field(t, r.stdout, "algorithm"), "SHA256withRSA")
	sig := field(t, r.stdout, "signature")

	status, code := post(t, sb.ServiceURL("/v1.0/qr/qr-mpm-notify"), map[string]string{
		"Content-Type": "application/json", "X-TIMESTAMP": ts, "X-SIGNATURE": sig,
		"X-PARTNER-ID": sb.PartnerID, "X-EXTERNAL-ID": "2", "CHANNEL-ID": sb.ChannelID,
	}, `{"x":1}`)
	assert.Equal(t, 200, status)
	assert.Equal(t, "2004700", code)

	// A provider's callback is checked with its public key alone.
	args := []string{"sign", "service", "--url", "/v1.0/qr/qr-mpm-notify", "--timestamp", ts, "--public-key", sb.pubFile}
	r = runCLI(t, nil, append(args, "--data", `{"x":1}`, "--verify", sig)...)
	require.Equal(t, 0, r.code, r.stderr)
	r = runCLI(t, nil, append(args, "--data", `{"x":2}`, "--verify", sig)...)
	require.Equal(t, 1, r.code)
	r = runCLI(t, nil, append(args, "--data", `{"x":1}`, "--verify", "not base64 at all")...)
	require.Equal(t, 1, r.code)
}

func TestSignServiceEmptyBody(t *testing.T) {
	t.Parallel()
	sb := newSandbox(t)
	r := runCLI(t, sb.env(), "sign", "service", "--method", "GET", "--url", "/v1.0/status", "--token", "T",
		"--timestamp", "2020-12-17T10:55:00+07:00")
	require.Equal(t, 0, r.code, r.stderr)
	const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	assert.Equal(t, emptyHash, field(t, r.stdout, "body sha256"))
	assert.Equal(t, "GET:/v1.0/status:T:"+emptyHash+":2020-12-17T10:55:00+07:00", field(t, r.stdout, "string to sign"))
	assert.Equal(t, snapauth.SignSymmetric(sb.ClientSecret, "GET:/v1.0/status:T:"+emptyHash+":2020-12-17T10:55:00+07:00"),
		field(t, r.stdout, "signature"))
	assert.False(t, bytes.Contains([]byte(r.stderr), []byte(sb.ClientSecret)))
}
