package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/snapauth/snapauth"
)

const callUsage = `Usage:
	snapauth call METHOD URL [--data JSON|@file] [--customer-token T] [--external-id ID]
		--token-url URL --client-key K --private-key FILE
		--client-secret S --partner-id P --channel-id C [--origin O]

Makes one signed SNAP service call through snapauth.Transport: fetches a B2B
access token (or uses --token), minifies the body, adds Authorization,
X-TIMESTAMP, X-SIGNATURE (HMAC-SHA512 with the client secret), X-PARTNER-ID,
X-EXTERNAL-ID (a fresh one unless --external-id), CHANNEL-ID, ORIGIN, and
Authorization-Customer with --customer-token. Prints the HTTP status, the
SNAP responseCode and responseMessage explained, and the body, indented.
--verbose also prints the request as sent (tokens and signatures masked) and
the string that was signed.

Exit status 2 when the provider answers with a SNAP error (a non-2xx status
or a responseCode that is not a success).
`

// maxShownBody is the most of an answer call reads and prints.
const maxShownBody = 1 << 20

func runCall(ctx context.Context, c *cli, args []string) error {
	f := newFlagSet("call", callUsage)
	var tf tokenFlags
	tf.register(f, "access-token/b2b")
	var secret, partnerID, channelID, origin, data, customerToken, externalID, staticToken string
	var asymmetric, verbose bool
	var headers headerFlag
	f.fs.StringVar(&secret, "client-secret", "", "the client `SECRET` keying the HMAC-SHA512 service signature")
	f.fs.StringVar(&partnerID, "partner-id", "", "the partner `ID`, sent as X-PARTNER-ID")
	f.fs.StringVar(&channelID, "channel-id", "", "the channel `ID`, sent as CHANNEL-ID")
	f.fs.StringVar(&origin, "origin", "", "the `ORIGIN` header to send (Finnet requires it)")
	f.fs.StringVar(&data, "data", "", "the request body: `JSON`, or @file to read it from a file")
	f.fs.StringVar(&customerToken, "customer-token", "", "the customer's B2B2C access `TOKEN`, sent as Authorization-Customer")
	f.fs.StringVar(&externalID, "external-id", "", "the X-EXTERNAL-ID `ID` to send (default a fresh unique one)")
	f.fs.StringVar(&staticToken, "token", "", "a B2B access `TOKEN` to use instead of fetching one from --token-url")
	f.fs.BoolVar(&asymmetric, "asymmetric", false, "sign with SHA256withRSA and --private-key, without an access token")
	f.fs.BoolVar(&verbose, "verbose", false, "print the request as sent (secrets masked) and the string that was signed")
	f.fs.Var(&headers, "header", "an extra request header `NAME: VALUE` (repeatable), such as X-DEVICE-ID")
	pos, err := f.parse(args, c.env, c.stdout)
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
	if u.Scheme == "http" && !tf.insecureHTTP && !isLoopbackHost(u.Hostname()) {
		return usageErrorf("call: URL %q uses plain http, which would send the access token in clear; use https, or --insecure-http for a test provider", rawURL)
	}
	if err := f.require("partner-id", partnerID, "channel-id", channelID); err != nil {
		return err
	}
	body, err := f.body("data", data)
	if err != nil {
		return err
	}
	if _, err := snapauth.Minify(body); err != nil {
		return usageErrorf("call: --data: %s", errText(err))
	}

	tr := &snapauth.Transport{PartnerID: partnerID, ChannelID: channelID, Origin: origin}
	if verbose {
		tr.Base = newRecorder(nil)
	}
	if asymmetric {
		if tf.privateKey == "" {
			return usageErrorf("call: --asymmetric signs with --private-key, which is required (or set SNAP_PRIVATE_KEY)")
		}
		p, err := f.provider(tf.provider)
		if err != nil {
			return err
		}
		key, err := f.privateKey("private-key", tf.privateKey)
		if err != nil {
			return err
		}
		tr.PrivateKey, tr.Provider = key, p
		if staticToken != "" {
			tr.Source = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: staticToken})
		}
	} else {
		if secret == "" {
			return usageErrorf("call: --client-secret is required (or set SNAP_CLIENT_SECRET); it keys the service signature")
		}
		tr.ClientSecret = secret
		if staticToken != "" {
			p, err := f.provider(tf.provider)
			if err != nil {
				return err
			}
			tr.Provider = p
			tr.Source = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: staticToken})
		} else {
			tc, err := tf.load(f)
			if err != nil {
				return err
			}
			cfg := tf.b2b(tc)
			cfg.PartnerID, cfg.ChannelID, cfg.Origin = partnerID, channelID, origin // for Provider.TokenHeaders
			tr.Provider = tc.provider
			if verbose {
				cfg.HTTPClient.Transport = tr.Base
			}
			tr.Source = cfg.TokenSource(ctx)
		}
	}
	if tf.timeout <= 0 {
		return usageErrorf("call: --timeout must be positive")
	}
	ctx, cancel := tf.withTimeout(ctx)
	defer cancel()
	if customerToken != "" {
		ctx = snapauth.WithCustomerToken(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: customerToken}))
	}

	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return usageErrorf("call: %s", errText(err))
	}
	if len(body) == 0 {
		req.Body = nil
	}
	for _, h := range headers {
		req.Header.Add(h.name, h.value)
	}
	if externalID != "" {
		req.Header.Set("X-EXTERNAL-ID", externalID)
	}
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if rec, ok := tr.Base.(*recorder); ok && verbose {
		showSent(c.stdout, rec, tr.Provider, !asymmetric)
	}
	if err != nil {
		doing := "sending the request"
		var apiErr *snapauth.Error
		if errors.As(err, &apiErr) && (apiErr.ServiceCode() == "73" || strings.Contains(err.Error(), "B2B access token")) {
			doing = "fetching the B2B access token"
		}
		return providerError("call", doing, unwrapURLError(err))
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxShownBody))
	if err != nil {
		return failf("call: reading the answer: %s", errText(err))
	}
	return printAnswer(c, resp, answer)
}

// showSent prints every request the recorder saw, and for service requests
// the string that was signed.
func showSent(w io.Writer, rec *recorder, p snapauth.Provider, symmetric bool) {
	rec.mu.Lock()
	sent := append([]*sentRequest(nil), rec.sent...)
	rec.mu.Unlock()
	for _, req := range sent {
		fmt.Fprintln(w, "> request sent:")
		printRequest(w, "  ", req)
		if req.Header.Get("X-Client-Key") != "" {
			fmt.Fprintf(w, "  string signed: %s\n",
				snapauth.TokenStringToSign(req.Header.Get("X-Client-Key"), req.Header.Get("X-Timestamp")))
		} else if _, display, err := signedString(req, p, symmetric); err == nil {
			fmt.Fprintf(w, "  string signed: %s\n", display)
		}
		fmt.Fprintln(w)
	}
}

// printAnswer prints a service answer and returns exit status 2 for a SNAP
// error answer.
func printAnswer(c *cli, resp *http.Response, answer []byte) error {
	fmt.Fprintf(c.stdout, "HTTP %s\n", resp.Status)
	code, message, isJSON := snapFields(answer)
	if code != "" {
		printField(c.stdout, "responseCode", code+" ("+explainAnswer(code, message)+")")
	}
	if message != "" {
		printField(c.stdout, "responseMessage", message)
	}
	switch {
	case len(answer) == 0:
		fmt.Fprintln(c.stdout, "(empty body)")
	case isJSON:
		var pretty bytes.Buffer
		if json.Indent(&pretty, answer, "", "  ") == nil {
			pretty.WriteByte('\n')
			c.stdout.Write(pretty.Bytes())
		}
	default:
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		fmt.Fprintf(c.stdout, "(body is not JSON, content type %q)\n%s\n", ct, answer)
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode <= 299 && (code == "" || strings.HasPrefix(code, "2"))
	if ok {
		return nil
	}
	msg := fmt.Sprintf("call: the provider answered with an error: HTTP %d", resp.StatusCode)
	if code != "" {
		msg += " " + code
	}
	if message != "" {
		msg += " " + message
	}
	if code != "" {
		msg += " (" + explainAnswer(code, message) + ")"
	}
	return &exitError{code: 2, msg: msg}
}

// snapFields reads responseCode (a string or a number) and responseMessage
// (or responseDescription) from a SNAP answer.
func snapFields(body []byte) (code, message string, isJSON bool) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&m) != nil {
		return "", "", json.Valid(body)
	}
	if raw, ok := m["responseCode"]; ok {
		var s string
		var n json.Number
		if json.Unmarshal(raw, &s) == nil {
			code = strings.TrimSpace(s)
		} else if json.Unmarshal(raw, &n) == nil {
			code = n.String()
		}
	}
	for _, k := range []string{"responseMessage", "responseDescription"} {
		if json.Unmarshal(m[k], &message) == nil && message != "" {
			break
		}
	}
	return code, message, true
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

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
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
