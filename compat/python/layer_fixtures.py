"""Golden fixtures for single layers, recorded from real Keras.

Each case builds one layer from a Keras config, gives it fixed random
weights and inputs, and records the forward output and the gradients of
loss = sum(output * probe) with respect to the inputs and every trainable
weight (tf.GradientTape). The Go test harness (layers/fixture_test.go)
rebuilds the layer from the recorded config, loads the weights by position,
and compares every number.

Usage from a family exporter:

    from layer_fixtures import Recorder
    rec = Recorder("conv")                      # -> layers/testdata/conv.json
    rec.case("Conv2D", {"filters": 2, "kernel_size": 3}, [(2, 5, 5, 3)])
    rec.write(out_dir)
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np


def _arr(a):
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


class Recorder:
    def __init__(self, family, keras_module=None, seed=0):
        import keras
        self.keras = keras_module or keras
        self.family = family
        self.cases = []
        self.rng = np.random.default_rng(seed)

    def case(self, class_name, config, input_shapes, name=None, training=False,
             input_fn=None, grads=True, tolerance=None, reason="",
             masks=None, initial_state=False, call_kwargs=None):
        """Records one case; returns its dict. input_fn(rng, shape) makes an
        input array (default uniform [-1, 1)).

        masks: a list with one boolean array (or None) per input, passed as
        the call's mask argument (a single mask for one input, a list for
        several) and recorded as "masks" (1/0 floats, null for None).
        initial_state: the inputs after the first are passed as the call's
        initial_state (recurrent layers). call_kwargs: further plain call
        arguments (use_causal_mask), recorded as "call_kwargs"."""
        import tensorflow as tf
        keras = self.keras
        cls = getattr(keras.layers, class_name)
        layer = cls(**config)
        make = input_fn or (lambda rng, s: rng.uniform(-1, 1, size=s))
        xs = [np.asarray(make(self.rng, s), dtype=np.float32) for s in input_shapes]
        layer.build(xs[0].shape if len(xs) == 1 or initial_state else [x.shape for x in xs])
        weights = []
        for w in layer.weights:
            v = self.rng.uniform(-1, 1, size=tuple(w.shape)).astype(np.float32)
            if "variance" in w.name:
                v = np.abs(v) + 0.5
            w.assign(v)
            weights.append({"name": w.name, "trainable": bool(w.trainable), **_arr(v)})
        tin = [tf.constant(x) for x in xs]
        kwargs = dict(call_kwargs or {})
        if masks is not None:
            tm = [None if m is None else tf.constant(np.asarray(m, dtype=bool)) for m in masks]
            kwargs["mask"] = tm[0] if (len(tm) == 1 or initial_state) else tm
        with tf.GradientTape(persistent=True) as tape:
            for t in tin:
                tape.watch(t)
            if initial_state:
                out = layer(tin[0], initial_state=tin[1:], training=training, **kwargs)
            else:
                out = layer(tin[0] if len(tin) == 1 else tin, training=training, **kwargs)
            outs = tf.nest.flatten(out)  # nested states (StackedRNNCells) flattened, as a Functional graph does
            probes = [self.rng.uniform(-1, 1, size=tuple(o.shape)).astype(np.float32) for o in outs]
            loss = sum(tf.reduce_sum(tf.cast(o, tf.float32) * p) for o, p in zip(outs, probes))
        case = {
            "name": name or f"{class_name}_{len(self.cases)}",
            "class_name": class_name,
            "config": json.loads(json.dumps(layer.get_config(), default=_default)),
            "training": training,
            "inputs": [_arr(x) for x in xs],
            "weights": weights,
            "outputs": [_arr(o) for o in outs],
            "probes": [_arr(p) for p in probes],
        }
        if masks is not None:
            case["masks"] = [None if m is None else _arr(np.asarray(m, dtype=np.float32)) for m in masks]
        if call_kwargs:
            case["call_kwargs"] = call_kwargs
        if grads:
            gi = tape.gradient(loss, tin, unconnected_gradients="zero")
            gw = tape.gradient(loss, layer.trainable_weights, unconnected_gradients="zero")
            case["input_grads"] = [_arr(g) for g in gi]
            case["weight_grads"] = [_arr(g) for g in gw]
        if tolerance:
            case["tolerance"] = {"atol": tolerance[0], "rtol": tolerance[1], "reason": reason}
        self.cases.append(case)
        return case

    def write(self, out_dir):
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, self.family + ".json")
        doc = {"family": self.family, "keras_version": self.keras.__version__,
               "tolerance": {"atol": 1e-5, "rtol": 1e-4}, "cases": self.cases}
        with open(path, "w") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")
        return path


def _default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
