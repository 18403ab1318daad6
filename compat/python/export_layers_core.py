"""Writes layers/testdata/core.json: Keras 3 golden cases for EinsumDense,
Embedding and Identity (Dense, Activation, Flatten, Dropout have their own
contract tests).

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_core.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layer_fixtures  # noqa: E402
import tensorflow as tf  # noqa: E402
from layer_fixtures import Recorder  # noqa: E402

# Embedding's weight gradient is a tf.IndexedSlices: densify it before the
# recorder converts it.
_plain_arr = layer_fixtures._arr
layer_fixtures._arr = lambda a: _plain_arr(tf.convert_to_tensor(a) if isinstance(a, tf.IndexedSlices) else a)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "layers", "testdata")


def main():
    rec = Recorder("core")
    for eq, out, bias, act, shape in [
        ("ab,bc->ac", 4, None, None, (3, 5)),
        ("ab,bc->ac", 4, "c", "relu", (3, 5)),
        ("abc,cd->abd", (None, 4), "d", None, (2, 3, 5)),
        ("abc,cde->abde", (None, 2, 3), "de", "tanh", (2, 3, 4)),
        ("abc,cde->abde", (3, 2, 3), "e", None, (2, 3, 4)),
        ("abcd,cde->abe", (3, 4), "e", None, (2, 3, 2, 5)),
        ("...b,bc->...c", 4, "c", None, (2, 3, 5)),
        ("...b,bc->...c", 4, None, None, (2, 3, 2, 5)),
        ("ab...,bc->ac...", (4, 3), "c", None, (2, 5, 3)),
        ("abc,bd->adc", (4, 3), "d", None, (2, 5, 3)),
        ("abcd,decf->abef", (3, 6, 2), "bef", None, (2, 3, 4, 5)),
        ("btd,dnh->btnh", (None, 2, 3), "nh", None, (2, 4, 5)),
        ("btnh,nhd->btd", (None, 4), "d", None, (2, 3, 2, 3)),
        ("abc,dc->abd", (3, 4), "bd", None, (2, 3, 5)),
    ]:
        cfg = {"equation": eq, "output_shape": out}
        if bias:
            cfg["bias_axes"] = bias
        if act:
            cfg["activation"] = act
        rec.case("EinsumDense", cfg, [shape], name=f"EinsumDense_{eq}_bias{bias}_{act}".replace("...", "E").replace(",", "_").replace("->", "_"))

    def ints(hi):
        return lambda rng, s: rng.integers(0, hi, size=s).astype("float32")

    for in_dim, out_dim, shape, mask in [(5, 3, (2, 4), False), (7, 2, (3,), False), (4, 3, (2, 3, 2), True), (1, 4, (2, 2), False)]:
        rec.case("Embedding", {"input_dim": in_dim, "output_dim": out_dim, "mask_zero": mask}, [shape],
                 name=f"Embedding_{in_dim}x{out_dim}_{len(shape)}d_mask{int(mask)}", input_fn=ints(in_dim))
    rec.case("Identity", {}, [(2, 3)], name="Identity")
    print(rec.write(OUT), len(rec.cases), "cases")


if __name__ == "__main__":
    main()
