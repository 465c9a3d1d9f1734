package snapauth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// redirectError is a redirect snapauth refused to follow: to another host,
// or from https down to http. It is not temporary: the provider's answer
// will not change by itself.
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

// checkOrigin returns a *redirectError if a request for to, redirected from
// from, would leave from's origin: another host (name or port), or https
// down to http.
func checkOrigin(from, to *url.URL) error {
	if !strings.EqualFold(to.Host, from.Host) {
		return &redirectError{fmt.Sprintf("snapauth: refusing to follow a redirect from host %q to host %q", from.Host, to.Host)}
	}
	if strings.EqualFold(from.Scheme, "https") && !strings.EqualFold(to.Scheme, "https") {
		return &redirectError{"snapauth: refusing to follow a redirect from https to " + to.Scheme}
	}
	return nil
}

// checkRedirected refuses a request that net/http made by following a
// redirect (req.Response is the redirect) when it leaves the origin of the
// request redirected, so that a Transport in any http.Client, whatever its
// CheckRedirect, never signs or sends tokens to a host the caller did not
// name. A chain of redirects is checked hop by hop, so every hop stays on
// the first request's origin.
func checkRedirected(req *http.Request) error {
	if req.Response == nil || req.Response.Request == nil || req.Response.Request.URL == nil || req.URL == nil {
		return nil
	}
	return checkOrigin(req.Response.Request.URL, req.URL)
}

// tokenClient returns a copy of c for token requests, whose redirect policy
// refuses what would send the signed request or its body (refresh token,
// authorization code) elsewhere: another host, https down to http, and any
// redirect that turns the POST into a GET (a token endpoint never answers
// one; the signature headers would go along). Within that, c's own
// CheckRedirect (or net/http's limit of 10) applies.
func tokenClient(c *http.Client) *http.Client {
	cp := *c
	next := c.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := checkOrigin(via[len(via)-1].URL, req.URL); err != nil {
			return err
		}
		if req.Method != http.MethodPost {
			return &redirectError{fmt.Sprintf("snapauth: refusing to follow a %d redirect of the token request: it would be sent again as %s", req.Response.StatusCode, req.Method)}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("snapauth: stopped after 10 redirects")
		}
		return nil
	}
	return &cp
}
