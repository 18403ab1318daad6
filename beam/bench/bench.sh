#!/usr/bin/env bash
# Elements/s of kerasbeam.RunInference on the in-process Prism runner
# against a plain Go loop over Predict (the overhead of Beam), and against
# Python Beam's RunInference with its Keras model handler
# (TFModelHandlerNumpy, on the DirectRunner) and a plain Python loop over
# the Keras model: same .keras file, same samples, same batch size. Each
# measurement is its own process; modes alternate over the rounds; the
# medians are printed as a markdown table.
#
#   beam/bench/bench.sh [ROUNDS]          (default 3)
#
# The Python side runs in its own virtualenv (beam/bench/venv.sh, under
# ~/.cache/kerasrun); the samples are uniform random floats written by
# numpy into a temporary folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rounds=${1:-3}
venv=$("$here/venv.sh")
py="$venv/bin/python"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$here/.." && CGO_ENABLED=0 go build -o "$tmp/throughput" ./bench/throughput)
testdata=$(cd "$here/../../testdata" && pwd)

# name | model | samples | batch
cases=(
	"tutorial MLP (784-128-10)|$testdata/mlp_relu/model_k3.keras|20000|32"
	"CIFAR CNN (32x32x3)|$testdata/cifar_cnn/model_k3.keras|2000|32"
)
export TF_CPP_MIN_LOG_LEVEL=3
echo "| model | samples | batch | Go loop | Go Beam (Prism) | Python loop | Python Beam (DirectRunner) | Prism / Go loop | Go Beam / Python Beam |"
echo "|---|---|---|---|---|---|---|---|---|"
for c in "${cases[@]}"; do
	IFS='|' read -r name model n batch <<<"$c"
	data="$tmp/x.npy"
	"$py" - "$model" "$n" "$data" <<'PY'
import sys, zipfile, json
import numpy as np
model, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cfg = json.loads(zipfile.ZipFile(model).read("config.json"))
shape = cfg["config"]["layers"][0]["config"]["batch_shape"][1:]
np.save(out, np.random.default_rng(17).random((n, *shape), dtype=np.float32))
PY
	declare -A runs=()
	for r in $(seq "$rounds"); do
		for m in go-loop go-prism py-loop py-beam; do
			case $m in
			go-*) line=$("$tmp/throughput" --model "$model" --data "$data" --mode "${m#go-}" --batch "$batch" 2>"$tmp/err") ;;
			py-*) line=$("$py" "$here/throughput.py" --model "$model" --data "$data" --mode "${m#py-}" --batch "$batch" 2>"$tmp/err") ;;
			esac || { cat "$tmp/err" >&2; exit 1; }
			got=$(cut -f2 <<<"$line")
			[ "$got" = "$n" ] || { echo "bench.sh: $m scored $got of $n samples" >&2; cat "$tmp/err" >&2; exit 1; }
			runs[$m]+="$(cut -f4 <<<"$line") "
			echo "# $name round $r: $line" >&2
		done
	done
	med() { tr ' ' '\n' <<<"${runs[$1]}" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
	gl=$(med go-loop) gp=$(med go-prism) pl=$(med py-loop) pb=$(med py-beam)
	echo "| $name | $n | $batch | $gl/s | $gp/s | $pl/s | $pb/s | $(awk -v a="$gp" -v b="$gl" 'BEGIN{printf "%.2f", a/b}') | $(awk -v a="$gp" -v b="$pb" 'BEGIN{printf "%.2f", a/b}') |"
	unset runs
done
