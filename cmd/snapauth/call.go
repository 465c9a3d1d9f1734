package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/hostcheck"
)

const callUsage = `Usage:
	snapauth call METHOD URL [--data JSON|@file] [--customer-token T] [--external-id ID]
		--token-url URL --client-key K --private-key FILE
		--client-secret S --partner-id P --channel-id C [--origin O]
		[--store DIR [--key K --b2b2c-token-url URL]] [--verbose] [--show-tokens] [--curl]

Makes one signed SNAP service call through snapauth.Transport: fetches a B2B
access token (or uses --token), minifies the body, adds Authorization,
X-TIMESTAMP, X-SIGNATURE (HMAC-SHA512 with the client secret), X-PARTNER-ID,
X-EXTERNAL-ID (a fresh one unless --external-id), CHANNEL-ID, ORIGIN, and
Authorization-Customer with --customer-token. Prints the HTTP status, the
SNAP responseCode and responseMessage explained, and the body, indented.

--verbose prints every request as sent (the token request too) with its
signature and the string that was signed in full, then the answer's status,
headers and time. Bearer tokens, auth codes and refresh tokens are masked:
--show-tokens prints them whole (the output then holds live credentials).

--curl signs the request but does not send it: it prints it as a curl
command line that replays it byte for byte, for a bank's support desk.
Run it within the provider's timestamp window (often 5 minutes), once
(X-EXTERNAL-ID is single use). Without --show-tokens its bearer tokens are
masked and it will not replay.

--store DIR caches the B2B token in DIR (a snapauth.FileStore). With --key K
the call acts for the customer whose token is stored under K (saved there by
'snapauth token b2b2c --store DIR --key K --auth-code CODE'): the token is
refreshed when due at --b2b2c-token-url, and the rotated refresh token is
saved before anything is printed.

On a terminal, stderr shows how long the provider has been silent.
Exit status 2 when the provider answers with a SNAP error (a non-2xx status
or a responseCode that is not a success).
`

// maxShownBody is the most of an answer call reads and prints.
const maxShownBody = 1 << 20

// callFlags are the flags of call.
type callFlags struct {
	tf                                                  tokenFlags
	sf                                                  storeFlags
	secret, partnerID, channelID, origin, data          string
	customerToken, externalID, staticToken, customerURL string
	asymmetric, verbose, showTokens, curl               bool
	headers                                             headerFlag
}

func (cf *callFlags) register(f *flagSet) {
	cf.tf.register(f, "access-token/b2b")
	f.secretVar(&cf.secret, "client-secret", "the client `SECRET` keying the HMAC-SHA512 service signature")
	f.fs.StringVar(&cf.partnerID, "partner-id", "", "the partner `ID`, sent as X-PARTNER-ID")
	f.fs.StringVar(&cf.channelID, "channel-id", "", "the channel `ID`, sent as CHANNEL-ID")
	f.fs.StringVar(&cf.origin, "origin", "", "the `ORIGIN` header to send (Finnet requires it)")
	f.fs.StringVar(&cf.data, "data", "", "the request body: `JSON`, or @file to read it from a file")
	f.secretVar(&cf.customerToken, "customer-token", "the customer's B2B2C access `TOKEN`, sent as Authorization-Customer")
	f.fs.StringVar(&cf.externalID, "external-id", "", "the X-EXTERNAL-ID `ID` to send (default a fresh unique one)")
	f.secretVar(&cf.staticToken, "token", "a B2B access `TOKEN` to use instead of fetching one from --token-url")
	f.fs.BoolVar(&cf.asymmetric, "asymmetric", false, "sign with SHA256withRSA and --private-key, without an access token")
	f.fs.BoolVar(&cf.verbose, "verbose", false, "print each request as sent, its signature and string to sign, and the answer's headers and time")
	f.fs.BoolVar(&cf.showTokens, "show-tokens", false, "print bearer tokens, auth codes and refresh tokens whole in --verbose and --curl output, instead of masked")
	f.fs.BoolVar(&cf.curl, "curl", false, "sign the request and print it as a curl command line instead of sending it")
	f.fs.Var(&cf.headers, "header", "an extra request header `NAME: VALUE` (repeatable), such as X-DEVICE-ID")
	cf.sf.register(f, "the store `KEY` of the customer's token, to call for that customer (with --store)")
	f.fs.StringVar(&cf.customerURL, "b2b2c-token-url", "", "full `URL` of the access-token/b2b2c endpoint, to refresh the stored customer token (default --token-url with b2b2c for b2b)")
}

func runCall(ctx context.Context, c *cli, args []string) error {
	f := newFlagSet("call", callUsage)
	var cf callFlags
	cf.register(f)
	pos, err := f.parseSecrets(args, c)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageErrorf("call: want METHOD and URL, as in 'snapauth call POST https://host/v1.0/... --data ...' (see 'snapauth call --help')")
	}
	method, rawURL := strings.ToUpper(pos[0]), pos[1]
	if !validMethod(method) {
		return usageErrorf("call: %q is not an HTTP method", pos[0])
	}
	u, err := url.Parse(rawURL)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return usageErrorf("call: URL %q must be an absolute http or https URL", rawURL)
	}
	if u.Scheme == "http" && !cf.tf.insecureHTTP && !hostcheck.IsLoopback(u.Hostname()) {
		return usageErrorf("call: URL %q uses plain http, which would send the access token in clear; use https, or --insecure-http for a test provider", rawURL)
	}
	if err := f.require("partner-id", cf.partnerID, "channel-id", cf.channelID); err != nil {
		return err
	}
	body, err := f.body("data", cf.data)
	if err != nil {
		return err
	}
	if _, err := snapauth.Minify(body); err != nil {
		return usageErrorf("call: --data: %s", errText(err))
	}
	st, err := cf.sf.open(f)
	if err != nil {
		return err
	}
	if cf.sf.key != "" && cf.customerToken != "" {
		return usageErrorf("call: give --customer-token or --key (a stored customer token), not both")
	}
	if cf.tf.timeout <= 0 {
		return usageErrorf("call: --timeout must be positive")
	}

	c.rec = newRecorder(nil)
	tr := &snapauth.Transport{PartnerID: cf.partnerID, ChannelID: cf.channelID, Origin: cf.origin, Base: c.rec}
	cf.tf.partnerID, cf.tf.channelID, cf.tf.origin = cf.partnerID, cf.channelID, cf.origin // for Provider.TokenHeaders
	if cf.curl {
		tr.Base = heldTransport{c.rec}
	}
	var tc *tokenConfig // the B2B token endpoint, when a token is fetched
	switch {
	case cf.asymmetric:
		if cf.tf.privateKey == "" {
			return usageErrorf("call: --asymmetric signs with --private-key, which is required (or set SNAP_PRIVATE_KEY)")
		}
		if tr.Provider, err = f.provider(cf.tf.provider); err != nil {
			return err
		}
		if tr.PrivateKey, err = f.privateKey("private-key", cf.tf.privateKey); err != nil {
			return err
		}
	case cf.secret == "":
		return usageErrorf("call: --client-secret is required (or set SNAP_CLIENT_SECRET); it keys the service signature")
	default:
		tr.ClientSecret = cf.secret
		if cf.staticToken != "" {
			if tr.Provider, err = f.provider(cf.tf.provider); err != nil {
				return err
			}
		} else {
			if tc, err = cf.tf.load(f); err != nil {
				return err
			}
			tr.Provider = tc.provider
		}
	}
	if cf.staticToken != "" {
		tr.Source = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: cf.staticToken})
	}
	var customer *snapauth.B2B2CConfig
	if cf.sf.key != "" {
		if customer, err = cf.customerConfig(f, tc); err != nil {
			return err
		}
	}

	ctx, cancel := cf.tf.withTimeout(ctx)
	defer cancel()
	stop := c.waiting(ctx, u.Host)
	defer stop()
	if tc != nil {
		// The token is fetched first, so that a refusal is told apart
		// from the service's by where it happened, not by its text.
		tc.client.Transport = c.rec
		src := b2bSource(ctx, cf.tf.b2b(tc), st)
		if _, err := src.Token(); err != nil {
			stop()
			c.showSent(cf.display(), tr.Provider, !cf.asymmetric, cf.verbose)
			return c.tokenError(&cf, "fetching the B2B access token", flowB2B, st, err)
		}
		tr.Source = src
	}
	switch {
	case customer != nil:
		customer.HTTPClient.Transport = c.rec
		src := customer.StoredTokenSource(ctx, st, cf.sf.key)
		if _, err := src.Token(); err != nil {
			stop()
			c.showSent(cf.display(), tr.Provider, !cf.asymmetric, cf.verbose)
			return c.tokenError(&cf, "renewing the stored customer token", flowRefresh, st, err)
		}
		ctx = snapauth.WithCustomerToken(ctx, src)
	case cf.customerToken != "":
		ctx = snapauth.WithCustomerToken(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: cf.customerToken}))
	}

	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return usageErrorf("call: %s", errText(err))
	}
	if len(body) == 0 {
		req.Body = nil
	}
	for _, h := range cf.headers {
		req.Header.Add(h.name, h.value)
	}
	if cf.externalID != "" {
		req.Header.Set("X-EXTERNAL-ID", cf.externalID)
	}
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		stop()
		c.showSent(cf.display(), tr.Provider, !cf.asymmetric, cf.verbose)
		return cf.tf.providerError("call", "sending the request", flowService, unwrapURLError(err))
	}
	defer resp.Body.Close()
	checked := snapauth.CheckResponse(resp)
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxShownBody))
	stop()
	c.showSent(cf.display(), tr.Provider, !cf.asymmetric, cf.verbose)
	if cf.curl {
		return c.printCurl(cf.display())
	}
	if err != nil {
		return failf("call: reading the answer: %s", errText(err))
	}
	return c.printAnswer(resp, checked, answer)
}

// display is what the flags ask printed requests to show whole.
func (cf *callFlags) display() display {
	return display{tokens: cf.showTokens, signatures: true}
}

// customerConfig is the B2B2C config that refreshes the stored customer
// token: the B2B token flags, at --b2b2c-token-url.
func (cf *callFlags) customerConfig(f *flagSet, tc *tokenConfig) (*snapauth.B2B2CConfig, error) {
	if tc == nil {
		return nil, usageErrorf("call: --key acts for a customer, which needs the B2B token flags (not --token or --asymmetric)")
	}
	b2b2c := *tc
	b2b2c.client = &http.Client{Timeout: cf.tf.timeout}
	b2b2c.tokenURL = cf.customerURL
	if b2b2c.tokenURL == "" {
		base, ok := strings.CutSuffix(tc.tokenURL, "/access-token/b2b")
		if !ok {
			return nil, usageErrorf("call: --key needs --b2b2c-token-url (or SNAP_B2B2C_TOKEN_URL): %s does not end in /access-token/b2b", f.source("token-url"))
		}
		b2b2c.tokenURL = base + "/access-token/b2b2c"
	}
	return cf.tf.b2b2c(&b2b2c), nil
}

// tokenError is the error of a token the call could not get. A token
// obtained but not saved is printed (the only copy) before the error.
func (c *cli) tokenError(cf *callFlags, doing string, fl flow, st *snapauth.FileStore, err error) error {
	var se *snapauth.StoreError
	if errors.As(err, &se) {
		if se.Token != nil {
			if perr := printToken(c, se.Token); perr != nil {
				return perr
			}
		}
		return saveFailed("call", st, se.Key, err)
	}
	return cf.tf.providerError("call", doing, fl, err)
}

// showSent prints, with --verbose, every request the recorder saw, for
// service requests the string that was signed, and each answer's head.
func (c *cli) showSent(d display, p snapauth.Provider, symmetric, verbose bool) {
	if !verbose || c.rec == nil {
		return
	}
	w := c.stdout
	c.rec.mu.Lock()
	sent := append([]*sentRequest(nil), c.rec.sent...)
	c.rec.mu.Unlock()
	for _, req := range sent {
		if req.Held {
			fmt.Fprintln(w, "> request signed, not sent (--curl):")
		} else {
			fmt.Fprintln(w, "> request sent:")
		}
		d.printRequest(w, "  ", req)
		if req.Header.Get("X-Client-Key") != "" {
			fmt.Fprintf(w, "  string signed: %s\n",
				snapauth.TokenStringToSign(req.Header.Get("X-Client-Key"), req.Header.Get("X-Timestamp")))
		} else if sts, shown, err := signedString(req, p, symmetric); err == nil {
			if d.tokens {
				shown = sts
			}
			fmt.Fprintf(w, "  string signed: %s\n", shown)
		}
		if !req.Held {
			printAnswerHead(w, "  ", req, c.redact)
		}
		fmt.Fprintln(w)
	}
}

// printAnswer prints a service answer and returns exit status 2 for a SNAP
// error answer. checked is snapauth.CheckResponse's verdict on it: the
// library, not the CLI, decides what is a success.
func (c *cli) printAnswer(resp *http.Response, checked error, answer []byte) error {
	fmt.Fprintf(c.stdout, "HTTP %s\n", c.redact(resp.Status))
	var apiErr *snapauth.Error
	failed := errors.As(checked, &apiErr)
	code, message := "", ""
	if failed {
		code, message = apiErr.ResponseCode, c.redact(apiErr.ResponseMessage)
	} else {
		// Shown only: success was decided above.
		var shown struct {
			ResponseCode    json.Number `json:"responseCode"`
			ResponseMessage string      `json:"responseMessage"`
		}
		if json.Unmarshal(answer, &shown) == nil {
			code, message = shown.ResponseCode.String(), c.redact(shown.ResponseMessage)
		}
	}
	if code != "" {
		printField(c.stdout, "responseCode", code+" ("+explainAnswer(code, message)+")")
	}
	if message != "" {
		printField(c.stdout, "responseMessage", message)
	}
	shownBody := c.redactBytes(answer)
	var pretty bytes.Buffer
	switch {
	case len(answer) == 0:
		fmt.Fprintln(c.stdout, "(empty body)")
	case json.Indent(&pretty, shownBody, "", "  ") == nil:
		pretty.WriteByte('\n')
		c.stdout.Write(pretty.Bytes())
	default:
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		fmt.Fprintf(c.stdout, "(body is not JSON, content type %q)\n%s\n", ct, shownBody)
	}
	if checked == nil {
		return nil
	}
	if !failed {
		return failf("call: %s", errText(checked))
	}
	return &exitError{code: 2, msg: "call: the provider answered with an error: " + explainError(apiErr, flowService)}
}

// validMethod reports whether m is an HTTP method token.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, r := range m {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// unwrapURLError drops the *url.Error wrapping of a client error, whose text
// repeats the method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// headerFlag collects repeated --header NAME: VALUE flags.
type headerFlag []struct{ name, value string }

func (h *headerFlag) String() string { return "" }

func (h *headerFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return errors.New("want NAME: VALUE")
	}
	*h = append(*h, struct{ name, value string }{name, strings.TrimSpace(value)})
	return nil
}
