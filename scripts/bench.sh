#!/usr/bin/env bash
# bench.sh reproduces every figure of BENCHMARKS.md. It builds the root
# package's test binary once and runs its benchmarks in ROUNDS interleaved
# rounds (each round runs every benchmark once, -benchmem), so that load on
# a shared machine hits all of them alike; then it prints:
#   1. benchstat of every benchmark (median ± 95% CI over the rounds);
#   2. the body-size table, 0 B to 32 MiB: snapauth.Transport's signed
#      RoundTrip against the strict floor (json.Compact into a reused buffer,
#      SHA-256, hex, a pre-keyed HMAC-SHA512 reused with Reset, base64), as
#      the median over rounds of each round's own ratio, by wall time and by
#      process CPU time, with MiB/s, B/op as a multiple of the body, allocs;
#   3. the asymmetric path against its floor (RSA signing), the same way;
#   4. the loopback HTTP table: requests/s for 1, 8 and 64 clients with a
#      plain http.Client, oauth2.Transport, the oauth2+snapheaders control
#      and snapauth.Transport, with snapauth's ratio to oauth2 and to plain
#      (median of per-round ratios), and CPU µs per request;
#   5. benchstat's own side-by-side view of the same runs (-col /impl, /mode);
#   6. Minify against Minify as it was at BASELINE (the commit before the
#      one-pass minifier), built from git and run in the same rounds;
#   7. the stall at renewal: the slowest Token() while a due token is
#      renewed, as a fraction of the fetch's latency, for our cached source
#      and oauth2.ReuseTokenSource (BenchmarkRenewal, median over rounds).
# About 3-4 minutes with the defaults on a 2-core machine. Not run in CI.
# benchstat (golang.org/x/perf) is installed at a pinned version if missing.
#
# Usage: scripts/bench.sh
#   ROUNDS=6        interleaved rounds (benchstat wants >= 6 for its CIs)
#   BENCHTIME=300ms -benchtime of the in-process benchmarks
#   BIGTIME=2s      -benchtime of the 32 MiB RoundTrip (one op takes
#                   ~150 ms: 300ms would time one or two ops)
#   LOOPTIME=300ms  -benchtime of each loopback benchmark
#   OUT=DIR         where the raw output is kept (default: a temp dir, printed)
#   BASELINE=REV    the commit Minify is compared with (default cb48fe4;
#                   skipped outside a git checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH:$(go env GOPATH)/bin"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

BENCHSTAT_VERSION=v0.0.0-20260908200009-22c9c6c9d4da
ROUNDS="${ROUNDS:-6}"
BENCHTIME="${BENCHTIME:-300ms}"
BIGTIME="${BIGTIME:-2s}"
LOOPTIME="${LOOPTIME:-300ms}"
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
micro="$OUT/micro.txt"
loop="$OUT/loopback.txt"
renewal="$OUT/renewal.txt"
: >"$micro"
: >"$loop"
: >"$renewal"

if ! command -v benchstat >/dev/null; then
	echo "== installing benchstat $BENCHSTAT_VERSION" >&2
	go install "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION"
fi

echo "== machine"
go version
uname -srm
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
echo "cpu: ${cpu:-unknown}, $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') logical CPUs, GOMAXPROCS=${GOMAXPROCS:-default}"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo "raw output: $OUT"

go test -c -o "$OUT/snapauth.test" .
BASELINE="${BASELINE:-cb48fe4}"
baseline=""
if git rev-parse -q --verify "$BASELINE^{commit}" >/dev/null 2>&1; then
	mkdir -p "$OUT/baseline"
	git archive "$BASELINE" | tar -x -C "$OUT/baseline"
	# The same BenchmarkMinify, on the old Minify: today's file, and the old
	# tree's own BenchmarkMinify renamed out of the way.
	sed -i 's/^func BenchmarkMinify(/func benchmarkMinifyBefore(/' "$OUT"/baseline/*_test.go
	cp minify_bench_test.go "$OUT/baseline/"
	(cd "$OUT/baseline" && go test -c -o "$OUT/baseline.test" .) && baseline="$OUT/baseline.test"
fi
minold="$OUT/minify-baseline.txt"
: >"$minold"
micro_re='^Benchmark(RoundTripRSA|Transport|SigningFloor|OAuth2Transport|ServiceSignature|NewExternalID|TokenSource)$'
for r in $(seq "$ROUNDS"); do
	echo "== round $r/$ROUNDS" >&2
	"$OUT/snapauth.test" -test.run '^$' -test.bench '^BenchmarkRoundTrip$/^body=(0B|1KiB|16KiB|256KiB|1MiB|4MiB)$' -test.benchmem -test.benchtime "$BENCHTIME" >>"$micro"
	"$OUT/snapauth.test" -test.run '^$' -test.bench '^BenchmarkRoundTrip$/^body=32MiB$' -test.benchmem -test.benchtime "$BIGTIME" >>"$micro"
	"$OUT/snapauth.test" -test.run '^$' -test.bench "$micro_re" -test.benchmem -test.benchtime "$BENCHTIME" >>"$micro"
	"$OUT/snapauth.test" -test.run '^$' -test.bench '^BenchmarkMinify$' -test.benchmem -test.benchtime "$BENCHTIME" >>"$micro"
	if [ -n "$baseline" ]; then # right after the new Minify ran, as its neighbour in time
		"$baseline" -test.run '^$' -test.bench '^BenchmarkMinify$' -test.benchmem -test.benchtime "$BENCHTIME" >>"$minold"
	fi
	"$OUT/snapauth.test" -test.run '^$' -test.bench '^BenchmarkLoopback$' -test.benchmem -test.benchtime "$LOOPTIME" >>"$loop"
	"$OUT/snapauth.test" -test.run '^$' -test.bench '^BenchmarkRenewal$' -test.benchtime 25x >>"$renewal"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"

echo
echo "== benchstat: every benchmark, $ROUNDS rounds"
benchstat "$micro"
echo
benchstat "$loop"

# median KEY VALUE lines -> "KEY median" per key (input order of keys kept).
median() {
	sort -k1,1 -k2,2g | awk '
		{ if ($1 != key) { if (key != "") out(); key = $1; c = 0 } vals[++c] = $2 }
		function out() { m = (c % 2) ? vals[(c + 1) / 2] : (vals[c / 2] + vals[c / 2 + 1]) / 2; print key, m }
		END { if (key != "") out() }'
}

# Per round, each snapauth line follows its floor line of the same body.
pairs() { # pairs FILE NAME: per-round figures of BenchmarkNAME/body=X/impl=...
	awk -v name="$2" '
	$1 ~ "^Benchmark" name "/body=" {
		split($1, p, "/"); body = substr(p[2], 6); impl = p[3]; sub(/^impl=/, "", impl); sub(/-[0-9]+$/, "", impl)
		delete u; for (i = 3; i < NF; i += 2) u[$(i + 1)] = $i
		if (impl == "strict-floor") { fns[body] = u["ns/op"]; fcpu[body] = u["cpu-ns/op"]; next }
		if (!(body in fns)) next
		bytes = u["MB/s"] * u["ns/op"] / 1000
		print body, "wall", u["ns/op"] / fns[body]
		if (fcpu[body] > 0 && u["cpu-ns/op"] > 0) print body, "cpu", u["cpu-ns/op"] / fcpu[body]
		print body, "ns", u["ns/op"]
		print body, "mibs", u["MB/s"] * 1e6 / 1048576
		print body, "bmult", (bytes > 0 ? u["B/op"] / bytes : 0)
		print body, "bop", u["B/op"]
		print body, "allocs", u["allocs/op"]
		delete fns[body]
	}' "$1"
}

table() { # table FILE NAME TITLE
	pairs "$1" "$2" | awk '{ print $1 "|" $2, $3 }' | median | awk -F'[| ]' -v title="$3" '
		{ v[$1, $2] = $3; seen[$1] = 1 }
		END {
			k = split("0B 1KiB 16KiB 256KiB 1MiB 4MiB 32MiB", order, " ")
			print ""; print "== " title
			print "| body | snapauth / strict floor (wall) | (CPU time) | snapauth ns/op | MiB/s | B/op | B/op ÷ body | allocs/op |"
			print "|---|---|---|---|---|---|---|---|"
			for (i = 1; i <= k; i++) { b = order[i]; if (!(b in seen)) continue
				printf "| %s | %.2fx | %.2fx | %.0f | %s | %.0f | %s | %.0f |\n", b, v[b, "wall"], v[b, "cpu"], v[b, "ns"],
					(v[b, "mibs"] > 0 ? sprintf("%.0f", v[b, "mibs"]) : "-"), v[b, "bop"],
					(v[b, "bmult"] > 0 ? sprintf("%.2fx", v[b, "bmult"]) : "-"), v[b, "allocs"] }
		}'
}
table "$micro" RoundTrip "signed RoundTrip against the strict floor, by body size (median of $ROUNDS per-round ratios)"
table "$micro" RoundTripRSA "asymmetric (SHA256withRSA) RoundTrip against its floor (median of $ROUNDS per-round ratios)"

# The loopback table: per round, each clients= group has all four modes.
awk '
	$1 ~ /^BenchmarkLoopback\/clients=/ {
		split($1, p, "/"); c = substr(p[2], 9); m = p[3]; sub(/^mode=/, "", m); sub(/-[0-9]+$/, "", m)
		delete u; for (i = 3; i < NF; i += 2) u[$(i + 1)] = $i
		rps[c, m] = u["req/s"]; cpu[c, m] = u["cpu-µs/req"]
		print c "|rps-" m, u["req/s"]; print c "|cpu-" m, u["cpu-µs/req"]
		if (m == "snapauth" && rps[c, "oauth2"] > 0 && rps[c, "plain"] > 0) {
			print c "|vs-oauth2", u["req/s"] / rps[c, "oauth2"]
			print c "|vs-plain", u["req/s"] / rps[c, "plain"]
			print c "|ctl-vs-oauth2", rps[c, "oauth2+snapheaders"] / rps[c, "oauth2"]
		}
	}' "$loop" | median | awk -F'[| ]' -v rounds="$ROUNDS" '
	{ v[$1, $2] = $3; seen[$1] = 1 }
	END {
		k = split("1 8 64", order, " ")
		print ""; print "== loopback HTTP, 1 KiB bodies, server verifying every signature (median of " rounds " rounds)"
		print "| clients | plain req/s | oauth2 req/s | oauth2+snapheaders req/s | snapauth req/s | snapauth / oauth2 | snapauth / plain | control / oauth2 | CPU µs/req plain, oauth2, control, snapauth |"
		print "|---|---|---|---|---|---|---|---|---|"
		for (i = 1; i <= k; i++) { c = order[i]; if (!(c in seen)) continue
			printf "| %s | %.0f | %.0f | %.0f | %.0f | %.2fx | %.2fx | %.2fx | %.1f, %.1f, %.1f, %.1f |\n", c,
				v[c, "rps-plain"], v[c, "rps-oauth2"], v[c, "rps-oauth2+snapheaders"], v[c, "rps-snapauth"],
				v[c, "vs-oauth2"], v[c, "vs-plain"], v[c, "ctl-vs-oauth2"],
				v[c, "cpu-plain"], v[c, "cpu-oauth2"], v[c, "cpu-oauth2+snapheaders"], v[c, "cpu-snapauth"] }
	}'

echo
echo "== benchstat: RoundTrip, strict floor (base column) vs snapauth"
benchstat -filter '.name:(RoundTrip OR RoundTripRSA)' -col '/impl@(strict-floor snapauth)' "$micro"
echo
echo "== benchstat: loopback, oauth2 (base column) vs the other modes"
benchstat -col '/mode@(oauth2 plain oauth2+snapheaders snapauth)' "$loop"

if [ -s "$minold" ]; then
	echo
	echo "== Minify now against Minify at $BASELINE, same rounds (median of per-round throughput ratios)"
	{ grep '^BenchmarkMinify/' "$minold" | sed 's/^/old /'; grep '^BenchmarkMinify/' "$micro" | sed 's/^/new /'; } | awk '
		{ name = $2; sub(/-[0-9]+$/, "", name); for (i = 3; i < NF; i++) if ($(i + 1) == "MB/s") v = $i
		  if ($1 == "old") old[name, ++no[name]] = v; else { r = ++nn[name]; if ((name, r) in old) print name, v / old[name, r] } }' |
		median | awk '{ printf "| %s | %.2fx |\n", $1, $2 }'
	echo
	benchstat "$minold" <(grep -E '^(Benchmark(Minify)/|goos|goarch|pkg|cpu)' "$micro")
fi

echo
echo "== stall at renewal: slowest Token() while a due token is renewed, / the fetch's latency (median of $ROUNDS rounds)"
echo "| source | slowest/fetch (median iteration) | worst/fetch (worst iteration) |"
echo "|---|---|---|"
awk '$1 ~ /^BenchmarkRenewal\/impl=/ {
		impl = $1; sub(/^BenchmarkRenewal\/impl=/, "", impl); sub(/-[0-9]+$/, "", impl)
		for (i = 3; i < NF; i++) { if ($(i + 1) == "slowest/fetch") print impl "|slowest", $i; if ($(i + 1) == "worst/fetch") print impl "|worst", $i }
	}' "$renewal" | median | awk -F'[| ]' '{ v[$1, $2] = $3; seen[$1] = 1 }
	END { for (impl in seen) printf "| %s | %.4f | %.4f |\n", impl, v[impl, "slowest"], v[impl, "worst"] }' | sort
