#!/usr/bin/env python3
"""Check the model files kerasrun's Model.Save wrote, with real Keras.

Usage: check_saved.py DIR

DIR holds what `KERASRUN_SAVE_DIR=DIR go test -count=1 -run TestWriteSaved .`
writes: every fixture model (from its Keras 3 .keras, Keras 3 .h5 and Keras 2
.h5 files), trained one epoch in Go, saved as .keras, legacy .h5, Keras
2-compatible legacy .h5 and .weights.h5, with manifest.json listing for each
file the inputs, Go's predictions from the saved file, the optimizer
iteration count in it, and Go's predictions after continuing training one
more epoch from it. For every file this script:

  * loads it with keras.saving.load_model (Keras 3; a .weights.h5 into the
    case's model JSON with load_weights) and requires predictions within
    atol + rtol*|want| of Go's;
  * requires model.optimizer.iterations to equal the count Go wrote (the
    optimizer state was restored, not started fresh);
  * continues fit one epoch (same batch size, no shuffling) and, for models
    without dropout, requires the predictions after it to match Go's
    continued training within 10x the tolerance (the optimizer state, the
    learning rate and the update rule all round trip);
  * for the Keras 2-compatible .h5, does the same with
    tf_keras.models.load_model (predictions, iterations, one epoch of fit
    without error; its continued weights are not compared).

A model with a layer class, argument or activation tf-keras lacks is
refused by Keras2Compatible (an UnsupportedError naming the layers, from the
table compat/python/export_keras2_layer_args.py takes from tf-keras): the
manifest then holds the error under "refused" and no file; those are
counted (keras2_refused) and listed, not failed.

Two failures are Keras's own and are counted, not failed, when Keras fails
the same way on the file it wrote itself (the case's fixture): Keras 3.15
cannot continue fit on any legacy .h5 that holds optimizer weights ("Unknown
variable": its legacy loader builds the optimizer on other variable objects
than fit uses), and Keras 3 cannot load some Keras 2 configs and
training configs (a Sequential nested in a Functional model, a Functional
model nested in a Sequential one, a Keras 2 loss object), which Save writes
unchanged into a legacy .h5 from a Keras 2 source and in Keras 2 form for
Keras2Compatible.

Exits 1 listing every failure, 0 if all files pass.
"""
import glob
import json
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402


def close(got, want, atol, rtol):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return f"shape {got.shape}, want {want.shape}"
    bad = np.abs(got - want) > atol + rtol * np.abs(want)
    if bad.any():
        i = int(np.argmax(np.abs(got - want) - (atol + rtol * np.abs(want))))
        return (f"{int(bad.sum())} of {bad.size} values off; worst "
                f"got {got.flat[i]!r} want {want.flat[i]!r}")
    return None


def as_list(p):
    return p if isinstance(p, (list, tuple)) else [p]


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = sys.argv[1]
    with open(os.path.join(root, "manifest.json")) as f:
        entries = json.load(f)
    import keras
    import tf_keras

    failures = []
    counts = {"files": 0, "keras3_loads": 0, "tf_keras_loads": 0, "fit_compared": 0,
              "fit_run_only": 0, "iterations_checked": 0,
              "keras3_h5_fit_fails_on_own_file_too": 0, "keras3_fails_on_own_k2_file_too": 0,
              "keras2_refused": 0}
    refused = []
    worst_fit = 0.0
    own_cache = {}

    def keras_own_fails(case_dir, fname, fit_too):
        """Whether Keras 3 fails on the file Keras itself wrote (the fixture)."""
        key = (case_dir, fname, fit_too)
        if key not in own_cache:
            try:
                m = keras.saving.load_model(os.path.join(case_dir, fname))
                if fit_too:
                    cx = [np.load(p) for p in sorted(glob.glob(os.path.join(case_dir, "x*.npy")))]
                    cy = [np.load(p) for p in sorted(glob.glob(os.path.join(case_dir, "y*.npy")))]
                    m.fit(cx if len(cx) > 1 else cx[0], cy if len(cy) > 1 else cy[0], epochs=1, verbose=0)
                own_cache[key] = False
            except Exception:  # noqa: BLE001
                own_cache[key] = True
        return own_cache[key]

    def fail(e, who, msg):
        failures.append(f"{e['case']}/{os.path.basename(e['file'])} [{who}]: {msg}")

    for e in entries:
        if e.get("refused"):
            counts["keras2_refused"] += 1
            refused.append(f"{e['case']}/{e['source']} {e['target']}: {e['refused']}")
            continue
        counts["files"] += 1
        tol = e["tolerance"]
        atol, rtol = tol["atol"], tol["rtol"]
        case_dir = os.path.dirname(e["inputs"][0])
        x = [np.load(p) for p in e["inputs"]]
        y = [np.load(p) for p in e["targets"]]
        want = [np.load(p) for p in e["pred"]]
        xin = x if len(x) > 1 else x[0]
        yin = y if len(y) > 1 else y[0]

        loaders = [("keras3", None)]
        if e["keras2"]:
            loaders.append(("tf_keras", None))
        for who, _ in loaders:
            try:
                if who == "keras3":
                    if e["target"] == "weights":
                        with open(e["json"]) as f:
                            model = keras.models.model_from_json(f.read())
                        model.load_weights(e["file"])
                    else:
                        model = keras.saving.load_model(e["file"])
                else:
                    model = tf_keras.models.load_model(e["file"])
            except Exception as ex:  # noqa: BLE001
                if (who == "keras3" and (e["keras2"] or e["source"].startswith("k2"))
                        and keras_own_fails(case_dir, "model_k2.h5", False)):
                    counts["keras3_fails_on_own_k2_file_too"] += 1
                    continue
                fail(e, who, f"load: {type(ex).__name__}: {str(ex)[:400]}")
                continue
            counts[who + "_loads"] += 1
            got = as_list(model.predict(xin, verbose=0))
            for i, (g, w) in enumerate(zip(got, want)):
                msg = close(g, w, atol, rtol)
                if msg:
                    fail(e, who, f"output {i}: {msg}")
            if e["iterations"] >= 0:
                opt = getattr(model, "optimizer", None)
                it = None if opt is None else int(np.asarray(opt.iterations))
                if it != e["iterations"]:
                    fail(e, who, f"optimizer iterations {it}, Go wrote {e['iterations']}")
                else:
                    counts["iterations_checked"] += 1
            fit = e.get("fit")
            if not fit:
                continue
            try:
                model.fit(xin, yin, batch_size=fit["batch_size"], epochs=fit["epochs"],
                          shuffle=False, verbose=0)
            except Exception as ex:  # noqa: BLE001
                if (who == "keras3" and e["target"] != "keras" and "Unknown variable" in str(ex)
                        and keras_own_fails(case_dir, "model_k3.h5", True)):
                    counts["keras3_h5_fit_fails_on_own_file_too"] += 1
                    continue
                fail(e, who, f"fit: {type(ex).__name__}: {str(ex)[:400]}")
                continue
            if who != "keras3" or not fit["compare"]:
                counts["fit_run_only"] += 1
                continue
            after = as_list(model.predict(xin, verbose=0))
            want_after = [np.load(p) for p in fit["pred"]]
            for i, (g, w) in enumerate(zip(after, want_after)):
                worst_fit = max(worst_fit, float(np.max(np.abs(np.asarray(g, np.float64) - w))))
                msg = close(g, w, 10 * atol, 10 * rtol)
                if msg:
                    fail(e, who, f"after continuing fit, output {i}: {msg}")
            counts["fit_compared"] += 1

    print("check_saved: " + ", ".join(f"{k} {v}" for k, v in counts.items()) +
          f"; worst |diff| after continued fit {worst_fit:.3g}")
    for r in refused:
        print("REFUSED " + r)
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
