# kerasrun: the Go runtime for Keras models.
#
#   make demo      run `kerasrun predict` on a bundled example model
#   make test      go vet + all Go tests (no Python needed)
#   make compat    regenerate fixtures with real Keras and check Go against them; check
#                  that h5py, h5dump and Keras read back the files Go writes
#   make fixtures  regenerate testdata/ from real Keras (commit the result)
#   make bench     kernel and HDF5 benchmarks against OpenBLAS and h5py
#   make bench-serve  kerasrun serve vs KServe's Python model server (TensorFlow), same client
#   make bench-e2e    whole models vs TensorFlow tf.function and onnxruntime, one pinned core
#                  (slow: builds ResNet50 and friends; E2E_ARGS="--rounds 2 --models mlp,cnn")
#   make beam-test  the Apache Beam module (beam/, its own go.mod): RunInference on Beam's
#                  Prism runner, in process (downloads the Beam Go SDK on first use)
#   make serve-compat  tritonclient (HTTP, gRPC), TF Serving REST requests and perf_analyzer
#                  against `kerasrun serve` on bundled fixtures, checked against Keras's numbers

GO      ?= go
VENV     = $(shell bash compat/python/venv.sh)
PY       = $(VENV)/bin/python
DEMO     = testdata/mlp_relu
# Keep TensorFlow's start-up chatter out of the logs.
export TF_CPP_MIN_LOG_LEVEL = 3

.PHONY: all build demo test test-noasm fuzz race compat fixtures bench bench-serve bench-e2e serve-compat beam-test clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -o bin/kerasrun ./cmd/kerasrun

demo: build
	./bin/kerasrun summary $(DEMO)/model_k3.keras
	./bin/kerasrun predict $(DEMO)/model_k3.keras $(DEMO)/x.npy

test:
	$(GO) vet ./...
	$(GO) test ./...

# The portable kernels alone, as on a CPU without AVX2.
test-noasm:
	$(GO) test -tags noasm ./runtime/... ./layers/...

# Each fuzz target of the loaders, input readers and request decoders for
# FUZZTIME (30s by default; their seeds also run in make test), one after
# another on FUZZPARALLEL workers. An input that reaches new code is
# minimized for at most FUZZMINIMIZE executions: Go's default (60 s) spends
# a whole minute shrinking each new input of a 30-60 KiB seed byte by byte,
# in which the reported executions stand still.
FUZZTIME ?= 30s
FUZZMINIMIZE ?= 1000x
FUZZPARALLEL ?= 1
FUZZTARGETS = .:FuzzLoadKeras .:FuzzLoadKerasDir .:FuzzLoadH5 .:FuzzLoadJSONWeights .:FuzzLoadSharded \
	.:FuzzLoadPredict .:FuzzInspect .:FuzzReadNPY ./internal/npy:FuzzReadNPZ .:FuzzDecodeImage \
	./cmd/kerasrun:FuzzReadInputs ./serve:FuzzServeHTTP ./serve:FuzzServeGRPC
fuzz:
	for t in $(FUZZTARGETS); do \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) \
			-parallel $(FUZZPARALLEL) $${t%%:*} || exit 1; done

# The concurrency and soak tests under the race detector.
race:
	$(GO) test -race -count=1 -run 'TestConcurrent|TestSoak|TestFixedBatch' .

# Every golden file in the repository, from the pinned Keras and h5py. Each
# script writes to its package's testdata/ by default.
fixtures:
	$(PY) compat/python/export.py --out testdata
	$(PY) compat/python/export_fit.py --out testdata/fit
	$(PY) compat/python/export_augment.py
	$(PY) compat/python/export_transformer_models.py
	$(PY) compat/python/export_ops.py
	$(PY) compat/python/export_realworld.py
	$(PY) compat/python/export_legacy_conversions.py
	$(PY) compat/python/export_sharded.py
	$(PY) compat/python/export_optimizer_tolerance.py
	$(PY) compat/python/export_fixed_batch.py
	$(PY) compat/python/export_inputs.py
	$(PY) compat/python/export_stateful.py
	$(PY) compat/python/export_quirks.py
	$(PY) compat/python/export_keras2_layer_args.py kerasjson/keras2_layers.json
	$(PY) compat/python/export_train.py
	$(PY) compat/python/h5corpus.py
	$(PY) compat/python/npy_samples.py internal/npy/testdata
	$(PY) compat/python/kerasjson_configs.py generate keras3
	$(PY) compat/python/kerasjson_configs.py generate tfkeras
	for f in compat/python/export_layers_*.py; do $(PY) $$f || exit 1; done
	$(PY) compat/python/export_summary.py
	$(PY) compat/python/export_plot.py

# Fresh fixtures from the pinned Keras, Go checked against them, and the
# committed fixtures checked against what the exporter produces today.
compat:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	$(PY) compat/python/export.py --out $$tmp/testdata; \
	KERASRUN_TESTDATA=$$tmp/testdata $(GO) test -count=1 ./compat/...; \
	$(PY) compat/python/export_transformer_models.py --out $$tmp/transformer; \
	KERASRUN_TRANSFORMER_TESTDATA=$$tmp/transformer $(GO) test -count=1 -run TestTransformerModels ./compat/; \
	$(PY) compat/python/export_ops.py --out $$tmp/ops; \
	KERASRUN_OPS_TESTDATA=$$tmp/ops $(GO) test -count=1 -run TestOpsModels ./compat/; \
	$(PY) compat/python/export_applications.py --out $$tmp/applications; \
	KERASRUN_APPLICATIONS_TESTDATA=$$tmp/applications $(GO) test -count=1 -timeout 60m -run TestApplications ./compat/; \
	rm -rf $$tmp/applications; \
	$(PY) compat/python/compare_fixtures.py --slack 4 testdata $$tmp/testdata; \
	mkdir -p $$tmp/h5written $$tmp/saved; \
	KERASRUN_WRITE_CORPUS=$$tmp/h5written $(GO) test -count=1 -run TestWriteCorpus ./h5/; \
	$(PY) compat/python/check_h5_written.py $$tmp/h5written; \
	KERASRUN_SAVE_DIR=$$tmp/saved $(GO) test -count=1 -run TestWriteSaved .; \
	$(PY) compat/python/check_saved.py $$tmp/saved

# Ratios against references measured in the same run: kernels vs OpenBLAS,
# training vs TensorFlow, HDF5 reading vs h5py.
bench:
	bash bench/run.sh
	bash bench/train.sh
	bash bench/predict.sh
	bash bench/h5.sh

bench-serve:
	bash bench/serve.sh

bench-e2e:
	bash bench/e2e.sh $(E2E_ARGS)

# Real inference clients, in their own virtualenv (compat/serve/venv.sh).
serve-compat: build
	$$(bash compat/serve/venv.sh)/bin/python compat/serve/check_clients.py bin/kerasrun

# The Beam module (kerasbeam) has its own go.mod so that the core never
# depends on the Beam SDK; its tests run pipelines on Prism in process.
beam-test:
	cd beam && $(GO) vet ./... && $(GO) test ./...

clean:
	rm -rf bin
