package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
)

const demoUsage = `Usage:
	snapauth demo

Starts a sandbox SNAP provider inside this process and walks through the
whole story a partner lives through, printing each step, the headers sent
(tokens and signatures shortened, the client secret never shown) and the
strings that were signed:

	1. a B2B access token
	2. a signed service call
	3. account binding: a customer approves on the consent page, giving an auth code
	4. exchanging the auth code for a customer token
	5. refreshing the customer token (the refresh token rotates)
	6. a service call on behalf of the customer
	7. a rejected call, with its SNAP error explained
	8. the provider calls the partner, and snapauth verifies it

Exit status 0 when every step behaved as expected, else 1, naming the step.
No network, no keys and no bank account are needed.
`

// demoTimeout bounds the whole demo.
const demoTimeout = time.Minute

func runDemo(ctx context.Context, c *cli, args []string) error {
	f := newFlagSet("demo", demoUsage)
	pos, err := f.parse(args, c.env, c.stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("demo: unexpected argument %q (see 'snapauth demo --help')", pos[0])
	}
	ctx, cancel := context.WithTimeout(ctx, demoTimeout)
	defer cancel()

	srv := snaptest.NewServer()
	defer srv.Close()
	d := newDemo(c.stdout, srv)
	d.intro()
	steps := d.steps()
	for i, s := range steps {
		fmt.Fprintf(d.out, "\nStep %d of %d. %s\n", i+1, len(steps), s.title)
		d.say(s.about)
		d.rec.reset()
		if err := s.run(ctx); err != nil {
			fmt.Fprintf(d.out, "\n  FAILED: %s\n", errText(err))
			return failf("demo: step %d (%s) failed: %s", i+1, s.title, errText(err))
		}
		fmt.Fprintf(d.out, "  => step %d OK\n", i+1)
	}
	fmt.Fprintf(d.out, "\nAll %d steps behaved as expected.\n", len(steps))
	d.outro()
	return nil
}

// demo holds what the steps pass on to each other.
type demo struct {
	out   io.Writer
	srv   *snaptest.Server
	rec   *recorder // sees every request the partner sends, as signed
	proxy *tamperer // between the partner and the provider

	b2b       *snapauth.B2BConfig
	b2bSource oauth2.TokenSource
	tr        *snapauth.Transport
	client    *http.Client
	b2b2c     *snapauth.B2B2CConfig
	authCode  string
	customer  *oauth2.Token
}

func newDemo(out io.Writer, srv *snaptest.Server) *demo {
	proxy := &tamperer{base: srv.Client().Transport, from: []byte(`"value":"10000.00"`), to: []byte(`"value":"99999.00"`)}
	rec := newRecorder(proxy)
	httpClient := &http.Client{Transport: rec}
	d := &demo{out: out, srv: srv, rec: rec, proxy: proxy}
	d.b2b = &snapauth.B2BConfig{
		TokenURL:   srv.B2BTokenURL(),
		ClientKey:  srv.ClientKey,
		PrivateKey: srv.PrivateKey,
		HTTPClient: httpClient,
	}
	d.b2bSource = d.b2b.TokenSource(context.Background())
	d.tr = &snapauth.Transport{
		Base:         rec,
		Source:       d.b2bSource,
		ClientSecret: srv.ClientSecret,
		PartnerID:    srv.PartnerID,
		ChannelID:    srv.ChannelID,
	}
	d.client = &http.Client{Transport: d.tr}
	d.b2b2c = &snapauth.B2B2CConfig{
		TokenURL:    srv.B2B2CTokenURL(),
		ClientKey:   srv.ClientKey,
		PrivateKey:  srv.PrivateKey,
		HTTPClient:  httpClient,
		AuthURL:     srv.URL + "/v1.0/get-auth-code",
		PartnerID:   srv.PartnerID,
		RedirectURL: "https://partner.example/snap/callback",
		Scopes:      []string{"QUERY_BALANCE", "PAYMENT"},
	}
	return d
}

// say prints a paragraph of explanation, indented.
func (d *demo) say(text string) {
	for line := range strings.SplitSeq(strings.Trim(text, "\n"), "\n") {
		fmt.Fprintf(d.out, "  %s\n", strings.TrimRight(strings.TrimLeft(line, "\t"), " "))
	}
}

// show prints one indented line.
func (d *demo) show(format string, args ...any) {
	fmt.Fprintf(d.out, "  "+format+"\n", args...)
}

func (d *demo) intro() {
	fmt.Fprintln(d.out, "snapauth demo: the whole SNAP story against a sandbox provider running inside")
	fmt.Fprintln(d.out, "this process. No bank account or keys are needed: the sandbox made up a partner")
	fmt.Fprintln(d.out, "(us) and registered its credentials, as a bank does when you sign up.")
	fmt.Fprintln(d.out)
	fmt.Fprintf(d.out, "  provider       %s (snaptest, strict: it checks every header and signature)\n", d.srv.URL)
	fmt.Fprintf(d.out, "  client key     %s\n", d.srv.ClientKey)
	fmt.Fprintf(d.out, "  partner id     %s\n", d.srv.PartnerID)
	fmt.Fprintf(d.out, "  channel id     %s\n", d.srv.ChannelID)
	fmt.Fprintf(d.out, "  private key    RSA-%d, kept in memory (the provider holds the public half)\n", d.srv.PrivateKey.N.BitLen())
	fmt.Fprintln(d.out, "  client secret  (never shown)")
	fmt.Fprintln(d.out)
	fmt.Fprintln(d.out, "Tokens and signatures are shortened like eyJ0…(256 chars): enough to tell them apart.")
}

func (d *demo) outro() {
	fmt.Fprintln(d.out, `
Next:
  snapauth sandbox     serve this sandbox and try the other commands against it
  snapauth sign --help print the exact string to sign, to debug "Unauthorized. [Signature]"
  snapauth call --help make one signed call to any SNAP provider`)
}

type demoStep struct {
	title, about string
	run          func(ctx context.Context) error
}

func (d *demo) steps() []demoStep {
	return []demoStep{
		{"Fetch a B2B access token", `
			The partner proves who it is by signing "clientKey|X-TIMESTAMP" with its RSA
			private key (SHA256withRSA). The provider checks it with the partner's public
			key and answers with a short-lived access token (B2BConfig.TokenSource).`,
			d.stepB2BToken},
		{"Make a signed service call", `
			Every service request carries the B2B token and X-SIGNATURE: HMAC-SHA512, keyed
			with the client secret, over METHOD:EndpointUrl:AccessToken:sha256(body):X-TIMESTAMP.
			snapauth.Transport minifies the body, sends exactly the bytes it signed, and adds
			every SNAP header.`,
			d.stepServiceCall},
		{"Account binding: the customer approves, the partner gets an auth code", `
			To act for a customer (B2B2C), the partner sends the customer to the provider's
			consent page with an unguessable state. On "Approve" the provider redirects back
			to the partner with a single-use authCode and the same state.`,
			d.stepAuthCode},
		{"Exchange the auth code for a customer token", `
			The partner trades the auth code for the customer's access token and a refresh
			token at the B2B2C token endpoint, signed like step 1 (B2B2CConfig.Exchange).`,
			d.stepExchange},
		{"Refresh the customer token; the refresh token rotates", `
			Access tokens are short-lived. The refresh token renews them, and is single use:
			each answer carries a new one, which must be saved before anything else
			(B2B2CConfig.Refresh; StoredTokenSource does the saving).`,
			d.stepRefresh},
		{"Call a service on behalf of the customer", `
			A B2B2C call carries both tokens: Authorization (the partner's) and
			Authorization-Customer (the customer's), via snapauth.WithCustomerToken.`,
			d.stepCustomerCall},
		{"A rejected call: what Unauthorized. [Signature] looks like", `
			A proxy between the partner and the provider changes the amount in the body after
			it was signed. The provider recomputes the signature from the bytes it received,
			finds another one, and refuses with a SNAP error.`,
			d.stepRejected},
		d.receiveStep(),
	}
}

// showTokenRequests prints the token requests recorded in this step.
func (d *demo) showTokenRequests() {
	d.rec.mu.Lock()
	sent := append([]*sentRequest(nil), d.rec.sent...)
	d.rec.mu.Unlock()
	for _, req := range sent {
		if req.Header.Get("X-Client-Key") == "" {
			continue
		}
		shown := *req
		shown.Body = maskTokenBody(req.Body)
		fmt.Fprintln(d.out)
		printRequest(d.out, "  ", &shown)
		d.show("string signed: %s", snapauth.TokenStringToSign(req.Header.Get("X-Client-Key"), req.Header.Get("X-Timestamp")))
		d.show("answer: HTTP %d", req.Status)
	}
}

var tokenBodySecret = regexp.MustCompile(`"(authCode|refreshToken)":"([^"]*)"`)

// maskTokenBody masks the auth code and refresh token of a token request body.
func maskTokenBody(body []byte) []byte {
	return tokenBodySecret.ReplaceAllFunc(body, func(m []byte) []byte {
		sub := tokenBodySecret.FindSubmatch(m)
		return []byte(`"` + string(sub[1]) + `":"` + mask(string(sub[2])) + `"`)
	})
}

func (d *demo) stepB2BToken(ctx context.Context) error {
	tok, err := d.b2bSource.Token() // bounded by the config's FetchTimeout
	if err != nil {
		return err
	}
	d.showTokenRequests()
	d.show("got access token %s, type %s, valid for %s", mask(tok.AccessToken), tok.Type(), time.Until(tok.Expiry).Round(time.Second))
	if n := d.srv.Count(snaptest.EndpointB2B); n != 1 {
		return fmt.Errorf("the provider saw %d token requests, want 1", n)
	}
	return nil
}

// serviceAnswer is the part of a sample-service answer the demo reads.
type serviceAnswer struct {
	ResponseCode    string         `json:"responseCode"`
	ResponseMessage string         `json:"responseMessage"`
	Echo            *snaptest.Echo `json:"echo"`
}

// call sends one service request through client and prints it as sent,
// the string that was signed, and the answer. It fails unless the answer
// has wantStatus and wantCode.
func (d *demo) call(ctx context.Context, client *http.Client, path, body string, wantStatus int, wantCode string) (*serviceAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.srv.ServiceURL(path), strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxShownBody))
	if err != nil {
		return nil, err
	}
	d.show("body as the caller wrote it: %s", body)
	if sent := d.rec.last(); sent != nil {
		fmt.Fprintln(d.out)
		printRequest(d.out, "  ", sent)
		if _, display, err := signedString(sent, snapauth.Standard, true); err == nil {
			d.show("string signed: %s", display)
		}
	}
	var ans serviceAnswer
	if err := json.Unmarshal(raw, &ans); err != nil {
		return nil, fmt.Errorf("the answer is not SNAP JSON (HTTP %d)", resp.StatusCode)
	}
	fmt.Fprintln(d.out)
	d.show("answer: HTTP %d, responseCode %s, responseMessage %q", resp.StatusCode, ans.ResponseCode, ans.ResponseMessage)
	if resp.StatusCode != wantStatus || ans.ResponseCode != wantCode {
		return &ans, fmt.Errorf("want HTTP %d with responseCode %s, got HTTP %d with %s %s",
			wantStatus, wantCode, resp.StatusCode, ans.ResponseCode, ans.ResponseMessage)
	}
	return &ans, nil
}

func (d *demo) stepServiceCall(ctx context.Context) error {
	body := `{ "partnerServiceId": "   12345", "customerNo": "0812345678", "virtualAccountNo": "   123450812345678" }`
	ans, err := d.call(ctx, d.client, "/v1.0/transfer-va/inquiry", body, http.StatusOK, "2004700")
	if err != nil {
		return err
	}
	d.explain(ans.ResponseCode, ans.ResponseMessage)
	if ans.Echo != nil {
		d.show("the provider verified a %s signature over EndpointUrl %s", ans.Echo.SignatureMode, ans.Echo.EndpointURL)
	}
	if n := d.srv.Count(snaptest.EndpointB2B); n != 1 {
		return fmt.Errorf("the provider saw %d token requests, want the cached token reused", n)
	}
	d.show("the B2B token came from the source's cache: no second token request")
	return nil
}

var (
	formAction  = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	formTicket  = regexp.MustCompile(`name="ticket" value="([^"]*)"`)
	pageHeading = regexp.MustCompile(`<h1>([^<]*)</h1>`)
)
