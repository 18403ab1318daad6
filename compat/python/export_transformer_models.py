"""Writes testdata/transformer/: two small transformers built from keras.layers (and a
SpectralNormalization model),
predicted and trained one step by real Keras from every file format.

  encoder  token Embedding(mask_zero=True) + a learned Embedding(mask_zero=True) of
           positions 1..T, 0 at the padding (a second Input), 2 pre-norm blocks
           (LayerNormalization, MultiHeadAttention self-attention with the padding mask,
           Add; LayerNormalization, Dense(relu) + Dense feed-forward, Add), then
           LayerNormalization and mask-aware GlobalAveragePooling1D
           and a softmax Dense classifier; sparse_categorical_crossentropy.
  decoder  GPT-style: token + position Embeddings, 2 post-norm blocks of causal
           MultiHeadAttention (use_causal_mask=True), Add + LayerNormalization, the same
           feed-forward, then a Dense over the vocabulary per position;
           sparse_categorical_crossentropy from logits on the next tokens.
  gqa_decoder  the decoder with a gated GroupQueryAttention (4 query heads sharing 2
           key/value heads, use_gate=True) in its first block and a gated
           MultiHeadAttention in its second; Keras 3 only (tf-keras has neither).
  spectral Dense(tanh) wrapped in SpectralNormalization(power_iterations=2), then a
           Dense; mean_squared_error (the wrapper assigns its normalized kernel in
           training; Keras 3 saves that kernel in the wrapper's own variables too).

No Dropout (Keras draws it from its own generator): both train with
SGD(0.05, momentum=0.9). Keras 3 trains each model two steps (the momentum is then
non-zero and saved), saves model_k3.keras, model_k3.h5 and model_k3.json +
model_k3.weights.h5; tf-keras receives those weights by set_weights and saves
model_k2.h5 and model_k2.json + model_k2_weights.h5. Every file is loaded back by
the Keras that wrote it, which records its predictions and, for the compiled
files (.keras, .h5), the weights after one train_on_batch on the same data
(expect.npz: "<id>/pred0", "<id>/step1/<variable path>"). transformer.json lists
the files; compat/transformer_test.go replays them.

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_transformer_models.py [--out DIR]
"""
import json
import os
import subprocess
import sys

os.environ.update({"TF_CPP_MIN_LOG_LEVEL": "3", "TF_DETERMINISTIC_OPS": "1", "PYTHONHASHSEED": "0"})

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
N, T, V, D, HEADS, KEY_DIM, FF = 8, 8, 12, 8, 2, 4, 16


CASES = ["encoder", "decoder", "gqa_decoder", "spectral"]
KERAS2_CASES = ["encoder", "decoder", "spectral"]  # tf-keras has no GroupedQueryAttention
# The Keras 3 variable paths of each case's model as loaded from .keras,
# trainable then not: a tf-keras step is recorded under the same paths
# (tf-keras names a wrapped layer's variables after the wrapper, "sn/kernel"
# for Keras 3's "dense/kernel"; kerasrun uses Keras 3's).
K3_ORDER = {}


def data(name):
    if name == "spectral":
        rng = np.random.default_rng(9)
        return [rng.normal(size=(N, 5)).astype(np.float32)], [rng.normal(size=(N, 2)).astype(np.float32)]
    rng = np.random.default_rng(7 if name == "encoder" else 8)
    lengths = rng.integers(3, T + 1, size=N)
    lengths[0] = T
    tokens = np.zeros((N, T), dtype=np.int32)
    for i, n in enumerate(lengths):
        tokens[i, :n] = rng.integers(1, V, size=n)
    positions = np.tile(np.arange(T, dtype=np.int32), (N, 1))
    if name == "encoder":
        # Positions 1..T, 0 at the padding: their Embedding(mask_zero=True)
        # masks the same steps as the tokens', so that the sum keeps the
        # mask in Keras 3 (whose Add drops it unless every input has one).
        positions = np.where(tokens != 0, positions + 1, 0).astype(np.int32)
        y = rng.integers(0, 3, size=(N,)).astype(np.int32)
    else:
        y = np.concatenate([tokens[:, 1:], np.zeros((N, 1), np.int32)], axis=1)
    return [tokens, positions], [y]


def build(K, name):
    L = K.layers
    if name == "spectral":
        x = K.Input((5,), name="features")
        h = L.SpectralNormalization(L.Dense(6, activation="tanh", name="dense"), power_iterations=2, name="sn")(x)
        out = L.Dense(2, name="out")(h)
        model = K.Model(x, out, name="spectral_mlp")
        model.compile(optimizer=K.optimizers.SGD(learning_rate=0.05, momentum=0.9), loss="mse")
        return model
    tok = K.Input((T,), dtype="int32", name="tokens")
    pos = K.Input((T,), dtype="int32", name="positions")
    x = L.Embedding(V, D, mask_zero=(name == "encoder"), name="token_embedding")(tok)
    if name == "encoder":
        p = L.Embedding(T + 1, D, mask_zero=True, name="position_embedding")(pos)
    else:
        p = L.Embedding(T, D, name="position_embedding")(pos)
    x = L.Add(name="embed")([x, p])
    for i in range(2):
        if name == "encoder":
            # Pre-norm blocks: Keras 3's MultiHeadAttention deletes the
            # mask of the tensors it is called on, so in a post-norm block
            # the residual Add after it would run without the padding mask.
            h = L.LayerNormalization(name=f"ln_a{i}")(x)
            a = L.MultiHeadAttention(HEADS, KEY_DIM, name=f"mha_{i}")(h, h)
            x = L.Add(name=f"res_a{i}")([x, a])
            h = L.LayerNormalization(name=f"ln_f{i}")(x)
            f = L.Dense(FF, activation="relu", name=f"ff1_{i}")(h)
            f = L.Dense(D, name=f"ff2_{i}")(f)
            x = L.Add(name=f"res_f{i}")([x, f])
            continue
        if name == "gqa_decoder" and i == 0:
            a = L.GroupQueryAttention(head_dim=KEY_DIM, num_query_heads=4, num_key_value_heads=2,
                                      use_gate=True, name=f"gqa_{i}")(x, x, use_causal_mask=True)
        elif name == "gqa_decoder":
            a = L.MultiHeadAttention(HEADS, KEY_DIM, use_gate=True, name=f"mha_{i}")(x, x, use_causal_mask=True)
        else:
            a = L.MultiHeadAttention(HEADS, KEY_DIM, name=f"mha_{i}")(x, x, use_causal_mask=True)
        x = L.LayerNormalization(name=f"ln_a{i}")(L.Add(name=f"res_a{i}")([x, a]))
        f = L.Dense(FF, activation="relu", name=f"ff1_{i}")(x)
        f = L.Dense(D, name=f"ff2_{i}")(f)
        x = L.LayerNormalization(name=f"ln_f{i}")(L.Add(name=f"res_f{i}")([x, f]))
    if name == "encoder":
        x = L.LayerNormalization(name="ln_out")(x)
        x = L.GlobalAveragePooling1D(name="pool")(x)
        out = L.Dense(3, activation="softmax", name="classes")(x)
    else:
        out = L.Dense(V, name="logits")(x)
    model = K.Model([tok, pos], out, name=f"transformer_{name}")
    loss = K.losses.SparseCategoricalCrossentropy(from_logits=(name != "encoder"))
    model.compile(optimizer=K.optimizers.SGD(learning_rate=0.05, momentum=0.9), loss=loss)
    return model


def var_path(w, keras3):
    return w.path if keras3 else w.name.split(":")[0]


def replay(K, keras3, files, xs, ys, expect_all, entries):
    """Loads each file back, records predictions and one train step."""
    for mid, fmt, model_file, weights_file, name in files:
        expect = expect_all.setdefault(name, {})
        entry = {"id": mid, "format": fmt, "model": os.path.basename(model_file),
                 "writer": ("keras " if keras3 else "tf_keras ") + K.__version__}
        if keras3 and fmt == "h5":
            # Keras 3 cannot load the .h5 it wrote of a masked model (its
            # legacy loader does not know the NotEqual op that computes
            # the mask) nor train a model loaded from .h5 (its optimizer
            # says "Unknown variable"): the file holds the model, weights
            # and optimizer state of the .keras one, whose results are
            # the expectation.
            base = entries[name][0]
            entry["expect_from"] = base["id"]
            entry["step1"] = base["step1"]
            for k in list(expect):
                if k.startswith(base["id"] + "/"):
                    expect[mid + k[len(base["id"]):]] = expect[k]
            entries[name].append(entry)
            continue
        # tf-keras's legacy loaders do not know its SpectralNormalization.
        custom = {"SpectralNormalization": K.layers.SpectralNormalization}
        if weights_file:
            with open(model_file) as f:
                m = K.models.model_from_json(f.read(), custom_objects=custom)
            m.load_weights(weights_file)
        else:
            m = K.models.load_model(model_file, custom_objects=custom)
        expect[f"{mid}/pred0"] = np.asarray(m.predict(xs, verbose=0), dtype=np.float32)
        if weights_file:
            entry["weights"] = os.path.basename(weights_file)
        else:
            m.train_on_batch(xs, ys)
            paths = []
            for w in m.trainable_weights + m.non_trainable_weights:
                p = var_path(w, keras3)
                expect[f"{mid}/step1/{p}"] = np.asarray(w.numpy(), dtype=np.float32)
                paths.append(p)
            entry["step1"] = paths
        entries.setdefault(name, []).append(entry)


def keras3_part(out):
    import keras
    keras.utils.set_random_seed(3)
    entries, expect = {}, {}
    for name in CASES:
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        xs, ys = data(name)
        model = build(keras, name)
        model.fit(xs, ys, batch_size=4, epochs=1, shuffle=False, verbose=0)
        model.save(os.path.join(d, "model_k3.keras"))
        model.save(os.path.join(d, "model_k3.h5"))
        with open(os.path.join(d, "model_k3.json"), "w") as f:
            f.write(model.to_json())
        model.save_weights(os.path.join(d, "model_k3.weights.h5"))
        np.savez(os.path.join(d, "data.npz"), y0=ys[0].astype(np.float32),
                 **{f"x{i}": x.astype(np.float32) for i, x in enumerate(xs)})
        # Trainable then non-trainable: the order both Kerases agree on.
        if name in KERAS2_CASES:
            np.savez(os.path.join(d, "start_weights.npz"),
                     *[w.numpy() for w in model.trainable_weights + model.non_trainable_weights])
        replay(keras, True, [
            ("k3_keras", "keras", os.path.join(d, "model_k3.keras"), None, name),
            ("k3_h5", "h5", os.path.join(d, "model_k3.h5"), None, name),
            ("k3_json", "json", os.path.join(d, "model_k3.json"), os.path.join(d, "model_k3.weights.h5"), name),
        ], xs, ys, expect, entries)
        K3_ORDER[name] = entries[name][0]["step1"]
    return entries, expect


def keras2_part(out):
    import tf_keras
    tf_keras.utils.set_random_seed(3)
    entries, expect = {}, {}
    for name in KERAS2_CASES:
        d = os.path.join(out, name)
        xs, ys = data(name)
        model = build(tf_keras, name)
        with np.load(os.path.join(d, "start_weights.npz")) as z:
            for i, w in enumerate(model.trainable_weights + model.non_trainable_weights):
                w.assign(z[f"arr_{i}"])
        os.remove(os.path.join(d, "start_weights.npz"))
        model.save(os.path.join(d, "model_k2.h5"))
        with open(os.path.join(d, "model_k2.json"), "w") as f:
            f.write(model.to_json())
        model.save_weights(os.path.join(d, "model_k2_weights.h5"))
        replay(tf_keras, False, [
            ("k2_h5", "h5", os.path.join(d, "model_k2.h5"), None, name),
            ("k2_json", "json", os.path.join(d, "model_k2.json"), os.path.join(d, "model_k2_weights.h5"), name),
        ], xs, ys, expect, entries)
    return entries, expect


def main():
    args = sys.argv[1:]
    out = os.path.join(HERE, "..", "..", "testdata", "transformer")
    if "--out" in args:
        out = args[args.index("--out") + 1]
    if "--child" in args:
        entries, expect = keras2_part(out)
        with open(os.path.join(out, "k2_entries.json"), "w") as f:
            json.dump(entries, f)
        for name, e in expect.items():
            np.savez(os.path.join(out, name, "k2_expect.npz"), **e)
        return
    import keras
    entries, expect = keras3_part(out)
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
    subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "--out", out], check=True, env=env)
    renames = {}
    with open(os.path.join(out, "k2_entries.json")) as f:
        for name, es in json.load(f).items():
            for e in es:
                if "step1" in e:
                    renames[name] = dict(zip(e["step1"], K3_ORDER[name]))
                    e["step1"] = K3_ORDER[name]
            entries[name] += es
    os.remove(os.path.join(out, "k2_entries.json"))
    cases = []
    for name in CASES:
        k2 = os.path.join(out, name, "k2_expect.npz")
        if name in KERAS2_CASES:
            with np.load(k2) as z:
                for k in z.files:
                    mid, _, rest = k.partition("/")
                    if rest.startswith("step1/"):
                        expect[name][f"{mid}/step1/{renames[name][rest[len('step1/'):]]}"] = z[k]
                    else:
                        expect[name][k] = z[k]
            os.remove(k2)
        np.savez_compressed(os.path.join(out, name, "expect.npz"), **expect[name])
        inputs = [f"x{i}" for i in range(len(data(name)[0]))]
        cases.append({"name": name, "dir": name, "inputs": inputs, "targets": ["y0"], "models": entries[name]})
    doc = {"keras": keras.__version__, "tf_keras": _tf_keras_version(), "tolerance": {"atol": 1e-5, "rtol": 1e-4},
           "train": "one train_on_batch on all 8 samples, SGD(0.05, momentum=0.9)", "cases": cases}
    with open(os.path.join(out, "transformer.json"), "w") as f:
        json.dump(doc, f, indent=1)
    print("wrote", out)


def _tf_keras_version():
    out = subprocess.run([sys.executable, "-c", "import tf_keras; print(tf_keras.__version__)"],
                         capture_output=True, text=True, env=dict(os.environ, TF_USE_LEGACY_KERAS="1"))
    return out.stdout.strip()


if __name__ == "__main__":
    main()
