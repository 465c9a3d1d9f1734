package snaptest

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// consentQuery builds the query of a get-auth-code request.
func consentQuery(partnerID, redirectURL, state string, scopes []string) string {
	q := url.Values{}
	q.Set("partnerId", partnerID)
	q.Set("redirectUrl", redirectURL)
	q.Set("state", state)
	if len(scopes) > 0 {
		q.Set("scopes", strings.Join(scopes, ","))
	}
	return q.Encode()
}

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>snaptest: link your account</title></head>
<body>
<h1>Link your account</h1>
<p>The partner <b id="partner">{{.PartnerID}}</b> asks to link your account{{if .Scopes}} with the scopes <b id="scopes">{{.Scopes}}</b>{{end}}.</p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="ticket" value="{{.Ticket}}">
<button type="submit" id="approve" name="decision" value="approve">Approve</button>
<button type="submit" id="deny" name="decision" value="deny">Deny</button>
</form>
</body>
</html>
`))

var consentError = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>snaptest: cannot link your account</title></head>
<body>
<h1>Cannot link your account</h1>
<p id="error">{{.}}</p>
</body>
</html>
`))

// serveConsent serves the account-binding page: GET shows the consent
// form for a valid get-auth-code request, POST takes the customer's
// decision and redirects back to the partner.
func (x *exchange) serveConsent() {
	switch x.r.Method {
	case http.MethodGet, http.MethodHead:
		x.consentForm()
	case http.MethodPost:
		x.consentDecision()
	default:
		x.w.Header().Set("Allow", "GET, HEAD, POST")
		x.consentFail(http.StatusMethodNotAllowed, ReasonMethod, "method not allowed")
	}
}

func (x *exchange) consentFail(status int, reason Reason, msg string) {
	x.rec.Status, x.rec.Reason, x.rec.ResponseMessage = status, reason, msg
	x.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	x.w.WriteHeader(status)
	_ = consentError.Execute(x.w, msg)
	x.finish()
}

func (x *exchange) consentForm() {
	q := x.r.URL.Query()
	if q.Get("partnerId") != x.creds.PartnerID {
		x.consentFail(http.StatusBadRequest, ReasonConsent, "unknown partnerId")
		return
	}
	redirect := q.Get("redirectUrl")
	if u, err := url.Parse(redirect); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		x.consentFail(http.StatusBadRequest, ReasonConsent, "redirectUrl must be an absolute http or https URL")
		return
	}
	ticket := randomString(consentTicketRandomBytes)
	s := x.s
	s.mu.Lock()
	now := s.cfg.now()
	for t, c := range s.st.tickets { // drop abandoned pages
		if now.After(c.expiry) {
			delete(s.st.tickets, t)
		}
	}
	s.st.tickets[ticket] = consentTicket{
		expiry: now.Add(DefaultAuthCodeLifetime), redirectURL: redirect,
		state: q.Get("state"), scopes: q.Get("scopes"),
	}
	s.mu.Unlock()

	x.rec.Status = http.StatusOK
	x.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	x.w.Header().Set("Cache-Control", "no-store")
	_ = consentPage.Execute(x.w, map[string]string{
		"PartnerID": x.creds.PartnerID, "Scopes": q.Get("scopes"),
		"Action": x.cfg.prefix + "/v1.0/get-auth-code", "Ticket": ticket,
	})
	x.finish()
}

func (x *exchange) consentDecision() {
	if err := x.r.ParseForm(); err != nil {
		x.consentFail(http.StatusBadRequest, ReasonConsent, "malformed form")
		return
	}
	decision := x.r.PostForm.Get("decision")
	if decision != "approve" && decision != "deny" {
		x.consentFail(http.StatusBadRequest, ReasonConsent, "decision must be approve or deny")
		return
	}
	s := x.s
	s.mu.Lock()
	ticket, ok := s.st.tickets[x.r.PostForm.Get("ticket")]
	delete(s.st.tickets, x.r.PostForm.Get("ticket"))
	ok = ok && s.cfg.now().Before(ticket.expiry)
	var code string
	if ok && decision == "approve" {
		code = s.mintAuthCodeLocked(ticket.scopes)
	}
	s.mu.Unlock()
	if !ok {
		x.consentFail(http.StatusBadRequest, ReasonConsent, "this page expired or was already used; start again")
		return
	}
	u, _ := url.Parse(ticket.redirectURL) // checked when the ticket was made
	q := u.Query()
	if code != "" {
		q.Set("authCode", code)
	} else {
		q.Set("error", "access_denied")
	}
	q.Set("state", ticket.state)
	u.RawQuery = q.Encode()
	x.rec.Status = http.StatusFound
	x.w.Header().Set("Location", u.String())
	x.w.Header().Set("Cache-Control", "no-store")
	x.w.WriteHeader(http.StatusFound)
	x.finish()
}
