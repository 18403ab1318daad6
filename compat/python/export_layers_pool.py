"""Writes the pooling fixtures of package layers from Keras 3:

  layers/testdata/pooling.json           MaxPooling1D/2D/3D, AveragePooling1D/2D/3D
  layers/testdata/pooling_global.json    GlobalMaxPooling1D/2D/3D, GlobalAveragePooling1D/2D/3D
  layers/testdata/pooling_adaptive.json  AdaptiveMaxPooling1D/2D/3D, AdaptiveAveragePooling1D/2D/3D

Each case records the forward output and the input gradient of
sum(output * probe). The grids cover every padding, stride and data_format
combination on tiny odd shapes (batch 2, 5..7 positions, 2..3 channels).
Random inputs have no ties, so the maximum's gradient is unambiguous.

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_pool.py [family...]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from layer_fixtures import Recorder  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "layers", "testdata")

SPATIAL = {1: (7,), 2: (5, 7), 3: (3, 5, 4)}


def in_shape(rank, channels, data_format, spatial=None):
    sp = tuple(spatial or SPATIAL[rank])
    if data_format == "channels_first":
        return (2, channels) + sp
    return (2,) + sp + (channels,)


def tag(v):
    return str(v).replace(" ", "").replace(",", "x").strip("()[]")


def pooling(rec):
    grids = {
        1: [(2, None), (3, None), (3, 2), (2, 1), (3, 3)],
        2: [(2, None), (3, None), ((2, 3), None), (3, 2), ((3, 2), (1, 2)), (2, 1)],
        3: [(2, None), ((2, 3, 2), (1, 2, 1)), (3, 2)],
    }
    for rank in (1, 2, 3):
        for kind in ("MaxPooling", "AveragePooling"):
            cls = f"{kind}{rank}D"
            for df in ("channels_last", "channels_first"):
                for pool, strides in grids[rank]:
                    if rank == 3 and df == "channels_first" and strides is not None:
                        continue  # the layout code is shared by all ranks; keep the file small
                    for padding in ("valid", "same"):
                        cfg = {"pool_size": pool, "strides": strides, "padding": padding, "data_format": df}
                        rec.case(cls, cfg, [in_shape(rank, 3 if rank < 3 else 2, df)],
                                 name=f"{cls}_p{tag(pool)}_s{tag(strides)}_{padding}_{df}")
    # The tutorial CNN's MaxPooling2D((2, 2)) on an odd size.
    rec.case("MaxPooling2D", {"pool_size": (2, 2)}, [(2, 7, 7, 4)], name="MaxPooling2D_tutorial")


def global_pooling(rec):
    for rank in (1, 2, 3):
        for kind in ("GlobalMaxPooling", "GlobalAveragePooling"):
            cls = f"{kind}{rank}D"
            for df in ("channels_last", "channels_first"):
                for keepdims in (False, True):
                    rec.case(cls, {"data_format": df, "keepdims": keepdims}, [in_shape(rank, 3, df)],
                             name=f"{cls}_{df}_keepdims{keepdims}")


def adaptive(rec):
    # No output dimension is 1: there Keras 3.15.1's TensorFlow backend pools
    # a "big" window, ceil(L/O)+1, longer than the input: SIGFPE in 1-D,
    # NaN gradients in 2-D. kerasrun pools the whole dimension.
    sizes = {1: [3, 2, 7, 4, 9], 2: [(2, 3), (2, 5), (5, 7), (4, 2), (6, 9)], 3: [(2, 3, 2), 2, (4, 6, 5)]}
    for rank in (1, 2, 3):
        for kind in ("AdaptiveMaxPooling", "AdaptiveAveragePooling"):
            cls = f"{kind}{rank}D"
            for df in ("channels_last", "channels_first"):
                for size in sizes[rank]:
                    if rank == 3 and df == "channels_first" and size != 2:
                        continue
                    rec.case(cls, {"output_size": size, "data_format": df}, [in_shape(rank, 2, df)],
                             name=f"{cls}_o{tag(size)}_{df}")


FAMILIES = {"pooling": pooling, "pooling_global": global_pooling, "pooling_adaptive": adaptive}


def main():
    names = sys.argv[1:] or list(FAMILIES)
    for name in names:
        rec = Recorder(name)
        FAMILIES[name](rec)
        path = rec.write(OUT)
        print(f"{path}: {len(rec.cases)} cases, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
