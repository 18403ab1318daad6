"""Writes the activation fixtures of package layers:

  layers/testdata/activations.json         Keras 3: every activation name of
      keras.activations (ALL_OBJECTS_DICT but `threshold`, which needs
      arguments) through Activation and Dense, and the layers ReLU,
      LeakyReLU, PReLU, ELU, Softmax over their options.
  layers/testdata/keras2/activations.json  Keras 2 (tf_keras), recorded in a
      separate process: the formulas that differ (hard_sigmoid) and the
      Keras 2 configs (LeakyReLU alpha, ThresholdedReLU theta).

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_activations.py
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "layers", "testdata")

NAMES = ["relu", "leaky_relu", "relu6", "softmax", "celu", "elu", "selu", "softplus",
         "softsign", "squareplus", "soft_shrink", "sparse_plus", "silu", "swish", "gelu",
         "glu", "tanh", "tanh_shrink", "sigmoid", "sparse_sigmoid", "exponential",
         "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "hard_shrink", "linear",
         "mish", "log_softmax", "log_sigmoid", "sparsemax"]


def wide(rng, s):
    """Inputs in [-4, 4): past the kinks of relu6 (scaled below), hard_sigmoid,
    sparse_plus, shrink functions."""
    return rng.uniform(-4, 4, size=s)


def wider(rng, s):
    return rng.uniform(-8, 8, size=s)


def keras3():
    from layer_fixtures import Recorder
    rec = Recorder("activations")
    for name in NAMES:
        fn = wider if name in ("relu6",) else wide
        rec.case("Activation", {"activation": name}, [(2, 3, 4)], name=f"Activation_{name}", input_fn=fn)
    small = lambda rng, s: rng.uniform(-0.3, 0.3, size=s)  # noqa: E731
    rec.case("Activation", {"activation": "sparsemax"}, [(3, 6)], name="Activation_sparsemax_small", input_fn=small)
    for name in ["relu", "gelu", "glu", "softmax", "hard_sigmoid", "sparsemax", "log_softmax"]:
        rec.case("Dense", {"units": 4, "activation": name}, [(3, 5)], name=f"Dense_{name}", input_fn=wide)
    for mv in [None, 1.5, 6.0]:
        for slope in [0.0, 0.1]:
            for thr in [0.0, 0.5]:
                rec.case("ReLU", {"max_value": mv, "negative_slope": slope, "threshold": thr}, [(2, 3, 4)],
                         name=f"ReLU_max{mv}_slope{slope}_thr{thr}", input_fn=wider)
    for slope in [0.3, 0.01, 0.0]:
        rec.case("LeakyReLU", {"negative_slope": slope}, [(2, 5)], name=f"LeakyReLU_{slope}")
    for alpha in [1.0, 0.5, 2.0]:
        rec.case("ELU", {"alpha": alpha}, [(2, 5)], name=f"ELU_{alpha}", input_fn=wide)
    for axes, shape in [(None, (2, 3, 4)), ([1, 2], (2, 3, 4)), ([1, 2], (2, 2, 3, 4))]:
        cfg = {} if axes is None else {"shared_axes": axes}
        rec.case("PReLU", cfg, [shape], name=f"PReLU_shared{axes}_{len(shape)}d")
    for axis, shape in [(-1, (2, 3, 4)), (1, (2, 3, 4)), (-2, (2, 3, 2, 2)), ([1, 2], (2, 3, 4)), ([2], (2, 3, 4)), ([-1, 1], (2, 2, 3))]:
        rec.case("Softmax", {"axis": axis}, [shape], name=f"Softmax_axis{axis}_{len(shape)}d".replace(" ", ""), input_fn=wide)
    print(rec.write(OUT), len(rec.cases), "cases")


def keras2():
    import tf_keras
    from layer_fixtures import Recorder
    rec = Recorder("activations", keras_module=tf_keras, seed=2)
    for name in ["hard_sigmoid", "relu", "sigmoid", "tanh", "elu", "selu", "softplus", "softsign",
                 "swish", "gelu", "exponential", "softmax", "mish", "linear"]:
        rec.case("Activation", {"activation": name}, [(2, 3, 4)], name=f"Activation_{name}", input_fn=wide)
    rec.case("Dense", {"units": 4, "activation": "hard_sigmoid"}, [(3, 5)], name="Dense_hard_sigmoid", input_fn=wide)
    for alpha in [0.3, 0.05]:
        rec.case("LeakyReLU", {"alpha": alpha}, [(2, 5)], name=f"LeakyReLU_alpha{alpha}")
    rec.case("LeakyReLU", {}, [(2, 5)], name="LeakyReLU_default")
    for theta in [1.0, 0.25]:
        rec.case("ThresholdedReLU", {"theta": theta}, [(2, 3, 4)], name=f"ThresholdedReLU_{theta}", input_fn=wide)
    rec.case("ReLU", {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.5}, [(2, 3, 4)], name="ReLU_all", input_fn=wide)
    rec.case("ELU", {"alpha": 0.7}, [(2, 5)], name="ELU_0.7", input_fn=wide)
    rec.case("Softmax", {"axis": 1}, [(2, 3, 4)], name="Softmax_axis1")
    rec.case("PReLU", {"shared_axes": [1]}, [(2, 3, 4)], name="PReLU_shared1")
    print(rec.write(os.path.join(OUT, "keras2")), len(rec.cases), "cases")


if __name__ == "__main__":
    if sys.argv[1:] == ["--keras2"]:
        keras2()
    else:
        keras3()
        env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
        subprocess.run([sys.executable, os.path.abspath(__file__), "--keras2"], check=True, env=env)
