package snapauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// DefaultIssuedTokenLifetime is the lifetime of the access tokens a
// TokenServer issues (expiresIn "900").
const DefaultIssuedTokenLifetime = 900 * time.Second

// tokenServiceCode is the SNAP service code of access-token/b2b.
const tokenServiceCode = "73"

// Caller is a SNAP partner registered to call you: a bank or provider that
// asks your TokenServer for access tokens and then calls your endpoints (the
// other direction's Partner). Its String method masks the client secret.
type Caller struct {
	// ClientKey is the partner's client id, sent as X-CLIENT-KEY.
	ClientKey string
	// PublicKey is the partner's RSA public key, which checks its token
	// requests. Nil means the partner cannot get a token.
	PublicKey *rsa.PublicKey
	// ClientSecret keys the partner's symmetric service signatures. Empty
	// means its service calls are refused.
	ClientSecret string
}

// String describes the partner by its client key, never its secret.
func (p Caller) String() string {
	return fmt.Sprintf("snapauth.Caller{ClientKey: %q}", p.ClientKey)
}

// GoString is String, so that %#v masks the secret too.
func (p Caller) GoString() string { return p.String() }

// TokenServer is the access-token endpoint (/v1.0/access-token/b2b) that
// banks and providers call before calling you, and the middleware that then
// checks their service calls against the tokens it issued. Every replica of
// a service sharing one Store (and one Replay) accepts the tokens any of
// them issued. The zero value with Callers set works; it must not be copied
// after first use. Issued tokens are stored under IssuedTokenKey: only their
// SHA-256 and the partner's client key are kept, never the token itself.
type TokenServer struct {
	// Callers are the partners allowed to ask for tokens, by client key. It
	// must not be changed while the server serves; a partner removed from a
	// new TokenServer loses its issued tokens there.
	Callers map[string]Caller
	// Store keeps the issued tokens. Nil means a store in memory of the
	// server's own, whose entries expire with their tokens; give a fleet one
	// shared store (FileStore on a shared volume, redisstore.Store).
	Store TokenStore
	// Lifetime is the lifetime of issued tokens. Zero or negative means
	// DefaultIssuedTokenLifetime.
	Lifetime time.Duration
	// Provider, Now, Skew, MaxBody, Replay and OnRefusal are as in Verifier,
	// for the token requests and the service calls the server checks.
	Provider  Provider
	Now       func() time.Time
	Skew      time.Duration
	MaxBody   int64
	Replay    ReplayStore
	OnRefusal func(r *http.Request, err error)

	mem       atomic.Pointer[issuedMemory]
	memReplay atomic.Pointer[MemoryReplayStore]
}

// ServeHTTP serves the B2B access-token endpoint: a POST with X-CLIENT-KEY of
// a known partner, X-TIMESTAMP inside the window, X-SIGNATURE over
// X-CLIENT-KEY|X-TIMESTAMP made with the partner's private key, and the body
// {"grantType":"client_credentials"} ("grant_type" and a form-encoded body
// are accepted too). It answers 200 with
//
//	{"responseCode":"2007300","responseMessage":"Successful",
//	 "accessToken":"…","tokenType":"Bearer","expiresIn":"900"}
//
// where the token is 32 bytes from crypto/rand (43 base64url characters),
// and refuses in SNAP form with service code 73: 400730x for a missing or
// malformed header or body, 4017300 "Unauthorized. [Unknown client]" or
// "[Signature]" or "[Timestamp]", 4057300 for another method, 5007301 when
// the Store fails.
func (s *TokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok, exp, e := s.issue(r)
	if e != nil {
		if s.OnRefusal != nil {
			s.OnRefusal(r, e)
		}
		if e.StatusCode == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", http.MethodPost)
		}
		w.Header().Set("X-TIMESTAMP", s.Provider.Timestamp(s.now()))
		WriteRefusal(w, e, tokenServiceCode)
		return
	}
	body, _ := json.Marshal(struct {
		ResponseCode    string `json:"responseCode"`
		ResponseMessage string `json:"responseMessage"`
		AccessToken     string `json:"accessToken"`
		TokenType       string `json:"tokenType"`
		ExpiresIn       string `json:"expiresIn"`
	}{"2007300", "Successful", tok, "Bearer", strconv.FormatInt(int64(exp/time.Second), 10)})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-TIMESTAMP", s.Provider.Timestamp(s.now()))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (s *TokenServer) issue(r *http.Request) (string, time.Duration, *RequestError) {
	if r.Method != http.MethodPost {
		return "", 0, refuse(http.StatusMethodNotAllowed, "00", "Requested Function Is Not Supported", nil)
	}
	clientKey, e := header(r.Header, "X-Client-Key", "X-CLIENT-KEY")
	if e != nil {
		return "", 0, e
	}
	p, ok := s.Callers[clientKey]
	if !ok || p.PublicKey == nil {
		return "", 0, unauthorized("Unknown client", ErrUnauthorized)
	}
	v := s.verifier()
	v.PublicKey = p.PublicKey
	if e := v.verifyTokenRequest(r); e != nil {
		return "", 0, e
	}
	body, e := readBody(r, v.maxBody())
	if e != nil {
		return "", 0, e
	}
	if e := checkGrant(r.Header.Get("Content-Type"), body); e != nil {
		return "", 0, e
	}

	var raw [32]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	life := s.lifetime()
	sum := sha256.Sum256([]byte(tok))
	record := (&oauth2.Token{
		AccessToken: "sha256:" + base64.RawURLEncoding.EncodeToString(sum[:]),
		TokenType:   "Bearer",
		Expiry:      s.now().Add(life),
	}).WithExtra(map[string]any{"additionalInfo": map[string]any{"clientKey": clientKey}})
	if err := s.store().Save(r.Context(), IssuedTokenKey(tok), record); err != nil {
		return "", 0, internalError(fmt.Errorf("snapauth: storing an issued token: %w", err))
	}
	return tok, life, nil
}

// checkGrant requires the grant type client_credentials, in a JSON body
// ("grantType" or "grant_type") or a form-encoded one.
func checkGrant(contentType string, body []byte) *RequestError {
	var grant any
	var present bool
	if mt, _, _ := mime.ParseMediaType(contentType); mt == "application/x-www-form-urlencoded" {
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return invalidBody("body is not a form")
		}
		grant, present = q.Get("grant_type"), q.Has("grant_type")
	} else {
		var fields map[string]any
		if err := json.Unmarshal(body, &fields); err != nil {
			return invalidBody("body is not a JSON object")
		}
		if grant, present = fields["grantType"]; !present {
			grant, present = fields["grant_type"]
		}
	}
	if !present {
		return missingField("grantType")
	}
	if g, ok := grant.(string); !ok || !strings.EqualFold(g, "client_credentials") {
		return refuse(http.StatusBadRequest, "01", "Invalid Field Format [grantType]", ErrInvalidBody)
	}
	return nil
}

func missingField(name string) *RequestError {
	return refuse(http.StatusBadRequest, "02", "Invalid Mandatory Field ["+name+"]", ErrInvalidBody)
}

// Middleware returns a handler that passes on only the service calls made
// with a token this server (or a replica sharing its Store) issued and still
// holds: "Authorization: Bearer <token>", the symmetric signature keyed with
// the client secret of the partner the token was issued to, and the checks
// of Verifier.Verify (timestamp window, mandatory headers, X-EXTERNAL-ID once
// per partner per day, keyed on the token's client key). next finds that
// client key with ClientKeyFromContext. Refusals are answered as by
// Verifier.Middleware, with these for the token:
//
//	401xx01  Invalid Token (B2B): the token is unknown, expired, or its
//	         partner is no longer in Callers
//	401xx03  Token Not Found (B2B): the request has no Authorization header
func (s *TokenServer) Middleware(serviceCode string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := s.verifier()
		got, e := v.verify(r, s.lookup)
		serveVerified(w, r, serviceCode, next, got, e, s.OnRefusal)
	})
}

// lookup finds the partner of an issued token.
func (s *TokenServer) lookup(ctx context.Context, token string) (string, string, *RequestError) {
	t, err := s.store().Load(ctx, IssuedTokenKey(token))
	if errors.Is(err, ErrNoToken) {
		return "", "", errInvalidToken()
	}
	if err != nil {
		return "", "", internalError(fmt.Errorf("snapauth: loading an issued token: %w", err))
	}
	if !t.Expiry.IsZero() && !s.now().Before(t.Expiry) {
		return "", "", errInvalidToken()
	}
	info, _ := t.Extra("additionalInfo").(map[string]any)
	clientKey, _ := info["clientKey"].(string)
	p, ok := s.Callers[clientKey]
	if !ok || p.ClientSecret == "" {
		return "", "", errInvalidToken()
	}
	return p.ClientSecret, clientKey, nil
}

// IssuedTokenKey returns the TokenStore key under which a TokenServer keeps
// the record of an access token it issued: "snap-issued-b2b:" and the
// unpadded base64url SHA-256 of the token, so that store keys (file names,
// Redis keys) never reveal a live token.
func IssuedTokenKey(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return "snap-issued-b2b:" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// verifier returns a Verifier with the server's settings and replay store.
func (s *TokenServer) verifier() *Verifier {
	return &Verifier{
		Provider: s.Provider, Now: s.Now, Skew: s.Skew, MaxBody: s.MaxBody,
		Replay: s.replayStore(),
	}
}

func (s *TokenServer) now() time.Time { return nowFunc(s.Now)() }

func (s *TokenServer) lifetime() time.Duration {
	return positiveOr(s.Lifetime, DefaultIssuedTokenLifetime)
}

func (s *TokenServer) store() TokenStore {
	if s.Store != nil {
		return s.Store
	}
	return lazy(&s.mem, func() *issuedMemory { return &issuedMemory{now: s.now} })
}

func (s *TokenServer) replayStore() ReplayStore {
	if s.Replay != nil {
		return s.Replay
	}
	return lazy(&s.memReplay, NewMemoryReplayStore)
}

// issuedMemory is the TokenServer's default store: tokens in memory, each
// dropped a minute after its expiry.
type issuedMemory struct {
	now func() time.Time
	m   expiringMap
}

func (m *issuedMemory) Load(ctx context.Context, key string) (*oauth2.Token, error) {
	data, ok := m.m.get(key, m.now())
	if !ok {
		return nil, ErrNoToken
	}
	return UnmarshalToken(data)
}

func (m *issuedMemory) Save(ctx context.Context, key string, t *oauth2.Token) error {
	data, err := MarshalToken(t)
	if err != nil {
		return err
	}
	m.m.set(key, data, m.now(), t.Expiry.Add(time.Minute))
	return nil
}
