package snapauth

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrEncryptedKey is returned by ParsePrivateKey for a password-protected key.
var ErrEncryptedKey = errors.New("snapauth: private key is encrypted; decrypt it first (openssl pkey -in key.pem -out key-plain.pem)")

// ParsePrivateKey parses an RSA private key from PKCS#1 PEM ("RSA PRIVATE
// KEY"), PKCS#8 PEM ("PRIVATE KEY"), or bare base64 DER of either, with or
// without line breaks. An encrypted key is ErrEncryptedKey; a key of another
// algorithm is an error that says so. Errors never contain the key material.
func ParsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	der, pemType, err := decodeKeyData(data, "private")
	if err != nil {
		return nil, err
	}
	switch pemType {
	case "ENCRYPTED PRIVATE KEY":
		return nil, ErrEncryptedKey
	case "EC PRIVATE KEY", "DSA PRIVATE KEY":
		return nil, fmt.Errorf("snapauth: private key is a %q PEM block; SNAP needs an RSA key", pemType)
	case "OPENSSH PRIVATE KEY":
		return nil, errors.New("snapauth: private key is in OpenSSH format; convert it to PEM (ssh-keygen -p -m PEM -f key) and use an RSA key")
	case "RSA PRIVATE KEY":
		return parseBlock(x509.ParsePKCS1PrivateKey, der, "private", pemType, "valid PKCS#1 DER")
	case "PRIVATE KEY", "":
		if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("snapauth: private key is %s; SNAP needs an RSA key", keyKind(k))
			}
			return rk, nil
		}
		if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
			return k, nil
		}
		if _, err := x509.ParseECPrivateKey(der); err == nil {
			return nil, errors.New("snapauth: private key is an EC key; SNAP needs an RSA key")
		}
		if pemType == "" {
			if isEncryptedPKCS8(der) {
				return nil, ErrEncryptedKey
			}
			return nil, errors.New("snapauth: private key: base64 data is not PKCS#8 or PKCS#1 DER")
		}
		return nil, errors.New("snapauth: private key: PEM block \"PRIVATE KEY\" is not valid PKCS#8 DER")
	default:
		return nil, fmt.Errorf("snapauth: private key: unexpected PEM block %s (want \"RSA PRIVATE KEY\" or \"PRIVATE KEY\")", pemLabel(pemType))
	}
}

// ParsePublicKey parses an RSA public key from PKIX PEM ("PUBLIC KEY"),
// PKCS#1 PEM ("RSA PUBLIC KEY"), an X.509 certificate ("CERTIFICATE"), or
// bare base64 DER of any of them. A key of another algorithm is an error that
// says so.
func ParsePublicKey(data []byte) (*rsa.PublicKey, error) {
	der, pemType, err := decodeKeyData(data, "public")
	if err != nil {
		return nil, err
	}
	var pub any
	switch pemType {
	case "PUBLIC KEY":
		if pub, err = parseBlock(x509.ParsePKIXPublicKey, der, "public", pemType, "valid PKIX DER"); err != nil {
			return nil, err
		}
	case "RSA PUBLIC KEY":
		return parseBlock(x509.ParsePKCS1PublicKey, der, "public", pemType, "valid PKCS#1 DER")
	case "CERTIFICATE":
		cert, err := parseBlock(x509.ParseCertificate, der, "public", pemType, "a valid X.509 certificate")
		if err != nil {
			return nil, err
		}
		pub = cert.PublicKey
	case "":
		if k, err := x509.ParsePKIXPublicKey(der); err == nil {
			pub = k
		} else if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
			return k, nil
		} else if cert, err := x509.ParseCertificate(der); err == nil {
			pub = cert.PublicKey
		} else {
			return nil, errors.New("snapauth: public key: base64 data is not PKIX, PKCS#1 or an X.509 certificate")
		}
	default:
		return nil, fmt.Errorf("snapauth: public key: unexpected PEM block %s (want \"PUBLIC KEY\", \"RSA PUBLIC KEY\" or \"CERTIFICATE\")", pemLabel(pemType))
	}
	rk, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("snapauth: public key is %s; SNAP needs an RSA key", keyKind(pub))
	}
	return rk, nil
}

// parseBlock parses the DER of a PEM block of type pemType with parse; if it
// fails, the error says the block is not form, and nothing of the DER.
func parseBlock[K any](parse func([]byte) (K, error), der []byte, what, pemType, form string) (K, error) {
	k, err := parse(der)
	if err != nil {
		var none K
		return none, fmt.Errorf("snapauth: %s key: PEM block %q is not %s", what, pemType, form)
	}
	return k, nil
}

// decodeKeyData returns the DER bytes of the first PEM block in data, with the
// block's type, or of data read as bare base64 (type "").
func decodeKeyData(data []byte, what string) (der []byte, pemType string, err error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, "", fmt.Errorf("snapauth: %s key is empty", what)
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		block, _ := pem.Decode(data[bytes.Index(data, []byte("-----BEGIN")):])
		if block == nil {
			return nil, "", fmt.Errorf("snapauth: %s key: malformed PEM armour", what)
		}
		if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
			return nil, "", ErrEncryptedKey
		}
		return block.Bytes, block.Type, nil
	}
	clean := make([]byte, 0, len(data))
	for _, c := range data {
		if c != '\n' && c != '\r' && c != ' ' && c != '\t' {
			clean = append(clean, c)
		}
	}
	// Sized for unpadded input too, which needs more room than StdEncoding
	// reports for the same length (and base64.Decode panics on a short dst).
	der = make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(der, clean)
	if err != nil {
		n, err = base64.RawStdEncoding.Decode(der, bytes.TrimRight(clean, "="))
	}
	if err != nil {
		return nil, "", fmt.Errorf("snapauth: %s key is neither PEM nor base64 DER", what)
	}
	return der[:n], "", nil
}

// pemLabel quotes a PEM block type for an error message when it looks like a
// real label (short, upper-case words), and otherwise says nothing of it: the
// type line comes from the caller's key data.
func pemLabel(t string) string {
	if len(t) > 32 {
		return "with an unrecognised type"
	}
	for i := 0; i < len(t); i++ {
		if c := t[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == ' ' || c == '#') {
			return "with an unrecognised type"
		}
	}
	return strconv.Quote(t)
}

// isEncryptedPKCS8 reports whether der is a PKCS#8 EncryptedPrivateKeyInfo:
// a sequence of a PKCS#5 or PKCS#12 encryption algorithm and an octet string.
func isEncryptedPKCS8(der []byte) bool {
	var info struct {
		Algo          pkix.AlgorithmIdentifier
		EncryptedData []byte
	}
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 {
		return false
	}
	pkcs5 := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5}
	pkcs12PBE := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1}
	oid := info.Algo.Algorithm
	return len(oid) > len(pkcs5) && oid[:len(pkcs5)].Equal(pkcs5) ||
		len(oid) > len(pkcs12PBE) && oid[:len(pkcs12PBE)].Equal(pkcs12PBE)
}

func keyKind(k any) string {
	switch k.(type) {
	case *rsa.PublicKey, *rsa.PrivateKey:
		return "an RSA key"
	case nil:
		return "no key"
	}
	name := fmt.Sprintf("%T", k)
	switch {
	case strings.Contains(name, "ecdsa"):
		return "an ECDSA key"
	case strings.Contains(name, "ed25519"):
		return "an Ed25519 key"
	case strings.Contains(name, "ecdh"):
		return "an ECDH key"
	}
	return "a " + name
}
