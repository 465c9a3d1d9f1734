package snaptest

import (
	"net/http"
	"strconv"
	"time"
)

// Endpoint names, as counted in Stats.Calls and recorded in Record.Endpoint.
const (
	EndpointB2B      = "b2b"           // POST /v1.0/access-token/b2b
	EndpointB2B2C    = "b2b2c"         // POST /v1.0/access-token/b2b2c
	EndpointService  = "service"       // the sample service family, anything else under /v1.0/
	EndpointAuthCode = "get-auth-code" // the consent page, GET and POST /v1.0/get-auth-code
	EndpointNotFound = "not-found"     // any other path
)

// Reason says why the server rejected a request, as counted in
// Stats.Rejections and recorded in Record.Reason.
type Reason string

// Reasons for rejecting a request.
const (
	ReasonNone                 Reason = ""
	ReasonInjected             Reason = "injected"           // FailTokenCalls, FailServiceCalls or HTMLTokenCalls
	ReasonMethod               Reason = "method"             // wrong HTTP method
	ReasonNotFound             Reason = "not-found"          // no such endpoint
	ReasonContentType          Reason = "content-type"       // missing or not application/json
	ReasonMissingHeader        Reason = "missing-header"     // a mandatory header is absent
	ReasonTimestampFormat      Reason = "timestamp-format"   // X-TIMESTAMP not in the provider's layout or zone
	ReasonTimestampSkew        Reason = "timestamp-skew"     // X-TIMESTAMP too far from the server's clock
	ReasonUnknownClient        Reason = "unknown-client"     // X-CLIENT-KEY not registered
	ReasonSignature            Reason = "signature"          // X-SIGNATURE does not verify
	ReasonBody                 Reason = "body"               // body not JSON, too large, or a field missing or malformed
	ReasonGrantType            Reason = "grant-type"         // grantType missing, unknown or in the wrong casing
	ReasonAuthCode             Reason = "auth-code"          // authCode unknown, used or expired
	ReasonRefreshToken         Reason = "refresh-token"      // refreshToken unknown, expired or revoked
	ReasonRefreshReuse         Reason = "refresh-reuse"      // refreshToken already used once
	ReasonTokenMissing         Reason = "token-missing"      // no Authorization header
	ReasonTokenInvalid         Reason = "token-invalid"      // B2B token unknown, expired or revoked
	ReasonCustomerTokenMissing Reason = "customer-missing"   // no Authorization-Customer header
	ReasonCustomerTokenInvalid Reason = "customer-invalid"   // customer token unknown, expired or revoked
	ReasonPartnerID            Reason = "partner-id"         // X-PARTNER-ID is not the partner's
	ReasonChannelID            Reason = "channel-id"         // CHANNEL-ID malformed or not the partner's
	ReasonExternalIDFormat     Reason = "external-id-format" // X-EXTERNAL-ID not numeric or longer than 36
	ReasonExternalIDReused     Reason = "external-id-reused" // X-EXTERNAL-ID already used today
	ReasonConsent              Reason = "consent"            // bad get-auth-code parameters or consent ticket
)

// Stats counts what the server did since it started or since ResetStats.
type Stats struct {
	// Calls counts requests by endpoint (EndpointB2B, EndpointB2B2C,
	// EndpointService, EndpointAuthCode, EndpointNotFound).
	Calls map[string]int
	// Issued counts tokens issued by endpoint (EndpointB2B, EndpointB2B2C).
	Issued map[string]int
	// Rejections counts rejected requests by reason.
	Rejections map[Reason]int
	// AuthCodes counts authorization codes minted, by the consent page or
	// MintAuthCode.
	AuthCodes int
}

func newStats() Stats {
	return Stats{Calls: map[string]int{}, Issued: map[string]int{}, Rejections: map[Reason]int{}}
}

func (st Stats) clone() Stats {
	c := newStats()
	for k, v := range st.Calls {
		c.Calls[k] = v
	}
	for k, v := range st.Issued {
		c.Issued[k] = v
	}
	for k, v := range st.Rejections {
		c.Rejections[k] = v
	}
	c.AuthCodes = st.AuthCodes
	return c
}

// Record describes one request the server handled and what it made of it:
// enough to explain a rejected signature.
type Record struct {
	// Endpoint is the endpoint name (EndpointB2B...).
	Endpoint string
	// Method and RequestURI are as received.
	Method, RequestURI string
	// Header is a copy of the request headers, secrets included: it is
	// meant for the test that sent them.
	Header http.Header
	// Body is the request body as received.
	Body []byte
	// Canonical is the body as the server re-serialised it before hashing
	// it (service requests only).
	Canonical []byte
	// EndpointURL is the EndpointUrl the server used in the service string
	// to sign.
	EndpointURL string
	// StringToSign is the string the server verified X-SIGNATURE against,
	// or "" when the request was rejected before that.
	StringToSign string
	// SignatureMode is "asymmetric" or "symmetric" for the signature
	// checked, or "".
	SignatureMode string
	// Status, ResponseCode and ResponseMessage are what the server answered.
	Status          int
	ResponseCode    string
	ResponseMessage string
	// Reason is why the request was rejected, ReasonNone when it was not.
	Reason Reason
}

type tokenKind int

const (
	kindB2B tokenKind = iota + 1
	kindB2B2C
	kindRefresh
)

type tokenInfo struct {
	kind     tokenKind
	expiry   time.Time
	family   int // B2B2C access and refresh tokens: the authCode exchange they descend from
	customer string
	used     bool // refresh tokens: single use
}

type authCode struct {
	expiry   time.Time
	customer string
	scopes   string
}

type consentTicket struct {
	expiry      time.Time
	redirectURL string
	state       string
	scopes      string
}

type injection struct {
	n      int
	status int
	code   string // "" derives it from the status and the endpoint
	html   bool
}

type state struct {
	tokens      map[string]*tokenInfo
	codes       map[string]authCode
	usedCodes   map[string]bool
	tickets     map[string]consentTicket
	revoked     map[int]bool   // token families
	familyCodes map[int]string // token family -> the authCode it was bound with
	nextFamily  int
	nextCust    int
	externalDay string
	externalIDs map[string]bool // partner + "\x00" + id, for externalDay
	tokenFaults []injection
	svcFaults   []injection
}

func newState() state {
	return state{
		tokens:      map[string]*tokenInfo{},
		codes:       map[string]authCode{},
		usedCodes:   map[string]bool{},
		tickets:     map[string]consentTicket{},
		revoked:     map[int]bool{},
		familyCodes: map[int]string{},
		externalIDs: map[string]bool{},
	}
}

// Stats returns a copy of the server's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.clone()
}

// Count returns how many requests reached endpoint (EndpointB2B,
// EndpointB2B2C, EndpointService, EndpointAuthCode).
func (s *Server) Count(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.Calls[endpoint]
}

// ResetStats sets every counter back to zero.
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = newStats()
}

// LastRequest returns the record of the last request the server answered,
// and false when it has answered none.
func (s *Server) LastRequest() (Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return Record{}, false
	}
	r := *s.last
	r.Header = r.Header.Clone()
	return r, true
}

// FailTokenCalls makes the next n calls to the token endpoints (B2B and
// B2B2C together) fail with HTTP status and the SNAP responseCode code,
// before any check. An empty code is derived from the status and the
// endpoint's service code with case "00" (for example 5007300). A status of
// 429 or 503 also sends Retry-After: 1. Calls queue: the failures of a
// second call follow those of the first. n <= 0 clears the queue.
func (s *Server) FailTokenCalls(n, status int, code string) {
	s.queue(&s.st.tokenFaults, injection{n: n, status: status, code: code})
}

// FailServiceCalls is FailTokenCalls for the sample service family.
func (s *Server) FailServiceCalls(n, status int, code string) {
	s.queue(&s.st.svcFaults, injection{n: n, status: status, code: code})
}

// HTMLTokenCalls makes the next n calls to the token endpoints answer an
// HTML error page with HTTP status, as a gateway in front of a provider
// does. It shares FailTokenCalls's queue.
func (s *Server) HTMLTokenCalls(n, status int) {
	s.queue(&s.st.tokenFaults, injection{n: n, status: status, html: true})
}

func (s *Server) queue(q *[]injection, in injection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.n <= 0 {
		*q = nil
		return
	}
	*q = append(*q, in)
}

// nextFault pops one failure from q. It is called with s.mu held.
func nextFault(q *[]injection) (injection, bool) {
	if len(*q) == 0 {
		return injection{}, false
	}
	in := (*q)[0]
	(*q)[0].n--
	if (*q)[0].n == 0 {
		*q = (*q)[1:]
	}
	return in, true
}

// RevokeAll revokes every token the server issued: access tokens (B2B and
// B2B2C) and refresh tokens. Authorization codes not yet exchanged stay
// valid.
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.st.tokens)
}

// RevokeAccessTokens revokes every access token (B2B and B2B2C) but keeps
// refresh tokens valid, as when a provider rotates its signing keys: a
// client must fetch a new B2B token and refresh its customer tokens.
func (s *Server) RevokeAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok, info := range s.st.tokens {
		if info.kind != kindRefresh {
			delete(s.st.tokens, tok)
		}
	}
}

// MintAuthCode returns a new single-use authorization code, as the consent
// page issues on approval, for a new customer. Exchange it at the B2B2C
// token endpoint within DefaultAuthCodeLifetime.
func (s *Server) MintAuthCode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mintAuthCodeLocked("")
}

func (s *Server) mintAuthCodeLocked(scopes string) string {
	s.st.nextCust++
	code := randomString(authCodeRandomBytes)
	s.st.codes[code] = authCode{
		expiry:   s.cfg.now().Add(DefaultAuthCodeLifetime),
		customer: "customer-" + strconv.Itoa(s.st.nextCust),
		scopes:   scopes,
	}
	s.stats.AuthCodes++
	return code
}

// issueLocked stores a new token of kind and returns it. It is called with
// s.mu held.
func (s *Server) issueLocked(kind tokenKind, n int, lifetime time.Duration, family int, customer string) (string, time.Time) {
	now := s.cfg.now()
	if len(s.st.tokens) > maxStoredTokensBeforePrune {
		for tok, info := range s.st.tokens {
			if now.After(info.expiry) {
				delete(s.st.tokens, tok)
			}
		}
	}
	tok := randomString(n)
	exp := now.Add(lifetime)
	s.st.tokens[tok] = &tokenInfo{kind: kind, expiry: exp, family: family, customer: customer}
	return tok, exp
}

// liveTokenLocked returns the token's record if tok is a live token of kind.
func (s *Server) liveTokenLocked(tok string, kind tokenKind) (*tokenInfo, bool) {
	info, ok := s.st.tokens[tok]
	if !ok || info.kind != kind || !s.cfg.now().Before(info.expiry) || s.st.revoked[info.family] {
		return nil, false
	}
	return info, true
}
