package snaptest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/snapauth/snapauth/internal/bearer"
)

// InspectorPath is where a server made WithInspector serves its inspector
// page, after its path prefix; the page reads InspectorPath + "/requests.json".
const InspectorPath = "/_snaptest/inspector"

// inspectorKeep is how many requests the inspector remembers.
const inspectorKeep = 500

// WithInspector makes the server serve the inspector at InspectorURL: a page
// listing each request it received (method, path, headers with tokens
// masked, the body, the string to sign it computed), its verdict and the
// rule it broke, and for a signature that does not verify the most likely
// cause, found by checking the signature against the strings clients
// commonly sign by mistake. The page refreshes itself as requests arrive.
// It is off by default.
func WithInspector() Option {
	return func(c *config) { c.inspector = true }
}

// InspectorURL returns the URL of the inspector page, served when the
// server was made WithInspector (else it answers 404).
func (s *Server) InspectorURL() string { return s.URL + InspectorPath }

// Inspected is one request as the inspector shows it, in its JSON feed.
type Inspected struct {
	// Seq numbers the requests from 1, in the order they arrived; Time is
	// when the request arrived.
	Seq  int       `json:"seq"`
	Time time.Time `json:"time"`
	// Method, RequestURI and Endpoint (see Record.Endpoint) say what was
	// called.
	Method     string `json:"method"`
	RequestURI string `json:"requestUri"`
	Endpoint   string `json:"endpoint"`
	// Header holds the request's headers, sorted, tokens masked.
	Header [][2]string `json:"header"`
	// Body is the request body, with codes and tokens masked.
	Body string `json:"body,omitempty"`
	// StringToSign is the string the provider verified X-SIGNATURE against,
	// with the access token masked.
	StringToSign string `json:"stringToSign,omitempty"`
	// SignatureMode is "symmetric" or "asymmetric", or "" when no signature
	// was checked.
	SignatureMode string `json:"signatureMode,omitempty"`
	// Status, ResponseCode and Message are what the sandbox answered.
	Status       int    `json:"status"`
	ResponseCode string `json:"responseCode,omitempty"`
	Message      string `json:"responseMessage,omitempty"`
	// Verdict is "accepted" or "rejected".
	Verdict string `json:"verdict"`
	// Reason and Rule say why a request was rejected: the reason's class
	// and, in words, the header and rule it broke.
	Reason Reason `json:"reason,omitempty"`
	Rule   string `json:"rule,omitempty"`
	// Causes are the most likely causes of a signature that does not verify.
	Causes []string `json:"causes,omitempty"`
}

// inspectorLog keeps the requests the inspector shows.
type inspectorLog struct {
	mu   sync.Mutex
	seq  int
	reqs []Inspected
}

// inspect adds the finished exchange to the server's inspector log.
func (x *exchange) inspect() {
	h := x.r.Header
	in := Inspected{
		Time: x.cfg.now(), Method: x.r.Method, RequestURI: x.r.RequestURI, Endpoint: x.rec.Endpoint,
		Body: maskBodySecrets(string(x.rec.Body)), SignatureMode: x.rec.SignatureMode,
		Status: x.rec.Status, ResponseCode: x.rec.ResponseCode, Message: x.rec.ResponseMessage,
		Verdict: "accepted", Reason: x.rec.Reason,
	}
	if in.Status >= 400 || x.rec.Reason != ReasonNone {
		in.Verdict = "rejected"
		in.Rule = x.rule()
		in.Causes = x.causes()
	}
	for k, vs := range h {
		for _, v := range vs {
			in.Header = append(in.Header, [2]string{k, maskHeader(k, v)})
		}
	}
	slices.SortFunc(in.Header, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	in.StringToSign = x.rec.StringToSign
	if tok, ok := bearer.Token(h.Get("Authorization")); ok {
		in.StringToSign = strings.ReplaceAll(in.StringToSign, ":"+tok+":", ":"+maskToken(tok)+":")
	}
	l := &x.s.insp
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	in.Seq = l.seq
	l.reqs = append(l.reqs, in)
	if len(l.reqs) > inspectorKeep {
		l.reqs = slices.Delete(l.reqs, 0, len(l.reqs)-inspectorKeep)
	}
}

// Inspected returns the requests the inspector has recorded, oldest first.
func (s *Server) Inspected() []Inspected {
	s.insp.mu.Lock()
	defer s.insp.mu.Unlock()
	return slices.Clone(s.insp.reqs)
}

// serveInspector serves the inspector page and its feed, and reports
// whether path (after the prefix) was one of them.
func (s *Server) serveInspector(w http.ResponseWriter, r *http.Request, path string) bool {
	switch path {
	case InspectorPath:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(inspectorPage))
	case InspectorPath + "/requests.json":
		after, _ := strconv.Atoi(r.URL.Query().Get("after"))
		s.insp.mu.Lock()
		out := []Inspected{}
		for _, in := range s.insp.reqs {
			if in.Seq > after {
				out = append(out, in)
			}
		}
		s.insp.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(out)
	case "/favicon.ico": // the inspector's browser asks; it is not a SNAP request
		w.WriteHeader(http.StatusNoContent)
	default:
		return false
	}
	return true
}

// maskToken shortens a token to its first four characters and its length.
func maskToken(tok string) string {
	if len(tok) <= 12 {
		return "…(" + strconv.Itoa(len(tok)) + " chars)"
	}
	return tok[:4] + "…(" + strconv.Itoa(len(tok)) + " chars)"
}

// maskHeader masks the tokens of Authorization headers. X-SIGNATURE and
// X-CLIENT-KEY are not secrets; the client secret is never sent.
func maskHeader(name, v string) string {
	switch http.CanonicalHeaderKey(name) {
	case "Authorization", "Authorization-Customer":
		if scheme, tok, ok := strings.Cut(strings.TrimSpace(v), " "); ok {
			return scheme + " " + maskToken(strings.TrimSpace(tok))
		}
		return maskToken(v)
	}
	return v
}

var bodySecret = regexp.MustCompile(`("(?:authCode|refreshToken|accessToken|clientSecret)"\s*:\s*")([^"]*)(")`)

// maskBodySecrets masks the codes and tokens of token requests and answers.
func maskBodySecrets(body string) string {
	const max = 8 << 10
	if len(body) > max {
		body = body[:max] + "…(truncated)"
	}
	return bodySecret.ReplaceAllStringFunc(body, func(m string) string {
		sub := bodySecret.FindStringSubmatch(m)
		return sub[1] + maskToken(sub[2]) + sub[3]
	})
}
