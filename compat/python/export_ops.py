"""Writes testdata/ops/: Functional models whose graphs hold operation nodes,
predicted and trained one step by real Keras from every file format.

  k3_ops   Keras 3: Dense layers around more than 150 different keras.ops functions
           (numpy, nn, math, core) and Python operators on symbolic tensors,
           GetItem with slices, None, integers and Ellipsis, and a NotEqual mask
           made from an int Input (Keras 3 only: tf-keras writes TFOpLambda).
  tf_ops   tf-keras: the same idea with TFOpLambda (tf.math.*, tf.nn.*,
           tf.__operators__.*, tf.reshape, tf.concat, tf.reduce_*, tf.cast, ...)
           and SlicingOpLambda (x[:, 1:3], x[..., 0], x[:, None]).

Each is trained with SGD(0.1) on mean_squared_error. Keras 3 saves model_k3.keras,
model_k3.h5 and model_k3.json + model_k3.weights.h5; tf-keras saves model_k2.h5 and
model_k2.json + model_k2_weights.h5. Every file is loaded back by the Keras that wrote
it, which records its predictions and, for the compiled files, the weights after one
train_on_batch (expect.npz). ops.json lists the files in the format of
testdata/transformer/transformer.json; compat/ops_test.go replays them.

keras.applications.MobileNetV3Small (hard-swish and squeeze-excite written with operators)
is checked with every other keras.applications model by export_applications.py.

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_ops.py [--out DIR]
"""
import json
import os
import subprocess
import sys

os.environ.update({"TF_CPP_MIN_LOG_LEVEL": "3", "TF_DETERMINISTIC_OPS": "1", "PYTHONHASHSEED": "0"})

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
N = 6


def data(name):
    rng = np.random.default_rng(11 if name == "k3_ops" else 12)
    x = rng.normal(size=(N, 4, 6)).astype(np.float32)
    tok = rng.integers(0, 4, size=(N, 5)).astype(np.int32)
    y = rng.normal(size=(N, 3)).astype(np.float32)
    return [x, tok], [y]


def build_k3():
    import keras
    from keras import ops
    L = keras.layers
    x = keras.Input((4, 6), name="x")
    tok = keras.Input((5,), dtype="int32", name="tok")
    h = L.Dense(6, name="d1")(x)
    t = ops.tanh(h)                      # (-1, 1)
    s = 0.5 * t
    p = ops.abs(t) + 1.0                 # [1, 2)
    feats = [
        ops.negative(t), ops.square(t), ops.sqrt(p), ops.exp(s), ops.expm1(s), ops.log(p), ops.log2(p),
        ops.log10(p), ops.log1p(ops.abs(t)), ops.sin(t), ops.cos(t), ops.tan(s), ops.arcsin(s), ops.arccos(s),
        ops.arctan(t), ops.sinh(t), ops.cosh(t), ops.arcsinh(t), ops.arccosh(p + 1.0), ops.arctanh(s),
        ops.reciprocal(p), ops.cbrt(p), ops.deg2rad(t), ops.rad2deg(s) * 0.01, ops.exp2(s),
        ops.sign(t) * t, ops.floor(t * 3.0) + t, ops.ceil(t * 3.0) - t, ops.trunc(t * 3.0), ops.round(t * 3.0),
        ops.subtract(t, s), ops.divide(t, p), ops.true_divide(s, p), ops.power(p, 2.0), ops.maximum(t, s * 1.5),
        ops.minimum(t, 0.1), ops.arctan2(t, p), ops.hypot(t, p), ops.logaddexp(t, s), ops.mod(t, 0.3),
        ops.floor_divide(t, 0.4), ops.where(ops.greater(t, 0.0), t, s), ops.clip(t, -0.3, 0.4),
        ops.cast(ops.equal(ops.round(t * 2.0), 0.0), "float32"), ops.cast(ops.less(t, s), "float32") * t,
        ops.cast(ops.logical_and(ops.greater_equal(t, -0.5), ops.less_equal(t, 0.5)), "float32"),
        ops.relu(t), ops.relu6(h), ops.sigmoid(t), ops.softplus(t), ops.softsign(t), ops.silu(t), ops.gelu(t),
        ops.gelu(t, approximate=False), ops.elu(t), ops.selu(t), ops.leaky_relu(t), ops.hard_sigmoid(t),
        ops.hard_silu(t), ops.log_sigmoid(t), ops.softmax(t, axis=1), ops.log_softmax(t), ops.celu(t),
        ops.tanh_shrink(t), ops.hard_tanh(h), ops.soft_shrink(t), ops.hard_shrink(t), ops.sparse_plus(t),
        ops.squareplus(t), ops.rsqrt(p), ops.erf(t), ops.erfc(t), ops.flip(t, axis=2), ops.roll(t, 2, axis=2),
        ops.swapaxes(ops.swapaxes(t, 1, 2), 1, 2), ops.transpose(ops.transpose(t, (0, 2, 1)), (0, 2, 1)),
        ops.squeeze(ops.expand_dims(t, 1), axis=1), t * ops.mean(t, axis=1, keepdims=True),
        t * ops.max(t, axis=-1, keepdims=True), t * ops.min(t, axis=(1, 2), keepdims=True),
        t - ops.logsumexp(t, axis=2, keepdims=True) * 0.1, t * ops.std(t, axis=1, keepdims=True),
        t * ops.var(t, axis=2, keepdims=True), ops.prod(p, axis=-1, keepdims=True) * t,
        ops.reshape(ops.reshape(t, (-1, 24)), (-1, 4, 6)), ops.matmul(t, ops.transpose(t, (0, 2, 1)))[:, :, :1] * t,
        ops.tile(t[:, :, :3], (1, 1, 2)), ops.repeat(t[:, :, ::2], 2, axis=2), ops.stack([t, s], axis=1)[:, 1],
        t[..., ::-1], t[:, None, 1:3, :][:, 0, 0:1, :] + t,
        ops.cumsum(t, axis=2), ops.cumprod(p, axis=1) * 0.1, ops.pad(t, ((0, 0), (0, 0), (1, 1)))[:, :, 1:-1] + 1.0,
        ops.pad(t[:, :, 1:], ((0, 0), (0, 0), (0, 1)), constant_values=0.5), ops.take(t, [2, 0, 1, 3, 5, 4], axis=2),
        ops.moveaxis(ops.moveaxis(t, 1, 2), 2, 1), ops.tril(t), ops.triu(t, 1), ops.zeros_like(t) + t,
        ops.ones_like(t) * t, ops.full_like(t, 0.25) - t,
        ops.squeeze(ops.image.resize(ops.expand_dims(t, -1), (8, 12)), -1)[:, ::2, ::2],
        ops.squeeze(ops.image.resize(ops.expand_dims(t, -1), (4, 12), interpolation="nearest"), -1)[:, :, ::2],
        ops.fmax(t, s * 1.5), ops.fmin(t, 0.2), ops.threshold(t, 0.1, -0.2), ops.glu(ops.concatenate([t, s], -1)),
        ops.hstack([t[:, :2], t[:, 2:]]), ops.dstack([t[:, :, :2], t[:, :, 2:]]),
        ops.append(t[:, :, :1], t[:, :, 1:], axis=2),
        ops.heaviside(t, ops.ones_like(t) * 0.5), ops.logaddexp2(t, s), ops.sinc(t), ops.fmod(t, 0.3), ops.divide_no_nan(t, p),
        ops.cast(ops.logical_or(ops.greater(t, 0.3), ops.less(t, -0.3)), "float32"),
        ops.cast(ops.logical_xor(ops.greater(t, 0.0), ops.greater(s, 0.1)), "float32"),
        t * ops.amax(t, axis=-1, keepdims=True), t * ops.amin(t, axis=-1, keepdims=True),
        ops.stop_gradient(t) * t, ops.erfinv(s), ops.copy(t), ops.real(t), ops.conj(t), ops.fabs(t),
        ops.cast(ops.isfinite(t), "float32"), ops.cast(ops.signbit(t), "float32"), ops.cast(ops.isnan(t), "float32"),
        ops.logical_not(ops.greater(t, 0.0)), ops.arctan2(s, p), ops.sparse_sigmoid(t),
        ops.cast(ops.isinf(t / ops.round(t)), "float32"), ops.cast(ops.isneginf(t / ops.round(t)), "float32"),
        ops.cast(ops.isposinf(t / ops.round(t)), "float32"), ops.cast(ops.isreal(t), "float32"),
        ops.fliplr(t), ops.flipud(t), ops.nan_to_num(ops.log(t), nan=0.3),
        ops.cast(ops.isclose(t, ops.round(t * 4.0) / 4.0, atol=0.05), "float32"), ops.diff(t, axis=2),
        ops.diff(ops.concatenate([t, t[:, :2]], axis=1), n=2, axis=1),
        t * ops.expand_dims(ops.diagonal(t, axis1=1, axis2=2), -1),
        t * ops.expand_dims(ops.diagonal(t, offset=1, axis1=1, axis2=2), -1),
        t * ops.reshape(ops.trace(t, axis1=1, axis2=2), (-1, 1, 1)),
        t * ops.reshape(ops.trace(t, offset=-1, axis1=1, axis2=2), (-1, 1, 1)),
        ops.sort(t), ops.sort(t, axis=1), ops.cast(ops.argsort(t), "float32") * 0.1,
        t * ops.expand_dims(ops.average(t, axis=2), -1), t * ops.median(t, axis=-1, keepdims=True),
        t * ops.median(t, axis=1, keepdims=True), t * ops.median(t, axis=(1, 2), keepdims=True),
    ]
    mask = ops.cast(ops.not_equal(tok, 0), "float32")                       # (N, 5)
    cnt = ops.sum(mask, axis=-1, keepdims=True)
    anyz = ops.cast(ops.any(ops.equal(tok, 0), axis=-1, keepdims=True), "float32")
    am = ops.cast(ops.argmax(tok, axis=-1), "float32")
    oh = ops.sum(ops.one_hot(tok, 4), axis=1)[:, 1:]                        # (N, 3)
    oh = oh + ops.expand_dims(ops.cast(ops.count_nonzero(tok, axis=-1), "float32"), -1)
    oh = oh + ops.cast(ops.all(ops.greater_equal(tok, 1), axis=-1, keepdims=True), "float32")
    oh = oh + ops.expand_dims(ops.cast(ops.argmin(tok, axis=-1), "float32"), -1)
    b = tok * 0
    oh = oh + ops.cast(ops.bitwise_xor(tok, b + 2) + ops.left_shift(tok, b + 1) + ops.right_shift(tok, b + 1)
                       + ops.bitwise_left_shift(tok, b + 2) + ops.bitwise_right_shift(tok, b + 1)
                       + ops.bitwise_invert(tok) + ops.bitwise_not(tok) + ops.lcm(tok, b + 2), "float32")[:, 1:2]
    oh = oh + ops.cast(ops.bitwise_and(tok, tok * 0 + 3) + ops.gcd(tok, tok * 0 + 2) + ops.bitwise_or(tok, tok * 0 + 1), "float32")[:, :1]
    extra = ops.concatenate([cnt, anyz, ops.expand_dims(am, -1)], axis=-1) + oh   # (N, 3)
    z = ops.concatenate(feats, axis=-1)                                      # (N, 4, 6k)
    z = ops.sum(z, axis=1) / 4.0
    out = L.Dense(3, name="d2")(z)
    out = out + L.Dense(3, name="d3")(extra)
    model = keras.Model([x, tok], out, name="k3_ops")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    return model


def build_tf():
    import tensorflow as tf
    import tf_keras as keras
    L = keras.layers
    x = keras.Input((4, 6), name="x")
    tok = keras.Input((5,), dtype="int32", name="tok")
    h = L.Dense(6, name="d1")(x)
    t = tf.math.tanh(h)
    s = t * 0.5
    p = tf.math.abs(t) + 1.0
    feats = [
        tf.nn.relu(h), tf.nn.relu6(h), tf.math.sigmoid(t), tf.nn.softplus(t), tf.nn.softsign(t), tf.nn.elu(t),
        tf.nn.selu(t), tf.nn.silu(t), tf.nn.gelu(t), tf.nn.leaky_relu(t), tf.nn.softmax(t, axis=1),
        tf.nn.log_softmax(t), tf.math.multiply(t, s), tf.math.subtract(1.0, t), tf.math.truediv(t, p),
        tf.math.pow(p, 2.0), tf.math.maximum(t, s), tf.math.minimum(t, 0.1), tf.math.square(t),
        tf.math.sqrt(p), tf.math.rsqrt(p), tf.math.exp(s), tf.math.log(p), tf.math.sin(t), tf.math.cos(t),
        tf.math.negative(t), tf.math.reciprocal(p), tf.math.squared_difference(t, s),
        tf.clip_by_value(t, -0.3, 0.4), tf.where(t > 0.0, t, s), tf.cast(t > s, tf.float32) * t,
        -t, t / p, t ** 2, t - s, tf.concat([t[:, :, :3], s[:, :, 3:]], axis=-1),
        tf.reshape(tf.reshape(t, (-1, 24)), (-1, 4, 6)), tf.transpose(tf.transpose(t, (0, 2, 1)), (0, 2, 1)),
        tf.squeeze(tf.expand_dims(t, 1), axis=1), t * tf.reduce_mean(t, axis=1, keepdims=True),
        t * tf.reduce_max(t, axis=-1, keepdims=True), t * tf.math.reduce_sum(t, axis=[1, 2], keepdims=True),
        t * tf.math.reduce_std(t, axis=1, keepdims=True), tf.tile(t[:, :, :3], (1, 1, 2)),
        tf.linalg.matmul(t, t, transpose_b=True)[:, :, :1] * t, tf.stack([t, s], axis=1)[:, 1],
        t[..., ::-1], t[:, tf.newaxis, 1:3, :][:, 0, 0:1, :] + t, tf.math.add_n([t, s, p]),
        tf.math.cumsum(t, axis=2), tf.pad(t, [[0, 0], [0, 0], [1, 1]])[:, :, 1:-1] + 1.0,
        tf.gather(t, [2, 0, 1, 3, 5, 4], axis=2), tf.zeros_like(t) + t,
        tf.squeeze(tf.image.resize(tf.expand_dims(t, -1), (8, 12)), -1)[:, ::2, ::2],
    ]
    cnt = tf.reduce_sum(tf.cast(tf.not_equal(tok, 0), tf.float32), axis=-1, keepdims=True)
    am = tf.cast(tf.math.argmax(tok, axis=-1), tf.float32)
    oh = tf.reduce_sum(tf.one_hot(tok, 4), axis=1)[:, 1:]
    extra = tf.concat([cnt, tf.expand_dims(am, -1), cnt * 0.5], axis=-1) + oh
    z = tf.concat(feats, axis=-1)
    z = tf.reduce_sum(z, axis=1) / 4.0
    out = L.Dense(3, name="d2")(z)
    out = out + L.Dense(3, name="d3")(extra)
    model = keras.Model([x, tok], out, name="tf_ops")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    return model


def part(out, keras3):
    from export_transformer_models import replay
    if keras3:
        import keras as K
        name, build, fmts = "k3_ops", build_k3, ["keras", "h5", "json"]
    else:
        import tf_keras as K
        name, build, fmts = "tf_ops", build_tf, ["h5", "json"]
    K.utils.set_random_seed(5)
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    xs, ys = data(name)
    model = build()
    tag = "k3" if keras3 else "k2"
    files = []
    for fmt in fmts:
        if fmt == "json":
            with open(os.path.join(d, f"model_{tag}.json"), "w") as f:
                f.write(model.to_json())
            wf = os.path.join(d, f"model_{tag}.weights.h5" if keras3 else f"model_{tag}_weights.h5")
            model.save_weights(wf)
            files.append((f"{tag}_json", "json", os.path.join(d, f"model_{tag}.json"), wf, name))
        else:
            path = os.path.join(d, f"model_{tag}.{fmt}")
            model.save(path)
            files.append((f"{tag}_{fmt}", fmt, path, None, name))
    np.savez(os.path.join(d, "data.npz"), y0=ys[0], **{f"x{i}": x.astype(np.float32) for i, x in enumerate(xs)})
    entries, expect = {}, {}
    replay(K, keras3, files, xs, ys, expect, entries)
    np.savez_compressed(os.path.join(d, "expect.npz"), **expect[name])
    return {"name": name, "dir": name, "inputs": ["x0", "x1"], "targets": ["y0"], "models": entries[name]}


def write_op_classes(path):
    """Lists every operation class of Keras's source (keras/src/ops/*.py, the
    classes deriving from Operation, aliases such as Abs(Absolute) included),
    one keras.src.ops.<module>.<Class> a line: the README's op table counts
    what kerasrun covers of them."""
    import ast
    import keras
    ops_dir = os.path.join(os.path.dirname(keras.__file__), "src", "ops")
    names = []
    for fn in sorted(os.listdir(ops_dir)):
        if not fn.endswith(".py") or fn.endswith("_test.py"):
            continue
        tree = ast.parse(open(os.path.join(ops_dir, fn)).read())
        ops = set()
        for node in tree.body:  # in order, so that aliases follow their base
            if isinstance(node, ast.ClassDef):
                bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
                if "Operation" in bases or bases & ops:
                    ops.add(node.name)
                    names.append(f"keras.src.ops.{fn[:-3]}.{node.name}")
    with open(path, "w") as f:
        f.write(f"# Operation classes of keras {keras.__version__} (compat/python/export_ops.py)\n")
        f.write("\n".join(sorted(names)) + "\n")


def main():
    args = sys.argv[1:]
    out = os.path.join(HERE, "..", "..", "testdata", "ops")
    if "--out" in args:
        out = args[args.index("--out") + 1]
    os.makedirs(out, exist_ok=True)
    if "--child" in args:
        with open(os.path.join(out, "k2_case.json"), "w") as f:
            json.dump(part(out, False), f)
        return
    import keras
    write_op_classes(os.path.join(out, "keras_op_classes.txt"))
    cases = [part(out, True)]
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
    subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "--out", out], check=True, env=env)
    with open(os.path.join(out, "k2_case.json")) as f:
        cases.append(json.load(f))
    os.remove(os.path.join(out, "k2_case.json"))
    from export_transformer_models import _tf_keras_version
    doc = {"keras": keras.__version__, "tf_keras": _tf_keras_version(), "tolerance": {"atol": 1e-5, "rtol": 1e-4},
           "train": "one train_on_batch on all 6 samples, SGD(0.1)", "cases": cases}
    with open(os.path.join(out, "ops.json"), "w") as f:
        json.dump(doc, f, indent=1)
    print("wrote", out)


if __name__ == "__main__":
    main()
