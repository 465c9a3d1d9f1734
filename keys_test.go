package snapauth_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
	private := func(b []byte) error { _, err := snapauth.ParsePrivateKey(b); return err }
	public := func(b []byte) error { _, err := snapauth.ParsePublicKey(b); return err }
	for _, keys := range []struct {
		parse func([]byte) error
		want  map[string]string // key file -> what the error names
	}{
		{private, map[string]string{
			"ec-pkcs8.pem":      "ECDSA",
			"ec-pkcs8.b64":      "ECDSA",
			"ec-sec1.pem":       "EC PRIVATE KEY",
			"ec-sec1.b64":       "EC key",
			"ed25519-pkcs8.pem": "Ed25519",
		}},
		{public, map[string]string{
			"ec-public.pem":      "ECDSA",
			"ec-public.b64":      "ECDSA",
			"ec-cert.pem":        "ECDSA",
			"ed25519-public.pem": "Ed25519",
		}},
	} {
		for name, wantText := range keys.want {
			err := keys.parse(signerReadKeyFile(t, name))
			require.Error(t, err, name)
			assert.Contains(t, err.Error(), wantText, name)
			assert.Contains(t, err.Error(), "SNAP needs an RSA key", name)
			assert.NotErrorIs(t, err, snapauth.ErrEncryptedKey, name)
		}
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
