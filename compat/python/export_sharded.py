"""Writes testdata/sharded: a small Keras 3 model with sharded weights.

Usage (with the virtualenv from venv.sh):

    python compat/python/export_sharded.py [--out testdata/sharded]

model.save_weights("model.weights.json", max_shard_size=...) writes a JSON
map ({"metadata": {"total_size"}, "weight_map": {"/layers/dense/vars":
"model_00000.weights.h5", ...}}) and the shards model_0000N.weights.h5; a
variable group split across shards is mapped to a list of shard names. The
shard size is tiny (about 1.5 KB) so three small Dense layers need several
shards and one group is split. model.json is model.to_json(); x.npy and
y.npy are an input and Keras's prediction.
"""

import argparse
import glob
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "testdata", "sharded"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for f in glob.glob(os.path.join(args.out, "*")):
        os.remove(f)
    keras.utils.set_random_seed(7)
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(3),
        ]
    )
    model.save_weights(os.path.join(args.out, "model.weights.json"), max_shard_size=5e-7)
    with open(os.path.join(args.out, "model.json"), "w") as f:
        f.write(model.to_json())
    x = np.sin(np.arange(12, dtype=np.float32) * 0.7).reshape(2, 6)
    np.save(os.path.join(args.out, "x.npy"), x)
    np.save(os.path.join(args.out, "y.npy"), np.asarray(model(x), dtype=np.float32))
    # Keras reads its own shards back to the same prediction.
    clone = keras.models.model_from_json(model.to_json())
    clone.load_weights(os.path.join(args.out, "model.weights.json"))
    np.testing.assert_array_equal(np.asarray(clone(x)), np.asarray(model(x)))


if __name__ == "__main__":
    main()
