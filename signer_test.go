package snapauth_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/snapauth/snapauth"
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

// signerGeneratedKey is an RSA 2048 key generated once per test binary.
var signerGeneratedKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

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

func TestServiceStringToSign(t *testing.T) {
	const ts = "2020-12-17T10:55:00+07:00"
	emptyHash := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	sts, err := snapauth.ServiceStringToSign("get", "/v1.0/x?a=1", "tok", nil, ts)
	require.NoError(t, err)
	assert.Equal(t, "GET:/v1.0/x?a=1:tok:"+emptyHash+":"+ts, sts)

	sts, err = snapauth.ServiceStringToSign("Post", "/v1.0/x", "", []byte{}, ts)
	require.NoError(t, err)
	assert.Equal(t, "POST:/v1.0/x:"+emptyHash+":"+ts, sts, "no token: the asymmetric form")

	body := []byte(" {\n \"a\" : [ 1 , 2 ] }\n")
	sum := sha256.Sum256([]byte(`{"a":[1,2]}`))
	sts, err = snapauth.ServiceStringToSign("PATCH", "/p", "t", body, ts)
	require.NoError(t, err)
	assert.Equal(t, "PATCH:/p:t:"+hex.EncodeToString(sum[:])+":"+ts, sts)
	assert.Equal(t, " {\n \"a\" : [ 1 , 2 ] }\n", string(body), "the caller's body is not modified")

	for _, bad := range []string{"{", "not json", `{"a":1}x`, " ", "\xff", `"\xff"`} {
		_, err := snapauth.ServiceStringToSign("POST", "/p", "t", []byte(bad), ts)
		require.Error(t, err, "%q", bad)
		assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
	}
}

func TestTokenStringToSign(t *testing.T) {
	assert.Equal(t, "client|2020-12-17T10:55:00+07:00", snapauth.TokenStringToSign("client", "2020-12-17T10:55:00+07:00"))
	assert.Equal(t, "|", snapauth.TokenStringToSign("", ""))
}

func TestMinify(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{`{}`, `{}`},
		{" \t\r\n{ \"a\" :\t1 ,\n\"b\" : [ ] , \"c\":{ } }\r\n", `{"a":1,"b":[],"c":{}}`},
		{`"  spaces  inside  "`, `"  spaces  inside  "`},
		{`{"z":1,"a":2,"m":3}`, `{"z":1,"a":2,"m":3}`},                                                 // key order kept
		{`{"a":1,"a":2}`, `{"a":1,"a":2}`},                                                             // duplicate keys kept
		{`{"b":1,"2":2,"1":3}`, `{"b":1,"2":2,"1":3}`},                                                 // integer-like keys not reordered
		{`[1.0,1e2,1E+2,-0,0.10,12345678901234567890]`, `[1.0,1e2,1E+2,-0,0.10,12345678901234567890]`}, // numbers verbatim
		{`"\u003cb\u003e \u0026 \/"`, `"<b> & /"`},
		{`"\u00e9\u00E9é"`, `"ééé"`},
		{`"\ud83d\ude4f"`, `"🙏"`},
		{`"\uD83D\uDE4F"`, `"🙏"`},
		{`"\ud83d"`, `"\ud83d"`},
		{`"\uDE4F"`, `"\ude4f"`},
		{`"\ude4f\ud83d"`, `"\ude4f\ud83d"`},
		{`"\ud83d\ud83d\ude4f"`, `"\ud83d🙏"`},
		{`"\ud83dx"`, `"\ud83dx"`},
		{`"\u0000\u001F\u0008\u000c\u000A\u000d\u0009"`, `"\u0000\u001f\b\f\n\r\t"`},
		{`"\b\f\n\r\t\"\\"`, `"\b\f\n\r\t\"\\"`},
		{`"\u0022\u005c\u005C"`, `"\"\\\\"`},
		{`"\u007f\u0080\u2028\u2029\ufeff\uffff"`, "\"\u007f\u0080\u2028\u2029\ufeff\uffff\""},
		{"\"\u2028 raw\"", "\"\u2028 raw\""},
		{`"\u0020"`, `" "`},
		{` true `, `true`},
		{` null`, `null`},
		{`-1.5e-7`, `-1.5e-7`},
		{`[[[[{"a":[{}]}]]]]`, `[[[[{"a":[{}]}]]]]`},
	}
	for _, c := range cases {
		got, err := snapauth.Minify([]byte(c.in))
		require.NoError(t, err, "%q", c.in)
		assert.Equal(t, c.want, string(got), "%q", c.in)
		again, err := snapauth.Minify(got)
		require.NoError(t, err)
		assert.Equal(t, string(got), string(again), "idempotent on %q", c.in)
	}

	got, err := snapauth.Minify(nil)
	require.NoError(t, err)
	assert.Empty(t, got)

	for _, bad := range []string{" ", "\n", "{", "}", `{"a"}`, `{"a":1,}`, `[1,]`, `'a'`, `{"a":01}`, `NaN`,
		`"\x"`, `"\u12"`, "\"\x01\"", "\xef\xbb\xbf{}", `{} {}`, "\"\xff\"", "\"\xed\xa0\x80\"", "\"\xc0\xaf\""} {
		_, err := snapauth.Minify([]byte(bad))
		require.Error(t, err, "%q", bad)
		assert.Contains(t, err.Error(), "snapauth: body is not valid")
		if len(bad) > 4 {
			assert.NotContains(t, err.Error(), bad, "the body is not echoed")
		}
	}
}

// TestMinifyDoesNotAliasInput checks that the result never shares memory
// with the caller's body, so a caller may reuse its buffer.
func TestMinifyDoesNotAliasInput(t *testing.T) {
	in := []byte(`{"a":"b"}`)
	out, err := snapauth.Minify(in)
	require.NoError(t, err)
	in[2] = 'X'
	assert.Equal(t, `{"a":"b"}`, string(out))
}

// signerStringifyCorpus are bodies for which JSON.stringify(JSON.parse(x))
// is the canonical form snapauth promises. Numbers here are already in
// JavaScript's shortest form: Minify keeps numbers verbatim (see TestMinify),
// and JSON.parse merges duplicate keys and moves integer-like keys first,
// which Minify does not do, so neither appears here.
func signerStringifyCorpus() []string {
	deep := strings.Repeat(`{"a":[`, 200) + `"bottom"` + strings.Repeat(`]}`, 200)
	long := strings.Repeat(`Pembayaran \u003c€\ud83d\ude4f\n`, 2000)
	var controls strings.Builder
	for c := 0; c < 0x20; c++ {
		fmt.Fprintf(&controls, `\u%04x`, c)
	}
	return []string{
		`{}`, `[]`, `""`, `0`, `-1`, `true`, `false`, `null`, `"x"`,
		` { "a" : 1 , "b" : [ true , false , null ] } `,
		"\t\r\n[\n\t{\r\n\"k\"\t:\n\"v\"\r}\t,\n[\t]\r,{ }\n]\t\r\n",
		`{"html":"\u003cscript\u003ealert(\"x\")\u003c/script\u003e \u0026 \u003e"}`,
		`{"url":"https:\/\/example.com\/a\/b?c=1\u0026d=2"}`,
		`{"e":"caf\u00e9 \u00C9t\u00e9 na\u00efve \u4e2d\u6587 \u0410"}`,
		`{"pair":"\ud83d\ude4f \uD83C\uDDEE\uD83C\uDDE9 \ud83d\udc68\u200d\ud83d\udc69"}`,
		`{"lone":["\ud800","\udfff","\ud83d x","\ude4f\ud83d","\ud83d\ud83d\ude4f","a\udc00b"]}`,
		`{"ctl":"` + controls.String() + `","del":"\u007f","named":"\b\f\n\r\t"}`,
		`{"esc":"\"quoted\" \\back\\slash\\ \/ \u0022 \u005c"}`,
		`{"ls":"\u2028\u2029","raw":"` + "\u2028\u2029" + `"}`,
		`{"bom":"\ufeff","nonchar":"\uffff\ufffe","nul":"a\u0000b"}`,
		`{"raw":"Terima kasih 🙏 — Rp 10.000,00 ꦪꦺꦴꦒꦾ 👨‍👩‍👧 🇮🇩 <>&'"}`,
		`[[[[[[[[[[[]]]]]]]]]],[{}],{"a":{"b":{"c":{"d":[1,[2,[3,[4]]]]}}}}]`,
		`{"a":[{"b":[{"c":[]}],"d":{}},[],[[]],""]}`,
		deep,
		`{"long":"` + long + `"}`,
		`{"numbers":[0,1,-1,0.5,-0.25,123456789,1e+21,1.5e-7,-1e-7]}`,
		`{"partnerServiceId":"  12345","amount":{"value":"10000.00","currency":"IDR"},"additionalInfo":{}}`,
		`{"k\u00e9y \u003c":"v","\ud83d\ude4f":1,"":"empty key"}`,
	}
}

func TestMinifyMatchesJSONStringify(t *testing.T) {
	node := signerToolOrSkip(t, "node")
	corpus := signerStringifyCorpus()
	var in bytes.Buffer
	for _, body := range corpus {
		require.True(t, json.Valid([]byte(body)), "corpus entry is not JSON: %.80s", body)
		in.WriteString(base64.StdEncoding.EncodeToString([]byte(body)) + "\n")
	}
	// Each line of stdin is base64 of a body; each line of stdout is base64
	// of the UTF-8 of JSON.stringify(JSON.parse(body)).
	const script = `
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(Boolean);
for (const l of lines) {
  const s = JSON.stringify(JSON.parse(Buffer.from(l, 'base64').toString('utf8')));
  process.stdout.write(Buffer.from(s, 'utf8').toString('base64') + '\n');
}`
	cmd := exec.Command(node, "-e", script)
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "node: %s", stderr.String())
	results := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	require.Len(t, results, len(corpus))
	for i, body := range corpus {
		want, err := base64.StdEncoding.DecodeString(results[i])
		require.NoError(t, err)
		got, err := snapauth.Minify([]byte(body))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "corpus[%d] %.120s", i, body)
	}
}

// TestMinifyKeepsNumbersVerbatim documents the one deliberate deviation from
// JSON.stringify(JSON.parse(x)): a number is kept exactly as written, never
// re-formatted (1.0 stays 1.0, 1e2 stays 1e2), because a Java or Go provider
// re-serialises numbers differently from JavaScript and only the sender's
// own spelling is common ground. Send numbers in their shortest form (or
// amounts as strings, as SNAP does) if a provider re-serialises.
func TestMinifyKeepsNumbersVerbatim(t *testing.T) {
	for _, n := range []string{"1.0", "1e2", "1E2", "1e+2", "1.50", "-0", "0.0", "100000000000000000000000", "1.7976931348623157e309"} {
		body := ` { "amount" : ` + n + ` } `
		got, err := snapauth.Minify([]byte(body))
		require.NoError(t, err)
		assert.Equal(t, `{"amount":`+n+`}`, string(got))
	}
}

// TestSignerSignaturesVerifyInNode checks SignAsymmetric against Node's
// crypto.verify and SignSymmetric against Node's createHmac, on the same
// strings to sign.
func TestSignerSignaturesVerifyInNode(t *testing.T) {
	node := signerToolOrSkip(t, "node")
	key := signerGeneratedKey()
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
	cmd := exec.Command(node, "-e", script)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "node: %s", stderr.String())
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

func TestSignerSymmetricVerify(t *testing.T) {
	const secret = "client-secret"
	// Find a string whose signature has '+' or '/', so that its URL-safe
	// re-encoding differs from it.
	var sts, sig string
	for i := 0; i < 100 && !strings.ContainsAny(sig, "+/"); i++ {
		sts = fmt.Sprintf("POST:/v1.0/x:tok:%064d:2020-12-17T10:55:00+07:00", i)
		sig = snapauth.SignSymmetric(secret, sts)
	}
	require.True(t, strings.ContainsAny(sig, "+/"))
	raw, err := base64.StdEncoding.DecodeString(sig)
	require.NoError(t, err)
	require.Len(t, raw, 64)
	require.Len(t, sig, 88)

	for name, s := range map[string]string{
		"padded base64":   sig,
		"unpadded base64": strings.TrimRight(sig, "="),
		"hex":             hex.EncodeToString(raw),
		"upper-case hex":  strings.ToUpper(hex.EncodeToString(raw)),
		"provider hex":    snapauth.Provider{Encoding: snapauth.Hex}.EncodeSignature(raw),
		"provider base64": snapauth.Standard.EncodeSignature(raw),
	} {
		assert.NoError(t, snapauth.VerifySymmetric(secret, sts, s), name)
	}
	for name, s := range signerBadSignatures(sig, raw) {
		assert.ErrorIs(t, snapauth.VerifySymmetric(secret, sts, s), snapauth.ErrInvalidSignature, name)
	}
	assert.ErrorIs(t, snapauth.VerifySymmetric("client-secreT", sts, sig), snapauth.ErrInvalidSignature, "wrong secret")
	assert.ErrorIs(t, snapauth.VerifySymmetric("", sts, sig), snapauth.ErrInvalidSignature, "empty secret")
	assert.ErrorIs(t, snapauth.VerifySymmetric(secret, sts+" ", sig), snapauth.ErrInvalidSignature, "other string")
}

// signerBadSignatures derives invalid spellings from a valid signature sig of
// the bytes raw.
func signerBadSignatures(sig string, raw []byte) map[string]string {
	bad := map[string]string{
		"empty":              "",
		"truncated":          sig[:len(sig)-4],
		"truncated raw":      base64.StdEncoding.EncodeToString(raw[:len(raw)-1]),
		"extended":           base64.StdEncoding.EncodeToString(append(append([]byte{}, raw...), 0)),
		"url-safe":           base64.URLEncoding.EncodeToString(raw),
		"url-safe unpadded":  base64.RawURLEncoding.EncodeToString(raw),
		"truncated hex":      hex.EncodeToString(raw)[:2*len(raw)-2],
		"spaces":             " " + sig,
		"not base64":         strings.Repeat("!", len(sig)),
		"hex of other bytes": hex.EncodeToString(bytes.Repeat([]byte{0xab}, len(raw))),
	}
	// Non-zero padding bits decode to the same bytes in lenient base64; only
	// the canonical spelling is accepted.
	if strings.HasSuffix(sig, "==") {
		last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", sig[len(sig)-3])
		alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		bad["non-canonical padding bits"] = sig[:len(sig)-3] + string(alphabet[last|1]) + "=="
	}
	for _, bit := range []int{0, 7, 8 * len(raw) / 2, 8*len(raw) - 1} {
		flipped := append([]byte{}, raw...)
		flipped[bit/8] ^= 1 << (bit % 8)
		bad[fmt.Sprintf("bit %d flipped", bit)] = base64.StdEncoding.EncodeToString(flipped)
		bad[fmt.Sprintf("bit %d flipped, hex", bit)] = hex.EncodeToString(flipped)
	}
	return bad
}

func TestSignerAsymmetricVerify(t *testing.T) {
	key := signerGeneratedKey()
	var sts, sig string
	for i := 0; i < 100 && !strings.ContainsAny(sig, "+/"); i++ {
		sts = snapauth.TokenStringToSign("client", fmt.Sprintf("2020-12-17T10:55:%02d+07:00", i%60)) + strings.Repeat(" ", i/60)
		var err error
		sig, err = snapauth.SignAsymmetric(key, sts)
		require.NoError(t, err)
	}
	require.True(t, strings.ContainsAny(sig, "+/"))
	raw, err := base64.StdEncoding.DecodeString(sig)
	require.NoError(t, err)
	require.Len(t, raw, 256)

	pub := &key.PublicKey
	for name, s := range map[string]string{
		"padded base64":   sig,
		"unpadded base64": strings.TrimRight(sig, "="),
		"hex":             hex.EncodeToString(raw),
		"upper-case hex":  strings.ToUpper(hex.EncodeToString(raw)),
	} {
		assert.NoError(t, snapauth.VerifyAsymmetric(pub, sts, s), name)
	}
	for name, s := range signerBadSignatures(sig, raw) {
		assert.ErrorIs(t, snapauth.VerifyAsymmetric(pub, sts, s), snapauth.ErrInvalidSignature, name)
	}
	other, err := snapauth.ParsePublicKey(signerReadKeyFile(t, "rsa-other-public.pem"))
	require.NoError(t, err)
	assert.ErrorIs(t, snapauth.VerifyAsymmetric(other, sts, sig), snapauth.ErrInvalidSignature, "wrong key")
	assert.ErrorIs(t, snapauth.VerifyAsymmetric(pub, sts+"x", sig), snapauth.ErrInvalidSignature, "other string")

	err = snapauth.VerifyAsymmetric(nil, sts, sig)
	require.Error(t, err)
	assert.NotErrorIs(t, err, snapauth.ErrInvalidSignature, "a missing key is a configuration error")
}

// signerWrappedSigner hides the concrete key type behind crypto.Signer, as an
// HSM or KMS client does.
type signerWrappedSigner struct{ crypto.Signer }

func TestSignAsymmetricRejectsNonRSAKeys(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	for name, key := range map[string]crypto.Signer{
		"ECDSA":         ec,
		"Ed25519":       ed,
		"wrapped ECDSA": signerWrappedSigner{ec},
	} {
		sig, err := snapauth.SignAsymmetric(key, "client|2020-12-17T10:55:00+07:00")
		require.Error(t, err, name)
		assert.Empty(t, sig)
		assert.Contains(t, err.Error(), "SNAP needs an RSA key", name)
		assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "))
	}
	for name, key := range map[string]crypto.Signer{"nil": nil, "typed nil": (*rsa.PrivateKey)(nil)} {
		_, err := snapauth.SignAsymmetric(key, "x")
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "no private key", name)
	}

	// A wrapped RSA signer (an HSM stand-in) signs like the key itself.
	key := signerGeneratedKey()
	direct, err := snapauth.SignAsymmetric(key, "x")
	require.NoError(t, err)
	wrapped, err := snapauth.SignAsymmetric(signerWrappedSigner{key}, "x")
	require.NoError(t, err)
	assert.Equal(t, direct, wrapped)
}

// signerFailingSigner is an RSA signer whose device fails.
type signerFailingSigner struct{ pub *rsa.PublicKey }

func (s signerFailingSigner) Public() crypto.PublicKey { return s.pub }
func (s signerFailingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("hsm: device unplugged")
}

func TestSignAsymmetricSignerError(t *testing.T) {
	k := signerGeneratedKey()
	_, err := snapauth.SignAsymmetric(signerFailingSigner{&k.PublicKey}, "x")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hsm: device unplugged", "the signer's error is wrapped")
	assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "))
}

func TestParsePrivateKeyFormats(t *testing.T) {
	want := signerOpenSSLKey(t)
	pkcs8 := signerReadKeyFile(t, "rsa-pkcs8.pem")
	pkcs1 := signerReadKeyFile(t, "rsa-pkcs1.pem")
	b64 := signerReadKeyFile(t, "rsa-pkcs8.b64")
	require.NotContains(t, string(b64), "\n", "one-line base64")
	b64Lines := signerReadKeyFile(t, "rsa-pkcs1.b64")
	require.Contains(t, string(bytes.TrimSpace(b64Lines)), "\n", "base64 with line breaks")
	crlf := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }

	for name, data := range map[string][]byte{
		"PKCS#8 PEM":                              pkcs8,
		"PKCS#1 PEM":                              pkcs1,
		"PKCS#8 base64, one line":                 b64,
		"PKCS#1 base64, line breaks":              b64Lines,
		"PKCS#1 base64, CRLF":                     crlf(b64Lines),
		"PKCS#8 PEM, CRLF":                        crlf(pkcs8),
		"PKCS#8 base64, unpadded":                 bytes.TrimRight(bytes.TrimSpace(b64), "="),
		"PKCS#1 base64, unpadded":                 bytes.TrimRight(bytes.TrimSpace(b64Lines), "="), // length not a multiple of 4
		"PKCS#8 base64, spaces":                   []byte("  " + strings.Join(strings.SplitAfter(string(b64), "QQ"), " \t") + "\n\n"),
		"PEM with leading text":                   append([]byte("Bag Attributes\n    localKeyID: 01 02 03\nKey Attributes: <No Attributes>\n"), pkcs8...),
		"PKCS#1 PEM, leading text":                append([]byte("partner key for sandbox, issued 2024\n\n"), pkcs1...),
		"PEM labelled PRIVATE KEY holding PKCS#1": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(want)}),
		"PEM followed by a certificate":           append(append([]byte{}, pkcs1...), signerReadKeyFile(t, "rsa-cert.pem")...),
	} {
		got, err := snapauth.ParsePrivateKey(data)
		if assert.NoError(t, err, name) {
			assert.True(t, want.Equal(got), name)
		}
	}
}

func TestParsePublicKeyFormats(t *testing.T) {
	want := &signerOpenSSLKey(t).PublicKey
	pkix := signerReadKeyFile(t, "rsa-public-pkix.pem")
	for name, data := range map[string][]byte{
		"PKIX PEM":                pkix,
		"PKCS#1 PEM":              signerReadKeyFile(t, "rsa-public-pkcs1.pem"),
		"certificate PEM":         signerReadKeyFile(t, "rsa-cert.pem"),
		"PKIX base64":             signerReadKeyFile(t, "rsa-public-pkix.b64"),
		"certificate base64":      signerReadKeyFile(t, "rsa-cert.b64"),
		"PKCS#1 base64":           []byte(base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(want))),
		"PKIX base64, unpadded":   bytes.TrimRight(bytes.TrimSpace(signerReadKeyFile(t, "rsa-public-pkix.b64")), "="),
		"PEM with leading text":   append([]byte("subject=CN = snapauth test partner\nissuer=CN = snapauth test partner\n"), signerReadKeyFile(t, "rsa-cert.pem")...),
		"PKIX PEM, CRLF":          bytes.ReplaceAll(pkix, []byte("\n"), []byte("\r\n")),
		"PKIX PEM, no final EOL":  bytes.TrimSpace(pkix),
		"PKIX PEM, leading blank": append([]byte("\n\n   \n"), pkix...),
	} {
		got, err := snapauth.ParsePublicKey(data)
		if assert.NoError(t, err, name) {
			assert.True(t, want.Equal(got), name)
		}
	}
}

func TestParsePrivateKeyEncrypted(t *testing.T) {
	for _, name := range []string{"rsa-pkcs8-encrypted.pem", "rsa-pkcs1-encrypted.pem", "rsa-pkcs8-encrypted.b64"} {
		data := signerReadKeyFile(t, name)
		_, err := snapauth.ParsePrivateKey(data)
		assert.ErrorIs(t, err, snapauth.ErrEncryptedKey, name)
	}
	require.Contains(t, string(signerReadKeyFile(t, "rsa-pkcs1-encrypted.pem")), "Proc-Type: 4,ENCRYPTED")
	require.Contains(t, string(signerReadKeyFile(t, "rsa-pkcs8-encrypted.pem")), "BEGIN ENCRYPTED PRIVATE KEY")
}

func TestParseKeyWrongAlgorithm(t *testing.T) {
	for name, wantText := range map[string]string{
		"ec-pkcs8.pem":      "ECDSA",
		"ec-pkcs8.b64":      "ECDSA",
		"ec-sec1.pem":       "EC PRIVATE KEY",
		"ec-sec1.b64":       "EC key",
		"ed25519-pkcs8.pem": "Ed25519",
	} {
		_, err := snapauth.ParsePrivateKey(signerReadKeyFile(t, name))
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), wantText, name)
		assert.Contains(t, err.Error(), "SNAP needs an RSA key", name)
		assert.NotErrorIs(t, err, snapauth.ErrEncryptedKey)
	}
	for name, wantText := range map[string]string{
		"ec-public.pem":      "ECDSA",
		"ec-public.b64":      "ECDSA",
		"ec-cert.pem":        "ECDSA",
		"ed25519-public.pem": "Ed25519",
	} {
		_, err := snapauth.ParsePublicKey(signerReadKeyFile(t, name))
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), wantText, name)
		assert.Contains(t, err.Error(), "SNAP needs an RSA key", name)
	}
	_, err := snapauth.ParsePrivateKey([]byte("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OpenSSH")
}

// signerBadKeyInputs are inputs derived from real key files that both
// parsers must refuse.
func signerBadKeyInputs(t *testing.T) map[string][]byte {
	pkcs8 := signerReadKeyFile(t, "rsa-pkcs8.pem")
	pkcs1 := signerReadKeyFile(t, "rsa-pkcs1.pem")
	b64 := signerReadKeyFile(t, "rsa-pkcs8.b64")
	block, _ := pem.Decode(pkcs8)
	require.NotNil(t, block)
	flipped := append([]byte{}, block.Bytes...)
	flipped[10] ^= 0xff
	return map[string][]byte{
		"empty":                  {},
		"blank":                  []byte(" \n\t\r\n"),
		"text":                   []byte("this is not a key, it is a sentence about keys"),
		"non-base64 bytes":       {0x00, 0xff, 0x10, 0x80, 0x7f},
		"truncated PEM":          pkcs8[:len(pkcs8)/2],
		"PEM without END":        bytes.Replace(pkcs1, []byte("-----END"), []byte("-----FIN"), 1),
		"truncated base64":       b64[:len(b64)/2],
		"base64 with a bad char": append([]byte("*"), b64...),
		"flipped DER in PEM":     pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: flipped}),
		"flipped DER in base64":  []byte(base64.StdEncoding.EncodeToString(flipped)),
		"PKCS#8 labelled RSA":    bytes.ReplaceAll(pkcs8, []byte("PRIVATE KEY"), []byte("RSA PRIVATE KEY")),
		"PKCS#1 labelled PUBLIC": bytes.ReplaceAll(pkcs1, []byte("RSA PRIVATE KEY"), []byte("RSA PUBLIC KEY")),
		"odd PEM label":          bytes.ReplaceAll(pkcs8, []byte("PRIVATE KEY"), []byte("MIIEvQIBADANBgkqhkiG9w0BAQEF")),
		"unpadded, cut":          bytes.TrimRight(b64[:len(b64)-6], "="), // short dst for base64.Decode
		"a DH parameters block":  []byte("-----BEGIN DH PARAMETERS-----\nMAYCAQACAQI=\n-----END DH PARAMETERS-----\n"),
	}
}

func TestParseKeyGarbage(t *testing.T) {
	for name, data := range signerBadKeyInputs(t) {
		k, err := snapauth.ParsePrivateKey(data)
		assert.Nil(t, k, name)
		if assert.Error(t, err, name) {
			assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
		}
		p, err := snapauth.ParsePublicKey(data)
		assert.Nil(t, p, name)
		if assert.Error(t, err, name) {
			assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "), err.Error())
		}
	}
	// Each parser refuses the other's keys.
	_, err := snapauth.ParsePrivateKey(signerReadKeyFile(t, "rsa-public-pkix.pem"))
	assert.ErrorContains(t, err, `unexpected PEM block "PUBLIC KEY"`)
	_, err = snapauth.ParsePrivateKey(signerReadKeyFile(t, "rsa-cert.pem"))
	assert.ErrorContains(t, err, `unexpected PEM block "CERTIFICATE"`)
	_, err = snapauth.ParsePublicKey(signerReadKeyFile(t, "rsa-pkcs1.pem"))
	assert.ErrorContains(t, err, `unexpected PEM block "RSA PRIVATE KEY"`)
}

// TestParseKeyErrorsHoldNoSecrets feeds every key file, and inputs derived
// from them, to both parsers: no error text may contain any 16-byte
// substring of the input or of the DER inside it.
func TestParseKeyErrorsHoldNoSecrets(t *testing.T) {
	inputs := signerBadKeyInputs(t)
	entries, err := os.ReadDir(filepath.Join("testdata", "keys"))
	require.NoError(t, err)
	for _, e := range entries {
		data := signerReadKeyFile(t, e.Name())
		inputs[e.Name()] = data
		inputs[e.Name()+", leading text"] = append([]byte("note: "+e.Name()+"\n"), data...)
	}
	var errs int
	for name, data := range inputs {
		// The armour lines ("-----BEGIN ENCRYPTED PRIVATE KEY-----") are
		// labels, not secrets; everything else is.
		var body []byte
		for line := range bytes.Lines(data) {
			if !bytes.HasPrefix(line, []byte("-----")) {
				body = append(body, line...)
			}
		}
		secrets := [][]byte{body}
		if block, _ := pem.Decode(data); block != nil {
			secrets = append(secrets, block.Bytes, []byte(hex.EncodeToString(block.Bytes)))
		}
		for _, parse := range []func([]byte) error{
			func(b []byte) error { _, err := snapauth.ParsePrivateKey(b); return err },
			func(b []byte) error { _, err := snapauth.ParsePublicKey(b); return err },
		} {
			err := parse(data)
			if err == nil {
				continue
			}
			errs++
			msg := err.Error()
			for _, secret := range secrets {
				for i := 0; i+16 <= len(secret); i++ {
					if strings.Contains(msg, string(secret[i:i+16])) {
						t.Errorf("%s: error %q contains input bytes %q", name, msg, secret[i:i+16])
						break
					}
				}
			}
			assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), "MII", name)
		}
	}
	assert.Greater(t, errs, 40, "the test must see errors to check")
}

func TestProviderTimestamp(t *testing.T) {
	// 03:55:00.123456789 UTC is 10:55:00 in Jakarta.
	instant := time.Date(2020, 12, 17, 3, 55, 0, 123456789, time.UTC)
	inOtherZone := instant.In(time.FixedZone("EST", -5*3600))
	cases := map[string]struct {
		p    snapauth.Provider
		want string
	}{
		"zero value": {snapauth.Provider{}, "2020-12-17T10:55:00+07:00"},
		"standard":   {snapauth.Standard, "2020-12-17T10:55:00+07:00"},
		"bca":        {snapauth.BCA, "2020-12-17T10:55:00+07:00"},
		"bri":        {snapauth.BRI, "2020-12-17T10:55:00.123+07:00"},
		"doku":       {snapauth.DOKU, "2020-12-17T03:55:00Z"},
		"dana":       {snapauth.DANA, "2020-12-17T10:55:00+07:00"},
		"finnet":     {snapauth.Finnet, "2020-12-17T10:55:00+07:00"},
		"utc offset": {snapauth.Provider{Location: time.UTC}, "2020-12-17T03:55:00+00:00"},
		"wita":       {snapauth.Provider{Location: time.FixedZone("WITA", 8*3600)}, "2020-12-17T11:55:00+08:00"},
	}
	for name, c := range cases {
		assert.Equal(t, c.want, c.p.Timestamp(instant), name)
		assert.Equal(t, c.want, c.p.Timestamp(inOtherZone), name+": the input's zone does not matter")
		parsed, err := snapauth.ParseTimestamp(c.p.Timestamp(instant))
		require.NoError(t, err, name)
		assert.True(t, parsed.Equal(instant.Truncate(time.Second)) || parsed.Equal(instant.Truncate(time.Millisecond)), name)
	}
	for name, p := range snapauth.Providers {
		assert.Equal(t, name, p.Name)
	}
	assert.Len(t, snapauth.Providers, 6)
	// Jakarta is a fixed zone: it works without a time zone database.
	name, offset := instant.In(snapauth.Jakarta).Zone()
	assert.Equal(t, "WIB", name)
	assert.Equal(t, 7*3600, offset)
	// Across a year and across the dates other zones change their clocks.
	for d := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == 2024; d = d.Add(24 * time.Hour) {
		require.True(t, strings.HasSuffix(snapauth.Standard.Timestamp(d), "+07:00"))
		require.Len(t, snapauth.Standard.Timestamp(d), 25)
	}
}

func TestProviderGrantType(t *testing.T) {
	for _, g := range []string{"client_credentials", "authorization_code", "refresh_token"} {
		assert.Equal(t, g, snapauth.Standard.GrantType(g))
		assert.Equal(t, g, snapauth.Provider{}.GrantType(g))
		assert.Equal(t, g, snapauth.Finnet.GrantType(g))
		assert.Equal(t, strings.ToUpper(g), snapauth.DANA.GrantType(g))
	}
	assert.True(t, snapauth.Finnet.AuthCodeOnRefresh)
	assert.False(t, snapauth.Standard.AuthCodeOnRefresh)
}

func TestProviderEndpointURL(t *testing.T) {
	sortedQuery := snapauth.Provider{Endpoint: snapauth.EndpointSortedQuery}
	pathOnly := snapauth.Provider{Endpoint: snapauth.EndpointPathOnly}
	cases := []struct {
		url                      string
		asSent, sorted, pathOnly string
	}{
		{"https://api.example.com/snap/v1.0/transfer-va/inquiry",
			"/snap/v1.0/transfer-va/inquiry", "/snap/v1.0/transfer-va/inquiry", "/snap/v1.0/transfer-va/inquiry"},
		{"https://api.example.com:8443", "/", "/", "/"},
		{"https://api.example.com/?", "/", "/", "/"},
		{"https://h/v1.0/x?b=2&a=1&a=0", "/v1.0/x?b=2&a=1&a=0", "/v1.0/x?a=0&a=1&b=2", "/v1.0/x"},
		{"https://h/v1.0/x?q=a+b&r=a%20b&s=~-._", "/v1.0/x?q=a+b&r=a%20b&s=~-._", "/v1.0/x?q=a%20b&r=a%20b&s=~-._", "/v1.0/x"},
		{"https://h/v1.0/x?name=%c3%a9&x=%2f%3a&y=*!'()", "/v1.0/x?name=%c3%a9&x=%2f%3a&y=*!'()", "/v1.0/x?name=%C3%A9&x=%2F%3A&y=%2A%21%27%28%29", "/v1.0/x"},
		{"https://h/v1.0/a%20b/c?z=1#frag", "/v1.0/a%20b/c?z=1", "/v1.0/a%20b/c?z=1", "/v1.0/a%20b/c"},
		{"https://h/v1.0/x?B=1&a=1&_=1", "/v1.0/x?B=1&a=1&_=1", "/v1.0/x?B=1&_=1&a=1", "/v1.0/x"},
		{"https://h/v1.0/x?flag&k=", "/v1.0/x?flag&k=", "/v1.0/x?flag=&k=", "/v1.0/x"},
		{"/relative/only?b=1&a=2", "/relative/only?b=1&a=2", "/relative/only?a=2&b=1", "/relative/only"},
	}
	for _, c := range cases {
		u, err := url.Parse(c.url)
		require.NoError(t, err)
		assert.Equal(t, c.asSent, snapauth.Standard.EndpointURL(u), "as sent: %s", c.url)
		assert.Equal(t, c.asSent, snapauth.Provider{}.EndpointURL(u), "zero value: %s", c.url)
		assert.Equal(t, c.sorted, sortedQuery.EndpointURL(u), "sorted: %s", c.url)
		assert.Equal(t, c.sorted, snapauth.BCA.EndpointURL(u), "BCA: %s", c.url)
		assert.Equal(t, c.pathOnly, pathOnly.EndpointURL(u), "path only: %s", c.url)
	}
}

func TestProviderEncodeSignature(t *testing.T) {
	raw := []byte{0x00, 0xfb, 0xff, 0x10}
	assert.Equal(t, "APv/EA==", snapauth.Standard.EncodeSignature(raw))
	assert.Equal(t, "APv/EA==", snapauth.Provider{}.EncodeSignature(raw))
	assert.Equal(t, "00fbff10", snapauth.Provider{Encoding: snapauth.Hex}.EncodeSignature(raw))
	for _, p := range snapauth.Providers {
		assert.Equal(t, snapauth.Base64, p.Encoding, p.Name)
	}
}

func TestFormatTimestamp(t *testing.T) {
	instant := time.Date(2020, 12, 17, 3, 55, 0, 999999999, time.UTC)
	assert.Equal(t, "2020-12-17T03:55:00+00:00", snapauth.FormatTimestamp(instant))
	assert.Equal(t, "2020-12-17T10:55:00+07:00", snapauth.FormatTimestamp(instant.In(snapauth.Jakarta)))
	assert.Equal(t, "2020-12-16T22:25:00-05:30", snapauth.FormatTimestamp(instant.In(time.FixedZone("", -(5*3600+1800)))))
}

func TestParseTimestamp(t *testing.T) {
	jakarta := time.Date(2020, 12, 17, 10, 55, 0, 0, snapauth.Jakarta)
	for s, want := range map[string]time.Time{
		"2020-12-17T10:55:00+07:00":          jakarta,
		"2020-12-17T10:55:00.123+07:00":      jakarta.Add(123 * time.Millisecond),
		"2020-12-17T03:55:00Z":               jakarta,
		"2020-12-17T03:55:00.5Z":             jakarta.Add(500 * time.Millisecond),
		"2020-12-17T03:55:00.123456789Z":     jakarta.Add(123456789),
		"2020-12-16T22:25:00-05:30":          jakarta,
		"2020-12-17T03:55:00+00:00":          jakarta,
		"2020-12-17T03:55:00-00:00":          jakarta,
		snapauth.BRI.Timestamp(jakarta):      jakarta,
		snapauth.DOKU.Timestamp(jakarta):     jakarta,
		snapauth.FormatTimestamp(jakarta):    jakarta,
		snapauth.Standard.Timestamp(jakarta): jakarta,
		"2024-02-29T23:59:59+07:00":          time.Date(2024, 2, 29, 23, 59, 59, 0, snapauth.Jakarta),
	} {
		got, err := snapauth.ParseTimestamp(s)
		if assert.NoError(t, err, s) {
			assert.True(t, want.Equal(got), "%s: got %v", s, got)
		}
	}
	for _, s := range []string{
		"", "2020-12-17T10:55:00", "2020-12-17T10:55:00.123", "2020-12-17 10:55:00+07:00",
		"2020-12-17t10:55:00+07:00", "2020-12-17T10:55:00z", "2020-12-17T1:55:00+07:00",
		"2020-12-17T10:55:00,123+07:00", "2020-12-17T10:55:00+0700", "2020-12-17T10:55:00+07",
		"2020-12-17T10:55:00+24:00", "2020-12-17T10:55:00+07:60", "2020-12-17T10:55:00.+07:00",
		"2020-12-17T10:55:00.1234567890Z", "2020-12-17T24:00:00Z", "2020-02-30T10:55:00Z",
		"17/12/2020 10:55:00", "1608177300", "2020-12-17T10:55:00+07:00 ", " 2020-12-17T10:55:00+07:00",
		"2020-12-17T10:55:00+07:00Z", "２020-12-17T10:55:00Z",
	} {
		_, err := snapauth.ParseTimestamp(s)
		if assert.Error(t, err, "%q", s) {
			assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "))
		}
	}
}

// signerPrettyBody is a 1 KiB SNAP request body, pretty-printed the way a
// caller's json.MarshalIndent writes it, with HTML escapes.
func signerPrettyBody(tb testing.TB) []byte {
	type amount struct {
		Value    string `json:"value"`
		Currency string `json:"currency"`
	}
	body := map[string]any{
		"partnerReferenceNo":   "2020102900000000000001",
		"amount":               amount{"10000.00", "IDR"},
		"beneficiaryAccountNo": "888801000157508",
		"beneficiaryEmail":     "budi.santoso@example.co.id",
		"currency":             "IDR",
		"customerReference":    "10052019",
		"feeType":              "OUR",
		"remark":               "Pembayaran tagihan <Desember> & denda",
		"sourceAccountNo":      "888801000157508",
		"transactionDate":      "2020-12-17T10:55:00+07:00",
		"additionalInfo": map[string]any{
			"deviceId": "12345679237", "channel": "mobilephone",
			"items": []map[string]any{
				{"name": "Token listrik PLN", "qty": 1, "price": amount{"100000.00", "IDR"}},
				{"name": "Biaya admin", "qty": 1, "price": amount{"2500.00", "IDR"}},
			},
		},
	}
	b, err := json.MarshalIndent(body, "", "    ")
	require.NoError(tb, err)
	require.InDelta(tb, 1024, len(b), 80, "about 1 KiB")
	return b
}

func BenchmarkServiceSignature(b *testing.B) {
	body := signerPrettyBody(b)
	const token = "gp9HjjEj813Y9JGoqwOeOPWbnt4CUpvIJbU1mMU4a11MNDZ7Sg5u9a"
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		sts, err := snapauth.ServiceStringToSign("POST", "/snap/v1.0/transfer-intrabank", token, body, "2020-12-17T10:55:00+07:00")
		if err != nil {
			b.Fatal(err)
		}
		_ = snapauth.SignSymmetric("client-secret", sts)
	}
}

func BenchmarkMinify(b *testing.B) {
	pretty := signerPrettyBody(b)
	compact, err := snapauth.Minify(pretty)
	require.NoError(b, err)
	for name, body := range map[string][]byte{"pretty": pretty, "compact": compact} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := snapauth.Minify(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestCheckTimestamp(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 15, 0, 0, snapauth.Jakarta)
	for _, ok := range []string{"2026-11-22T09:15:00+07:00", "2026-11-22T02:20:00Z", "2026-11-22T09:10:00+07:00", "2026-11-22T09:20:00.000+07:00"} {
		got, err := snapauth.CheckTimestamp(ok, now, 5*time.Minute)
		require.NoError(t, err, ok)
		assert.WithinDuration(t, now, got, 5*time.Minute)
	}
	for _, stale := range []string{"2026-11-22T09:09:59+07:00", "2026-11-22T02:20:01Z", "2026-11-21T09:15:00+07:00"} {
		_, err := snapauth.CheckTimestamp(stale, now, 5*time.Minute)
		require.ErrorIs(t, err, snapauth.ErrStaleTimestamp, stale)
	}
	_, err := snapauth.CheckTimestamp("2026-11-22T09:15:00", now, time.Hour)
	require.Error(t, err)
	assert.NotErrorIs(t, err, snapauth.ErrStaleTimestamp)
}

// Go's base64 decoder skips line breaks; a signature with one inside is a
// second spelling of the same bytes and must be refused.
func TestVerifyRefusesLineBreaks(t *testing.T) {
	const secret, msg = "s3cret", "POST:/v1.0/x:tok:e3b0:2026-11-22T09:15:00+07:00"
	sig := snapauth.SignSymmetric(secret, msg)
	require.NoError(t, snapauth.VerifySymmetric(secret, msg, sig))
	for _, bad := range []string{sig[:10] + "\n" + sig[10:], sig[:10] + "\r\n" + sig[10:], sig + "\n"} {
		assert.ErrorIs(t, snapauth.VerifySymmetric(secret, msg, bad), snapauth.ErrInvalidSignature)
	}
}
