package snapauth_test

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The senders of these tests sign with crypto/hmac, crypto/rsa and
// encoding/json directly, never with snapauth's signer, so that Verify is
// checked against what other people's code puts on the wire.

// vfyNow is the clock of the verifiers under test.
var vfyNow = time.Date(2026, 12, 1, 10, 55, 0, 0, snapauth.Jakarta)

const (
	vfySecret  = "partner-client-secret-ÄÖ"
	vfyToken   = "b2b-access-token-0123456789abcdef"
	vfyPartner = "PARTNER01"
)

var vfyExternalID atomic.Int64

// vfyRequest is a request as a sender puts it on the wire.
type vfyRequest struct {
	Method, Target string // Target is the request URI: path and query
	Body           []byte
	Header         http.Header
}

// build returns the request as a server receives it.
func (s vfyRequest) build() *http.Request {
	r := httptest.NewRequest(s.Method, s.Target, bytes.NewReader(s.Body))
	if len(s.Body) == 0 {
		r = httptest.NewRequest(s.Method, s.Target, nil)
	}
	r.Header = s.Header.Clone()
	return r
}

// clone returns a copy with its own header and body.
func (s vfyRequest) clone() vfyRequest {
	s.Header = s.Header.Clone()
	s.Body = bytes.Clone(s.Body)
	return s
}

// independentStringToSign is the service string to sign written from the
// standard, hashing exactly hashed.
func independentStringToSign(method, target, token string, hashed []byte, ts string) string {
	sum := sha256.Sum256(hashed)
	parts := []string{method, target}
	if token != "" {
		parts = append(parts, token)
	}
	return strings.Join(append(parts, hex.EncodeToString(sum[:]), ts), ":")
}

func independentHMAC(secret, sts string) string {
	m := hmac.New(sha512.New, []byte(secret))
	m.Write([]byte(sts))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func independentRSA(t testing.TB, key *rsa.PrivateKey, sts string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(sts))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(sig)
}

// vfySend signs a request the way most senders do: the body it sends is the
// body it hashed (sent), with hashed given separately for senders that hash
// a compacted form of a pretty body. key nil means symmetric with vfyToken.
func vfySend(t testing.TB, key *rsa.PrivateKey, method, target string, sent, hashed []byte, ts string) vfyRequest {
	t.Helper()
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-TIMESTAMP", ts)
	h.Set("X-PARTNER-ID", vfyPartner)
	h.Set("X-EXTERNAL-ID", strconv.FormatInt(vfyExternalID.Add(1), 10))
	h.Set("CHANNEL-ID", "95221")
	if key == nil {
		h.Set("Authorization", "Bearer "+vfyToken)
		h.Set("X-SIGNATURE", independentHMAC(vfySecret, independentStringToSign(method, target, vfyToken, hashed, ts)))
	} else {
		h.Set("X-SIGNATURE", independentRSA(t, key, independentStringToSign(method, target, "", hashed, ts)))
	}
	return vfyRequest{Method: method, Target: target, Body: sent, Header: h}
}

// goSender marshals v with encoding/json (which writes \u003c, \u003e and
// \u0026) and compacts it with json.Compact, then hashes and sends the result.
func goSender(t testing.TB, key *rsa.PrivateKey, target string, v any, ts string) vfyRequest {
	t.Helper()
	raw, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, raw))
	return vfySend(t, key, http.MethodPost, target, compact.Bytes(), compact.Bytes(), ts)
}

// phpJSON rewrites the strings of a compact JSON text the way PHP's
// json_encode writes them by default: "/" as "\/", every non-ASCII character
// as \uXXXX (astral ones as a surrogate pair).
func phpJSON(compact string) string {
	var b strings.Builder
	inString, escaped := false, false
	for _, r := range compact {
		switch {
		case !inString:
			inString = r == '"'
			b.WriteRune(r)
		case escaped:
			escaped = false
			b.WriteRune(r)
		case r == '\\':
			escaped = true
			b.WriteRune(r)
		case r == '"':
			inString = false
			b.WriteRune(r)
		case r == '/':
			b.WriteString(`\/`)
		case r > 0x7f:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, `\u%04x`, u)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestPHPJSONHelper(t *testing.T) {
	assert.Equal(t, `{"u":"https:\/\/x.id\/a","n":"caf\u00e9","e":"\ud83d\ude4f","q":"a\"b\\"}`,
		phpJSON(`{"u":"https://x.id/a","n":"café","e":"🙏","q":"a\"b\\"}`))
}

func vfySymmetric() *snapauth.Verifier {
	return &snapauth.Verifier{ClientSecret: vfySecret, Now: func() time.Time { return vfyNow }}
}

func vfyAsymmetric(t testing.TB) *snapauth.Verifier {
	return &snapauth.Verifier{PublicKey: &signerOpenSSLKey(t).PublicKey, Now: func() time.Time { return vfyNow }}
}

// vfyBodies are bodies as different senders write them: the bytes sent and
// hashed.
func vfyBodies() map[string]string {
	return map[string]string{
		"go html escapes":          `{"q":"\u003cb\u003eTom \u0026 Jerry\u003c/b\u003e"}`,
		"php slashes and é":        phpJSON(`{"url":"https://merchant.id/notify","name":"Café Ñusa","e":"🙏"}`),
		"escaped surrogate pair":   `{"e":"\ud83d\ude4f","lone":"\udc00"}`,
		"literal unicode":          `{"remark":"terima kasih 🙏 Çà 日本 \u2028"}`,
		"numbers as written":       `{"a":1.0,"b":1e3,"c":-0,"d":12345678901234567890,"e":0.10}`,
		"duplicate keys":           `{"a":1,"a":2}`,
		"escapes that must remain": `{"q":"a\"b\\c\n\t\u0000\u001f"}`,
		"upper-case hex escape":    `{"q":"\u00E9\u003C"}`,
		"array top level":          `[1,"two",{"three":[]}]`,
		"scalar top level":         `"just a string"`,
	}
}
