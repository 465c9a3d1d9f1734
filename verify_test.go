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
	"errors"
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

// The senders in this file sign with crypto/hmac, crypto/rsa and
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

func TestVerifyAcceptsOtherSenders(t *testing.T) {
	ts := snapauth.Standard.Timestamp(vfyNow)
	key := signerOpenSSLKey(t)
	for name, body := range vfyBodies() {
		for _, mode := range []string{"symmetric", "asymmetric"} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				var k *rsa.PrivateKey
				v := vfySymmetric()
				if mode == "asymmetric" {
					k, v = key, vfyAsymmetric(t)
				}
				req := vfySend(t, k, http.MethodPost, "/v1.0/transfer-va/inquiry", []byte(body), []byte(body), ts)
				r := req.build()
				require.NoError(t, v.Verify(r))
				got := new(bytes.Buffer)
				_, err := got.ReadFrom(r.Body)
				require.NoError(t, err)
				assert.Equal(t, body, got.String(), "r.Body reads the bytes received")
			})
		}
	}
}

func TestVerifyGoSender(t *testing.T) {
	ts := snapauth.Standard.Timestamp(vfyNow)
	v := map[string]any{"remark": "<b>Tom & Jerry</b>", "amount": map[string]string{"value": "10000.00", "currency": "IDR"}}
	req := goSender(t, nil, "/v1.0/transfer-va/payment", v, ts)
	require.Contains(t, string(req.Body), `\u003cb\u003e`, "the sender writes Go's escapes")
	require.NoError(t, vfySymmetric().Verify(req.build()))
}

func TestVerifyPrettyBodyHashedCompact(t *testing.T) {
	// Many senders hash the compact form and send the body they were given.
	ts := snapauth.Standard.Timestamp(vfyNow)
	pretty := []byte("{\n  \"a\" : \"x y\",\r\n\t\"b\": [ 1 , 2 ]\n}\n")
	req := vfySend(t, nil, http.MethodPost, "/v1.0/x", pretty, []byte(`{"a":"x y","b":[1,2]}`), ts)
	require.NoError(t, vfySymmetric().Verify(req.build()))
}

func TestVerifyCanonicalFormAccepted(t *testing.T) {
	// A sender that hashes JSON.stringify(JSON.parse(body)) but sends the
	// original bytes, escapes and all.
	ts := snapauth.Standard.Timestamp(vfyNow)
	sent := []byte(`{"url":"https:\/\/x","n":"caf\u00e9","q":"\u003c"}`)
	req := vfySend(t, nil, http.MethodPost, "/v1.0/x", sent, []byte(`{"url":"https://x","n":"café","q":"<"}`), ts)
	require.NoError(t, vfySymmetric().Verify(req.build()))
}

func TestVerifyEmptyBodiesAndQueries(t *testing.T) {
	ts := snapauth.Standard.Timestamp(vfyNow)
	key := signerOpenSSLKey(t)
	for _, c := range []struct{ method, target string }{
		{http.MethodGet, "/v1.0/balance-inquiry?accountNo=123&b=%20x&a=1"},
		{http.MethodGet, "/snap/v1.0/transfer-va/status?x=%2Fy"},
		{http.MethodPost, "/v1.0/empty"},
		{http.MethodDelete, "/v1.0/x/1"},
	} {
		t.Run(c.method+" "+c.target, func(t *testing.T) {
			req := vfySend(t, nil, c.method, c.target, nil, nil, ts)
			require.NoError(t, vfySymmetric().Verify(req.build()))
			req = vfySend(t, key, c.method, c.target, nil, nil, ts)
			require.NoError(t, vfyAsymmetric(t).Verify(req.build()))
		})
	}
	t.Run("the standard hashes the empty string, not {}", func(t *testing.T) {
		req := vfySend(t, nil, http.MethodGet, "/v1.0/x", nil, []byte("{}"), ts)
		assert.ErrorIs(t, vfySymmetric().Verify(req.build()), snapauth.ErrInvalidSignature)
	})
}

func TestVerifyRejectsTampering(t *testing.T) {
	ts := snapauth.Standard.Timestamp(vfyNow)
	key := signerOpenSSLKey(t)
	body := []byte(`{"amount":{"value":"10000.00","currency":"IDR"},"q":"\u003c"}`)
	tamper := map[string]struct {
		change func(r *vfyRequest)
		want   error
	}{
		"body value": {func(r *vfyRequest) { r.Body = bytes.Replace(r.Body, []byte("10000"), []byte("99999"), 1) }, snapauth.ErrInvalidSignature},
		"body escape decoded": {func(r *vfyRequest) {
			r.Body = bytes.Replace(r.Body, []byte(`\u003c`), []byte(`\u003C`), 1)
		}, snapauth.ErrInvalidSignature},
		"body whitespace inside a string": {func(r *vfyRequest) { r.Body = bytes.Replace(r.Body, []byte("IDR"), []byte("ID R"), 1) }, snapauth.ErrInvalidSignature},
		"body emptied":                    {func(r *vfyRequest) { r.Body = nil }, snapauth.ErrInvalidSignature},
		"path":                            {func(r *vfyRequest) { r.Target = "/v1.0/transfer-va/payment" }, snapauth.ErrInvalidSignature},
		"query added":                     {func(r *vfyRequest) { r.Target += "?x=1" }, snapauth.ErrInvalidSignature},
		"method":                          {func(r *vfyRequest) { r.Method = http.MethodPut }, snapauth.ErrInvalidSignature},
		"timestamp a second later": {func(r *vfyRequest) {
			r.Header.Set("X-TIMESTAMP", snapauth.Standard.Timestamp(vfyNow.Add(time.Second)))
		}, snapauth.ErrInvalidSignature},
		"timestamp stale": {func(r *vfyRequest) {
			r.Header.Set("X-TIMESTAMP", snapauth.Standard.Timestamp(vfyNow.Add(-6*time.Minute)))
		}, snapauth.ErrStaleTimestamp},
		"timestamp from the future": {func(r *vfyRequest) {
			r.Header.Set("X-TIMESTAMP", snapauth.Standard.Timestamp(vfyNow.Add(6*time.Minute)))
		}, snapauth.ErrStaleTimestamp},
		"signature byte flipped": {func(r *vfyRequest) {
			sig := []byte(r.Header.Get("X-SIGNATURE"))
			sig[3] ^= 1
			r.Header.Set("X-SIGNATURE", string(sig))
		}, snapauth.ErrInvalidSignature},
		"signature base64url": {func(r *vfyRequest) {
			r.Header.Set("X-SIGNATURE", strings.NewReplacer("+", "-", "/", "_").Replace(r.Header.Get("X-SIGNATURE"))+"-_")
		}, snapauth.ErrInvalidSignature},
		"signature truncated": {func(r *vfyRequest) { r.Header.Set("X-SIGNATURE", r.Header.Get("X-SIGNATURE")[:40]) }, snapauth.ErrInvalidSignature},
	}
	for _, mode := range []string{"symmetric", "asymmetric"} {
		for name, c := range tamper {
			t.Run(mode+"/"+name, func(t *testing.T) {
				var k *rsa.PrivateKey
				v := vfySymmetric()
				if mode == "asymmetric" {
					k, v = key, vfyAsymmetric(t)
				}
				good := vfySend(t, k, http.MethodPost, "/v1.0/transfer-va/inquiry", body, body, ts)
				bad := good.clone()
				c.change(&bad)
				err := v.Verify(bad.build())
				require.ErrorIs(t, err, c.want)
				var re *snapauth.RequestError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, http.StatusUnauthorized, re.StatusCode)
				// The untampered request is still fresh: refusals use up no id.
				require.NoError(t, v.Verify(good.build()))
			})
		}
	}
	t.Run("symmetric/token", func(t *testing.T) {
		good := vfySend(t, nil, http.MethodPost, "/v1.0/x", body, body, ts)
		bad := good.clone()
		bad.Header.Set("Authorization", "Bearer another-token")
		assert.ErrorIs(t, vfySymmetric().Verify(bad.build()), snapauth.ErrInvalidSignature)
		other := &snapauth.Verifier{ClientSecret: "another secret", Now: func() time.Time { return vfyNow }}
		assert.ErrorIs(t, other.Verify(good.build()), snapauth.ErrInvalidSignature)
	})
	t.Run("asymmetric/another key", func(t *testing.T) {
		otherKey, err := snapauth.ParsePrivateKey(signerReadKeyFile(t, "rsa-other-pkcs8.pem"))
		require.NoError(t, err)
		req := vfySend(t, otherKey, http.MethodPost, "/v1.0/x", body, body, ts)
		assert.ErrorIs(t, vfyAsymmetric(t).Verify(req.build()), snapauth.ErrInvalidSignature)
	})
}

func TestVerifySignatureEncodings(t *testing.T) {
	// One signature, every encoding the verifiers accept: each verifies, and
	// replay protection sees one request whatever the encoding.
	ts := snapauth.Standard.Timestamp(vfyNow)
	req := vfySend(t, nil, http.MethodPost, "/v1.0/x", []byte(`{}`), []byte(`{}`), ts)
	raw, err := base64.StdEncoding.DecodeString(req.Header.Get("X-SIGNATURE"))
	require.NoError(t, err)
	v := vfySymmetric()
	require.NoError(t, v.Verify(req.build()))
	for _, enc := range []string{base64.RawStdEncoding.EncodeToString(raw), hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw)} {
		again := req.clone()
		again.Header.Set("X-SIGNATURE", enc)
		assert.ErrorIs(t, v.Verify(again.build()), snapauth.ErrReplay, "encoding %q", enc[:8])
		fresh := again.clone()
		fresh.Header.Set("X-EXTERNAL-ID", strconv.FormatInt(vfyExternalID.Add(1), 10))
		assert.NoError(t, v.Verify(fresh.build()))
	}
}

func TestVerifyModes(t *testing.T) {
	ts := snapauth.Standard.Timestamp(vfyNow)
	key := signerOpenSSLKey(t)
	body := []byte(`{"a":"b"}`)
	both := &snapauth.Verifier{ClientSecret: vfySecret, PublicKey: &key.PublicKey, Now: func() time.Time { return vfyNow }}

	sym := vfySend(t, nil, http.MethodPost, "/v1.0/x", body, body, ts)
	assert.NoError(t, both.Verify(sym.build()), "a bearer with ClientSecret set: symmetric")
	asym := vfySend(t, key, http.MethodPost, "/v1.0/x", body, body, ts)
	assert.NoError(t, both.Verify(asym.build()), "no bearer: asymmetric")

	// An asymmetric call that carries a bearer: checked asymmetrically when
	// ClientSecret is empty, and refused by a verifier that has one.
	asymBearer := asym.clone()
	asymBearer.Header.Set("Authorization", "Bearer "+vfyToken)
	assert.NoError(t, vfyAsymmetric(t).Verify(asymBearer.build()))
	asymBearer.Header.Set("X-EXTERNAL-ID", "777")
	assert.ErrorIs(t, both.Verify(asymBearer.build()), snapauth.ErrInvalidSignature)

	// A symmetric-only verifier and no bearer: 401xx03; a non-bearer
	// Authorization: 401xx01.
	noToken := sym.clone()
	noToken.Header.Del("Authorization")
	err := vfySymmetric().Verify(noToken.build())
	assert.ErrorIs(t, err, snapauth.ErrMissingToken)
	assert.ErrorIs(t, err, snapauth.ErrInvalidToken, "matches as a provider's 401xx03 does")
	noToken.Header.Set("Authorization", "Basic dXNlcjpwYXNz")
	err = vfySymmetric().Verify(noToken.build())
	assert.ErrorIs(t, err, snapauth.ErrInvalidToken)
	assert.NotErrorIs(t, err, snapauth.ErrMissingToken)

	// No key at all is the server's fault: 500, never an acceptance.
	var re *snapauth.RequestError
	require.ErrorAs(t, (&snapauth.Verifier{Now: func() time.Time { return vfyNow }}).Verify(sym.build()), &re)
	assert.Equal(t, http.StatusInternalServerError, re.StatusCode)
}

func TestVerifyTimestampLayouts(t *testing.T) {
	body := []byte(`{"a":"b"}`)
	for _, ts := range []string{
		snapauth.Standard.Timestamp(vfyNow),
		snapauth.BRI.Timestamp(vfyNow),
		snapauth.DOKU.Timestamp(vfyNow),
		vfyNow.UTC().Format("2006-01-02T15:04:05.000Z"), // Midtrans, toISOString()
	} {
		req := vfySend(t, nil, http.MethodPost, "/v1.0/x", body, body, ts)
		assert.NoError(t, vfySymmetric().Verify(req.build()), ts)
	}
	for _, ts := range []string{
		vfyNow.Format("2006-01-02 15:04:05"),
		vfyNow.Format("2006-01-02T15:04:05"),
		strconv.FormatInt(vfyNow.Unix(), 10),
		vfyNow.Format(time.RFC1123Z),
		vfyNow.Format("2006-01-02T15:04:05+0700"),
	} {
		req := vfySend(t, nil, http.MethodPost, "/v1.0/x", body, body, ts)
		err := vfySymmetric().Verify(req.build())
		assert.ErrorIs(t, err, snapauth.ErrInvalidHeader, ts)
		var re *snapauth.RequestError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "Invalid Field Format [X-TIMESTAMP]", re.Message)
	}
}

func TestVerifyEndpointForms(t *testing.T) {
	ts := snapauth.Standard.Timestamp(vfyNow)
	const sent = "/v1.0/x?b=2&a=%201"
	for _, c := range []struct {
		p      snapauth.Provider
		signed string
	}{
		{snapauth.Standard, sent},
		{snapauth.BCA, "/v1.0/x?a=%201&b=2"},
		{snapauth.Provider{Endpoint: snapauth.EndpointPathOnly}, "/v1.0/x"},
	} {
		v := vfySymmetric()
		v.Provider = c.p
		h := vfySend(t, nil, http.MethodGet, c.signed, nil, nil, ts)
		h.Target = sent
		assert.NoError(t, v.Verify(h.build()), c.p.Name)
	}
	t.Run("a prefix stripped by http.StripPrefix still counts", func(t *testing.T) {
		v := vfySymmetric()
		var verifyErr error
		srv := httptest.NewServer(http.StripPrefix("/snap", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			verifyErr = v.Verify(r)
		})))
		defer srv.Close()
		req := vfySend(t, nil, http.MethodGet, "/snap/v1.0/x?q=1", nil, nil, ts)
		hr, err := http.NewRequest(req.Method, srv.URL+req.Target, nil)
		require.NoError(t, err)
		hr.Header = req.Header
		resp, err := srv.Client().Do(hr)
		require.NoError(t, err)
		resp.Body.Close()
		assert.NoError(t, verifyErr)
	})
}

func TestVerifyErrorsHoldNoSecrets(t *testing.T) {
	ts := snapauth.Standard.Timestamp(vfyNow)
	req := vfySend(t, nil, http.MethodPost, "/v1.0/x", []byte(`{}`), []byte(`{}`), ts)
	req.Header.Set("X-SIGNATURE", "AAAA"+req.Header.Get("X-SIGNATURE")[4:])
	err := vfySymmetric().Verify(req.build())
	require.Error(t, err)
	for _, s := range []string{vfySecret, vfyToken, req.Header.Get("X-SIGNATURE")} {
		assert.NotContains(t, err.Error(), s)
		assert.NotContains(t, fmt.Sprintf("%v %+v %#v", err, err, err), s)
	}
	assert.True(t, errors.Is(err, snapauth.ErrUnauthorized), "a signature refusal is a 401xx00")
}
