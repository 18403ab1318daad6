"""One Keras version's half of the exporter, run in its own process.

``python export_worker.py k3|k2 STAGING CASE...``

k3 (Keras 3, TensorFlow backend) trains each case, writes the inputs and
targets, its three model files and the trained weights for k2. k2 (tf-keras,
Keras 2) builds the same architecture, copies k3's trained weights in with
set_weights, fills its optimizer state with one step at learning rate 0 (so the
weights stay bit-identical), and writes its two model files.

Each model file is then loaded back by the Keras that wrote it; its predict
outputs and evaluate results are what the Go side must reproduce. The worker
writes a fragment ``_<version>.json`` per case that export.py merges into
case.json.
"""

import json
import os
import random
import sys

# Determinism: set before TensorFlow is imported.
os.environ.update(
    {
        "TF_DETERMINISTIC_OPS": "1",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "",
        "OMP_NUM_THREADS": "1",
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
        "PYTHONHASHSEED": "0",
        # rich (Keras 3's summary) sizes its console from COLUMNS; wide
        # enough that the SUMMARY_WIDTH table is never cut.
        "COLUMNS": "200",
    }
)

import numpy as np  # noqa: E402

import export_cases  # noqa: E402

SUMMARY_WIDTH = 100


def setup_tf():
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()
    return tf


def seed_all(tf, seed):
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)


def structured(model, arrays, names):
    """Single array for one input/output; else a dict keyed by name."""
    if len(arrays) == 1:
        return arrays[0]
    return dict(zip(names, arrays))


def x_for(model, arrays):
    return arrays[0] if len(arrays) == 1 else list(arrays)


def output_names(model):
    # Keras 3's Sequential has no output_names; its one output is its last layer's.
    names = getattr(model, "output_names", None)
    return list(names) if names else [model.layers[-1].name]


def y_for(model, arrays):
    return structured(model, arrays, output_names(model))


def as_list(out):
    if isinstance(out, dict):
        raise TypeError("dict outputs are not expected here")
    if isinstance(out, (list, tuple)):
        return [np.asarray(o) for o in out]
    return [np.asarray(out)]


def count_params(model):
    def size(ws):
        return int(sum(int(np.prod(w.shape)) for w in ws))

    return {
        "total": int(model.count_params()),
        "trainable": size(model.trainable_weights),
        "non_trainable": size(model.non_trainable_weights),
    }


def summary_text(model):
    lines = []

    def sink(text, *args, **kwargs):
        lines.append(text)

    model.summary(line_length=SUMMARY_WIDTH, print_fn=sink)
    return "\n".join(s.rstrip("\n") for s in lines).rstrip() + "\n"


def record(model_id, writer, fmt, files, model, x, y, case_dir, summary=True):
    """Predict and evaluate with a loaded model; write outputs; return the manifest entry."""
    preds = as_list(model.predict(x_for(model, x), batch_size=len(x[0]), verbose=0))
    outputs = []
    for i, p in enumerate(preds):
        name = f"{model_id}_pred{i}.npy"
        np.save(os.path.join(case_dir, name), np.ascontiguousarray(p, dtype=np.float32))
        outputs.append(name)
    ev = model.evaluate(x_for(model, x), y_for(model, y), batch_size=len(x[0]), verbose=0, return_dict=True)
    entry = {
        "id": model_id,
        "writer": writer,
        "format": fmt,
        "files": files,
        "outputs": outputs,
        "output_names": output_names(model),
        "evaluate": {k: float(v) for k, v in sorted(ev.items())},
        "params": count_params(model),
    }
    if summary:
        entry["summary"] = summary_text(model)
    return entry, preds


def check_close(what, got, want, atol=1e-5, rtol=1e-4):
    for i, (g, w) in enumerate(zip(got, want)):
        if g.shape != w.shape:
            raise SystemExit(f"{what}: output {i} shape {g.shape} != {w.shape}")
        err = np.abs(g.astype(np.float64) - w.astype(np.float64)) - (atol + rtol * np.abs(w.astype(np.float64)))
        if err.max() > 0:
            raise SystemExit(f"{what}: output {i} differs, max |diff| {np.abs(g - w).max():g}")


def load_arrays(case_dir, names):
    return [np.load(os.path.join(case_dir, n)) for n in names]


def run_k3(staging, names):
    tf = setup_tf()
    import h5py
    import keras

    gen = {
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "h5py": h5py.__version__,
    }
    writer = f"keras {keras.__version__}"
    for name in names:
        case = export_cases.BY_NAME[name]
        case_dir = os.path.join(staging, name)
        os.makedirs(case_dir, exist_ok=True)
        keras.backend.clear_session()
        keras.utils.set_random_seed(case.seed)
        seed_all(tf, case.seed)
        data = case.data(np.random.default_rng(case.seed))

        model = case.build(keras, False)
        if case.prepare:
            case.prepare(model, data.train_x)
        model.compile(**case.compile_args(keras))
        model.fit(
            x_for(model, data.train_x),
            y_for(model, data.train_y),
            epochs=case.epochs,
            batch_size=case.batch_size,
            shuffle=False,
            verbose=0,
        )

        xs = ["x.npy"] if len(data.x) == 1 else [f"x{i}.npy" for i in range(len(data.x))]
        ys = ["y.npy"] if len(data.y) == 1 else [f"y{i}.npy" for i in range(len(data.y))]
        for fname, a in list(zip(xs, data.x)) + list(zip(ys, data.y)):
            np.save(os.path.join(case_dir, fname), np.ascontiguousarray(a, dtype=np.float32))
        np.savez(os.path.join(staging, f"_{name}_weights.npz"), *model.get_weights())
        want = as_list(model.predict(x_for(model, data.x), batch_size=len(data.x[0]), verbose=0))

        p = lambda f: os.path.join(case_dir, f)  # noqa: E731
        model.save(p("model_k3.keras"))
        keras.saving.save_model(model, p("model_k3.h5"))
        with open(p("model_k3.json"), "w") as f:
            f.write(model.to_json())
        model.save_weights(p("model_k3.weights.h5"))

        entries = []
        m = keras.saving.load_model(p("model_k3.keras"))
        e, got = record("k3_keras", writer, "keras", {"model": "model_k3.keras"}, m, data.x, data.y, case_dir)
        check_close(f"{name} k3_keras", got, want)
        entries.append(e)

        m = keras.saving.load_model(p("model_k3.h5"))
        e, got = record("k3_h5", writer, "h5", {"model": "model_k3.h5"}, m, data.x, data.y, case_dir)
        check_close(f"{name} k3_h5", got, want)
        entries.append(e)

        with open(p("model_k3.json")) as f:
            m = keras.models.model_from_json(f.read())
        # Compile and build the optimizer before load_weights: Keras 3's
        # model_from_json compiles with a default RMSprop, and the
        # .weights.h5 carries the optimizer variables, which load only into
        # the case's own, built optimizer.
        m.compile(**case.compile_args(keras))
        m.optimizer.build(m.trainable_variables)
        m.load_weights(p("model_k3.weights.h5"))
        files = {"model": "model_k3.json", "weights": "model_k3.weights.h5"}
        e, got = record("k3_json", writer, "json+weights", files, m, data.x, data.y, case_dir)
        check_close(f"{name} k3_json", got, want)
        entries.append(e)

        frag = {
            "generator": gen,
            "inputs": xs,
            "targets": ys,
            "train": {
                "samples": len(data.train_x[0]),
                "epochs": case.epochs,
                "batch_size": case.batch_size,
                "seed": case.seed,
            },
            "models": entries,
        }
        with open(os.path.join(staging, f"_{name}_k3.json"), "w") as f:
            json.dump(frag, f, indent=1)
        print(f"export: {name}: keras 3 done", file=sys.stderr)


def run_k2(staging, names):
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    tf = setup_tf()
    import tf_keras

    gen = {"tf_keras": tf_keras.__version__}
    writer = f"tf_keras {tf_keras.__version__}"
    for name in names:
        case = export_cases.BY_NAME[name]
        case_dir = os.path.join(staging, name)
        if not case.keras2:
            with open(os.path.join(staging, f"_{name}_k2.json"), "w") as f:
                json.dump({"generator": gen, "models": []}, f, indent=1)
            print(f"export: {name}: Keras 3 only", file=sys.stderr)
            continue
        with open(os.path.join(staging, f"_{name}_k3.json")) as f:
            k3 = json.load(f)
        x = load_arrays(case_dir, k3["inputs"])
        y = load_arrays(case_dir, k3["targets"])
        with np.load(os.path.join(staging, f"_{name}_weights.npz")) as z:
            weights = [z[f"arr_{i}"] for i in range(len(z.files))]
        want = load_arrays(case_dir, next(e for e in k3["models"] if e["id"] == "k3_keras")["outputs"])

        tf_keras.backend.clear_session()
        tf_keras.utils.set_random_seed(case.seed)
        seed_all(tf, case.seed)
        model = case.build(tf_keras, True)
        model.compile(**case.compile_args(tf_keras))
        model.set_weights(weights)
        for layer in model.layers:
            # Normalization derives its mean and variance from its weights
            # in finalize_state, as loading a file does.
            if case.prepare and hasattr(layer, "finalize_state") and layer.built:
                layer.finalize_state()
        # One optimizer step at learning rate 0 creates and fills the slot
        # variables (the files then carry optimizer state, as trained models'
        # files do) while leaving every weight bit-identical to Keras 3's.
        lr = float(model.optimizer.learning_rate.numpy())
        model.optimizer.learning_rate.assign(0.0)
        model.train_on_batch(x_for(model, x), y_for(model, y))
        model.optimizer.learning_rate.assign(lr)
        for i, (v, a, b) in enumerate(zip(model.weights, model.get_weights(), weights)):
            if v.trainable and not np.array_equal(a, b):
                raise SystemExit(f"{name}: k2 weight {i} changed in the lr=0 step")
        # The step did move non-trainable state (BatchNormalization's moving
        # statistics): put Keras 3's back.
        model.set_weights(weights)

        p = lambda f: os.path.join(case_dir, f)  # noqa: E731
        model.save(p("model_k2.h5"))
        with open(p("model_k2.json"), "w") as f:
            f.write(model.to_json())
        model.save_weights(p("model_k2_weights.h5"))

        entries = []
        m = tf_keras.models.load_model(p("model_k2.h5"))
        e, got = record("k2_h5", writer, "h5", {"model": "model_k2.h5"}, m, x, y, case_dir)
        check_close(f"{name} k2_h5 vs k3", got, want)
        entries.append(e)

        with open(p("model_k2.json")) as f:
            m = tf_keras.models.model_from_json(f.read())
        m.compile(**case.compile_args(tf_keras))
        m.load_weights(p("model_k2_weights.h5"))
        files = {"model": "model_k2.json", "weights": "model_k2_weights.h5"}
        e, got = record("k2_json", writer, "json+weights", files, m, x, y, case_dir)
        check_close(f"{name} k2_json vs k3", got, want)
        entries.append(e)

        with open(os.path.join(staging, f"_{name}_k2.json"), "w") as f:
            json.dump({"generator": gen, "models": entries}, f, indent=1)
        print(f"export: {name}: keras 2 done", file=sys.stderr)


def main(argv):
    if len(argv) < 3 or argv[0] not in ("k3", "k2"):
        raise SystemExit("usage: export_worker.py k3|k2 STAGING CASE...")
    version, staging, names = argv[0], argv[1], argv[2:]
    (run_k3 if version == "k3" else run_k2)(staging, names)


if __name__ == "__main__":
    main(sys.argv[1:])
