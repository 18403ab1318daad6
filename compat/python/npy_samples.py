"""Writes the numpy-made sample files that internal/npy's tests read.

Usage (venv from venv.sh): python compat/python/npy_samples.py internal/npy/testdata

Every sample is written by numpy itself (np.save, np.lib.format.write_array
for versions 2.0/3.0, np.savez, np.savez_compressed). expected.json records,
for each file, numpy's own view of it: shape, descr, fortran_order and the
elements in C order converted to float32 by numpy (non-finite values as the
strings "nan", "inf", "-inf").
"""

import json
import os
import sys

import numpy as np


def values(a):
    out = []
    with np.errstate(over="ignore"):  # float64 beyond float32's range becomes inf, as in Go
        flat = np.ascontiguousarray(a).astype(np.float32).ravel().tolist()
    for v in flat:
        if np.isnan(v):
            out.append("nan")
        elif np.isinf(v):
            out.append("inf" if v > 0 else "-inf")
        else:
            out.append(v)
    return out


def describe(a, fortran=False):
    return {
        "shape": list(a.shape),
        "descr": np.lib.format.dtype_to_descr(a.dtype),
        "fortran_order": fortran,
        "values": values(a),
    }


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    samples = {}

    def save(name, a, version=None, fortran=False):
        path = os.path.join(out, name)
        if fortran:
            a = np.asfortranarray(a)
        if version is None:
            np.save(path, a)
        else:
            with open(path, "wb") as f:
                np.lib.format.write_array(f, a, version=version)
        samples[name] = describe(a, fortran)

    # The float32 C-order files double as references for Write's bytes.
    save("f4_scalar.npy", np.float32(3.25).reshape(()))
    save("f4_empty_0x3.npy", np.zeros((0, 3), np.float32))
    save("f4_5.npy", rng.normal(size=5).astype(np.float32))
    save("f4_2x3.npy", rng.normal(size=(2, 3)).astype(np.float32))
    save("f4_2x3x4.npy", rng.normal(size=(2, 3, 4)).astype(np.float32))
    save("f4_special.npy", np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45, 3.4e38], np.float32))
    save("f8_3x2.npy", rng.normal(size=(3, 2)))
    save("f2_6.npy", np.array([1.5, -2.0, 6.1e-5, 5.96e-8, 65504, np.inf], np.float16))
    for t in ["i1", "i2", "i4", "i8"]:
        save(f"{t}_2x2.npy", np.array([[-3, 0], [7, -128]], dtype=t))
    for t in ["u1", "u2", "u4", "u8"]:
        save(f"{t}_4.npy", np.array([0, 1, 200, 255], dtype=t))
    save("b1_5.npy", np.array([True, False, True, True, False]))
    save("be_f4_2x2.npy", np.array([[1.5, -2.25], [1e-3, 7e5]], dtype=">f4"))
    save("be_f8_3.npy", np.array([0.1, -1e100, 2.5], dtype=">f8"))
    save("be_i8_3.npy", np.array([-5, 1 << 40, 9], dtype=">i8"))
    save("be_u2_2.npy", np.array([513, 65535], dtype=">u2"))
    save("fortran_f8_3x4.npy", np.arange(12, dtype=np.float64).reshape(3, 4), fortran=True)
    save("fortran_f4_2x3x4.npy", np.arange(24, dtype=np.float32).reshape(2, 3, 4), fortran=True)
    save("v2_f4_2x3.npy", rng.normal(size=(2, 3)).astype(np.float32), version=(2, 0))
    save("v3_i4_4.npy", np.array([1, -2, 3, -4], np.int32), version=(3, 0))

    npz = {}
    a = rng.random((2, 3)).astype(np.float32)
    b = np.arange(4, dtype=np.int64)
    np.savez(os.path.join(out, "stored.npz"), a=a, b=b)
    npz["stored.npz"] = {"a": describe(a), "b": describe(b)}
    c = rng.random((3, 3))
    np.savez_compressed(os.path.join(out, "deflated.npz"), c=c, a=a)
    npz["deflated.npz"] = {"c": describe(c), "a": describe(a)}

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"numpy": np.__version__, "files": samples, "npz": npz}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: npy_samples.py OUTDIR")
    main(sys.argv[1])
