// Package snaptest runs a strict SNAP provider in-process, for testing code
// that talks to Indonesian SNAP payment APIs, in the spirit of
// net/http/httptest.
//
// A Server listens on 127.0.0.1 and generates its partner's credentials (a
// client key, a client secret, an RSA key pair, a partner id and a channel
// id). It serves the B2B and B2B2C access-token endpoints, a sample family of
// service endpoints under /v1.0/, and the account-binding consent page
// (get-auth-code). Like a real provider it checks every mandatory header,
// the timestamp layout and skew, and recomputes every signature from the
// bytes it received; each failure is answered with the SNAP JSON error a
// provider would send, with the right 7-character responseCode.
//
// Knobs (Configure, FailTokenCalls, HTMLTokenCalls, RevokeAll...) let a test
// make the provider misbehave, and Stats and LastRequest let it see what the
// provider saw; WithInspector serves a page (InspectorURL) that lists each
// request with its verdict and, for a bad signature, the most likely cause.
// Knobs are functional options rather than a config struct (the root
// package's style) because a test turns them while the server runs
// (Configure) and most tests set none:
//
//	srv := snaptest.NewServer()
//	defer srv.Close()
//	cfg := &snapauth.B2BConfig{
//		TokenURL:   srv.B2BTokenURL(),
//		ClientKey:  srv.ClientKey,
//		PrivateKey: srv.PrivateKey,
//	}
//
// # Response codes
//
// The token endpoints use the service codes of the standard, 73 (B2B) and
// 74 (B2B2C); the account-binding call (BindingURL) uses 07; the sample
// service family uses ServiceCode ("47"). With xx the service code:
//
//	200xx00  success
//	400xx00  bad request: body is not JSON, or is too large
//	400xx01  invalid field format: Content-Type, X-TIMESTAMP layout or zone,
//	         X-EXTERNAL-ID (numeric, at most 36, or WithProvider's rule),
//	         CHANNEL-ID, grantType
//	400xx02  invalid mandatory field: a header or body field is missing
//	401xx00  Unauthorized. [Signature], [Unknown client], [Timestamp] (skew),
//	         [X-PARTNER-ID]
//	4017401  an authCode or refreshToken that is unknown, used, expired or revoked
//	401xx01  invalid access token (service)
//	401xx02  invalid customer token (service)
//	401xx03  access token missing (service)
//	401xx04  customer token missing (service)
//	404xx00  no such endpoint
//	405xx00  method not allowed
//	409xx00  X-EXTERNAL-ID already used today by this partner
package snaptest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// ServiceCode is the SNAP service code of the sample service family served
// under /v1.0/ (anything but the token and get-auth-code endpoints).
const ServiceCode = "47"

// Service codes of the token endpoints, from the SNAP standard.
const (
	// ServiceCodeB2B is the service code of access-token/b2b.
	ServiceCodeB2B = "73"
	// ServiceCodeB2B2C is the service code of access-token/b2b2c.
	ServiceCodeB2B2C = "74"
)

// Default values of the knobs.
const (
	// DefaultSkew is how far X-TIMESTAMP may be from the server's clock.
	DefaultSkew = 5 * time.Minute
	// DefaultTokenLifetime is the lifetime of access tokens (expiresIn 900).
	DefaultTokenLifetime = 900 * time.Second
	// DefaultRefreshLifetime is the lifetime of refresh tokens.
	DefaultRefreshLifetime = 30 * 24 * time.Hour
	// DefaultAuthCodeLifetime is how long an authorization code, or an open
	// consent page, stays valid.
	DefaultAuthCodeLifetime = 10 * time.Minute
	// DefaultChannelID is the CHANNEL-ID the server expects unless
	// WithCredentials says otherwise.
	DefaultChannelID = "95221"
)

const (
	defaultCustomerPathPrefix  = "/v1.0/customer/"
	maxBodyBytes               = 1 << 20
	refreshTokenRandomBytes    = 600 // 800 base64url characters, longer than the standard's 512
	accessTokenRandomBytes     = 192 // 256 characters
	authCodeRandomBytes        = 48  // 64 characters
	consentTicketRandomBytes   = 24
	maxStoredTokensBeforePrune = 4096
)

// Credentials are the partner's credentials as the provider registered
// them: what the partner would configure in its client. The provider keeps
// only the public half of PrivateKey.
type Credentials struct {
	// ClientKey is the partner's client id, sent as X-CLIENT-KEY.
	ClientKey string
	// ClientSecret keys the symmetric (HMAC-SHA512) service signature.
	ClientSecret string
	// PrivateKey is the partner's RSA key, which signs token requests and
	// asymmetric service requests. The server verifies with its public half.
	PrivateKey *rsa.PrivateKey
	// PartnerID is the partner's X-PARTNER-ID.
	PartnerID string
	// ChannelID is the partner's CHANNEL-ID.
	ChannelID string
}

// PrivateKeyPEM returns PrivateKey as PKCS#8 PEM ("PRIVATE KEY"), or nil
// when there is no key.
func (c Credentials) PrivateKeyPEM() []byte {
	if c.PrivateKey == nil {
		return nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// PublicKeyPEM returns the public half of PrivateKey as PKIX PEM
// ("PUBLIC KEY"), the form a partner uploads to a provider, or nil when there
// is no key.
func (c Credentials) PublicKeyPEM() []byte {
	if c.PrivateKey == nil {
		return nil
	}
	der, err := x509.MarshalPKIXPublicKey(&c.PrivateKey.PublicKey)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// String describes the credentials with the secret and the private key
// masked, so that printing them by mistake leaks nothing.
func (c Credentials) String() string {
	secret := ""
	if c.ClientSecret != "" {
		secret = "<redacted>"
	}
	key := "<nil>"
	if c.PrivateKey != nil {
		key = fmt.Sprintf("<redacted RSA-%d>", c.PrivateKey.N.BitLen())
	}
	return fmt.Sprintf("snaptest.Credentials{ClientKey: %q, ClientSecret: %q, PrivateKey: %s, PartnerID: %q, ChannelID: %q}",
		c.ClientKey, secret, key, c.PartnerID, c.ChannelID)
}

// GoString is String, so that %#v masks the secrets too.
func (c Credentials) GoString() string { return c.String() }

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
	keyErr  error
)

// partnerKey returns the process's partner RSA key, generated once: 2048-bit
// generation takes long enough to slow a test suite that starts many servers.
func partnerKey() *rsa.PrivateKey {
	keyOnce.Do(func() { key, keyErr = rsa.GenerateKey(rand.Reader, 2048) })
	if keyErr != nil {
		panic("snaptest: generating the partner RSA key: " + keyErr.Error())
	}
	return key
}

// randomString returns n random bytes as unpadded base64url.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Server is an in-process SNAP provider listening on 127.0.0.1. Create one
// with NewServer, or NewUnstartedServer and Start; Close it when done. All
// methods are safe for concurrent use once it is started.
type Server struct {
	// URL is the base URL of the server, "http://127.0.0.1:port" (plus the
	// path prefix, see WithPathPrefix), set by Start.
	URL string
	// Listener is where the server listens. NewUnstartedServer sets it to a
	// listener on 127.0.0.1 with a random port; replace it before Start to
	// listen elsewhere.
	Listener net.Listener
	// Credentials are the partner credentials the server accepts. They are
	// generated by NewUnstartedServer (or given with WithCredentials) and must
	// not be changed once the server is started.
	Credentials

	ts *httptest.Server

	mu      sync.Mutex
	cfg     config
	st      state
	stats   Stats
	last    *Record
	insp    inspectorLog // WithInspector
	closing chan struct{}
	closed  sync.Once
}

// NewServer starts and returns a new Server with the given options. The
// caller should call Close when finished, to shut it down.
func NewServer(opts ...Option) *Server {
	s := NewUnstartedServer(opts...)
	s.Start()
	return s
}

// NewUnstartedServer returns a new Server that is not started yet: change
// its Listener or Credentials, then call Start.
func NewUnstartedServer(opts ...Option) *Server {
	s := &Server{
		Credentials: Credentials{
			ClientKey:    "snaptest-" + randomHex(12),
			ClientSecret: randomString(32),
			PrivateKey:   partnerKey(),
			PartnerID:    "PARTNER" + randomHex(8),
			ChannelID:    DefaultChannelID,
		},
		cfg:     defaultConfig(),
		st:      newState(),
		stats:   newStats(),
		closing: make(chan struct{}),
	}
	for _, o := range opts {
		o(&s.cfg)
	}
	if c := s.cfg.credentials; c != nil {
		s.Credentials = mergeCredentials(s.Credentials, *c)
		s.cfg.credentials = nil
	}
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.Listener = s.ts.Listener
	return s
}

func mergeCredentials(base, over Credentials) Credentials {
	if over.ClientKey != "" {
		base.ClientKey = over.ClientKey
	}
	if over.ClientSecret != "" {
		base.ClientSecret = over.ClientSecret
	}
	if over.PrivateKey != nil {
		base.PrivateKey = over.PrivateKey
	}
	if over.PartnerID != "" {
		base.PartnerID = over.PartnerID
	}
	if over.ChannelID != "" {
		base.ChannelID = over.ChannelID
	}
	return base
}

// Start starts the server. It panics if the server was already started.
func (s *Server) Start() {
	if s.URL != "" {
		panic("snaptest: Server already started")
	}
	if s.Listener != s.ts.Listener {
		_ = s.ts.Listener.Close()
		s.ts.Listener = s.Listener
	}
	s.ts.Start()
	s.mu.Lock()
	s.URL = s.ts.URL + s.cfg.prefix
	s.mu.Unlock()
}

// Close shuts the server down: it ends pending delays and blocks until all
// outstanding requests have completed.
func (s *Server) Close() {
	s.closed.Do(func() { close(s.closing) })
	s.ts.Close()
}

// Client returns an HTTP client that talks to the server; its idle
// connections are closed by Close.
func (s *Server) Client() *http.Client {
	return s.ts.Client()
}

// String describes the server by its URL and client key, never its secrets.
func (s *Server) String() string {
	return fmt.Sprintf("snaptest.Server{URL: %q, ClientKey: %q}", s.URL, s.ClientKey)
}

// GoString is String, so that %#v shows no secret either.
func (s *Server) GoString() string { return s.String() }

// B2BTokenURL returns the URL of the B2B access-token endpoint.
func (s *Server) B2BTokenURL() string { return s.URL + "/v1.0/access-token/b2b" }

// B2B2CTokenURL returns the URL of the B2B2C access-token endpoint.
func (s *Server) B2B2CTokenURL() string { return s.URL + "/v1.0/access-token/b2b2c" }

// AuthURL returns the URL of the account-binding consent page
// (get-auth-code) without a query, for snapauth.B2B2CConfig.AuthURL.
func (s *Server) AuthURL() string { return s.URL + "/v1.0/get-auth-code" }

// AuthCodePageURL returns the URL of the account-binding consent page
// (get-auth-code) for the partner, with redirectURL, state and scopes as its
// query. Approving the page redirects the browser to redirectURL with
// authCode and state.
func (s *Server) AuthCodePageURL(redirectURL, state string, scopes ...string) string {
	return s.AuthURL() + "?" + consentQuery(s.PartnerID, redirectURL, state, scopes)
}

// ServiceURL returns the URL of path (such as "/v1.0/transfer-va/inquiry")
// on the server, with the server's path prefix.
func (s *Server) ServiceURL(path string) string { return s.URL + path }
