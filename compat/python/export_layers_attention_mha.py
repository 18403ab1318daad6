"""Writes the MultiHeadAttention and GroupedQueryAttention layer fixtures:

  layers/testdata/attention/mha.json         Keras 3.15.1: MultiHeadAttention argument
      combinations (key, value_dim, output_shape, use_bias, attention_axes on rank-4
      inputs, use_gate, sliding_window, dropout at inference), query/value/key masks
      with fully padded queries, attention_mask (several ranks), use_causal_mask,
      return_attention_scores; GroupedQueryAttention likewise.
  layers/testdata/attention/mha_keras2.json  tf-keras 2.21: the same layer as tf-keras
      computes it (its additive softmax mask, softmax_robust_masking, masks read from
      the tensors' _keras_mask).

Each case is in layer_fixtures.py's format: the config Keras writes, the weights in
layer.weights order, the inputs (query, value, key when given, then the
attention_mask as 0/1 floats), the masks, the outputs, and the gradients of
sum(output * probe) with respect to the inputs and the trainable weights. The call
arguments are recorded as "call_kwargs"; an attention_mask tensor as
{"attention_mask": "tensor"} (layers/multi_head_attention_test.go replays them).

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_attention_mha.py
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "layers", "testdata", "attention")

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _arr(a):
    import numpy as np
    a = np.asarray(a, dtype=np.float32)
    return {"shape": list(a.shape), "data": [float(v) for v in a.reshape(-1)]}


class AttentionRecorder:
    def __init__(self, family, keras_module, keras3, seed):
        import numpy as np
        self.keras = keras_module
        self.keras3 = keras3
        self.family = family
        self.cases = []
        self.rng = np.random.default_rng(seed)

    def case(self, class_name, config, shapes, name, key=False, attention_mask=None, masks=None,
             causal=False, scores=False, grads=True):
        """shapes: query, value (and key when key=True). attention_mask: a shape
        (random 0/1) or None. masks: one list of valid lengths per input (None for
        no mask), padding at the end."""
        import numpy as np
        import tensorflow as tf
        layer = getattr(self.keras.layers, class_name)(**config)
        xs = [self.rng.uniform(-1, 1, size=s).astype(np.float32) for s in shapes]
        am = None
        if attention_mask is not None:
            am = (self.rng.uniform(size=attention_mask) < 0.7).astype(np.float32)
        ms = None
        if masks is not None:
            ms = []
            for s, lengths in zip(shapes, masks):
                if lengths is None:
                    ms.append(None)
                    continue
                m = np.zeros(s[:2], dtype=bool)
                for b, n in enumerate(lengths):
                    m[b, :n] = True
                ms.append(m)
        tin = [tf.constant(x) for x in xs]
        tam = None if am is None else tf.constant(am)

        def set_mask(t, m):
            if m is None:
                return
            if self.keras3:
                from keras.src import backend
                backend.set_keras_mask(t, m)
            else:
                t._keras_mask = m

        def call(training=False):
            q, v = tin[0], tin[1]
            k = tin[2] if key else None
            kw = dict(training=training)
            if k is not None:
                kw["key"] = k
            if tam is not None:
                kw["attention_mask"] = tf.cast(tam, tf.bool)
            if causal:
                kw["use_causal_mask"] = True
            if scores:
                kw["return_attention_scores"] = True
            if ms is not None:
                tm = [None if m is None else tf.constant(m) for m in ms]
                # Both read the masks the tensors carry (Keras 3 fills
                # value_mask and key_mask from them, as in a model).
                q, v = tf.identity(q), tf.identity(v)
                set_mask(q, tm[0])
                set_mask(v, tm[1])
                if k is not None:
                    k = tf.identity(k)
                    set_mask(k, tm[2] if len(tm) > 2 else None)
                    kw["key"] = k
            return layer(q, v, **kw)

        call()  # builds the sub-layers
        weights = []
        for w in layer.weights:
            v = self.rng.uniform(-1, 1, size=tuple(w.shape)).astype(np.float32)
            w.assign(v)
            weights.append({"name": w.name, "trainable": bool(w.trainable), **_arr(v)})
        with tf.GradientTape(persistent=True) as tape:
            for t in tin:
                tape.watch(t)
            out = call()
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            probes = [self.rng.uniform(-1, 1, size=tuple(o.shape)).astype(np.float32) for o in outs]
            loss = sum(tf.reduce_sum(o * p) for o, p in zip(outs, probes))
        case = {
            "name": name,
            "class_name": type(layer).__name__,
            "config": json.loads(json.dumps(layer.get_config(), default=_default)),
            "training": False,
            "inputs": [_arr(x) for x in xs] + ([] if am is None else [_arr(am)]),
            "weights": weights,
            "outputs": [_arr(o) for o in outs],
            "probes": [_arr(p) for p in probes],
        }
        kwargs = {}
        if causal:
            kwargs["use_causal_mask"] = True
        if scores:
            kwargs["return_attention_scores"] = True
        if am is not None:
            kwargs["attention_mask"] = "tensor"
        if kwargs:
            case["call_kwargs"] = kwargs
        if ms is not None:
            case["masks"] = [None if m is None else _arr(m) for m in ms] + ([None] if am is not None else [])
        if grads:
            gi = tape.gradient(loss, tin, unconnected_gradients="zero")
            gw = tape.gradient(loss, layer.trainable_weights, unconnected_gradients="zero")
            case["input_grads"] = [_arr(g) for g in gi] + ([] if am is None else [_arr(np.zeros_like(am))])
            case["weight_grads"] = [_arr(g) for g in gw]
        self.cases.append(case)

    def write(self):
        os.makedirs(OUT, exist_ok=True)
        path = os.path.join(OUT, self.family + ".json")
        doc = {"family": self.family, "keras_version": self.keras.__version__,
               "tolerance": {"atol": 1e-5, "rtol": 1e-4}, "cases": self.cases}
        with open(path, "w") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")
        print(f"{path}: {len(self.cases)} cases, {os.path.getsize(path)} bytes")


def _default(o):
    import numpy as np
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def mha_cases(rec, keras3):
    M = "MultiHeadAttention"
    q, v = (2, 4, 5), (2, 6, 5)
    rec.case(M, {"num_heads": 2, "key_dim": 3}, [q, v], "basic")
    rec.case(M, {"num_heads": 3, "key_dim": 2, "value_dim": 4}, [q, (2, 6, 3), (2, 6, 7)], "key_value_dim", key=True)
    rec.case(M, {"num_heads": 2, "key_dim": 3, "use_bias": False, "output_shape": 6}, [q, v], "nobias_output6")
    rec.case(M, {"num_heads": 2, "key_dim": 2, "output_shape": (2, 3)}, [q, v], "output_shape_2x3")
    rec.case(M, {"num_heads": 2, "key_dim": 3}, [(2, 3, 4, 5), (2, 2, 3, 5)], "rank4_default_axes")
    rec.case(M, {"num_heads": 2, "key_dim": 3, "attention_axes": (2,)}, [(2, 3, 4, 5), (2, 3, 2, 5)], "rank4_axis2")
    rec.case(M, {"num_heads": 2, "key_dim": 2, "attention_axes": (1,)}, [(2, 3, 4, 5), (2, 2, 4, 3)], "rank4_axis1")
    rec.case(M, {"num_heads": 1, "key_dim": 2, "attention_axes": (2, 3)}, [(2, 2, 3, 2, 4), (2, 2, 2, 3, 4)], "rank5_axes23")
    rec.case(M, {"num_heads": 2, "key_dim": 3}, [q, q], "causal", causal=True)
    rec.case(M, {"num_heads": 2, "key_dim": 3}, [q, v], "causal_scores_cross", causal=True, scores=True)
    rec.case(M, {"num_heads": 2, "key_dim": 3}, [q, v], "scores", scores=True)
    rec.case(M, {"num_heads": 2, "key_dim": 3}, [q, v], "masks_qv", masks=[[4, 2], [6, 3]])
    rec.case(M, {"num_heads": 2, "key_dim": 3}, [q, v], "masks_qv_scores", masks=[[4, 2], [6, 3]], scores=True)
    rec.case(M, {"num_heads": 2, "key_dim": 3}, [q, v, (2, 6, 4)], "masks_qvk", key=True, masks=[[3, 1], [6, 5], [4, 6]])
    rec.case(M, {"num_heads": 2, "key_dim": 3}, [q, v], "mask_value_only", masks=[None, [2, 5]])
    rec.case(M, {"num_heads": 2, "key_dim": 3}, [q, q], "masks_causal", masks=[[4, 2], [4, 2]], causal=True)
    rec.case(M, {"num_heads": 2, "key_dim": 3}, [q, v], "attention_mask_bts", attention_mask=(2, 4, 6))
    rec.case(M, {"num_heads": 2, "key_dim": 3}, [q, v], "attention_mask_ts", attention_mask=(4, 6), scores=True)
    rec.case(M, {"num_heads": 2, "key_dim": 3}, [q, v], "attention_mask_bnts", attention_mask=(2, 2, 4, 6))
    rec.case(M, {"num_heads": 2, "key_dim": 3}, [q, q], "attention_mask_masks_causal", attention_mask=(2, 4, 4),
             masks=[[4, 3], [4, 3]], causal=True)
    rec.case(M, {"num_heads": 2, "key_dim": 3, "attention_axes": (2,)}, [(2, 3, 4, 5), (2, 3, 2, 5)],
             "rank4_attention_mask", attention_mask=(2, 3, 4, 2))
    rec.case(M, {"num_heads": 2, "key_dim": 3, "dropout": 0.3}, [q, v], "dropout_inference", masks=[[4, 2], [6, 3]])
    if keras3:
        rec.case(M, {"num_heads": 2, "key_dim": 3, "use_gate": True}, [q, v], "gate", masks=[[4, 2], [6, 6]])
        rec.case(M, {"num_heads": 2, "key_dim": 3, "sliding_window": 2}, [q, q], "sliding_window_causal", causal=True)
        rec.case(M, {"num_heads": 2, "key_dim": 3, "sliding_window": 3}, [q, v], "sliding_window_scores", scores=True)
        G = "GroupQueryAttention"
        rec.case(G, {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2}, [q, v], "gqa_basic")
        rec.case(G, {"head_dim": 2, "num_query_heads": 3, "num_key_value_heads": 1}, [q, v, (2, 6, 3)], "gqa_one_kv_key", key=True)
        rec.case(G, {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2, "use_bias": False}, [q, q],
                 "gqa_causal_nobias", causal=True)
        rec.case(G, {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2}, [q, v], "gqa_masks_scores",
                 masks=[[4, 2], [6, 3]], scores=True)
        rec.case(G, {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 4}, [q, v], "gqa_masks",
                 masks=[[4, 2], [6, 3]])
        rec.case(G, {"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 1, "use_gate": True}, [q, v],
                 "gqa_gate_attention_mask", attention_mask=(2, 4, 6))
    else:
        rec.case(M, {"num_heads": 2, "key_dim": 3, "softmax_robust_masking": True}, [q, v], "robust_masks",
                 masks=[[4, 2], [6, 3]], scores=True)


def record(keras3):
    if keras3:
        import keras
        rec = AttentionRecorder("mha", keras, True, seed=120)
    else:
        import tf_keras
        rec = AttentionRecorder("mha_keras2", tf_keras, False, seed=121)
    mha_cases(rec, keras3)
    rec.write()


def main():
    if "--child" in sys.argv:
        record(keras3=False)
        return
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
    subprocess.run([sys.executable, os.path.abspath(__file__), "--child"], check=True, env=env)
    record(keras3=True)


if __name__ == "__main__":
    main()
