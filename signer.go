package snapauth

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrInvalidSignature is returned by VerifySymmetric and VerifyAsymmetric when a
// signature does not match the string to sign, or cannot be decoded.
var ErrInvalidSignature = errors.New("snapauth: invalid signature")

// TimestampLayout is the X-TIMESTAMP layout of the SNAP standard, in Go's
// time.Format notation: yyyy-MM-ddTHH:mm:ss±hh:mm.
const TimestampLayout = "2006-01-02T15:04:05-07:00"

// Layouts of X-TIMESTAMP used by providers that deviate from the standard.
const (
	// TimestampLayoutMillis adds milliseconds (BRI): 2020-12-17T10:55:00.000+07:00.
	TimestampLayoutMillis = "2006-01-02T15:04:05.000-07:00"
	// TimestampLayoutZulu writes UTC as "Z" (DOKU): 2020-12-17T03:55:00Z.
	// Use it with a UTC Location.
	TimestampLayoutZulu = "2006-01-02T15:04:05Z07:00"
)

// Jakarta is Western Indonesia Time (WIB, UTC+07:00), the zone SNAP timestamps
// are written in by default. It is a fixed zone, so no time zone database is
// needed on the machine.
var Jakarta = time.FixedZone("WIB", 7*60*60)

// EndpointForm says how the EndpointUrl of a service string to sign is derived
// from a request URL.
type EndpointForm int

const (
	// EndpointAsSent is the path plus the query string exactly as sent
	// (the SNAP standard, and the default).
	EndpointAsSent EndpointForm = iota
	// EndpointSortedQuery is the path plus the query parameters sorted by name,
	// then value, each percent-encoded per RFC 3986 (BCA).
	EndpointSortedQuery
	// EndpointPathOnly is the path without the query string (PayerMax).
	EndpointPathOnly
)

// SignatureEncoding says how signature bytes are written into X-SIGNATURE.
type SignatureEncoding int

const (
	// Base64 is standard, padded base64 (the SNAP standard, and the default).
	Base64 SignatureEncoding = iota
	// Hex is lower-case hexadecimal, as some sandboxes show.
	Hex
)

// Provider describes how one SNAP provider deviates from the standard. The
// zero value is the SNAP standard; the named values (Standard, BCA, BRI, DOKU,
// DANA, Finnet) describe the providers whose deviations are known. Deviations
// are data: copy a value and change a field to describe another provider.
type Provider struct {
	// Name is a label for logs and errors; it changes no behaviour.
	Name string
	// TimestampLayout is the Go layout of X-TIMESTAMP. Empty means
	// TimestampLayout (the standard, seconds and a ±hh:mm offset).
	TimestampLayout string
	// Location is the zone X-TIMESTAMP is written in. Nil means Jakarta (+07:00).
	Location *time.Location
	// UpperCaseGrants sends grant types in upper case
	// ("AUTHORIZATION_CODE", "REFRESH_TOKEN") instead of the standard lower case.
	UpperCaseGrants bool
	// AuthCodeOnRefresh sends the authCode field (empty) with refresh_token
	// grants, for providers whose schema marks it mandatory (Finnet).
	AuthCodeOnRefresh bool
	// Encoding is the encoding of X-SIGNATURE; the zero value is Base64.
	Encoding SignatureEncoding
	// Endpoint is how the EndpointUrl of the service string to sign is formed;
	// the zero value is EndpointAsSent.
	Endpoint EndpointForm
}

// Named providers. Standard is the zero value with a name.
var (
	// Standard follows the SNAP standard to the letter.
	Standard = Provider{Name: "standard"}
	// BCA signs the query string sorted and RFC 3986 encoded.
	BCA = Provider{Name: "bca", Endpoint: EndpointSortedQuery}
	// BRI writes X-TIMESTAMP with milliseconds.
	BRI = Provider{Name: "bri", TimestampLayout: TimestampLayoutMillis}
	// DOKU writes X-TIMESTAMP in UTC with a "Z".
	DOKU = Provider{Name: "doku", TimestampLayout: TimestampLayoutZulu, Location: time.UTC}
	// DANA spells grant types in upper case.
	DANA = Provider{Name: "dana", UpperCaseGrants: true}
	// Finnet (Finpay) requires authCode on refresh_token grants.
	Finnet = Provider{Name: "finnet", AuthCodeOnRefresh: true}
)

// Providers maps the lower-case names of the named providers to their values,
// for configuration files and command-line flags.
var Providers = map[string]Provider{
	"standard": Standard, "bca": BCA, "bri": BRI, "doku": DOKU, "dana": DANA, "finnet": Finnet,
}

// Timestamp formats t as the provider's X-TIMESTAMP.
func (p Provider) Timestamp(t time.Time) string {
	loc := p.Location
	if loc == nil {
		loc = Jakarta
	}
	layout := p.TimestampLayout
	if layout == "" {
		layout = TimestampLayout
	}
	return t.In(loc).Format(layout)
}

// GrantType returns grant (a standard, lower-case grant type such as
// "client_credentials") spelled the way the provider expects.
func (p Provider) GrantType(grant string) string {
	if p.UpperCaseGrants {
		return strings.ToUpper(grant)
	}
	return grant
}

// EndpointURL returns the EndpointUrl of the service string to sign for a
// request to u: the path (with any provider prefix) and, depending on
// p.Endpoint, the query string.
func (p Provider) EndpointURL(u *url.URL) string {
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	switch p.Endpoint {
	case EndpointPathOnly:
		return path
	case EndpointSortedQuery:
		if u.RawQuery == "" {
			return path
		}
		return path + "?" + sortedQuery(u.RawQuery)
	default:
		if u.RawQuery == "" {
			return path
		}
		return path + "?" + u.RawQuery
	}
}

// EncodeSignature writes signature bytes in the provider's encoding.
func (p Provider) EncodeSignature(sig []byte) string {
	if p.Encoding == Hex {
		return hex.EncodeToString(sig)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// sortedQuery sorts query parameters by name, then value, and encodes each
// per RFC 3986 (unreserved characters literal, the rest %XX in upper case).
func sortedQuery(raw string) string {
	type kv struct{ k, v string }
	var pairs []kv
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		pairs = append(pairs, kv{k, v})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(rfc3986(p.k))
		b.WriteByte('=')
		b.WriteString(rfc3986(p.v))
	}
	return b.String()
}

func rfc3986(s string) string {
	const upperhex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperhex[c>>4])
		b.WriteByte(upperhex[c&15])
	}
	return b.String()
}

// FormatTimestamp formats t as a standard SNAP X-TIMESTAMP,
// yyyy-MM-ddTHH:mm:ss±hh:mm, in t's own zone. Use Provider.Timestamp to
// format in a provider's zone and layout.
func FormatTimestamp(t time.Time) string {
	return t.Format(TimestampLayout)
}

// ParseTimestamp parses an X-TIMESTAMP in any of the layouts providers use:
// the standard one, with fractional seconds, or in UTC with "Z". A timestamp
// without a zone is an error.
func ParseTimestamp(s string) (time.Time, error) {
	if !timestampShape(s) {
		return time.Time{}, fmt.Errorf("snapauth: X-TIMESTAMP %q is not yyyy-MM-ddTHH:mm:ss±hh:mm", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("snapauth: X-TIMESTAMP %q is not yyyy-MM-ddTHH:mm:ss±hh:mm", s)
	}
	return t, nil
}

// timestampShape reports whether s has the fixed-width shape
// yyyy-MM-ddTHH:mm:ss[.fraction](Z|±hh:mm), which time.Parse alone does not
// enforce (it takes one-digit hours, comma fractions and +24:00 offsets).
func timestampShape(s string) bool {
	const head = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(head)+1 {
		return false
	}
	for i := 0; i < len(head); i++ {
		if !shapeByte(head[i], s[i]) {
			return false
		}
	}
	rest := s[len(head):]
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && n <= 9 && '0' <= rest[n] && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	if rest == "Z" {
		return true
	}
	if len(rest) != 6 || rest[0] != '+' && rest[0] != '-' {
		return false
	}
	for i, c := range []byte("dd:dd") {
		if !shapeByte(c, rest[i+1]) {
			return false
		}
	}
	return rest[1:3] <= "23" && rest[4:6] <= "59"
}

func shapeByte(want, c byte) bool {
	if want == 'd' {
		return '0' <= c && c <= '9'
	}
	return c == want
}

// ErrStaleTimestamp is returned by CheckTimestamp for an X-TIMESTAMP outside
// the allowed skew.
var ErrStaleTimestamp = errors.New("snapauth: X-TIMESTAMP outside the allowed skew")

// CheckTimestamp parses an X-TIMESTAMP (see ParseTimestamp) and checks that
// it lies within skew of now, before or after: the replay window of a
// verifier. SNAP sets no window; 5 minutes is common practice. A timestamp
// outside it is ErrStaleTimestamp.
func CheckTimestamp(timestamp string, now time.Time, skew time.Duration) (time.Time, error) {
	t, err := ParseTimestamp(timestamp)
	if err != nil {
		return time.Time{}, err
	}
	if d := now.Sub(t); d > skew || d < -skew {
		return t, fmt.Errorf("%w: %s is %s from now (allowed %s)", ErrStaleTimestamp, timestamp, d.Round(time.Second), skew)
	}
	return t, nil
}

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
	if err := checkJSON(body); err != nil {
		return "", err
	}
	// Only the hash of the minified body is needed, so it is minified into a
	// pooled scratch buffer rather than a copy per call.
	bp := minifyScratch.Get().(*[]byte)
	min := appendMinified((*bp)[:0], body)
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
	sum := sha256.Sum256(minified)
	var hexSum [sha256.Size * 2]byte
	hex.Encode(hexSum[:], sum[:])
	method = upperASCII(method)
	n := len(method) + len(endpointURL) + len(hexSum) + len(timestamp) + 3
	if accessToken != "" {
		n += len(accessToken) + 1
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(method)
	b.WriteByte(':')
	b.WriteString(endpointURL)
	b.WriteByte(':')
	if accessToken != "" {
		b.WriteString(accessToken)
		b.WriteByte(':')
	}
	b.Write(hexSum[:])
	b.WriteByte(':')
	b.WriteString(timestamp)
	return b.String()
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

func hmacSHA512(secret, msg string) []byte {
	m := hmac.New(sha512.New, []byte(secret))
	m.Write([]byte(msg))
	return m.Sum(nil)
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

// Minify returns body as canonical compact JSON: insignificant whitespace
// removed, key order kept, and strings written the way JavaScript's
// JSON.stringify writes them. Unnecessary escapes (\u003c, \/, \u00e9,
// escaped surrogate pairs) become the literal characters; '"', '\\' and
// control characters stay escaped, as do lone surrogates. Numbers and
// duplicate keys are kept exactly as written.
//
// What holds: for a body whose numbers are written as JavaScript writes them
// (not "1.0", "1e3", "-0", nor integers beyond 2^53), with no duplicate keys
// and no keys that are array indices ("0", "12": JavaScript moves them to
// the front of their object), Minify(body) is byte for byte
// JSON.stringify(JSON.parse(body)), so a provider that parses and
// re-serialises what it receives hashes the bytes that were signed (SNAP
// bodies carry amounts as strings, "10000.00", so this is the usual case).
// A provider that re-serialises can still change the others ("1.0" to "1",
// "1e3" to "1000", {"a":1,"a":2} to {"a":2}). Empty input gives
// empty output; anything that is not valid UTF-8 JSON is an error and is
// never signed.
func Minify(body []byte) ([]byte, error) {
	if err := checkJSON(body); err != nil {
		return nil, err
	}
	return appendMinified(make([]byte, 0, len(body)), body), nil
}

// checkJSON accepts an empty body or valid UTF-8 JSON, the inputs
// appendMinified is written for.
func checkJSON(body []byte) error {
	if len(body) == 0 {
		return nil
	}
	if !json.Valid(body) {
		return errors.New("snapauth: body is not valid JSON; refusing to sign it")
	}
	if !utf8.Valid(body) {
		return errors.New("snapauth: body is not valid UTF-8 JSON; refusing to sign it")
	}
	return nil
}

// appendMinified appends the canonical compact form of valid JSON src to dst.
func appendMinified(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		c := src[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			i++
		case '"':
			end := i + 1
			for src[end] != '"' {
				if src[end] == '\\' {
					end++
				}
				end++
			}
			dst = appendString(dst, src[i+1:end])
			i = end + 1
		default:
			j := i + 1
			for j < len(src) && !isJSONSpace(src[j]) && src[j] != '"' {
				j++
			}
			dst = append(dst, src[i:j]...)
			i = j
		}
	}
	return dst
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// appendString writes the contents s of a valid JSON string, with quotes, in
// JSON.stringify's canonical escaping.
func appendString(dst, s []byte) []byte {
	dst = append(dst, '"')
	if bytes.IndexByte(s, '\\') < 0 {
		dst = append(dst, s...)
		return append(dst, '"')
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch e := s[i+1]; e {
		case '"', '\\':
			dst = append(dst, '\\', e)
			i += 2
		case '/':
			dst = append(dst, '/')
			i += 2
		case 'b', 'f', 'n', 'r', 't':
			dst = append(dst, '\\', e)
			i += 2
		case 'u':
			r := hex4(s[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				if r < 0xdc00 && i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2 := hex4(s[i+2 : i+6]); 0xdc00 <= r2 && r2 <= 0xdfff {
						dst = utf8.AppendRune(dst, utf16.DecodeRune(r, r2))
						i += 6
						continue
					}
				}
				dst = appendUnicodeEscape(dst, r) // a lone surrogate stays escaped
				continue
			}
			dst = appendRuneCanonical(dst, r)
		}
	}
	return append(dst, '"')
}

func appendRuneCanonical(dst []byte, r rune) []byte {
	switch r {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	if r < 0x20 {
		return appendUnicodeEscape(dst, r)
	}
	return utf8.AppendRune(dst, r)
}

func appendUnicodeEscape(dst []byte, r rune) []byte {
	const lowerhex = "0123456789abcdef"
	return append(dst, '\\', 'u', lowerhex[r>>12&15], lowerhex[r>>8&15], lowerhex[r>>4&15], lowerhex[r&15])
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

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
		k, err := x509.ParsePKCS1PrivateKey(der)
		if err != nil {
			return nil, errors.New("snapauth: private key: PEM block \"RSA PRIVATE KEY\" is not valid PKCS#1 DER")
		}
		return k, nil
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
		if pub, err = x509.ParsePKIXPublicKey(der); err != nil {
			return nil, errors.New("snapauth: public key: PEM block \"PUBLIC KEY\" is not valid PKIX DER")
		}
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(der)
		if err != nil {
			return nil, errors.New("snapauth: public key: PEM block \"RSA PUBLIC KEY\" is not valid PKCS#1 DER")
		}
		return k, nil
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, errors.New("snapauth: public key: PEM block \"CERTIFICATE\" is not a valid X.509 certificate")
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
