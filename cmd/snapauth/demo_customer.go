package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
)

func (d *demo) stepAuthCode(ctx context.Context) error {
	state := rand.Text()
	pageURL, err := d.b2b2c.AuthCodeURL(state, nil)
	if err != nil {
		return err
	}
	// A browser would follow the redirect to the partner; the demo reads it.
	browser := &http.Client{
		Transport:     d.srv.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	d.show("consent URL (B2B2CConfig.AuthCodeURL): %s", shortenQuery(pageURL, "state"))

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
	if err != nil {
		return err
	}
	resp, err := browser.Do(req)
	if err != nil {
		return err
	}
	page, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the consent page answered HTTP %d", resp.StatusCode)
	}
	action, ticket := formAction.FindSubmatch(page), formTicket.FindSubmatch(page)
	if action == nil || ticket == nil {
		return errors.New("the consent page has no approval form")
	}
	heading := "the consent page"
	if h := pageHeading.FindSubmatch(page); h != nil {
		heading = fmt.Sprintf("%q", h[1])
	}
	d.show("GET the consent page: HTTP 200, the customer sees %s with Approve and Deny", heading)

	target, err := url.Parse(d.srv.URL)
	if err != nil {
		return err
	}
	target = target.ResolveReference(&url.URL{Path: string(action[1])})
	form := url.Values{"ticket": {string(ticket[1])}, "decision": {"approve"}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = browser.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil {
		return fmt.Errorf("approving answered HTTP %d without a redirect", resp.StatusCode)
	}
	d.show("POST Approve: HTTP 302 to %s", shortenQuery(loc.String(), "authCode", "state"))

	code, err := d.b2b2c.AuthCodeFromRedirect(loc, state)
	if err != nil {
		return err
	}
	d.authCode = code
	d.show("the redirect's state matches the one sent (B2B2CConfig.AuthCodeFromRedirect): auth code %s", mask(code))

	// A forged redirect, with another state, is refused.
	forged := *loc
	q := forged.Query()
	q.Set("state", rand.Text())
	forged.RawQuery = q.Encode()
	if _, err := d.b2b2c.AuthCodeFromRedirect(&forged, state); !errors.Is(err, snapauth.ErrStateMismatch) {
		return fmt.Errorf("a redirect with a forged state was not refused: %v", err)
	}
	d.show("a redirect with another state is refused (ErrStateMismatch): it could be forged")
	return nil
}

// explain prints how to read a SNAP responseCode, wrapped.
func (d *demo) explain(code, message string) {
	head, meaning := explainCodeParts(code, message)
	d.show("reading %s: %s", code, head)
	d.say(wrap("meaning: "+meaning, 88))
}

// wrap breaks text into lines of at most width characters at spaces.
func wrap(text string, width int) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(text) {
		if i > 0 && n+1+len(w) > width {
			b.WriteString("\n")
			n = 0
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

// shortenQuery masks the named query parameters of a URL for display.
func shortenQuery(raw string, names ...string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for _, n := range names {
		if v := q.Get(n); v != "" {
			q.Set(n, mask(v))
		}
	}
	u.RawQuery = q.Encode()
	s, err := url.QueryUnescape(u.String())
	if err != nil {
		return u.String()
	}
	return s
}

func (d *demo) stepExchange(ctx context.Context) error {
	tok, err := d.b2b2c.Exchange(ctx, d.authCode)
	d.showTokenRequests()
	if err != nil {
		return err
	}
	d.customer = tok
	d.show("customer access token %s, valid for %s", mask(tok.AccessToken), time.Until(tok.Expiry).Round(time.Second))
	d.show("refresh token         %s, expires %v", mask(tok.RefreshToken), tok.Extra("refreshTokenExpiryTime"))
	if tok.RefreshToken == "" {
		return errors.New("the answer has no refresh token")
	}

	d.rec.reset()
	_, err = d.b2b2c.Exchange(ctx, d.authCode)
	var apiErr *snapauth.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("exchanging the same auth code twice was not refused with a 401: %v", err)
	}
	d.show("the auth code is spent: exchanging it again is refused, %s %s", apiErr.ResponseCode, apiErr.ResponseMessage)
	return nil
}

func (d *demo) stepRefresh(ctx context.Context) error {
	old := d.customer
	tok, err := d.b2b2c.Refresh(ctx, old.RefreshToken)
	d.showTokenRequests()
	if err != nil {
		return err
	}
	d.show("old refresh token %s", mask(old.RefreshToken))
	d.show("new refresh token %s", mask(tok.RefreshToken))
	if tok.RefreshToken == "" || tok.RefreshToken == old.RefreshToken {
		return errors.New("the refresh token did not rotate")
	}
	if tok.AccessToken == old.AccessToken {
		return errors.New("the refresh gave the same access token")
	}
	d.show("they differ: the provider rotated it. New access token %s", mask(tok.AccessToken))
	d.customer = tok

	d.rec.reset()
	_, err = d.b2b2c.Refresh(ctx, old.RefreshToken)
	var apiErr *snapauth.Error
	if !errors.Is(err, snapauth.ErrReauthorize) || !errors.As(err, &apiErr) {
		return fmt.Errorf("reusing the old refresh token was not refused: %v", err)
	}
	d.show("the old refresh token is spent: reusing it is refused, %s %s", apiErr.ResponseCode, apiErr.ResponseMessage)
	d.show("(had the new one been lost, the customer would have to link the account again: ErrReauthorize)")
	return nil
}

func (d *demo) stepCustomerCall(ctx context.Context) error {
	ctx = snapauth.WithCustomerToken(ctx, oauth2.StaticTokenSource(d.customer))
	body := `{"partnerReferenceNo": "demo-balance-1", "balanceTypes": ["BALANCE"]}`
	ans, err := d.call(ctx, d.client, "/v1.0/customer/balance-inquiry", body, http.StatusOK, "2004700")
	if err != nil {
		return err
	}
	d.explain(ans.ResponseCode, ans.ResponseMessage)
	if ans.Echo == nil || ans.Echo.Customer == "" {
		return errors.New("the provider did not identify the customer")
	}
	d.show("the provider acted for %q, the customer who approved in step 3", ans.Echo.Customer)
	return nil
}

// tamperer changes the body of requests after they were signed, as a
// misbehaving proxy would, while it is on.
type tamperer struct {
	base     http.RoundTripper
	on       atomic.Bool
	from, to []byte
}

func (t *tamperer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || !t.on.Load() {
		return t.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	body = bytes.Replace(body, t.from, t.to, 1)
	r2 := req.Clone(req.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	return t.base.RoundTrip(r2)
}

func (d *demo) stepRejected(ctx context.Context) error {
	d.proxy.on.Store(true)
	defer d.proxy.on.Store(false)
	body := `{"partnerReferenceNo": "demo-transfer-1", "amount": {"value": "10000.00", "currency": "IDR"}}`
	if _, err := d.call(ctx, d.client, "/v1.0/transfer-intrabank", body, http.StatusUnauthorized, "4014700"); err != nil {
		return err
	}
	sent, got := d.rec.last(), d.srvLast()
	if sent == nil || got == nil {
		return errors.New("the request was not recorded")
	}
	d.show("body the partner signed:      %s", sent.Body)
	d.show("body the provider received:   %s", got.Body)
	_, token, _ := strings.Cut(sent.Header.Get("Authorization"), " ")
	hide := func(sts string) string {
		if token == "" {
			return sts
		}
		return strings.Replace(sts, ":"+token+":", ":"+mask(token)+":", 1)
	}
	sts, _, err := signedString(sent, snapauth.Standard, true)
	if err != nil {
		return err
	}
	d.show("string the partner signed:    %s", hide(sts))
	d.show("string the provider computed: %s", hide(got.StringToSign))
	if got.StringToSign == sts || bytes.Equal(got.Body, sent.Body) {
		return errors.New("the provider should have received another body than the one signed")
	}
	fmt.Fprintln(d.out)
	d.explain("4014700", "Unauthorized. [Signature]")
	fmt.Fprintln(d.out)
	d.say(`
		The provider hashed the body it received, so its string to sign has another body
		hash, and its HMAC differs from X-SIGNATURE. With a real provider, run
		  snapauth sign service --method POST --url /v1.0/... --token "$TOKEN" \
		    --client-secret "$SNAP_CLIENT_SECRET" --data @body.json \
		    --timestamp <the X-TIMESTAMP sent> --verify <the X-SIGNATURE sent>
		and compare its "string to sign" with the one the provider computed.`)
	return nil
}

// srvLast returns what the provider made of the last request it handled.
func (d *demo) srvLast() *snaptest.Record {
	r, ok := d.srv.LastRequest()
	if !ok {
		return nil
	}
	return &r
}
