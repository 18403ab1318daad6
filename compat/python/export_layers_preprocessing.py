"""Writes layers/testdata/preprocessing.json: Keras 3 golden cases for the
preprocessing layers that run inside models: Rescaling, Normalization
(config mean/variance and adapted weights, invert), Resizing and
CenterCrop (bilinear and nearest, crop/pad to aspect ratio, both data
formats), CategoryEncoding, Discretization and IntegerLookup.

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_preprocessing.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras  # noqa: E402
from layer_fixtures import Recorder  # noqa: E402


class _LoadedNormalization(keras.layers.Normalization):
    """Normalization that reads its weights at call time, as a loaded layer
    does (load_own_variables calls finalize_state): the recorder assigns
    the weights after build, when finalize_state has already run."""

    def call(self, inputs):
        self.finalize_state()
        return super().call(inputs)


keras.layers._LoadedNormalization = _LoadedNormalization


def adapted_normalization(rec, config, shape, name):
    case = rec.case("_LoadedNormalization", config, [shape], name=name)
    case["class_name"] = "Normalization"

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "layers", "testdata")


def ints(lo, hi):
    return lambda rng, s: rng.integers(lo, hi, size=s).astype("float32")


def main():
    rec = Recorder("preprocessing")
    rec.case("Rescaling", {"scale": 1 / 255.0}, [(2, 3)], name="Rescaling_scalar")
    rec.case("Rescaling", {"scale": 2.0, "offset": -1.0}, [(2, 2, 3)], name="Rescaling_offset")
    rec.case("Rescaling", {"scale": [0.5, 2.0, -1.0], "offset": [0.1, 0.2, 0.3]}, [(2, 2, 3)], name="Rescaling_per_channel")

    rec.case("Normalization", {"mean": 0.5, "variance": 4.0}, [(2, 3)], name="Normalization_config_scalar")
    rec.case("Normalization", {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 0.25]}, [(2, 3)], name="Normalization_config_vector")
    rec.case("Normalization", {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 0.25], "invert": True}, [(2, 3)], name="Normalization_config_invert")
    adapted_normalization(rec, {"axis": [1, 2], "mean": [[1.0, 2.0], [3.0, 4.0]], "variance": [[1.0, 2.0], [3.0, 4.0]]}, (2, 2, 2), "Normalization_config_axes12")
    adapted_normalization(rec, {"axis": -1}, (2, 3), "Normalization_adapted")
    adapted_normalization(rec, {"axis": 1}, (2, 3, 2), "Normalization_adapted_axis1")
    adapted_normalization(rec, {"axis": None}, (2, 3), "Normalization_adapted_axisNone")
    adapted_normalization(rec, {"axis": -1, "invert": True}, (2, 2, 3), "Normalization_adapted_invert")

    for df in ["channels_last", "channels_first"]:
        shape = (2, 5, 7, 2) if df == "channels_last" else (2, 2, 5, 7)
        for h, w in [(3, 4), (8, 10), (5, 3), (10, 7)]:
            for interp in ["bilinear", "nearest"]:
                rec.case("Resizing", {"height": h, "width": w, "interpolation": interp, "data_format": df}, [shape],
                         name=f"Resizing_{h}x{w}_{interp}_{df}")
            rec.case("Resizing", {"height": h, "width": w, "crop_to_aspect_ratio": True, "data_format": df}, [shape],
                     name=f"Resizing_{h}x{w}_crop_{df}")
            rec.case("Resizing", {"height": h, "width": w, "pad_to_aspect_ratio": True, "data_format": df}, [shape],
                     name=f"Resizing_{h}x{w}_pad_{df}")
        for h, w in [(3, 4), (5, 7), (4, 6), (6, 9), (3, 8)]:
            rec.case("CenterCrop", {"height": h, "width": w, "data_format": df}, [shape], name=f"CenterCrop_{h}x{w}_{df}")

    for mode in ["multi_hot", "one_hot", "count"]:
        rec.case("CategoryEncoding", {"num_tokens": 5, "output_mode": mode}, [(3, 4)], name=f"CategoryEncoding_{mode}_2d", input_fn=ints(0, 5))
        rec.case("CategoryEncoding", {"num_tokens": 4, "output_mode": mode}, [(3,)], name=f"CategoryEncoding_{mode}_1d", input_fn=ints(0, 4))
        rec.case("CategoryEncoding", {"num_tokens": 4, "output_mode": mode}, [(3, 1)], name=f"CategoryEncoding_{mode}_col", input_fn=ints(0, 4))
    rec.case("CategoryEncoding", {"num_tokens": 4, "output_mode": "one_hot"}, [(2, 3, 2)], name="CategoryEncoding_one_hot_3d", input_fn=ints(0, 4))

    wide = lambda rng, s: rng.uniform(-3, 3, size=s)  # noqa: E731
    for mode in ["int", "one_hot", "multi_hot", "count"]:
        rec.case("Discretization", {"bin_boundaries": [-1.0, 0.0, 0.5, 2.0], "output_mode": mode}, [(3, 4)],
                 name=f"Discretization_{mode}", input_fn=wide)
    rec.case("Discretization", {"bin_boundaries": [0.0, 1.0]}, [(2, 3)], name="Discretization_exact",
             input_fn=lambda rng, s: rng.integers(-1, 3, size=s).astype("float32"))

    vocab = [12, 36, 1138, 42, 7]
    tokens = lambda rng, s: rng.choice([12, 36, 1138, 42, 7, 0, 5, 99], size=s).astype("float32")  # noqa: E731
    for cfg, name in [
        ({"vocabulary": vocab}, "default"),
        ({"vocabulary": vocab, "mask_token": 0}, "mask"),
        ({"vocabulary": vocab, "output_mode": "one_hot"}, "one_hot"),
        ({"vocabulary": vocab, "output_mode": "multi_hot"}, "multi_hot"),
        ({"vocabulary": vocab, "output_mode": "count"}, "count"),
        ({"vocabulary": vocab, "oov_token": -7, "invert": True}, "invert"),
        ({"vocabulary": vocab, "mask_token": 0, "invert": True}, "invert_mask"),
    ]:
        fn = ints(0, 8) if cfg.get("invert") else tokens
        rec.case("IntegerLookup", dict(cfg, vocabulary_dtype="int64"), [(3, 4)], name=f"IntegerLookup_{name}", input_fn=fn, grads=False)
    print(rec.write(OUT), len(rec.cases), "cases")


if __name__ == "__main__":
    main()
