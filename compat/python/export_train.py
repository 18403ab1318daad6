"""Writes the golden fixtures of package train (train/testdata/*.json).

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_train.py
It uses the venv's Keras 3 (TensorFlow backend) and tf-keras, never the Go
code. Every expected number in train's tests comes from here.

Files written:
  losses.json     loss value and d(loss)/d(y_pred) (tf.GradientTape) per case
  metrics.json    metric result after each of 2-3 update_state batches
  optimizers.json variables and optimizer variables after 1 and 5 steps
  schedules.json  learning rate of each schedule at several steps
  legacy.json     tf-keras (Keras 2) optimizer_weights names/values in .h5
"""

import json
import os
import sys
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras.src.trainers import compile_utils  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train", "testdata")


def num(v):
    """Shortest decimal that round-trips the value's own precision."""
    if isinstance(v, (np.floating,)) and v.dtype == np.float32:
        return float(str(v))
    return float(v)


def arr(x):
    x = np.asarray(x)
    return {"shape": list(x.shape), "data": [num(v) for v in x.reshape(-1)]}


def ser(identifier, obj):
    if isinstance(identifier, str):
        return identifier
    return keras.saving.serialize_keras_object(obj)


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    print("wrote", path, os.path.getsize(path), "bytes")


# ---------------------------------------------------------------- losses

def rng(seed):
    return np.random.default_rng(seed)


def probs(r, shape):
    x = r.uniform(0.05, 1.0, size=shape).astype("float32")
    return (x / x.sum(-1, keepdims=True)).astype("float32")


def onehot(r, n, k):
    return np.eye(k, dtype="float32")[r.integers(0, k, size=n)]


def loss_cases():
    r = rng(1)
    N, K = 4, 3
    reg_t = r.normal(size=(N, K)).astype("float32")
    reg_p = r.normal(size=(N, K)).astype("float32")
    pos_t = r.uniform(0.1, 2.0, size=(N, K)).astype("float32")
    pos_p = r.uniform(0.1, 2.0, size=(N, K)).astype("float32")
    bin_t = r.integers(0, 2, size=(N, K)).astype("float32")
    bin_p = r.uniform(0.02, 0.98, size=(N, K)).astype("float32")
    logits = r.normal(size=(N, K)).astype("float32") * 2
    cat_t = onehot(r, N, K)
    cat_p = probs(r, (N, K))
    unnorm_p = r.uniform(0.1, 2.0, size=(N, K)).astype("float32")
    sparse_t = r.integers(0, K, size=(N,)).astype("float32")
    sw = r.uniform(0.2, 2.0, size=(N,)).astype("float32")
    sw2 = r.uniform(0.2, 2.0, size=(N, 1)).astype("float32")
    hinge_t = r.choice([-1.0, 1.0], size=(N, K)).astype("float32")
    soft_t = probs(r, (N, K))
    b1_t = r.integers(0, 2, size=(N, 1)).astype("float32")
    b1_p = r.uniform(0.02, 0.98, size=(N, 1)).astype("float32")
    seq_t = r.normal(size=(2, 3, 2)).astype("float32")
    seq_p = r.normal(size=(2, 3, 2)).astype("float32")
    seq_sw = r.uniform(0.2, 2.0, size=(2, 3)).astype("float32")
    ign_t = np.array([0, 2, 1, 2], dtype="float32")
    L = keras.losses
    cases = [
        ("mse", reg_t, reg_p, None),
        ("mean_squared_error", reg_t, reg_p, sw),
        ("MSE", reg_t, reg_p, None),
        (L.MeanSquaredError(reduction="sum"), reg_t, reg_p, sw),
        (L.MeanSquaredError(reduction="mean_with_sample_weight"), reg_t, reg_p, sw),
        (L.MeanSquaredError(reduction="none"), reg_t, reg_p, sw),
        (L.MeanSquaredError(), seq_t, seq_p, seq_sw),
        (L.MeanSquaredError(), reg_t, reg_p, sw2),
        ("mae", reg_t, reg_p, sw),
        (L.MeanAbsoluteError(), reg_t, reg_p, None),
        ("mape", pos_t, pos_p, None),
        (L.MeanAbsolutePercentageError(), reg_t, reg_p, sw),
        ("msle", pos_t, pos_p, sw),
        (L.MeanSquaredLogarithmicError(), reg_t, reg_p, None),
        (L.Huber(), reg_t, reg_p, sw),
        (L.Huber(delta=0.5), reg_t, reg_p, None),
        ("huber", reg_t, reg_p, None),
        (L.LogCosh(), reg_t, reg_p, sw),
        ("log_cosh", reg_t, reg_p, None),
        ("binary_crossentropy", bin_t, bin_p, None),
        ("bce", b1_t, b1_p, sw),
        (L.BinaryCrossentropy(), bin_t, bin_p, sw),
        (L.BinaryCrossentropy(from_logits=True), bin_t, logits, None),
        (L.BinaryCrossentropy(label_smoothing=0.1), bin_t, bin_p, None),
        (L.BinaryCrossentropy(from_logits=True, label_smoothing=0.2), bin_t, logits, sw),
        (L.BinaryCrossentropy(), b1_t[:, 0], b1_p, None),
        ("categorical_crossentropy", cat_t, cat_p, None),
        ("categorical_crossentropy", cat_t, unnorm_p, sw),
        (L.CategoricalCrossentropy(from_logits=True), cat_t, logits, None),
        (L.CategoricalCrossentropy(label_smoothing=0.1), cat_t, cat_p, sw),
        (L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2), cat_t, logits, None),
        (L.CategoricalCrossentropy(), soft_t, unnorm_p, None),
        ("sparse_categorical_crossentropy", sparse_t, cat_p, None),
        ("sparse_categorical_crossentropy", sparse_t[:, None], cat_p, sw),
        (L.SparseCategoricalCrossentropy(from_logits=True), sparse_t, logits, sw),
        (L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2), ign_t, logits, None),
        (L.SparseCategoricalCrossentropy(ignore_class=2), ign_t, cat_p, sw),
        (L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2, reduction="sum"), ign_t, logits, None),
        ("crossentropy", cat_t, cat_p, None),
        ("crossentropy", sparse_t, cat_p, None),
        ("crossentropy", b1_t, b1_p, None),
        (L.BinaryFocalCrossentropy(), bin_t, bin_p, None),
        (L.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.3, gamma=1.5), bin_t, bin_p, sw),
        (L.BinaryFocalCrossentropy(from_logits=True, label_smoothing=0.1), bin_t, logits, None),
        ("binary_focal_crossentropy", bin_t, bin_p, None),
        (L.CategoricalFocalCrossentropy(), cat_t, cat_p, None),
        (L.CategoricalFocalCrossentropy(from_logits=True, alpha=0.5, gamma=1.0, label_smoothing=0.1), cat_t, logits, sw),
        (L.CategoricalFocalCrossentropy(), cat_t, unnorm_p, None),
        ("kld", soft_t, cat_p, None),
        (L.KLDivergence(), soft_t, cat_p, sw),
        ("poisson", pos_t, pos_p, None),
        (L.Poisson(), pos_t, pos_p, sw),
        ("hinge", hinge_t, reg_p, None),
        (L.Hinge(), bin_t, reg_p, sw),
        ("squared_hinge", hinge_t, reg_p, None),
        (L.SquaredHinge(), bin_t, reg_p, None),
        ("categorical_hinge", cat_t, reg_p, None),
        (L.CategoricalHinge(), cat_t, reg_p, sw),
        ("cosine_similarity", reg_t, reg_p, None),
        (L.CosineSimilarity(), reg_t, reg_p, sw),
        (L.CosineSimilarity(axis=0), reg_t, reg_p, None),
        (L.Dice(), bin_t, bin_p, None),
        (L.Dice(axis=[1]), bin_t, bin_p, sw),
        (L.Tversky(), bin_t, bin_p, None),
        (L.Tversky(alpha=0.3, beta=0.7, axis=[1]), bin_t, bin_p, None),
    ]
    out = []
    for ident, yt, yp, w in cases:
        yt_t = tf.constant(yt)
        yp_v = tf.Variable(yp)
        if not isinstance(ident, str):
            # What a reloaded model uses: some classes (Huber, CosineSimilarity)
            # drop arguments from get_config, so round-trip the config.
            ident = keras.losses.deserialize(keras.losses.serialize(ident))
        loss_obj = compile_utils.get_loss(ident, yt_t, yp_v)
        with tf.GradientTape() as tape:
            val = loss_obj(yt_t, yp_v, sample_weight=None if w is None else tf.constant(w))
            total = tf.reduce_sum(val)
        g = tape.gradient(total, yp_v)
        case = {
            "name": loss_obj.name,
            "config": ser(ident, loss_obj),
            "y_true": arr(yt),
            "y_pred": arr(yp),
            "loss": arr(val.numpy()),
            "grad": arr(g.numpy()),
        }
        if w is not None:
            case["sample_weight"] = arr(w)
        out.append(case)
    return out


# ---------------------------------------------------------------- metrics

def metric_cases():
    r = rng(2)
    N, K = 6, 4

    def batches(kind, n=3):
        bs = []
        for _ in range(n):
            if kind == "bin":
                yt = r.integers(0, 2, size=(N, 1)).astype("float32")
                yp = r.uniform(0, 1, size=(N, 1)).astype("float32")
            elif kind == "bin2":
                yt = r.integers(0, 2, size=(N, 3)).astype("float32")
                yp = r.uniform(0, 1, size=(N, 3)).astype("float32")
            elif kind == "cat":
                yt = onehot(r, N, K)
                yp = probs(r, (N, K))
            elif kind == "sparse":
                yt = r.integers(0, K, size=(N,)).astype("float32")
                yp = probs(r, (N, K))
            elif kind == "sparse1":
                yt = r.integers(0, K, size=(N, 1)).astype("float32")
                yp = probs(r, (N, K))
            elif kind == "reg":
                yt = r.normal(size=(N, 3)).astype("float32")
                yp = r.normal(size=(N, 3)).astype("float32")
            elif kind == "pos":
                yt = r.uniform(0.1, 2, size=(N, 3)).astype("float32")
                yp = r.uniform(0.1, 2, size=(N, 3)).astype("float32")
            elif kind == "int":
                yt = r.integers(0, 3, size=(N,)).astype("float32")
                yp = r.integers(0, 3, size=(N,)).astype("float32")
            elif kind == "iou":
                yt = r.integers(0, 3, size=(N,)).astype("float32")
                yp = r.integers(0, 3, size=(N,)).astype("float32")
            elif kind == "logit":
                yt = r.integers(0, 2, size=(N, 1)).astype("float32")
                yp = r.normal(size=(N, 1)).astype("float32")
            sw = r.uniform(0.2, 2.0, size=(N,)).astype("float32")
            bs.append((yt, yp, sw))
        return bs

    M = keras.metrics
    specs = [
        ("accuracy", "bin", False),
        ("accuracy", "cat", True),
        ("acc", "sparse", False),
        ("accuracy", "sparse1", True),
        (M.Accuracy(), "int", True),
        (M.BinaryAccuracy(), "bin2", True),
        (M.BinaryAccuracy(threshold=0.3), "bin", False),
        ("binary_accuracy", "bin", False),
        (M.CategoricalAccuracy(), "cat", True),
        ("categorical_accuracy", "cat", False),
        (M.SparseCategoricalAccuracy(), "sparse", True),
        ("sparse_categorical_accuracy", "sparse1", False),
        (M.TopKCategoricalAccuracy(k=2), "cat", True),
        (M.SparseTopKCategoricalAccuracy(k=2), "sparse", True),
        ("top_k_categorical_accuracy", "cat", False),
        (M.AUC(), "bin", False),
        (M.AUC(num_thresholds=7), "bin", True),
        (M.AUC(curve="PR"), "bin", True),
        (M.AUC(curve="PR", summation_method="majoring", num_thresholds=11), "bin", False),
        (M.AUC(summation_method="minoring", num_thresholds=11), "bin", True),
        (M.AUC(from_logits=True, num_thresholds=50), "logit", False),
        (M.AUC(thresholds=[0.2, 0.45, 0.7]), "bin", True),
        (M.AUC(multi_label=True, num_thresholds=20), "bin2", False),
        ("auc", "bin", False),
        (M.Precision(), "bin", False),
        (M.Precision(thresholds=[0.3, 0.6]), "bin", True),
        (M.Precision(top_k=2), "bin2", False),
        (M.Precision(class_id=1), "bin2", True),
        (M.Recall(), "bin", True),
        (M.Recall(thresholds=0.7), "bin2", False),
        (M.Recall(top_k=1, class_id=2), "bin2", True),
        ("precision", "bin", False),
        ("recall", "bin", False),
        (M.MeanIoU(num_classes=3), "iou", False),
        (M.MeanIoU(num_classes=3, ignore_class=0), "iou", True),
        (M.MeanIoU(num_classes=4, sparse_y_pred=False), "sparse", False),
        (M.MeanSquaredError(), "reg", True),
        ("mse", "reg", False),
        (M.MeanAbsoluteError(), "reg", True),
        ("mae", "reg", False),
        (M.RootMeanSquaredError(), "reg", True),
        (M.MeanAbsolutePercentageError(), "pos", True),
        ("mape", "pos", False),
        (M.MeanSquaredLogarithmicError(), "pos", True),
        (M.CosineSimilarity(), "reg", True),
        (M.LogCoshError(), "reg", True),
        ("log_cosh_error", "reg", False),
        (M.BinaryCrossentropy(), "bin", True),
        (M.BinaryCrossentropy(from_logits=True, label_smoothing=0.1), "logit", False),
        ("binary_crossentropy", "bin", False),
        (M.CategoricalCrossentropy(), "cat", True),
        ("categorical_crossentropy", "cat", False),
        (M.SparseCategoricalCrossentropy(), "sparse", True),
        ("sparse_categorical_crossentropy", "sparse1", False),
        (M.KLDivergence(), "cat", True),
        (M.Poisson(), "pos", False),
        (M.Hinge(), "bin", True),
        (M.SquaredHinge(), "bin", False),
        (M.CategoricalHinge(), "cat", True),
        (M.TruePositives(), "bin", True),
        (M.FalsePositives(thresholds=[0.3, 0.7]), "bin", False),
        (M.TrueNegatives(), "bin2", False),
        (M.FalseNegatives(thresholds=0.4), "bin", True),
        (M.R2Score(), "reg", False),
        (M.R2Score(class_aggregation="variance_weighted_average"), "reg", True),
        (M.R2Score(class_aggregation=None), "reg", False),
        (M.R2Score(num_regressors=2), "reg", False),
        (M.IoU(num_classes=3, target_class_ids=[0, 2]), "iou", False),
    ]
    out = []
    for ident, kind, weighted in specs:
        bs = batches(kind)
        if not isinstance(ident, str):
            ident = keras.metrics.deserialize(keras.metrics.serialize(ident))
        m = compile_utils.get_metric(ident, tf.constant(bs[0][0]), tf.constant(bs[0][1]))
        results = []
        for yt, yp, sw in bs:
            m.update_state(tf.constant(yt), tf.constant(yp), sample_weight=tf.constant(sw) if weighted else None)
            results.append(float(np.asarray(m.result()).reshape(-1)[0]) if np.asarray(m.result()).size == 1 else [float(v) for v in np.asarray(m.result()).reshape(-1)])
        case = {
            "name": m.name,
            "config": ser(ident, m),
            "batches": [{"y_true": arr(yt), "y_pred": arr(yp), **({"sample_weight": arr(sw)} if weighted else {})} for yt, yp, sw in bs],
            "results": results,
        }
        out.append(case)
    # Mean as the loss tracker: values weighted by batch size.
    m = keras.metrics.Mean(name="loss")
    vals = [(0.7, 6), (0.4, 6), (0.9, 3)]
    res = []
    for v, n in vals:
        m.update_state(v, sample_weight=n)
        res.append(float(m.result()))
    out.append({"name": "loss", "config": "Mean", "scalar_updates": [[v, n] for v, n in vals], "results": res})
    return out


# ---------------------------------------------------------------- optimizers

def optimizer_cases():
    r = rng(3)
    steps = 5
    kernel0 = r.normal(size=(3, 2)).astype("float32")
    bias0 = r.normal(size=(2,)).astype("float32") * 0.1
    grads = [(r.normal(size=(3, 2)).astype("float32"), r.normal(size=(2,)).astype("float32")) for _ in range(steps)]
    O = keras.optimizers
    S = keras.optimizers.schedules
    specs = [
        lambda: O.SGD(),
        lambda: O.SGD(learning_rate=0.1, momentum=0.9),
        lambda: O.SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
        lambda: O.Adam(),
        lambda: O.Adam(learning_rate=0.01, amsgrad=True),
        lambda: O.Adam(learning_rate=0.01, beta_1=0.8, beta_2=0.95, epsilon=1e-4),
        lambda: O.Adam(learning_rate=0.01, clipnorm=0.5),
        lambda: O.Adam(learning_rate=0.01, clipvalue=0.3),
        lambda: O.Adam(learning_rate=0.01, global_clipnorm=0.7),
        lambda: O.Adam(learning_rate=0.01, weight_decay=0.1),
        lambda: O.Adam(learning_rate=0.01, use_ema=True, ema_momentum=0.9),
        lambda: O.Adam(learning_rate=0.01, use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=2),
        lambda: O.Adam(learning_rate=0.01, gradient_accumulation_steps=2),
        lambda: O.Adam(learning_rate=0.01, loss_scale_factor=4.0),
        lambda: O.Adam(learning_rate=S.ExponentialDecay(0.01, decay_steps=2, decay_rate=0.5)),
        lambda: O.AdamW(),
        lambda: O.AdamW(learning_rate=0.01, weight_decay=0.05, amsgrad=True),
        lambda: O.RMSprop(),
        lambda: O.RMSprop(learning_rate=0.01, momentum=0.5),
        lambda: O.RMSprop(learning_rate=0.01, centered=True, rho=0.8),
        lambda: O.RMSprop(learning_rate=0.01, momentum=0.3, centered=True, epsilon=1e-3),
        lambda: O.Adagrad(),
        lambda: O.Adagrad(learning_rate=0.05, initial_accumulator_value=0.5),
        lambda: O.Adadelta(),
        lambda: O.Adadelta(learning_rate=1.0, rho=0.9),
        lambda: O.Adamax(),
        lambda: O.Adamax(learning_rate=0.02, beta_1=0.8),
        lambda: O.Nadam(),
        lambda: O.Nadam(learning_rate=0.01),
        lambda: O.Lion(),
        lambda: O.Lion(learning_rate=0.01, beta_1=0.8, beta_2=0.95),
        lambda: O.Ftrl(),
        lambda: O.Ftrl(learning_rate=0.1, l1_regularization_strength=0.01, l2_regularization_strength=0.02, l2_shrinkage_regularization_strength=0.03, beta=0.1),
        lambda: O.Adafactor(),
        lambda: O.Adafactor(learning_rate=0.1, clip_threshold=0.5, relative_step=False),
        lambda: O.LossScaleOptimizer(O.SGD(learning_rate=0.1, momentum=0.5), initial_scale=8.0, dynamic_growth_steps=2),
        lambda: O.SGD(learning_rate=S.CosineDecay(0.1, decay_steps=4, warmup_target=0.2, warmup_steps=2)),
    ]
    out = []
    for make in specs:
        opt = make()
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")], name="seq")
        model.layers[0].kernel.assign(kernel0)
        model.layers[0].bias.assign(bias0)
        tvars = model.trainable_variables
        config = keras.saving.serialize_keras_object(opt)
        snaps = {}
        for s in range(steps):
            gk, gb = grads[s]
            if isinstance(opt, O.LossScaleOptimizer):
                # Gradients of the scaled loss; step 3 overflows.
                sc = float(opt.dynamic_scale.numpy()) if opt.built else opt.initial_scale
                gk, gb = gk * sc, gb * sc
                if s == 2:
                    gk = gk.copy()
                    gk[0, 0] = np.inf
            opt.apply_gradients([(tf.constant(gk), tvars[0]), (tf.constant(gb), tvars[1])])
            if s + 1 in (1, steps):
                snaps[str(s + 1)] = {
                    "vars": [arr(v.numpy()) for v in tvars],
                    "opt_vars": [{"name": v.name, "path": v.path, **arr(v.numpy())} for v in opt.variables],
                    "iterations": int(opt.iterations.numpy()),
                    "learning_rate": float(np.asarray(opt.learning_rate)),
                }
        out.append({
            "config": config,
            "var_paths": [v.path for v in tvars],
            "var_names": [v.name for v in tvars],
            "init": [arr(kernel0), arr(bias0)],
            "grads": [[arr(gk), arr(gb)] for gk, gb in grads],
            "after": snaps,
        })
    return out


# ---------------------------------------------------------------- schedules

def schedule_cases():
    S = keras.optimizers.schedules
    steps = [0, 1, 2, 3, 5, 7, 10, 15, 20, 33, 100, 1000]
    specs = [
        S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9),
        S.ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5, staircase=True),
        S.PiecewiseConstantDecay(boundaries=[2, 10], values=[0.1, 0.05, 0.01]),
        S.PolynomialDecay(0.1, decay_steps=10),
        S.PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.01, power=2.0, cycle=True),
        S.InverseTimeDecay(0.1, decay_steps=5, decay_rate=0.5),
        S.InverseTimeDecay(0.1, decay_steps=5, decay_rate=0.5, staircase=True),
        S.CosineDecay(0.1, decay_steps=20),
        S.CosineDecay(0.1, decay_steps=20, alpha=0.1),
        S.CosineDecay(0.0, decay_steps=20, warmup_target=0.1, warmup_steps=5),
        S.CosineDecay(0.01, decay_steps=10, alpha=0.2, warmup_target=0.1, warmup_steps=3),
        S.CosineDecayRestarts(0.1, first_decay_steps=5),
        S.CosineDecayRestarts(0.1, first_decay_steps=4, t_mul=1.0, m_mul=0.5, alpha=0.1),
        S.CosineDecayRestarts(0.1, first_decay_steps=3, t_mul=1.5, m_mul=0.8),
    ]
    out = []
    for s in specs:
        out.append({
            "config": keras.saving.serialize_keras_object(s),
            "steps": steps,
            "values": [float(np.asarray(s(tf.constant(st, dtype="int64")))) for st in steps],
        })
    return out


# ---------------------------------------------------------------- tf-keras

def legacy_cases():
    import h5py
    import tf_keras

    r = rng(4)
    x = r.normal(size=(8, 3)).astype("float32")
    y = r.normal(size=(8, 2)).astype("float32")
    LO = tf_keras.optimizers.legacy
    specs = [
        ("legacy Adam", lambda: LO.Adam(learning_rate=0.01)),
        ("legacy Adam amsgrad", lambda: LO.Adam(learning_rate=0.01, amsgrad=True)),
        ("legacy RMSprop", lambda: LO.RMSprop(learning_rate=0.01, momentum=0.5, centered=True)),
        ("legacy SGD", lambda: LO.SGD(learning_rate=0.1, momentum=0.9)),
        ("legacy SGD decay", lambda: LO.SGD(learning_rate=0.1, momentum=0.5, decay=0.1)),
        ("legacy SGD nesterov decay", lambda: LO.SGD(learning_rate=0.1, momentum=0.5, nesterov=True, decay=0.2)),
        ("legacy Adagrad", lambda: LO.Adagrad(learning_rate=0.1)),
        ("Adam", lambda: tf_keras.optimizers.Adam(learning_rate=0.01)),
        ("RMSprop", lambda: tf_keras.optimizers.RMSprop(learning_rate=0.01, momentum=0.5)),
        ("SGD", lambda: tf_keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)),
    ]
    out = []
    for label, make in specs:
        tf_keras.utils.set_random_seed(5)
        model = tf_keras.Sequential([
            tf_keras.layers.Dense(4, input_shape=(3,), name="dense"),
            tf_keras.layers.Dense(2, name="dense_1"),
        ])
        model.compile(optimizer=make(), loss="mse")
        init = [arr(w) for w in model.get_weights()]
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "m.h5")
            model.save(p)
            with h5py.File(p, "r") as f:
                tc = json.loads(f.attrs["training_config"])
                names, values = [], []
                if "optimizer_weights" in f:
                    g = f["optimizer_weights"]
                    for n in g.attrs["weight_names"]:
                        n = n.decode() if isinstance(n, bytes) else n
                        names.append(n)
                        values.append(arr(g[n][()]))
        out.append({
            "label": label,
            "optimizer_config": tc["optimizer_config"],
            "model_weight_names": [w.name for w in model.weights],
            "init": init,
            "x": arr(x), "y": arr(y), "batch_size": 4,
            "weights_after": [arr(w) for w in model.get_weights()],
            "optimizer_weight_names": names,
            "optimizer_weights": values,
        })
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    keras.utils.set_random_seed(0)
    only = sys.argv[1:]
    jobs = [("losses.json", loss_cases), ("metrics.json", metric_cases),
            ("optimizers.json", optimizer_cases), ("schedules.json", schedule_cases),
            ("legacy.json", legacy_cases)]
    for name, fn in jobs:
        if only and name.split(".")[0] not in only:
            continue
        write(name, {"keras_version": keras.__version__, "tensorflow_version": tf.__version__,
                     "cases": fn()})


if __name__ == "__main__":
    main()
