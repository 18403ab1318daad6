"""Writes the convolution fixtures of package layers from Keras 3:

  layers/testdata/conv.json            Conv1D, Conv2D, Conv3D
  layers/testdata/conv_transpose.json  Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
  layers/testdata/conv_depthwise.json  DepthwiseConv1D, DepthwiseConv2D
  layers/testdata/conv_separable.json  SeparableConv1D, SeparableConv2D
  layers/testdata/keras2/conv.json     a sample of all of them from tf_keras (Keras 2),
                                       recorded in a separate process

Each case is one layer with random weights and inputs: forward output and
the gradients of sum(output * probe) for the input and every weight. The
grid walks every padding, stride, dilation, group and data_format
combination Keras accepts, on tiny odd shapes (batch 2, 5..7 positions).

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_conv.py [family... | keras2]
"""
import itertools
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from layer_fixtures import Recorder  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "layers", "testdata")

# Spatial input sizes per rank: odd and even, small enough to keep each
# fixture file well under 1 MB.
SPATIAL = {1: (7,), 2: (5, 6), 3: (3, 4, 3)}


def in_shape(rank, channels, data_format, spatial=None):
    sp = tuple(spatial or SPATIAL[rank])
    if data_format == "channels_first":
        return (2, channels) + sp
    return (2,) + sp + (channels,)


class SafeRecorder(Recorder):
    """A Recorder that steers channels_first cases around a Keras 3.15.1 bug.

    The TensorFlow backend's ops.add (keras/src/backend/tensorflow/numpy.py)
    turns `x + reshape(bias, (1, C, 1, ...))` into tf.nn.bias_add with
    data_format NHWC whenever the last axis of x also has C elements, so a
    channels_first convolution whose last output size equals its channel
    count gets its bias added along the wrong axis. kerasrun implements the
    intended per-channel bias; cases that would hit the bug get one more
    filter (or a larger depth_multiplier).
    """

    def case(self, class_name, config, input_shapes, **kw):
        keras = self.keras
        if config.get("data_format") == "channels_first" and config.get("use_bias", True):
            while True:
                out = getattr(keras.layers, class_name)(**config).compute_output_shape(input_shapes[0])
                if out[1] != out[-1]:
                    break
                key = "filters" if "filters" in config else "depth_multiplier"
                config = dict(config, **{key: config.get(key, 1) + 1})
        return super().case(class_name, config, input_shapes, **kw)


def tag(v):
    return str(v).replace(" ", "").replace(",", "x").strip("()[]")


def window_grid(rank, paddings, mixed=False):
    """Yields (padding, strides, dilation_rate) that Keras accepts: strides
    and dilation greater than 1 are combined only when mixed (the depthwise
    and separable convolutions allow it)."""
    if rank == 1:
        strides = [1, 2, 3]
        dilations = [1, 2]
    elif rank == 2:
        strides = [1, 2, (2, 1)]
        dilations = [1, 2, (1, 2)]
    else:
        strides = [1, 2, (1, 2, 1)]
        dilations = [1, (2, 1, 1)]
    for padding in paddings:
        for s, d in itertools.product(strides, dilations):
            if s != 1 and d != 1 and not (mixed and s == 2 and d == 2):
                continue
            yield padding, s, d


def conv(rec):
    ksize = {1: 3, 2: (3, 2), 3: (2, 3, 2)}
    for rank in (1, 2, 3):
        cls = f"Conv{rank}D"
        paddings = ["valid", "same"] + (["causal"] if rank == 1 else [])
        for df in ("channels_last", "channels_first"):
            for padding, s, d in window_grid(rank, paddings):
                if padding == "causal" and df == "channels_first":
                    continue  # Keras rejects causal padding with channels_first
                if rank == 3 and df == "channels_first" and (s, d) != (1, 1):
                    continue  # the layout code is shared by all ranks; keep the file small
                cfg = {"filters": 3, "kernel_size": ksize[rank], "strides": s, "padding": padding,
                       "dilation_rate": d, "data_format": df}
                rec.case(cls, cfg, [in_shape(rank, 2, df)],
                         name=f"{cls}_{padding}_s{tag(s)}_d{tag(d)}_{df}")
        # groups, activation, no bias, 1x1, kernel as large as the input.
        for df in ("channels_last", "channels_first"):
            rec.case(cls, {"filters": 4, "kernel_size": ksize[rank], "groups": 2, "padding": "same", "data_format": df},
                     [in_shape(rank, 4, df)], name=f"{cls}_groups2_same_{df}")
        rec.case(cls, {"filters": 6, "kernel_size": 2, "groups": 3, "strides": 2, "data_format": "channels_last"},
                 [in_shape(rank, 3, "channels_last")], name=f"{cls}_groups3_s2")
        rec.case(cls, {"filters": 3, "kernel_size": ksize[rank], "activation": "relu", "use_bias": False},
                 [in_shape(rank, 2, "channels_last")], name=f"{cls}_relu_nobias")
        rec.case(cls, {"filters": 3, "kernel_size": ksize[rank], "activation": "tanh", "padding": "same",
                       "data_format": "channels_first"},
                 [in_shape(rank, 2, "channels_first")], name=f"{cls}_tanh_channels_first")
        rec.case(cls, {"filters": 3, "kernel_size": 1}, [in_shape(rank, 2, "channels_last")], name=f"{cls}_1x1")
        rec.case(cls, {"filters": 2, "kernel_size": SPATIAL[rank]}, [in_shape(rank, 2, "channels_last")],
                 name=f"{cls}_full_window")
    # The tutorial CNN's first layer, shrunk: Conv2D(32, (3, 3), relu).
    rec.case("Conv2D", {"filters": 8, "kernel_size": (3, 3), "activation": "relu"}, [(2, 7, 7, 3)],
             name="Conv2D_tutorial_relu")
    rec.case("Conv1D", {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 3},
             [in_shape(1, 2, "channels_last")], name="Conv1D_causal_d3")


def conv_transpose(rec):
    ksize = {1: 3, 2: (3, 2), 3: (2, 3, 2)}
    small = {1: (5,), 2: (4, 3), 3: (2, 3, 2)}
    for rank in (1, 2, 3):
        cls = f"Conv{rank}DTranspose"
        for df in ("channels_last", "channels_first"):
            for padding, s, d in window_grid(rank, ["valid", "same"]):
                if rank == 3 and df == "channels_first" and (s, d) != (1, 1):
                    continue  # the layout code is shared by all ranks; keep the file small
                cfg = {"filters": 2, "kernel_size": ksize[rank], "strides": s, "padding": padding,
                       "dilation_rate": d, "data_format": df}
                rec.case(cls, cfg, [in_shape(rank, 2, df, small[rank])],
                         name=f"{cls}_{padding}_s{tag(s)}_d{tag(d)}_{df}")
        # output_padding must be smaller than the stride.
        for padding in ("valid", "same"):
            op = 1 if rank == 1 else (1,) * rank
            rec.case(cls, {"filters": 2, "kernel_size": ksize[rank], "strides": 2, "padding": padding,
                           "output_padding": op},
                     [in_shape(rank, 2, "channels_last", small[rank])], name=f"{cls}_{padding}_s2_outpad1")
            rec.case(cls, {"filters": 2, "kernel_size": 2, "strides": 3, "padding": padding,
                           "output_padding": 2, "data_format": "channels_first"},
                     [in_shape(rank, 2, "channels_first", small[rank])], name=f"{cls}_{padding}_k2_s3_outpad2_cf")
            rec.case(cls, {"filters": 2, "kernel_size": 2, "strides": 3, "padding": padding},
                     [in_shape(rank, 2, "channels_last", small[rank])], name=f"{cls}_{padding}_k2_s3")
        rec.case(cls, {"filters": 3, "kernel_size": ksize[rank], "activation": "relu", "use_bias": False},
                 [in_shape(rank, 2, "channels_last", small[rank])], name=f"{cls}_relu_nobias")


def depthwise(rec):
    ksize = {1: 3, 2: (3, 2)}
    for rank in (1, 2):
        cls = f"DepthwiseConv{rank}D"
        for df in ("channels_last", "channels_first"):
            for padding, s, d in window_grid(rank, ["valid", "same"], mixed=True):
                cfg = {"kernel_size": ksize[rank], "strides": s, "padding": padding, "dilation_rate": d,
                       "data_format": df}
                rec.case(cls, cfg, [in_shape(rank, 3, df)], name=f"{cls}_{padding}_s{tag(s)}_d{tag(d)}_{df}")
        for df in ("channels_last", "channels_first"):
            rec.case(cls, {"kernel_size": ksize[rank], "depth_multiplier": 2, "padding": "same", "strides": 2,
                           "data_format": df},
                     [in_shape(rank, 3, df)], name=f"{cls}_mult2_same_s2_{df}")
        rec.case(cls, {"kernel_size": ksize[rank], "depth_multiplier": 3, "activation": "relu", "use_bias": False},
                 [in_shape(rank, 2, "channels_last")], name=f"{cls}_mult3_relu_nobias")


def separable(rec):
    ksize = {1: 3, 2: (3, 2)}
    for rank in (1, 2):
        cls = f"SeparableConv{rank}D"
        for df in ("channels_last", "channels_first"):
            for padding, s, d in window_grid(rank, ["valid", "same"], mixed=True):
                cfg = {"filters": 3, "kernel_size": ksize[rank], "strides": s, "padding": padding,
                       "dilation_rate": d, "data_format": df}
                rec.case(cls, cfg, [in_shape(rank, 2, df)], name=f"{cls}_{padding}_s{tag(s)}_d{tag(d)}_{df}")
        rec.case(cls, {"filters": 4, "kernel_size": ksize[rank], "depth_multiplier": 2, "padding": "same",
                       "activation": "relu"},
                 [in_shape(rank, 3, "channels_last")], name=f"{cls}_mult2_relu")
        rec.case(cls, {"filters": 2, "kernel_size": ksize[rank], "use_bias": False, "data_format": "channels_first"},
                 [in_shape(rank, 3, "channels_first")], name=f"{cls}_nobias_cf")


def keras2():
    """Keras 2 configs (tf_keras 2.21): the same layers, their Keras 2
    argument spellings and weight names (DepthwiseConv's depthwise_kernel)."""
    import tf_keras
    rec = Recorder("conv", keras_module=tf_keras, seed=3)
    rec.case("Conv2D", {"filters": 3, "kernel_size": 3, "activation": "relu"}, [(2, 5, 6, 2)], name="Conv2D_relu")
    rec.case("Conv2D", {"filters": 4, "kernel_size": (2, 3), "strides": 2, "padding": "same", "groups": 2},
             [(2, 5, 6, 4)], name="Conv2D_same_s2_groups2")
    rec.case("Conv2D", {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "data_format": "channels_first"},
             [(2, 3, 6, 7)], name="Conv2D_d2_channels_first")
    rec.case("Conv1D", {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, [(2, 7, 2)],
             name="Conv1D_causal_d2")
    rec.case("Conv3D", {"filters": 2, "kernel_size": 2, "padding": "same"}, [(2, 3, 4, 3, 2)], name="Conv3D_same")
    rec.case("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1},
             [(2, 3, 4, 2)], name="Conv2DTranspose_same_s2_outpad1")
    rec.case("Conv1DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2}, [(2, 4, 3)], name="Conv1DTranspose_s2")
    rec.case("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "strides": (1, 2, 1)}, [(2, 2, 3, 2, 2)],
             name="Conv3DTranspose_s121")
    rec.case("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2, "padding": "same", "strides": 2},
             [(2, 5, 6, 3)], name="DepthwiseConv2D_mult2_same_s2")
    rec.case("DepthwiseConv1D", {"kernel_size": 3, "data_format": "channels_first"}, [(2, 3, 7)],
             name="DepthwiseConv1D_channels_first")
    rec.case("SeparableConv2D", {"filters": 3, "kernel_size": 3, "depth_multiplier": 2, "activation": "tanh"},
             [(2, 5, 6, 2)], name="SeparableConv2D_mult2_tanh")
    rec.case("SeparableConv1D", {"filters": 3, "kernel_size": 2, "padding": "same"}, [(2, 7, 2)],
             name="SeparableConv1D_same")
    for cls, cfg, shape in [
        ("MaxPooling2D", {"pool_size": 2}, (2, 5, 7, 3)),
        ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same", "data_format": "channels_first"}, (2, 3, 5, 7)),
        ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 5, 7, 3)),
        ("AveragePooling1D", {"pool_size": 2, "padding": "same"}, (2, 7, 3)),
        ("MaxPooling3D", {"pool_size": 2, "padding": "same"}, (2, 3, 5, 4, 2)),
        ("GlobalAveragePooling2D", {"keepdims": True}, (2, 3, 4, 3)),
        ("GlobalMaxPooling1D", {"data_format": "channels_first"}, (2, 3, 5)),
    ]:
        rec.case(cls, cfg, [shape], name=f"{cls}_{len(rec.cases)}")
    path = rec.write(os.path.join(OUT, "keras2"))
    print(f"{path}: {len(rec.cases)} cases, {os.path.getsize(path)} bytes")


FAMILIES = {"conv": conv, "conv_transpose": conv_transpose, "conv_depthwise": depthwise,
            "conv_separable": separable}


def main():
    names = sys.argv[1:] or list(FAMILIES) + ["keras2"]
    if "keras2" in names:
        # tf_keras must be imported before keras 3 in a fresh process.
        names.remove("keras2")
        env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
        subprocess.run([sys.executable, os.path.abspath(__file__), "--keras2"], check=True, env=env)
    for name in names:
        rec = SafeRecorder(name)
        FAMILIES[name](rec)
        path = rec.write(OUT)
        print(f"{path}: {len(rec.cases)} cases, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    if sys.argv[1:] == ["--keras2"]:
        keras2()
    else:
        main()
