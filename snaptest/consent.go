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

// consentStyle is the consent pages' CSS: an e-wallet's web view on a
// phone, readable from 320 px up, no external assets.
const consentStyle = `<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
* { box-sizing: border-box; }
body { margin: 0; background: #eef1f6; color: #1b2331; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.bar { background: #0f5bd8; color: #fff; padding: 14px 20px; font-weight: 700; font-size: 17px; }
.card { background: #fff; max-width: 440px; margin: 0 auto; padding: 18px 20px 24px; min-height: calc(100vh - 52px); }
@media (min-width: 600px) { .card { margin: 32px auto; min-height: 0; border-radius: 14px; box-shadow: 0 2px 12px rgba(15,35,80,.12); } }
h1 { font-size: 22px; margin: 0 0 12px; }
.who { margin: 0 0 18px; }
.who b { font-size: 18px; }
.id { display: block; color: #5d6778; font-size: 13px; overflow-wrap: anywhere; }
h2 { font-size: 15px; margin: 18px 0 8px; color: #5d6778; font-weight: 600; }
ul { list-style: none; padding: 0; margin: 0; }
li { padding: 8px 12px; margin: 0 0 6px; background: #f4f7fc; border-radius: 10px; }
li small { display: block; color: #5d6778; font-size: 12px; }
.back { overflow-wrap: anywhere; background: #f4f7fc; border-radius: 10px; padding: 10px 12px; margin: 0; }
.back b { display: block; }
.back small { color: #5d6778; font-size: 12px; }
.actions { margin-top: 20px; display: flex; flex-direction: column; gap: 12px; }
button { font: inherit; font-weight: 700; width: 100%; min-height: 48px; border-radius: 12px; border: 0; cursor: pointer; }
#approve { background: #0f5bd8; color: #fff; }
#deny { background: #fff; color: #0f5bd8; border: 2px solid #0f5bd8; }
.note { color: #5d6778; font-size: 13px; margin-top: 18px; }
#error { background: #fdecee; color: #7a0019; border-radius: 10px; padding: 12px; }
</style>`

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>snaptest wallet: link your account</title>
` + consentStyle + `
</head>
<body>
<div class="bar">snaptest wallet</div>
<main class="card">
<h1>Link your account</h1>
<p class="who"><b id="partner">{{.PartnerName}}</b> wants to connect to your snaptest wallet account.
<span class="id">Partner ID {{.PartnerID}}</span></p>
{{if .Scopes}}<h2>It will be able to</h2>
<ul id="scopes">{{range .Scopes}}
<li>{{.Words}}<small>{{.Name}}</small></li>{{end}}
</ul>{{end}}
<h2>After you choose, you go back to</h2>
<p class="back" id="redirect"><b>{{.RedirectHost}}</b><small>{{.RedirectURL}}</small></p>
<form method="post" action="{{.Action}}">
<input type="hidden" name="ticket" value="{{.Ticket}}">
<div class="actions">
<button type="submit" id="approve" name="decision" value="approve">Approve</button>
<button type="submit" id="deny" name="decision" value="deny">Deny</button>
</div>
</form>
<p class="note">You can unlink {{.PartnerName}} at any time in your wallet's settings. This is a test provider: no real account is linked.</p>
</main>
</body>
</html>
`))

var consentError = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>snaptest wallet: cannot link your account</title>
` + consentStyle + `
</head>
<body>
<div class="bar">snaptest wallet</div>
<main class="card">
<h1>Cannot link your account</h1>
<p id="error">{{.}}</p>
</main>
</body>
</html>
`))

// scopeWords say in words what each consent scope lets the partner do.
var scopeWords = map[string]string{
	"QUERY_BALANCE":         "See your balance",
	"PUBLIC_ID":             "See your name and masked phone number",
	"DEFAULT_BASIC_PROFILE": "See your basic profile: name and avatar",
	"PAYMENT":               "Pay from your balance when you confirm a purchase",
	"AGREEMENT_PAY":         "Pay from your balance without asking you each time",
	"CASHIER":               "Open the wallet's payment page for you",
	"QUERY_TRANSACTION":     "See your transaction history",
	"TOPUP":                 "Top up your balance",
}

type consentScope struct{ Name, Words string }

// describeScopes turns the comma-separated scopes of a get-auth-code
// request into words, one per scope.
func describeScopes(scopes string) []consentScope {
	var out []consentScope
	for _, s := range strings.Split(scopes, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		words, ok := scopeWords[strings.ToUpper(s)]
		if !ok {
			words = "A permission named " + s + " (this wallet does not describe it)"
		}
		out = append(out, consentScope{Name: s, Words: words})
	}
	return out
}

// WithPartnerName sets the partner's display name that the consent page
// shows ("who is asking"). Empty means the partner id.
func WithPartnerName(name string) Option {
	return func(c *config) { c.partnerName = name }
}

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
	name := x.cfg.partnerName
	if name == "" {
		name = x.creds.PartnerID
	}
	back, _ := url.Parse(redirect) // checked above
	_ = consentPage.Execute(x.w, map[string]any{
		"PartnerName": name, "PartnerID": x.creds.PartnerID, "Scopes": describeScopes(q.Get("scopes")),
		"RedirectHost": back.Host, "RedirectURL": redirect,
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
