package snapauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

func TestProviderValidate(t *testing.T) {
	for name, p := range namedProviders {
		require.NoError(t, p.Validate(), name)
	}
	require.NoError(t, Provider{}.Validate())
	for _, tc := range []struct {
		p     Provider
		field string
	}{
		{Provider{ExternalIDLength: 37}, "ExternalIDLength 37"},
		{Provider{ExternalIDLength: -1}, "ExternalIDLength -1"},
		{Provider{ExternalIDLength: 12}, "ExternalIDLength 12: must be at least 20"},
		{Provider{ExternalIDAlphabet: ExternalIDUUID, ExternalIDLength: 32}, "ExternalIDLength 32: must be 0 or 36 with ExternalIDUUID"},
		{Provider{ExternalIDAlphabet: 7}, "ExternalIDAlphabet 7"},
		{Provider{TimestampLayout: "2006-01-02 15:04:05"}, `TimestampLayout "2006-01-02 15:04:05"`},
		{Provider{TimestampLayout: "2006-01-02T15:04:05"}, `TimestampLayout "2006-01-02T15:04:05"`},
		{Provider{Encoding: 9}, "Encoding 9"},
		{Provider{EndpointForm: 9}, "Endpoint 9"},
		{Provider{TokenBody: 9}, "TokenBody 9"},
		{Provider{TokenHeaders: 1 << 6}, "TokenHeaders 64"},
		{Provider{ServiceHeaders: 1 << 7}, "ServiceHeaders 128"},
		{Provider{ExpiresIn: 9}, "ExpiresIn 9"},
		{Provider{AuthCodeParams: 1 << 5}, "AuthCodeParams 32"},
		{Provider{Binding: 3}, "Binding 3"},
	} {
		err := tc.p.Validate()
		require.Error(t, err, "%+v", tc.p)
		assert.Contains(t, err.Error(), tc.field)
		assert.True(t, strings.HasPrefix(err.Error(), "snapauth: "))
	}
	// Layouts that write what ParseTimestamp reads are fine.
	for _, l := range []string{TimestampLayout, TimestampLayoutMillis, TimestampLayoutZulu, TimestampLayoutMillisZulu, "2006-01-02T15:04:05.000000-07:00"} {
		assert.NoError(t, Provider{TimestampLayout: l}.Validate(), l)
	}
}

func TestProviderExternalIDs(t *testing.T) {
	now := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		std, fin, dana := Standard.newExternalID(now), Finnet.newExternalID(now), DANA.newExternalID(now)
		require.Regexp(t, `^\d{36}$`, std)
		require.Regexp(t, `^\d{32}$`, fin)
		require.Regexp(t, uuid, dana)
		require.NoError(t, Standard.checkExternalID(std))
		require.NoError(t, Finnet.checkExternalID(fin))
		require.NoError(t, DANA.checkExternalID(dana))
		require.False(t, seen[fin], "Finnet ids stay unique")
		seen[fin] = true
	}
	assert.ErrorContains(t, Finnet.checkExternalID(strings.Repeat("1", 33)), "33 characters")
	assert.ErrorContains(t, Finnet.checkExternalID("12a"), "non-digit at 2")
	assert.ErrorContains(t, Standard.checkExternalID(""), "0 characters")
	assert.ErrorContains(t, Standard.checkExternalID("2b0c5a3e-8f7d-4c1e-9a2b-3d4e5f6a7b8c"), "non-digit")
	assert.NoError(t, DANA.checkExternalID("sdkc5a3e-8f7d-4c1e-9a2b-3d4e5f6a7b8c"), "DANA's SDK sends sdk plus a cut UUID")
	assert.ErrorContains(t, DANA.checkExternalID("a b"), "letter, digit or hyphen")
}

// TestTransportRefusesProfileBreaches: nothing is fetched or sent when the
// caller's values break the profile.
func TestTransportRefusesProfileBreaches(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	for _, tc := range []struct {
		name  string
		edit  func(tr *Transport, r *http.Request)
		error string
	}{
		{"a 33-digit id under Finnet", func(tr *Transport, r *http.Request) {
			tr.Provider = Finnet
			r.Header.Set("X-External-Id", strings.Repeat("9", 33))
		}, "X-EXTERNAL-ID has 33 characters; Provider \"finnet\" allows 1 to 32"},
		{"an id in a non-canonical header key", func(tr *Transport, r *http.Request) {
			tr.Provider = Finnet
			r.Header["x-external-id"] = []string{"12-34"}
		}, "non-digit at 2"},
		{"an id from ExternalID breaking the rule", func(tr *Transport, r *http.Request) {
			tr.Provider = Finnet
			tr.ExternalID = func() string { return strings.Repeat("1", 36) }
		}, "(made by Transport.ExternalID)"},
		{"no ORIGIN under Finnet", func(tr *Transport, r *http.Request) {
			tr.Provider, tr.Origin = Finnet, ""
		}, "requires ORIGIN on service calls"},
		{"a self-contradicting profile", func(tr *Transport, r *http.Request) {
			tr.Provider = Provider{Name: "odd", ExternalIDLength: 40}
		}, "ExternalIDLength 40"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newCountingSource("tok")
			tr := newTestTransport(src)
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1.0/x", strings.NewReader(`{}`))
			require.NoError(t, err)
			tc.edit(tr, req)
			_, err = tr.RoundTrip(req)
			require.ErrorContains(t, err, tc.error)
			calls, _ := src.stats()
			assert.Zero(t, calls, "no token was fetched")
		})
	}
	assert.Zero(t, hits.Load(), "nothing was sent")

	// Made right, the same calls go out.
	tr := newTestTransport(newCountingSource("tok"))
	tr.Provider = Finnet
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1.0/x", strings.NewReader(`{}`))
	req.Header.Set("X-EXTERNAL-ID", strings.Repeat("9", 32))
	resp, err := tr.RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.EqualValues(t, 1, hits.Load())
}

// TestTokenRequestsRefusedBeforeSending: token calls that break the profile
// or lack what it needs fail without a request.
func TestTokenRequestsRefusedBeforeSending(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	ctx := context.Background()
	b2b := &B2BConfig{TokenURL: srv.URL + "/t", ClientKey: "ck", PrivateKey: testkey.RSA(t), Provider: DANA}
	_, err := b2b.Token(ctx)
	assert.ErrorContains(t, err, `Provider "dana" sends X-PARTNER-ID on token requests (TokenHeaders), but the config's PartnerID is empty`)
	b2b.Provider = Provider{Name: "form", TokenBody: TokenBodyForm}
	b2b.AdditionalInfo = map[string]any{"a": 1}
	_, err = b2b.Token(ctx)
	assert.ErrorContains(t, err, "TokenBodyForm cannot carry AdditionalInfo")
	b2b.Provider = Provider{Name: "odd", TimestampLayout: "15:04"}
	_, err = b2b.Token(ctx)
	assert.ErrorContains(t, err, `TimestampLayout "15:04"`)

	b2b2c := &B2B2CConfig{TokenURL: srv.URL + "/t", ClientKey: "ck", PrivateKey: testkey.RSA(t), Provider: Finnet}
	_, err = b2b2c.Refresh(ctx, "rt")
	assert.ErrorIs(t, err, ErrNoAuthCode)
	assert.NotErrorIs(t, err, ErrReauthorize, "a bare refresh token is the caller's to fix, not the customer's")
	_, err = b2b2c.RefreshWithAuthCode(ctx, "rt", "")
	assert.ErrorIs(t, err, ErrNoAuthCode)
	// A source whose token keeps no code (stored before this version) fails
	// the same way instead of sending "authCode":"".
	src := b2b2c.TokenSource(ctx, &oauth2.Token{AccessToken: "a", RefreshToken: "rt", Expiry: time.Now().Add(-time.Minute)})
	_, err = src.Token()
	assert.ErrorIs(t, err, ErrNoAuthCode)
	assert.ErrorIs(t, err, ErrReauthorize, "the customer binds again")
	assert.Zero(t, hits.Load(), "nothing was sent")
}

func TestTokenBodyStylesAndHeaders(t *testing.T) {
	type seen struct {
		ct   string
		body string
		h    http.Header
	}
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, seen{r.Header.Get("Content-Type"), string(b), r.Header.Clone()})
		fmt.Fprint(w, `{"responseCode":"2007300","accessToken":"t","expiresIn":"900"}`)
	}))
	defer srv.Close()
	ctx := context.Background()
	for _, p := range []Provider{
		{Name: "snake", TokenBody: TokenBodySnakeJSON},
		{Name: "form", TokenBody: TokenBodyForm, TokenHeaders: HeaderOrigin | HeaderChannelID | HeaderPartnerID},
	} {
		cfg := &B2BConfig{TokenURL: srv.URL, ClientKey: "ck", PrivateKey: testkey.RSA(t), Provider: p, PartnerID: "P", ChannelID: "C", Origin: "O"}
		_, err := cfg.Token(ctx)
		require.NoError(t, err, p.Name)
	}
	require.Len(t, got, 2)
	assert.Equal(t, seen{"application/json", `{"grant_type":"client_credentials"}`, got[0].h}, got[0])
	assert.Empty(t, got[0].h.Get("X-PARTNER-ID"), "only the headers TokenHeaders names")
	assert.Equal(t, "application/x-www-form-urlencoded", got[1].ct)
	assert.Equal(t, "grant_type=client_credentials", got[1].body)
	assert.Equal(t, []string{"P", "C", "O"}, []string{got[1].h.Get("X-PARTNER-ID"), got[1].h.Get("CHANNEL-ID"), got[1].h.Get("ORIGIN")})

	body, ct, err := Provider{TokenBody: TokenBodyForm}.encodeTokenRequest(tokenRequest{GrantType: "refresh_token", RefreshToken: "r&1", AuthCode: new(string)})
	require.NoError(t, err)
	assert.Equal(t, "application/x-www-form-urlencoded", ct)
	assert.Equal(t, "auth_code=&grant_type=refresh_token&refresh_token=r%261", string(body))
}

func TestAuthCodeKeptSecretAndStored(t *testing.T) {
	tok, err := parseTokenAnswer(200, http.Header{}, []byte(`{"responseCode":"2007400","accessToken":"a","refreshToken":"r","refreshTokenExpiryTime":"2031-01-01T00:00:00+00:00"}`), time.Now(), keepAuthCode("the-code-XYZ"))
	require.NoError(t, err)
	assert.Equal(t, "the-code-XYZ", TokenAuthCode(tok))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		assert.NotContains(t, fmt.Sprintf(verb, tok), "the-code-XYZ", verb)
		assert.NotContains(t, fmt.Sprintf(verb, *tok), "the-code-XYZ", verb)
		assert.NotContains(t, fmt.Sprintf(verb, tok.Extra(authCodeExtra)), "the-code-XYZ", verb)
	}
	data, err := MarshalToken(tok)
	require.NoError(t, err)
	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &doc))
	assert.JSONEq(t, `"the-code-XYZ"`, string(doc["auth_code"]), "every replica reading the store can resend it")
	back, err := UnmarshalToken(data)
	require.NoError(t, err)
	assert.Equal(t, "the-code-XYZ", TokenAuthCode(back))
	assert.Equal(t, "2031-01-01T00:00:00+00:00", back.Extra("refreshTokenExpiryTime"))
	// Without extras or a code, the stored form is unchanged.
	plain, err := MarshalToken(&oauth2.Token{AccessToken: "a"})
	require.NoError(t, err)
	assert.NotContains(t, string(plain), "auth_code")
	assert.Empty(t, TokenAuthCode(nil))
}

func TestExpiresInForms(t *testing.T) {
	now := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	for _, body := range []string{
		`{"accessToken":"a","expiresIn":"900"}`,
		`{"accessToken":"a","expiresIn":900}`,
		`{"accessToken":"a","expiresIn":"2026-03-01T10:15:00+07:00"}`,
		`{"accessToken":"a","expiresIn":"2026-03-01T03:15:00.000Z"}`,
	} {
		tok, err := parseTokenAnswer(200, http.Header{}, []byte(body), now)
		require.NoError(t, err, body)
		assert.True(t, tok.Expiry.Equal(now.Add(15*time.Minute)), "%s: %v", body, tok.Expiry)
		assert.EqualValues(t, 900, tok.ExpiresIn, body)
	}
}

func TestAuthCodeURLParams(t *testing.T) {
	at := time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)
	cfg := &B2B2CConfig{AuthURL: "https://m.sandbox.dana.id/v1.0/get-auth-code", PartnerID: "P", RedirectURL: "https://m.example/back",
		Provider: DANA, Now: func() time.Time { return at }}
	_, err := cfg.AuthCodeURL("st", nil)
	assert.ErrorContains(t, err, "B2B2CConfig.ChannelID is empty")
	cfg.ChannelID = "95221"
	raw, err := cfg.AuthCodeURL("st", url.Values{"isSnapBI": {"true"}})
	require.NoError(t, err)
	u, err := url.Parse(raw)
	require.NoError(t, err)
	q := u.Query()
	assert.Equal(t, "2026-03-01T10:00:00+07:00", q.Get("timestamp"))
	assert.Equal(t, "95221", q.Get("channelId"))
	assert.Regexp(t, `^[0-9a-f-]{36}$`, q.Get("externalId"))
	assert.Equal(t, "true", q.Get("isSnapBI"))
	// The standard adds none of them.
	cfg.Provider = Standard
	raw, err = cfg.AuthCodeURL("st", nil)
	require.NoError(t, err)
	assert.NotContains(t, raw, "timestamp")
	assert.NotContains(t, raw, "externalId")
}

// TestProfileChecksAreCheap: the per-request profile checks allocate
// nothing, and the profile's id generators allocate only the id.
func TestProfileChecksAreCheap(t *testing.T) {
	h := http.Header{"X-External-Id": {strings.Repeat("1", 32)}, "Origin": {"o"}}
	now := time.Now()
	for _, p := range []Provider{Standard, Finnet, DANA, Midtrans} {
		tr := &Transport{Provider: p, Origin: "o"}
		assert.Zero(t, testing.AllocsPerRun(100, func() { _, _, _ = tr.checkProfile(h) }), p.Name)
		if raceEnabled {
			continue // the race detector drops sync.Pool items at random: allocations vary
		}
		// NewExternalID's own cost, whatever the profile.
		base := testing.AllocsPerRun(100, func() { _ = NewExternalID() })
		assert.LessOrEqual(t, testing.AllocsPerRun(100, func() { _ = p.newExternalID(now) }), base, p.Name)
	}
}

func BenchmarkCheckProfile(b *testing.B) {
	h := http.Header{"X-External-Id": {strings.Repeat("1", 32)}}
	for _, p := range []Provider{Standard, Finnet, DANA} {
		tr := &Transport{Provider: p, Origin: "o"}
		b.Run(p.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _, _ = tr.checkProfile(h)
			}
		})
	}
}
