#!/usr/bin/env bash
# h5.sh compares reading a ~100 MB Keras-style weights file with kerasrun's
# h5 package and with h5py, interleaved over rounds on the same file, in two
# ways: allocating each array (Dataset.Read vs ds[()]) and reading into
# memory allocated once, as a model loader does (Dataset.ReadFloat32Into vs
# ds.read_direct). It prints the medians and the ratios (h5py time /
# kerasrun time: above 1 means kerasrun is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
py="$(bash compat/python/venv.sh)/bin/python"
export H5BENCH_FILE="${H5BENCH_FILE:-${TMPDIR:-/tmp}/kerasrun-bench-weights.h5}"
rounds="${ROUNDS:-5}"
bin="${TMPDIR:-/tmp}/kerasrun-h5.test"
go test -c -o "$bin" ./h5/
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
for mode in alloc into; do
	bench=BenchmarkReadWeights flag=""
	if [ "$mode" = into ]; then bench=BenchmarkReadWeightsInto flag=--direct; fi
	go_ms=() py_ms=()
	for ((i = 0; i < rounds; i++)); do
		ns=$("$bin" -test.run='^$' -test.bench="^$bench\$" -test.benchtime=5x | awk -v b="$bench" '$1 ~ "^"b"(-[0-9]+)?$" {print $3}')
		go_ms+=("$(awk -v ns="$ns" 'BEGIN {printf "%.1f", ns / 1e6}')")
		py_ms+=("$("$py" compat/python/bench_h5.py $flag "$H5BENCH_FILE" | sed -n 's/.*median \([0-9.]*\) ms.*/\1/p')")
	done
	g=$(median "${go_ms[@]}") p=$(median "${py_ms[@]}")
	echo "read 100 MB of weights ($mode): kerasrun ${g} ms, h5py ${p} ms; medians of $rounds rounds (go ${go_ms[*]}; h5py ${py_ms[*]})"
	awk -v g="$g" -v p="$p" -v m="$mode" 'BEGIN {printf "  ratio h5py/kerasrun (%s): %.2f\n", m, p / g}'
done
