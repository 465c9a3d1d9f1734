package redisstore_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/internal/testkey"
	"github.com/snapauth/snapauth/redisstore"
	"github.com/snapauth/snapauth/storetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReplayFleet delivers one signed notification 1,000 times at once to 8
// verifiers, each with a Redis client and Store of its own on one shared
// Redis, as 8 replicas of a merchant would be: exactly one is accepted, and
// every other is refused as a replay.
func TestReplayFleet(t *testing.T) {
	const (
		replicas   = 8
		deliveries = 1000
		secret     = "fleet-client-secret"
		token      = "fleet-access-token"
	)
	c := newClient(t)
	prefix := testPrefix(t, c)
	var verifiers []*snapauth.Verifier
	for range replicas {
		own := redis.NewClient(&redis.Options{Addr: redisAddr, PoolSize: 32})
		t.Cleanup(func() { own.Close() })
		verifiers = append(verifiers, &snapauth.Verifier{
			ClientSecret: secret,
			Replay:       redisstore.New(own, redisstore.WithKeyPrefix(prefix)),
		})
	}

	// The provider's request, signed with crypto/hmac.
	ts := snapauth.Standard.Timestamp(time.Now())
	body := `{"originalReferenceNo":"2020102977770000000009","latestTransactionStatus":"00"}`
	sum := sha256.Sum256([]byte(body))
	mac := hmac.New(sha512.New, []byte(secret))
	mac.Write([]byte("POST:/v1.0/qr/qr-mpm-notify:" + token + ":" + hex.EncodeToString(sum[:]) + ":" + ts))
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	deliver := func(v *snapauth.Verifier) error {
		r := httptest.NewRequest(http.MethodPost, "/v1.0/qr/qr-mpm-notify", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("X-TIMESTAMP", ts)
		r.Header.Set("X-SIGNATURE", sig)
		r.Header.Set("X-PARTNER-ID", "FINPAY")
		r.Header.Set("X-EXTERNAL-ID", "41807553358950093184162180797837")
		return v.Verify(r)
	}

	var accepted, replayed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, deliveries)
	for i := range deliveries {
		wg.Go(func() {
			<-start
			switch err := deliver(verifiers[i%replicas]); {
			case err == nil:
				accepted.Add(1)
			case errors.Is(err, snapauth.ErrReplay):
				replayed.Add(1)
			default:
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.Equal(t, int64(1), accepted.Load(), "exactly one delivery accepted")
	assert.Equal(t, int64(deliveries-1), replayed.Load())

	// One record, living until the end of the signed day plus the skew.
	keys, err := c.Keys(t.Context(), prefix+"*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 1)
	assert.True(t, strings.HasSuffix(keys[0], "}:seen"), keys[0])
	ttl, err := c.PTTL(t.Context(), keys[0]).Result()
	require.NoError(t, err)
	assert.Greater(t, ttl, snapauth.DefaultSkew-time.Second)
	assert.LessOrEqual(t, ttl, 24*time.Hour+snapauth.DefaultSkew)
}

func TestReplayConformance(t *testing.T) {
	storetest.RunReplay(t, func(t *testing.T) snapauth.ReplayStore { return newStore(t) })
}

// TestStoreSeenKeys: a replay record lives under its own key, beside a
// token and a lock of the same name, and a dead Redis is an error, never
// a fresh request.
func TestStoreSeenKeys(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	seen, err := s.Seen(ctx, "partner\x00day\x00id", time.Minute)
	require.NoError(t, err)
	assert.False(t, seen)
	_, err = s.Load(ctx, "partner\x00day\x00id")
	assert.ErrorIs(t, err, snapauth.ErrNoToken)
	assert.NotEqual(t, s.TokenKey("k"), s.ReplayKey("k"))
	assert.NotEqual(t, s.LockKey("k"), s.ReplayKey("k"))

	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer dead.Close()
	_, err = redisstore.New(dead).Seen(ctx, "k", time.Minute)
	assert.Error(t, err)
}

// TestTokenServerOnRedis runs two replicas of a merchant's TokenServer on
// one Redis: a token one issued is accepted by the other, lives in Redis
// for its lifetime plus the grace, and is kept there only as its SHA-256.
func TestTokenServerOnRedis(t *testing.T) {
	key := testkey.RSA(t)
	c := newClient(t)
	prefix := testPrefix(t, c)
	var replicas []*httptest.Server
	for range 2 {
		own := redis.NewClient(&redis.Options{Addr: redisAddr})
		t.Cleanup(func() { own.Close() })
		store := redisstore.New(own, redisstore.WithKeyPrefix(prefix))
		ts := &snapauth.TokenServer{
			Callers: map[string]snapauth.Caller{"bank": {ClientKey: "bank", PublicKey: &key.PublicKey, ClientSecret: "bank-secret"}},
			Store:   store, Replay: store,
		}
		mux := http.NewServeMux()
		mux.Handle("/v1.0/access-token/b2b", ts)
		mux.Handle("/v1.0/transfer-va/inquiry", ts.Middleware("24", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
		})))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		replicas = append(replicas, srv)
	}

	// The bank asks replica 0 for a token, signing with crypto/rsa.
	ts := snapauth.Standard.Timestamp(time.Now())
	digest := sha256.Sum256([]byte("bank|" + ts))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, replicas[0].URL+"/v1.0/access-token/b2b", strings.NewReader(`{"grantType":"client_credentials"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-TIMESTAMP", ts)
	req.Header.Set("X-CLIENT-KEY", "bank")
	req.Header.Set("X-SIGNATURE", base64.StdEncoding.EncodeToString(sig))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var tok struct{ ResponseCode, AccessToken, ExpiresIn string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	require.Equal(t, "2007300", tok.ResponseCode)

	// It calls replica 1 with it.
	body := `{"customerNo":"0812345678"}`
	sum := sha256.Sum256([]byte(body))
	mac := hmac.New(sha512.New, []byte("bank-secret"))
	mac.Write([]byte("POST:/v1.0/transfer-va/inquiry:" + tok.AccessToken + ":" + hex.EncodeToString(sum[:]) + ":" + ts))
	call, err := http.NewRequest(http.MethodPost, replicas[1].URL+"/v1.0/transfer-va/inquiry", strings.NewReader(body))
	require.NoError(t, err)
	call.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	call.Header.Set("X-TIMESTAMP", ts)
	call.Header.Set("X-SIGNATURE", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	call.Header.Set("X-PARTNER-ID", "BANK")
	call.Header.Set("X-EXTERNAL-ID", "1")
	resp, err = http.DefaultClient.Do(call)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	rk := redisstore.New(c, redisstore.WithKeyPrefix(prefix)).TokenKey(snapauth.IssuedTokenKey(tok.AccessToken))
	raw, err := c.Get(t.Context(), rk).Result()
	require.NoError(t, err)
	assert.NotContains(t, raw, tok.AccessToken)
	ttl, err := c.PTTL(t.Context(), rk).Result()
	require.NoError(t, err)
	assert.InDelta(t, (900*time.Second + redisstore.DefaultExpiryGrace).Seconds(), ttl.Seconds(), 5)
}
