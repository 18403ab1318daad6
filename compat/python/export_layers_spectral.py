"""Writes the SpectralNormalization fixtures:

  layers/testdata/spectral.json         Keras 3.15.1
  layers/testdata/keras2/spectral.json  tf-keras 2.21

SpectralNormalization wrapping Dense, Conv2D and Embedding, at inference and in
training (where Keras assigns kernel/sigma and the power method's vector_u before
the wrapped layer runs), in layer_fixtures.py's format. The weights are listed in
kerasrun's order (vector_u, then the wrapped layer's weights) instead of Keras's
layer.weights order, which differs between Keras 3 (kernel, vector_u, bias) and
tf-keras (kernel, bias, vector_u); "updates" holds the kernel and vector_u a
training call assigned.

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_spectral.py
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def cases(rec):
    import numpy as np
    from layer_fixtures import _arr
    K = rec.keras
    made = []

    class SN(K.layers.SpectralNormalization):
        def __init__(self, **kw):
            super().__init__(**kw)
            made.append(self)

    K.layers._RecordedSN = SN

    def case(inner, power, shapes, training, name, input_fn=None):
        c = rec.case("_RecordedSN", {"layer": inner, "power_iterations": power}, shapes, training=training,
                     name=name, input_fn=input_fn)
        c["class_name"] = "SpectralNormalization"
        layer = made[-1]
        by = {w["name"].split("/")[-1].split(":")[0]: w for w in c["weights"]}
        inner_names = [w.name.split("/")[-1].split(":")[0] for w in layer.layer.weights]
        c["weights"] = [by["vector_u"]] + [by[n] for n in inner_names]
        if training:
            c["updates"] = [{"name": "kernel", **_arr(layer.kernel.numpy())},
                            {"name": "vector_u", **_arr(layer.vector_u.numpy())}]

    ids = lambda rng, s: rng.integers(0, 6, size=s).astype("float32")  # noqa: E731
    for training in [False, True]:
        t = int(training)
        case(K.layers.Dense(3), 1, [(4, 5)], training, f"Dense_p1_train{t}")
        case(K.layers.Dense(4, use_bias=False), 3, [(2, 3, 5)], training, f"Dense_nobias_p3_train{t}")
        case(K.layers.Conv2D(3, 2), 2, [(2, 4, 4, 2)], training, f"Conv2D_p2_train{t}")
        case(K.layers.Embedding(6, 3), 1, [(2, 4)], training, f"Embedding_p1_train{t}", input_fn=ids)


def main():
    from layer_fixtures import Recorder
    if "--child" in sys.argv:
        import tensorflow as tf
        import tf_keras
        import layer_fixtures
        plain = layer_fixtures._arr
        layer_fixtures._arr = lambda a: plain(tf.convert_to_tensor(a) if isinstance(a, tf.IndexedSlices) else a)
        rec = Recorder("spectral", keras_module=tf_keras, seed=141)
        out = os.path.join(HERE, "..", "..", "layers", "testdata", "keras2")
    else:
        env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
        subprocess.run([sys.executable, os.path.abspath(__file__), "--child"], check=True, env=env)
        import tensorflow as tf
        import layer_fixtures
        plain = layer_fixtures._arr
        layer_fixtures._arr = lambda a: plain(tf.convert_to_tensor(a) if isinstance(a, tf.IndexedSlices) else a)
        rec = Recorder("spectral", seed=140)
        out = os.path.join(HERE, "..", "..", "layers", "testdata")
    cases(rec)
    path = rec.write(out)
    print(f"{path}: {len(rec.cases)} cases, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
