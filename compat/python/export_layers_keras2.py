"""Writes Keras 2 (tf_keras 2.21) layer fixtures for the families whose
layers exist in Keras 2 with their own configs and defaults:

  layers/testdata/keras2/pooling.json        Max/Average/Global pooling, both data formats
  layers/testdata/keras2/normalization.json  BatchNormalization (inference and training, with
      the moving statistics tf_keras assigns under "updates"), LayerNormalization,
      GroupNormalization, UnitNormalization
  layers/testdata/keras2/reshaping.json      Reshape, Flatten, Permute, RepeatVector, Cropping,
      ZeroPadding, UpSampling (nearest, bilinear)
  layers/testdata/keras2/merging.json        Add ... Concatenate, Dot
  layers/testdata/keras2/core.json           Dense, EinsumDense, Embedding (input_length),
      Activation, Identity, Flatten, Dropout

Each file holds a small sample (the Keras 3 grids live in layers/testdata/):
the configs tf_keras writes (its extra keys and defaults) and the places
where its semantics might differ. tf_keras runs in a child process with
TF_USE_LEGACY_KERAS=1 (it must be imported before Keras 3 is).

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_keras2.py [family...]
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "layers", "testdata", "keras2")


def pooling(rec):
    for cls, cfg, shape in [
        ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 3)),
        ("MaxPooling1D", {"pool_size": 2, "data_format": "channels_first"}, (2, 3, 7)),
        ("AveragePooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 3)),
        ("AveragePooling1D", {}, (2, 5, 2)),
        ("MaxPooling2D", {"pool_size": (2, 3), "strides": (1, 2), "padding": "same"}, (2, 5, 7, 3)),
        ("MaxPooling2D", {"pool_size": 2, "data_format": "channels_first"}, (2, 3, 5, 7)),
        ("AveragePooling2D", {"pool_size": 3, "strides": 2}, (2, 5, 7, 3)),
        ("AveragePooling2D", {"pool_size": 2, "padding": "same", "data_format": "channels_first"}, (2, 3, 5, 7)),
        ("MaxPooling3D", {"pool_size": (2, 2, 3), "strides": 1}, (2, 3, 4, 5, 2)),
        ("AveragePooling3D", {"pool_size": 2, "padding": "same"}, (2, 3, 4, 5, 2)),
        ("GlobalMaxPooling1D", {"keepdims": True}, (2, 5, 3)),
        ("GlobalAveragePooling1D", {"data_format": "channels_first"}, (2, 3, 5)),
        ("GlobalMaxPooling2D", {"data_format": "channels_first"}, (2, 3, 4, 5)),
        ("GlobalAveragePooling2D", {}, (2, 4, 5, 3)),
        ("GlobalMaxPooling3D", {}, (2, 2, 3, 4, 3)),
        ("GlobalAveragePooling3D", {"keepdims": True, "data_format": "channels_first"}, (2, 3, 2, 3, 4)),
    ]:
        # TensorFlow has no CPU gradient for NCHW max pooling: forward only.
        grads = not (cls.startswith("MaxPooling") and cfg.get("data_format") == "channels_first")
        rec.case(cls, cfg, [shape], name=f"{cls}_{len(rec.cases)}", grads=grads)


def normalization(rec):
    import tf_keras
    from layer_fixtures import _arr

    last = []

    class _RecordedBN(tf_keras.layers.BatchNormalization):
        def __init__(self, **kw):
            super().__init__(**kw)
            last.append(self)

    tf_keras.layers._RecordedBN = _RecordedBN

    def bn(config, shape, training, name):
        case = rec.case("_RecordedBN", config, [shape], training=training, name=name)
        case["class_name"] = "BatchNormalization"
        layer = last[-1]
        case["updates"] = [
            {"name": "moving_mean", **_arr(layer.moving_mean.numpy())},
            {"name": "moving_variance", **_arr(layer.moving_variance.numpy())},
        ]

    # tf_keras picks its fused kernel for 4-D inputs on axis 1 or 3: the
    # cases cover fused and unfused paths.
    for axis, shape in [(-1, (4, 3)), (-1, (2, 3, 2, 4)), (1, (2, 3, 2, 2)), (2, (2, 3, 4))]:
        for training in [False, True]:
            bn({"axis": axis, "momentum": 0.9}, shape, training, f"BatchNormalization_axis{axis}_{len(shape)}d_train{int(training)}")
    bn({"center": False, "scale": False, "epsilon": 0.1}, (5, 2), True, "BatchNormalization_c0s0_train1")
    bn({}, (5, 2), False, "BatchNormalization_defaults")
    for axis, shape in [(-1, (2, 5)), ([1, 2], (2, 3, 4)), (1, (2, 3, 4))]:
        rec.case("LayerNormalization", {"axis": axis}, [shape], name=f"LayerNormalization_axis{axis}".replace(" ", ""))
    rec.case("LayerNormalization", {"center": False, "epsilon": 0.1}, [(2, 3, 4)], name="LayerNormalization_nocenter")
    rec.case("GroupNormalization", {"groups": 2}, [(2, 3, 4)], name="GroupNormalization_g2")
    rec.case("GroupNormalization", {"groups": -1, "axis": 1, "scale": False}, [(2, 4, 3)], name="GroupNormalization_axis1")
    rec.case("UnitNormalization", {}, [(2, 5)], name="UnitNormalization_default")
    rec.case("UnitNormalization", {"axis": [1, 2]}, [(2, 3, 4)], name="UnitNormalization_axes12")


def reshaping(rec):
    cf = "channels_first"
    for cls, cfg, shape in [
        ("Reshape", {"target_shape": (-1, 2)}, (2, 3, 4)),
        ("Flatten", {}, (2, 3, 2, 2)),
        ("Flatten", {"data_format": cf}, (2, 3, 2, 2)),
        ("Permute", {"dims": (3, 1, 2)}, (2, 2, 3, 4)),
        ("RepeatVector", {"n": 3}, (2, 4)),
        ("Cropping1D", {"cropping": (2, 1)}, (2, 5, 3)),
        ("Cropping2D", {"cropping": ((0, 2), (1, 3))}, (2, 5, 6, 3)),
        ("Cropping2D", {"cropping": 1, "data_format": cf}, (2, 3, 5, 6)),
        ("Cropping3D", {"cropping": ((0, 1), (1, 2), (1, 0))}, (2, 4, 5, 3, 2)),
        ("ZeroPadding1D", {"padding": (0, 2)}, (2, 4, 3)),
        ("ZeroPadding2D", {"padding": ((0, 2), (1, 0))}, (2, 5, 6, 3)),
        ("ZeroPadding2D", {"padding": 1, "data_format": cf}, (2, 3, 5, 6)),
        ("ZeroPadding3D", {"padding": (1, 0, 2)}, (2, 4, 5, 3, 2)),
        ("UpSampling1D", {"size": 3}, (2, 3, 2)),
        ("UpSampling2D", {"size": (1, 3)}, (2, 3, 4, 2)),
        ("UpSampling2D", {"size": 2, "interpolation": "bilinear"}, (2, 3, 4, 2)),
        ("UpSampling2D", {"size": (3, 2), "interpolation": "bilinear", "data_format": cf}, (1, 2, 4, 5)),
        ("UpSampling3D", {"size": (1, 2, 3)}, (2, 2, 3, 2, 2)),
    ]:
        rec.case(cls, cfg, [shape], name=f"{cls}_{len(rec.cases)}")


def merging(rec):
    same = [(2, 3, 4), (2, 3, 4)]
    for cls in ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]:
        rec.case(cls, {}, same, name=f"{cls}_same")
    rec.case("Add", {}, [(2, 4), (2, 3, 4)], name="Add_rank_broadcast")
    rec.case("Maximum", {}, [(2, 5), (2, 5), (2, 5)], name="Maximum_three")
    rec.case("Concatenate", {}, [(2, 3, 2), (2, 3, 4)], name="Concatenate_default")
    rec.case("Concatenate", {"axis": 1}, [(2, 1, 4), (2, 3, 4)], name="Concatenate_axis1")
    for axes, normalize, shapes in [
        (1, False, [(2, 4), (2, 4)]),
        (1, True, [(2, 4), (2, 4)]),
        ([2, 2], False, [(2, 3, 4), (2, 5, 4)]),
        ([1, 2], True, [(2, 3, 4), (2, 5, 3)]),
    ]:
        tag = str(axes).replace(" ", "").replace(",", "_").strip("[]")
        rec.case("Dot", {"axes": axes, "normalize": normalize}, shapes, name=f"Dot_axes{tag}_norm{int(normalize)}")


def core(rec):
    def ints(hi):
        return lambda rng, s: rng.integers(0, hi, size=s).astype("float32")

    rec.case("Dense", {"units": 3}, [(2, 4)], name="Dense_default")
    rec.case("Dense", {"units": 2, "activation": "relu", "use_bias": False}, [(2, 3, 4)], name="Dense_3d_relu_nobias")
    rec.case("EinsumDense", {"equation": "ab,bc->ac", "output_shape": 3, "bias_axes": "c"}, [(2, 4)], name="EinsumDense_2d")
    rec.case("EinsumDense", {"equation": "abc,cde->abde", "output_shape": (None, 2, 3), "bias_axes": "de",
                             "activation": "tanh"}, [(2, 3, 4)], name="EinsumDense_3d")
    rec.case("Embedding", {"input_dim": 6, "output_dim": 3}, [(2, 4)], name="Embedding_default", input_fn=ints(6))
    rec.case("Embedding", {"input_dim": 5, "output_dim": 2, "input_length": 3, "mask_zero": True}, [(2, 3)],
             name="Embedding_input_length_mask", input_fn=ints(5))
    rec.case("Activation", {"activation": "softmax"}, [(2, 5)], name="Activation_softmax")
    rec.case("Identity", {}, [(2, 3)], name="Identity")
    rec.case("Dropout", {"rate": 0.5, "noise_shape": (None, 1), "seed": 3}, [(2, 3)], name="Dropout_inference")


FAMILIES = {"pooling": pooling, "normalization": normalization, "reshaping": reshaping, "merging": merging,
            "core": core}


def record(names):
    import tensorflow as tf
    import tf_keras

    sys.path.insert(0, HERE)
    import layer_fixtures
    from layer_fixtures import Recorder

    # Embedding's weight gradient is a tf.IndexedSlices: densify it.
    plain = layer_fixtures._arr
    layer_fixtures._arr = lambda a: plain(tf.convert_to_tensor(a) if isinstance(a, tf.IndexedSlices) else a)
    for i, name in enumerate(names):
        rec = Recorder(name, keras_module=tf_keras, seed=20 + list(FAMILIES).index(name))
        FAMILIES[name](rec)
        path = rec.write(OUT)
        print(f"{path}: {len(rec.cases)} cases, {os.path.getsize(path)} bytes")


def main():
    names = [n for n in sys.argv[1:] if n != "--child"] or list(FAMILIES)
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise SystemExit(f"unknown families {unknown}; known: {list(FAMILIES)}")
    if "--child" in sys.argv:
        record(names)
        return
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
    subprocess.run([sys.executable, os.path.abspath(__file__), "--child"] + names, check=True, env=env)


if __name__ == "__main__":
    main()
