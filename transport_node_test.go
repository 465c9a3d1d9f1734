package snapauth

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTransportNodeCrypto checks, with Node's crypto and JSON, what the
// transport sent: JSON.stringify(JSON.parse(body)) gives back the very bytes,
// and the HMAC-SHA512 and SHA256withRSA signatures verify.
func TestTransportNodeCrypto(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is required in CI")
		}
		t.Skip("node not installed")
	}
	key := testkey.RSA(t)
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	type nodeCase struct {
		Method    string `json:"method"`
		Endpoint  string `json:"endpoint"`
		Token     string `json:"token"` // "" for the asymmetric form
		Body      string `json:"body"`
		Timestamp string `json:"timestamp"`
		Signature string `json:"signature"`
		RSA       bool   `json:"rsa"`
	}
	var cases []nodeCase
	capture := func(tr *Transport, method, target, body string) {
		t.Helper()
		tr.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
			b := []byte{}
			if r.Body != nil {
				b, _ = io.ReadAll(r.Body)
			}
			cases = append(cases, nodeCase{
				Method: r.Method, Endpoint: r.URL.RequestURI(),
				Token:     strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "),
				Body:      string(b),
				Timestamp: r.Header.Get("X-TIMESTAMP"), Signature: r.Header.Get("X-SIGNATURE"),
				RSA: tr.PrivateKey != nil,
			})
			return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
		})
		var rb io.Reader
		if body != "" {
			rb = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, target, rb)
		require.NoError(t, err)
		_, err = tr.RoundTrip(req)
		require.NoError(t, err)
	}
	sym := newTestTransport(newCountingSource("node-token-1"))
	capture(sym, "POST", "http://127.0.0.1:1/snap/v1.0/transfer-va/payment", string(prettyPayload(t)))
	capture(sym, "POST", "http://127.0.0.1:1/v1.0/x", "[\n 1, 2.5, -3, 1e-7, true, null, \"\\u00e9\\ud83c\\udf89\\/\\u0001\" ]")
	capture(sym, "GET", "http://127.0.0.1:1/v1.0/balance?a=1&b=%20x", "")
	asym := &Transport{PrivateKey: key, PartnerID: "p", ChannelID: "c"}
	capture(asym, "POST", "http://127.0.0.1:1/v1.0/qr?x=y", "{\"note\": \"<Tom & Jerry> Ñ 🎉\"}")
	input, err := json.Marshal(cases)
	require.NoError(t, err)

	const script = `
const crypto = require('crypto');
let data = '';
process.stdin.on('data', c => data += c).on('end', () => {
  const cases = JSON.parse(data);
  cases.forEach((c, i) => {
    const min = c.body === '' ? '' : JSON.stringify(JSON.parse(c.body));
    if (min !== c.body) { console.log('case ' + i + ': body not canonical: ' + c.body + ' vs ' + min); process.exit(2); }
    const hash = crypto.createHash('sha256').update(min, 'utf8').digest('hex');
    let ok;
    if (c.rsa) {
      const sts = [c.method, c.endpoint, hash, c.timestamp].join(':');
      ok = crypto.verify('sha256', Buffer.from(sts, 'utf8'), process.env.SNAP_PUBLIC_KEY, Buffer.from(c.signature, 'base64'));
    } else {
      const sts = [c.method, c.endpoint, c.token, hash, c.timestamp].join(':');
      const want = crypto.createHmac('sha512', process.env.SNAP_CLIENT_SECRET).update(sts, 'utf8').digest('base64');
      ok = crypto.timingSafeEqual(Buffer.from(want), Buffer.from(c.signature));
    }
    if (!ok) { console.log('case ' + i + ': signature does not verify'); process.exit(3); }
    console.log('case ' + i + ': ok');
  });
});`
	cmd := exec.Command(node, "-e", script)
	cmd.Stdin = bytes.NewReader(input)
	cmd.Env = append(os.Environ(), "SNAP_CLIENT_SECRET="+testSecret, "SNAP_PUBLIC_KEY="+string(pubPEM))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "node: %s", out)
	assert.Equal(t, "case 0: ok\ncase 1: ok\ncase 2: ok\ncase 3: ok\n", string(out))
}
