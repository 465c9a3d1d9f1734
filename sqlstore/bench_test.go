package sqlstore_test

import (
	"testing"

	"github.com/snapauth/snapauth"
	"github.com/snapauth/snapauth/storetest"
)

// BenchmarkStore runs storetest's benchmarks against the test PostgreSQL
// (loopback: the TestMain cluster or $PG_DSN); redisstore runs the same.
func BenchmarkStore(b *testing.B) {
	storetest.Benchmark(b, func(b *testing.B) snapauth.TokenStore { return newStore(b) })
}
