"""Compares two fixture trees written by export.py, e.g. committed vs fresh.

Usage: python compare_fixtures.py [--slack K] A B

--slack K multiplies every case's atol and rtol by K. make compat uses it: the
committed fixtures were exported on another CPU (an Intel Cascade Lake), and
TensorFlow's CPU kernels sum in another order on another CPU, so values after
training steps (BatchNormalization statistics near zero) move by float32
rounding, up to about 2x the case tolerance. The Go side is always checked
against the fresh export at the case's own tolerance.

A is the reference (its case.json tolerance applies). The trees must hold the
same cases and files; manifests must be equal except for floating-point
numbers, which (like every .npy value and every weight in the model files)
must agree within the case's tolerance: |b - a| <= atol + rtol * |a|.
Model files differ in bytes between runs (dates in .keras metadata), so they
are compared by content: HDF5 objects, attributes and dataset values via
h5py, JSON by value, .keras archives member by member (ignoring the save
date). Exits 1 with a list of differences, 0 if the trees agree.
"""

import io
import json
import os
import sys
import zipfile

import h5py
import numpy as np

MAX_REPORTED = 60


class Diff:
    def __init__(self):
        self.items = []
        self.ids = ({}, {})  # shared_object_id pairing A->B and B->A, per file

    def new_file(self):
        self.ids = ({}, {})

    def add(self, where, msg):
        self.items.append(f"{where}: {msg}")


def close(a, b, tol):
    """Reports whether arrays a (reference) and b agree within tol; returns (ok, detail)."""
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        return False, f"shape {a.shape} vs {b.shape}"
    if a.dtype.kind in "biuSOU" or b.dtype.kind in "biuSOU":
        if a.dtype != b.dtype:
            return False, f"dtype {a.dtype} vs {b.dtype}"
        if not np.array_equal(a, b):
            idx = np.argwhere(a != b)[0] if a.ndim else ()
            return False, f"values differ at index {tuple(int(i) for i in idx)}"
        return True, ""
    a64 = a.astype(np.float64)
    b64 = b.astype(np.float64)
    nan_a, nan_b = np.isnan(a64), np.isnan(b64)
    if not np.array_equal(nan_a, nan_b):
        return False, "NaN in different places"
    diff = np.where(nan_a, 0.0, np.abs(a64 - b64))
    excess = diff - (tol["atol"] + tol["rtol"] * np.where(nan_a, 0.0, np.abs(a64)))
    if a.size and excess.max() > 0:
        i = np.unravel_index(int(np.argmax(excess)), a.shape)
        return False, (
            f"worst at index {tuple(int(k) for k in i)}: {float(a64[i])!r} vs {float(b64[i])!r} "
            f"(|diff| {diff[i]:.3g} > atol {tol['atol']} + rtol {tol['rtol']} * |a|); "
            f"{int((excess > 0).sum())} of {a.size} values out of tolerance"
        )
    return True, ""


def compare_values(where, a, b, tol, diff, skip_keys=()):
    """Compares decoded JSON values: structure and strings exactly, floats within tol."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        if a != b:
            diff.add(where, f"{a!r} vs {b!r}")
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, int) and isinstance(b, int):
            if a != b:
                diff.add(where, f"{a} vs {b}")
        else:
            ok, detail = close(np.float64(a), np.float64(b), tol)
            if not ok:
                diff.add(where, f"{a!r} vs {b!r} ({detail})")
    elif isinstance(a, dict) and isinstance(b, dict):
        ka, kb = set(a) - set(skip_keys), set(b) - set(skip_keys)
        for k in sorted(ka - kb):
            diff.add(f"{where}.{k}", "missing in B")
        for k in sorted(kb - ka):
            diff.add(f"{where}.{k}", "missing in A")
        for k in sorted(ka & kb):
            if k == "shared_object_id":
                compare_object_ids(f"{where}.{k}", a[k], b[k], diff)
            else:
                compare_values(f"{where}.{k}", a[k], b[k], tol, diff, skip_keys)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            diff.add(where, f"list length {len(a)} vs {len(b)}")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            compare_values(f"{where}[{i}]", x, y, tol, diff, skip_keys)
    elif type(a) is not type(b):
        diff.add(where, f"type {type(a).__name__} vs {type(b).__name__}")
    elif a != b:
        diff.add(where, text_diff(a, b))


def text_diff(a, b):
    """Describes two different strings around their first difference."""
    a, b = str(a), str(b)
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    lo = max(0, i - 20)
    return f"differ at character {i}: ...{a[lo:i + 40]!r} vs ...{b[lo:i + 40]!r}"


def compare_object_ids(where, a, b, diff):
    """shared_object_id is a Python id(), different every run: the trees must
    agree on which objects are shared, not on the numbers."""
    fwd, back = diff.ids
    if fwd.setdefault(a, b) != b or back.setdefault(b, a) != a:
        diff.add(where, f"shared_object_id {a} vs {b} pairs objects differently")


def decode_attr(v):
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    if isinstance(v, str):
        try:
            return json.loads(v), True
        except ValueError:
            return v, False
    return v, False


def compare_attrs(where, a, b, tol, diff):
    ka, kb = set(a.attrs.keys()), set(b.attrs.keys())
    for k in sorted(ka ^ kb):
        diff.add(f"{where}@{k}", "missing in " + ("B" if k in ka else "A"))
    for k in sorted(ka & kb):
        va, ja = decode_attr(a.attrs[k])
        vb, jb = decode_attr(b.attrs[k])
        if ja and jb:
            compare_values(f"{where}@{k}", va, vb, tol, diff)
        elif isinstance(va, str) or isinstance(vb, str):
            if va != vb:
                diff.add(f"{where}@{k}", text_diff(va, vb))
        else:
            va, vb = np.asarray(va), np.asarray(vb)
            if va.dtype.kind in "SO":
                va, vb = va.astype(str), vb.astype(str)
            ok, detail = close(va, vb, tol)
            if not ok:
                diff.add(f"{where}@{k}", detail)


def compare_h5(where, fa, fb, tol, diff):
    with h5py.File(fa, "r") as a, h5py.File(fb, "r") as b:
        names_a, names_b = [], []
        a.visit(names_a.append)
        b.visit(names_b.append)
        for n in sorted(set(names_a) ^ set(names_b)):
            diff.add(f"{where}:/{n}", "missing in " + ("B" if n in names_a else "A"))
        compare_attrs(f"{where}:/", a, b, tol, diff)
        for n in sorted(set(names_a) & set(names_b)):
            oa, ob = a[n], b[n]
            if isinstance(oa, h5py.Dataset) != isinstance(ob, h5py.Dataset):
                diff.add(f"{where}:/{n}", "dataset vs group")
                continue
            compare_attrs(f"{where}:/{n}", oa, ob, tol, diff)
            if isinstance(oa, h5py.Dataset):
                if oa.dtype != ob.dtype:
                    diff.add(f"{where}:/{n}", f"dtype {oa.dtype} vs {ob.dtype}")
                    continue
                ok, detail = close(oa[()], ob[()], tol)
                if not ok:
                    diff.add(f"{where}:/{n}", detail)


def compare_keras(where, fa, fb, tol, diff):
    with zipfile.ZipFile(fa) as a, zipfile.ZipFile(fb) as b:
        na, nb = sorted(a.namelist()), sorted(b.namelist())
        if na != nb:
            diff.add(where, f"members {na} vs {nb}")
            return
        for n in na:
            da, db = a.read(n), b.read(n)
            w = f"{where}!{n}"
            if n.endswith(".json"):
                skip = ("date_saved",) if n == "metadata.json" else ()
                compare_values(w, json.loads(da), json.loads(db), tol, diff, skip)
            elif n.endswith(".h5"):
                compare_h5(w, io.BytesIO(da), io.BytesIO(db), tol, diff)
            elif da != db:
                diff.add(w, "bytes differ")


def compare_file(where, fa, fb, tol, diff):
    diff.new_file()
    if fa.endswith(".npy"):
        a, b = np.load(fa), np.load(fb)
        if a.dtype != b.dtype:
            diff.add(where, f"dtype {a.dtype} vs {b.dtype}")
        ok, detail = close(a, b, tol)
        if not ok:
            diff.add(where, detail)
    elif fa.endswith(".keras"):
        compare_keras(where, fa, fb, tol, diff)
    elif fa.endswith(".h5"):
        compare_h5(where, fa, fb, tol, diff)
    elif fa.endswith(".json"):
        with open(fa) as x, open(fb) as y:
            compare_values(where, json.load(x), json.load(y), tol, diff)
    else:
        with open(fa, "rb") as x, open(fb, "rb") as y:
            if x.read() != y.read():
                diff.add(where, "bytes differ")


def cases(root):
    return sorted(d for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "case.json")))


def compare_trees(ra, rb, slack=1.0):
    diff = Diff()
    ca, cb = cases(ra), cases(rb)
    for c in sorted(set(ca) ^ set(cb)):
        diff.add(c, "case missing in " + ("B" if c in ca else "A"))
    for c in sorted(set(ca) & set(cb)):
        da, db = os.path.join(ra, c), os.path.join(rb, c)
        with open(os.path.join(da, "case.json")) as f:
            tol = dict(json.load(f)["tolerance"])
            tol["atol"] *= slack
            tol["rtol"] *= slack
        fa, fb = sorted(os.listdir(da)), sorted(os.listdir(db))
        for n in sorted(set(fa) ^ set(fb)):
            diff.add(f"{c}/{n}", "file missing in " + ("B" if n in fa else "A"))
        for n in sorted(set(fa) & set(fb)):
            compare_file(f"{c}/{n}", os.path.join(da, n), os.path.join(db, n), tol, diff)
    return ca, diff


def main(argv):
    slack = 1.0
    if len(argv) == 4 and argv[0] == "--slack":
        slack = float(argv[1])
        argv = argv[2:]
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    compared, diff = compare_trees(argv[0], argv[1], slack)
    if diff.items:
        print(f"compare_fixtures: {len(diff.items)} difference(s) between {argv[0]} and {argv[1]}:")
        for line in diff.items[:MAX_REPORTED]:
            print("  " + line)
        if len(diff.items) > MAX_REPORTED:
            print(f"  ... and {len(diff.items) - MAX_REPORTED} more")
        return 1
    print(f"compare_fixtures: {len(compared)} case(s) agree within tolerance")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
