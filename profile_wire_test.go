package snapauth

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapauth/snapauth/internal/canonjson"
	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// docSpec is what one provider's documentation says a client sends and the
// provider answers. Each is written from the page or SDK cited in the
// profile's doc comment, never from the Provider value, so that a profile
// that drifts from its evidence fails here.
type docSpec struct {
	timestamp *regexp.Regexp // X-TIMESTAMP of every request
	// tokenBody is the token request body as the provider reads it: the
	// Content-Type and the fields (compared as a whole: nothing missing,
	// nothing extra).
	contentType string
	tokenBody   func(grant, authCode, refreshToken string) map[string]string
	// tokenHeaders are the extra headers the token call carries, with the
	// partner's values.
	tokenHeaders []string
	externalID   *regexp.Regexp
	// endpoint is the EndpointUrl of the service string to sign for a
	// request URI as received.
	endpoint func(requestURI string) string
	// serviceHeaders are the extra headers a service call must carry.
	serviceHeaders []string
	// Answers in the provider's forms.
	expiresIn  any    // the B2B answer's expiresIn
	expiryZone string // the offset of the B2B2C expiry times
}

var (
	secondsJakarta = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$`)
	millisJakarta  = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+07:00$`)
	numericID36    = regexp.MustCompile(`^\d{1,36}$`)
)

// tokenBody is a token request's body under the field names of grant type,
// authorization code and refresh token in names; an empty code or rt is
// left out.
func tokenBody(names [3]string, grant, code, rt string) map[string]string {
	m := map[string]string{names[0]: grant}
	for i, v := range []string{code, rt} {
		if v != "" {
			m[names[i+1]] = v
		}
	}
	return m
}

// camel is the SNAP standard's token body; grants as given.
func camel(grant, code, rt string) map[string]string {
	return tokenBody([3]string{"grantType", "authCode", "refreshToken"}, grant, code, rt)
}

// snake is the grant_type body (Midtrans's SDKs, BNC's page; their B2B2C
// field names are not documented: auth_code, refresh_token inferred).
func snake(grant, code, rt string) map[string]string {
	return tokenBody([3]string{"grant_type", "auth_code", "refresh_token"}, grant, code, rt)
}

func asSent(uri string) string { return uri }

var docSpecs = map[string]docSpec{
	// The SNAP standard (SNAP.md sections 1-5).
	"standard": {timestamp: secondsJakarta, contentType: "application/json", tokenBody: camel, externalID: numericID36, endpoint: asSent, expiresIn: "900", expiryZone: "+07:00"},
	// BCA SNAP: the standard; no BCA SNAP page sorts the query.
	"bca": {timestamp: secondsJakarta, contentType: "application/json", tokenBody: camel, externalID: numericID36, endpoint: asSent, expiresIn: "900", expiryZone: "+07:00"},
	// BRI: yyyy-MM-ddTHH:mm:ss.SSS+07:00.
	"bri": {timestamp: millisJakarta, contentType: "application/json", tokenBody: camel, externalID: numericID36, endpoint: asSent, expiresIn: "900", expiryZone: "+07:00"},
	// BNI: the standard under /snap/v1 paths.
	"bni": {timestamp: secondsJakarta, contentType: "application/json", tokenBody: camel, externalID: numericID36, endpoint: asSent, expiresIn: "900", expiryZone: "+07:00"},
	// DOKU: UTC with Z.
	"doku": {timestamp: regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`), contentType: "application/json", tokenBody: camel, externalID: numericID36, endpoint: asSent, expiresIn: "900", expiryZone: "Z"},
	// DANA's Go SDK: utils/snap_header.go and widget/v1.
	"dana": {
		timestamp: secondsJakarta, contentType: "application/json",
		tokenBody:    func(g, c, r string) map[string]string { return camel(strings.ToUpper(g), c, r) },
		tokenHeaders: []string{"X-PARTNER-ID", "CHANNEL-ID"},
		externalID:   regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`),
		endpoint:     func(uri string) string { p, _, _ := strings.Cut(uri, "?"); return p },
		expiresIn:    "900", expiryZone: "+07:00",
	},
	// Finnet: the shared spec pages and header table.
	"finnet": {
		timestamp: secondsJakarta, contentType: "application/json",
		tokenBody: func(g, c, r string) map[string]string {
			m := camel(g, c, r)
			if g == "refresh_token" {
				m["authCode"] = "the-binding-code" // mandatory, min 1: the binding's code
			}
			return m
		},
		externalID: regexp.MustCompile(`^\d{1,32}$`), endpoint: asSent, serviceHeaders: []string{"ORIGIN"},
		expiresIn: json.Number("900"), expiryZone: "+00:00",
	},
	// Mandiri: milliseconds; the token body's camel case is its page's.
	"mandiri": {timestamp: millisJakarta, contentType: "application/json", tokenBody: camel, externalID: numericID36, endpoint: asSent, expiresIn: "900", expiryZone: "+07:00"},
	// Midtrans's SDKs: toISOString() and grant_type.
	"midtrans": {timestamp: regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`), contentType: "application/json", tokenBody: snake, externalID: numericID36, endpoint: asSent, expiresIn: "900", expiryZone: "Z"},
	// OneBrick's "Get Access Token SNAP": .SSSTZD, grant_type, expiresIn an integer.
	"onebrick": {timestamp: millisJakarta, contentType: "application/json", tokenBody: snake, externalID: numericID36, endpoint: asSent, expiresIn: json.Number("900"), expiryZone: "+07:00"},
	// BNC's token page: grant_type.
	"bnc": {timestamp: secondsJakarta, contentType: "application/json", tokenBody: snake, externalID: numericID36, endpoint: asSent, expiresIn: "900", expiryZone: "+07:00"},
}

const (
	docPartner = "PARTNER-77"
	docChannel = "95221"
	docOrigin  = "www.merchant.example"
)

// docRequest is one request the double received and what it verified.
type docRequest struct {
	header       http.Header
	uri          string
	body         []byte
	stringToSign string
}

// docProvider is a provider double that checks every request against a
// docSpec with code of its own (crypto/rsa, crypto/hmac, its own JSON
// re-serialisation) and answers in the spec's forms.
type docProvider struct {
	t    *testing.T
	spec docSpec
	pub  *rsa.PublicKey
	srv  *httptest.Server

	mu      sync.Mutex
	seen    []docRequest
	rotated int
}

func (d *docProvider) fail(w http.ResponseWriter, format string, args ...any) {
	d.t.Errorf("provider double: "+format, args...)
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprint(w, `{"responseCode":"4000000","responseMessage":"Bad Request"}`)
}

func (d *docProvider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := docRequest{header: r.Header.Clone(), uri: r.RequestURI, body: body}
	if ts := r.Header.Get("X-TIMESTAMP"); !d.spec.timestamp.MatchString(ts) {
		d.fail(w, "X-TIMESTAMP %q is not in the documented layout %s", ts, d.spec.timestamp)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	var answer map[string]any
	switch r.URL.Path {
	case "/v1.0/access-token/b2b", "/v1.0/access-token/b2b2c":
		rec.stringToSign = r.Header.Get("X-CLIENT-KEY") + "|" + r.Header.Get("X-TIMESTAMP")
		sig, err := base64.StdEncoding.DecodeString(r.Header.Get("X-SIGNATURE"))
		sum := sha256.Sum256([]byte(rec.stringToSign))
		if err != nil || rsa.VerifyPKCS1v15(d.pub, crypto.SHA256, sum[:], sig) != nil {
			d.fail(w, "token signature does not verify")
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != d.spec.contentType {
			d.fail(w, "token Content-Type %q, want %q", ct, d.spec.contentType)
			return
		}
		for _, h := range d.spec.tokenHeaders {
			if want := map[string]string{"X-PARTNER-ID": docPartner, "CHANNEL-ID": docChannel, "ORIGIN": docOrigin}[h]; r.Header.Get(h) != want {
				d.fail(w, "token call %s = %q, want %q", h, r.Header.Get(h), want)
				return
			}
		}
		answer = d.tokenAnswer(r.URL.Path)
	default:
		if e := d.checkService(r, &rec); e != "" {
			d.fail(w, "%s", e)
			return
		}
		answer = map[string]any{"responseCode": "2001700", "responseMessage": "Successful"}
	}
	d.mu.Lock()
	d.seen = append(d.seen, rec)
	d.mu.Unlock()
	_ = json.NewEncoder(w).Encode(answer)
}

func (d *docProvider) tokenAnswer(path string) map[string]any {
	if strings.HasSuffix(path, "/b2b") {
		return map[string]any{"responseCode": "2007300", "accessToken": "b2b-token", "tokenType": "Bearer", "expiresIn": d.spec.expiresIn}
	}
	d.mu.Lock()
	d.rotated++
	n := d.rotated
	d.mu.Unlock()
	exp := docExpiryText(d.spec.expiryZone)
	return map[string]any{
		"responseCode": "2007400", "accessToken": fmt.Sprintf("customer-%d", n), "tokenType": "Bearer",
		"accessTokenExpiryTime": exp, "refreshToken": fmt.Sprintf("rt-%d", n), "refreshTokenExpiryTime": exp,
	}
}

// checkService verifies a symmetric service call the way the spec says.
func (d *docProvider) checkService(r *http.Request, rec *docRequest) string {
	h := r.Header
	for _, name := range append([]string{"X-PARTNER-ID", "X-EXTERNAL-ID", "CHANNEL-ID", "Authorization"}, d.spec.serviceHeaders...) {
		if h.Get(name) == "" {
			return "service call lacks " + name
		}
	}
	if id := h.Get("X-EXTERNAL-ID"); !d.spec.externalID.MatchString(id) {
		return fmt.Sprintf("X-EXTERNAL-ID %q breaks the documented rule %s", id, d.spec.externalID)
	}
	token := strings.TrimPrefix(h.Get("Authorization"), "Bearer ")
	hashed := ""
	if canon, err := canonjson.Reserialize(rec.body); err == nil {
		sum := sha256.Sum256(canon)
		hashed = hex.EncodeToString(sum[:])
	} else {
		return "service body is not JSON"
	}
	rec.stringToSign = r.Method + ":" + d.spec.endpoint(r.RequestURI) + ":" + token + ":" + hashed + ":" + h.Get("X-TIMESTAMP")
	mac := hmac.New(sha512.New, []byte(testSecret))
	mac.Write([]byte(rec.stringToSign))
	if h.Get("X-SIGNATURE") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		return "service signature does not verify over " + rec.stringToSign
	}
	return ""
}

func (d *docProvider) requests() []docRequest {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]docRequest(nil), d.seen...)
}

// tokenFields decodes a token body as the spec's Content-Type says.
func tokenFields(t *testing.T, contentType string, body []byte) map[string]string {
	t.Helper()
	m := map[string]string{}
	if contentType == "application/x-www-form-urlencoded" {
		v, err := url.ParseQuery(string(body))
		require.NoError(t, err)
		for k := range v {
			m[k] = v.Get(k)
		}
		return m
	}
	require.NoError(t, json.Unmarshal(body, &m), string(body))
	return m
}

// TestProfilesOnTheWire drives the real token sources and Transport, for
// every named profile, against a double configured from that provider's
// documentation, and checks the bytes each request carried.
func TestProfilesOnTheWire(t *testing.T) {
	for _, name := range ProviderNames() {
		p, _ := ProviderByName(name)
		spec, ok := docSpecs[name]
		require.True(t, ok, "profile %q has no documentation-based spec in this test", name)
		t.Run(name, func(t *testing.T) {
			d := &docProvider{t: t, spec: spec, pub: &testkey.RSA(t).PublicKey}
			d.srv = httptest.NewServer(d)
			defer d.srv.Close()
			ctx := context.WithValue(context.Background(), oauth2.HTTPClient, d.srv.Client())

			b2b := &B2BConfig{TokenURL: d.srv.URL + "/v1.0/access-token/b2b", ClientKey: "ck-1", PrivateKey: testkey.RSA(t), Provider: p,
				PartnerID: docPartner, ChannelID: docChannel, Origin: docOrigin}
			b2b2c := &B2B2CConfig{TokenURL: d.srv.URL + "/v1.0/access-token/b2b2c", ClientKey: "ck-1", PrivateKey: testkey.RSA(t), Provider: p,
				PartnerID: docPartner, ChannelID: docChannel, Origin: docOrigin}

			_, err := b2b.Token(ctx)
			require.NoError(t, err)
			tok, err := b2b2c.Exchange(ctx, "the-binding-code")
			require.NoError(t, err)
			exp, _ := time.Parse(time.RFC3339, docExpiryText(spec.expiryZone))
			assert.True(t, tok.Expiry.Equal(exp), "expiry %v read from %s", tok.Expiry, spec.expiryZone)
			src := b2b2c.TokenSource(ctx, tok)
			inv := src.(TokenInvalidator)
			for range 2 { // two refreshes: the second must use the rotated token
				cur, err := src.Token()
				require.NoError(t, err)
				inv.Invalidate(cur)
			}
			client := b2b.Client(ctx, &Transport{ClientSecret: testSecret, PartnerID: docPartner, ChannelID: docChannel, Origin: docOrigin})
			req, err := http.NewRequestWithContext(WithCustomerToken(ctx, src), http.MethodGet, d.srv.URL+"/v1.0/balance-inquiry?b=2&a=1", nil)
			require.NoError(t, err)
			resp, err := client.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			resp, err = client.Post(d.srv.URL+"/v1.0/transfer-intrabank", "application/json", strings.NewReader(`{ "amount" : {"value":"10.00"}, "note":"a<b" }`))
			require.NoError(t, err)
			resp.Body.Close()

			var b2bReqs, b2b2cReqs, svcReqs []docRequest
			for _, r := range d.requests() {
				switch {
				case strings.HasSuffix(r.uri, "/b2b"):
					b2bReqs = append(b2bReqs, r)
				case strings.HasSuffix(r.uri, "/b2b2c"):
					b2b2cReqs = append(b2b2cReqs, r)
				default:
					svcReqs = append(svcReqs, r)
				}
			}
			require.Equal(t, []int{2, 3, 2}, []int{len(b2bReqs), len(b2b2cReqs), len(svcReqs)},
				"two B2B tokens (Token, the client's source), exchange and two refreshes, two service calls")
			tokenReqs := []docRequest{b2bReqs[0], b2b2cReqs[0], b2b2cReqs[1], b2b2cReqs[2]}
			wantBodies := []map[string]string{
				spec.tokenBody("client_credentials", "", ""),
				spec.tokenBody("authorization_code", "the-binding-code", ""),
				spec.tokenBody("refresh_token", "", "rt-1"),
				spec.tokenBody("refresh_token", "", "rt-2"),
			}
			for i, want := range wantBodies {
				assert.Equal(t, want, tokenFields(t, spec.contentType, tokenReqs[i].body), "token request %d: %s", i, tokenReqs[i].body)
				assert.Equal(t, "ck-1|"+tokenReqs[i].header.Get("X-TIMESTAMP"), tokenReqs[i].stringToSign)
			}
			get, post := svcReqs[0], svcReqs[1]
			assert.Equal(t, "/v1.0/balance-inquiry?b=2&a=1", get.uri)
			assert.Equal(t, "GET:"+spec.endpoint("/v1.0/balance-inquiry?b=2&a=1")+":b2b-token:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855:"+get.header.Get("X-TIMESTAMP"), get.stringToSign)
			assert.Equal(t, "Bearer customer-3", get.header.Get("Authorization-Customer"), "the twice-rotated customer token")
			assert.Equal(t, `{"amount":{"value":"10.00"},"note":"a<b"}`, string(post.body), "the minified bytes that were hashed")
			assert.NotEqual(t, get.header.Get("X-EXTERNAL-ID"), post.header.Get("X-EXTERNAL-ID"))
		})
	}
}

// docExpiry is the expiry the documentation doubles answer: a few hours
// ahead, well inside MaxLifetime.
var docExpiry = time.Now().Add(3 * time.Hour).Truncate(time.Second)

// docExpiryText writes docExpiry as an ISO 8601 time in zone ("Z",
// "+07:00", "+00:00"), as the provider's documentation shows it.
func docExpiryText(zone string) string {
	at, err := time.Parse(time.RFC3339, "2000-01-01T00:00:00"+zone)
	if err != nil {
		panic(err)
	}
	return docExpiry.In(at.Location()).Format("2006-01-02T15:04:05") + zone
}
