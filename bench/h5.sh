#!/usr/bin/env bash
# h5.sh compares reading a ~100 MB Keras-style weights file with kerasrun's
# h5 package and with h5py, interleaved over rounds on the same file, and
# prints the medians and the ratio (h5py time / Go time: above 1 means Go
# is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
py="$(bash compat/python/venv.sh)/bin/python"
export H5BENCH_FILE="${H5BENCH_FILE:-${TMPDIR:-/tmp}/kerasrun-bench-weights.h5}"
rounds="${ROUNDS:-5}"
go test -c -o "${TMPDIR:-/tmp}/kerasrun-h5.test" ./h5/
go_ms=() py_ms=()
for ((i = 0; i < rounds; i++)); do
	ns=$("${TMPDIR:-/tmp}/kerasrun-h5.test" -test.run='^$' -test.bench=BenchmarkReadWeights -test.benchtime=5x | awk '/^BenchmarkReadWeights/ {print $3}')
	go_ms+=("$(awk -v ns="$ns" 'BEGIN {printf "%.1f", ns / 1e6}')")
	py_ms+=("$("$py" compat/python/bench_h5.py "$H5BENCH_FILE" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
g=$(median "${go_ms[@]}") p=$(median "${py_ms[@]}")
echo "read 100 MB of weights: kerasrun h5 ${g} ms, h5py ${p} ms (medians of $rounds rounds: go ${go_ms[*]} / h5py ${py_ms[*]})"
awk -v g="$g" -v p="$p" 'BEGIN {printf "speed ratio (h5py time / kerasrun time): %.2f\n", p / g}'
