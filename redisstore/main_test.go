package redisstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/snapauth/snapauth/internal/testserver"
	"github.com/snapauth/snapauth/redisstore"
)

// redisAddr is the Redis every test uses: $REDIS_ADDR, or a redis-server
// TestMain starts on a free loopback port.
var redisAddr string

// TestMain finds a Redis for the tests. With $REDIS_ADDR set (CI starts a
// redis-server and sets it) it uses that; else it starts redis-server from
// PATH on loopback, without persistence, and stops it afterwards. Without
// either the tests are skipped, unless CI=true: then they fail.
func TestMain(m *testing.M) {
	testserver.Main(m, "redisstore", "REDIS_ADDR", helperEnv, &redisAddr, func() (string, func(), error) { return startRedis() })
}

// startRedis starts redis-server from PATH on a free loopback port, with the
// extra configuration lines given, and waits until it answers.
func startRedis(extra ...string) (addr string, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, fmt.Errorf("redis-server is not in PATH")
	}
	dir, err := os.MkdirTemp("", "redisstore-test-")
	if err != nil {
		return "", nil, err
	}
	for range 5 { // a port found free may be taken before redis binds it
		port, err := testserver.FreePort()
		if err != nil {
			return "", nil, err
		}
		addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}
		for _, e := range extra {
			if e != "" {
				args = append(args, e)
			}
		}
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = nil, nil
		if err := cmd.Start(); err != nil {
			return "", nil, err
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop = func() {
			_ = cmd.Process.Kill()
			<-exited
			os.RemoveAll(dir)
		}
		if waitRedis(addr, exited) {
			return addr, stop, nil
		}
		stop()
		if dir, err = os.MkdirTemp("", "redisstore-test-"); err != nil {
			return "", nil, err
		}
	}
	return "", nil, fmt.Errorf("redis-server did not start")
}

// waitRedis polls addr with PING for up to 10 s, or until the server exits.
func waitRedis(addr string, exited <-chan struct{}) bool {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	return testserver.Wait(func(ctx context.Context) error { return c.Ping(ctx).Err() }, exited, 10*time.Second)
}

// newClient returns a client of the test Redis, closed at the end of t.
func newClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { c.Close() })
	return c
}

// testPrefix returns a key prefix of its own for one test, so that tests
// sharing a Redis never see each other's keys; its keys are deleted at the
// end of t.
func testPrefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	prefix := "snapauth-test:" + rand.Text()[:12] + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var keys []string
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		for _, k := range keys {
			c.Del(ctx, k)
		}
	})
	return prefix
}

// newStore returns a Store on the test Redis with a prefix of its own.
func newStore(t testing.TB, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	c := newClient(t)
	return redisstore.New(c, append([]redisstore.Option{redisstore.WithKeyPrefix(testPrefix(t, c))}, opts...)...)
}
