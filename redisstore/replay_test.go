package redisstore_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
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
	"github.com/snapauth/snapauth/redisstore"
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

func TestStoreSeen(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	seen, err := s.Seen(ctx, "partner\x00day\x00id", time.Minute)
	require.NoError(t, err)
	assert.False(t, seen)
	seen, err = s.Seen(ctx, "partner\x00day\x00id", time.Minute)
	require.NoError(t, err)
	assert.True(t, seen)
	seen, err = s.Seen(ctx, "partner\x00day\x00other", time.Minute)
	require.NoError(t, err)
	assert.False(t, seen)

	// A record does not disturb a token stored under the same key.
	_, err = s.Load(ctx, "partner\x00day\x00id")
	assert.ErrorIs(t, err, snapauth.ErrNoToken)
	assert.NotEqual(t, s.TokenKey("k"), s.ReplayKey("k"))
	assert.NotEqual(t, s.LockKey("k"), s.ReplayKey("k"))

	// A dead Redis is an error, never a fresh request.
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer dead.Close()
	_, err = redisstore.New(dead).Seen(ctx, "k", time.Minute)
	assert.Error(t, err)
}
