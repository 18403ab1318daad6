"""Writes the recurrent and attention layer fixtures:

  layers/testdata/recurrent.json         Keras 3: LSTM, GRU, SimpleRNN, RNN(cell), Bidirectional,
                                         TimeDistributed, Masking, Attention, AdditiveAttention,
                                         with masks, initial states and call arguments
  layers/testdata/keras2/recurrent.json  tf_keras (Keras 2): LSTM and GRU with Keras 2's
                                         hard_sigmoid, GRU(reset_after=False), Bidirectional

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_recurrent.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
from layer_fixtures import Recorder  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "layers", "testdata")

# Masks over (batch=3, time=5): a right-padded row, a row with a hole and
# a leading gap, and a full row.
MASK = np.array([[1, 1, 1, 0, 0], [0, 1, 0, 1, 1], [1, 1, 1, 1, 1]], dtype=bool)
SEQ = (3, 5, 4)

# Every case holds the default tolerance (1e-5 + 1e-4*|want|): over 5
# steps the float32 rounding of the recurrences stays well inside it.


def rnn_case(rec, cls, cfg, name, masks=None, states=0, units=3, shape=SEQ, **kw):
    shapes = [shape] + [(shape[0], units)] * states
    if masks is not None:
        masks = [masks] + [None] * states
    rec.case(cls, cfg, shapes, name=name, masks=masks, initial_state=states > 0, **kw)


def keras3(rec):
    import keras
    for cls, extra in [("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}), ("SimpleRNN", {})]:
        tag = cls + ("_reset_before" if extra.get("reset_after") is False else "")
        nstates = 2 if cls == "LSTM" else 1
        base = dict(units=3, **extra)
        rnn_case(rec, cls, base, f"{tag}_last")
        rnn_case(rec, cls, dict(base, return_sequences=True), f"{tag}_sequences")
        rnn_case(rec, cls, dict(base, return_sequences=True, go_backwards=True), f"{tag}_sequences_backwards")
        rnn_case(rec, cls, dict(base, return_state=True), f"{tag}_state")
        rnn_case(rec, cls, dict(base, return_sequences=True), f"{tag}_sequences_mask", masks=MASK)
        rnn_case(rec, cls, dict(base, return_state=True, go_backwards=True), f"{tag}_state_backwards_mask", masks=MASK)
        rnn_case(rec, cls, dict(base, return_sequences=True, zero_output_for_mask=True), f"{tag}_zero_output_mask", masks=MASK)
        rnn_case(rec, cls, dict(base, return_sequences=True, return_state=True), f"{tag}_initial_state", states=nstates)
        rnn_case(rec, cls, dict(base, return_sequences=True), f"{tag}_initial_state_mask", states=nstates, masks=MASK)
        rnn_case(rec, cls, dict(base, use_bias=False, activation="relu"), f"{tag}_nobias_relu")
        if cls != "SimpleRNN":
            rnn_case(rec, cls, dict(base, recurrent_activation="hard_sigmoid"), f"{tag}_hard_sigmoid")
    rnn_case(rec, "LSTM", dict(units=3, unit_forget_bias=False), "LSTM_no_unit_forget_bias")

    # keras.layers.RNN around a cell.
    for cell in [keras.layers.LSTMCell(3), keras.layers.GRUCell(3), keras.layers.SimpleRNNCell(3)]:
        rnn_case(rec, "RNN", {"cell": cell, "return_sequences": True}, f"RNN_{type(cell).__name__}", masks=MASK)

    # Bidirectional.
    for mode in ["concat", "sum", "mul", "ave", None]:
        for inner in ["LSTM", "GRU"]:
            layer = getattr(keras.layers, inner)(3, return_sequences=True)
            rnn_case(rec, "Bidirectional", {"layer": layer, "merge_mode": mode}, f"Bidirectional_{inner}_{mode}", masks=MASK)
    rnn_case(rec, "Bidirectional", {"layer": keras.layers.LSTM(3)}, "Bidirectional_LSTM_last", masks=MASK)
    rnn_case(rec, "Bidirectional", {"layer": keras.layers.GRU(3, return_state=True)}, "Bidirectional_GRU_state")
    rnn_case(rec, "Bidirectional", {"layer": keras.layers.LSTM(3, return_sequences=True)}, "Bidirectional_LSTM_initial_state", states=4)
    rnn_case(rec, "Bidirectional", {"layer": keras.layers.SimpleRNN(3, return_sequences=True),
                                    "backward_layer": keras.layers.SimpleRNN(2, return_sequences=True, go_backwards=True)},
             "Bidirectional_backward_layer")

    # TimeDistributed.
    rec.case("TimeDistributed", {"layer": keras.layers.Dense(3, activation="tanh")}, [(2, 4, 5)], name="TimeDistributed_Dense")
    rec.case("TimeDistributed", {"layer": keras.layers.Conv2D(2, 3)}, [(2, 3, 5, 5, 2)], name="TimeDistributed_Conv2D")

    # Masking.
    def with_zero_steps(rng, s):
        x = rng.uniform(-1, 1, size=s)
        x[0, 1] = 0
        x[1, 3:] = 0
        x[2, 0, 0] = 0
        return x
    rec.case("Masking", {"mask_value": 0.0}, [(3, 5, 4)], name="Masking_zero", input_fn=with_zero_steps)

    # Attention.
    qm = np.array([[1, 1, 0, 1], [1, 0, 1, 1]], dtype=bool)
    vm = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)
    q, v = (2, 4, 5), (2, 3, 5)
    rec.case("Attention", {}, [q, v], name="Attention_dot")
    rec.case("Attention", {"use_scale": True}, [q, (2, 3, 6), v], name="Attention_scale_key")
    rec.case("Attention", {"score_mode": "concat"}, [q, v], name="Attention_concat")
    rec.case("Attention", {"score_mode": "concat", "use_scale": True}, [q, v], name="Attention_concat_scale")
    rec.case("Attention", {}, [q, v], name="Attention_masks", masks=[qm, vm])
    rec.case("Attention", {"use_scale": True}, [q, q], name="Attention_causal", call_kwargs={"use_causal_mask": True})
    rec.case("Attention", {}, [q, v], name="Attention_scores", masks=[None, vm], call_kwargs={"return_attention_scores": True})
    rec.case("Attention", {}, [(4, 5), (4, 5)], name="Attention_rank2")
    rec.case("AdditiveAttention", {}, [q, v], name="AdditiveAttention")
    rec.case("AdditiveAttention", {"use_scale": False}, [q, v], name="AdditiveAttention_noscale_masks", masks=[qm, vm])


def keras2(rec):
    import tf_keras
    L = tf_keras.layers
    for cls, extra in [("LSTM", {}), ("GRU", {"reset_after": False}), ("GRU", {"reset_after": True})]:
        tag = cls + ("_reset_before" if extra.get("reset_after") is False else "")
        base = dict(units=3, recurrent_activation="hard_sigmoid", **extra)
        rnn_case(rec, cls, base, f"keras2_{tag}_hard_sigmoid")
        rnn_case(rec, cls, dict(base, return_sequences=True), f"keras2_{tag}_mask", masks=MASK)
    rnn_case(rec, "SimpleRNN", {"units": 3, "return_sequences": True}, "keras2_SimpleRNN_mask", masks=MASK)
    rnn_case(rec, "Bidirectional", {"layer": L.LSTM(3, return_sequences=True, recurrent_activation="hard_sigmoid")},
             "keras2_Bidirectional_LSTM", masks=MASK)
    rnn_case(rec, "Bidirectional", {"layer": L.GRU(3, reset_after=False), "merge_mode": "sum"}, "keras2_Bidirectional_GRU_sum")
    rec.case("TimeDistributed", {"layer": L.Dense(3)}, [(2, 4, 5)], name="keras2_TimeDistributed_Dense")
    rec.case("Attention", {"use_scale": True}, [(2, 4, 5), (2, 3, 5)], name="keras2_Attention")


def main():
    rec = Recorder("recurrent")
    keras3(rec)
    print(rec.write(OUT), len(rec.cases), "cases")
    import tf_keras
    rec2 = Recorder("recurrent", keras_module=tf_keras)
    keras2(rec2)
    print(rec2.write(os.path.join(OUT, "keras2")), len(rec2.cases), "cases")
    models()




def models():
    """Writes layers/testdata/recurrent_models.json: small Functional models
    whose masks travel between layers (Embedding(mask_zero=True), Masking,
    merges, Bidirectional, TimeDistributed, Attention) and an LSTM called
    with initial_state, with their weights (model.weights order), inputs and
    Keras's predictions."""
    import json
    import keras
    L = keras.layers
    rng = np.random.default_rng(1)
    out = []

    def add(name, model, xs):
        for w in model.weights:
            w.assign(rng.uniform(-1, 1, size=tuple(w.shape)).astype(np.float32))
        ys = model.predict(xs, verbose=0)
        ys = ys if isinstance(ys, list) else [ys]
        arr = lambda a: {"shape": list(a.shape), "data": [float(v) for v in np.asarray(a, np.float32).reshape(-1)]}
        out.append({"name": name, "model": json.loads(model.to_json()),
                    "weights": [arr(w.numpy()) for w in model.weights],
                    "inputs": [arr(x) for x in xs], "outputs": [arr(y) for y in ys]})

    tokens = np.array([[3, 1, 4, 0, 0], [0, 2, 7, 1, 0], [5, 9, 2, 6, 5]], dtype=np.float32)
    x = keras.Input((5,))
    e = L.Embedding(10, 4, mask_zero=True)(x)
    h = L.LSTM(3, return_sequences=True)(e)
    h = L.Dense(3, activation="tanh")(h)
    h = L.GRU(2)(h)
    add("embedding_mask_lstm_dense_gru", keras.Model(x, h), [tokens])

    seq = rng.uniform(-1, 1, size=(3, 5, 4)).astype(np.float32)
    seq[0, 3:] = 0
    seq[1, 0] = 0
    x = keras.Input((5, 4))
    m = L.Masking()(x)
    b = L.Bidirectional(L.LSTM(3, return_sequences=True))(m)
    t = L.TimeDistributed(L.Dense(4))(b)
    a = L.Attention(use_scale=True)([t, b, t])
    s = L.SimpleRNN(2, go_backwards=True)(a)
    add("masking_bidirectional_attention", keras.Model(x, [a, s]), [seq])

    x = keras.Input((5,))
    y = keras.Input((5,))
    ex = L.Embedding(10, 3, mask_zero=True)(x)
    ey = L.Embedding(10, 3, mask_zero=True)(y)
    c = L.Concatenate()([ex, ey])
    s = L.Add()([ex, ey])
    hc = keras.Input((2,))
    cc = keras.Input((2,))
    l1 = L.LSTM(2, return_sequences=True)(c, initial_state=[hc, cc])
    l2 = L.GRU(2)(s)
    att = L.Attention()([l1, l1], use_causal_mask=True)
    tokens2 = np.array([[1, 0, 2, 0, 0], [4, 4, 0, 1, 0], [0, 0, 0, 3, 2]], dtype=np.float32)
    add("concat_add_masks_initial_state_causal", keras.Model([x, y, hc, cc], [att, l2]),
        [tokens, tokens2, rng.uniform(-1, 1, (3, 2)).astype(np.float32), rng.uniform(-1, 1, (3, 2)).astype(np.float32)])

    path = os.path.join(OUT, "recurrent_models.json")
    with open(path, "w") as f:
        json.dump({"keras_version": keras.__version__, "models": out}, f, separators=(",", ":"))
        f.write("\n")
    print(path, len(out), "models")


if __name__ == "__main__":
    if os.environ.get("RECURRENT_MODELS_ONLY"):
        models()
    else:
        main()
