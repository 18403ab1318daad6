"""Writes the ConvLSTM layer fixtures:

  layers/testdata/conv_lstm.json         Keras 3: ConvLSTM1D/2D/3D with padding, strides,
                                         dilation_rate, return_sequences, return_state,
                                         go_backwards, masks, activations, use_bias,
                                         unit_forget_bias
  layers/testdata/keras2/conv_lstm.json  tf_keras: the same layers (every other case)

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

# Every case holds the default tolerance (1e-5 + 1e-4*|want|): 3 steps of
# convolutions over at most 3x3x2 taps.


# tf-keras gets every other case: the same code paths, half the bytes.
KERAS2 = {"ConvLSTM1D_valid", "ConvLSTM1D_strides_state", "ConvLSTM1D_backwards_state_mask", "ConvLSTM2D_same_sequences",
          "ConvLSTM2D_dilation", "ConvLSTM2D_backwards_mask", "ConvLSTM3D_strides_state"}


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


def main():
    rec = Recorder("conv_lstm")
    cases(rec)
    print(rec.write(OUT), len(rec.cases), "cases")
    import tf_keras
    rec2 = Recorder("conv_lstm", keras_module=tf_keras)
    cases(rec2, "keras2_")
    print(rec2.write(os.path.join(OUT, "keras2")), len(rec2.cases), "cases")


if __name__ == "__main__":
    main()
