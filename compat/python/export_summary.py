"""Writes testdata/summary: Keras 3's own model.summary() text for every fixture model.

Usage (with the virtualenv from venv.sh):

    python compat/python/export_summary.py [--out testdata/summary] [--corpus ../shared/realworld]

Every model file under testdata/ (.keras, full-model .h5, model JSON), the
few extra models this script builds into <out>/models/ (shapes Keras prints
as lists, frozen layers, float64 and mixed-precision variables, names too
long for their column, a nested model called twice), and the real-world
corpus when it is present, are loaded by Keras 3 as a user loads them:
keras.saving.load_model(path) (compile=True; a file Keras 3 cannot compile
is loaded again with compile=False and marked so), or
keras.models.model_from_json(text) for a model JSON (its weights are not
read: Keras's summary does not need them). Each load runs after
keras.backend.clear_session(), so the names Keras makes up for unnamed
models and layers are those of a fresh process.

For each model the summary is taken as Keras prints it when stdout is not a
terminal (print_fn captures the text of a rich console without colours),
with COLUMNS fixed so that shutil.get_terminal_size() and rich agree:

- the default: line_length=None, COLUMNS=200 (so the 88 / 108 defaults);
- expand_nested=True for a model with nested models;
- line_length=64 and show_trainable=True for .keras files (cells wrap and
  get cut with an ellipsis);
- COLUMNS=70 without and with line_length=100 for two models (the table
  narrowed to COLUMNS - 4, then lines cut at the console width).

<out>/cases.json lists, per text file, the model (relative to the repo root,
or to the corpus for "realworld/..."), the weights file of a model JSON
when there is one (the Go test summarizes it with and without them), the
summary arguments, COLUMNS, and whether Keras compiled the model. Files
Keras 3 cannot load at all are listed under "skipped" with the error.
"""

import argparse
import glob
import json
import os

os.environ.update(
    {
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONHASHSEED": "0",
        "COLUMNS": "200",
    }
)

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

# Models whose COLUMNS variants are recorded.
COLUMN_CASES = {"testdata/cifar_cnn/model_k3.keras", "testdata/func_two_io/model_k3.keras"}


def is_model_json(path):
    try:
        with open(path) as f:
            d = json.load(f)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(d, dict) and d.get("class_name") in ("Sequential", "Functional", "Model") and "config" in d


def is_full_h5(path):
    try:
        with h5py.File(path, "r") as f:
            return "model_config" in f.attrs
    except OSError:
        return False


def json_weights(path):
    """The weights file next to a model JSON, as the exporters name them."""
    stem = path[: -len(".json")]
    for cand in (stem + ".weights.h5", stem + "_weights.h5"):
        if os.path.exists(cand):
            return cand
    return None


def model_files(base):
    out = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        for name in sorted(filenames):
            p = os.path.join(dirpath, name)
            if name.endswith(".keras"):
                out.append(p)
            elif (name.endswith(".h5") or name.endswith(".hdf5")) and not name.endswith(".weights.h5") and is_full_h5(p):
                out.append(p)
            elif name.endswith(".json") and is_model_json(p):
                out.append(p)
    return out


def build_extra(out_dir):
    """Small models for what the fixture corpus lacks; saved as .keras."""
    os.makedirs(out_dir, exist_ok=True)
    for f in glob.glob(os.path.join(out_dir, "*")):
        os.remove(f)
    keras.utils.set_random_seed(5)
    L = keras.layers

    # An LSTM returning its states (a list of shapes), a frozen Dense,
    # BatchNormalization (non-trainable moving stats), a float64 layer.
    inp = keras.Input((6, 3), name="sequence")
    seq, h, c = L.LSTM(4, return_sequences=True, return_state=True, name="encoder")(inp)
    pooled = L.GlobalAveragePooling1D(name="pool")(seq)
    merged = L.Concatenate(name="merge")([pooled, h, c])
    frozen = L.Dense(5, name="frozen_projection", trainable=False)(merged)
    normed = L.BatchNormalization(name="norm")(frozen)
    wide = L.Dense(3, dtype="float64", name="float64_head")(normed)
    m = keras.Model(inp, wide, name="states_and_frozen")
    m.compile(optimizer="adam", loss="mse")
    m.fit(np.zeros((4, 6, 3), "float32"), np.zeros((4, 3), "float32"), epochs=1, verbose=0)
    m.save(os.path.join(out_dir, "states_and_frozen.keras"))

    # A nested Functional model called twice (shared), inside a model with
    # names longer than their column, mixed precision and a frozen nested
    # model, compiled with SGD with momentum (one slot per variable).
    keras.config.set_dtype_policy("mixed_float16")
    enc_in = keras.Input((5,), name="encoder_input")
    enc = keras.Model(enc_in, L.Dense(4, activation="relu", name="encoder_dense")(enc_in), name="shared_encoder")
    a = keras.Input((5,), name="left_input_with_a_rather_long_name")
    b = keras.Input((5,), name="right")
    ea, eb = enc(a), enc(b)
    tower = keras.Sequential([keras.Input((4,)), L.Dense(3, name="tower_dense"), L.Dropout(0.1, name="tower_dropout")], name="frozen_tower")
    tower.trainable = False
    d = L.Subtract(name="difference_of_the_two_encodings_of_both_inputs")([ea, eb])
    t = tower(d)
    out = L.Dense(1, activation="sigmoid", dtype="float32", name="score")(L.Concatenate(name="concat")([t, ea, eb]))
    m = keras.Model([a, b], out, name="a_model_with_a_rather_long_name_for_its_summary_header_line")
    keras.config.set_dtype_policy("float32")
    m.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="binary_crossentropy")
    m.fit([np.zeros((4, 5), "float32")] * 2, np.zeros((4, 1), "float32"), epochs=1, verbose=0)
    m.save(os.path.join(out_dir, "shared_nested_mixed.keras"))

    # Never compiled, a Sequential with a one-dimensional shape.
    m = keras.Sequential([keras.Input((7,)), L.Dense(2, name="d"), L.Flatten(name="flat")], name="plain")
    m.save(os.path.join(out_dir, "uncompiled.keras"))


def load(path):
    """Loads as a Keras 3 user does; returns (model, compiled_as_saved)."""
    if path.endswith(".json"):
        with open(path) as f:
            return keras.models.model_from_json(f.read()), True
    try:
        return keras.saving.load_model(path), True
    except Exception:
        keras.backend.clear_session()
        return keras.saving.load_model(path, compile=False), False


def summary_text(model, columns, **kwargs):
    os.environ["COLUMNS"] = str(columns)
    texts = []
    model.summary(print_fn=lambda text, line_break=True: texts.append(text), **kwargs)
    os.environ["COLUMNS"] = "200"
    if len(texts) != 1:
        raise SystemExit(f"summary printed {len(texts)} times")
    return texts[0]


def has_nested(model):
    return any(getattr(layer, "layers", None) for layer in model.layers)


def variants(rel, model):
    yield "", 200, {}
    if has_nested(model):
        yield "_nested", 200, {"expand_nested": True}
    if rel.endswith(".keras"):
        yield "_w64", 200, {"line_length": 64}
        yield "_trainable", 200, {"show_trainable": True, "expand_nested": has_nested(model)}
    if rel in COLUMN_CASES:
        yield "_cols70", 70, {}
        yield "_cols70_w100", 70, {"line_length": 100}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "testdata", "summary"))
    ap.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "realworld"))
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    for f in glob.glob(os.path.join(out, "*.txt")):
        os.remove(f)
    build_extra(os.path.join(out, "models"))

    sources = [(os.path.relpath(p, ROOT), p) for p in model_files(os.path.join(ROOT, "testdata"))]
    corpus = os.path.abspath(args.corpus)
    if os.path.isdir(corpus):
        sources += [("realworld/" + os.path.relpath(p, corpus), p) for p in model_files(corpus)]

    cases, skipped = [], []
    for rel, path in sources:
        keras.backend.clear_session()
        try:
            model, compiled = load(path)
        except Exception as e:  # Keras 3 cannot load it: nothing to compare
            skipped.append({"model": rel, "error": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"})
            continue
        weights = json_weights(path) if path.endswith(".json") else None
        for suffix, columns, kw in variants(rel, model):
            name = rel.replace("/", "__") + suffix + ".txt"
            with open(os.path.join(out, name), "w", encoding="utf-8", newline="") as f:
                f.write(summary_text(model, columns, **kw))
            entry = {"model": rel, "text": name, "columns": columns, "compiled": compiled,
                     "expand_nested": kw.get("expand_nested", False),
                     "show_trainable": kw.get("show_trainable", False),
                     "line_length": kw.get("line_length", 0)}
            if weights:
                entry["weights"] = os.path.relpath(weights, corpus if rel.startswith("realworld/") else ROOT)
            cases.append(entry)
    manifest = {"keras": keras.__version__, "cases": cases, "skipped": skipped}
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} summaries, {len(skipped)} files Keras 3 cannot load")


if __name__ == "__main__":
    main()
