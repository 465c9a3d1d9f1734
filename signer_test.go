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
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
	key := testkey.RSA(t)
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
	key := testkey.RSA(t)
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
	k := testkey.RSA(t)
	_, err := snapauth.SignAsymmetric(signerFailingSigner{&k.PublicKey}, "x")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hsm: device unplugged", "the signer's error is wrapped")
	assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "))
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
