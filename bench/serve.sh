#!/usr/bin/env bash
# make bench-serve: `kerasrun serve` (with and without --batching) against
# KServe's Python model server running the same Keras model on TensorFlow,
# same machine, same run, same client (bench/serveload: OIP v2 REST, JSON,
# batch 1) at concurrency 1, 8 and 32; then perf_analyzer (from
# compat/serve/venv.sh) against kerasrun serve alone, HTTP and gRPC, binary
# tensors. Prints Markdown tables.
set -euo pipefail
cd "$(dirname "$0")/.."
export TF_CPP_MIN_LOG_LEVEL=3
model=testdata/mlp_relu/model_k3.keras
secs=${BENCH_SECONDS:-5}
venv=$(bash compat/python/venv.sh)
root="${KERASRUN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kerasrun}"
kvenv="$root/kserve-venv-0.21.0"
if [ ! -f "$kvenv/.complete" ]; then
	rm -rf "$kvenv"
	python3 -m venv "$kvenv"
	"$kvenv/bin/pip" install -q --disable-pip-version-check kserve==0.21.0
	touch "$kvenv/.complete"
fi
ksite=$("$kvenv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
CGO_ENABLED=0 go build -o bin/kerasrun ./cmd/kerasrun
go build -o bin/serveload ./bench/serveload
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
python3 -c "import json; print(json.dumps({'id': '1', 'inputs': [{'name': 'input_layer', 'shape': [1, 784], 'datatype': 'FP32', 'data': [0.5] * 784}]}))" > "$tmp/req.json"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_ready() {
	for _ in $(seq 300); do
		curl -sf -o /dev/null "http://127.0.0.1:$1/v2/health/ready" && return 0
		sleep 0.2
	done
	echo "bench-serve: server on port $1 never became ready" >&2
	exit 1
}
run() { # label port
	for c in 1 8 32; do
		bin/serveload -url "http://127.0.0.1:$2/v2/models/mlp/infer" -body "$tmp/req.json" -c "$c" -d "${secs}s" -label "$1"
	done
}
echo "| server | concurrency | infer/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|"
start_kerasrun() { # mode: sets p, g, pid
	p=$(port)
	g=$(port)
	bin/kerasrun serve "$model" --model-name mlp --http "127.0.0.1:$p" --grpc "127.0.0.1:$g" --quiet $1 > "$tmp/kerasrun.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	wait_ready "$p"
}
for mode in "" "--batching"; do
	start_kerasrun "$mode"
	run "kerasrun serve${mode:+ $mode}" "$p"
	kill "$pid"
	wait "$pid" || true
done
p=$(port)
KSERVE_SITE="$ksite" "$venv/bin/python" bench/serve_kserve.py --model_name mlp --model_file "$model" \
	--http_port "$p" --grpc_port "$(port)" > "$tmp/kserve.log" 2>&1 &
pid=$!
pids+=("$pid")
wait_ready "$p"
run "KServe $("$kvenv/bin/python" -c 'import importlib.metadata as m; print(m.version("kserve"))') + TensorFlow (Keras $("$venv/bin/python" -c 'import keras; print(keras.__version__)'))" "$p"
kill "$pid"
wait "$pid" || true

# perf_analyzer: zeros as input (its random FP32 bytes hold NaNs, which the
# server refuses as Predict does).
pvenv=$(bash compat/serve/venv.sh)
LD_LIBRARY_PATH=$(ls -d "$pvenv"/lib/python3*/site-packages/nvidia/cuda_runtime/lib | head -1)
export LD_LIBRARY_PATH
echo
echo "| perf_analyzer → kerasrun serve | protocol | concurrency | infer/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|"
for mode in "" "--batching"; do
	start_kerasrun "$mode"
	for proto in http grpc; do
		u="127.0.0.1:$p"
		[ "$proto" = grpc ] && u="127.0.0.1:$g"
		for c in 1 8 32; do
			"$pvenv/perf/perf_analyzer" -m mlp -u "$u" -i "$proto" --input-data zero -b 1 \
				--concurrency-range "$c:$c" --measurement-interval $((secs * 1000)) --stability-percentage 50 -f "$tmp/pa.csv" > "$tmp/pa.log" 2>&1 ||
				{ cat "$tmp/pa.log" >&2; exit 1; }
			python3 -c 'import csv, sys
r = next(csv.DictReader(open(sys.argv[1])))
print("| kerasrun serve%s | %s | %s | %.0f | %.2f | %.2f |" % (sys.argv[2], sys.argv[3], r["Concurrency"], float(r["Inferences/Second"]), int(r["p50 latency"]) / 1000, int(r["p99 latency"]) / 1000))' \
				"$tmp/pa.csv" "${mode:+ $mode}" "$proto"
		done
	done
	kill "$pid"
	wait "$pid" || true
done
