"""Records what the pinned Python Keras makes of every real-world model file.

Usage (with the virtualenv from venv.sh):

    python compat/python/export_realworld.py [--corpus ../shared/realworld] [--out testdata/realworld]

For every model file of the corpus (the table REALWORLD below, which must
match realworld_test.go), it loads the file with the Keras that reads it
(tf-keras 2.21 for Keras 1/2 .h5 and JSON + weights, Keras 3.15 for .keras),
predicts on a deterministic input and writes testdata/realworld/<case>/:

- <stem>.x<i>.npy: the inputs (float32; integer token ids for an Embedding),
- <stem>.y<i>.npy: Keras's outputs,
- keras.json: per file, whether Keras loaded it (and its error if not), the
  parameter counts of model.count_params(), and the npy names.

Files Keras cannot load (Keras 1 configs, marshalled Lambda bytecode, which
we never execute) are recorded with the error. Files written with the Theano
backend get Keras 2.x's kernel flip (conv_utils.convert_kernel), which
tf-keras no longer applies but every Keras 2 before it did; keras.json notes
it.

Each Keras version runs in its own process (the tf-keras and Keras 3
halves), single-threaded with deterministic ops.
"""

import argparse
import json
import os
import subprocess
import sys

os.environ.update(
    {
        "TF_DETERMINISTIC_OPS": "1",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "",
        "OMP_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
    }
)

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# (case, model file, weights file or "") — the same table as realworld_test.go.
REALWORLD = [
    ("dl4j-act-ELU_0", "ELU_0_model.h5", ""),
    ("dl4j-act-ELU_0", "ELU_0_config.json", "ELU_0_model.h5"),
    ("dl4j-act-LeakyReLU_0", "LeakyReLU_0_model.h5", ""),
    ("dl4j-act-LeakyReLU_0", "LeakyReLU_0_config.json", "LeakyReLU_0_model.h5"),
    ("dl4j-bidirectional_lstm_tf_2", "bidirectional_lstm_tensorflow_2.h5", ""),
    ("dl4j-causal_conv1d_k3_s1_d2_cl", "causal_conv1d_k3_s1_d2_cl_model.h5", ""),
    ("dl4j-causal_conv1d_k3_s1_d2_cl", "causal_conv1d_k3_s1_d2_cl_config.json", "causal_conv1d_k3_s1_d2_cl_model.h5"),
    ("dl4j-conv1d_k3_s2_d1_cf_same", "conv1d_k3_s2_d1_cf_same_model.h5", ""),
    ("dl4j-conv1d_k3_s2_d1_cf_same", "conv1d_k3_s2_d1_cf_same_config.json", "conv1d_k3_s2_d1_cf_same_model.h5"),
    ("dl4j-conv2d_th_2", "conv2d_theano_2.h5", ""),
    ("dl4j-embedding_lstm_th_1", "embedding_lstm_theano_1.h5", ""),
    ("dl4j-keras-attention", "keras-attention.h5", ""),
    ("dl4j-masking_zero_lstm", "masking_zero_lstm.h5", ""),
    ("dl4j-simple_lstm_tf_keras_1", "simple_lstm_tf_keras_1_model.h5", ""),
    ("dl4j-simple_lstm_tf_keras_1", "simple_lstm_tf_keras_1_config.json", "simple_lstm_tf_keras_1_weights.h5"),
    ("dl4j-simple_lstm_th_keras_1", "simple_lstm_th_keras_1_model.h5", ""),
    ("dl4j-simple_lstm_th_keras_1", "simple_lstm_th_keras_1_config.json", "simple_lstm_th_keras_1_weights.h5"),
    ("dl4j-simple_rnn_tf_keras_2", "simple_rnn_tf_keras_2_model.h5", ""),
    ("dl4j-simple_rnn_tf_keras_2", "simple_rnn_tf_keras_2_config.json", "simple_rnn_tf_keras_2_weights.h5"),
    ("dl4j-simpleconv2d_model-mixed-format", "simpleconv2d_model.hdf5", ""),
    ("dl4j-sparse_xent_mlp_keras_2", "simple_sparse_xent_mlp_keras_2_model.h5", ""),
    ("dl4j-sparse_xent_mlp_keras_2", "simple_sparse_xent_mlp_keras_2_config.json", "simple_sparse_xent_mlp_keras_2_weights.h5"),
    ("dl4j-tfkeras-cnn2d_64", "cnn2d_64.h5", ""),
    ("dl4j-tfscope", "model.h5", ""),
    ("dl4j-tfscope", "model.json", "model.weight"),
    ("gurobi-diabetes-keras3", "diabetes_v2.keras", ""),
    ("hls4ml-3layer-batchnorm", "KERAS_3layer_batch_norm.json", "KERAS_3layer_batch_norm_weights.h5"),
    ("hls4ml-jetTagger-conv2d", "jetTagger_Conv2D_Small.json", "jetTagger_Conv2D_Small_weights.h5"),
    ("keras2circom-best_practice-lambda", "best_practice.h5", ""),
    ("keras2cpp-mnist-cnn-th", "my_nn_arch.json", "my_nn_weights.h5"),
    ("keras3-ner-embedding-lstm", "model.keras", ""),
    ("keras3-nested-container", "pre_pr22362_nested_container.keras", ""),
    ("keras3-stock-lstm-functional", "model.keras", ""),
    ("lwtnn-btag-gru-multiio", "arch.json", "weights.h5"),
]

# Files this exporter does not hand to Keras, with the reason.
NOT_LOADED = {
    ("keras2circom-best_practice-lambda", "best_practice.h5"): (
        "Lambda layers hold marshalled Python bytecode: loading them runs "
        "arbitrary code (Keras refuses without safe_mode=False), so the exporter never does"
    ),
}

BATCH = 2
FREE_DIM = 4  # stands for None in a non-batch dimension


def stem(model_file):
    return os.path.splitext(model_file)[0]


def deterministic_input(shape, index, embedding_dim=None):
    shape = [BATCH if i == 0 and d is None else (FREE_DIM if d is None else d) for i, d in enumerate(shape)]
    n = int(np.prod(shape))
    if embedding_dim:
        return (np.arange(n) % embedding_dim).astype(np.float32).reshape(shape)
    return np.sin(np.arange(n, dtype=np.float64) * 0.731 + 0.37 * index).astype(np.float32).reshape(shape)


def embedding_dims(model):
    """input_dim of an Embedding fed directly by each model input, else None."""
    dims = {}
    for layer in model.layers:
        if layer.__class__.__name__ != "Embedding":
            continue
        for node in getattr(layer, "_inbound_nodes", []):
            for t in getattr(node, "input_tensors", []) or []:
                dims[id(t)] = layer.input_dim
    out = []
    for t in model.inputs:
        d = dims.get(id(t))
        if d is None and model.layers and model.layers[0].__class__.__name__ == "Embedding":
            d = model.layers[0].input_dim
        out.append(d)
    return out


def flip_theano_kernels(model, path):
    """Keras 2.x's convert_kernel for files written by the Theano backend."""
    import h5py

    with h5py.File(path, "r") as f:
        g = f["model_weights"] if "model_weights" in f else f
        backend = g.attrs.get("backend")
    if hasattr(backend, "decode"):
        backend = backend.decode()
    if backend != "theano":
        return ""
    flipped = []
    for layer in model.layers:
        if layer.__class__.__name__ in ("Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose"):
            w = layer.get_weights()
            k = w[0]
            w[0] = np.copy(k[tuple([slice(None, None, -1)] * (k.ndim - 2) + [slice(None), slice(None)])])
            layer.set_weights(w)
            flipped.append(layer.name)
    if not flipped:
        return ""
    return "Theano backend: kernels of %s flipped as Keras 2.x's preprocess_weights_for_loading did" % ", ".join(flipped)


def load(half, corpus, case, model_file, weights_file):
    path = os.path.join(corpus, case, model_file)
    if half == "k3":
        import keras

        return keras.saving.load_model(path, compile=False), "keras " + keras.__version__
    import tf_keras

    if model_file.endswith(".json"):
        with open(path) as f:
            model = tf_keras.models.model_from_json(f.read())
        model.load_weights(os.path.join(corpus, case, weights_file))
    else:
        model = tf_keras.models.load_model(path, compile=False)
    return model, "tf_keras " + tf_keras.__version__


def run_half(half, corpus, out):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()
    results = []
    for case, model_file, weights_file in REALWORLD:
        if (model_file.endswith(".keras")) != (half == "k3"):
            continue
        entry = {"case": case, "model": model_file, "weights": weights_file}
        results.append(entry)
        if (case, model_file) in NOT_LOADED:
            entry["loaded"] = False
            entry["error"] = NOT_LOADED[(case, model_file)]
            continue
        try:
            model, reader = load(half, corpus, case, model_file, weights_file)
        except Exception as e:  # noqa: BLE001 - the error is the result
            entry["loaded"] = False
            entry["error"] = ("%s: %s" % (type(e).__name__, e)).splitlines()[0][:300]
            continue
        entry["loaded"] = True
        entry["reader"] = reader
        note = ""
        if half == "k2":
            note = flip_theano_kernels(model, os.path.join(corpus, case, weights_file or model_file))
        entry["note"] = note
        trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
        total = int(model.count_params())
        entry["params"] = {"total": total, "trainable": trainable, "non_trainable": total - trainable}
        os.makedirs(os.path.join(out, case), exist_ok=True)
        xs = []
        for i, (t, emb) in enumerate(zip(model.inputs, embedding_dims(model))):
            shape = list(t.shape)
            x = deterministic_input(shape, i, emb)
            xs.append(x)
        try:
            ys = model(xs[0] if len(xs) == 1 else xs, training=False)
        except Exception as e:  # noqa: BLE001 - e.g. channels_first conv on CPU
            entry["predict_error"] = ("%s: %s" % (type(e).__name__, e)).splitlines()[0][:300]
            continue
        if not isinstance(ys, (list, tuple)):
            ys = [ys]
        if isinstance(ys, dict):
            ys = list(ys.values())
        entry["inputs"], entry["outputs"] = [], []
        for i, x in enumerate(xs):
            name = "%s.x%d.npy" % (stem(model_file), i)
            np.save(os.path.join(out, case, name), x)
            entry["inputs"].append(name)
        for i, y in enumerate(ys):
            name = "%s.y%d.npy" % (stem(model_file), i)
            np.save(os.path.join(out, case, name), np.asarray(y, dtype=np.float32))
            entry["outputs"].append(name)
    with open(os.path.join(out, "_%s.json" % half), "w") as f:
        json.dump(results, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(HERE, "..", "..", "..", "shared", "realworld"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "testdata", "realworld"))
    ap.add_argument("--half", choices=["k2", "k3"])
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.half:
        run_half(args.half, args.corpus, args.out)
        return
    for half in ("k2", "k3"):
        env = dict(os.environ)
        env.pop("TF_USE_LEGACY_KERAS", None)
        env["KERAS_BACKEND"] = "tensorflow"
        subprocess.run([sys.executable, __file__, "--half", half, "--corpus", args.corpus, "--out", args.out], check=True, env=env)
    merged = {}
    for half in ("k2", "k3"):
        p = os.path.join(args.out, "_%s.json" % half)
        with open(p) as f:
            for e in json.load(f):
                merged.setdefault(e["case"], []).append(e)
        os.remove(p)
    for case, entries in merged.items():
        os.makedirs(os.path.join(args.out, case), exist_ok=True)
        with open(os.path.join(args.out, case, "keras.json"), "w") as f:
            json.dump({"case": case, "files": entries}, f, indent=1, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
