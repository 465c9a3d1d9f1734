package main

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/snapauth/snapauth"
)

const signUsage = `Usage:
	snapauth sign token --client-key K --private-key FILE [--timestamp T] [--verify SIG [--public-key FILE]]
	snapauth sign service --method M --url URL_OR_PATH --token T --client-secret S [--data JSON|@file] [--timestamp T] [--verify SIG]
	snapauth sign service --method M --url URL_OR_PATH --private-key FILE [--data JSON|@file] [--timestamp T] [--verify SIG]

Prints each input of a SNAP signature, the exact string that is signed, and
the signature, so that it can be compared byte for byte with what a provider
computed when it answers "Unauthorized. [Signature]".

sign token: the access-token signature, SHA256withRSA over
	clientKey|X-TIMESTAMP
sign service: the service signature. With --token, the symmetric form,
	HMAC-SHA512 keyed with the client secret over
	METHOD:EndpointUrl:AccessToken:lower(hex(sha256(minify(body)))):X-TIMESTAMP
	without --token, the asymmetric form, SHA256withRSA with the private key over
	METHOD:EndpointUrl:lower(hex(sha256(minify(body)))):X-TIMESTAMP

--verify SIG checks a signature (base64 or hex) against the string to sign;
give the X-TIMESTAMP that was sent with --timestamp. A token signature is
checked with --public-key (the signer's public key: a partner's when you are
the provider, a provider's on its callbacks), or with the public half of
--private-key. Exit status 1 when the signature does not match.
`

func runSign(_ context.Context, c *cli, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && isHelp(args[0]) {
			fmt.Fprint(c.stdout, signUsage)
			return errHelpShown
		}
		return usageErrorf("sign: say what to sign: 'snapauth sign token' or 'snapauth sign service' (see 'snapauth sign --help')")
	}
	switch args[0] {
	case "token":
		return signToken(c, args[1:])
	case "service":
		return signService(c, args[1:])
	}
	return usageErrorf("sign: unknown kind %q: want token or service (see 'snapauth sign --help')", args[0])
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// signFlags are the flags both kinds of signature share.
type signFlags struct {
	privateKey, publicKey, timestamp, verify, provider string
}

func (s *signFlags) register(f *flagSet) {
	f.fs.StringVar(&s.privateKey, "private-key", "", "`FILE` holding the RSA private key that signs (PEM or base64 DER)")
	f.fs.StringVar(&s.publicKey, "public-key", "", "`FILE` holding the RSA public key (PEM, certificate or base64 DER) to check --verify with")
	f.fs.StringVar(&s.timestamp, "timestamp", "", "the X-TIMESTAMP `T` to sign, exactly as sent (default now, in the provider's layout)")
	f.fs.StringVar(&s.verify, "verify", "", "a signature (`SIG`, base64 or hex) to check against the string to sign")
	f.fs.StringVar(&s.provider, "provider", "", "the provider's deviations, by `NAME`: "+providerNames()+" (default standard)")
}

// resolveTimestamp returns --timestamp, or now in the provider's layout. A
// check needs the timestamp that was sent, so --verify requires it.
func (s *signFlags) resolveTimestamp(f *flagSet, p snapauth.Provider, stderr io.Writer) (string, error) {
	if s.timestamp == "" {
		if s.verify != "" {
			return "", usageErrorf("%s: --verify needs --timestamp: the X-TIMESTAMP sent with the signature", f.cmd)
		}
		return p.Timestamp(time.Now()), nil
	}
	if _, err := snapauth.ParseTimestamp(s.timestamp); err != nil {
		fmt.Fprintf(stderr, "snapauth: note: %q is not in a SNAP X-TIMESTAMP layout (yyyy-MM-ddTHH:mm:ss±hh:mm); signing it as given\n", s.timestamp)
	}
	return s.timestamp, nil
}

// keys returns the keys of the asymmetric signature: --private-key, if
// given, signs, and with --verify the verifyKey checks.
func (s *signFlags) keys(f *flagSet) (priv *rsa.PrivateKey, pub *rsa.PublicKey, err error) {
	if s.privateKey != "" {
		if priv, err = f.privateKey("private-key", s.privateKey); err != nil {
			return nil, nil, err
		}
	}
	if s.verify != "" {
		if pub, err = s.verifyKey(f, priv); err != nil {
			return nil, nil, err
		}
	}
	return priv, pub, nil
}

// verifyKey returns the key that checks an asymmetric signature: --public-key,
// else the public half of the private key.
func (s *signFlags) verifyKey(f *flagSet, priv *rsa.PrivateKey) (*rsa.PublicKey, error) {
	if s.publicKey != "" {
		return f.publicKey("public-key", s.publicKey)
	}
	if priv != nil {
		return &priv.PublicKey, nil
	}
	return nil, usageErrorf("%s: --verify of an RSA signature needs --public-key (or --private-key)", f.cmd)
}

// printField writes one labelled line of sign's output.
func printField(w io.Writer, label, value string) {
	fmt.Fprintf(w, "%-16s %s\n", label+":", value)
}

// printAsymmetric signs sts with priv and prints the signature; cmd names
// the command in its error.
func printAsymmetric(c *cli, cmd string, priv *rsa.PrivateKey, sts string) error {
	sig, err := snapauth.SignAsymmetric(priv, sts)
	if err != nil {
		return failf("%s: %s", cmd, errText(err))
	}
	printField(c.stdout, "algorithm", "SHA256withRSA (RSASSA-PKCS1-v1_5, SHA-256), base64")
	printField(c.stdout, "signature", sig)
	return nil
}

// verdict prints the result of --verify and returns the command's error.
func verdict(c *cli, cmd string, err error, hint string) error {
	if err == nil {
		printField(c.stdout, "verify", "OK: the signature matches the string to sign")
		return nil
	}
	printField(c.stdout, "verify", "MISMATCH")
	return failf("%s: the signature does not match the string to sign; %s", cmd, hint)
}

func signToken(c *cli, args []string) error {
	f := newFlagSet("sign token", signUsage)
	var s signFlags
	var clientKey string
	f.fs.StringVar(&clientKey, "client-key", "", "the client `KEY` that was sent as X-CLIENT-KEY")
	s.register(f)
	if _, err := f.parseSecrets(args, c); err != nil {
		return err
	}
	if clientKey == "" {
		return usageErrorf("sign token: --client-key is required (or set SNAP_CLIENT_KEY)")
	}
	if s.privateKey == "" && (s.verify == "" || s.publicKey == "") {
		return usageErrorf("sign token: --private-key is required to sign (or set SNAP_PRIVATE_KEY); to only check a signature give --verify and --public-key")
	}
	p, err := f.provider(s.provider)
	if err != nil {
		return err
	}
	priv, pub, err := s.keys(f)
	if err != nil {
		return err
	}
	ts, err := s.resolveTimestamp(f, p, c.stderr)
	if err != nil {
		return err
	}

	sts := snapauth.TokenStringToSign(clientKey, ts)
	printField(c.stdout, "client key", clientKey)
	printField(c.stdout, "timestamp", ts)
	printField(c.stdout, "string to sign", sts)
	if priv != nil {
		if err := printAsymmetric(c, "sign token", priv, sts); err != nil {
			return err
		}
	}
	if s.verify == "" {
		return nil
	}
	return verdict(c, "sign token", snapauth.VerifyAsymmetric(pub, sts, s.verify),
		"check that X-CLIENT-KEY and X-TIMESTAMP are byte for byte the ones signed, and that the public key is the partner's current one")
}

func signService(c *cli, args []string) error {
	f := newFlagSet("sign service", signUsage)
	var s signFlags
	var method, rawURL, token, secret, data string
	f.fs.StringVar(&method, "method", "POST", "the HTTP `METHOD` of the request")
	f.fs.StringVar(&rawURL, "url", "", "the request's `URL`, or its path and query (/v1.0/...)")
	f.secretVar(&token, "token", "the B2B access `TOKEN` sent in Authorization (symmetric signature)")
	f.secretVar(&secret, "client-secret", "the client `SECRET` keying the symmetric HMAC-SHA512 signature")
	f.fs.StringVar(&data, "data", "", "the request body: `JSON`, or @file to read it from a file")
	s.register(f)
	if _, err := f.parseSecrets(args, c); err != nil {
		return err
	}
	if rawURL == "" {
		return usageErrorf("sign service: --url is required (or set SNAP_URL)")
	}
	if method == "" || strings.ContainsAny(method, " :/") {
		return usageErrorf("sign service: --method must be an HTTP method such as POST")
	}
	p, err := f.provider(s.provider)
	if err != nil {
		return err
	}
	endpoint, err := endpointURL(p, rawURL)
	if err != nil {
		return usageErrorf("sign service: --url: %s", err)
	}

	// The token decides the form: the symmetric string covers it, the
	// asymmetric one has no token segment.
	symmetric := token != ""
	switch {
	case symmetric && secret == "":
		return usageErrorf("sign service: --token means the symmetric signature, which needs --client-secret (or SNAP_CLIENT_SECRET); drop --token for the asymmetric one")
	case symmetric && f.cli["private-key"]:
		return usageErrorf("sign service: give --token with --client-secret (symmetric) or --private-key without --token (asymmetric), not both")
	case !symmetric && f.cli["client-secret"]:
		return usageErrorf("sign service: the symmetric signature covers the access token: give --token too")
	case !symmetric && s.privateKey == "" && !(s.verify != "" && s.publicKey != ""):
		return usageErrorf("sign service: give --token and --client-secret (symmetric signature) or --private-key (asymmetric)")
	}
	var priv *rsa.PrivateKey
	var pub *rsa.PublicKey
	if !symmetric {
		if priv, pub, err = s.keys(f); err != nil {
			return err
		}
	}
	body, err := f.body("data", data)
	if err != nil {
		return err
	}
	minified, err := snapauth.Minify(body)
	if err != nil {
		return usageErrorf("sign service: --data: %s", errText(err))
	}
	ts, err := s.resolveTimestamp(f, p, c.stderr)
	if err != nil {
		return err
	}
	sts, err := snapauth.ServiceStringToSign(method, endpoint, token, minified, ts)
	if err != nil {
		return usageErrorf("sign service: %s", errText(err))
	}
	sum := sha256.Sum256(minified)

	printField(c.stdout, "method", strings.ToUpper(method))
	printField(c.stdout, "endpoint url", endpoint)
	if symmetric {
		printField(c.stdout, "access token", token)
	}
	printField(c.stdout, "minified body", string(minified))
	printField(c.stdout, "body sha256", hex.EncodeToString(sum[:]))
	printField(c.stdout, "timestamp", ts)
	printField(c.stdout, "string to sign", sts)
	switch {
	case symmetric:
		printField(c.stdout, "algorithm", "HMAC-SHA512 keyed with the client secret, base64")
		printField(c.stdout, "signature", snapauth.SignSymmetric(secret, sts))
	case priv != nil:
		if err := printAsymmetric(c, "sign service", priv, sts); err != nil {
			return err
		}
	}
	if s.verify == "" {
		return nil
	}
	const hint = "compare the string to sign above with the provider's: the usual culprits are the body " +
		"(send exactly the minified bytes), the EndpointUrl (prefix, query string, --provider), the " +
		"X-TIMESTAMP, the access token, and the client secret or key"
	if symmetric {
		return verdict(c, "sign service", snapauth.VerifySymmetric(secret, sts, s.verify), hint)
	}
	return verdict(c, "sign service", snapauth.VerifyAsymmetric(pub, sts, s.verify), hint)
}

// endpointURL returns the EndpointUrl of the string to sign for an absolute
// URL or a path with its query.
func endpointURL(p snapauth.Provider, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", raw)
	}
	if u.IsAbs() {
		if u.Scheme != "http" && u.Scheme != "https" {
			return "", fmt.Errorf("%q: scheme must be http or https", raw)
		}
	} else if !strings.HasPrefix(raw, "/") {
		return "", fmt.Errorf("%q is neither an absolute URL nor a path starting with /", raw)
	}
	return p.EndpointURL(u), nil
}
