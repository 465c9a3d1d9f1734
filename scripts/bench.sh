#!/usr/bin/env bash
# bench.sh reproduces the figures of BENCHMARKS.md: it runs the root
# package's benchmarks (-benchmem, -count=10, no tests) and summarises them
# with benchstat, twice:
#   1. every benchmark as measured (median ± 95% confidence interval);
#   2. the anchors side by side, as ratios within this one run:
#      the signing Transport against oauth2.Transport and the bare crypto
#      floor (minify + SHA-256 + HMAC-SHA512 + base64), and our cached token
#      source against oauth2.ReuseTokenSource (serial and parallel).
# benchstat (golang.org/x/perf) is installed at a pinned version if missing.
#
# Usage: scripts/bench.sh [extra go test flags]
#   COUNT=10   runs per benchmark (benchstat wants at least 10 for its CIs)
#   BENCH=.    benchmark regexp
#   OUT=...    where the raw output is kept (default: a temp dir, printed)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH:$(go env GOPATH)/bin"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da
COUNT="${COUNT:-10}"
BENCH="${BENCH:-.}"
OUT="${OUT:-$(mktemp -d)/bench.txt}"

if ! command -v benchstat >/dev/null; then
	echo "== installing benchstat $BENCHSTAT_VERSION" >&2
	go install "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION"
fi

echo "== machine"
go version
uname -srm
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
echo "cpu: ${cpu:-unknown}, $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') logical CPUs, GOMAXPROCS=${GOMAXPROCS:-default}"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo
echo "== go test -run '^\$' -bench '$BENCH' -benchmem -count=$COUNT $* .   (raw output: $OUT)"
go test -run '^$' -bench "$BENCH" -benchmem -count="$COUNT" "$@" . | tee "$OUT" >/dev/null

echo
echo "== benchstat: every benchmark"
benchstat "$OUT"

# The anchors, renamed into one benchmark per comparison with an impl= key,
# so that benchstat puts them in columns and prints each as a ratio against
# the first column (the anchor) of the same run.
anchors="${OUT%.txt}-anchors.txt"
sed -E \
	-e 's#^BenchmarkOAuth2Transport(-[0-9]+)?[[:space:]]#BenchmarkRoundTrip/impl=oauth2.Transport\1 #' \
	-e 's#^BenchmarkTransport(-[0-9]+)?[[:space:]]#BenchmarkRoundTrip/impl=snapauth.Transport\1 #' \
	-e 's#^BenchmarkSigningFloor(-[0-9]+)?[[:space:]]#BenchmarkRoundTrip/impl=crypto-floor\1 #' \
	-e 's#^BenchmarkTokenSource/oauth2Reuse/([a-z]+)(-[0-9]+)?[[:space:]]#BenchmarkTokenSource/mode=\1/impl=oauth2.ReuseTokenSource\2 #' \
	-e 's#^BenchmarkTokenSource/ours/([a-z]+)(-[0-9]+)?[[:space:]]#BenchmarkTokenSource/mode=\1/impl=snapauth\2 #' \
	"$OUT" | grep -E '^(Benchmark(RoundTrip|TokenSource)/.*impl=|goos|goarch|pkg|cpu)' >"$anchors" || true
if grep -q impl= "$anchors"; then
	echo
	echo "== benchstat: one signed round trip, against the crypto floor (the base column), same run"
	benchstat -filter '.name:RoundTrip' -col '/impl@(crypto-floor snapauth.Transport oauth2.Transport)' "$anchors"
	echo
	echo "== benchstat: a warm Token call, against oauth2.ReuseTokenSource (the base column), same run"
	benchstat -filter '.name:TokenSource' -col '/impl@(oauth2.ReuseTokenSource snapauth)' "$anchors"
fi
