package snapauth_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVerifyNodeSender signs requests in Node the way JavaScript SNAP
// clients do (JSON.stringify, crypto.createHmac, crypto.sign) and verifies
// them. Without node the test is skipped, except under CI=true, where it
// fails.
func TestVerifyNodeSender(t *testing.T) {
	node := signerToolOrSkip(t, "node")
	ts := snapauth.Standard.Timestamp(vfyNow)
	input := map[string]any{
		"key": filepath.Join("testdata", "keys", "rsa-pkcs8.pem"), "secret": vfySecret, "token": vfyToken, "ts": ts,
		"bodies": []string{
			`{"q":"\u003cb\u003e & \/ caf\u00e9 \ud83d\ude4f"}`,
			`{"remark":"terima kasih 🙏","amount":{"value":"10000.00","currency":"IDR"}}`,
			`{"a":1.0,"b":1e3,"n":[0.1,-0,1E-7]}`,
			`{"ctl":"\u0001\b\n","sep":"\u2028"}`,
		},
	}
	const script = `
const crypto = require('crypto');
const fs = require('fs');
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const key = fs.readFileSync(input.key, 'utf8');
const sts = (method, path, token, body) => {
  const hash = crypto.createHash('sha256').update(body, 'utf8').digest('hex');
  return [method, path].concat(token ? [token] : [], [hash, input.ts]).join(':');
};
const out = [];
for (const text of input.bodies) {
  const obj = JSON.parse(text);
  const compact = JSON.stringify(obj);
  // Sent as it was hashed; and sent pretty while the compact form is hashed.
  for (const sent of [compact, JSON.stringify(obj, null, 2)]) {
    const path = '/v1.0/qr/qr-mpm-notify?src=node';
    out.push({
      body: sent,
      hmac: crypto.createHmac('sha512', input.secret).update(sts('POST', path, input.token, compact), 'utf8').digest('base64'),
      rsa: crypto.sign('sha256', Buffer.from(sts('POST', path, '', compact), 'utf8'), key).toString('base64'),
      path,
    });
  }
}
process.stdout.write(JSON.stringify(out));`
	stdin, err := json.Marshal(input)
	require.NoError(t, err)
	out := runNode(t, node, script, stdin)
	var signed []struct{ Body, HMAC, RSA, Path string }
	require.NoError(t, json.Unmarshal(out, &signed))
	require.Len(t, signed, 2*len(input["bodies"].([]string)))

	sym, asym := vfySymmetric(), vfyAsymmetric(t)
	for _, s := range signed {
		req := vfySend(t, nil, http.MethodPost, s.Path, []byte(s.Body), nil, ts)
		req.Header.Set("X-SIGNATURE", s.HMAC)
		assert.NoError(t, sym.Verify(req.build()), "symmetric, body %s", s.Body)

		req = vfySend(t, signerOpenSSLKey(t), http.MethodPost, s.Path, []byte(s.Body), nil, ts)
		req.Header.Set("X-SIGNATURE", s.RSA)
		assert.NoError(t, asym.Verify(req.build()), "asymmetric, body %s", s.Body)

		tampered := req.clone()
		tampered.Header.Set("X-EXTERNAL-ID", "1")
		tampered.Body = bytes.Replace(tampered.Body, []byte(`"`), []byte(`"x`), 1)
		assert.ErrorIs(t, asym.Verify(tampered.build()), snapauth.ErrInvalidSignature)
	}
}
