package faulttest

// This file is the suite's oracle: a strict SNAP provider that shares no
// code with snapauth, on purpose, and must stay so. It recomputes every
// signature from the received bytes with crypto/rsa and crypto/hmac alone
// (its own string to sign, its own minification by json.Compact), and
// imports nothing of snapauth but internal/testkey for the test key pair.
// snaptest, by contrast, verifies with snapauth's own signer functions, so a
// bug there (a wrong string to sign, a minifier that changes the body) would
// pass snaptest and snapauth's tests alike; it cannot pass this provider.
// Do not replace its checks with calls to snapauth or snaptest, however
// alike the code looks; helpers shared within faulttest are fine.

import (
	"bytes"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth/internal/testkey"
)

// clock is a test clock: the real time shifted by an offset the test moves
// forward, so that tokens expire at points the test chooses.
type clock struct{ off atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) Advance(d time.Duration) { c.off.Add(int64(d)) }

const (
	b2bPath     = "/v1.0/access-token/b2b"
	b2b2cPath   = "/v1.0/access-token/b2b2c"
	servicePath = "/v1.0/transfer-va/inquiry"
	tsLayout    = "2006-01-02T15:04:05-07:00"
)

// provider is a strict SNAP provider written for this suite, independent of
// snapauth's own code (see the top of this file): it recomputes every signature from the bytes it
// received with crypto/rsa and crypto/hmac, checks the timestamp skew, and
// treats refresh tokens as rotating and single use. It counts what it saw.
type provider struct {
	srv *httptest.Server

	clientKey, clientSecret, partnerID, channelID string
	pub                                           *rsa.PublicKey
	now                                           func() time.Time
	skew                                          time.Duration
	lifetime                                      time.Duration
	// grace makes a spent refresh token, presented again, get the very
	// answer it got the first time (providers with a refresh-token reuse
	// interval behave so); without it a spent refresh token is refused.
	grace bool

	mu          sync.Mutex
	b2b         map[string]time.Time // access token -> expiry
	customer    map[string]time.Time // customer access token -> expiry
	refresh     map[string]bool      // refresh tokens that are valid now
	spent       map[string][]byte    // spent refresh token -> the answer it got
	authCodes   map[string]bool
	externalIDs map[string]bool

	b2bIssued      atomic.Int64 // B2B tokens issued
	refreshes      atomic.Int64 // refresh requests that reached the handler, signed correctly
	refreshIssued  atomic.Int64 // refreshes answered with a token (replays included)
	sigRejected    atomic.Int64 // requests refused for their signature
	dupExternalIDs atomic.Int64
	tokenRejected  atomic.Int64 // service requests refused for their token
	served         atomic.Int64 // service requests answered 200
}

func newProvider(t testing.TB, now func() time.Time) *provider {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	p := &provider{
		clientKey:    "faulttest-client",
		clientSecret: "s3cr3t-" + randomText(24),
		partnerID:    "PARTNER01",
		channelID:    "95221",
		pub:          &testkey.RSA(t).PublicKey,
		now:          now,
		skew:         5 * time.Minute,
		lifetime:     900 * time.Second,
		b2b:          map[string]time.Time{},
		customer:     map[string]time.Time{},
		refresh:      map[string]bool{},
		spent:        map[string][]byte{},
		authCodes:    map[string]bool{},
		externalIDs:  map[string]bool{},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serveHTTP))
	t.Cleanup(p.srv.Close)
	return p
}

func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newAuthCode registers an authorization code, as the account-binding page
// would issue.
func (p *provider) newAuthCode() string {
	c := "AC" + randomText(24)
	p.mu.Lock()
	p.authCodes[c] = true
	p.mu.Unlock()
	return c
}

// refreshValid reports whether the provider would accept rt now.
func (p *provider) refreshValid(rt string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refresh[rt] || (p.grace && p.spent[rt] != nil)
}

func (p *provider) addr() string { return strings.TrimPrefix(p.srv.URL, "http://") }

func writeSNAP(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"responseCode": code, "responseMessage": msg})
}

func (p *provider) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return // the client is gone
	}
	switch r.URL.Path {
	case b2bPath:
		p.serveToken(w, r, body, "73")
	case b2b2cPath:
		p.serveToken(w, r, body, "74")
	default:
		p.serveService(w, r, body)
	}
}

// timestamp returns the request's X-TIMESTAMP if it is in the standard
// layout and within the skew of the provider's clock; otherwise it answers
// 401 (service svc) and returns false.
func (p *provider) timestamp(w http.ResponseWriter, r *http.Request, svc string) (string, bool) {
	ts := r.Header.Get("X-TIMESTAMP")
	t, err := time.Parse(tsLayout, ts)
	if d := p.now().Sub(t); err != nil || len(ts) != len(tsLayout) || d > p.skew || d < -p.skew {
		writeSNAP(w, 401, "401"+svc+"00", "Unauthorized. [Timestamp]")
		return "", false
	}
	return ts, true
}

func (p *provider) serveToken(w http.ResponseWriter, r *http.Request, body []byte, svc string) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeSNAP(w, 400, "400"+svc+"01", "Invalid Field Format")
		return
	}
	ts, ok := p.timestamp(w, r, svc)
	if !ok {
		return
	}
	if r.Header.Get("X-CLIENT-KEY") != p.clientKey {
		writeSNAP(w, 401, "401"+svc+"00", "Unauthorized. [Unknown client]")
		return
	}
	sig, err := base64.StdEncoding.DecodeString(r.Header.Get("X-SIGNATURE"))
	sum := sha256.Sum256([]byte(p.clientKey + "|" + ts))
	if err != nil || rsa.VerifyPKCS1v15(p.pub, crypto.SHA256, sum[:], sig) != nil {
		p.sigRejected.Add(1)
		writeSNAP(w, 401, "401"+svc+"00", "Unauthorized. [Signature]")
		return
	}
	var req struct {
		GrantType    string  `json:"grantType"`
		AuthCode     *string `json:"authCode"`
		RefreshToken string  `json:"refreshToken"`
	}
	if json.Unmarshal(body, &req) != nil {
		writeSNAP(w, 400, "400"+svc+"00", "Bad Request")
		return
	}
	now := p.now()
	switch {
	case svc == "73" && req.GrantType == "client_credentials":
		tok := randomText(192)
		p.mu.Lock()
		p.b2b[tok] = now.Add(p.lifetime)
		p.mu.Unlock()
		p.b2bIssued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"responseCode": "2007300", "responseMessage": "Successful", "accessToken": tok,
			"tokenType": "Bearer", "expiresIn": itoa(int(p.lifetime / time.Second)),
		})
	case svc == "74" && req.GrantType == "authorization_code" && req.AuthCode != nil:
		p.mu.Lock()
		ok := p.authCodes[*req.AuthCode]
		delete(p.authCodes, *req.AuthCode)
		var answer []byte
		if ok {
			answer = p.issueCustomerLocked(now)
		}
		p.mu.Unlock()
		if !ok {
			writeSNAP(w, 401, "4017401", "Invalid Token (B2B2C)")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	case svc == "74" && req.GrantType == "refresh_token" && req.RefreshToken != "":
		p.refreshes.Add(1)
		p.mu.Lock()
		var answer []byte
		switch {
		case p.refresh[req.RefreshToken]:
			delete(p.refresh, req.RefreshToken)
			answer = p.issueCustomerLocked(now)
			p.spent[req.RefreshToken] = answer
		case p.grace && p.spent[req.RefreshToken] != nil:
			answer = p.spent[req.RefreshToken]
		}
		p.mu.Unlock()
		if answer == nil {
			writeSNAP(w, 401, "4017401", "Invalid Token (B2B2C)")
			return
		}
		p.refreshIssued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	default:
		writeSNAP(w, 400, "400"+svc+"01", "Invalid Field Format [grantType]")
	}
}

// issueCustomerLocked issues a customer token and a new refresh token and
// returns the answer. p.mu is held.
func (p *provider) issueCustomerLocked(now time.Time) []byte {
	access, rt := randomText(192), randomText(600)
	exp := now.Add(p.lifetime)
	p.customer[access] = exp
	p.refresh[rt] = true
	jkt := time.FixedZone("WIB", 7*3600)
	b, _ := json.Marshal(map[string]string{
		"responseCode": "2007400", "responseMessage": "Successful", "accessToken": access,
		"tokenType": "Bearer", "accessTokenExpiryTime": exp.In(jkt).Format(time.RFC3339),
		"refreshToken": rt, "refreshTokenExpiryTime": now.Add(30 * 24 * time.Hour).In(jkt).Format(time.RFC3339),
	})
	return append(b, '\n')
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// serveService checks a service request the way a provider does: token,
// timestamp, partner, external id, and the symmetric signature recomputed
// from the received bytes.
func (p *provider) serveService(w http.ResponseWriter, r *http.Request, body []byte) {
	const svc = "47"
	now := p.now()
	access, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	exp, known := p.b2b[access]
	p.mu.Unlock()
	if !ok || !known || !now.Before(exp) {
		p.tokenRejected.Add(1)
		writeSNAP(w, 401, "401"+svc+"01", "Invalid Token (B2B)")
		return
	}
	if c := r.Header.Get("Authorization-Customer"); c != "" {
		ct, _ := strings.CutPrefix(c, "Bearer ")
		p.mu.Lock()
		cexp, known := p.customer[ct]
		p.mu.Unlock()
		if !known || !now.Before(cexp) {
			p.tokenRejected.Add(1)
			writeSNAP(w, 401, "401"+svc+"02", "Invalid Customer Token")
			return
		}
	}
	ts, ok := p.timestamp(w, r, svc)
	if !ok {
		return
	}
	if r.Header.Get("X-PARTNER-ID") != p.partnerID || r.Header.Get("CHANNEL-ID") != p.channelID {
		writeSNAP(w, 401, "401"+svc+"00", "Unauthorized. [X-PARTNER-ID]")
		return
	}
	var compact bytes.Buffer
	if len(body) > 0 {
		if err := json.Compact(&compact, body); err != nil {
			writeSNAP(w, 400, "400"+svc+"00", "Bad Request")
			return
		}
	}
	bodyHash := sha256.Sum256(compact.Bytes())
	msg := r.Method + ":" + r.URL.RequestURI() + ":" + access + ":" + hex.EncodeToString(bodyHash[:]) + ":" + ts
	mac := hmac.New(sha512.New, []byte(p.clientSecret))
	mac.Write([]byte(msg))
	got, err := base64.StdEncoding.DecodeString(r.Header.Get("X-SIGNATURE"))
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		p.sigRejected.Add(1)
		writeSNAP(w, 401, "401"+svc+"00", "Unauthorized. [Signature]")
		return
	}
	id := r.Header.Get("X-EXTERNAL-ID")
	p.mu.Lock()
	dup := p.externalIDs[id]
	p.externalIDs[id] = true
	p.mu.Unlock()
	if id == "" || dup {
		p.dupExternalIDs.Add(1)
		writeSNAP(w, 409, "409"+svc+"00", "Conflict")
		return
	}
	p.served.Add(1)
	writeSNAP(w, 200, "200"+svc+"00", "Successful")
}
