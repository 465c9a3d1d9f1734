package redisstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/redisstore"
)

// Every replica of a merchant gives its Verifier (or TokenServer) the same
// Redis, so that an X-EXTERNAL-ID is accepted once by the whole fleet.
func ExampleStore_Seen() {
	client := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{os.Getenv("REDIS_ADDR")}})
	defer client.Close()
	store := redisstore.New(client, redisstore.WithKeyPrefix("example-"+rand.Text()+":"))
	v := &snapauth.Verifier{ClientSecret: "client-secret", Replay: store}
	ts := &snapauth.TokenServer{Store: store, Replay: store}
	_, _ = v, ts

	key := snapauth.ReplayKey("FINPAY", "41807553358950093184162180797837", "2026-12-01")
	for range 2 {
		seen, err := store.Seen(context.Background(), key, time.Minute)
		fmt.Println(seen, err)
	}
	client.Del(context.Background(), store.ReplayKey(key))
	// Output:
	// false <nil>
	// true <nil>
}
