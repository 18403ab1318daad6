"""Writes the kerasjson test fixtures with real Keras.

Usage (from the repository root):
    py=$(bash compat/python/venv.sh)/bin/python
    $py compat/python/kerasjson_configs.py generate keras3   # keras 3.15.1
    $py compat/python/kerasjson_configs.py generate tfkeras  # tf-keras 2.21.0
    $py compat/python/kerasjson_configs.py realworld ../shared/realworld

"generate" builds small models and writes model.to_json(), the legacy .h5
model_config/training_config attributes, the .keras config.json and
compile configs to kerasjson/testdata/generated/<prefix>_<case>.json
(prefix k3 for Keras 3, k2 for tf-keras). The two Keras versions run in
separate processes because each one owns the "keras" name in TensorFlow.

"realworld" extracts, once, the JSON that other people's real Keras files
hold (root attributes of .h5 files, config.json of .keras archives) into
kerasjson/testdata/realworld/<case>.<what>.json, so that the Go tests do
not need an HDF5 reader. *.json to_json() outputs are read in place by the
tests and are not copied.
"""

import glob
import json
import os
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GENERATED = os.path.join(ROOT, "kerasjson", "testdata", "generated")
REALWORLD = os.path.join(ROOT, "kerasjson", "testdata", "realworld")


def write(path, text):
    # The text is written exactly as Keras produced it.
    json.loads(text)  # must be valid JSON
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    print("wrote", os.path.relpath(path, ROOT))


def h5_attrs(path):
    import h5py

    out = {}
    with h5py.File(path, "r") as h:
        for key in ("model_config", "training_config"):
            if key in h.attrs:
                v = h.attrs[key]
                if isinstance(v, bytes):
                    v = v.decode("utf-8")
                out[key] = v
    return out


def keras_config(path):
    with zipfile.ZipFile(path) as z:
        return z.read("config.json").decode("utf-8")


def models(keras, layers, ops_mul):
    """Returns (name, model) pairs built with the given Keras API."""
    out = []
    Input = keras.Input

    # Sequential with an explicit Input.
    m = keras.Sequential(
        [
            Input(shape=(3,)),
            layers.Dense(4, activation="relu", name="hidden"),
            layers.Dropout(0.5, name="drop"),
            layers.Dense(2, activation="softmax", name="out"),
        ],
        name="seq",
    )
    out.append(("sequential", m))

    # Sequential whose first layer carries the input shape (legacy style).
    m = keras.Sequential(name="seq_shape")
    m.add(layers.Dense(5, input_shape=(7,), name="first"))
    m.add(layers.Activation("tanh", name="act"))
    out.append(("sequential_input_shape", m))

    # Sequential that was never built: no input shape anywhere.
    m = keras.Sequential([layers.Dense(3, name="d")], name="seq_unbuilt")
    out.append(("sequential_unbuilt", m))

    # Functional, two inputs and two outputs.
    a = Input(shape=(4,), name="in_a")
    b = Input(shape=(6,), name="in_b")
    ha = layers.Dense(8, name="dense_a")(a)
    hb = layers.Dense(8, name="dense_b")(b)
    c = layers.Concatenate(axis=-1, name="concat")([ha, hb])
    o1 = layers.Dense(1, name="out1")(c)
    o2 = layers.Dense(3, activation="softmax", name="out2")(c)
    m = keras.Model(inputs=[a, b], outputs=[o1, o2], name="multiio")
    out.append(("functional_multiio", m))

    # A shared layer called on two inputs, results added.
    a = Input(shape=(5,), name="left")
    b = Input(shape=(5,), name="right")
    shared = layers.Dense(4, name="shared")
    s = layers.Add(name="add")([shared(a), shared(b)])
    m = keras.Model([a, b], s, name="shared_model")
    out.append(("shared", m))

    # A Sequential nested in a Functional model, called twice.
    inner = keras.Sequential(
        [Input(shape=(3,)), layers.Dense(3, name="inner_dense")], name="inner_seq"
    )
    x = Input(shape=(3,), name="x")
    y = inner(inner(x))
    y = layers.Dense(1, name="head")(y)
    m = keras.Model(x, y, name="outer_func")
    out.append(("seq_in_func", m))

    # A Functional nested in a Functional model, called twice, plus a
    # layer reading the second call.
    ix = Input(shape=(3,), name="ix")
    inner = keras.Model(ix, layers.Dense(3, name="f_dense")(ix), name="inner_func")
    x = Input(shape=(3,), name="x")
    y1 = inner(x)
    y2 = inner(y1)
    y = layers.Add(name="sum")([y1, y2])
    m = keras.Model(x, y, name="outer_func2")
    out.append(("func_in_func", m))

    # A Functional nested in a Sequential model.
    ix = Input(shape=(6,), name="fx")
    inner = keras.Model(ix, layers.Dense(2, name="g_dense")(ix), name="inner_func3")
    m = keras.Sequential([Input(shape=(6,)), inner, layers.Dense(1, name="last")], name="outer_seq")
    out.append(("func_in_seq", m))

    # Recurrent layer with tensor keyword arguments (initial_state) and a
    # plain keyword argument (training), and a masked input.
    seq = Input(shape=(5, 2), name="seq")
    h0 = Input(shape=(4,), name="h0")
    c0 = Input(shape=(4,), name="c0")
    masked = layers.Masking(name="mask")(seq)
    r = layers.LSTM(4, name="lstm")(masked, initial_state=[h0, c0])
    d = layers.Dropout(0.1, name="drop")(r, training=False)
    m = keras.Model([seq, h0, c0], d, name="rnn_kwargs")
    out.append(("rnn_kwargs", m))

    # Op applied to a tensor and a constant (TFOpLambda in tf-keras, an
    # operation in Keras 3).
    x = Input(shape=(2,), name="x")
    y = ops_mul(x)
    y = layers.Dense(1, name="after")(y)
    m = keras.Model(x, y, name="ops_model")
    out.append(("ops", m))

    # A model whose output is a nested Functional model's second call:
    # output_layers then counts the nested model's own first node.
    ix = Input(shape=(2,), name="ox")
    inner = keras.Model(ix, layers.Dense(2, name="o_dense")(ix), name="inner_out")
    x = Input(shape=(2,), name="x")
    m = keras.Model(x, inner(inner(x)), name="nested_output")
    out.append(("nested_output", m))
    return out


def compile_cases(keras):
    opt = keras.optimizers
    losses = keras.losses
    return [
        ("adam_mse", dict(optimizer=opt.Adam(learning_rate=0.002), loss="mse", metrics=["mae"])),
        (
            "sgd_sparse",
            dict(
                optimizer=opt.SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
                loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"],
            ),
        ),
        ("rmsprop_string", dict(optimizer="rmsprop", loss="binary_crossentropy")),
    ]


def generate(which):
    if which == "keras3":
        import keras
        from keras import layers

        prefix = "k3"
        ops_mul = lambda x: keras.ops.multiply(x, 2.0)
    elif which == "tfkeras":
        import tensorflow as tf
        import tf_keras as keras
        from tf_keras import layers

        prefix = "k2"
        ops_mul = lambda x: tf.math.multiply(x, 2.0)
    else:
        sys.exit("generate: want keras3 or tfkeras")

    built = models(keras, layers, ops_mul)
    for name, m in built:
        write(os.path.join(GENERATED, f"{prefix}_{name}.json"), m.to_json())

    if which == "tfkeras":
        # A constant first argument: tf-keras records it as a
        # ["_CONSTANT_VALUE", -1, value, kwargs] entry, with the tensor in
        # the kwargs.
        x = keras.Input(shape=(2,), name="x")
        y = tf.math.subtract(1.0, x)
        m = keras.Model(x, layers.Dense(1, name="after")(y), name="const_model")
        write(os.path.join(GENERATED, "k2_constant_arg.json"), m.to_json())

    # Mixed precision dtype policies (Keras 2 "Policy", Keras 3 "DTypePolicy").
    m = keras.Sequential(
        [keras.Input(shape=(3,)), layers.Dense(2, dtype="mixed_float16", name="mp")],
        name="mixed",
    )
    write(os.path.join(GENERATED, f"{prefix}_mixed_policy.json"), m.to_json())

    # Legacy .h5 of a compiled model, and (Keras 3) a .keras archive.
    m = dict(built)["functional_multiio"]
    m.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001),
        loss={"out1": "mse", "out2": "categorical_crossentropy"},
        loss_weights={"out1": 1.0, "out2": 0.5},
        metrics={"out2": ["accuracy"]},
    )
    with tempfile.TemporaryDirectory() as tmp:
        h5 = os.path.join(tmp, "m.h5")
        m.save(h5)
        attrs = h5_attrs(h5)
        write(os.path.join(GENERATED, f"{prefix}_multiio_h5.model_config.json"), attrs["model_config"])
        write(os.path.join(GENERATED, f"{prefix}_multiio_h5.training_config.json"), attrs["training_config"])
        if which == "keras3":
            path = os.path.join(tmp, "m.keras")
            m.save(path)
            write(os.path.join(GENERATED, f"{prefix}_multiio_keras.config.json"), keras_config(path))

    for name, kwargs in compile_cases(keras):
        inp = keras.Input(shape=(3,))
        m = keras.Model(inp, layers.Dense(2)(inp))
        m.compile(**kwargs)
        if which == "keras3":
            write(os.path.join(GENERATED, f"{prefix}_compile_{name}.json"), json.dumps(m.get_compile_config()))
        with tempfile.TemporaryDirectory() as tmp:
            h5 = os.path.join(tmp, "m.h5")
            m.save(h5)
            write(
                os.path.join(GENERATED, f"{prefix}_compile_{name}.training_config.json"),
                h5_attrs(h5)["training_config"],
            )


def realworld(src):
    for path in sorted(glob.glob(os.path.join(src, "*", "*"))):
        case = os.path.basename(os.path.dirname(path))
        base = os.path.basename(path)
        if path.endswith((".h5", ".hdf5")):
            attrs = h5_attrs(path)
            for key, text in attrs.items():
                stem = os.path.splitext(base)[0]
                write(os.path.join(REALWORLD, f"{case}.{stem}.{key}.json"), text)
        elif path.endswith(".keras"):
            write(os.path.join(REALWORLD, f"{case}.config.json"), keras_config(path))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "generate":
        generate(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "realworld":
        realworld(sys.argv[2])
    else:
        sys.exit(__doc__)
