"""Writes the ConvLSTM layer fixtures:

  layers/testdata/conv_lstm.json         Keras 3: ConvLSTM1D/2D/3D with padding, strides,
                                         dilation_rate, data_format, return_sequences, return_state,
                                         go_backwards, masks, activations, use_bias,
                                         unit_forget_bias
  layers/testdata/keras2/conv_lstm.json  tf_keras: the same layers (every other case)
  layers/testdata/conv_lstm_dropout/cases.json
                                         Keras 3: ConvLSTM1D/2D with dropout and recurrent_dropout
                                         in training, with the dropout masks drawn here and given
                                         to the cell (its cached _dropout_mask and
                                         _recurrent_dropout_mask), recorded for Go to use
  layers/testdata/conv_lstm_dropout/keras2.json
                                         the same from tf_keras (tfkeras_dropout.py)

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_conv_lstm.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
from layer_fixtures import Recorder  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "layers", "testdata")
MASK = np.array([[1, 1, 0], [0, 1, 1]], dtype=bool)
S1, S2, S3 = (2, 3, 6, 2), (2, 3, 4, 4, 2), (1, 2, 3, 3, 3, 2)
# channels_first: (batch, time, channels, spatial...).
F1, F2, F3 = (2, 3, 2, 6), (2, 3, 2, 4, 4), (1, 2, 2, 3, 3, 3)
CF = {"data_format": "channels_first"}

# Every case holds the default tolerance (1e-5 + 1e-4*|want|): 3 steps of
# convolutions over at most 3x3x2 taps.


# tf-keras gets every other case: the same code paths, half the bytes.
KERAS2 = {"ConvLSTM1D_valid", "ConvLSTM1D_strides_state", "ConvLSTM1D_backwards_state_mask", "ConvLSTM2D_same_sequences",
          "ConvLSTM2D_dilation", "ConvLSTM2D_backwards_mask", "ConvLSTM3D_strides_state", "ConvLSTM2D_channels_first_state"}


def cases(rec, prefix=""):
    def c(cls, cfg, shape, name, **kw):
        if prefix and name not in KERAS2:
            return
        rec.case(cls, dict(filters=2, **cfg), [shape], name=prefix + name, **kw)
    c("ConvLSTM1D", {"kernel_size": 3}, S1, "ConvLSTM1D_valid")
    c("ConvLSTM1D", {"kernel_size": 3, "padding": "same", "return_sequences": True}, S1, "ConvLSTM1D_same_sequences")
    c("ConvLSTM1D", {"kernel_size": 3, "strides": 2, "return_state": True}, S1, "ConvLSTM1D_strides_state")
    c("ConvLSTM1D", {"kernel_size": 2, "dilation_rate": 2, "padding": "same", "return_sequences": True}, S1,
      "ConvLSTM1D_dilation_mask", masks=[MASK])
    c("ConvLSTM1D", {"kernel_size": 3, "go_backwards": True, "return_sequences": True, "return_state": True}, S1,
      "ConvLSTM1D_backwards_state_mask", masks=[MASK])
    c("ConvLSTM2D", {"kernel_size": 3}, S2, "ConvLSTM2D_valid")
    c("ConvLSTM2D", {"kernel_size": (3, 2), "padding": "same", "return_sequences": True}, S2, "ConvLSTM2D_same_sequences")
    c("ConvLSTM2D", {"kernel_size": 3, "strides": (2, 1), "padding": "same", "return_state": True}, S2, "ConvLSTM2D_strides_same_state")
    c("ConvLSTM2D", {"kernel_size": 2, "dilation_rate": (2, 1)}, S2, "ConvLSTM2D_dilation")
    c("ConvLSTM2D", {"kernel_size": 3, "padding": "same", "use_bias": False, "activation": "relu",
                     "recurrent_activation": "hard_sigmoid", "return_sequences": True}, S2, "ConvLSTM2D_nobias_relu_hard_sigmoid")
    c("ConvLSTM2D", {"kernel_size": 3, "unit_forget_bias": False, "go_backwards": True}, S2, "ConvLSTM2D_backwards_mask", masks=[MASK])
    c("ConvLSTM3D", {"kernel_size": 2, "padding": "same", "return_sequences": True}, S3, "ConvLSTM3D_same_sequences")
    c("ConvLSTM3D", {"kernel_size": (2, 2, 1), "strides": (1, 2, 1), "return_state": True}, S3, "ConvLSTM3D_strides_state")
    c("ConvLSTM1D", dict(CF, kernel_size=3, strides=2, return_sequences=True), F1, "ConvLSTM1D_channels_first_mask", masks=[MASK])
    c("ConvLSTM2D", dict(CF, kernel_size=(3, 2), padding="same", return_state=True, return_sequences=True), F2,
      "ConvLSTM2D_channels_first_state")
    c("ConvLSTM3D", dict(CF, kernel_size=2, go_backwards=True), F3, "ConvLSTM3D_channels_first_backwards")


def main():
    rec = Recorder("conv_lstm")
    cases(rec)
    print(rec.write(OUT), len(rec.cases), "cases")
    import tf_keras
    rec2 = Recorder("conv_lstm", keras_module=tf_keras)
    cases(rec2, "keras2_")
    print(rec2.write(os.path.join(OUT, "keras2")), len(rec2.cases), "cases")
    dropout_cases()


def dropout_cases():
    import json
    import keras
    import tensorflow as tf
    from layer_fixtures import _arr
    rng = np.random.default_rng(5)
    out = []
    for name, cls, cfg, shape in [
        ("ConvLSTM1D_dropout", "ConvLSTM1D", {"kernel_size": 3, "padding": "same", "dropout": 0.4, "return_sequences": True}, S1),
        ("ConvLSTM1D_recurrent_dropout", "ConvLSTM1D", {"kernel_size": 2, "recurrent_dropout": 0.3, "return_state": True}, S1),
        ("ConvLSTM2D_both_dropouts", "ConvLSTM2D", {"kernel_size": 2, "dropout": 0.5, "recurrent_dropout": 0.25,
                                                    "go_backwards": True, "return_sequences": True}, S2),
        ("ConvLSTM2D_channels_first_dropouts", "ConvLSTM2D", dict(CF, kernel_size=2, padding="same", dropout=0.3,
                                                                  recurrent_dropout=0.4, return_state=True), F2),
    ]:
        layer = getattr(keras.layers, cls)(filters=2, **cfg)
        x = rng.uniform(-1, 1, size=shape).astype(np.float32)
        layer.build(x.shape)
        weights = []
        for w in layer.weights:
            v = rng.uniform(-1, 1, size=tuple(w.shape)).astype(np.float32)
            w.assign(v)
            weights.append({"name": w.name, "trainable": True, **_arr(v)})
        frame = (shape[0],) + shape[2:]  # Keras's masks have the shape of a step's input and of h
        state = tuple(layer.cell.compute_output_shape(frame)[0])
        draw = lambda rate, s: [((rng.uniform(size=s) >= rate) / (1 - rate)).astype(np.float32) for _ in range(4)]
        dm = draw(cfg["dropout"], frame) if cfg.get("dropout") else None
        rm = draw(cfg["recurrent_dropout"], state) if cfg.get("recurrent_dropout") else None
        tx = tf.constant(x)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(tx)
            layer.cell._dropout_mask = None if dm is None else [tf.constant(m) for m in dm]
            layer.cell._recurrent_dropout_mask = None if rm is None else [tf.constant(m) for m in rm]
            outs = tf.nest.flatten(layer(tx, training=True))
            probes = [rng.uniform(-1, 1, size=tuple(o.shape)).astype(np.float32) for o in outs]
            loss = sum(tf.reduce_sum(o * p) for o, p in zip(outs, probes))
        out.append({
            "name": name, "class_name": cls, "config": json.loads(json.dumps(layer.get_config(), default=str)),
            "inputs": [_arr(x)], "weights": weights, "outputs": [_arr(o) for o in outs], "probes": [_arr(p) for p in probes],
            "input_grads": [_arr(tape.gradient(loss, tx))],
            "weight_grads": [_arr(g) for g in tape.gradient(loss, layer.trainable_weights)],
            "dropout_masks": None if dm is None else [_arr(m) for m in dm],
            "recurrent_dropout_masks": None if rm is None else [_arr(m) for m in rm],
        })
    d = os.path.join(OUT, "conv_lstm_dropout")
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
    for name, make, shape in [
        ("keras2_ConvLSTM1D_both_dropouts", lambda: T.ConvLSTM1D(2, 3, padding="same", dropout=0.3, recurrent_dropout=0.2,
                                                                  return_sequences=True), S1),
        ("keras2_ConvLSTM2D_dropout_channels_first", lambda: T.ConvLSTM2D(2, 2, data_format="channels_first", dropout=0.4,
                                                                           return_state=True), F2),
    ]:
        c = tfkeras_dropout.record(make, rng.uniform(-1, 1, size=shape).astype(np.float32), rng)
        c.pop("per_gate")
        c["dropout_masks"], c["recurrent_dropout_masks"] = c.pop("dropout"), c.pop("recurrent")
        out.append({"name": name, **c})
    with open(os.path.join(d, "keras2.json"), "w") as f:
        json.dump({"keras_version": tf_keras.__version__, "tolerance": {"atol": 1e-5, "rtol": 1e-4}, "cases": out}, f, separators=(",", ":"))
        f.write("\n")
    print(d, len(out), "tf_keras cases")


if __name__ == "__main__":
    main()
