package snaptest_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ticketRE = regexp.MustCompile(`name="ticket" value="([^"]+)"`)

// noRedirects returns the server's client, changed to hand redirects back
// to the caller instead of following them.
func noRedirects(srv *snaptest.Server) *http.Client {
	c := *srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// openConsent GETs the consent page and returns the form's ticket.
func openConsent(t *testing.T, srv *snaptest.Server, pageURL string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, pageURL, nil)
	require.NoError(t, err)
	a := send(t, srv, req)
	page := a.raw
	require.Equal(t, http.StatusOK, a.status, string(page))
	assert.Equal(t, "text/html; charset=utf-8", a.header.Get("Content-Type"))
	assert.Contains(t, string(page), `id="approve"`)
	assert.Contains(t, string(page), `id="deny"`)
	m := ticketRE.FindSubmatch(page)
	require.NotNil(t, m, string(page))
	return string(m[1])
}

func decide(t *testing.T, srv *snaptest.Server, ticket, decision string) *http.Response {
	t.Helper()
	resp, err := noRedirects(srv).PostForm(srv.URL+"/v1.0/get-auth-code", url.Values{"ticket": {ticket}, "decision": {decision}})
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

func TestConsentApprove(t *testing.T) {
	srv := snaptest.NewServer()
	defer srv.Close()
	pageURL := srv.AuthCodePageURL("https://partner.example/callback?session=42", "st&ate 1", "PUBLIC_ID", "QUERY_BALANCE")
	ticket := openConsent(t, srv, pageURL)

	resp := decide(t, srv, ticket, "approve")
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "partner.example", loc.Host)
	assert.Equal(t, "/callback", loc.Path)
	q := loc.Query()
	assert.Equal(t, "st&ate 1", q.Get("state"))
	assert.Equal(t, "42", q.Get("session"), "the partner's own query is kept")
	code := q.Get("authCode")
	require.NotEmpty(t, code)

	a := exchangeCode(t, srv, code)
	assert.Equal(t, "2007400", a.code(), string(a.raw))
	assert.Equal(t, 1, srv.Stats().AuthCodes)

	// The page's ticket is single use.
	resp = decide(t, srv, ticket, "approve")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, 1, srv.Stats().Rejections[snaptest.ReasonConsent])
}

func TestConsentWithPrefix(t *testing.T) {
	srv := snaptest.NewServer(snaptest.WithPathPrefix("/snap"))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.AuthCodePageURL("https://p.example/cb", "s"))
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(page), `action="/snap/v1.0/get-auth-code"`)
	m := ticketRE.FindSubmatch(page)
	require.NotNil(t, m)
	resp = decide(t, srv, string(m[1]), "approve")
	assert.Equal(t, http.StatusFound, resp.StatusCode)
}

func TestConsentDeny(t *testing.T) {
	srv := snaptest.NewServer()
	defer srv.Close()
	ticket := openConsent(t, srv, srv.AuthCodePageURL("http://127.0.0.1:1/cb", "xyz"))
	resp := decide(t, srv, ticket, "deny")
	require.Equal(t, http.StatusFound, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "access_denied", loc.Query().Get("error"))
	assert.Equal(t, "xyz", loc.Query().Get("state"))
	assert.Empty(t, loc.Query().Get("authCode"))
	assert.Zero(t, srv.Stats().AuthCodes)
}

func TestConsentRejects(t *testing.T) {
	srv := snaptest.NewServer()
	defer srv.Close()
	page := func(partner, redirect string) string {
		q := url.Values{"partnerId": {partner}, "redirectUrl": {redirect}, "state": {"s"}}
		return srv.URL + "/v1.0/get-auth-code?" + q.Encode()
	}
	for name, u := range map[string]string{
		"unknown partner":       page("SOMEONE", "https://partner.example/cb"),
		"no partner":            page("", "https://partner.example/cb"),
		"relative redirect":     page(srv.PartnerID, "/cb"),
		"javascript redirect":   page(srv.PartnerID, "javascript:alert(1)"),
		"redirect without host": page(srv.PartnerID, "https:///cb"),
		"no redirect":           page(srv.PartnerID, ""),
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := srv.Client().Get(u)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.NotContains(t, string(body), `id="approve"`)
		})
	}
	for name, form := range map[string]url.Values{
		"made-up ticket": {"ticket": {"nope"}, "decision": {"approve"}},
		"no decision":    {"ticket": {openConsent(t, srv, srv.AuthCodePageURL("https://p.example/cb", "s"))}},
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := noRedirects(srv).PostForm(srv.URL+"/v1.0/get-auth-code", form)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		})
	}
	// The page escapes what it shows.
	resp, err := srv.Client().Get(srv.AuthCodePageURL("https://p.example/cb", "s", `<script>alert(1)</script>`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.False(t, strings.Contains(string(body), "<script>"), string(body))
}
