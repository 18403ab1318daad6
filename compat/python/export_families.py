"""Issue 5's "exhaustive" Functional models: one tiny model per layer family.

Each builder takes the Keras module (``keras`` or ``tf_keras``) and ``legacy``
(unused: a Functional model starts with Input in both versions) and puts as
many of its family's layers and options into one model as fit, every path
ending in a small trainable Dense head so that a couple of training steps
make the weights (and BatchNormalization's moving statistics) non-trivial.
export_cases.py lists them as cases ``family_<name>``; export_worker.py
trains and saves them like every other case.

Like export_cases.py this module imports neither Keras nor TensorFlow.
"""

import numpy as np

N_TRAIN = 32
N_EVAL = 8


def _f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


def _data(inputs, n_out, rng):
    """Splits inputs (arrays of N_TRAIN + N_EVAL samples) and makes a
    regression target of n_out columns from them."""
    from export_cases import Data

    n = N_TRAIN + N_EVAL
    feats = np.concatenate([a.reshape(n, -1)[:, :4] for a in inputs], axis=1)
    w = rng.normal(size=(feats.shape[1], n_out))
    y = _f32(np.tanh(feats @ w / np.sqrt(feats.shape[1])))
    return Data(
        [_f32(a[:N_TRAIN]) for a in inputs],
        [y[:N_TRAIN]],
        [_f32(a[N_TRAIN:]) for a in inputs],
        [y[N_TRAIN:]],
    )


def _normal(rng, *shape):
    return _f32(rng.normal(size=(N_TRAIN + N_EVAL,) + shape))


def _head(K, parts, name="head", units=3):
    """Flattens and concatenates parts, then a Dense regression head."""
    L = K.layers
    flat = [p if len(p.shape) == 2 else L.Flatten(name=f"flat_{i}")(p) for i, p in enumerate(parts)]
    h = flat[0] if len(flat) == 1 else L.Concatenate(name="concat_head")(flat)
    return L.Dense(units, name=name)(h)


def mse_adam(K):
    return dict(optimizer="adam", loss="mean_squared_error", metrics=["mean_absolute_error"])


# --- convolution ----------------------------------------------------------


def conv_data(rng):
    return _data([_normal(rng, 9, 4), _normal(rng, 7, 7, 3), _normal(rng, 4, 5, 4, 2)], 3, rng)


def conv(K, legacy):
    L = K.layers
    a = K.Input(shape=(9, 4), name="seq")
    b = K.Input(shape=(7, 7, 3), name="image")
    c = K.Input(shape=(4, 5, 4, 2), name="volume")

    h1 = L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu", name="c1_causal")(a)
    h1 = L.Conv1D(4, 3, strides=2, padding="same", groups=2, name="c1_groups")(h1)
    h1 = L.SeparableConv1D(3, 3, depth_multiplier=2, padding="same", activation="tanh", name="sep1")(h1)
    h1 = L.DepthwiseConv1D(2, depth_multiplier=2, name="dw1")(h1)
    h1 = L.Conv1DTranspose(2, 3, strides=2, output_padding=1, name="c1_t")(h1)

    h2 = L.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="c2_s2")(b)
    h2b = L.Conv2D(3, (2, 3), dilation_rate=(1, 2), use_bias=False, name="c2_dil")(b)
    h2 = L.SeparableConv2D(4, 3, depth_multiplier=2, padding="same", name="sep2")(h2)
    h2 = L.DepthwiseConv2D((2, 3), strides=(1, 1), depth_multiplier=1, padding="same", name="dw2")(h2)
    h2 = L.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1, name="c2_t")(h2)
    h2 = L.Conv2D(2, 3, strides=(2, 1), padding="valid", name="c2_after_t")(h2)
    h2c = L.Conv2DTranspose(2, (2, 3), strides=(2, 1), dilation_rate=1, padding="valid", name="c2_t_valid")(h2b)

    h3 = L.Conv3D(3, 2, padding="same", activation="sigmoid", name="c3")(c)
    h3 = L.Conv3D(3, (2, 2, 1), strides=(1, 2, 1), name="c3_s")(h3)
    h3 = L.Conv3DTranspose(2, 2, strides=(2, 1, 2), name="c3_t")(h3)
    return K.Model(inputs=[a, b, c], outputs=_head(K, [h1, h2, h2c, h3]), name="family_conv")


# --- pooling --------------------------------------------------------------


def pool_data(rng):
    return _data([_normal(rng, 10, 3), _normal(rng, 7, 8, 3), _normal(rng, 4, 5, 4, 2)], 2, rng)


def pooling(K, legacy):
    L = K.layers
    a = K.Input(shape=(10, 3), name="seq")
    b = K.Input(shape=(7, 8, 3), name="image")
    c = K.Input(shape=(4, 5, 4, 2), name="volume")
    a1 = L.Conv1D(3, 1, name="mix_seq")(a)
    b1 = L.Conv2D(3, 1, name="mix_image")(b)
    c1 = L.Conv3D(2, 1, name="mix_volume")(c)
    parts = [
        L.MaxPooling1D(2, name="max1")(a1),
        L.MaxPooling1D(3, strides=2, padding="same", name="max1_same")(a1),
        L.AveragePooling1D(3, strides=1, padding="same", name="avg1_same")(a1),
        L.AveragePooling1D(4, strides=3, name="avg1")(a1),
        L.GlobalMaxPooling1D(name="gmax1")(a1),
        L.GlobalAveragePooling1D(keepdims=True, name="gavg1")(a1),
        L.MaxPooling2D((2, 3), name="max2")(b1),
        L.MaxPooling2D(3, strides=2, padding="same", name="max2_same")(b1),
        L.AveragePooling2D(3, strides=2, padding="same", name="avg2_same")(b1),
        L.AveragePooling2D((2, 2), strides=(1, 3), name="avg2")(b1),
        L.GlobalMaxPooling2D(keepdims=True, name="gmax2")(b1),
        L.GlobalAveragePooling2D(name="gavg2")(b1),
        L.MaxPooling3D(2, padding="same", name="max3_same")(c1),
        L.AveragePooling3D((2, 3, 2), strides=(1, 2, 1), name="avg3")(c1),
        L.GlobalMaxPooling3D(name="gmax3")(c1),
        L.GlobalAveragePooling3D(name="gavg3")(c1),
    ]
    return K.Model(inputs=[a, b, c], outputs=_head(K, parts, units=2), name="family_pooling")


def pooling_adaptive(K, legacy):
    L = K.layers
    a = K.Input(shape=(10, 3), name="seq")
    b = K.Input(shape=(7, 8, 3), name="image")
    c = K.Input(shape=(4, 5, 4, 2), name="volume")
    a1 = L.Conv1D(3, 1, name="mix_seq")(a)
    b1 = L.Conv2D(3, 1, name="mix_image")(b)
    c1 = L.Conv3D(2, 1, name="mix_volume")(c)
    cf = "channels_first"
    parts = [
        L.AdaptiveMaxPooling1D(4, name="amax1")(a1),
        L.AdaptiveAveragePooling1D(3, name="aavg1")(a1),
        L.AdaptiveAveragePooling1D(2, data_format=cf, name="aavg1_cf")(a1),
        L.AdaptiveMaxPooling2D((3, 5), name="amax2")(b1),
        L.AdaptiveAveragePooling2D((2, 3), name="aavg2")(b1),
        L.AdaptiveMaxPooling2D((4, 2), data_format=cf, name="amax2_cf")(b1),
        L.AdaptiveMaxPooling3D((2, 3, 2), name="amax3")(c1),
        L.AdaptiveAveragePooling3D((3, 2, 3), name="aavg3")(c1),
    ]
    return K.Model(inputs=[a, b, c], outputs=_head(K, parts, units=2), name="family_pooling_adaptive")


# --- core -----------------------------------------------------------------


def core_data(rng):
    n = N_TRAIN + N_EVAL
    tokens = _f32(rng.integers(0, 7, size=(n, 4)))
    return _data([_normal(rng, 5), tokens, _normal(rng, 3, 4)], 3, rng)


def core(K, legacy):
    L = K.layers
    x = K.Input(shape=(5,), name="features")
    t = K.Input(shape=(4,), name="tokens")
    s = K.Input(shape=(3, 4), name="steps")
    h = L.Dense(6, activation="relu", name="dense_relu")(x)
    h = L.Dense(4, use_bias=False, name="dense_nobias")(h)
    h = L.Identity(name="identity")(h)
    h = L.Activation("tanh", name="act_tanh")(h)
    e = L.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="c", activation="sigmoid", name="einsum_2d")(h)
    emb = L.Embedding(7, 3, name="embedding")(t)
    emb = L.EinsumDense("abc,cde->abde", output_shape=(4, 2, 2), bias_axes="de", name="einsum_3d")(emb)
    st = L.Dense(3, name="dense_3d")(s)
    st = L.EinsumDense("abc,cd->abd", output_shape=(3, 2), name="einsum_nobias")(st)
    return K.Model(inputs=[x, t, s], outputs=_head(K, [e, emb, st]), name="family_core")


# --- activations ----------------------------------------------------------

ACTIVATIONS = ["relu", "relu6", "sigmoid", "hard_silu", "tanh", "softmax",
               "log_softmax", "elu", "selu", "gelu", "silu", "swish", "mish", "softplus",
               "softsign", "exponential", "linear", "leaky_relu", "celu"]
# Not "hard_sigmoid": kerasrun's Keras2Compatible save writes Keras 3's
# hard_sigmoid under the name Keras 2 computes differently, so the save
# round-trip test of the root package fails (a known gap). Not "glu": it halves the last axis but Dense.compute_output_shape (Keras
# 3.15.1) does not, so a model that goes on after it does not build.


def activations_data(rng):
    return _data([_normal(rng, 6), _normal(rng, 3, 4)], 2, rng)


def activations(K, legacy):
    L = K.layers
    x = K.Input(shape=(6,), name="features")
    s = K.Input(shape=(3, 4), name="steps")
    h = L.Dense(6, name="hidden")(x)
    parts = [L.Dense(2, activation=a, name=f"dense_{a}")(h) for a in ACTIVATIONS]
    parts += [
        L.Activation("gelu", name="act_gelu")(h),
        L.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.2, name="relu_layer")(h),
        L.ReLU(name="relu_plain")(h),
        L.LeakyReLU(negative_slope=0.2, name="leaky")(h),
        L.PReLU(name="prelu")(h),
        L.ELU(alpha=0.7, name="elu_layer")(h),
        L.Softmax(name="softmax_layer")(h),
    ]
    hs = L.Dense(4, name="hidden_steps")(s)
    parts += [
        L.Softmax(axis=1, name="softmax_axis1")(hs),
        L.PReLU(shared_axes=[1], name="prelu_shared")(hs),
        L.Activation("log_softmax", name="act_log_softmax")(hs),
    ]
    return K.Model(inputs=[x, s], outputs=_head(K, parts, units=2), name="family_activations")


# --- normalization --------------------------------------------------------


def norm_data(rng):
    return _data([_f32(1.5 + 2.0 * rng.normal(size=(N_TRAIN + N_EVAL, 6))), _normal(rng, 4, 5, 4)], 3, rng)


def normalization(K, legacy):
    L = K.layers
    x = K.Input(shape=(6,), name="features")
    im = K.Input(shape=(4, 5, 4), name="image")
    h = L.BatchNormalization(momentum=0.5, name="bn_in")(x)
    h = L.Dense(5, name="dense")(h)
    h = L.BatchNormalization(momentum=0.6, epsilon=0.01, center=False, name="bn_nocenter")(h)
    h = L.LayerNormalization(name="ln")(h)
    u = L.UnitNormalization(name="unit")(h)
    g = L.BatchNormalization(axis=1, momentum=0.5, scale=False, name="bn_axis1")(im)
    g = L.Conv2D(4, 1, name="mix")(g)
    g1 = L.GroupNormalization(groups=2, name="gn")(g)
    g2 = L.GroupNormalization(groups=-1, axis=1, center=False, name="gn_axis1")(g)
    # Single axes only: Keras 3.15.1 loads a list axis of these layers back
    # from its own legacy .h5 wrongly (UnitNormalization [1, 3] comes back
    # as -1; Layer/RMSNormalization weights no longer match their shape).
    g3 = L.LayerNormalization(axis=2, scale=False, name="ln_axis2")(g)
    g4 = L.UnitNormalization(axis=1, name="unit_axis1")(g)
    return K.Model(inputs=[x, im], outputs=_head(K, [h, u, g1, g2, g3, g4]), name="family_normalization")


def normalization_rms(K, legacy):
    L = K.layers
    x = K.Input(shape=(6,), name="features")
    s = K.Input(shape=(4, 5, 4), name="image")
    h = L.Dense(5, name="dense")(x)
    a = L.RMSNormalization(name="rms")(h)
    b = L.LayerNormalization(rms_scaling=True, name="ln_rms")(h)
    g = L.Conv2D(4, 1, name="mix")(s)
    # Single axes: see normalization(). RMSNormalization only on the last
    # axis: on another axis Keras 3.15.1 multiplies by the unbroadcast scale
    # and fails.
    c = L.RMSNormalization(epsilon=0.01, name="rms_4d")(g)
    d = L.LayerNormalization(axis=1, rms_scaling=True, center=False, name="ln_rms_axis1")(g)
    return K.Model(inputs=[x, s], outputs=_head(K, [a, b, c, d]), name="family_normalization_rms")


# --- reshaping ------------------------------------------------------------


def reshaping_data(rng):
    return _data([_normal(rng, 6, 4), _normal(rng, 5, 6, 2), _normal(rng, 5)], 2, rng)


def reshaping(K, legacy):
    L = K.layers
    cf = "channels_first"
    s = K.Input(shape=(6, 4), name="seq")
    im = K.Input(shape=(5, 6, 2), name="image")
    v = K.Input(shape=(5,), name="vector")
    s1 = L.Conv1D(4, 1, name="mix_seq")(s)
    h = L.Reshape((4, 6), name="reshape")(s1)
    h = L.Permute((2, 1), name="permute")(h)
    h = L.Cropping1D((1, 2), name="crop1")(h)
    h = L.ZeroPadding1D((2, 1), name="pad1")(h)
    h = L.UpSampling1D(2, name="up1")(h)
    r = L.Reshape((-1, 3, 2), name="reshape_infer")(s1)
    im1 = L.Conv2D(2, 1, name="mix_image")(im)
    i1 = L.Cropping2D(((1, 0), (1, 2)), name="crop2")(im1)
    i1 = L.ZeroPadding2D(((0, 1), (2, 1)), name="pad2")(i1)
    i1 = L.UpSampling2D((2, 1), interpolation="bilinear", name="up2_bilinear")(i1)
    i2 = L.UpSampling2D(2, name="up2")(im1)
    i2 = L.Flatten(data_format=cf, name="flatten_cf")(i2)
    i3 = L.Permute((3, 1, 2), name="to_cf")(im1)
    i3 = L.UpSampling2D((1, 2), data_format=cf, name="up2_cf")(i3)
    i3 = L.Cropping2D((1, 2), data_format=cf, name="crop2_cf")(i3)
    i3 = L.ZeroPadding2D(1, data_format=cf, name="pad2_cf")(i3)
    i3 = L.Flatten(data_format=cf, name="flatten_cf2")(i3)
    w = L.Reshape((5, 6, 2, 1), name="to_volume")(im1)
    w = L.Cropping3D(((1, 1), (0, 2), (1, 0)), name="crop3")(w)
    w = L.ZeroPadding3D((1, 0, 1), name="pad3")(w)
    w = L.UpSampling3D((1, 2, 1), name="up3")(w)
    w2 = L.Cropping3D((1, 1, 0), data_format=cf, name="crop3_cf")(w)
    w2 = L.ZeroPadding3D(((0, 1), (1, 0), (0, 0)), data_format=cf, name="pad3_cf")(w2)
    w2 = L.UpSampling3D(2, data_format=cf, name="up3_cf")(w2)
    rv = L.Dense(3, name="dense_vec")(v)
    rv = L.RepeatVector(3, name="repeat")(rv)
    out = _head(K, [h, r, i1, i2, i3, w, w2, rv], units=2)
    return K.Model(inputs=[s, im, v], outputs=out, name="family_reshaping")


# --- merging --------------------------------------------------------------


def merging_data(rng):
    return _data([_normal(rng, 4), _normal(rng, 4), _normal(rng, 3, 4)], 3, rng)


def merging(K, legacy):
    L = K.layers
    a = K.Input(shape=(4,), name="a")
    b = K.Input(shape=(4,), name="b")
    s = K.Input(shape=(3, 4), name="steps")
    pa = L.Dense(4, name="pa")(a)
    pb = L.Dense(4, name="pb")(b)
    pc = L.Dense(4, activation="tanh", name="pc")(a)
    s1 = L.Dense(4, name="ps1")(s)
    s2 = L.Dense(4, name="ps2")(s)
    parts = [
        L.Add(name="add")([pa, pb, pc]),
        L.Subtract(name="subtract")([pa, pb]),
        L.Multiply(name="multiply")([pa, pb, pc]),
        L.Average(name="average")([pa, pb]),
        L.Maximum(name="maximum")([pa, pb, pc]),
        L.Minimum(name="minimum")([pa, pb]),
        L.Concatenate(axis=1, name="concat_axis1")([s1, s2]),
        L.Concatenate(axis=-1, name="concat_last")([s1, s2, s]),
        L.Dot(axes=1, name="dot")([pa, pb]),
        L.Dot(axes=1, normalize=True, name="dot_norm")([pa, pc]),
        L.Dot(axes=(2, 2), name="dot_steps")([s1, s2]),
        L.Dot(axes=(1, 1), normalize=True, name="dot_steps_norm")([s1, s2]),
        L.Dot(axes=(2, 1), name="dot_vec")([s1, pb]),
    ]
    return K.Model(inputs=[a, b, s], outputs=_head(K, parts), name="family_merging")


# --- preprocessing --------------------------------------------------------

VOCAB = [12, 36, 1138, 42, 7]


def preprocessing_data(rng):
    n = N_TRAIN + N_EVAL
    image = _f32(rng.integers(0, 256, size=(n, 6, 8, 3)))
    values = _f32(rng.uniform(-3, 3, size=(n, 4)))
    ids = _f32(rng.choice(VOCAB + [0, 5, 99], size=(n, 3)))
    cats = _f32(rng.integers(0, 5, size=(n, 3)))
    return _data([image, values, ids, cats], 2, rng)


def preprocessing(K, legacy):
    L = K.layers
    image = K.Input(shape=(6, 8, 3), name="image")
    values = K.Input(shape=(4,), name="values")
    ids = K.Input(shape=(3,), dtype="int64", name="ids")
    cats = K.Input(shape=(3,), name="cats")
    im = L.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(image)
    r1 = L.Resizing(4, 5, name="resize_bilinear")(im)
    r1 = L.Normalization(axis=-1, name="norm_adapted")(r1)
    r2 = L.Resizing(9, 5, interpolation="nearest", name="resize_nearest")(im)
    r2 = L.CenterCrop(5, 4, name="center_crop")(r2)
    r3 = L.CenterCrop(7, 6, name="center_crop_pad")(im)
    v = L.Normalization(mean=[0.5, -0.5, 0.0, 1.0], variance=[2.0, 1.0, 0.5, 3.0], name="norm_config")(values)
    d = L.Discretization(bin_boundaries=[-1.0, 0.0, 0.5, 2.0], name="discretize")(values)
    d = L.CategoryEncoding(num_tokens=5, output_mode="count", name="count")(d)
    d2 = L.Discretization(bin_boundaries=[-2.0, 1.0], output_mode="multi_hot", name="discretize_multi_hot")(values)
    lk = L.IntegerLookup(vocabulary=VOCAB, output_mode="multi_hot", name="lookup")(ids)
    c = L.CategoryEncoding(num_tokens=5, output_mode="multi_hot", name="multi_hot")(cats)
    parts = [L.Conv2D(2, 1, name="mix_resized")(r1), r2, L.Dense(2, name="dense_crop")(r3), v, d, d2, lk, c]
    return K.Model(inputs=[image, values, ids, cats], outputs=_head(K, parts, units=2), name="family_preprocessing")


def preprocessing_prepare(model, train_x):
    """Adapts the Normalization layer that has no mean/variance in its config."""
    import keras

    sub = keras.Model(model.inputs[0], model.get_layer("resize_bilinear").output)
    model.get_layer("norm_adapted").adapt(sub.predict(train_x[0], verbose=0))


# --- regularization -------------------------------------------------------


def regularization_data(rng):
    return _data([_normal(rng, 6), _normal(rng, 4, 5, 3)], 2, rng)


def regularization(K, legacy):
    L = K.layers
    x = K.Input(shape=(6,), name="features")
    im = K.Input(shape=(4, 5, 3), name="image")
    h = L.Dense(6, activation="relu", name="dense")(x)
    h = L.Dropout(0.3, name="dropout")(h)
    h = L.GaussianNoise(0.2, name="noise")(h)
    h = L.GaussianDropout(0.2, name="gdropout")(h)
    h = L.AlphaDropout(0.1, name="adropout")(h)
    h = L.ActivityRegularization(l1=0.01, l2=0.02, name="activity")(h)
    # RandomContrast first: tf-keras has no gradient for AdjustContrastv2.
    g = L.RandomContrast(0.2, name="contrast")(im)
    g = L.Conv2D(3, 1, name="mix")(g)
    g1 = L.SpatialDropout2D(0.3, name="sdrop2")(g)
    g1 = L.RandomFlip(name="flip")(g1)
    g1 = L.RandomRotation(0.1, name="rotate")(g1)
    g1 = L.RandomZoom(0.1, name="zoom")(g1)
    g1 = L.RandomTranslation(0.1, 0.1, name="translate")(g1)
    g2 = L.Reshape((20, 3), name="to_steps")(g)
    g2 = L.SpatialDropout1D(0.3, name="sdrop1")(g2)
    g3 = L.Reshape((4, 5, 3, 1), name="to_volume")(g)
    g3 = L.SpatialDropout3D(0.3, name="sdrop3")(g3)
    return K.Model(inputs=[x, im], outputs=_head(K, [h, g1, g2, g3], units=2), name="family_regularization")
