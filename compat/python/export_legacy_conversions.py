"""Records tf-keras's own weight conversions for legacy HDF5 files.

Usage (with the virtualenv from venv.sh):

    python compat/python/export_legacy_conversions.py [--corpus ../shared/realworld] [--out testdata/legacy_convert.json]

tf_keras.src.saving.legacy.hdf5_format.preprocess_weights_for_loading
converts weights as Keras 2 did on load: Keras 1 split LSTM/GRU gates merged,
Keras 1 conv kernel layouts, CuDNNLSTM/CuDNNGRU <-> LSTM/GRU. The function
looks only at the layer's class name (and a few attributes), so each case
gives it a stand-in object of that class name. Inputs are either weights read
from a real-world file (referenced by path, not copied) or small synthetic
arrays stored in the JSON. Outputs are stored as shape + SHA-256 of the
little-endian float32 bytes + the first values, so the file stays small.
"""

import argparse
import hashlib
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
from tf_keras.src.saving.legacy import hdf5_format  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def standin(class_name, **attrs):
    cls = type(class_name, (), {})
    obj = cls()
    for k, v in attrs.items():
        setattr(obj, k, v)
    return obj


def read_group(corpus, path, layer):
    with h5py.File(os.path.join(corpus, path), "r") as f:
        g = f["model_weights"] if "model_weights" in f else f
        lg = g[layer]
        names = [n.decode() if isinstance(n, bytes) else n for n in lg.attrs["weight_names"]]
        return [np.asarray(lg[n], dtype=np.float32) for n in names]


def describe(arrays):
    out = []
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a, dtype="<f4"))
        out.append(
            {
                "shape": list(a.shape),
                "sha256": hashlib.sha256(a.tobytes()).hexdigest(),
                "head": [float(v) for v in a.reshape(-1)[:6]],
            }
        )
    return out


def synthetic(shapes, seed):
    arrays = []
    for i, s in enumerate(shapes):
        n = int(np.prod(s))
        arrays.append((np.arange(n, dtype=np.float32) * 0.25 + seed * 10 + i * 100).reshape(s))
    return arrays


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(HERE, "..", "..", "..", "shared", "realworld"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "testdata", "legacy_convert.json"))
    args = ap.parse_args()

    cases = []

    def add(name, layer, weights, version, source, inputs_from=None):
        outs = hdf5_format.preprocess_weights_for_loading(layer, [np.copy(w) for w in weights], version, None)
        c = {
            "name": name,
            "class_name": layer.__class__.__name__,
            "reset_after": bool(getattr(layer, "reset_after", False)),
            "data_format": getattr(layer, "data_format", ""),
            "filters": getattr(layer, "filters", 0),
            "kernel_size": list(getattr(layer, "kernel_size", ())),
            "target_shapes": [list(w.shape) for w in getattr(layer, "weights", [])],
            "keras_version": version,
            "outputs": describe(outs),
        }
        if inputs_from:
            c["file"], c["layer"] = inputs_from
        else:
            c["inputs"] = [{"shape": list(w.shape), "data": [float(v) for v in w.reshape(-1)]} for w in weights]
        c["source"] = source
        cases.append(c)
        return outs

    # Keras 1 LSTM with split gates (i, c, f, o), from real Keras 1.2.2 files.
    for path in (
        "dl4j-embedding_lstm_th_1/embedding_lstm_theano_1.h5",
        "dl4j-simple_lstm_tf_keras_1/simple_lstm_tf_keras_1_weights.h5",
        "dl4j-simple_lstm_th_keras_1/simple_lstm_th_keras_1_model.h5",
    ):
        w = read_group(args.corpus, path, "lstm_1")
        merged = add("keras1_lstm:" + path, standin("LSTM"), w, "1", "Keras 1.2.2 file", (path, "lstm_1"))
    # LSTM -> CuDNNLSTM and back, on the merged weights of the small file.
    w = read_group(args.corpus, "dl4j-embedding_lstm_th_1/embedding_lstm_theano_1.h5", "lstm_1")
    merged = hdf5_format.preprocess_weights_for_loading(standin("LSTM"), w, "1", None)
    cudnn = add("lstm_to_cudnnlstm", standin("CuDNNLSTM"), merged, "2.21.0", "merged Keras 1 LSTM weights")
    add("cudnnlstm_to_lstm", standin("LSTM"), cudnn, "2.21.0", "the CuDNNLSTM weights above")
    # Keras 1 GRU: 9 split arrays (z, r, h), synthetic.
    units, dim = 2, 3
    add("keras1_gru", standin("GRU", reset_after=False), synthetic([(dim, units), (units, units), (units,)] * 3, 1), "1", "synthetic")
    # CuDNNGRU <-> GRU(reset_after=True), synthetic.
    cudnn_gru = synthetic([(dim, 3 * units), (units, 3 * units), (6 * units,)], 2)
    gru = add("cudnngru_to_gru", standin("GRU", reset_after=True), cudnn_gru, "2.21.0", "synthetic")
    add("gru_to_cudnngru", standin("CuDNNGRU"), gru, "2.21.0", "the GRU weights above")
    # Keras 1 Conv1D (filter_length, 1, input_dim, filters) and Conv2D channels_first.
    add("keras1_conv1d", standin("Conv1D", kernel_size=(3,), filters=2, weights=[np.zeros((3, 4, 2))]),
        synthetic([(3, 1, 4, 2), (2,)], 3), "1", "synthetic")
    add("keras1_conv2d_channels_first", standin("Conv2D", data_format="channels_first", weights=[np.zeros((3, 3, 1, 4))]),
        synthetic([(4, 1, 3, 3), (4,)], 4), "1", "synthetic")

    with open(args.out, "w") as f:
        json.dump({"generator": "compat/python/export_legacy_conversions.py", "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
