"""The fixture cases: architecture, compile arguments and synthetic data.

Every builder takes the Keras module to use (``keras`` for Keras 3 or
``tf_keras`` for Keras 2) and ``legacy``: True for Keras 2, which is written in
the style of the old tutorials (``input_dim=``/``input_shape=`` on the first
layer), False for Keras 3, where those arguments are deprecated (they warn)
and an ``Input(shape=...)`` comes first instead. Both versions build the same
layers in the same order, so the weight lists line up for ``set_weights``.

This module imports neither Keras nor TensorFlow: the orchestrator in
export.py reads the case list without starting TensorFlow.
"""

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import export_families as fam


@dataclass
class Data:
    """Deterministic synthetic data: lists with one array per model input/output."""

    train_x: list
    train_y: list
    x: list
    y: list


@dataclass
class Case:
    name: str
    description: str
    seed: int
    build: Callable  # (K, legacy) -> model
    compile_args: Callable  # (K) -> dict of model.compile kwargs
    data: Callable  # (rng) -> Data
    epochs: int = 2
    batch_size: int = 8
    issue: int = 3
    notes: list = field(default_factory=list)
    # keras2 is False when tf-keras lacks one of the model's layers: the case
    # then has Keras 3's three files only (and says so in its notes).
    keras2: bool = True
    # prepare(model, train_x), if set, runs in Keras 3 before compile and fit
    # (e.g. Normalization.adapt); tf-keras receives the resulting weights.
    prepare: Callable = None


N_TRAIN = 32  # samples used to train: 2 epochs of 4 batches of 8
N_EVAL = 8  # samples committed as x*.npy/y*.npy


def _f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


def _one_hot(labels, n):
    return _f32(np.eye(n)[labels])


# --- issue 3: the tutorial models -----------------------------------------


def _digits(rng):
    """MNIST-like data: 784 pixels in [0, 1], class prototypes plus noise."""
    protos = (rng.random((10, 784)) < 0.25).astype(np.float64)
    n = N_TRAIN + N_EVAL
    labels = rng.integers(0, 10, size=n)
    x = np.clip(0.8 * protos[labels] + 0.3 * rng.random((n, 784)) - 0.1, 0.0, 1.0)
    y = _one_hot(labels, 10)
    return Data([_f32(x[:N_TRAIN])], [y[:N_TRAIN]], [_f32(x[N_TRAIN:])], [y[N_TRAIN:]])


def _mlp(activation):
    def build(K, legacy):
        L = K.layers
        model = K.Sequential()
        if legacy:
            model.add(L.Dense(128, input_dim=784))
        else:
            model.add(K.Input(shape=(784,)))
            model.add(L.Dense(128))
        model.add(L.Activation(activation))
        model.add(L.Dense(10))
        model.add(L.Activation("softmax"))
        return model

    return build


def _mlp_compile(K):
    return dict(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])


def _images(rng):
    """CIFAR-like data: 32x32x3 pixels in [0, 1], class colour and stripe plus noise."""
    n = N_TRAIN + N_EVAL
    labels = rng.integers(0, 10, size=n)
    colours = rng.random((10, 3))
    rows = np.arange(32)[:, None]
    cols = np.arange(32)[None, :]
    x = np.empty((n, 32, 32, 3))
    for i, c in enumerate(labels):
        stripe = 0.5 + 0.5 * np.sin((rows * (c % 3 + 1) + cols * (c // 3)) / 3.0)
        x[i] = 0.6 * stripe[:, :, None] * colours[c] + 0.4 * rng.random((32, 32, 3))
    x = np.clip(x, 0.0, 1.0)
    y = _f32(labels)
    return Data([_f32(x[:N_TRAIN])], [y[:N_TRAIN]], [_f32(x[N_TRAIN:])], [y[N_TRAIN:]])


def _cifar_cnn(K, legacy):
    L = K.layers
    first = []
    if legacy:
        conv1 = L.Conv2D(32, (3, 3), activation="relu", input_shape=(32, 32, 3))
    else:
        first = [K.Input(shape=(32, 32, 3))]
        conv1 = L.Conv2D(32, (3, 3), activation="relu")
    return K.Sequential(
        first
        + [
            conv1,
            L.MaxPooling2D((2, 2)),
            L.Conv2D(64, (3, 3), activation="relu"),
            L.MaxPooling2D((2, 2)),
            L.Flatten(),
            L.Dense(64, activation="relu"),
            L.Dense(10, activation="softmax"),
        ]
    )


def _cnn_compile(K):
    return dict(
        optimizer="adam",
        loss=K.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )


# --- issue 4: Functional models -------------------------------------------


def _normal(rng, *shape):
    return _f32(rng.normal(size=shape))


def _split(arrays):
    return [a[:N_TRAIN] for a in arrays], [a[N_TRAIN:] for a in arrays]


def _two_io_data(rng):
    n = N_TRAIN + N_EVAL
    a, b = _normal(rng, n, 4), _normal(rng, n, 3)
    reg = _f32(np.stack([a.sum(1) - b[:, 0], a[:, 0] * b[:, 1]], axis=1))
    cls = _one_hot(((a[:, 1] > 0).astype(int) + (b[:, 2] > 0).astype(int)), 3)
    tx, x = _split([a, b])
    ty, y = _split([reg, cls])
    return Data(tx, ty, x, y)


def _two_io(K, legacy):
    L = K.layers
    a = K.Input(shape=(4,), name="in_a")
    b = K.Input(shape=(3,), name="in_b")
    h = L.Concatenate(name="concat")([a, b])
    h = L.Dense(8, activation="relu", name="hidden")(h)
    reg = L.Dense(2, name="out_reg")(h)
    cls = L.Dense(3, activation="softmax", name="out_cls")(h)
    return K.Model(inputs=[a, b], outputs=[reg, cls], name="two_io")


def _two_io_compile(K):
    return dict(
        optimizer="adam",
        loss={"out_reg": "mean_squared_error", "out_cls": "categorical_crossentropy"},
        metrics={"out_cls": ["accuracy"]},
    )


def _siamese_data(rng):
    n = N_TRAIN + N_EVAL
    a, b = _normal(rng, n, 5), _normal(rng, n, 5)
    d = _f32(np.abs(a - b).sum(1, keepdims=True) / 5.0)
    tx, x = _split([a, b])
    ty, y = _split([d])
    return Data(tx, ty, x, y)


def _siamese(K, legacy):
    L = K.layers
    a = K.Input(shape=(5,), name="left")
    b = K.Input(shape=(5,), name="right")
    shared = L.Dense(4, activation="tanh", name="shared")
    d = L.Subtract(name="diff")([shared(a), shared(b)])
    out = L.Dense(1, name="score")(d)
    return K.Model(inputs=[a, b], outputs=out, name="siamese")


def _mse_sgd(K):
    # "mean_squared_error", not "mse": Keras 3.15 writes loss "mse" into a
    # legacy .h5 training_config that it then cannot load back
    # ("Could not deserialize 'keras.metrics.mse'").
    return dict(optimizer="sgd", loss="mean_squared_error")


def _residual_data(rng):
    n = N_TRAIN + N_EVAL
    x = _f32(rng.random((n, 6, 6, 2)))
    labels = (x[:, :3].mean((1, 2, 3)) * 3 > 1.5).astype(int) + (x[..., 1].mean((1, 2)) > 0.5)
    tx, vx = _split([x])
    ty, vy = _split([_one_hot(labels, 3)])
    return Data(tx, ty, vx, vy)


def _residual(K, legacy):
    L = K.layers
    inp = K.Input(shape=(6, 6, 2), name="image")
    c1 = L.Conv2D(4, (3, 3), padding="same", activation="relu", name="conv_a")(inp)
    c2 = L.Conv2D(4, (3, 3), padding="same", name="conv_b")(c1)
    h = L.Add(name="skip_conv")([c1, c2])
    h = L.Activation("relu", name="relu")(h)
    h = L.MaxPooling2D((2, 2), name="pool")(h)
    h = L.Flatten(name="flat")(h)
    d1 = L.Dense(8, activation="relu", name="dense_a")(h)
    d2 = L.Dense(8, name="dense_b")(L.Dropout(0.25, name="drop")(d1))
    h = L.Add(name="skip_dense")([d1, d2])
    out = L.Dense(3, activation="softmax", name="probs")(h)
    return K.Model(inputs=inp, outputs=out, name="residual")


def _cce_adam(K):
    return dict(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])


def _cce_sgd(K):
    return dict(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])


def _four_to_three_data(rng):
    n = N_TRAIN + N_EVAL
    x = _normal(rng, n, 4)
    labels = np.argmax(x[:, :3] + 0.5 * x[:, 3:], axis=1)
    tx, vx = _split([x])
    ty, vy = _split([_one_hot(labels, 3)])
    return Data(tx, ty, vx, vy)


def _seq_in_func(K, legacy):
    L = K.layers
    if legacy:
        inner = K.Sequential(
            [L.Dense(6, activation="relu", input_shape=(4,)), L.Dense(3)], name="inner"
        )
    else:
        inner = K.Sequential([K.Input(shape=(4,)), L.Dense(6, activation="relu"), L.Dense(3)], name="inner")
    inp = K.Input(shape=(4,), name="features")
    h = inner(inp)
    out = L.Activation("softmax", name="softmax")(h)
    return K.Model(inputs=inp, outputs=out, name="outer")


def _five_to_two_data(rng):
    n = N_TRAIN + N_EVAL
    x = _normal(rng, n, 5)
    labels = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int)
    tx, vx = _split([x])
    ty, vy = _split([_one_hot(labels, 2)])
    return Data(tx, ty, vx, vy)


def _func_in_seq(K, legacy):
    L = K.layers
    inp = K.Input(shape=(5,), name="block_in")
    d1 = L.Dense(4, activation="relu", name="block_dense_a")(inp)
    d2 = L.Dense(4, name="block_dense_b")(L.Dropout(0.1, name="block_drop")(d1))
    block = K.Model(inputs=inp, outputs=L.Add(name="block_add")([d1, d2]), name="block")
    head = L.Dense(2, activation="softmax", name="head")
    if legacy:
        return K.Sequential([block, head], name="outer")
    return K.Sequential([K.Input(shape=(5,)), block, head], name="outer")


CASES = [
    Case(
        "mlp_sigmoid",
        "Tutorial MLP: Sequential Dense(128, input_dim=784), Activation('sigmoid'), Dense(10), "
        "Activation('softmax'); rmsprop, categorical_crossentropy, accuracy.",
        seed=301,
        build=_mlp("sigmoid"),
        compile_args=_mlp_compile,
        data=_digits,
    ),
    Case(
        "mlp_relu",
        "Tutorial MLP: Sequential Dense(128, input_dim=784), Activation('relu'), Dense(10), "
        "Activation('softmax'); rmsprop, categorical_crossentropy, accuracy.",
        seed=302,
        build=_mlp("relu"),
        compile_args=_mlp_compile,
        data=_digits,
    ),
    Case(
        "cifar_cnn",
        "Tutorial CNN: Conv2D(32,3x3,relu,input_shape=(32,32,3)), MaxPooling2D, Conv2D(64,3x3,relu), "
        "MaxPooling2D, Flatten, Dense(64,relu), Dense(10,softmax); adam, "
        "SparseCategoricalCrossentropy (integer labels stored as float32), accuracy.",
        seed=303,
        build=_cifar_cnn,
        compile_args=_cnn_compile,
        data=_images,
    ),
    Case(
        "func_two_io",
        "Functional, two named inputs (in_a:4, in_b:3) -> Concatenate -> Dense(8,relu) -> two named "
        "heads out_reg Dense(2) (mean_squared_error) and out_cls Dense(3,softmax) (categorical_crossentropy, accuracy); adam.",
        seed=401,
        build=_two_io,
        compile_args=_two_io_compile,
        data=_two_io_data,
        issue=4,
    ),
    Case(
        "func_siamese",
        "Functional siamese: one Dense(4,tanh) layer 'shared' applied to two inputs (two nodes), "
        "Subtract, Dense(1); sgd, mean_squared_error.",
        seed=402,
        build=_siamese,
        compile_args=_mse_sgd,
        data=_siamese_data,
        issue=4,
    ),
    Case(
        "func_residual",
        "Functional residual: Conv2D(4,same,relu) -> Conv2D(4,same) -> Add skip -> Activation(relu) -> "
        "MaxPooling2D -> Flatten -> Dense(8,relu) -> Dropout -> Dense(8) -> Add skip -> Dense(3,softmax); "
        "adam, categorical_crossentropy, accuracy.",
        seed=403,
        build=_residual,
        compile_args=_cce_adam,
        data=_residual_data,
        issue=4,
    ),
    Case(
        "seq_in_func",
        "A Sequential 'inner' (Dense(6,relu), Dense(3)) called as a layer inside a Functional model, "
        "followed by Activation(softmax); sgd, categorical_crossentropy, accuracy.",
        seed=404,
        build=_seq_in_func,
        compile_args=_cce_sgd,
        data=_four_to_three_data,
        issue=4,
    ),
    Case(
        "func_in_seq",
        "A Functional 'block' (Dense(4,relu) -> Dropout -> Dense(4), Add with the first Dense) used as "
        "a layer of a Sequential model, followed by Dense(2,softmax); adam, categorical_crossentropy, accuracy.",
        seed=405,
        build=_func_in_seq,
        compile_args=_cce_adam,
        data=_five_to_two_data,
        issue=4,
    ),
]


# --- issue 5: one exhaustive Functional model per layer family --------------


def _family(name, description, seed, build, data, keras2=True, missing="", prepare=None):
    notes = []
    if not keras2:
        notes.append(f"Keras 3 only: tf-keras 2.21 has no {missing}, so there are no Keras 2 files.")
    return Case(
        f"family_{name}",
        description + " Every path ends in Flatten/Concatenate and a Dense head; adam, mean_squared_error, "
        "mean_absolute_error.",
        seed=seed,
        build=build,
        compile_args=fam.mse_adam,
        data=data,
        issue=5,
        notes=notes,
        keras2=keras2,
        prepare=prepare,
    )


CASES += [
    _family(
        "conv",
        "Convolution family, three inputs (9x4 sequence, 7x7x3 image, 4x5x4x2 volume): Conv1D causal dilated, "
        "Conv1D strided same with groups, SeparableConv1D depth_multiplier 2, DepthwiseConv1D, Conv1DTranspose "
        "output_padding; Conv2D strided same, Conv2D dilated without bias, SeparableConv2D, DepthwiseConv2D, "
        "Conv2DTranspose same with output_padding and valid; Conv3D same, Conv3D strided, Conv3DTranspose.",
        seed=501,
        build=fam.conv,
        data=fam.conv_data,
    ),
    _family(
        "pooling",
        "Pooling family on a 1D, 2D and 3D input (each after a 1x1 convolution): MaxPooling and AveragePooling "
        "1D/2D/3D, valid and same padding, strides; GlobalMaxPooling and GlobalAveragePooling 1D/2D/3D, keepdims.",
        seed=502,
        build=fam.pooling,
        data=fam.pool_data,
    ),
    _family(
        "pooling_adaptive",
        "Adaptive pooling: AdaptiveMaxPooling and AdaptiveAveragePooling 1D/2D/3D, channels_last and channels_first.",
        seed=503,
        build=fam.pooling_adaptive,
        data=fam.pool_data,
        keras2=False,
        missing="adaptive pooling layers",
    ),
    _family(
        "core",
        "Core family: Dense (relu, no bias, on a 3-D input), Identity, Activation, EinsumDense (2-D, 3-D with "
        "bias axes, 3-D without bias), Embedding on integer ids given as float32.",
        seed=504,
        build=fam.core,
        data=fam.core_data,
    ),
    _family(
        "activations",
        "Activations: Dense with every activation string of Keras 3 ("
        + ", ".join(fam.ACTIVATIONS)
        + "; not glu, whose output shape Keras 3.15.1 gets wrong in Dense), Activation(gelu, log_softmax), ReLU (max_value, negative_slope, threshold), LeakyReLU, PReLU "
        "(shared_axes), ELU, Softmax (axis).",
        seed=505,
        build=fam.activations,
        data=fam.activations_data,
        keras2=False,
        missing="relu6/hard_silu/celu/log_softmax activations and uses Keras 2's hard_sigmoid formula",
    ),
    _family(
        "normalization",
        "Normalization family: BatchNormalization (momentum 0.5 so two epochs move the moving statistics; no "
        "center; axis 1 without scale), LayerNormalization (last axis, axis 2), GroupNormalization (groups "
        "2, groups -1 on axis 1), UnitNormalization (last axis, axis 1; single axes only: Keras 3.15.1 reloads list axes from its legacy .h5 wrongly).",
        seed=506,
        build=fam.normalization,
        data=fam.norm_data,
    ),
    _family(
        "normalization_rms",
        "RMS normalization: RMSNormalization (last axis of a 2-D and a 4-D tensor, epsilon) and LayerNormalization rms_scaling (last axis, axis 1 without center).",
        seed=507,
        build=fam.normalization_rms,
        data=fam.norm_data,
        keras2=False,
        missing="RMSNormalization and LayerNormalization rms_scaling",
    ),
    _family(
        "reshaping",
        "Reshaping family: Reshape (with -1), Permute, Cropping1D/2D/3D, ZeroPadding1D/2D/3D, UpSampling1D, "
        "UpSampling2D (nearest, bilinear), UpSampling3D, channels_first variants, Flatten channels_first, "
        "RepeatVector.",
        seed=508,
        build=fam.reshaping,
        data=fam.reshaping_data,
    ),
    _family(
        "merging",
        "Merging family: Add, Multiply, Maximum of three inputs; Subtract, Average, Minimum; Concatenate (axis 1, "
        "last); Dot (axes 1, normalize, 3-D axes (2, 2) and (1, 1) normalized, mixed ranks (2, 1)).",
        seed=509,
        build=fam.merging,
        data=fam.merging_data,
    ),
    _family(
        "preprocessing",
        "Preprocessing inside a model: Rescaling with offset, Resizing (bilinear, nearest), CenterCrop (crop and "
        "pad), Normalization (adapted, and from config mean/variance), Discretization (int then CategoryEncoding "
        "count, and multi_hot), IntegerLookup multi_hot on an int64 input (fed float32), CategoryEncoding multi_hot.",
        seed=510,
        build=fam.preprocessing,
        data=fam.preprocessing_data,
        prepare=fam.preprocessing_prepare,
    ),
    _family(
        "regularization",
        "Layers inert at inference: Dropout, GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization "
        "(its loss is part of evaluate), SpatialDropout1D/2D/3D, RandomFlip, RandomRotation, RandomZoom, "
        "RandomTranslation, RandomContrast.",
        seed=511,
        build=fam.regularization,
        data=fam.regularization_data,
    ),
]

BY_NAME = {c.name: c for c in CASES}
