package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/redisstore"
	"github.com/snapauth/snapauth/snaptest"
	"golang.org/x/oauth2"
)

// Two replicas of a service share one B2B token through Redis: the second
// uses the token the first fetched. (REDIS_ADDR is where the Redis is, for
// example "127.0.0.1:6379"; snaptest stands in for the provider.)
func Example() {
	ctx := context.Background()
	provider := snaptest.NewServer()
	defer provider.Close()
	cfg := &snapauth.B2BConfig{
		TokenURL:   provider.B2BTokenURL(),
		ClientKey:  provider.ClientKey,
		PrivateKey: provider.PrivateKey,
	}

	replica := func() oauth2.TokenSource {
		client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{os.Getenv("REDIS_ADDR")}})
		store := redisstore.New(client, redisstore.WithKeyPrefix("example-"+provider.ClientKey+":"))
		return cfg.StoredTokenSource(ctx, store, "b2b")
	}
	a, b := replica(), replica()

	tokA, err := a.Token()
	if err != nil {
		fmt.Println(err)
		return
	}
	tokB, err := b.Token()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("same token:", tokA.AccessToken == tokB.AccessToken)
	fmt.Println("tokens fetched:", provider.Stats().Issued[snaptest.EndpointB2B])
	// Output:
	// same token: true
	// tokens fetched: 1
}

// A Store's keys and the time to live it gives a customer token: until its
// refresh token expires, plus a grace of one minute.
func ExampleStore_TTL() {
	client := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
	defer client.Close()
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, snapauth.Jakarta)
	store := redisstore.New(client, redisstore.WithKeyPrefix("shop:"), redisstore.WithClock(func() time.Time { return now }))

	customer := (&oauth2.Token{
		AccessToken:  "…",
		RefreshToken: "…",
		Expiry:       now.Add(15 * time.Minute),
	}).WithExtra(map[string]any{"refreshTokenExpiryTime": "2026-12-22T09:00:00+07:00"})

	fmt.Println(store.TokenKey("customer-42"))
	fmt.Println(store.LockKey("customer-42"))
	fmt.Println(store.TTL(customer))
	// Output:
	// shop:{customer-42}
	// shop:{customer-42}:lock
	// 720h1m0s
}

// Lock serialises work on one key across every process sharing the Redis.
func ExampleStore_Lock() {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
	defer client.Close()
	store := redisstore.New(client, redisstore.WithKeyPrefix("example-lock:"), redisstore.WithLockTTL(10*time.Second))

	unlock, err := store.Lock(ctx, "customer-42")
	if err != nil {
		fmt.Println(err)
		return
	}
	// Another holder gives up when its context ends.
	wait, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = store.Lock(wait, "customer-42")
	fmt.Println(err)
	unlock()
	// Output:
	// redisstore: waiting for example-lock:{customer-42}:lock: context deadline exceeded
}

// Delete removes a customer's token, but not a newer one another replica
// saved since old was read.
func ExampleStore_Delete() {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
	defer client.Close()
	store := redisstore.New(client, redisstore.WithKeyPrefix("example-delete:"))

	old := &oauth2.Token{AccessToken: "a1", RefreshToken: "r1"}
	newer := &oauth2.Token{AccessToken: "a2", RefreshToken: "r2"}
	if err := store.Save(ctx, "customer-42", newer); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(store.Delete(ctx, "customer-42", old)) // another token is stored: kept
	tok, err := store.Load(ctx, "customer-42")
	fmt.Println(tok.AccessToken, err)
	fmt.Println(store.Delete(ctx, "customer-42", newer))
	_, err = store.Load(ctx, "customer-42")
	fmt.Println(err)
	// Output:
	// <nil>
	// a2 <nil>
	// <nil>
	// snapauth: no token stored
}
