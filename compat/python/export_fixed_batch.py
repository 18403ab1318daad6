"""Writes testdata/fixed_batch: models whose inputs declare a fixed batch
size (batch_input_shape [25, 1, 1]), scored by tf-keras's
predict(x, batch_size=25) on more samples than one batch.

Usage (with the virtualenv from venv.sh):

    python compat/python/export_fixed_batch.py [--out testdata/fixed_batch] [--corpus ../shared/realworld]

Cases:

- "dl4j_simple_rnn": the real third-party file
  ../shared/realworld/dl4j-simple_rnn_tf_keras_2/simple_rnn_tf_keras_2_model.h5
  (Keras 2.1.3, SimpleRNN, batch_input_shape [25, 1, 1], not stateful),
  used in place, not copied; Keras 3 cannot load it, tf-keras can.
- "own_lstm": a tf-keras Sequential LSTM built here with
  batch_input_shape [4, 3, 2], saved as .h5.

Each case is predicted on 100 (or 12) samples, a multiple of the fixed
batch size, and on 90 (or 10), which is not: tf-keras runs the last,
shorter batch as it is. cases.json records files, inputs, Keras's
predictions and the tolerance.
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tf_keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
REALWORLD_FILE = "dl4j-simple_rnn_tf_keras_2/simple_rnn_tf_keras_2_model.h5"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "testdata", "fixed_batch"))
    ap.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "realworld"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    tf_keras.utils.set_random_seed(7)

    own = tf_keras.Sequential([
        tf_keras.layers.LSTM(5, batch_input_shape=(4, 3, 2)),
        tf_keras.layers.Dense(2),
    ])
    own_path = os.path.join(args.out, "own_lstm.h5")
    own.save(own_path)

    models = [
        ("dl4j_simple_rnn", REALWORLD_FILE, os.path.join(args.corpus, REALWORLD_FILE), (1, 1), 25, (100, 90)),
        ("own_lstm", "own_lstm.h5", own_path, (3, 2), 4, (12, 10)),
    ]
    cases = []
    rng = np.random.RandomState(0)
    for name, rel, path, feat, fb, counts in models:
        model = tf_keras.models.load_model(path, compile=False)
        for n in counts:
            x = rng.uniform(-1, 1, size=(n,) + feat).astype("float32")
            y = model.predict(x, batch_size=fb, verbose=0)
            case = f"{name}_{n}"
            np.save(os.path.join(args.out, f"x_{case}.npy"), x)
            np.save(os.path.join(args.out, f"pred_{case}.npy"), y)
            cases.append({
                "name": case, "model": rel, "in_corpus": path != own_path, "fixed_batch": fb, "samples": n,
                "input": f"x_{case}.npy", "pred": f"pred_{case}.npy",
                "atol": 1e-5, "rtol": 1e-4,
            })
    meta = {"keras": "tf_keras " + tf_keras.__version__,
            "model_paths": "in_corpus models are relative to the real-world corpus (../shared/realworld), the others to this folder",
            "cases": cases}
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
