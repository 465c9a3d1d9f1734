package snapauth

import (
	"context"
	"errors"
	"net/http"

	"golang.org/x/oauth2"
)

// Client returns an *http.Client that sends every request through a copy of
// t whose nil Source is c.TokenSource(ctx), so that one call wires B2B
// tokens, signatures and SNAP headers into a ready client, the way
// oauth2.Config.Client does. For a fleet, set t.Source to
// c.StoredTokenSource(ctx, store, key): the client keeps its protections. A
// nil t is a zero Transport. In the copy, empty ClientSecret, PartnerID,
// ChannelID and Origin are c.Partner's (see Partner), a nil Base is the
// Transport of c.Partner.HTTPClient, else of the *http.Client in ctx under
// oauth2.HTTPClient (else http.DefaultTransport), a zero Provider is
// c.Provider, else c.Partner's, and a nil Now is c.Now. The client also takes that
// context client's Timeout and Jar. Without ClientSecret or PrivateKey every
// request fails.
//
// The client refuses to follow a redirect to another host or from https to
// http, so that the SNAP headers and the access token never reach a server
// the caller did not name: such a redirect is an error.
func (c *B2BConfig) Client(ctx context.Context, t *Transport) *http.Client {
	var tr Transport
	if t != nil {
		tr = *t
	}
	if tr.Source == nil {
		tr.Source = c.TokenSource(ctx)
	}
	c.Partner.transport(&tr)
	if tr.Provider == (Provider{}) {
		tr.Provider = c.Partner.provider(c.Provider)
	}
	if tr.Now == nil {
		tr.Now = c.Now
	}
	client := &http.Client{Transport: &tr, CheckRedirect: sameOriginRedirect(nil)}
	if ctx != nil {
		if hc, ok := ctx.Value(oauth2.HTTPClient).(*http.Client); ok && hc != nil {
			if tr.Base == nil {
				tr.Base = hc.Transport
			}
			client.Timeout, client.Jar = hc.Timeout, hc.Jar
			client.CheckRedirect = sameOriginRedirect(hc.CheckRedirect)
		}
	}
	return client
}

// sameOriginRedirect returns a CheckRedirect policy that stops at a redirect
// to another host or from https to http, then applies next (nil: the
// http.Client default of at most 10 redirects).
func sameOriginRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if err := checkOrigin(via[0].URL, req.URL); err != nil {
			return err
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("snapauth: stopped after 10 redirects")
		}
		return nil
	}
}
