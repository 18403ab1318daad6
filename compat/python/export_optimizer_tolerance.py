"""Writes testdata/optimizer_tolerance: files whose saved optimizer state
does not fit the optimizer the model builds, which Keras loads anyway.

Usage (with the virtualenv from venv.sh):

    python compat/python/export_optimizer_tolerance.py [--out testdata/optimizer_tolerance]

Two shapes of file, each written by Keras itself:

- "frozen_*": a model trained with an optimizer whose variable count
  depends on its arguments (RMSprop with momentum and centered, Adam with
  amsgrad), whose first layer is then frozen (layer.trainable = False)
  before saving, without recompiling. The file's optimizer holds slots for
  every weight the model trained; the loaded model trains fewer, so its
  optimizer has fewer variables: Keras warns "Skipping variable loading
  for optimizer ..." (.keras) or "Error in loading the saved optimizer
  state" (legacy .h5) and predicts.
- "untrained_*": model.compile(...) and model.save(...) without training,
  in every format that holds an optimizer: Keras 3 .keras, Keras 3 legacy
  .h5, tf-keras .h5 and tf-keras .keras.

Each file is loaded back by the Keras that wrote it; cases.json records
the file, Keras's prediction on x.npy (pred_<name>.npy) and whether Keras
warned that it skipped the optimizer state.
"""

import argparse
import glob
import io
import json
import logging
import os
import warnings
from contextlib import redirect_stderr, redirect_stdout

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def captured_load(load, path):
    """Loads path with load, returning the model and everything Keras said."""
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    loggers = [logging.getLogger(), logging.getLogger("absl"), tf.get_logger()]
    for lg in loggers:
        lg.addHandler(handler)
    with warnings.catch_warnings(record=True) as ws, redirect_stdout(buf), redirect_stderr(buf):
        warnings.simplefilter("always")
        model = load(path)
    for lg in loggers:
        lg.removeHandler(handler)
    return model, buf.getvalue() + "\n".join(str(w.message) for w in ws)


def mlp(lib, seed):
    lib.utils.set_random_seed(seed)
    return lib.Sequential(
        [
            lib.Input((5,)),
            lib.layers.Dense(8, activation="tanh"),
            lib.layers.Dense(3, activation="softmax"),
        ]
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "testdata", "optimizer_tolerance"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for f in glob.glob(os.path.join(args.out, "*")):
        os.remove(f)
    x = np.sin(np.arange(20, dtype=np.float32) * 0.37).reshape(4, 5)
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 1]]
    np.save(os.path.join(args.out, "x.npy"), x)
    cases = []

    def record(name, path, lib, load, description):
        loaded, said = captured_load(load, path)
        pred = np.asarray(loaded(x), dtype=np.float32)
        np.save(os.path.join(args.out, "pred_" + name + ".npy"), pred)
        skipped = "Skipping variable loading for optimizer" in said or "Error in loading the saved optimizer state" in said
        cases.append(
            {
                "name": name,
                "description": description,
                "model": os.path.basename(path),
                "input": "x.npy",
                "output": "pred_" + name + ".npy",
                "keras": lib.__version__,
                "keras_skipped_optimizer": skipped,
            }
        )

    optimizers = {
        "rmsprop_momentum_centered": lambda: keras.optimizers.RMSprop(0.01, momentum=0.9, centered=True),
        "adam_amsgrad": lambda: keras.optimizers.Adam(0.01, amsgrad=True),
    }
    for i, (oname, make) in enumerate(optimizers.items()):
        model = mlp(keras, 10 + i)
        model.compile(optimizer=make(), loss="categorical_crossentropy")
        model.fit(x, y, batch_size=2, epochs=1, verbose=0)
        model.layers[0].trainable = False
        for ext, fmt in ((".keras", "Keras 3 .keras"), (".h5", "Keras 3 legacy .h5")):
            name = "frozen_" + oname + ext.replace(".", "_")
            path = os.path.join(args.out, name + ext)
            model.save(path)
            record(name, path, keras, keras.models.load_model, f"{fmt}: trained with {oname}, first layer frozen before saving")

    for lib, tag, seed, writer in ((keras, "k3", 20, "Keras 3"), (tf_keras, "k2", 21, "tf-keras")):
        for ext, fmt in ((".keras", ".keras"), (".h5", "legacy .h5" if lib is keras else ".h5")):
            model = mlp(lib, seed)
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            name = "untrained_" + tag + ext.replace(".", "_")
            path = os.path.join(args.out, name + ext)
            model.save(path)
            record(name, path, lib, lib.models.load_model, f"{writer} {fmt}: compiled with Adam, never trained")

    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump({"generator": {"keras": keras.__version__, "tensorflow": tf.__version__, "tf_keras": tf_keras.__version__}, "tolerance": "1e-5 + 1e-4*|want|", "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
