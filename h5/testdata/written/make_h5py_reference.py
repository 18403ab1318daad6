#!/usr/bin/env python3
"""Writes h5py_reference.h5: what h5py (libver earliest, its default) writes
for each dtype kerasrun's writer produces. write_encode_test.go checks that
the writer's encodings of the same things occur byte for byte in this file.

Run with the venv of compat/python/venv.sh:
    $(bash compat/python/venv.sh)/bin/python h5/testdata/written/make_h5py_reference.py
"""
import os

import h5py
import ml_dtypes
import numpy as np

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "h5py_reference.h5")
with h5py.File(out, "w") as f:
    for t in ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"]:
        f.create_dataset(t, data=np.arange(6).astype(t).reshape(2, 3))
    f.create_dataset("bool", data=np.array([True, False, True]))
    ds = f.create_dataset("bfloat16", data=np.array([1.5, 2, 3], dtype=ml_dtypes.bfloat16))
    ds.attrs["dtype"] = "bfloat16"  # as Keras's H5IOStore does
    f.create_dataset("opaque", data=np.array([b"\x01\x02\x03", b"\x04\x05\x06"], dtype="V3"))
    f.create_dataset("fixed", data=np.array([b"ab", b"cde"]))
    f.create_dataset("vlen", data=np.array(["a", "bc"], dtype=h5py.string_dtype()))
    f.create_dataset("scalar", data=np.int64(7))
    f.create_dataset("empty", data=np.zeros((0, 3), np.float32))
    f.attrs["empty_list"] = np.array([], dtype=np.float64)
    f.attrs["layer_names"] = np.array([b"dense", b"dense_1"])
    f.attrs["floats"] = np.array([1.5, -2.0], dtype=np.float32)
    f.attrs["flag"] = np.array([True, False])
    f.attrs["model_config"] = '{"class_name": "Sequential"}'
    f.attrs["names"] = ["x", "yy"]
