"""Writes the training fixtures of issue 7 (testdata/fit/): what Keras's fit() does.

Usage (with the virtualenv from venv.sh):

    python compat/python/export_fit.py --out testdata/fit [--only CASE ...] [--digits digits.csv.gz]

Every case starts from a compiled model saved by Keras (start.keras, or for
the resume cases a model already trained and saved as .keras/.h5) and fixed
arrays (data.npz: x0.., y0..). Keras then runs fit(shuffle=False) with the
case's epochs and batch size; the exporter records the model weights and the
optimizer variables after the first step and at the end (expect.npz, keyed
"step1/w/<path>", "final/w/<path>", "step1/opt/<i>", "final/opt/<i>"), the
per-epoch history and evaluate() afterwards (cases.json). Go replays the same
fit from the same file (compat/fit_test.go).

Keras 3 (TensorFlow backend) and tf-keras (Keras 2) run in separate processes
(this script re-runs itself with --worker), each single-threaded with
deterministic TensorFlow ops: two runs give the same numbers.

Cases:
  opt_*     the tutorial MLP (Dense(128), Activation('relu'), Dense(10),
            Activation('softmax')) with 8 inputs, one optimizer each.
  loss_*    the same MLP with the output activation the loss needs, SGD.
  cnn_*     a tiny CNN (Conv2D, MaxPooling2D, Conv2D, MaxPooling2D, Flatten,
            Dense, Dense(softmax)).
  func_bn   a Functional model with a layer shared by two inputs,
            BatchNormalization and two outputs.
  resume_*  a model trained 3 epochs and saved (.keras/.h5 by Keras 3, .h5 by
            Keras 2); the expectation is 2 more epochs in the same Keras
            (initial_epoch=3, epochs=5).
  digits    the tutorial MLP (64 inputs) on scikit-learn's 8x8 digits:
            Keras's test accuracy after training (needs --digits or the
            committed digits.csv.gz).
"""

import argparse
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import zlib

os.environ.update(
    {
        "TF_DETERMINISTIC_OPS": "1",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
        "OMP_NUM_THREADS": "1",
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
        "PYTHONHASHSEED": "0",
    }
)

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# Tolerances, by how many steps a value has seen. The two sides compute in
# float32 with different summation orders (TensorFlow's Eigen matmul and
# reductions against Go's kernels), so values agree to a few float32 ulps
# after one step; every later step starts from slightly different weights
# and the differences compound (roughly linearly over 10 small steps), and
# adaptive optimizers divide by sqrt(v) + epsilon, which amplifies the
# difference of tiny gradients. Hence 10x more room at the end than after
# one step.
TOL_STEP1 = {"atol": 2e-6, "rtol": 1e-4}
TOL_FINAL = {"atol": 2e-5, "rtol": 1e-3}
# Adaptive optimizers move a weight by about lr * g / (|g| + epsilon) on the
# first steps whatever the gradient's size: a gradient that is the sum of
# nearly cancelling terms (a bias gradient of 2e-8, say) carries a relative
# float32 error of a percent, and the step carries it at the scale of the
# learning rate (0.01). Their absolute tolerance is 1e-3 * lr-ish.
TOL_STEP1_ADAPTIVE = {"atol": 2e-5, "rtol": 1e-3}
TOL_FINAL_ADAPTIVE = {"atol": 1e-4, "rtol": 2e-3}
ADAPTIVE = ("adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "lion", "ftrl", "adafactor", "func_bn", "cnn_adam")
TOL_REASON = (
    "float32 on both sides with different summation orders: a few ulps after one step; "
    "10 steps compound the differences (each step starts from slightly different weights, and "
    "Adam-like optimizers divide by sqrt(v)+eps, amplifying differences of tiny gradients), "
    "so the final tolerance is 10x the one-step tolerance. History values are means over "
    "an epoch of such losses: rtol 1e-4 (1e-3 for the saturated/resume cases)."
)

ADAPTIVE_REASON = (
    "such optimizers move a weight by about lr*g/(|g|+eps) whatever the gradient's size, so a tiny gradient "
    "made of nearly cancelling terms (relative float32 error ~1%) shows its error at the scale of the learning "
    "rate: atol 2e-5 after one step, 1e-4 at the end."
)

N = 20  # samples per case (5 batches of 4)
BATCH = 4
EPOCHS = 2  # 10 steps


def setup_tf():
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()
    return tf


def f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


def one_hot(labels, n):
    return f32(np.eye(n)[labels])


# ------------------------------------------------------------------ models


def mlp(K, legacy, inputs=8, head="softmax"):
    """The tutorial MLP; head is the output Activation (None for none)."""
    L = K.layers
    m = K.Sequential(name="mlp")
    if legacy:
        m.add(L.Dense(128, input_dim=inputs))
    else:
        m.add(K.Input(shape=(inputs,)))
        m.add(L.Dense(128))
    m.add(L.Activation("relu"))
    m.add(L.Dense(10))
    if head:
        m.add(L.Activation(head))
    return m


def cnn(K, legacy):
    L = K.layers
    first = dict(input_shape=(10, 10, 1)) if legacy else {}
    layers = [] if legacy else [K.Input(shape=(10, 10, 1))]
    layers += [
        L.Conv2D(4, (3, 3), activation="relu", **first),
        L.MaxPooling2D((2, 2)),
        L.Conv2D(8, (3, 3), activation="relu"),
        L.MaxPooling2D((2, 2)),
        L.Flatten(),
        L.Dense(16, activation="relu"),
        L.Dense(3, activation="softmax"),
    ]
    return K.Sequential(layers, name="cnn")


def func_bn(K, legacy):
    L = K.layers
    a = K.Input(shape=(6,), name="in_a")
    b = K.Input(shape=(6,), name="in_b")
    shared = L.Dense(8, activation="tanh", name="shared")
    h = L.Concatenate(name="concat")([shared(a), shared(b)])
    h = L.BatchNormalization(name="bn")(h)
    cls = L.Dense(3, activation="softmax", name="cls")(h)
    reg = L.Dense(1, name="reg")(h)
    return K.Model([a, b], [cls, reg], name="func_bn")


# ------------------------------------------------------------------ data


def mlp_data(rng, target, inputs=8, scale=1.0):
    x = f32(rng.normal(size=(N, inputs)) * scale)
    labels = rng.integers(0, 10, size=N)
    if target == "onehot":
        y = one_hot(labels, 10)
    elif target == "sparse":
        y = f32(labels)
    elif target == "multilabel":
        y = f32(rng.random((N, 10)) < 0.3)
    elif target == "regression":
        y = f32(rng.normal(size=(N, 10)))
    elif target == "counts":
        y = f32(rng.poisson(1.5, size=(N, 10)))
    elif target == "pm1":
        y = f32(np.where(rng.random((N, 10)) < 0.5, -1.0, 1.0))
    elif target == "distribution":
        p = rng.random((N, 10)) + 0.05
        y = f32(p / p.sum(axis=1, keepdims=True))
    else:
        raise ValueError(target)
    return [x], [y]


def cnn_data(rng):
    x = f32(rng.random((N, 10, 10, 1)))
    return [x], [one_hot(rng.integers(0, 3, size=N), 3)]


def func_data(rng):
    a = f32(rng.normal(size=(N, 6)))
    b = f32(rng.normal(size=(N, 6)))
    cls = one_hot(rng.integers(0, 3, size=N), 3)
    reg = f32(rng.normal(size=(N, 1)))
    return [a, b], [cls, reg]


# ------------------------------------------------------------------ cases


def opt_case(name, opt, desc):
    return dict(
        name="opt_" + name,
        description="tutorial MLP (8 inputs), categorical_crossentropy, accuracy; optimizer " + desc,
        build=lambda K, legacy: mlp(K, legacy),
        data=lambda rng: mlp_data(rng, "onehot"),
        compile=lambda K: dict(optimizer=opt(K), loss="categorical_crossentropy", metrics=["accuracy"]),
    )


OPTIMIZERS = [
    opt_case("sgd", lambda K: K.optimizers.SGD(0.05), "SGD(0.05)"),
    opt_case("sgd_momentum", lambda K: K.optimizers.SGD(0.05, momentum=0.9), "SGD(0.05, momentum=0.9)"),
    opt_case("sgd_nesterov", lambda K: K.optimizers.SGD(0.05, momentum=0.9, nesterov=True), "SGD(0.05, momentum=0.9, nesterov=True)"),
    opt_case("adam", lambda K: K.optimizers.Adam(0.01), "Adam(0.01)"),
    opt_case("adam_amsgrad", lambda K: K.optimizers.Adam(0.01, amsgrad=True), "Adam(0.01, amsgrad=True)"),
    opt_case("adamw", lambda K: K.optimizers.AdamW(0.01, weight_decay=0.05), "AdamW(0.01, weight_decay=0.05)"),
    opt_case("rmsprop", lambda K: K.optimizers.RMSprop(0.005), "RMSprop(0.005)"),
    opt_case("rmsprop_centered_momentum", lambda K: K.optimizers.RMSprop(0.005, momentum=0.5, centered=True), "RMSprop(0.005, momentum=0.5, centered=True)"),
    opt_case("adagrad", lambda K: K.optimizers.Adagrad(0.05), "Adagrad(0.05)"),
    opt_case("adadelta", lambda K: K.optimizers.Adadelta(1.0), "Adadelta(1.0)"),
    opt_case("adamax", lambda K: K.optimizers.Adamax(0.01), "Adamax(0.01)"),
    opt_case("nadam", lambda K: K.optimizers.Nadam(0.01), "Nadam(0.01)"),
    opt_case("lion", lambda K: K.optimizers.Lion(0.001), "Lion(0.001)"),
    opt_case("ftrl", lambda K: K.optimizers.Ftrl(0.1, l1_regularization_strength=0.001, l2_regularization_strength=0.01, beta=0.1), "Ftrl(0.1, l1=0.001, l2=0.01, beta=0.1)"),
    opt_case("adafactor", lambda K: K.optimizers.Adafactor(0.01), "Adafactor(0.01)"),
    opt_case("sgd_clipnorm", lambda K: K.optimizers.SGD(0.05, clipnorm=0.1), "SGD(0.05, clipnorm=0.1)"),
    opt_case("adam_clipvalue", lambda K: K.optimizers.Adam(0.01, clipvalue=0.002), "Adam(0.01, clipvalue=0.002)"),
    opt_case("sgd_global_clipnorm", lambda K: K.optimizers.SGD(0.05, global_clipnorm=0.2), "SGD(0.05, global_clipnorm=0.2)"),
    opt_case("sgd_weight_decay", lambda K: K.optimizers.SGD(0.05, momentum=0.9, weight_decay=0.01), "SGD(0.05, momentum=0.9, weight_decay=0.01)"),
    opt_case("adam_ema", lambda K: K.optimizers.Adam(0.01, use_ema=True, ema_momentum=0.9), "Adam(0.01, use_ema=True, ema_momentum=0.9): fit ends with the EMA copied into the weights"),
    opt_case("adam_ema_overwrite", lambda K: K.optimizers.Adam(0.01, use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=3), "Adam(0.01, use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=3)"),
    opt_case("adam_exponential_decay", lambda K: K.optimizers.Adam(K.optimizers.schedules.ExponentialDecay(0.01, decay_steps=3, decay_rate=0.5)), "Adam(ExponentialDecay(0.01, decay_steps=3, decay_rate=0.5))"),
    opt_case("sgd_cosine_decay", lambda K: K.optimizers.SGD(K.optimizers.schedules.CosineDecay(0.05, decay_steps=8, warmup_target=0.1, warmup_steps=2), momentum=0.5), "SGD(CosineDecay(0.05, decay_steps=8, warmup 2 steps to 0.1), momentum=0.5)"),
]


def loss_case(name, loss, head, target, metrics=None, scale=1.0, desc=""):
    return dict(
        name="loss_" + name,
        description=f"tutorial MLP (8 inputs) with output activation {head}, loss {desc or loss}, SGD(0.05)",
        build=lambda K, legacy: mlp(K, legacy, head=head),
        data=lambda rng: mlp_data(rng, target, scale=scale),
        compile=lambda K: dict(optimizer=K.optimizers.SGD(0.05), loss=loss(K) if callable(loss) else loss, metrics=metrics or []),
        saturated=scale > 1,
    )


LOSSES = [
    loss_case("mse", "mse", None, "regression", ["mae"]),
    loss_case("mae", "mae", None, "regression"),
    loss_case("huber", "huber", None, "regression"),
    loss_case("log_cosh", "log_cosh", None, "regression"),
    loss_case("cosine_similarity", "cosine_similarity", None, "regression"),
    loss_case("cce", "categorical_crossentropy", "softmax", "onehot", ["accuracy"]),
    loss_case("cce_from_logits", lambda K: K.losses.CategoricalCrossentropy(from_logits=True), None, "onehot", ["accuracy"], desc="CategoricalCrossentropy(from_logits=True)"),
    loss_case("cce_label_smoothing", lambda K: K.losses.CategoricalCrossentropy(label_smoothing=0.1), "softmax", "onehot", desc="CategoricalCrossentropy(label_smoothing=0.1)"),
    loss_case("sparse_cce", "sparse_categorical_crossentropy", "softmax", "sparse", ["accuracy"]),
    loss_case("sparse_cce_from_logits", lambda K: K.losses.SparseCategoricalCrossentropy(from_logits=True), None, "sparse", ["accuracy"], desc="SparseCategoricalCrossentropy(from_logits=True)"),
    loss_case("bce", "binary_crossentropy", "sigmoid", "multilabel", ["accuracy"]),
    loss_case("bce_from_logits", lambda K: K.losses.BinaryCrossentropy(from_logits=True), None, "multilabel", desc="BinaryCrossentropy(from_logits=True)"),
    loss_case("kl_divergence", "kl_divergence", "softmax", "distribution"),
    loss_case("poisson", "poisson", "softplus", "counts"),
    loss_case("hinge", "hinge", "tanh", "pm1"),
    loss_case("squared_hinge", "squared_hinge", "tanh", "pm1"),
    loss_case("categorical_hinge", "categorical_hinge", None, "onehot"),
    # Inputs scaled by 40: the softmax/sigmoid saturates (probabilities of
    # exactly 0 or 1 in float32), where computing the crossentropy from the
    # cached logits (_keras_logits) differs from clipping the probabilities.
    loss_case("cce_saturated", "categorical_crossentropy", "softmax", "onehot", ["accuracy"], scale=40.0),
    loss_case("sparse_cce_saturated", "sparse_categorical_crossentropy", "softmax", "sparse", ["accuracy"], scale=40.0),
    loss_case("bce_saturated", "binary_crossentropy", "sigmoid", "multilabel", ["accuracy"], scale=40.0),
]

OTHERS = [
    dict(
        name="cnn_adam",
        description="tiny CNN: Conv2D(4,3x3,relu) MaxPooling2D Conv2D(8,3x3,relu) MaxPooling2D Flatten Dense(16,relu) Dense(3,softmax); Adam(0.01), categorical_crossentropy, accuracy",
        build=cnn,
        data=cnn_data,
        compile=lambda K: dict(optimizer=K.optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"]),
    ),
    dict(
        name="cnn_sgd_momentum",
        description="tiny CNN as cnn_adam; SGD(0.05, momentum=0.9)",
        build=cnn,
        data=cnn_data,
        compile=lambda K: dict(optimizer=K.optimizers.SGD(0.05, momentum=0.9), loss="categorical_crossentropy", metrics=["accuracy"]),
    ),
    dict(
        name="func_bn",
        description="Functional: in_a, in_b -> shared Dense(8,tanh) on both -> Concatenate -> BatchNormalization -> "
        "cls Dense(3,softmax) (categorical_crossentropy, accuracy) and reg Dense(1) (mse, weight 0.5); Adam(0.01)",
        build=func_bn,
        data=func_data,
        compile=lambda K: dict(
            optimizer=K.optimizers.Adam(0.01),
            loss={"cls": "categorical_crossentropy", "reg": "mse"},
            loss_weights={"cls": 1.0, "reg": 0.5},
            metrics={"cls": ["accuracy"]},
        ),
    ),
]

CASES = OPTIMIZERS + LOSSES + OTHERS

# Resume: 3 epochs then save; expectation: 2 more epochs (5 in total).
RESUME = dict(
    description="tutorial MLP (8 inputs), Adam(0.005), categorical_crossentropy, accuracy; 40 samples, batch 8",
    compile=lambda K: dict(optimizer=K.optimizers.Adam(0.005), loss="categorical_crossentropy", metrics=["accuracy"]),
)


# ------------------------------------------------------------------ recording


def structured(arrays, names):
    return arrays[0] if len(arrays) == 1 else dict(zip(names, arrays))


def out_names(model):
    names = getattr(model, "output_names", None)
    return list(names) if names else [model.layers[-1].name]


def var_path(v, model=None):
    """Keras 3's variable path without the model's own name ("dense/kernel"),
    as a model loaded from a file names it; tf-keras's variable name."""
    p = getattr(v, "path", None) or v.name.split(":")[0]
    if model is not None and p.startswith(model.name + "/"):
        p = p[len(model.name) + 1 :]
    return p


class Snapshot:
    """Weights and optimizer variables at one point."""

    def __init__(self, model):
        self.w = [(var_path(v, model), np.array(v)) for v in model.weights]
        self.opt = [(var_path(v), np.array(v)) for v in model.optimizer.variables]


def make_snapshot_callback(K):
    class SnapFirst(K.callbacks.Callback):
        snap = None

        def on_train_batch_end(self, batch, logs=None):
            if self.snap is None:
                self.snap = Snapshot(self.model)

    return SnapFirst()


def history_json(h):
    return {k: [float(v) for v in vs] for k, vs in h.history.items()}


def add_snapshot(arrays, prefix, snap):
    for path, a in snap.w:
        arrays[f"{prefix}/w/{path}"] = f32(a)
    for i, (_, a) in enumerate(snap.opt):
        arrays[f"{prefix}/opt/{i}"] = f32(a)


def run_k3_case(K, tf, case, out):
    d = os.path.join(out, case["name"])
    os.makedirs(d, exist_ok=True)
    K.utils.set_random_seed(7)
    rng = np.random.default_rng(zlib.crc32(case["name"].encode()))
    xs, ys = case["data"](rng)
    model = case["build"](K, False)
    model.compile(**case["compile"](K))
    model.save(os.path.join(d, "start.keras"))
    names = out_names(model)
    np.savez(os.path.join(d, "data.npz"), **{f"x{i}": a for i, a in enumerate(xs)}, **{f"y{i}": a for i, a in enumerate(ys)})
    snap = make_snapshot_callback(K)
    h = model.fit(
        xs[0] if len(xs) == 1 else xs,
        structured(ys, names),
        batch_size=BATCH,
        epochs=EPOCHS,
        shuffle=False,
        verbose=0,
        callbacks=[snap],
    )
    final = Snapshot(model)
    ev = model.evaluate(xs[0] if len(xs) == 1 else xs, structured(ys, names), batch_size=BATCH, verbose=0, return_dict=True)
    arrays = {}
    add_snapshot(arrays, "step1", snap.snap)
    add_snapshot(arrays, "final", final)
    np.savez_compressed(os.path.join(d, "expect.npz"), **arrays)
    hist = history_json(h)
    saturated = case.get("saturated", False)
    adaptive = any(a in case["name"] for a in ADAPTIVE)
    return {
        "name": case["name"],
        "description": case["description"],
        "model": "start.keras",
        "inputs": len(xs),
        "targets": len(ys),
        "fit": {"batch_size": BATCH, "epochs": EPOCHS, "initial_epoch": 0, "shuffle": False},
        "steps": EPOCHS * (N // BATCH),
        "weights": [p for p, _ in final.w],
        "optimizer_variables": [p for p, _ in final.opt],
        "history": hist,
        "evaluate": {k: float(v) for k, v in ev.items()},
        "tolerance": {
            "step1": TOL_STEP1_ADAPTIVE if adaptive else TOL_STEP1,
            "final": TOL_FINAL_ADAPTIVE if adaptive else TOL_FINAL,
            "history_rtol": 1e-3 if saturated else 1e-4,
            "reason": TOL_REASON + (" Adaptive optimizer: " + ADAPTIVE_REASON if adaptive else ""),
        },
    }


def resume_data():
    rng = np.random.default_rng(1234)
    x = f32(rng.normal(size=(40, 8)))
    y = one_hot(rng.integers(0, 10, size=40), 10)
    return x, y


def run_resume(K, version, out):
    """Trains 3 epochs, saves, trains 2 more: the files and the final weights."""
    d = os.path.join(out, "resume")
    os.makedirs(d, exist_ok=True)
    x, y = resume_data()
    np.savez(os.path.join(d, "data.npz"), x0=x, y0=y)
    K.utils.set_random_seed(11)
    model = mlp(K, version == "k2")
    start = os.path.join(d, "_start_weights.npz")
    if version == "k3":
        np.savez(start, *model.get_weights())
    else:  # the same initial weights as Keras 3
        with np.load(start) as z:
            model.set_weights([z[f"arr_{i}"] for i in range(len(z.files))])
    model.compile(**RESUME["compile"](K))
    kw = dict(batch_size=8, shuffle=False, verbose=0)
    h1 = model.fit(x, y, epochs=3, **kw)
    files = []
    if version == "k3":
        model.save(os.path.join(d, "k3.keras"))
        K.saving.save_model(model, os.path.join(d, "k3.h5"))
        files = ["k3.keras", "k3.h5"]
    else:
        model.save(os.path.join(d, "k2.h5"))
        model.save(os.path.join(d, "k2.keras"))  # tf-keras's own .keras archive
        files = ["k2.h5", "k2.keras"]
    h2 = model.fit(x, y, epochs=5, initial_epoch=3, **kw)
    arrays = {f"final/w/{var_path(v, model)}": f32(np.array(v)) for v in model.weights}
    np.savez_compressed(os.path.join(d, f"expect_{version}.npz"), **arrays)
    entries = []
    for f in files:
        entries.append(
            {
                "name": f"resume_{version}_{f.replace('.', '_')}",
                "description": f"{RESUME['description']}; 3 epochs then saved as {f} by "
                + ("Keras 3" if version == "k3" else "tf-keras (Keras 2)")
                + "; expectation: fit(initial_epoch=3, epochs=5) in the same Keras",
                "model": f,
                "data": "data.npz",
                "expect": f"expect_{version}.npz",
                "inputs": 1,
                "targets": 1,
                "fit": {"batch_size": 8, "epochs": 5, "initial_epoch": 3, "shuffle": False},
                "steps": 10,
                "weights": [var_path(v, model) for v in model.weights],
                "history": history_json(h2),
                "history_first_3_epochs": history_json(h1),
                "tolerance": {
                    "final": TOL_FINAL,
                    "history_rtol": 1e-3,
                    "reason": TOL_REASON,
                },
            }
        )
    return entries


def run_digits(K, out, csv):
    """Tutorial MLP on the 8x8 digits: Keras's test accuracy."""
    d = os.path.join(out, "digits")
    os.makedirs(d, exist_ok=True)
    dst = os.path.join(d, "digits.csv.gz")
    if csv and os.path.abspath(csv) != os.path.abspath(dst):
        shutil.copyfile(csv, dst)
    with gzip.open(dst, "rt") as f:
        rows = np.loadtxt(f, delimiter=",", dtype=np.float64)
    x, labels = f32(rows[:, :64] / 16.0), rows[:, 64].astype(np.int64)
    split = int(len(x) * 0.8)
    xtr, ytr = x[:split], one_hot(labels[:split], 10)
    xte, yte = x[split:], one_hot(labels[split:], 10)
    K.utils.set_random_seed(3)
    model = mlp(K, False, inputs=64, head="softmax")
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    model.save(os.path.join(d, "start.keras"))
    h = model.fit(xtr, ytr, batch_size=32, epochs=20, shuffle=False, verbose=0)
    ev = model.evaluate(xte, yte, batch_size=32, verbose=0, return_dict=True)
    return {
        "name": "digits",
        "description": "tutorial MLP (Dense(128, input_dim=64), Activation('relu'), Dense(10), Activation('softmax'); "
        "rmsprop, categorical_crossentropy, accuracy) on scikit-learn's 8x8 digits (pixels/16), first 80% "
        "for training (20 epochs, batch 32, shuffle=False), last 20% for the test",
        "model": "start.keras",
        "csv": "digits.csv.gz",
        "train_samples": int(split),
        "test_samples": int(len(x) - split),
        "fit": {"batch_size": 32, "epochs": 20, "initial_epoch": 0, "shuffle": False},
        "history": history_json(h),
        "test": {k: float(v) for k, v in ev.items()},
        "tolerance": {"accuracy_points": 1.0, "reason": "the issue asks for the same test accuracy within one point"},
    }


PROGBAR_RUNS = [
    # (verbose, target, [(seconds since start, step, logs, finalize)])
    (1, 5, [
        (0.30, 1, {"accuracy": 0.25, "loss": 2.3456789}, False),
        (0.32, 2, {"accuracy": 0.375, "loss": 2.0}, False),  # within 50ms: not drawn
        (0.40, 3, {"accuracy": 0.5, "loss": 1.5}, False),
        (0.50, 4, {"accuracy": 0.5, "loss": 0.0001234}, False),
        (0.61, 5, {"accuracy": 0.55, "loss": 1.25}, False),
        (0.77, 5, {"accuracy": 0.55, "loss": 1.25, "val_accuracy": 0.5, "val_loss": 1.5}, True),
    ]),
    (1, 120, [
        (2.0, 1, {"loss": 10.0}, False),
        (75.0, 60, {"loss": -3.0}, False),
        (4000.0, 119, {"loss": 1e-5}, False),
        (4100.0, 120, {"loss": 0.5}, True),
    ]),
    (2, 7, [(0.0042, 7, {"loss": 0.69314, "mae": 0.0005, "neg": -1.5}, True)]),
    (2, 12, [(3.6, 12, {"accuracy": 0.91666, "loss": 0.2}, True)]),
    # Updates 30ms apart: a skipped update does not move the last draw's time.
    (1, 6, [(0.01 + 0.03 * i, i + 1, {"loss": 1.0 / (i + 1)}, False) for i in range(6)]
        + [(0.3, 6, {"loss": 0.1}, True)]),
    # Predict: no logs; evaluate-style steps.
    (1, 3, [(0.2, 1, {}, False), (0.3, 2, {}, False), (0.4, 3, {}, False), (0.4, 3, {}, True)]),
    # An unknown number of steps (target=None), wider numbers, then finalize.
    (1, None, [(0.5, 1, {"loss": 0.5}, False), (1.5, 1234, {"loss": 0.25}, False), (2.5, 1234, {"loss": 0.25}, True)]),
    (2, None, [(0.5, 9, {"loss": 0.5}, True)]),
    # Keras's own default use: stateless (averaged) logs and another unit.
    (1, 4, [(0.1, 1, {"loss": 4.0, "acc": 0.5}, False), (0.2, 3, {"loss": 1.0, "acc": 0.7}, False),
            (0.3, 4, {"loss": 2.0, "acc": 0.9}, False), (0.35, 4, {"loss": 2.0, "acc": 0.9}, True)],
        {"stateless": ["loss"], "unit_name": "sample"}),
    (2, 4, [(0.1, 1, {"loss": 4.0}, False), (0.2, 4, {"loss": 2.0}, True)], {"stateless": ["loss"], "unit_name": "sample"}),
]


def progbar_golden(out):
    """Keras's Progbar output, driven as ProgbarLogger drives it, on a fake clock."""
    import contextlib
    import io

    from keras.src.utils import progbar as pb

    class Clock:
        t = 1000.0

        def time(self):
            return self.t

    runs = []
    real_time = pb.time
    try:
        for verbose, target, events, *rest in PROGBAR_RUNS:
            opts = rest[0] if rest else {}
            clock = Clock()
            pb.time = clock
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                # ProgbarLogger's arguments: every log shown as it is.
                bar = pb.Progbar(target=target, verbose=verbose, unit_name=opts.get("unit_name", "step"),
                                 stateless_metrics=set(opts.get("stateless", [])))
                for t, step, logs, finalize in events:
                    clock.t = 1000.0 + t
                    bar.update(step, list(sorted(logs.items())), finalize=finalize)
            runs.append({
                "verbose": verbose,
                "target": target,
                **opts,
                "events": [{"seconds": t, "step": s, "logs": l, "finalize": f} for t, s, l, f in events],
                "output": buf.getvalue(),
            })
    finally:
        pb.time = real_time
    with open(os.path.join(out, "progbar.json"), "w") as f:
        json.dump({"runs": runs}, f, indent=1, ensure_ascii=False)
        f.write("\n")


def worker(version, out, only, csv):
    tf = setup_tf()
    if version == "k3":
        import keras as K

        gen = {"keras": K.__version__, "tensorflow": tf.__version__, "numpy": np.__version__}
        entries = []
        for case in CASES:
            if only and case["name"] not in only:
                continue
            entries.append(run_k3_case(K, tf, case, out))
            print("export_fit: k3", case["name"], file=sys.stderr)
        if not only or "resume" in only:
            entries += run_resume(K, "k3", out)
        if not only or "digits" in only:
            entries.append(run_digits(K, out, csv))
        if not only or "progbar" in only:
            progbar_golden(out)
    else:
        import tf_keras as K

        gen = {"tf_keras": K.__version__}
        entries = []
        if not only or "resume" in only:
            entries += run_resume(K, "k2", out)
    with open(os.path.join(out, f"_{version}.json"), "w") as f:
        json.dump({"generator": gen, "cases": entries}, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--digits", help="digits.csv.gz from scikit-learn (sklearn/datasets/data/)")
    ap.add_argument("--worker", choices=["k3", "k2"])
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    if args.worker:
        worker(args.worker, out, args.only, args.digits)
        return
    os.makedirs(out, exist_ok=True)
    for v in ("k3", "k2"):
        env = dict(os.environ, KERAS_BACKEND="tensorflow")
        env.pop("TF_USE_LEGACY_KERAS", None)
        cmd = [sys.executable, os.path.abspath(__file__), "--out", out, "--worker", v]
        if args.only:
            cmd += ["--only"] + args.only
        if args.digits:
            cmd += ["--digits", args.digits]
        subprocess.run(cmd, check=True, env=env)
    parts = []
    for v in ("k3", "k2"):
        with open(os.path.join(out, f"_{v}.json")) as f:
            parts.append(json.load(f))
        os.remove(os.path.join(out, f"_{v}.json"))
    start = os.path.join(out, "resume", "_start_weights.npz")
    if os.path.exists(start):
        os.remove(start)
    manifest_path = os.path.join(out, "cases.json")
    old = {}
    if args.only and os.path.exists(manifest_path):
        with open(manifest_path) as f:
            old = {c["name"]: c for c in json.load(f)["cases"]}
    generator = {}
    for p in parts:
        generator.update(p["generator"])
    for p in parts:
        for c in p["cases"]:
            old[c["name"]] = c
    order = [c["name"] for c in CASES]
    cases = sorted(old.values(), key=lambda c: (order.index(c["name"]) if c["name"] in order else len(order), c["name"]))
    with open(manifest_path, "w") as f:
        json.dump({"generator": generator, "batch_size": BATCH, "cases": cases}, f, indent=1)
        f.write("\n")
    print("export_fit: wrote", manifest_path, file=sys.stderr)


if __name__ == "__main__":
    main()
