package snapauth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"net/url"
	"os"
	"time"

	"github.com/snapauth/snapauth"
)

// ---- Signer examples (signer.go): keys, strings to sign, signatures, timestamps ----

func ExampleParsePrivateKey() {
	// The partner's key as the provider's portal hands it out: PKCS#1 or
	// PKCS#8 PEM, or bare base64 DER; all parse the same way.
	data, err := os.ReadFile("testdata/keys/rsa-pkcs8.pem")
	if err != nil {
		log.Fatal(err)
	}
	key, err := snapauth.ParsePrivateKey(data)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("RSA bits:", key.N.BitLen())

	// A password-protected key is refused with ErrEncryptedKey.
	data, err = os.ReadFile("testdata/keys/rsa-pkcs8-encrypted.pem")
	if err != nil {
		log.Fatal(err)
	}
	_, err = snapauth.ParsePrivateKey(data)
	fmt.Println("encrypted:", errors.Is(err, snapauth.ErrEncryptedKey))
	// Output:
	// RSA bits: 2048
	// encrypted: true
}

func ExampleParsePublicKey() {
	// The provider's public key: PKIX or PKCS#1 PEM, an X.509 certificate,
	// or bare base64 DER.
	for _, name := range []string{"rsa-public-pkix.pem", "rsa-cert.pem", "rsa-public-pkix.b64"} {
		data, err := os.ReadFile("testdata/keys/" + name)
		if err != nil {
			log.Fatal(err)
		}
		pub, err := snapauth.ParsePublicKey(data)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(name, pub.N.BitLen())
	}
	// Output:
	// rsa-public-pkix.pem 2048
	// rsa-cert.pem 2048
	// rsa-public-pkix.b64 2048
}

func ExampleMinify() {
	// What json.MarshalIndent writes: whitespace and HTML escapes. A provider
	// that re-serialises the body (JSON.stringify(JSON.parse(body))) would
	// hash different bytes; Minify gives the form that survives that.
	body := []byte(`{
    "partnerReferenceNo": "2020102900000000000001",
    "remark": "\u003cb\u003eTom \u0026 Jerry\u003c/b\u003e caf\u00e9",
    "amount": {"value": "10000.00", "currency": "IDR"}
}`)
	min, err := snapauth.Minify(body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(min))

	_, err = snapauth.Minify([]byte(`{"amount": 10000.00,}`))
	fmt.Println(err)
	// Output:
	// {"partnerReferenceNo":"2020102900000000000001","remark":"<b>Tom & Jerry</b> café","amount":{"value":"10000.00","currency":"IDR"}}
	// snapauth: body is not valid JSON; refusing to sign it
}

func ExampleTokenStringToSign() {
	timestamp := "2020-12-17T10:55:00+07:00"
	fmt.Println(snapauth.TokenStringToSign("8b7ac5a0-2b5c-4d2e-9a3c-0f7c1e2d3b4a", timestamp))
	// Output:
	// 8b7ac5a0-2b5c-4d2e-9a3c-0f7c1e2d3b4a|2020-12-17T10:55:00+07:00
}

func ExampleServiceStringToSign() {
	body := []byte(`{ "partnerReferenceNo": "2020102900000000000001" }`)
	ts := "2020-12-17T10:55:00+07:00"

	// Symmetric form, signed with the client secret: the B2B access token is
	// one segment.
	sts, err := snapauth.ServiceStringToSign("post", "/snap/v1.0/transfer/status", "gp9HjjEj813Y9JGo", body, ts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sts)

	// Asymmetric form (no access token), signed with the private key. A GET
	// has no body: the hash is that of the empty string.
	sts, err = snapauth.ServiceStringToSign("GET", "/snap/v1.0/balance?account=123", "", nil, ts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sts)
	// Output:
	// POST:/snap/v1.0/transfer/status:gp9HjjEj813Y9JGo:f7691047ebc13ca9c0eeb206ebf5af1198aa4c615d7e3580fc487fc9b24ce2ba:2020-12-17T10:55:00+07:00
	// GET:/snap/v1.0/balance?account=123:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855:2020-12-17T10:55:00+07:00
}

func ExampleSignAsymmetric() {
	// In production: key, err := snapauth.ParsePrivateKey(pemBytes), or any
	// crypto.Signer backed by an HSM or a cloud KMS.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	sts := snapauth.TokenStringToSign("client-key", "2020-12-17T10:55:00+07:00")
	sig, err := snapauth.SignAsymmetric(key, sts) // X-SIGNATURE of the token request
	if err != nil {
		log.Fatal(err)
	}
	// The provider checks it with the partner's public key.
	fmt.Println("verified:", snapauth.VerifyAsymmetric(&key.PublicKey, sts, sig) == nil)
	// Output:
	// verified: true
}

func ExampleSignSymmetric() {
	sts := "POST:/v1.0/transfer-va/inquiry:gp9HjjEj813Y9JGo:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855:2020-12-17T10:55:00+07:00"
	// The same as: printf %s "$sts" | openssl dgst -sha512 -hmac client-secret -binary | base64
	fmt.Println(snapauth.SignSymmetric("client-secret", sts))
	// Output:
	// pSCNrrPmw84ZwIVv13PlFUa6TMndD6JWJ3qXSk5w+Lkpn2lvfFwOAqA1keicX/wREWgjGQzfR2DeNdj+A1TNXA==
}

func ExampleVerifyAsymmetric() {
	// The reverse direction: a provider calls the partner's access-token
	// endpoint, and the partner checks X-SIGNATURE with the provider's
	// public key (from snapauth.ParsePublicKey).
	providerKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&providerKey.PublicKey)
	if err != nil {
		log.Fatal(err)
	}
	pub, err := snapauth.ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err != nil {
		log.Fatal(err)
	}

	sts := snapauth.TokenStringToSign("provider-client-key", "2020-12-17T10:55:00+07:00")
	sig, err := snapauth.SignAsymmetric(providerKey, sts) // done by the provider
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(snapauth.VerifyAsymmetric(pub, sts, sig))
	err = snapauth.VerifyAsymmetric(pub, snapauth.TokenStringToSign("provider-client-key", "2020-12-17T10:56:00+07:00"), sig)
	fmt.Println(errors.Is(err, snapauth.ErrInvalidSignature))
	// Output:
	// <nil>
	// true
}

func ExampleVerifySymmetric() {
	// A payment notification arrives; recompute the string to sign from the
	// received method, path, token, body and X-TIMESTAMP, then check
	// X-SIGNATURE in constant time.
	body := []byte(`{"virtualAccountNo":"   12345123456789012345678","paidAmount":{"value":"10000.00","currency":"IDR"}}`)
	sts, err := snapauth.ServiceStringToSign("POST", "/v1.0/transfer-va/payment", "issued-token", body, "2020-12-17T10:55:00+07:00")
	if err != nil {
		log.Fatal(err)
	}
	received := snapauth.SignSymmetric("client-secret", sts) // what the provider sent
	fmt.Println(snapauth.VerifySymmetric("client-secret", sts, received))
	fmt.Println(snapauth.VerifySymmetric("another-secret", sts, received))
	// Output:
	// <nil>
	// snapauth: invalid signature
}

func ExampleFormatTimestamp() {
	t := time.Date(2020, 12, 17, 3, 55, 0, 0, time.UTC)
	fmt.Println(snapauth.FormatTimestamp(t.In(snapauth.Jakarta)))
	fmt.Println(snapauth.FormatTimestamp(t)) // in t's own zone
	// Output:
	// 2020-12-17T10:55:00+07:00
	// 2020-12-17T03:55:00+00:00
}

func ExampleParseTimestamp() {
	for _, s := range []string{"2020-12-17T10:55:00+07:00", "2020-12-17T10:55:00.123+07:00", "2020-12-17T03:55:00Z", "2020-12-17T10:55:00"} {
		t, err := snapauth.ParseTimestamp(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(t.UTC().Format(time.RFC3339Nano))
	}
	// Output:
	// 2020-12-17T03:55:00Z
	// 2020-12-17T03:55:00.123Z
	// 2020-12-17T03:55:00Z
	// snapauth: X-TIMESTAMP "2020-12-17T10:55:00" is not yyyy-MM-ddTHH:mm:ss±hh:mm
}

func ExampleProvider_Timestamp() {
	now := time.Date(2020, 12, 17, 3, 55, 0, 123e6, time.UTC)
	for _, p := range []snapauth.Provider{snapauth.Standard, snapauth.BRI, snapauth.DOKU} {
		fmt.Printf("%-8s %s\n", p.Name, p.Timestamp(now))
	}
	// Output:
	// standard 2020-12-17T10:55:00+07:00
	// bri      2020-12-17T10:55:00.123+07:00
	// doku     2020-12-17T03:55:00Z
}

func ExampleProvider_EndpointURL() {
	u, err := url.Parse("https://sandbox.example.co.id/openapi/v1.0/transfer/status?b=2&name=Budi+S&a=1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(snapauth.Standard.EndpointURL(u))
	fmt.Println(snapauth.Provider{EndpointForm: snapauth.EndpointSortedQuery}.EndpointURL(u)) // BCA's pre-SNAP API
	fmt.Println(snapauth.Provider{EndpointForm: snapauth.EndpointPathOnly}.EndpointURL(u))
	// Output:
	// /openapi/v1.0/transfer/status?b=2&name=Budi+S&a=1
	// /openapi/v1.0/transfer/status?a=1&b=2&name=Budi%20S
	// /openapi/v1.0/transfer/status
}

func ExampleProvider_GrantType() {
	fmt.Println(snapauth.Standard.GrantType("authorization_code"))
	fmt.Println(snapauth.DANA.GrantType("authorization_code"))
	// Output:
	// authorization_code
	// AUTHORIZATION_CODE
}

func ExampleProvider_EncodeSignature() {
	sig := []byte{0xde, 0xad, 0xbe, 0xef}
	fmt.Println(snapauth.Standard.EncodeSignature(sig))
	fmt.Println(snapauth.Provider{Encoding: snapauth.Hex}.EncodeSignature(sig))
	// Output:
	// 3q2+7w==
	// deadbeef
}

func ExampleCheckTimestamp() {
	now := time.Date(2026, 11, 22, 9, 15, 0, 0, snapauth.Jakarta)
	_, err := snapauth.CheckTimestamp("2026-11-22T09:13:30+07:00", now, 5*time.Minute)
	fmt.Println(err)
	_, err = snapauth.CheckTimestamp("2026-11-22T09:05:00+07:00", now, 5*time.Minute)
	fmt.Println(errors.Is(err, snapauth.ErrStaleTimestamp))
	// Output:
	// <nil>
	// true
}
