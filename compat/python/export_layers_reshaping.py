"""Writes layers/testdata/reshaping.json: Keras 3 golden cases for
Reshape, Permute, RepeatVector, Cropping1D/2D/3D, ZeroPadding1D/2D/3D and
UpSampling1D/2D/3D (nearest, and bilinear for 2D), both data formats.

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_reshaping.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from layer_fixtures import Recorder  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "layers", "testdata")


def main():
    rec = Recorder("reshaping")
    for target, shape in [((6,), (2, 2, 3)), ((-1, 2), (2, 3, 4)), ((3, -1), (2, 6)), ((2, 1, 3), (2, 6)), ((-1,), (2, 2, 2, 2))]:
        rec.case("Reshape", {"target_shape": target}, [shape], name=f"Reshape_{target}_{len(shape)}d".replace(" ", ""))
    for dims, shape in [((2, 1), (2, 3, 4)), ((1, 2), (2, 3, 4)), ((3, 1, 2), (2, 2, 3, 4)), ((2, 3, 1), (2, 2, 3, 4))]:
        rec.case("Permute", {"dims": dims}, [shape], name=f"Permute_{dims}".replace(" ", ""))
    for n in [1, 3]:
        rec.case("RepeatVector", {"n": n}, [(2, 4)], name=f"RepeatVector_{n}")

    for crop in [1, (0, 2), (2, 1)]:
        rec.case("Cropping1D", {"cropping": crop}, [(2, 5, 3)], name=f"Cropping1D_{crop}".replace(" ", ""))
    for df in ["channels_last", "channels_first"]:
        shape2 = (2, 5, 6, 3) if df == "channels_last" else (2, 3, 5, 6)
        shape3 = (2, 4, 5, 3, 2) if df == "channels_last" else (2, 2, 4, 5, 3)
        for crop in [1, (1, 2), ((0, 2), (1, 3))]:
            rec.case("Cropping2D", {"cropping": crop, "data_format": df}, [shape2], name=f"Cropping2D_{crop}_{df}".replace(" ", ""))
        for crop in [1, (1, 0, 1), ((0, 1), (1, 2), (1, 0))]:
            rec.case("Cropping3D", {"cropping": crop, "data_format": df}, [shape3], name=f"Cropping3D_{crop}_{df}".replace(" ", ""))
        for pad in [1, (0, 2)]:
            shape1 = (2, 4, 3) if df == "channels_last" else (2, 3, 4)
            rec.case("ZeroPadding1D", {"padding": pad, "data_format": df}, [shape1], name=f"ZeroPadding1D_{pad}_{df}".replace(" ", ""))
        for pad in [1, (1, 2), ((0, 2), (1, 0))]:
            rec.case("ZeroPadding2D", {"padding": pad, "data_format": df}, [shape2], name=f"ZeroPadding2D_{pad}_{df}".replace(" ", ""))
        for pad in [1, (1, 0, 2), ((0, 1), (2, 0), (1, 1))]:
            rec.case("ZeroPadding3D", {"padding": pad, "data_format": df}, [shape3], name=f"ZeroPadding3D_{pad}_{df}".replace(" ", ""))
        for size in [2, (1, 3)]:
            for interp in ["nearest", "bilinear"]:
                rec.case("UpSampling2D", {"size": size, "data_format": df, "interpolation": interp}, [(2, 3, 4, 2) if df == "channels_last" else (2, 2, 3, 4)],
                         name=f"UpSampling2D_{size}_{interp}_{df}".replace(" ", ""))
        for size in [2, (1, 2, 3)]:
            rec.case("UpSampling3D", {"size": size, "data_format": df}, [(2, 2, 3, 2, 2) if df == "channels_last" else (2, 2, 2, 3, 2)],
                     name=f"UpSampling3D_{size}_{df}".replace(" ", ""))
    rec.case("UpSampling2D", {"size": (3, 2), "interpolation": "bilinear"}, [(1, 4, 5, 1)], name="UpSampling2D_bilinear_3x2")
    for size in [1, 3]:
        rec.case("UpSampling1D", {"size": size}, [(2, 3, 2)], name=f"UpSampling1D_{size}")
    print(rec.write(OUT), len(rec.cases), "cases")


if __name__ == "__main__":
    main()
