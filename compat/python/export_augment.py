"""Writes the fixtures of Keras 3's random image augmentation layers:

  layers/testdata/augment/transforms.json  per case: a layer config, a few small
      images, an explicit transformation (the parameters Keras's
      get_random_transformation would draw, given here as fixed values and
      completed the way that method completes them), and what Keras's
      transform_images(images, transformation, training=True) returns;
      also the layer's inference output (the identity). For RandomCrop's
      deterministic branch (an image not larger than the crop) it also
      records the transformation Keras draws ("keras_draw").
  testdata/augment/  a compiled model made of the augmentation layers and a
      small CNN, trained one epoch by Keras (model.keras), data (x.npy,
      y.npy) and Keras's predictions (pred.npy): Go trains it further with
      Fit and predicts as Keras.

The layers draw from TensorFlow's generator in Keras and from Go's in
kerasrun, so no fixture records a random draw; layers/augment_test.go
checks the distributions of Go's draws statistically.

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_augment.py
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LAYERS_OUT = os.path.join(ROOT, "layers", "testdata", "augment")
MODEL_OUT = os.path.join(ROOT, "testdata", "augment")

rng = np.random.default_rng(15)


def _arr(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


def _default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def images(shape, hi=1.0):
    return rng.uniform(0, hi, size=shape).astype(np.float32)


def hw(layer, shape):
    if layer.data_format == "channels_first":
        return shape[2], shape[3]
    return shape[1], shape[2]


# Each maker returns (keras transformation, the same as flat Go arrays).


def flip_t(layer, x, flips):
    f = np.array(flips, dtype=bool).reshape(-1, 1, 1, 1)
    return {"flips": tf.constant(f), "input_shape": x.shape}, {"flips": [float(v) for v in flips]}


def rotation_t(layer, x, angles):
    n = x.shape[0]
    h, w = hw(layer, x.shape)
    ops = layer.backend
    angle = tf.constant(angles, dtype=tf.float32)
    m = layer._compute_affine_matrix(
        center_x=0.5, center_y=0.5, angle=angle,
        translate_x=ops.numpy.zeros([n]), translate_y=ops.numpy.zeros([n]),
        scale=ops.numpy.ones([n]), shear_x=ops.numpy.zeros([n]), shear_y=ops.numpy.zeros([n]),
        height=h, width=w)
    t = {"angle": angle, "rotation_matrix": m, "image_height": h, "image_width": w, "batch_size": n}
    return t, {"angle": [float(a) for a in angles]}


def zoom_t(layer, x, hz, wz):
    t = {"height_zoom": tf.constant(np.array(hz, np.float32).reshape(-1, 1)),
         "width_zoom": tf.constant(np.array(wz, np.float32).reshape(-1, 1)), "input_shape": x.shape}
    return t, {"height_zoom": [float(v) for v in hz], "width_zoom": [float(v) for v in wz]}


def translation_t(layer, x, pixels):
    a = np.array(pixels, np.float32).reshape(-1, 2)  # (width shift, height shift) per image
    return {"translations": tf.constant(a), "input_shape": x.shape}, {"translations": [float(v) for v in a.reshape(-1)]}


def per_image_t(key):
    def make(layer, x, values):
        a = np.array(values, np.float32).reshape(-1, 1, 1, 1)
        return {key: tf.constant(a)}, {key: [float(v) for v in values]}
    return make


def shear_t(layer, x, factors):
    a = np.array(factors, np.float32).reshape(-1, 2)  # (x, y) shear per image
    return {"shear_factor": tf.constant(a), "input_shape": x.shape}, {"shear_factor": [float(v) for v in a.reshape(-1)]}


def grayscale_t(layer, x, apply):
    return tf.constant(np.array(apply, bool).reshape(-1, 1, 1, 1)), {"should_apply": [float(v) for v in apply]}


def invert_t(layer, x, apply):
    return {"apply_inversion": tf.constant(np.array(apply, bool))}, {"apply_inversion": [float(v) for v in apply]}


def posterization_t(layer, x, shifts):
    return {"shift_factor": tf.constant(np.array(shifts, np.uint8))}, {"shift_factor": [float(v) for v in shifts]}


def solarization_t(layer, x, additions, thresholds):
    t = {"additions": tf.constant(np.array(additions, np.float32).reshape(-1, 1, 1, 1)),
         "thresholds": tf.constant(np.array(thresholds, np.float32).reshape(-1, 1, 1, 1))}
    return t, {"additions": [float(v) for v in additions], "thresholds": [float(v) for v in thresholds]}


def factor_t(layer, x, factors):
    return {"factor": tf.constant(np.array(factors, np.float32))}, {"factor": [float(v) for v in factors]}


def blur_t(layer, x, apply, sigma):
    t = {"should_apply_blur": tf.constant(np.array(apply, bool)), "blur_factor": tf.constant(np.array(sigma, np.float32))}
    return t, {"should_apply_blur": [float(v) for v in apply], "blur_factor": [float(v) for v in sigma]}


def corners(x0, x1, y0, y1):
    return tuple(tf.constant(np.array(v, np.float32)) for v in (x0, x1, y0, y1)), \
        {"x0": [float(v) for v in x0], "x1": [float(v) for v in x1], "y0": [float(v) for v in y0], "y1": [float(v) for v in y1]}


def erasing_t(layer, x, apply, x0, x1, y0, y1):
    c, flat = corners(x0, x1, y0, y1)
    fill = np.clip(rng.normal(size=x.shape).astype(np.float32) * layer.value_range[1], *layer.value_range).astype(np.float32)
    t = {"apply_erasing": tf.constant(np.array(apply, bool)), "batch_masks": layer._generate_batch_mask(x.shape, c),
         "fill_value": tf.constant(fill)}
    return t, {"apply_erasing": [float(v) for v in apply], "fill_value": [float(v) for v in fill.reshape(-1)], **flat}


def cut_mix_t(layer, x, perm, x0, x1, y0, y1):
    c, flat = corners(x0, x1, y0, y1)
    masks, _ = layer._generate_batch_mask(x.shape, c)
    return {"permutation_order": tf.constant(np.array(perm, np.int32)), "batch_masks": masks}, \
        {"permutation_order": [float(v) for v in perm], **flat}


def mix_up_t(layer, x, perm, weights):
    t = {"permutation_order": tf.constant(np.array(perm, np.int64)), "mix_weight": tf.constant(np.array(weights, np.float32))}
    return t, {"permutation_order": [float(v) for v in perm], "mix_weight": [float(v) for v in weights]}


def perspective_t(layer, x, apply, factors):
    h, w = hw(layer, x.shape)
    n = x.shape[0]
    start = np.repeat(np.array([[[0.0, 0.0], [w - 1, 0.0], [0.0, h - 1], [w - 1, h - 1]]], np.float32), n, axis=0)
    end = (start + start * np.array(factors, np.float32).reshape(n, 4, 2)).astype(np.float32)
    t = {"apply_perspective": tf.constant(np.array(apply, bool)), "start_points": tf.constant(start), "end_points": tf.constant(end)}
    return t, {"apply_perspective": [float(v) for v in apply], "end_points": [float(v) for v in end.reshape(-1)]}


class Chain(list):
    """RandomColorJitter's transformation: (sub-layer, transformation)
    pairs that Keras's transform_images would draw and apply in order."""


def jitter_t(layer, x, brightness=None, contrast=None, saturation=None, hue=None):
    chain, flat = Chain(), {}
    for name, sub, key, shape, values in [
            ("brightness", layer.random_brightness, "rgb_delta", (-1, 1, 1, 1), brightness),
            ("contrast", layer.random_contrast, "contrast_factor", (-1, 1, 1, 1), contrast),
            ("saturation", layer.random_saturation, "factor", (-1,), saturation),
            ("hue", layer.random_hue, "factor", (-1,), hue)]:
        if values is not None:
            chain.append((sub, {key: tf.constant(np.array(values, np.float32).reshape(shape))}))
            flat[name + "/" + key] = [float(v) for v in values]
    return chain, flat


def crop_t(layer, x, h_start, w_start):
    return (h_start, w_start), {"h_start": [float(h_start)], "w_start": [float(w_start)]}


CASES = [
    # name, class, config, input shape, input scale, maker, maker args
    ("flip_horizontal", "RandomFlip", {"mode": "horizontal"}, (3, 5, 7, 2), 1, flip_t, ([True, False, True],)),
    ("flip_vertical", "RandomFlip", {"mode": "vertical"}, (2, 5, 7, 2), 1, flip_t, ([False, True],)),
    ("flip_both", "RandomFlip", {}, (2, 5, 7, 2), 1, flip_t, ([True, False],)),
    ("flip_channels_first", "RandomFlip", {"mode": "horizontal", "data_format": "channels_first"}, (2, 3, 4, 5), 1, flip_t, ([True, True],)),
    ("crop_random", "RandomCrop", {"height": 5, "width": 6}, (2, 8, 8, 3), 1, crop_t, (2, 1)),
    ("crop_random_corner", "RandomCrop", {"height": 5, "width": 6}, (2, 8, 8, 3), 1, crop_t, (3, 2)),
    ("crop_channels_first", "RandomCrop", {"height": 4, "width": 3, "data_format": "channels_first"}, (2, 2, 6, 7), 1, crop_t, (1, 4)),
    ("contrast", "RandomContrast", {"factor": 0.5}, (3, 6, 6, 3), 255, per_image_t("contrast_factor"), ([0.6, 1.4, 1.0],)),
    ("contrast_unit_range", "RandomContrast", {"factor": (0.3, 0.7), "value_range": (0, 1)}, (2, 5, 4, 2), 1, per_image_t("contrast_factor"), ([1.6, 0.45],)),
    ("contrast_channels_first", "RandomContrast", {"factor": 0.5, "data_format": "channels_first"}, (2, 3, 4, 5), 255, per_image_t("contrast_factor"), ([1.3, 0.7],)),
    ("brightness", "RandomBrightness", {"factor": 0.3}, (3, 4, 4, 3), 255, per_image_t("rgb_delta"), ([25.5, -60.0, 0.0],)),
    ("brightness_unit_range", "RandomBrightness", {"factor": (-0.2, 0.5), "value_range": (1, 0)}, (2, 4, 3, 2), 1, per_image_t("rgb_delta"), ([0.35, -0.15],)),
]

CASES += [
    ("grayscale", "RandomGrayscale", {}, (3, 4, 5, 3), 255, grayscale_t, ([True, False, True],)),
    ("grayscale_one_channel", "RandomGrayscale", {"factor": 0.3}, (2, 4, 5, 1), 255, grayscale_t, ([True, False],)),
    ("grayscale_channels_first", "RandomGrayscale", {"data_format": "channels_first"}, (2, 3, 4, 5), 1, grayscale_t, ([True, True],)),
    ("invert", "RandomInvert", {}, (3, 4, 4, 3), 255, invert_t, ([True, False, True],)),
    ("invert_unit_range", "RandomInvert", {"factor": 0.4, "value_range": (0, 1)}, (2, 4, 4, 2), 1, invert_t, ([False, True],)),
    ("color_degeneration", "RandomColorDegeneration", {"factor": 0.8}, (3, 4, 5, 3), 255, per_image_t("factor"), ([0.6, -0.7, 0.0],)),
    ("color_degeneration_channels_first", "RandomColorDegeneration", {"factor": (0.2, 0.9), "value_range": (0, 1), "data_format": "channels_first"}, (2, 3, 4, 4), 1, per_image_t("factor"), ([0.35, 0.8],)),
    ("posterization", "RandomPosterization", {"factor": (1, 8)}, (4, 4, 4, 3), 255, posterization_t, ([7, 4, 1, 0],)),
    ("posterization_unit_range", "RandomPosterization", {"factor": 5, "value_range": (0, 1)}, (2, 4, 4, 2), 1, posterization_t, ([3, 6],)),
    ("solarization", "Solarization", {"addition_factor": 0.5, "threshold_factor": 0.7}, (3, 4, 4, 3), 255, solarization_t, ([0.0, 60.0, 110.0], [128.0, 200.0, 30.0])),
    ("solarization_unit_range", "Solarization", {"threshold_factor": (0.2, 0.9), "value_range": (0, 1)}, (2, 4, 4, 2), 1, solarization_t, ([0.0, 20.0], [100.0, 170.0])),
    ("shear_channels_first", "RandomShear", {"x_factor": 0.5, "y_factor": 0.5, "data_format": "channels_first"}, (2, 2, 6, 5), 1, shear_t, ([[0.3, -0.2], [-0.45, 0.1]],)),
]

CASES += [
    # Saturation factors are f / (1 - f + 1e-7) of the drawn f.
    ("saturation", "RandomSaturation", {"factor": 0.8}, (4, 4, 5, 3), 255, factor_t, ([0.25, 1.7, 0.0, 4.0],)),
    ("saturation_unit_range", "RandomSaturation", {"factor": (0.2, 0.9), "value_range": (0, 1)}, (2, 4, 5, 3), 1, factor_t, ([0.6, 3.5],)),
    ("saturation_channels_first", "RandomSaturation", {"factor": 0.5, "data_format": "channels_first"}, (2, 3, 4, 5), 255, factor_t, ([0.4, 1.3],)),
    ("hue", "RandomHue", {"factor": 0.8}, (4, 4, 5, 3), 255, factor_t, ([0.15, -0.35, 0.4, -0.05],)),
    ("hue_unit_range", "RandomHue", {"factor": (0.2, 0.9), "value_range": (0, 1)}, (2, 4, 5, 3), 1, factor_t, ([0.3, -0.45],)),
    ("hue_channels_first", "RandomHue", {"factor": 0.5, "data_format": "channels_first"}, (2, 3, 4, 5), 255, factor_t, ([-0.2, 0.1],)),
    ("color_jitter", "RandomColorJitter", {"brightness_factor": 0.2, "contrast_factor": 0.5, "saturation_factor": 0.5, "hue_factor": 0.3},
     (2, 4, 5, 3), 255, jitter_t, ([20.0, -35.0], [1.3, 0.7], [0.5, 1.8], [0.1, -0.12])),
    ("color_jitter_some", "RandomColorJitter", {"contrast_factor": 0.4, "hue_factor": 0.3, "value_range": (0, 1)},
     (2, 4, 5, 3), 1, jitter_t, (None, [0.8, 1.25], None, [-0.07, 0.14])),
]

CASES += [
    ("sharpness", "RandomSharpness", {"factor": 0.9}, (3, 5, 6, 3), 255, factor_t, ([0.1, 0.85, 0.5],)),
    ("sharpness_unit_range_channels_first", "RandomSharpness", {"factor": (0.2, 0.7), "value_range": (0, 1), "data_format": "channels_first"}, (2, 2, 5, 6), 1, factor_t, ([0.3, 0.65],)),
    ("gaussian_blur", "RandomGaussianBlur", {}, (3, 6, 7, 2), 255, blur_t, ([True, False, True], [0.7, 0.4])),
    ("gaussian_blur_kernel_5", "RandomGaussianBlur", {"kernel_size": 5, "sigma": 0.8, "value_range": (0, 1)}, (2, 7, 6, 3), 1, blur_t, ([True, True], [0.35, 0.9])),
    ("gaussian_blur_channels_first", "RandomGaussianBlur", {"kernel_size": (3, 5), "data_format": "channels_first"}, (2, 2, 6, 7), 255, blur_t, ([True, False], [0.6, 0.25])),
]

CASES += [
    ("erasing", "RandomErasing", {}, (3, 6, 7, 3), 255, erasing_t, ([True, False, True], [1.3, 0.0, 0.0], [5.7, 3.0, 7.0], [0.4, 2.0, 2.5], [3.1, 5.0, 6.0])),
    ("erasing_channels_first", "RandomErasing", {"value_range": (0, 1), "data_format": "channels_first"}, (2, 2, 6, 7), 1, erasing_t, ([True, True], [2.2, 0.5], [6.9, 3.5], [0.0, 1.5], [2.5, 5.99])),
    ("cut_mix", "CutMix", {}, (3, 6, 7, 2), 1, cut_mix_t, ([2, 0, 1], [1.3, 0.0, 2.0], [5.7, 3.0, 6.5], [0.4, 2.0, 1.0], [3.1, 5.0, 4.5])),
    ("cut_mix_channels_first", "CutMix", {"data_format": "channels_first"}, (2, 2, 6, 7), 1, cut_mix_t, ([1, 0], [2.2, 0.5], [6.9, 3.5], [0.0, 1.5], [2.5, 5.99])),
    ("mix_up", "MixUp", {}, (3, 4, 5, 2), 1, mix_up_t, ([2, 0, 1], [0.9, 0.15, 0.5])),
    ("mix_up_self", "MixUp", {"alpha": 0.5}, (3, 4, 5, 2), 1, mix_up_t, ([0, 2, 1], [0.3, 0.75, 0.05])),
]

PERSPECTIVE = [[0.2, -0.1, -0.3, 0.15, 0.05, -0.25, -0.2, 0.1], [-0.35, 0.3, 0.1, -0.05, 0.4, 0.2, 0.0, -0.3], [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]]
CASES += [
    ("perspective", "RandomPerspective", {"fill_value": 0.5}, (3, 6, 7, 2), 1, perspective_t, ([True, True, False], PERSPECTIVE)),
    ("perspective_nearest", "RandomPerspective", {"interpolation": "nearest", "scale": 0.8}, (3, 6, 7, 2), 1, perspective_t, ([True, True, True], PERSPECTIVE)),
    ("perspective_channels_first", "RandomPerspective", {"data_format": "channels_first"}, (2, 2, 6, 7), 1, perspective_t, ([True, True], PERSPECTIVE[:2])),
]

for mode in ("reflect", "wrap", "constant", "nearest"):
    for interp in ("bilinear", "nearest"):
        cfg = {"fill_mode": mode, "interpolation": interp, "fill_value": 0.25}
        CASES += [
            (f"rotation_{mode}_{interp}", "RandomRotation", {"factor": 0.5, **cfg}, (3, 7, 5, 2), 1, rotation_t, ([23.7, -131.2, 77.3],)),
            (f"zoom_{mode}_{interp}", "RandomZoom", {"height_factor": 0.9, "width_factor": 0.9, **cfg}, (3, 6, 7, 2), 1, zoom_t, ([0.7, 1.35, 1.93], [1.2, 0.55, 1.81])),
            (f"translation_{mode}_{interp}", "RandomTranslation", {"height_factor": 1.0, "width_factor": 1.0, **cfg}, (3, 6, 7, 2), 1, translation_t, ([[2.6, -1.3], [-3.4, 4.2], [-9.7, 13.1]],)),
            (f"shear_{mode}_{interp}", "RandomShear", {"x_factor": 1.0, "y_factor": (0.2, 0.8), **cfg}, (3, 6, 7, 2), 1, shear_t, ([[0.37, -0.62], [-0.85, 0.23], [0.11, 0.74]],)),
        ]
CASES += [
    ("rotation_channels_first", "RandomRotation", {"factor": 0.2, "data_format": "channels_first"}, (2, 2, 6, 5), 1, rotation_t, ([-33.3, 61.0],)),
    ("zoom_height_only", "RandomZoom", {"height_factor": (-0.4, 0.3)}, (2, 6, 6, 1), 1, zoom_t, ([0.75, 1.2], [0.75, 1.2])),
    ("translation_channels_first", "RandomTranslation", {"height_factor": 0.5, "width_factor": 0.5, "data_format": "channels_first"}, (2, 2, 5, 6), 1, translation_t, ([[1.7, -2.2], [-0.4, 0.9]],)),
]

# RandomCrop's deterministic branch: Keras's own transformation (no draw).
DRAWN = [
    ("crop_center_equal_height", "RandomCrop", {"height": 6, "width": 4}, (2, 6, 8, 2)),
    ("crop_resize_smaller", "RandomCrop", {"height": 8, "width": 8}, (2, 6, 7, 2)),
    ("crop_resize_smaller_channels_first", "RandomCrop", {"height": 5, "width": 9, "data_format": "channels_first"}, (2, 2, 6, 7)),
]


def record(name, cls, layer, x, kt, gt, drawn=False):
    if isinstance(kt, Chain):
        out = tf.constant(x)
        for sub, t in kt:
            out = sub.transform_images(out, t, training=True)
    else:
        out = layer.transform_images(tf.constant(x), kt, training=True)
    inf = layer(tf.constant(x), training=False)
    case = {
        "name": name,
        "class_name": cls,
        "config": json.loads(json.dumps(layer.get_config(), default=_default)),
        "inputs": [_arr(x)],
        "transformation": gt,
        "outputs": [_arr(out)],
        "inference": _arr(inf),
    }
    if drawn:
        case["keras_draw"] = True
    return case


def layer_cases():
    cases = []
    for name, cls, cfg, shape, scale, maker, args in CASES:
        layer = getattr(keras.layers, cls)(seed=1, **cfg)  # RandomCrop otherwise records a random seed
        x = images(shape, scale)
        kt, gt = maker(layer, x, *args)
        cases.append(record(name, cls, layer, x, kt, gt))
    for name, cls, cfg, shape in DRAWN:
        layer = getattr(keras.layers, cls)(seed=1, **cfg)
        x = images(shape)
        hs, ws = layer.get_random_transformation(tf.constant(x), training=True)
        kt, gt = crop_t(layer, x, int(hs), int(ws))
        cases.append(record(name, cls, layer, x, kt, gt, drawn=True))
    return cases


def model_fixture():
    keras.utils.set_random_seed(15)
    L = keras.layers
    model = keras.Sequential([
        keras.Input((8, 8, 3)),
        L.RandomFlip(),
        L.RandomRotation(0.1),
        L.RandomZoom(0.2),
        L.RandomTranslation(0.1, 0.1),
        L.RandomContrast(0.3, value_range=(0, 1)),
        L.RandomBrightness(0.1, value_range=(0, 1)),
        L.RandomShear(0.2, 0.2),
        L.RandomGrayscale(0.2),
        L.RandomInvert(0.2, value_range=(0, 1)),
        L.RandomColorDegeneration(0.3, value_range=(0, 1)),
        L.RandomPosterization((4, 8), value_range=(0, 1)),
        L.Solarization(0.1, 0.9, value_range=(0, 1)),
        L.RandomSaturation(0.3, value_range=(0, 1)),
        L.RandomHue(0.1, value_range=(0, 1)),
        L.RandomColorJitter((0, 1), 0.1, 0.1, 0.1, 0.1),
        L.RandomSharpness(0.3, value_range=(0, 1)),
        L.RandomGaussianBlur(0.3, sigma=0.5, value_range=(0, 1)),
        L.RandomErasing(0.3, value_range=(0, 1)),
        L.CutMix(0.5),
        L.MixUp(0.3),
        L.RandomPerspective(0.3, scale=0.3),
        L.RandomCrop(6, 6, seed=1),
        L.Conv2D(4, 3, activation="relu"),
        L.GlobalAveragePooling2D(),
        L.Dense(2, activation="softmax"),
    ], name="augment")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x = images((16, 8, 8, 3))
    # The class is whether the left half is brighter: a flip changes it,
    # which is what augmentation does to a badly chosen task; the test only
    # checks that training runs and is reproducible.
    y = (x[:, :, :4].mean(axis=(1, 2, 3)) > x[:, :, 4:].mean(axis=(1, 2, 3))).astype(np.float32)
    # Keras trains it one epoch first (its augmentation draws are not
    # comparable with Go's), so the file holds a built optimizer.
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    os.makedirs(MODEL_OUT, exist_ok=True)
    model.save(os.path.join(MODEL_OUT, "model.keras"))
    np.save(os.path.join(MODEL_OUT, "x.npy"), x)
    np.save(os.path.join(MODEL_OUT, "y.npy"), y)
    np.save(os.path.join(MODEL_OUT, "pred.npy"), model.predict(x, verbose=0))


def main():
    doc = {"family": "augment", "keras_version": keras.__version__,
           "tolerance": {"atol": 1e-5, "rtol": 1e-4}, "cases": layer_cases()}
    os.makedirs(LAYERS_OUT, exist_ok=True)
    path = os.path.join(LAYERS_OUT, "transforms.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(path, len(doc["cases"]), "cases")
    model_fixture()
    print(MODEL_OUT)


if __name__ == "__main__":
    main()
