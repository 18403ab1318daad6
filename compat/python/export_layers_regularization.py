"""Writes layers/testdata/regularization.json: Keras 3 cases for the
layers that are the identity at inference (SpatialDropout*, GaussianNoise,
GaussianDropout, AlphaDropout, ActivityRegularization, random
augmentation), and for ActivityRegularization the loss Keras adds
(recorded under "losses", from layer.losses after the call).

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_regularization.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import keras  # noqa: E402
from layer_fixtures import Recorder  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "layers", "testdata")

_last = []


class _RecordedActivityRegularization(keras.layers.ActivityRegularization):
    def __init__(self, **kw):
        super().__init__(**kw)
        _last.append(self)


keras.layers._RecordedActivityRegularization = _RecordedActivityRegularization


def main():
    rec = Recorder("regularization")
    for cls, cfg, shape in [
        ("SpatialDropout1D", {"rate": 0.5}, (2, 3, 4)),
        ("SpatialDropout2D", {"rate": 0.5}, (2, 2, 2, 3)),
        ("SpatialDropout3D", {"rate": 0.5, "data_format": "channels_first"}, (1, 2, 2, 2, 2)),
        ("GaussianNoise", {"stddev": 0.3}, (2, 3)),
        ("GaussianDropout", {"rate": 0.3}, (2, 3)),
        ("AlphaDropout", {"rate": 0.3}, (2, 3)),
        ("RandomFlip", {}, (1, 3, 3, 2)),
        ("RandomRotation", {"factor": 0.2}, (1, 3, 3, 2)),
        ("RandomZoom", {"height_factor": 0.2}, (1, 3, 3, 2)),
        ("RandomContrast", {"factor": 0.2}, (1, 3, 3, 2)),
        ("RandomTranslation", {"height_factor": 0.2, "width_factor": 0.2}, (1, 3, 3, 2)),
    ]:
        rec.case(cls, cfg, [shape], name=f"{cls}_inference")
    for l1, l2, shape in [(0.01, 0.0, (2, 3)), (0.0, 0.02, (3, 2, 2)), (0.1, 0.5, (2, 4))]:
        case = rec.case("_RecordedActivityRegularization", {"l1": l1, "l2": l2}, [shape], name=f"ActivityRegularization_l1{l1}_l2{l2}")
        case["class_name"] = "ActivityRegularization"
        case["losses"] = [float(v) for v in _last[-1].losses]
    print(rec.write(OUT), len(rec.cases), "cases")


if __name__ == "__main__":
    main()
