#!/usr/bin/env bash
# train.sh compares training throughput on the tutorial CNN (testdata/cifar_cnn,
# adam, sparse_categorical_crossentropy; 256 random 32x32x3 samples, batch 32):
# kerasrun's Fit (BenchmarkFitTutorialCNN) against Keras 3 model.fit on
# TensorFlow CPU (bench/train_tf.py), in the same run on the same machine, in
# alternating rounds, and prints samples/s and the ratio Go/TF (above 1: Go is
# faster). Extra arguments: the number of rounds (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
py="$(bash compat/python/venv.sh)/bin/python"
model=testdata/cifar_cnn/model_k3.keras
go test -c -o "${TMPDIR:-/tmp}/kerasrun-fit-bench" . >/dev/null
go_rates=() tf_rates=()
for r in $(seq "$rounds"); do
	g=$("${TMPDIR:-/tmp}/kerasrun-fit-bench" -test.run '^$' -test.bench 'BenchmarkFitTutorialCNN$' -test.benchtime 3x |
		awk '/samples\/s/ { for (i = 1; i < NF; i++) if ($(i+1) == "samples/s") print $i }')
	t=$("$py" bench/train_tf.py "$model" --epochs 3 2>/dev/null | awk '{ print $2 }')
	echo "round $r: kerasrun $g samples/s, tensorflow $t samples/s"
	go_rates+=("$g") tf_rates+=("$t")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
g=$(median "${go_rates[@]}") t=$(median "${tf_rates[@]}")
awk -v g="$g" -v t="$t" 'BEGIN { printf "median: kerasrun %.1f samples/s, tensorflow %.1f samples/s, ratio kerasrun/tensorflow %.2fx\n", g, t, g / t }'
