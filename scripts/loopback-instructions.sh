#!/usr/bin/env bash
# loopback-instructions.sh counts the CPU instructions one loopback request
# costs (client and server together, BenchmarkLoopback at 8 clients) in each
# mode, with valgrind's callgrind: a count, not a time, so that it is the
# same on a loaded machine as on an idle one. Each mode runs at two request
# counts and the difference is divided by the difference in requests, so
# start-up (the server, the connections, the test binary) drops out.
# It then lists the functions whose own instructions differ most between
# snapauth and the control (oauth2 sending the same five headers, unsigned).
# GOMAXPROCS=1: valgrind runs one thread at a time, and with more Ps the Go
# scheduler's spinning (idle Ps looking for work) adds counts that change
# from run to run; with one P the counts repeat to within about 1%.
# Not run in CI (valgrind slows the process ~50x: a few minutes in all).
#
# Usage: scripts/loopback-instructions.sh   (N1=1000 N2=3000 CLIENTS=8 OUT=DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
command -v valgrind >/dev/null || { echo "valgrind is needed (Debian: apt-get install valgrind)" >&2; exit 1; }
N1="${N1:-1000}"
N2="${N2:-3000}"
CLIENTS="${CLIENTS:-8}"
OUT="${OUT:-$(mktemp -d)}"
go test -c -o "$OUT/snapauth.test" .
modes=(plain oauth2 oauth2+snapheaders snapauth)

# own FILE: "instructions function" per function, its own (exclusive) cost.
own() {
	callgrind_annotate --threshold=100 --tree=none --auto=no "$1" 2>/dev/null | awk '
		match($0, /^ *[0-9,]+ \( *[0-9.]+%\) +/) {
			n = $1; gsub(",", "", n); f = substr($0, RLENGTH + 1)
			sub(/ \[.*\]$/, "", f); sub(/^[^:]*:/, "", f); sub(/'"'"'[0-9]+$/, "", f); c[f] += n
		}
		END { for (f in c) if (f != "PROGRAM TOTALS") print c[f], f }'
}

echo "== instructions per request, loopback HTTP, $CLIENTS clients, 1 KiB bodies (callgrind, ($N2 - $N1) requests)"
echo "| mode | instructions/request | / oauth2 |"
echo "|---|---|---|"
declare -A per
for m in "${modes[@]}"; do
	re="Loopback/clients=$CLIENTS/mode=${m//+/\\+}\$"
	for n in "$N1" "$N2"; do
		GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$OUT/$m.$n.out" \
			"$OUT/snapauth.test" -test.run '^$' -test.bench "$re" -test.benchtime "${n}x" >"$OUT/$m.$n.log" 2>"$OUT/$m.$n.err"
		own "$OUT/$m.$n.out" >"$OUT/$m.$n.own"
	done
	a=$(grep -o 'Collected : [0-9]*' "$OUT/$m.$N1.err" | grep -o '[0-9]*$')
	b=$(grep -o 'Collected : [0-9]*' "$OUT/$m.$N2.err" | grep -o '[0-9]*$')
	per[$m]=$(((b - a) / (N2 - N1)))
done
for m in "${modes[@]}"; do
	awk -v m="$m" -v v="${per[$m]}" -v o="${per[oauth2]}" 'BEGIN { printf "| %s | %d | %.2fx |\n", m, v, v / o }'
done

# perreq MODE: "instructions/request function" from the two runs.
perreq() {
	awk -v d=$((N2 - N1)) 'FNR == NR { a[$2] = $1; next } { print ($1 - a[$2]) / d, $2 }' "$OUT/$1.$N1.own" "$OUT/$1.$N2.own"
}
echo
echo "== own instructions per request: the 20 functions snapauth adds most to over the control"
echo "| function | control | snapauth | difference |"
echo "|---|---|---|---|"
awk 'FNR == NR { c[$2] = $1; next } { s[$2] = $1 } END { for (f in s) printf "%d %s %d %d\n", s[f] - c[f], f, c[f], s[f] }' \
	<(perreq oauth2+snapheaders) <(perreq snapauth) | sort -k1,1nr | head -20 |
	awk '{ printf "| %s | %d | %d | %+d |\n", $2, $3, $4, $1 }'
echo
echo "raw output: $OUT"
