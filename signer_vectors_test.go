package snapauth_test

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// signerVector is one line of testdata/vectors.txt, computed by
// testdata/gen-vectors.sh with openssl (see the script for the format).
type signerVector struct {
	Kind, Name, ClientKey, ClientSecret, Method, Endpoint, AccessToken, Timestamp string
	Body, BodySHA256, StringToSign, Signature                                     string
}

func loadSignerVectors(t *testing.T) map[string]signerVector {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "vectors.txt"))
	require.NoError(t, err)
	vs := map[string]signerVector{}
	for line := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
		f := strings.Split(line, "\t")
		require.Len(t, f, 12, "vector line %q", line)
		v := signerVector{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11]}
		require.NotContains(t, vs, v.Name, "duplicate vector name")
		vs[v.Name] = v
	}
	require.GreaterOrEqual(t, len(vs), 16)
	return vs
}

func signerReadKeyFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "keys", name))
	require.NoError(t, err)
	return data
}

// signerOpenSSLKey is the key the vectors were signed with, parsed from the
// PEM openssl wrote.
func signerOpenSSLKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	key, err := snapauth.ParsePrivateKey(signerReadKeyFile(t, "rsa-pkcs8.pem"))
	require.NoError(t, err)
	return key
}

// signerToolOrSkip returns the path of a command-line tool, skips the test
// when it is missing on a developer machine, and fails it when missing in CI.
func signerToolOrSkip(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return path
}

// runNode runs script in node (from signerToolOrSkip) on stdin and returns
// what it writes to stdout; the test fails, with node's stderr, if node
// does.
func runNode(t *testing.T, node, script string, stdin []byte) []byte {
	t.Helper()
	cmd := exec.Command(node, "-e", script)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "node: %s", stderr.String())
	return out
}

func TestSignerVectors(t *testing.T) {
	vs := loadSignerVectors(t)
	key := signerOpenSSLKey(t)
	pub, err := snapauth.ParsePublicKey(signerReadKeyFile(t, "rsa-public-pkix.pem"))
	require.NoError(t, err)
	kinds := map[string]int{}
	for _, v := range vs {
		kinds[v.Kind]++
		t.Run(v.Name, func(t *testing.T) {
			switch v.Kind {
			case "token":
				sts := snapauth.TokenStringToSign(v.ClientKey, v.Timestamp)
				require.Equal(t, v.StringToSign, sts)
				sig, err := snapauth.SignAsymmetric(key, sts)
				require.NoError(t, err)
				assert.Equal(t, v.Signature, sig, "RSA signature differs from openssl's")
				assert.NoError(t, snapauth.VerifyAsymmetric(pub, v.StringToSign, v.Signature))
			case "symmetric", "asymmetric":
				token := v.AccessToken
				if v.Kind == "asymmetric" {
					require.Empty(t, token)
				}
				sts, err := snapauth.ServiceStringToSign(v.Method, v.Endpoint, token, []byte(v.Body), v.Timestamp)
				require.NoError(t, err)
				require.Equal(t, v.StringToSign, sts)
				assert.Contains(t, sts, ":"+v.BodySHA256+":", "body hash differs from sha256sum's")
				min, err := snapauth.Minify([]byte(v.Body))
				require.NoError(t, err)
				assert.Equal(t, v.Body, string(min), "the vector body is already canonical")

				lower, err := snapauth.ServiceStringToSign(strings.ToLower(v.Method), v.Endpoint, token, []byte(v.Body), v.Timestamp)
				require.NoError(t, err)
				assert.Equal(t, v.StringToSign, lower, "the method is upper-cased")

				if v.Kind == "symmetric" {
					assert.Equal(t, v.Signature, snapauth.SignSymmetric(v.ClientSecret, sts), "HMAC differs from openssl's")
					assert.NoError(t, snapauth.VerifySymmetric(v.ClientSecret, v.StringToSign, v.Signature))
				} else {
					sig, err := snapauth.SignAsymmetric(key, sts)
					require.NoError(t, err)
					assert.Equal(t, v.Signature, sig, "RSA signature differs from openssl's")
					assert.NoError(t, snapauth.VerifyAsymmetric(pub, v.StringToSign, v.Signature))
				}
			default:
				t.Fatalf("unknown vector kind %q", v.Kind)
			}
		})
	}
	assert.Equal(t, map[string]int{"token": 3, "symmetric": 8, "asymmetric": 5}, kinds)
}

// TestSignerVectorsEveryKeyFormat signs the token vector with the key parsed
// from each format openssl wrote; all must give openssl's signature.
func TestSignerVectorsEveryKeyFormat(t *testing.T) {
	v := loadSignerVectors(t)["token-standard"]
	for _, name := range []string{"rsa-pkcs8.pem", "rsa-pkcs1.pem", "rsa-pkcs8.b64", "rsa-pkcs1.b64"} {
		key, err := snapauth.ParsePrivateKey(signerReadKeyFile(t, name))
		require.NoError(t, err, name)
		sig, err := snapauth.SignAsymmetric(key, v.StringToSign)
		require.NoError(t, err)
		assert.Equal(t, v.Signature, sig, name)
	}
	for _, name := range []string{"rsa-public-pkix.pem", "rsa-public-pkcs1.pem", "rsa-public-pkix.b64", "rsa-cert.pem", "rsa-cert.b64"} {
		pub, err := snapauth.ParsePublicKey(signerReadKeyFile(t, name))
		require.NoError(t, err, name)
		assert.NoError(t, snapauth.VerifyAsymmetric(pub, v.StringToSign, v.Signature), name)
	}
}

// signerEscapeNonASCII rewrites every non-ASCII character of a JSON text as
// \uXXXX escapes (surrogate pairs above the BMP), the way an ASCII-only
// encoder (Jackson's ESCAPE_NON_ASCII, Python's json.dumps) writes it.
func signerEscapeNonASCII(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04X\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// TestSignerVectorsOtherSpellings feeds the bodies of the vectors as other
// encoders write them: pretty-printed, with Go's HTML escapes, with every
// non-ASCII character escaped. Each must sign exactly as its minified form.
func TestSignerVectorsOtherSpellings(t *testing.T) {
	vs := loadSignerVectors(t)
	key := signerOpenSSLKey(t)

	pretty := func(body string) string {
		var b bytes.Buffer
		require.NoError(t, json.Indent(&b, []byte(body), "\t", "    "))
		return "\r\n " + b.String() + "\n\n"
	}
	goMarshalled := func(string) string {
		body, err := json.Marshal(struct {
			Note   string `json:"note"`
			URL    string `json:"url"`
			Script string `json:"script"`
		}{"<b>Tom & Jerry</b> > 5 < 10", "https://example.com/a?b=1&c=2", "<script>alert(1)</script>"})
		require.NoError(t, err)
		require.Contains(t, string(body), `\u003cb\u003eTom \u0026 Jerry`)
		return string(body)
	}
	slashes := func(body string) string { return strings.ReplaceAll(body, "/", `\/`) }

	cases := []struct {
		vector    string
		transform func(string) string
	}{
		{"sym-compact", pretty},
		{"asym-compact", pretty},
		{"sym-unicode", pretty},
		{"sym-escapes", pretty},
		{"sym-html", goMarshalled},
		{"asym-html", goMarshalled},
		{"sym-html", slashes},
		{"sym-unicode", signerEscapeNonASCII},
		{"asym-unicode", signerEscapeNonASCII},
		{"sym-unicode", func(b string) string { return pretty(signerEscapeNonASCII(b)) }},
	}
	for _, c := range cases {
		v := vs[c.vector]
		require.NotEmpty(t, v.Name, c.vector)
		body := c.transform(v.Body)
		require.NotEqual(t, v.Body, body, "the transformation must change the bytes")
		token := v.AccessToken
		sts, err := snapauth.ServiceStringToSign(v.Method, v.Endpoint, token, []byte(body), v.Timestamp)
		require.NoError(t, err)
		assert.Equal(t, v.StringToSign, sts, "%s: %s", c.vector, body)
		if v.Kind == "symmetric" {
			assert.Equal(t, v.Signature, snapauth.SignSymmetric(v.ClientSecret, sts), c.vector)
		} else {
			sig, err := snapauth.SignAsymmetric(key, sts)
			require.NoError(t, err)
			assert.Equal(t, v.Signature, sig, c.vector)
		}
	}
}

// TestSignerVectorsScriptReproducible reruns testdata/gen-vectors.sh (with
// the committed keys) and requires it to write the committed vectors byte
// for byte: the vectors are what openssl computes today, not a stale copy.
func TestSignerVectorsScriptReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("runs openssl about 40 times")
	}
	signerToolOrSkip(t, "openssl")
	signerToolOrSkip(t, "bash")
	out := filepath.Join(t.TempDir(), "vectors.txt")
	cmd := exec.Command("bash", filepath.Join("testdata", "gen-vectors.sh"))
	cmd.Env = append(os.Environ(), "VECTORS_OUT="+out)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join("testdata", "vectors.txt"))
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
}

// TestSignerSignaturesVerifyInNode checks SignAsymmetric against Node's
// crypto.verify and SignSymmetric against Node's createHmac, on the same
// strings to sign.
func TestSignerSignaturesVerifyInNode(t *testing.T) {
	node := signerToolOrSkip(t, "node")
	key := testkey.RSA(t)
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	type nodeCase struct {
		StringToSign string `json:"sts"`
		RSA          string `json:"rsa"`
		Secret       string `json:"secret"`
	}
	input := struct {
		PublicKey string     `json:"pub"`
		Cases     []nodeCase `json:"cases"`
	}{PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))}
	var hmacs []string
	for i, body := range []string{"", `{"a":"<>&"}`, `{"remark":"terima kasih 🙏 ÄÖ"}`, `{"k":"\u0000\ud800"}`} {
		sts, err := snapauth.ServiceStringToSign("POST", "/v1.0/x?q=1", fmt.Sprintf("token-%d", i), []byte(body), "2020-12-17T10:55:00+07:00")
		require.NoError(t, err)
		secret := fmt.Sprintf("secret-%d-ÄÖ🔑", i)
		sig, err := snapauth.SignAsymmetric(key, sts)
		require.NoError(t, err)
		input.Cases = append(input.Cases, nodeCase{sts, sig, secret})
		hmacs = append(hmacs, snapauth.SignSymmetric(secret, sts))
	}
	tokenSTS := snapauth.TokenStringToSign("client-ÄÖ", snapauth.Standard.Timestamp(time.Now()))
	tokenSig, err := snapauth.SignAsymmetric(key, tokenSTS)
	require.NoError(t, err)
	input.Cases = append(input.Cases, nodeCase{tokenSTS, tokenSig, ""})
	hmacs = append(hmacs, snapauth.SignSymmetric("", tokenSTS))

	stdin, err := json.Marshal(input)
	require.NoError(t, err)
	const script = `
const crypto = require('crypto');
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const out = input.cases.map(c => ({
  rsaOK: crypto.verify('sha256', Buffer.from(c.sts, 'utf8'), input.pub, Buffer.from(c.rsa, 'base64')),
  rsaTamperedOK: crypto.verify('sha256', Buffer.from(c.sts + ' ', 'utf8'), input.pub, Buffer.from(c.rsa, 'base64')),
  hmac: crypto.createHmac('sha512', Buffer.from(c.secret, 'utf8')).update(Buffer.from(c.sts, 'utf8')).digest('base64'),
}));
process.stdout.write(JSON.stringify(out));`
	out := runNode(t, node, script, stdin)
	var results []struct {
		RSAOK         bool   `json:"rsaOK"`
		RSATamperedOK bool   `json:"rsaTamperedOK"`
		HMAC          string `json:"hmac"`
	}
	require.NoError(t, json.Unmarshal(out, &results))
	require.Len(t, results, len(input.Cases))
	for i, r := range results {
		assert.True(t, r.RSAOK, "node rejects our RSA signature of %q", input.Cases[i].StringToSign)
		assert.False(t, r.RSATamperedOK, "node must reject a signature over another string")
		assert.Equal(t, hmacs[i], r.HMAC, "HMAC of %q", input.Cases[i].StringToSign)
	}
}
