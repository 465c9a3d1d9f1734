package snapauth

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ErrInvalidSignature is returned by VerifySymmetric and VerifyAsymmetric when a
// signature does not match the string to sign, or cannot be decoded.
var ErrInvalidSignature = errors.New("snapauth: invalid signature")

const (
	// Base64 is standard, padded base64 (the SNAP standard, and the default).
	Base64 SignatureEncoding = iota
	// Hex is lower-case hexadecimal, as some sandboxes show.
	Hex
)

// TokenStringToSign returns the string the access-token signature covers:
// clientKey + "|" + timestamp.
func TokenStringToSign(clientKey, timestamp string) string {
	return clientKey + "|" + timestamp
}

// ServiceStringToSign returns the string a service signature covers. With an
// access token it is the symmetric form
//
//	METHOD:EndpointUrl:AccessToken:lower(hex(sha256(minify(body)))):X-TIMESTAMP
//
// and with accessToken == "" the asymmetric form, which has no token segment.
// The method is upper-cased; endpointURL is the relative URL (see
// Provider.EndpointURL). An empty body hashes the empty string; a body that is
// not JSON is an error.
func ServiceStringToSign(method, endpointURL, accessToken string, body []byte, timestamp string) (string, error) {
	// Only the hash of the minified body is needed, so it is minified into a
	// pooled scratch buffer rather than a copy per call.
	bp := minifyScratch.Get().(*[]byte)
	min, err := appendMinifiedChecked((*bp)[:0], body)
	if err != nil {
		minifyScratch.Put(bp)
		return "", err
	}
	s := serviceStringToSign(method, endpointURL, accessToken, min, timestamp)
	if cap(min) <= maxScratch {
		*bp = min[:0]
		minifyScratch.Put(bp)
	}
	return s, nil
}

// minifyScratch holds buffers for ServiceStringToSign; buffers larger than
// maxScratch are left to the garbage collector instead of being kept.
var minifyScratch = sync.Pool{New: func() any { return new([]byte) }}

const maxScratch = 64 << 10

// serviceStringToSign builds the string from a body that is already minified.
func serviceStringToSign(method, endpointURL, accessToken string, minified []byte, timestamp string) string {
	var buf [512]byte
	return string(appendServiceStringToSign(buf[:0], method, endpointURL, accessToken, minified, []byte(timestamp)))
}

// appendServiceStringToSign appends the string to sign to dst.
func appendServiceStringToSign(dst []byte, method, endpointURL, accessToken string, minified, timestamp []byte) []byte {
	return appendStringToSignSum(dst, method, endpointURL, accessToken, sha256.Sum256(minified), timestamp)
}

// appendStringToSignSum is appendServiceStringToSign given the SHA-256 of
// the minified body.
func appendStringToSignSum(dst []byte, method, endpointURL, accessToken string, sum [sha256.Size]byte, timestamp []byte) []byte {
	dst = append(dst, upperASCII(method)...)
	dst = append(dst, ':')
	dst = append(dst, endpointURL...)
	dst = append(dst, ':')
	if accessToken != "" {
		dst = append(dst, accessToken...)
		dst = append(dst, ':')
	}
	dst = hex.AppendEncode(dst, sum[:])
	dst = append(dst, ':')
	return append(dst, timestamp...)
}

func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}

// SignAsymmetric signs stringToSign with SHA256withRSA (RSASSA-PKCS1-v1_5 over
// SHA-256) and returns standard base64. Any crypto.Signer holding an RSA key
// works, so keys in an HSM or a cloud KMS can sign.
func SignAsymmetric(key crypto.Signer, stringToSign string) (string, error) {
	sig, err := signRSA(key, stringToSign)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

func signRSA(key crypto.Signer, stringToSign string) ([]byte, error) {
	if k, ok := key.(*rsa.PrivateKey); key == nil || ok && k == nil {
		return nil, errors.New("snapauth: no private key to sign with")
	}
	// A crypto.Signer holding an ECDSA or Ed25519 key would sign without
	// complaint and produce a signature no SNAP provider accepts.
	if pub, ok := key.Public().(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("snapauth: signing key is %s; SNAP needs an RSA key", keyKind(key.Public()))
	} else if pub == nil {
		return nil, errors.New("snapauth: no private key to sign with")
	}
	sum := sha256.Sum256([]byte(stringToSign))
	sig, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("snapauth: SHA256withRSA signing failed: %w", err)
	}
	return sig, nil
}

// SignSymmetric signs stringToSign with HMAC-SHA512 keyed with the client
// secret and returns standard base64 of the 64-byte MAC.
func SignSymmetric(clientSecret, stringToSign string) string {
	var b64 [88]byte // base64.StdEncoding.EncodedLen(sha512.Size)
	base64.StdEncoding.Encode(b64[:], hmacSHA512(clientSecret, stringToSign))
	return string(b64[:])
}

// VerifySymmetric checks an HMAC-SHA512 signature in constant time. The
// signature may be base64 with or without padding, or hexadecimal. A mismatch
// is ErrInvalidSignature.
func VerifySymmetric(clientSecret, stringToSign, signature string) error {
	want := hmacSHA512(clientSecret, stringToSign)
	got, ok := decodeSignature(signature, len(want))
	if !ok || !hmac.Equal(got, want) {
		return ErrInvalidSignature
	}
	return nil
}

// VerifyAsymmetric checks a SHA256withRSA signature with the signer's public
// key. The signature may be base64 with or without padding, or hexadecimal. A
// mismatch is ErrInvalidSignature.
func VerifyAsymmetric(key *rsa.PublicKey, stringToSign, signature string) error {
	if key == nil {
		return errors.New("snapauth: no public key to verify with")
	}
	got, ok := decodeSignature(signature, key.Size())
	if !ok {
		return ErrInvalidSignature
	}
	sum := sha256.Sum256([]byte(stringToSign))
	if rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], got) != nil {
		return ErrInvalidSignature
	}
	return nil
}

// Strict decoders reject non-zero padding bits. One signature still has
// several accepted texts (padded and unpadded base64, hex), so replay
// protection must never be keyed on the signature text: Verifier keys it on
// the partner, X-EXTERNAL-ID and the signed timestamp's day (ReplayKey).
var (
	strictBase64    = base64.StdEncoding.Strict()
	strictRawBase64 = base64.RawStdEncoding.Strict()
)

// decodeSignature decodes hex (when the length says so) or base64, padded or
// not. size is the expected number of signature bytes.
func decodeSignature(s string, size int) ([]byte, bool) {
	// Go's base64 decoders skip CR and LF; refusing them keeps one text per
	// signature.
	if strings.ContainsAny(s, "\r\n") {
		return nil, false
	}
	if len(s) == 2*size {
		if b, err := hex.DecodeString(s); err == nil {
			return b, true
		}
	}
	for _, enc := range []*base64.Encoding{strictBase64, strictRawBase64} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == size {
			return b, true
		}
	}
	return nil, false
}
