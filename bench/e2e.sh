#!/usr/bin/env bash
# e2e.sh (make bench-e2e): kerasrun against TensorFlow (tf.function) and
# onnxruntime on the models of issue 14, end to end; see bench/e2e.py.
# Extra arguments go to e2e.py (e.g. --rounds 2 --models mlp,cnn).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(bash bench/venv-e2e.sh)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TF_CPP_MIN_LOG_LEVEL=3
go build -o "$tmp/e2e" ./bench/e2e
"$venv/bin/python" bench/e2e.py --kerasrun-bin "$tmp/e2e" "$@"
