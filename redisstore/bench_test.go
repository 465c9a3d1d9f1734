package redisstore_test

import (
	"testing"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/storetest"
)

// BenchmarkStore runs storetest's benchmarks against the test Redis
// (loopback: the TestMain redis-server or $REDIS_ADDR); sqlstore runs the
// same.
func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) snapauth.TokenStore { return newStore(b) })
}
