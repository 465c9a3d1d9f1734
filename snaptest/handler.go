package snaptest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/snapauth/snapauth"
)

// snapErr is a rejection: the HTTP status, the SNAP case code and message,
// and the reason counted in Stats.
type snapErr struct {
	status   int
	caseCode string
	msg      string
	reason   Reason
}

func badRequest(reason Reason, detail string) *snapErr {
	return &snapErr{http.StatusBadRequest, "00", "Bad Request. [" + detail + "]", reason}
}

func invalidFormat(reason Reason, field string) *snapErr {
	return &snapErr{http.StatusBadRequest, "01", "Invalid Field Format [" + field + "]", reason}
}

func missingField(reason Reason, field string) *snapErr {
	return &snapErr{http.StatusBadRequest, "02", "Invalid Mandatory Field [" + field + "]", reason}
}

func unauthorized(reason Reason, detail string) *snapErr {
	return &snapErr{http.StatusUnauthorized, "00", "Unauthorized. [" + detail + "]", reason}
}

// exchange is one request being handled.
type exchange struct {
	s       *Server
	w       http.ResponseWriter
	r       *http.Request
	cfg     config // a snapshot of the knobs
	creds   Credentials
	service string // SNAP service code of the endpoint
	body    []byte
	rec     *Record
	done    bool
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()

	path := r.URL.Path
	endpoint, service := EndpointNotFound, ServiceCode
	if rest, ok := strings.CutPrefix(path, cfg.prefix); ok && strings.HasPrefix(rest, "/") {
		endpoint, service = route(rest)
		path = rest
	}
	if cfg.inspector && s.serveInspector(w, r, path) {
		return
	}
	x := &exchange{
		s: s, w: w, r: r, cfg: cfg, creds: s.Credentials, service: service,
		rec: &Record{Endpoint: endpoint, Method: r.Method, RequestURI: r.RequestURI, Header: r.Header.Clone()},
	}
	s.mu.Lock()
	s.stats.Calls[endpoint]++
	s.mu.Unlock()

	if cfg.delay > 0 {
		t := time.NewTimer(cfg.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return // the client gave up; nobody reads an answer
		case <-s.closing:
			t.Stop()
		}
	}

	switch endpoint {
	case EndpointB2B, EndpointB2B2C:
		if x.injectedFault(&s.st.tokenFaults) {
			return
		}
	case EndpointService, EndpointBinding:
		if x.injectedFault(&s.st.svcFaults) {
			return
		}
	}

	switch endpoint {
	case EndpointAuthCode:
		x.serveConsent()
		return
	case EndpointNotFound:
		x.fail(&snapErr{http.StatusNotFound, "00", "Not Found", ReasonNotFound})
		return
	}
	if endpoint != EndpointService && r.Method != http.MethodPost {
		x.w.Header().Set("Allow", http.MethodPost)
		x.fail(&snapErr{http.StatusMethodNotAllowed, "00", "Requested Function Is Not Supported", ReasonMethod})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	x.body, x.rec.Body = body, body
	if err != nil {
		x.fail(badRequest(ReasonBody, "body too large or unreadable"))
		return
	}
	switch endpoint {
	case EndpointB2B:
		x.serveB2B()
	case EndpointB2B2C:
		x.serveB2B2C()
	case EndpointBinding:
		x.serveBinding(path)
	default:
		x.serveService(path)
	}
}

// route maps a path (without the server's prefix) to an endpoint and its
// SNAP service code.
func route(path string) (endpoint, service string) {
	switch path {
	case "/v1.0/access-token/b2b":
		return EndpointB2B, ServiceCodeB2B
	case "/v1.0/access-token/b2b2c", "/v1.0/access-token/b2b2c.htm": // DANA's SDK adds .htm
		return EndpointB2B2C, ServiceCodeB2B2C
	case "/v1.0/get-auth-code":
		return EndpointAuthCode, ""
	case "/v1.0/registration-account-binding":
		return EndpointBinding, ServiceCodeBinding
	}
	if strings.HasPrefix(path, "/v1.0/") {
		return EndpointService, ServiceCode
	}
	return EndpointNotFound, ServiceCode
}

// injectedFault answers with a failure queued by FailTokenCalls and the
// like, and reports whether it did.
func (x *exchange) injectedFault(q *[]injection) bool {
	x.s.mu.Lock()
	in, ok := nextFault(q)
	x.s.mu.Unlock()
	if !ok {
		return false
	}
	if in.status == http.StatusTooManyRequests || in.status == http.StatusServiceUnavailable {
		x.w.Header().Set("Retry-After", "1")
	}
	if in.html {
		x.rec.Status, x.rec.Reason = in.status, ReasonInjected
		x.w.Header().Set("Content-Type", "text/html; charset=utf-8")
		x.w.WriteHeader(in.status)
		text := strconv.Itoa(in.status) + " " + http.StatusText(in.status)
		_, _ = io.WriteString(x.w, "<html>\r\n<head><title>"+text+"</title></head>\r\n<body>\r\n<center><h1>"+
			text+"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
		x.finish()
		return true
	}
	e := &snapErr{status: in.status, caseCode: "00", msg: http.StatusText(in.status), reason: ReasonInjected}
	switch {
	case in.status == http.StatusInternalServerError:
		e.msg = "General Error"
	case in.status == http.StatusGatewayTimeout:
		e.msg = "Timeout"
	case e.msg == "":
		e.msg = "Error"
	}
	x.failCode(e, in.code)
	return true
}

// fail answers a SNAP error whose code is the status, the endpoint's service
// code and e's case code.
func (x *exchange) fail(e *snapErr) { x.failCode(e, "") }

func (x *exchange) failCode(e *snapErr, code string) {
	if code == "" {
		code = strconv.Itoa(e.status) + x.service + e.caseCode
	}
	x.rec.Reason = e.reason
	x.writeJSON(e.status, map[string]any{"responseCode": code, "responseMessage": e.msg})
}

// writeJSON answers v as JSON and records the answer.
func (x *exchange) writeJSON(status int, v map[string]any) {
	x.rec.Status = status
	x.rec.ResponseCode, _ = v["responseCode"].(string)
	x.rec.ResponseMessage, _ = v["responseMessage"].(string)
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"responseCode":"500` + x.service + `01","responseMessage":"Internal Server Error"}`)
		status = http.StatusInternalServerError
	}
	x.w.Header().Set("Content-Type", "application/json")
	x.w.WriteHeader(status)
	_, _ = x.w.Write(b)
	x.finish()
}

// finish records the request and counts a rejection.
func (x *exchange) finish() {
	if x.done {
		return
	}
	x.done = true
	x.s.mu.Lock()
	if x.rec.Reason != ReasonNone {
		x.s.stats.Rejections[x.rec.Reason]++
	}
	x.s.last = x.rec
	x.s.mu.Unlock()
	if x.cfg.inspector {
		x.inspect()
	}
	if x.cfg.observer != nil {
		rec := *x.rec
		rec.Header = rec.Header.Clone()
		x.cfg.observer(rec)
	}
}

// checkContentType requires Content-Type: application/json (parameters
// such as charset allowed).
func (x *exchange) checkContentType() *snapErr { return x.checkMediaType("application/json") }

// checkMediaType requires a Content-Type of media type want (parameters
// such as charset allowed).
func (x *exchange) checkMediaType(want string) *snapErr {
	ct := x.r.Header.Get("Content-Type")
	if ct == "" {
		return missingField(ReasonContentType, "Content-Type")
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != want {
		return invalidFormat(ReasonContentType, "Content-Type")
	}
	return nil
}

// checkHeadersPresent requires each of names to be present and non-empty.
func (x *exchange) checkHeadersPresent(names ...string) *snapErr {
	for _, h := range names {
		if strings.TrimSpace(x.r.Header.Get(h)) == "" {
			return missingField(ReasonMissingHeader, h)
		}
	}
	return nil
}

// parseTimestamp checks X-TIMESTAMP against the provider's layout, byte for
// byte, and zone when the provider fixes one.
func (x *exchange) parseTimestamp() (time.Time, *snapErr) {
	ts := x.r.Header.Get("X-TIMESTAMP")
	p := x.cfg.provider
	layout := p.TimestampLayout
	if layout == "" {
		layout = snapauth.TimestampLayout
	}
	t, err := time.Parse(layout, ts)
	if err != nil || t.Format(layout) != ts {
		return time.Time{}, invalidFormat(ReasonTimestampFormat, "X-TIMESTAMP")
	}
	if p.Location != nil {
		_, got := t.Zone()
		_, want := t.In(p.Location).Zone()
		if got != want {
			return time.Time{}, invalidFormat(ReasonTimestampFormat, "X-TIMESTAMP")
		}
	}
	return t, nil
}

func (x *exchange) checkSkew(t time.Time) *snapErr {
	d := x.cfg.now().Sub(t)
	if d < 0 {
		d = -d
	}
	if d > x.cfg.skew {
		return unauthorized(ReasonTimestampSkew, "Timestamp")
	}
	return nil
}

// serviceStringToSign recomputes the string to sign of a service request
// from what was received: the server's own re-serialisation of the body and
// the EndpointUrl per the provider.
func (x *exchange) serviceStringToSign(canonical []byte, accessToken string) string {
	endpoint := x.r.RequestURI
	if x.cfg.provider.EndpointForm != snapauth.EndpointAsSent || !strings.HasPrefix(endpoint, "/") {
		endpoint = x.cfg.provider.EndpointURL(x.r.URL)
	}
	x.rec.EndpointURL = endpoint
	sum := sha256.Sum256(canonical)
	parts := []string{strings.ToUpper(x.r.Method), endpoint}
	if accessToken != "" {
		parts = append(parts, accessToken)
	}
	parts = append(parts, hex.EncodeToString(sum[:]), x.r.Header.Get("X-TIMESTAMP"))
	return strings.Join(parts, ":")
}
