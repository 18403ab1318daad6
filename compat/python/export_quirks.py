"""Writes testdata/quirks: Keras 3 weights files with the layouts of FORMATS.md section B.

Usage (with the virtualenv from venv.sh):

    python compat/python/export_quirks.py [--out testdata/quirks]

From one small Keras 3 model (model.json, x.npy, y.npy = Keras's prediction):
- plain.weights.h5: model.save_weights;
- checkpoint_deps.weights.h5: the same with the top group renamed
  "_layer_checkpoint_dependencies", as Keras 2.13 wrote it (Keras 3 loads it
  through H5IOStore.get's fallback; checked here);
- backslash.weights.h5: each "layers/<name>" group flattened to one root
  group named "layers\\<name>", as tf-keras wrote paths on Windows;
- bf16.json/bf16.weights.h5/bf16_y.npy: the model with dtype="bfloat16"
  (Keras stores 2-byte data with attribute dtype="bfloat16"), and its
  prediction cast to float32;
- int8.weights.h5 / int8.json: the model after model.quantize("int8").
"""

import argparse
import glob
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def build(dtype=None):
    keras.utils.set_random_seed(3)
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(5, activation="relu", dtype=dtype), keras.layers.Dense(2, dtype=dtype)]
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "testdata", "quirks"))
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    for f in glob.glob(os.path.join(out, "*")):
        os.remove(f)
    x = np.sin(np.arange(8, dtype=np.float32)).reshape(2, 4)
    np.save(os.path.join(out, "x.npy"), x)

    model = build()
    with open(os.path.join(out, "model.json"), "w") as f:
        f.write(model.to_json())
    np.save(os.path.join(out, "y.npy"), np.asarray(model(x), dtype=np.float32))
    plain = os.path.join(out, "plain.weights.h5")
    model.save_weights(plain)

    deps = os.path.join(out, "checkpoint_deps.weights.h5")
    with h5py.File(plain, "r") as src, h5py.File(deps, "w") as dst:
        for k in src:
            src.copy(src[k], dst, name="_layer_checkpoint_dependencies" if k == "layers" else k)
    clone = build()
    clone.load_weights(deps)
    np.testing.assert_array_equal(np.asarray(clone(x)), np.asarray(model(x)))

    with h5py.File(plain, "r") as src, h5py.File(os.path.join(out, "backslash.weights.h5"), "w") as dst:
        for k in src:
            if k != "layers":
                src.copy(src[k], dst, name=k)
                continue
            for name in src["layers"]:
                src.copy(src["layers"][name], dst, name="layers\\" + name)

    bf = build("bfloat16")
    with open(os.path.join(out, "bf16.json"), "w") as f:
        f.write(bf.to_json())
    bf.save_weights(os.path.join(out, "bf16.weights.h5"))
    np.save(os.path.join(out, "bf16_y.npy"), np.asarray(bf(x), dtype=np.float32))
    np.save(os.path.join(out, "bf16_kernel0.npy"), np.asarray(bf.layers[0].kernel, dtype=np.float32))

    q = build()
    q.quantize("int8")
    with open(os.path.join(out, "int8.json"), "w") as f:
        f.write(q.to_json())
    q.save_weights(os.path.join(out, "int8.weights.h5"))


if __name__ == "__main__":
    main()
