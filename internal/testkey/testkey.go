// Package testkey is the one way the repository's tests get an RSA key: a
// partner key and a second, unrelated key, each a 2048-bit key generated once
// per test binary. Tests that need a fixed key (the known-answer vectors)
// read the openssl-made files under testdata/keys instead.
package testkey

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"sync"
	"testing"
)

var (
	partner = sync.OnceValues(generate)
	other   = sync.OnceValues(generate)
)

func generate() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

// RSA returns the partner's RSA key: the same key for every call in one test
// binary. It fails tb if the key cannot be generated.
func RSA(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	return must(tb, partner)
}

// Other returns an RSA key that is not the partner's (a stranger's, or a
// provider's own), the same for every call in one test binary. It fails tb if
// the key cannot be generated.
func Other(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	return must(tb, other)
}

// PEM returns key as a PKCS #8 "PRIVATE KEY" PEM block, the form a partner
// keeps on disk. It fails tb if key cannot be marshalled.
func PEM(tb testing.TB, key *rsa.PrivateKey) []byte {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatalf("testkey: marshal key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func must(tb testing.TB, f func() (*rsa.PrivateKey, error)) *rsa.PrivateKey {
	tb.Helper()
	k, err := f()
	if err != nil {
		tb.Fatalf("testkey: generate RSA key: %v", err)
	}
	return k
}
