package snapauth_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
		{snapauth.Provider{Name: "sorted", EndpointForm: snapauth.EndpointSortedQuery}, "/v1.0/x?a=%201&b=2"},
		{snapauth.Provider{EndpointForm: snapauth.EndpointPathOnly}, "/v1.0/x"},
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
