"""Writes testdata/stateful: models with stateful=True recurrent layers
(SimpleRNN, LSTM, GRU, RNN(LSTMCell), Bidirectional, RNN(StackedRNNCells), ConvLSTM2D), predicted several
times in a row so that each call starts from the states the previous one
left, then again after reset_states().

Usage (with the virtualenv from venv.sh):

    python compat/python/export_stateful.py [--out testdata/stateful]

Keras 3 saves each model as .keras and .h5, tf-keras as .h5. Every model
has a fixed batch size of 2 (Input batch_shape); the calls are predict(x,
batch_size=2) on 2, 2 and 4 samples (two batches: the second starts from
the first one's states), then reset_states() (Keras 3: reset_state() on
every stateful layer) and one more call on 2 samples; then, from reset states, fit(shuffle=False,
batch_size=2, epochs=2) on 4 samples (the states carried from batch to
batch), predict on 2 and evaluate on 4, each continuing from the states
the previous call left. cases.json records
the files, the inputs and Keras's outputs of every call, and the
tolerance (the default: 5 recurrent steps per call, 4 calls without reset,
float32 rounding stays well inside 1e-5 + 1e-4*|want|).
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BATCH, STEPS, FEATURES = 2, 3, 4
CALLS = [2, 2, 4, "reset", 2]


def arr(a):
    a = np.asarray(a, np.float32)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def build(K):
    """The two models, built with the Keras module K (keras or tf_keras)."""
    L = K.layers
    x = K.Input(batch_shape=(BATCH, STEPS, FEATURES))
    h = L.SimpleRNN(3, stateful=True, return_sequences=True)(x)
    h = L.LSTM(3, stateful=True)(h)
    stack = K.Model(x, L.Dense(2)(h), name="stack")

    x = K.Input(batch_shape=(BATCH, STEPS, FEATURES))
    g = L.GRU(3, stateful=True, return_sequences=True)(x)
    r = L.RNN(L.LSTMCell(2), stateful=True)(x)
    b = L.Bidirectional(L.LSTM(2, stateful=True, return_sequences=True))(x)
    branches = K.Model(x, [g, r, b], name="branches")

    # StackedRNNCells, with two cells of one class (saved as cells/lstm_cell
    # and cells/lstm_cell_1 in a .keras file).
    x = K.Input(batch_shape=(BATCH, STEPS, FEATURES))
    cells = L.StackedRNNCells([L.LSTMCell(2), L.LSTMCell(3), L.GRUCell(2)])
    c = L.RNN(cells, stateful=True, return_sequences=True)(x)
    stacked = K.Model(x, L.Dense(2)(c), name="stacked_cells")

    # ConvLSTM2D over (3, 3, 1) frames.
    x = K.Input(batch_shape=(BATCH, STEPS, 3, 3, 1))
    v = L.ConvLSTM2D(2, 2, padding="same", stateful=True, return_sequences=True)(x)
    conv = K.Model(x, v, name="conv_lstm")
    return [("stack", stack), ("branches", branches), ("stacked_cells", stacked), ("conv_lstm", conv)]


def reset(model):
    if hasattr(model, "reset_states"):
        model.reset_states()  # tf-keras
        return
    import keras
    for layer in model.layers:
        if not getattr(layer, "stateful", False):
            continue
        if getattr(layer, "states", None) is not None:
            # What RNN.reset_state() does, over the nested states of
            # StackedRNNCells too (Keras 3.15's reset_state assigns to the
            # top-level list only and fails on them).
            for v in keras.tree.flatten(layer.states):
                v.assign(np.zeros(tuple(v.shape), np.float32))
        else:
            layer.reset_state()


def record(K, tag, out, rng):
    cases = []
    for name, model in build(K):
        for w in model.weights:
            w.assign(rng.uniform(-1, 1, size=tuple(w.shape)).astype(np.float32))
        # Compiled, so that Go's Fit and Evaluate reach the stateful layers
        # (and refuse them).
        model.compile(optimizer="sgd", loss="mse")
        files = []
        if tag == "keras3":
            files.append(f"{tag}_{name}.keras")
            model.save(os.path.join(out, files[-1]))
        files.append(f"{tag}_{name}.h5")
        model.save(os.path.join(out, files[-1]))
        calls, first = [], None
        for c in CALLS:
            if c == "reset":
                reset(model)
                calls.append({"reset": True})
                continue
            # The call after the reset repeats the first call's input: the
            # same outputs show that reset_states() zeroed the states.
            if calls and calls[-1].get("reset"):
                x = first
            else:
                x = rng.uniform(-1, 1, size=(c,) + tuple(model.inputs[0].shape[1:])).astype(np.float32)
            ys = model.predict(x, batch_size=BATCH, verbose=0)
            ys = ys if isinstance(ys, list) else [ys]
            if first is None:
                first, first_ys = x, ys
            elif x is first:
                assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(ys, first_ys)), name
            calls.append({"input": arr(x), "outputs": [arr(y) for y in ys]})
        # The states were carried: the second call differs from the same
        # input predicted from zero states.
        reset(model)
        fresh = model.predict(np.asarray(calls[1]["input"]["data"], np.float32).reshape(calls[1]["input"]["shape"]), batch_size=BATCH, verbose=0)
        fresh = fresh if isinstance(fresh, list) else [fresh]
        assert not np.allclose(fresh[0].reshape(-1), calls[1]["outputs"][0]["data"], atol=1e-4), name
        # Training: from zero states, fit carries the states from batch to
        # batch (and epoch to epoch: Keras never resets them itself), then
        # predict and evaluate continue from the states fit left.
        reset(model)
        calls.append({"reset": True})
        sample = lambda n, shape: rng.uniform(-1, 1, size=(n,) + tuple(shape[1:])).astype(np.float32)
        xf = sample(2 * BATCH, model.inputs[0].shape)
        yf = [sample(2 * BATCH, o.shape) for o in model.outputs]
        h = model.fit(xf, yf if len(yf) > 1 else yf[0], batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
        calls.append({"fit": {"input": arr(xf), "targets": [arr(a) for a in yf], "batch_size": BATCH, "epochs": 2,
                              "losses": [float(v) for v in h.history["loss"]]}})
        x = sample(BATCH, model.inputs[0].shape)
        ys = model.predict(x, batch_size=BATCH, verbose=0)
        ys = ys if isinstance(ys, list) else [ys]
        calls.append({"input": arr(x), "outputs": [arr(y) for y in ys]})
        xe = sample(2 * BATCH, model.inputs[0].shape)
        ye = [sample(2 * BATCH, o.shape) for o in model.outputs]
        loss = model.evaluate(xe, ye if len(ye) > 1 else ye[0], batch_size=BATCH, verbose=0, return_dict=True)["loss"]
        calls.append({"evaluate": {"input": arr(xe), "targets": [arr(a) for a in ye], "batch_size": BATCH, "loss": float(loss)}})
        cases.append({"name": f"{tag}_{name}", "files": files, "batch": BATCH, "calls": calls,
                      "atol": 1e-5, "rtol": 1e-4, "keras": f"{K.__name__} {K.__version__}"})
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "testdata", "stateful"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    import keras
    import tf_keras
    rng = np.random.default_rng(3)
    keras.utils.set_random_seed(3)
    cases = record(keras, "keras3", args.out, rng)
    tf_keras.utils.set_random_seed(3)
    cases += record(tf_keras, "tfkeras", args.out, rng)
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(args.out, len(cases), "cases")


if __name__ == "__main__":
    main()
