package snaptest

import (
	"errors"
	"strings"
	"time"

	"github.com/snapauth/snapauth"
)

// ServiceAuth says which service signature the sample service family
// expects.
type ServiceAuth int

const (
	// Symmetric requires Authorization: Bearer <B2B token> and the symmetric
	// HMAC-SHA512 signature; a request without the token is answered 401xx03.
	// It is the default.
	Symmetric ServiceAuth = iota
	// Asymmetric requires the asymmetric SHA256withRSA signature, whose
	// string to sign has no token segment ("without get token"); an
	// Authorization header is ignored.
	Asymmetric
	// EitherAuth verifies the symmetric signature when an Authorization header
	// is present and the asymmetric one when it is absent, as the standard's
	// "conditional" Authorization allows.
	EitherAuth
)

// String returns "symmetric", "asymmetric" or "either".
func (a ServiceAuth) String() string {
	switch a {
	case Asymmetric:
		return "asymmetric"
	case EitherAuth:
		return "either"
	}
	return "symmetric"
}

// Option changes a knob of a Server. Pass options to NewServer, or to
// Configure at any time.
type Option func(*config)

type config struct {
	provider        snapauth.Provider
	skew            time.Duration
	tokenLifetime   time.Duration
	refreshLifetime time.Duration
	expiresInNumber bool
	tokenType       string
	revokeOnReuse   bool
	delay           time.Duration
	now             func() time.Time
	serviceAuth     ServiceAuth
	customerPaths   []string
	observer        func(Record)
	prefix          string // construction only
	credentials     *Credentials
	inspector       bool   // WithInspector
	partnerName     string // WithPartnerName
}

func defaultConfig() config {
	return config{
		provider:        snapauth.Standard,
		skew:            DefaultSkew,
		tokenLifetime:   DefaultTokenLifetime,
		refreshLifetime: DefaultRefreshLifetime,
		tokenType:       "Bearer",
		now:             time.Now,
		customerPaths:   []string{defaultCustomerPathPrefix},
	}
}

// WithProvider makes the server expect the deviations of p and reject what
// p's provider rejects, with that provider's response codes: its
// X-TIMESTAMP layout (and zone, when p.Location is set), grant-type casing,
// EndpointUrl form in service signatures (a query signed where DANA signs
// the path alone is 401xx00), token body style and extra token headers,
// X-EXTERNAL-ID rule (a 33-digit id under Finnet is 400xx01), required
// service headers (ORIGIN under Finnet, 400xx02), and authCode on refresh
// (empty under Finnet: 4007402; another code than the binding's: 4017401,
// stricter than Finnet's page states). Answers follow p too: expiresIn as
// p.ExpiresIn says, expiry times in p.ExpiryLocation. The default is
// snapauth.Standard, which accepts any UTC offset.
func WithProvider(p snapauth.Provider) Option {
	return func(c *config) { c.provider = p }
}

// WithSkew sets how far X-TIMESTAMP may be from the server's clock, either
// way. Zero or negative means DefaultSkew (5 minutes).
func WithSkew(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			d = DefaultSkew
		}
		c.skew = d
	}
}

// WithTokenLifetime sets the lifetime of the access tokens the server issues
// from now on (B2B and B2B2C). Zero or negative means DefaultTokenLifetime
// (900 seconds).
func WithTokenLifetime(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			d = DefaultTokenLifetime
		}
		c.tokenLifetime = d
	}
}

// WithRefreshTokenLifetime sets the lifetime of the refresh tokens the
// server issues from now on. Zero or negative means DefaultRefreshLifetime
// (30 days).
func WithRefreshTokenLifetime(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			d = DefaultRefreshLifetime
		}
		c.refreshLifetime = d
	}
}

// WithExpiresInNumber makes B2B answers carry expiresIn as a JSON number
// (900), as Finnet, 2C2P and OneBrick send it, instead of the standard's
// string ("900").
func WithExpiresInNumber(number bool) Option {
	return func(c *config) { c.expiresInNumber = number }
}

// WithTokenType sets the tokenType of token answers ("Bearer", "bearer",
// "BearerToken" are all seen). Empty means "Bearer". The server accepts
// "Bearer" in any casing in Authorization headers whatever this says.
func WithTokenType(t string) Option {
	return func(c *config) {
		if t == "" {
			t = "Bearer"
		}
		c.tokenType = t
	}
}

// WithRevokeOnRefreshReuse makes the reuse of a refresh token that was
// already used revoke the whole family: every access and refresh token
// descended from the same authCode, as providers that detect replay do.
// Without it (the default) only the reused token is rejected.
func WithRevokeOnRefreshReuse(revoke bool) Option {
	return func(c *config) { c.revokeOnReuse = revoke }
}

// WithDelay makes every endpoint wait d before answering. The wait ends
// early when the client gives up or the server closes. Zero means no delay.
func WithDelay(d time.Duration) Option {
	return func(c *config) { c.delay = max(d, 0) }
}

// WithClock sets the server's clock, used for timestamp skew, token expiry
// and the day of X-EXTERNAL-ID uniqueness. Nil means time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			now = time.Now
		}
		c.now = now
	}
}

// WithServiceAuth sets which service signature the sample service family
// expects; the default is Symmetric. Paths that need a customer token always
// need the B2B token and the symmetric signature.
func WithServiceAuth(a ServiceAuth) Option {
	return func(c *config) { c.serviceAuth = a }
}

// WithCustomerPaths sets the path prefixes (after the server's path prefix)
// whose service requests need Authorization-Customer. Nil or empty means the
// default, "/v1.0/customer/". A request that sends Authorization-Customer
// anywhere has it checked.
func WithCustomerPaths(prefixes ...string) Option {
	return func(c *config) {
		if len(prefixes) == 0 {
			prefixes = []string{defaultCustomerPathPrefix}
		}
		c.customerPaths = append([]string(nil), prefixes...)
	}
}

// WithObserver calls observe with the record of every request the server
// answers, after the answer is written: a command-line sandbox prints them,
// a test collects them. It is called from the request's goroutine, possibly
// concurrently, and should return quickly. Nil removes the observer.
func WithObserver(observe func(Record)) Option {
	return func(c *config) { c.observer = observe }
}

// WithPathPrefix serves every endpoint under prefix, such as "/snap" or
// "/openapi", as many providers do; the prefix is part of URL and of the
// EndpointUrl that service signatures cover. It only takes effect when
// given to NewServer or NewUnstartedServer.
func WithPathPrefix(prefix string) Option {
	return func(c *config) {
		c.prefix = "/" + strings.Trim(prefix, "/")
		if c.prefix == "/" {
			c.prefix = ""
		}
	}
}

// WithCredentials replaces the generated partner credentials by the
// non-zero fields of c. It only takes effect when given to NewServer or
// NewUnstartedServer.
func WithCredentials(c Credentials) Option {
	return func(cfg *config) { cfg.credentials = &c }
}

// Configure changes knobs of a running server. Requests already past the
// point where a knob is read keep the old value. WithPathPrefix and
// WithCredentials shape the server at construction only: given here they
// are an error, and no option of the call is applied.
func (s *Server) Configure(opts ...Option) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := s.cfg
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.prefix != s.cfg.prefix {
		return errors.New("snaptest: Configure: WithPathPrefix only takes effect in NewServer or NewUnstartedServer")
	}
	if cfg.credentials != s.cfg.credentials {
		return errors.New("snaptest: Configure: WithCredentials only takes effect in NewServer or NewUnstartedServer")
	}
	s.cfg = cfg
	return nil
}
