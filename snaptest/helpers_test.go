package snaptest_test

import (
	"cmp"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/snaptest"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// tokenCall describes a token request signed by hand with the snapauth
// primitives; zero fields take the server's correct values.
type tokenCall struct {
	clientKey string          // X-CLIENT-KEY and the key signed; "" means the server's
	signKey   string          // client key put in the string to sign, "" means clientKey
	key       *rsa.PrivateKey // nil means the partner's
	at        time.Time       // zero means now
	provider  snapauth.Provider
	timestamp string // overrides the formatted X-TIMESTAMP (signed as is)
	body      string
	edit      func(*http.Request) // runs after signing
}

func (c tokenCall) request(t testing.TB, srv *snaptest.Server, url string) *http.Request {
	t.Helper()
	c.clientKey = cmp.Or(c.clientKey, srv.ClientKey)
	c.signKey = cmp.Or(c.signKey, c.clientKey)
	c.key = cmp.Or(c.key, srv.PrivateKey)
	if c.at.IsZero() {
		c.at = time.Now()
	}
	ts := cmp.Or(c.timestamp, c.provider.Timestamp(c.at))
	sig, err := snapauth.SignAsymmetric(c.key, snapauth.TokenStringToSign(c.signKey, ts))
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(c.body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-TIMESTAMP", ts)
	req.Header.Set("X-CLIENT-KEY", c.clientKey)
	req.Header.Set("X-SIGNATURE", sig)
	if c.edit != nil {
		c.edit(req)
	}
	return req
}

var externalIDs atomic.Int64

func init() { externalIDs.Store(time.Now().UnixNano()) }

// nextExternalID returns a numeric X-EXTERNAL-ID not used before by this
// test binary.
func nextExternalID() string { return strconv.FormatInt(externalIDs.Add(1), 10) }

// serviceCall describes a service request signed by hand; zero fields take
// the correct values.
type serviceCall struct {
	method     string // "" means POST
	path       string // "" means /v1.0/transfer-va/inquiry
	body       string // the body signed
	sendBody   *string
	token      string // B2B token for Authorization and the symmetric signature
	asymmetric bool   // sign asymmetrically, send no Authorization
	customer   string // Authorization-Customer token
	secret     string // "" means the server's client secret
	key        *rsa.PrivateKey
	at         time.Time
	provider   snapauth.Provider
	externalID string
	partnerID  string
	edit       func(*http.Request)
}

func (c serviceCall) request(t testing.TB, srv *snaptest.Server) *http.Request {
	t.Helper()
	c.method = cmp.Or(c.method, http.MethodPost)
	c.path = cmp.Or(c.path, "/v1.0/transfer-va/inquiry")
	c.secret = cmp.Or(c.secret, srv.ClientSecret)
	c.key = cmp.Or(c.key, srv.PrivateKey)
	if c.at.IsZero() {
		c.at = time.Now()
	}
	c.externalID = cmp.Or(c.externalID, nextExternalID())
	c.partnerID = cmp.Or(c.partnerID, srv.PartnerID)
	send := c.body
	if c.sendBody != nil {
		send = *c.sendBody
	} else if c.body != "" {
		minified, err := snapauth.Minify([]byte(c.body))
		require.NoError(t, err)
		send = string(minified)
	}
	req, err := http.NewRequest(c.method, srv.ServiceURL(c.path), strings.NewReader(send))
	require.NoError(t, err)
	ts := c.provider.Timestamp(c.at)
	endpoint := c.provider.EndpointURL(req.URL)
	var sig string
	if c.asymmetric {
		sts, err := snapauth.ServiceStringToSign(c.method, endpoint, "", []byte(c.body), ts)
		require.NoError(t, err)
		sig, err = snapauth.SignAsymmetric(c.key, sts)
		require.NoError(t, err)
	} else {
		sts, err := snapauth.ServiceStringToSign(c.method, endpoint, c.token, []byte(c.body), ts)
		require.NoError(t, err)
		sig = snapauth.SignSymmetric(c.secret, sts)
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.customer != "" {
		req.Header.Set("Authorization-Customer", "Bearer "+c.customer)
	}
	if send != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-TIMESTAMP", ts)
	req.Header.Set("X-SIGNATURE", sig)
	req.Header.Set("X-PARTNER-ID", c.partnerID)
	req.Header.Set("X-EXTERNAL-ID", c.externalID)
	req.Header.Set("CHANNEL-ID", srv.ChannelID)
	if c.edit != nil {
		c.edit(req)
	}
	return req
}

// requestCase is a case of a table test: the server made with opts answers
// the request req makes with status and SNAP code, and records reason.
type requestCase struct {
	name   string
	opts   []snaptest.Option
	req    func(testing.TB, *snaptest.Server) *http.Request
	status int
	code   string
	reason snaptest.Reason
}

// answer is a decoded SNAP answer.
type answer struct {
	status int
	header http.Header
	raw    []byte
	fields map[string]any
}

func (a answer) str(name string) string {
	s, _ := a.fields[name].(string)
	return s
}

func (a answer) code() string { return a.str("responseCode") }

func send(t testing.TB, srv *snaptest.Server, req *http.Request) answer {
	t.Helper()
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &a.fields)
	return a
}

// b2bToken fetches a B2B token by hand.
func b2bToken(t testing.TB, srv *snaptest.Server) string {
	t.Helper()
	a := send(t, srv, tokenCall{body: `{"grantType":"client_credentials"}`}.request(t, srv, srv.B2BTokenURL()))
	require.Equal(t, "2007300", a.code(), string(a.raw))
	return a.str("accessToken")
}

// customerTokens exchanges a freshly minted auth code by hand and returns
// the customer access token and refresh token.
func customerTokens(t testing.TB, srv *snaptest.Server) (access, refresh string) {
	t.Helper()
	a := exchangeCode(t, srv, srv.MintAuthCode())
	require.Equal(t, "2007400", a.code(), string(a.raw))
	return a.str("accessToken"), a.str("refreshToken")
}

func exchangeCode(t testing.TB, srv *snaptest.Server, code string) answer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"grantType": "authorization_code", "authCode": code})
	return send(t, srv, tokenCall{body: string(body)}.request(t, srv, srv.B2B2CTokenURL()))
}

func refresh(t testing.TB, srv *snaptest.Server, rt string) answer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"grantType": "refresh_token", "refreshToken": rt})
	return send(t, srv, tokenCall{body: string(body)}.request(t, srv, srv.B2B2CTokenURL()))
}

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
