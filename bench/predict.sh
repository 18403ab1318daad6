#!/usr/bin/env bash
# predict.sh measures Predict on the tutorial CNN and MLP (batches of 1 and
# 32; BenchmarkPredictTutorial) with the assembly kernels and with the
# portable ones (-tags noasm), in alternating rounds of the same run, and
# prints samples/s of both and the speed-up asm/portable per case (medians).
# Extra arguments: the number of rounds (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/asm" . >/dev/null
go test -c -tags noasm -o "$tmp/noasm" . >/dev/null
run() {
	"$1" -test.run '^$' -test.bench 'BenchmarkPredictTutorial$' -test.benchtime 1s |
		awk '/samples\/s/ { name = $1; sub(/^BenchmarkPredictTutorial\//, "", name); sub(/-[0-9]+$/, "", name)
			for (i = 1; i < NF; i++) if ($(i+1) == "samples/s") print name, $i }'
}
for r in $(seq "$rounds"); do
	run "$tmp/asm" | sed 's/^/asm /' >>"$tmp/rates"
	run "$tmp/noasm" | sed 's/^/portable /' >>"$tmp/rates"
	echo "round $r done" >&2
done
awk '
	{ v[$1 " " $2] = v[$1 " " $2] " " $3; cases[$2] = 1 }
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return a[int((n + 1) / 2)]
	}
	END {
		printf "%-20s %14s %14s %9s\n", "case", "asm samples/s", "portable", "speed-up"
		for (c in cases) {
			a = median(v["asm " c]); p = median(v["portable " c])
			printf "%-20s %14.1f %14.1f %8.2fx\n", c, a, p, a / p
		}
	}' "$tmp/rates" | sort
