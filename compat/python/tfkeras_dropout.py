"""Records tf_keras recurrent layers trained with dropout, given fixed
masks: tf_keras draws them through DropoutRNNCellMixin's
get_dropout_mask_for_cell / get_recurrent_dropout_mask_for_cell (count
masks, one per gate; implementation=2 uses the first only), which are
replaced here, on the cells and on the layer (LSTM and GRU apply the input
mask there on their fused path), by functions returning masks drawn here.

Used by export_layers_recurrent_cells.py and export_layers_conv_lstm.py.
"""
import numpy as np

COUNT = {"LSTMCell": 4, "GRUCell": 3, "ConvLSTMCell": 4, "SimpleRNNCell": 1}


def record(make, x, rng):
    """Builds make(), gives it random weights and masks, and returns the
    case dict: outputs and gradients of sum(outputs * probes), the weights
    and, per cell, {"dropout" | "dropout_gates", "recurrent" |
    "recurrent_gates"} (single masks where the cell uses one)."""
    import tensorflow as tf
    import tf_keras
    from layer_fixtures import _arr
    layer = make()
    layer.build(x.shape)
    weights = []
    for w in layer.weights:
        v = rng.uniform(-1, 1, size=tuple(w.shape)).astype(np.float32)
        w.assign(v)
        weights.append({"name": w.name, "trainable": True, **_arr(v)})
    cell = layer.cell
    count = COUNT[type(cell).__name__]
    per_gate = count > 1 and (type(cell).__name__ == "ConvLSTMCell" or getattr(cell, "implementation", 2) == 1)
    draw = lambda rate, s: [((rng.uniform(size=s) >= rate) / (1 - rate)).astype(np.float32) for _ in range(count)]
    # Masks of the shape tf_keras asks for: a step's input in the cells, the
    # whole sequence on LSTM's and GRU's fused path (a mask per step).
    drawn = {}

    def fixed(kind, rate):
        def get(inputs, training, count=1):
            if not rate:
                return None
            shape = tuple(inputs.shape)
            if kind not in drawn:
                drawn[kind] = draw(rate, shape)
            t = [tf.constant(m) for m in drawn[kind]]
            return t if count > 1 else t[0]
        return get
    for obj in (cell, layer):
        obj.get_dropout_mask_for_cell = fixed("in", cell.dropout)
        obj.get_recurrent_dropout_mask_for_cell = fixed("rec", cell.recurrent_dropout)
    tx = tf.constant(x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(tx)
        outs = tf.nest.flatten(layer(tx, training=True))
        probes = [rng.uniform(-1, 1, size=tuple(o.shape)).astype(np.float32) for o in outs]
        loss = sum(tf.reduce_sum(o * p) for o, p in zip(outs, probes))
    as_json = lambda m: None if m is None else ([_arr(a) for a in m] if per_gate else _arr(m[0]))
    import json
    return {
        "class_name": type(layer).__name__, "config": json.loads(json.dumps(layer.get_config(), default=str)),
        "inputs": [_arr(x)], "weights": weights, "outputs": [_arr(o) for o in outs], "probes": [_arr(p) for p in probes],
        "input_grads": [_arr(tape.gradient(loss, tx))],
        "weight_grads": [_arr(g) for g in tape.gradient(loss, layer.trainable_weights)],
        "per_gate": per_gate, "dropout": as_json(drawn.get("in")), "recurrent": as_json(drawn.get("rec")),
        "keras": "tf_keras " + tf_keras.__version__,
    }
