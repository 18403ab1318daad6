"""Writes layers/testdata/normalization.json: Keras 3 golden cases for
BatchNormalization (inference and training, with the moving-statistics
updates Keras assigns recorded under "updates"), LayerNormalization,
GroupNormalization, UnitNormalization and RMSNormalization.

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_normalization.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras  # noqa: E402
import numpy as np  # noqa: E402
from layer_fixtures import Recorder, _arr  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "layers", "testdata")

_last = []


class _RecordedBN(keras.layers.BatchNormalization):
    """BatchNormalization that remembers itself, to read the moving
    statistics Keras assigned during the recorded call."""

    def __init__(self, **kw):
        super().__init__(**kw)
        _last.append(self)


keras.layers._RecordedBN = _RecordedBN


def bn_case(rec, config, shape, training, name):
    case = rec.case("_RecordedBN", config, [shape], training=training, name=name)
    case["class_name"] = "BatchNormalization"
    layer = _last[-1]
    case["updates"] = [
        {"name": "moving_mean", **_arr(np.asarray(layer.moving_mean))},
        {"name": "moving_variance", **_arr(np.asarray(layer.moving_variance))},
    ]


def main():
    rec = Recorder("normalization")
    for axis, shape in [(-1, (4, 3)), (-1, (2, 3, 4)), (1, (2, 3, 2, 2)), (2, (2, 3, 4))]:
        for center, scale in [(True, True), (False, True), (True, False), (False, False)]:
            for training in [False, True]:
                cfg = {"axis": axis, "center": center, "scale": scale, "momentum": 0.9, "epsilon": 1e-3}
                bn_case(rec, cfg, shape, training,
                        f"BatchNormalization_axis{axis}_{len(shape)}d_c{int(center)}s{int(scale)}_train{int(training)}")
    bn_case(rec, {"epsilon": 0.1, "momentum": 0.5}, (5, 2), True, "BatchNormalization_eps0.1_mom0.5_train1")
    bn_case(rec, {"trainable": False}, (5, 2), True, "BatchNormalization_frozen_train1")

    for axis, shape in [(-1, (2, 5)), (-1, (2, 3, 4)), ([1, 2], (2, 3, 4)), (1, (2, 3, 4)), ([-1, -3], (2, 3, 2, 2))]:
        for center, scale, rms in [(True, True, False), (False, True, False), (True, False, False), (False, False, False), (True, True, True)]:
            cfg = {"axis": axis, "center": center, "scale": scale, "epsilon": 1e-3}
            if rms:
                cfg["rms_scaling"] = True
            rec.case("LayerNormalization", cfg, [shape],
                     name=f"LayerNormalization_axis{axis}_{len(shape)}d_c{int(center)}s{int(scale)}r{int(rms)}".replace(" ", ""))

    for groups, axis, shape, center, scale in [
        (2, -1, (2, 3, 4), True, True),
        (1, -1, (2, 3, 4), True, True),
        (-1, -1, (2, 3, 4), True, True),
        (2, 1, (2, 4, 3), True, True),
        (3, -1, (2, 2, 2, 6), False, True),
        (3, -1, (2, 2, 2, 6), True, False),
        (2, 2, (2, 3, 4, 2), True, True),
    ]:
        rec.case("GroupNormalization", {"groups": groups, "axis": axis, "center": center, "scale": scale},
                 [shape], name=f"GroupNormalization_g{groups}_axis{axis}_{len(shape)}d_c{int(center)}s{int(scale)}")

    for axis, shape in [(-1, (2, 5)), (1, (2, 3, 4)), ([1, 2], (2, 3, 4))]:
        rec.case("UnitNormalization", {"axis": axis}, [shape], name=f"UnitNormalization_axis{axis}".replace(" ", ""))
    for axis, shape, eps in [(-1, (2, 5), 1e-6), (-1, (2, 3, 4), 0.1), ([1, 2], (2, 3, 4), 1e-6)]:
        rec.case("RMSNormalization", {"axis": axis, "epsilon": eps}, [shape],
                 name=f"RMSNormalization_axis{axis}_eps{eps}".replace(" ", ""))
    print(rec.write(OUT), len(rec.cases), "cases")


if __name__ == "__main__":
    main()
