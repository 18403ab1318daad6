"""Writes the StackedRNNCells layer fixtures:

  layers/testdata/recurrent_cells.json         Keras 3: RNN(StackedRNNCells([...])) with masks,
                                               go_backwards, return_state
  layers/testdata/keras2/recurrent_cells.json  tf_keras: RNN([cells]), masks, go_backwards, return_state
  layers/testdata/recurrent_cells_models.json  Functional models (Keras 3 and tf_keras) passing
                                               RNN(StackedRNNCells) its nested initial_state
                                               [[h1, c1], h2], with weights, inputs, predictions
  layers/testdata/rnn_dropout/cases.json       Keras 3: LSTM, GRU, SimpleRNN and RNN(StackedRNNCells)
                                               trained with dropout and recurrent_dropout (LSTM's
                                               and GRU's per-gate masks),
                                               the masks drawn here and given to the cells (their
                                               cached _dropout_mask), recorded for Go to use
  layers/testdata/rnn_dropout/keras2.json      the same from tf_keras (tfkeras_dropout.py)

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_recurrent_cells.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
from layer_fixtures import Recorder  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "layers", "testdata")
MASK = np.array([[1, 1, 1, 0, 0], [0, 1, 0, 1, 1], [1, 1, 1, 1, 1]], dtype=bool)
SEQ = (3, 5, 4)

# Every case holds the default tolerance (1e-5 + 1e-4*|want|): two or
# three cells over 5 steps.


def stacks(L):
    return {
        "lstm_gru": lambda: [L.LSTMCell(3), L.GRUCell(2)],
        "simple_lstm_gru_before": lambda: [L.SimpleRNNCell(3), L.LSTMCell(2), L.GRUCell(2, reset_after=False)],
        "lstm_lstm": lambda: [L.LSTMCell(2), L.LSTMCell(3, activation="relu")],
    }


def keras3(rec):
    import keras
    L = keras.layers
    for tag, cells in stacks(L).items():
        cell = lambda: L.StackedRNNCells(cells())
        rec.case("RNN", {"cell": cell(), "return_sequences": True}, [SEQ], name=f"Stacked_{tag}_sequences_mask", masks=[MASK])
        rec.case("RNN", {"cell": cell(), "return_state": True, "go_backwards": True}, [SEQ], name=f"Stacked_{tag}_state_backwards")
        rec.case("RNN", {"cell": cell(), "return_sequences": True, "return_state": True, "zero_output_for_mask": True},
                 [SEQ], name=f"Stacked_{tag}_all_mask", masks=[MASK])
    rec.case("Bidirectional", {"layer": L.RNN(L.StackedRNNCells([L.GRUCell(2), L.SimpleRNNCell(2)]), return_sequences=True)},
             [SEQ], name="Bidirectional_Stacked", masks=[MASK])


def keras2(rec):
    import tf_keras
    L = tf_keras.layers
    for tag, cells in stacks(L).items():
        rec.case("RNN", {"cell": cells(), "return_sequences": True}, [SEQ], name=f"keras2_Stacked_{tag}_mask", masks=[MASK])
        rec.case("RNN", {"cell": cells(), "return_state": True, "go_backwards": True}, [SEQ], name=f"keras2_Stacked_{tag}_state_backwards")


def main():
    rec = Recorder("recurrent_cells")
    keras3(rec)
    print(rec.write(OUT), len(rec.cases), "cases")
    import tf_keras
    rec2 = Recorder("recurrent_cells", keras_module=tf_keras)
    keras2(rec2)
    print(rec2.write(os.path.join(OUT, "keras2")), len(rec2.cases), "cases")
    models()
    dropout_cases()


def dropout_cases():
    import json
    import keras
    import tensorflow as tf
    from layer_fixtures import _arr
    L = keras.layers
    rng = np.random.default_rng(6)
    out = []
    for name, make in [
        ("LSTM_dropout", lambda: L.LSTM(3, dropout=0.3, return_sequences=True)),
        ("GRU_dropout", lambda: L.GRU(3, dropout=0.25, return_state=True)),
        ("GRU_reset_before_dropout_backwards", lambda: L.GRU(2, dropout=0.4, reset_after=False, go_backwards=True, return_sequences=True)),
        ("SimpleRNN_both_dropouts", lambda: L.SimpleRNN(3, dropout=0.3, recurrent_dropout=0.4, return_sequences=True)),
        ("Stacked_dropouts", lambda: L.RNN(L.StackedRNNCells([L.LSTMCell(3, dropout=0.5), L.SimpleRNNCell(2, dropout=0.2, recurrent_dropout=0.3)]),
                                           return_sequences=True)),
        # implementation=1 (forced by recurrent_dropout): a mask per gate. With
        # dropout alone, Keras 3.15 trains implementation=1 only with
        # use_cudnn=False (its cuDNN attempt broadcasts the list of masks).
        ("LSTM_both_dropouts_per_gate", lambda: L.LSTM(3, dropout=0.2, recurrent_dropout=0.3, return_state=True)),
        ("LSTM_recurrent_dropout_backwards", lambda: L.LSTM(2, recurrent_dropout=0.4, go_backwards=True, return_sequences=True)),
        ("LSTM_dropout_implementation_1", lambda: L.LSTM(3, dropout=0.35, implementation=1, use_cudnn=False, return_sequences=True)),
        ("GRU_both_dropouts_per_gate", lambda: L.GRU(3, dropout=0.2, recurrent_dropout=0.3, return_state=True)),
        ("GRU_reset_before_recurrent_dropout", lambda: L.GRU(2, recurrent_dropout=0.4, reset_after=False, go_backwards=True,
                                                              return_sequences=True)),
        ("GRU_reset_before_both_dropouts", lambda: L.GRU(3, dropout=0.3, recurrent_dropout=0.25, reset_after=False, return_sequences=True)),
        ("GRU_dropout_implementation_1", lambda: L.GRU(3, dropout=0.35, implementation=1, use_cudnn=False, return_sequences=True)),
    ]:
        layer = make()
        x = rng.uniform(-1, 1, size=SEQ).astype(np.float32)
        layer.build(x.shape)
        weights = []
        for w in layer.weights:
            v = rng.uniform(-1, 1, size=tuple(w.shape)).astype(np.float32)
            w.assign(v)
            weights.append({"name": w.name, "trainable": True, **_arr(v)})
        cells = layer.cell.cells if isinstance(layer.cell, L.StackedRNNCells) else [layer.cell]
        draw1 = lambda rate, s: ((rng.uniform(size=s) >= rate) / (1 - rate)).astype(np.float32)
        draw = lambda rate, s, n: draw1(rate, s) if n is None else [draw1(rate, s) for _ in range(n)]
        as_tf = lambda m: None if m is None else (tf.constant(m) if not isinstance(m, list) else [tf.constant(a) for a in m])
        as_json = lambda m: None if m is None else (_arr(m) if not isinstance(m, list) else [_arr(a) for a in m])
        masks, tf_masks, d = [], [], SEQ[2]
        for cell in cells:
            n = getattr(cell, "dropout_mask_count", None)
            dm = draw(cell.dropout, (SEQ[0], d), n) if cell.dropout else None
            rm = draw(cell.recurrent_dropout, (SEQ[0], cell.units), n) if cell.recurrent_dropout else None
            masks.append({("dropout_gates" if n else "dropout"): as_json(dm), ("recurrent_gates" if n else "recurrent"): as_json(rm)})
            tf_masks.append((as_tf(dm), as_tf(rm)))
            d = cell.units
        tx = tf.constant(x)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(tx)
            for cell, (dm, rm) in zip(cells, tf_masks):
                cell._dropout_mask, cell._recurrent_dropout_mask = dm, rm
            outs = tf.nest.flatten(layer(tx, training=True))
            probes = [rng.uniform(-1, 1, size=tuple(o.shape)).astype(np.float32) for o in outs]
            loss = sum(tf.reduce_sum(o * p) for o, p in zip(outs, probes))
        out.append({
            "name": name, "class_name": type(layer).__name__, "config": json.loads(json.dumps(layer.get_config(), default=str)),
            "inputs": [_arr(x)], "weights": weights, "outputs": [_arr(o) for o in outs], "probes": [_arr(p) for p in probes],
            "input_grads": [_arr(tape.gradient(loss, tx))],
            "weight_grads": [_arr(g) for g in tape.gradient(loss, layer.trainable_weights)],
            "cell_masks": masks,
        })
    d = os.path.join(OUT, "rnn_dropout")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "cases.json"), "w") as f:
        json.dump({"keras_version": keras.__version__, "tolerance": {"atol": 1e-5, "rtol": 1e-4}, "cases": out}, f, separators=(",", ":"))
        f.write("\n")
    print(d, len(out), "cases")

    # tf_keras, its masks given through the mask getters (tfkeras_dropout.py).
    import tf_keras
    import tfkeras_dropout
    T = tf_keras.layers
    out = []
    for name, make in [
        # The fused path: a dropout mask per step.
        ("keras2_LSTM_dropout_fused", lambda: T.LSTM(3, dropout=0.3, return_sequences=True)),
        ("keras2_GRU_dropout_fused", lambda: T.GRU(3, dropout=0.4, go_backwards=True)),
        # The cell path: one mask per sequence (hard_sigmoid; per gate with
        # recurrent_dropout).
        ("keras2_LSTM_dropout_cell", lambda: T.LSTM(3, dropout=0.3, recurrent_activation="hard_sigmoid", return_sequences=True)),
        ("keras2_LSTM_both_dropouts_per_gate", lambda: T.LSTM(3, dropout=0.2, recurrent_dropout=0.3, return_state=True)),
        ("keras2_GRU_both_dropouts_reset_before", lambda: T.GRU(2, dropout=0.3, recurrent_dropout=0.25, reset_after=False,
                                                                recurrent_activation="hard_sigmoid", return_sequences=True)),
        ("keras2_SimpleRNN_both_dropouts", lambda: T.SimpleRNN(3, dropout=0.3, recurrent_dropout=0.4, return_sequences=True)),
    ]:
        c = tfkeras_dropout.record(make, rng.uniform(-1, 1, size=SEQ).astype(np.float32), rng)
        g = c.pop("per_gate")
        dm, rm = c.pop("dropout"), c.pop("recurrent")
        c["cell_masks"] = [{("dropout_gates" if g else "dropout"): dm, ("recurrent_gates" if g else "recurrent"): rm}]
        out.append({"name": name, **c})
    with open(os.path.join(d, "keras2.json"), "w") as f:
        json.dump({"keras_version": tf_keras.__version__, "tolerance": {"atol": 1e-5, "rtol": 1e-4}, "cases": out}, f, separators=(",", ":"))
        f.write("\n")
    print(d, len(out), "tf_keras cases")


def models():
    import json
    import keras
    import tf_keras
    rng = np.random.default_rng(2)
    out = []
    arr = lambda a: {"shape": list(a.shape), "data": [float(v) for v in np.asarray(a, np.float32).reshape(-1)]}
    for K in (keras, tf_keras):
        L = K.layers
        x, h1, c1, h2 = K.Input((5, 4)), K.Input((2,)), K.Input((2,)), K.Input((3,))
        cells = L.StackedRNNCells([L.LSTMCell(2), L.GRUCell(3)])
        y = L.RNN(cells, return_sequences=True)(x, initial_state=[[h1, c1], h2])
        model = K.Model([x, h1, c1, h2], y)
        for w in model.weights:
            w.assign(rng.uniform(-1, 1, size=tuple(w.shape)).astype(np.float32))
        xs = [rng.uniform(-1, 1, size=(3,) + tuple(i.shape[1:])).astype(np.float32) for i in model.inputs]
        ys = model.predict(xs, verbose=0)
        out.append({"name": f"{K.__name__}_stacked_cells_nested_initial_state", "keras": K.__version__,
                    "model": json.loads(model.to_json()), "weights": [arr(w.numpy()) for w in model.weights],
                    "inputs": [arr(a) for a in xs], "outputs": [arr(ys)]})
    path = os.path.join(OUT, "recurrent_cells_models.json")
    with open(path, "w") as f:
        json.dump({"models": out}, f, separators=(",", ":"))
        f.write("\n")
    print(path, len(out), "models")


if __name__ == "__main__":
    main()
