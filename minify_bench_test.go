package snapauth_test

import (
	"testing"

	"github.com/snapauth/snapauth"
	"github.com/stretchr/testify/require"
)

// BenchmarkMinify measures Minify on the 1 KiB transfer body, pretty and
// compact, and on a 1 MiB pretty array of it. It stands alone in this
// file, so that scripts/bench.sh can run the same benchmark on Minify as
// it was at an older commit.
func BenchmarkMinify(b *testing.B) {
	pretty := signerPrettyBody(b)
	compact, err := snapauth.Minify(pretty)
	require.NoError(b, err)
	big := []byte("[\n")
	for len(big) < 1<<20 {
		big = append(append(big, pretty...), ",\n"...)
	}
	big = append(big[:len(big)-2], "\n]"...)
	for name, body := range map[string][]byte{"pretty": pretty, "compact": compact, "pretty1MiB": big} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := snapauth.Minify(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
