"""Writes layers/testdata/merging.json: Keras 3 golden cases for the merging
layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate,
Dot), forward and gradients, including Keras's broadcasting of inputs of
different ranks (size-1 axes inserted after the batch axis).

Run: $(bash compat/python/venv.sh)/bin/python compat/python/export_layers_merging.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from layer_fixtures import Recorder  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "layers", "testdata")


def main():
    rec = Recorder("merging")
    same = [(2, 3, 4), (2, 3, 4)]
    three = [(2, 3), (2, 3), (2, 3)]
    bcast_rank = [(2, 4), (2, 3, 4)]          # rank broadcast: (2,4)->(2,1,4)
    bcast_one = [(2, 1, 4), (2, 3, 1)]        # size-1 broadcast, same rank
    for cls in ["Add", "Multiply", "Average", "Maximum", "Minimum"]:
        rec.case(cls, {}, same, name=f"{cls}_same")
        rec.case(cls, {}, three, name=f"{cls}_three")
        rec.case(cls, {}, bcast_rank, name=f"{cls}_rank_broadcast")
        rec.case(cls, {}, bcast_one, name=f"{cls}_size1_broadcast")
    rec.case("Subtract", {}, same, name="Subtract_same")
    rec.case("Subtract", {}, bcast_rank, name="Subtract_rank_broadcast")
    rec.case("Subtract", {}, [(2, 3, 1), (2, 4)], name="Subtract_mixed_broadcast")
    # Ties: Maximum/Minimum give the gradient to the earliest input.
    tie = lambda rng, s: rng.integers(-1, 2, size=s).astype("float32")  # noqa: E731
    rec.case("Maximum", {}, [(2, 5), (2, 5), (2, 5)], name="Maximum_ties", input_fn=tie)
    rec.case("Minimum", {}, [(2, 5), (2, 5), (2, 5)], name="Minimum_ties", input_fn=tie)

    for axis, shapes in [
        (-1, [(2, 3, 2), (2, 3, 4)]),
        (1, [(2, 1, 4), (2, 3, 4), (2, 2, 4)]),
        (2, [(2, 3, 1), (2, 3, 2)]),
        (-2, [(2, 2, 3), (2, 1, 3)]),
        (-3, [(2, 2, 2, 3), (2, 1, 2, 3)]),
        (0, [(2, 3), (1, 3)]),
    ]:
        rec.case("Concatenate", {"axis": axis}, shapes, name=f"Concatenate_axis{axis}_{len(shapes)}in")

    for axes, normalize, shapes in [
        (1, False, [(2, 4), (2, 4)]),
        (1, True, [(2, 4), (2, 4)]),
        (-1, False, [(2, 3, 4), (2, 5, 4)]),
        (-1, True, [(2, 3, 4), (2, 5, 4)]),
        ([1, 2], False, [(2, 3, 4), (2, 5, 3)]),
        ([1, 2], True, [(2, 3, 4), (2, 5, 3)]),
        ([2, 1], False, [(2, 3, 4), (2, 4)]),
        ([1, 1], False, [(2, 4), (2, 4, 3)]),
        ([2, 1], True, [(2, 3, 4), (2, 4, 2, 2)]),
        ([-2, -1], False, [(2, 3, 2, 4), (2, 5, 2)]),
        ([3, 1], True, [(2, 2, 3, 4), (2, 4, 3)]),
    ]:
        tag = str(axes).replace(" ", "").replace(",", "_").strip("[]")
        rec.case("Dot", {"axes": axes, "normalize": normalize}, shapes,
                 name=f"Dot_axes{tag}_norm{int(normalize)}_{len(shapes[0])}x{len(shapes[1])}")
    print(rec.write(OUT), len(rec.cases), "cases")


if __name__ == "__main__":
    main()
