#!/usr/bin/env python3
"""Check HDF5 files written by kerasrun's Go writer against h5py and h5dump.

Usage: check_h5_written.py DIR

DIR holds NAME.h5 files and, beside each, NAME.json describing what the
file must contain (written by `KERASRUN_WRITE_CORPUS=DIR go test -run
TestWriteCorpus ./h5/`). For every file this script:

  * opens it with h5py and requires superblock version 0 (h5py's default
    "earliest" layout),
  * requires the set of objects to be exactly the described one, each group's
    children listed in name order and each child found by name (h5py looks
    names up in the symbol-table B-tree by key),
  * compares every dataset and attribute: HDF5 type class, size, sign,
    float layout, string padding and character set, opaque tag, enum members,
    shape and every value (floats bit for bit),
  * requires contiguous layout, and no storage for zero-size datasets,
  * runs `h5dump FILE` and requires exit status 0 and nothing on stderr,
  * modifies a copy with h5py (mode "a": adds 300 groups around the root's
    existing names, an attribute, a long string attribute, a dataset, deletes
    the first child) and requires the result to list exactly the expected
    children and to pass h5dump, so HDF5 can extend the writer's heaps,
    B-trees and object headers,
  * for a real-world file the Go test read and wrote again (the JSON names
    its "source"), compares every dataset and attribute of the copy with the
    original as h5py reads both: values equal, same kind and item size
    (byte order and string padding may differ).

Exits 1 listing every mismatch, 0 if all files pass.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import h5py
import numpy as np
from h5py import h5d, h5t

INT_KINDS = {
    "int8": (1, True), "int16": (2, True), "int32": (4, True), "int64": (8, True),
    "uint8": (1, False), "uint16": (2, False), "uint32": (4, False), "uint64": (8, False),
}
# size -> (sign pos, exp pos, exp size, mantissa pos, mantissa size), bias
FLOAT_KINDS = {
    "float16": (2, (15, 10, 5, 0, 10), 15),
    "float32": (4, (31, 23, 8, 0, 23), 127),
    "float64": (8, (63, 52, 11, 0, 52), 1023),
}
BITS_VIEW = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def short(x, n=200):
    r = repr(x)
    return r if len(r) <= n else r[:n] + "..."


class Checker:
    def __init__(self):
        self.errors = []

    def fail(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    def check_type(self, where, tid, exp):
        kind = exp["kind"]
        cls = tid.get_class()
        if kind in INT_KINDS:
            size, signed = INT_KINDS[kind]
            if cls != h5t.INTEGER or tid.get_size() != size:
                return self.fail(where, f"want {kind}, file has class {cls} size {tid.get_size()}")
            if tid.get_sign() != (h5t.SGN_2 if signed else h5t.SGN_NONE):
                self.fail(where, f"{kind}: wrong sign")
            if tid.get_order() != h5t.ORDER_LE:
                self.fail(where, f"{kind}: not little-endian")
        elif kind in FLOAT_KINDS:
            size, fields, bias = FLOAT_KINDS[kind]
            if cls != h5t.FLOAT or tid.get_size() != size:
                return self.fail(where, f"want {kind}, file has class {cls} size {tid.get_size()}")
            if tuple(tid.get_fields()) != fields or tid.get_ebias() != bias:
                self.fail(where, f"{kind}: fields {tid.get_fields()} bias {tid.get_ebias()}")
            if tid.get_order() != h5t.ORDER_LE:
                self.fail(where, f"{kind}: not little-endian")
        elif kind == "bool":
            if cls != h5t.ENUM or tid.get_size() != 1:
                return self.fail(where, f"want bool enum, file has class {cls} size {tid.get_size()}")
            members = [(tid.get_member_name(i), tid.get_member_value(i)) for i in range(tid.get_nmembers())]
            if members != [(b"FALSE", 0), (b"TRUE", 1)]:
                self.fail(where, f"bool enum members {members}")
            if tid.get_super().get_sign() != h5t.SGN_2:
                self.fail(where, "bool enum base is not int8")
        elif kind == "string":
            if cls != h5t.STRING:
                return self.fail(where, f"want string, file has class {cls}")
            cset = h5t.CSET_UTF8 if exp["utf8"] else h5t.CSET_ASCII
            if tid.get_cset() != cset:
                self.fail(where, f"string cset {tid.get_cset()}, want {cset}")
            if exp["varlen"]:
                if not tid.is_variable_str():
                    self.fail(where, "want variable-length string")
            else:
                if tid.is_variable_str() or tid.get_size() != exp["size"]:
                    self.fail(where, f"want |S{exp['size']}, file has size {tid.get_size()}")
                if tid.get_strpad() != h5t.STR_NULLPAD:
                    self.fail(where, f"string pad {tid.get_strpad()}, want NULLPAD")
        elif kind in ("opaque", "bfloat16"):
            if cls != h5t.OPAQUE or tid.get_size() != exp["size"]:
                return self.fail(where, f"want opaque{exp['size']}, file has class {cls} size {tid.get_size()}")
            if tid.get_tag() != exp["tag"].encode():
                self.fail(where, f"opaque tag {tid.get_tag()!r}, want {exp['tag']!r}")
        else:
            self.fail(where, f"unknown kind {kind} in description")

    def check_values(self, where, value, exp):
        """value is what h5py returns for the dataset or attribute."""
        kind = exp["kind"]
        shape = tuple(exp["shape"])
        if kind == "string" and exp["varlen"]:
            arr = np.asarray(value, dtype=object)
            got = [x.decode("utf-8") if isinstance(x, bytes) else x for x in arr.ravel().tolist()]
            want = exp["data"]
        elif kind == "string":
            arr = np.asarray(value)
            got = [bytes(x) for x in arr.ravel().tolist()]
            want = [s.encode("utf-8") for s in exp["data"]]
        elif kind in ("opaque", "bfloat16"):
            arr = np.asarray(value)
            if arr.dtype.kind != "V" or arr.dtype.itemsize != exp["size"]:
                return self.fail(where, f"h5py dtype {arr.dtype}, want V{exp['size']}")
            got = [x.tobytes() for x in arr.reshape(-1)]
            if kind == "opaque":
                want = [bytes.fromhex(h) for h in exp["data"]]
            else:
                want = [int(b).to_bytes(2, "little") for b in exp["bits"]]
        elif kind in FLOAT_KINDS:
            arr = np.asarray(value)
            size = FLOAT_KINDS[kind][0]
            if arr.dtype != np.dtype(f"<f{size}"):
                return self.fail(where, f"h5py dtype {arr.dtype}, want {kind}")
            got = [int(x) for x in np.ascontiguousarray(arr).view(BITS_VIEW[size]).ravel()]
            want = [int(x) for x in exp["bits"]]
        elif kind == "bool":
            arr = np.asarray(value)
            if arr.dtype != np.bool_:
                return self.fail(where, f"h5py dtype {arr.dtype}, want bool")
            got = [bool(x) for x in arr.ravel()]
            want = exp["data"]
        else:
            arr = np.asarray(value)
            if arr.dtype != np.dtype(kind):
                return self.fail(where, f"h5py dtype {arr.dtype}, want {kind}")
            got = [int(x) for x in arr.ravel()]
            want = [int(x) for x in exp["data"]]
        if arr.shape != shape:
            return self.fail(where, f"shape {arr.shape}, want {shape}")
        if got != want:
            if len(got) != len(want):
                return self.fail(where, f"{len(got)} values, want {len(want)}")
            bad = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
            g, w = (got[bad] if bad < len(got) else None), want[bad]
            if isinstance(g, (str, bytes)) and isinstance(w, type(g)):
                at = next((i for i, (x, y) in enumerate(zip(g, w)) if x != y), min(len(g), len(w)))
                g, w = g[max(0, at - 20):at + 40], w[max(0, at - 20):at + 40]
                detail = f"(lengths {len(got[bad])} and {len(want[bad])}, first difference at {at})"
            else:
                detail = ""
            self.fail(where, f"values differ at flat index {bad} of {len(want)} {detail}: got {short(g)}, want {short(w)}")

    def check_attrs(self, where, obj, attrs):
        names = [a["name"] for a in attrs]
        if sorted(obj.attrs.keys()) != sorted(names):
            self.fail(where, f"attributes {sorted(obj.attrs.keys())}, want {sorted(names)}")
        for a in attrs:
            aw = f"{where} attribute {a['name']!r}"
            if a["name"] not in obj.attrs:
                continue
            aid = obj.attrs.get_id(a["name"])
            self.check_type(aw, aid.get_type(), a["value"])
            if tuple(aid.shape) != tuple(a["value"]["shape"]):
                self.fail(aw, f"shape {aid.shape}, want {tuple(a['value']['shape'])}")
                continue
            if a["value"]["kind"] == "opaque" and a["value"]["tag"]:
                # h5py's high-level read has no conversion for a tagged
                # opaque type; read it in the file's own type.
                value = np.empty(aid.shape, dtype=f"V{a['value']['size']}")
                aid.read(value, mtype=aid.get_type())
            else:
                value = obj.attrs[a["name"]]
            self.check_values(aw, value, a["value"])

    def check_file(self, h5path, desc):
        name = os.path.basename(h5path)
        with h5py.File(h5path, "r") as f:
            sb = f.id.get_create_plist().get_version()[0]
            if sb != 0:
                self.fail(name, f"superblock version {sb}, want 0")
            seen = set()
            f.visit(lambda p: seen.add("/" + p))
            want = {o["path"] for o in desc["objects"]} - {"/"}
            if seen != want:
                self.fail(name, f"objects: extra {sorted(seen - want)[:5]}, missing {sorted(want - seen)[:5]}")
            for o in desc["objects"]:
                where = f"{name}:{o['path']}"
                if o["path"] not in f:
                    self.fail(where, "not found")
                    continue
                obj = f[o["path"]]
                if o["kind"] == "group":
                    if not isinstance(obj, h5py.Group):
                        self.fail(where, f"is {type(obj).__name__}, want group")
                        continue
                    keys = list(obj.keys())
                    if keys != o["children"]:
                        self.fail(where, f"children {keys[:5]}... ({len(keys)}), want {o['children'][:5]}... ({len(o['children'])})")
                    for c in o["children"]:
                        try:
                            obj[c]
                        except KeyError:
                            self.fail(where, f"child {c!r} not found by name")
                    for c in ("", "\x7f", "~~~absent"):
                        if c and c in obj:
                            self.fail(where, f"absent name {c!r} found")
                else:
                    if not isinstance(obj, h5py.Dataset):
                        self.fail(where, f"is {type(obj).__name__}, want dataset")
                        continue
                    exp = o["value"]
                    self.check_type(where, obj.id.get_type(), exp)
                    if obj.shape != tuple(exp["shape"]):
                        self.fail(where, f"shape {obj.shape}, want {tuple(exp['shape'])}")
                        continue
                    if obj.id.get_create_plist().get_layout() != h5d.CONTIGUOUS:
                        self.fail(where, "layout is not contiguous")
                    n = int(np.prod(exp["shape"], dtype=np.int64))
                    if n == 0 and obj.id.get_offset() is not None:
                        self.fail(where, f"zero-size dataset has storage at {obj.id.get_offset()}")
                    if exp["kind"] == "string" and exp["varlen"]:
                        value = obj.asstr()[()]
                    elif exp["kind"] == "opaque" and exp["tag"]:
                        value = np.empty(obj.shape, dtype=f"V{exp['size']}")
                        if value.size:
                            obj.id.read(h5py.h5s.ALL, h5py.h5s.ALL, value, mtype=obj.id.get_type())
                    else:
                        value = obj[()]
                    self.check_values(where, value, exp)
                self.check_attrs(where, obj, o["attrs"])
        if desc.get("source"):
            self.check_source(name, h5path, desc)
        self.check_append(name, h5path, desc)
        r = subprocess.run(["h5dump", h5path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if r.returncode != 0 or r.stderr.strip():
            self.fail(name, f"h5dump exit {r.returncode}: {r.stderr.decode(errors='replace')[:500]}")


    def check_append(self, name, h5path, desc):
        root = next(o for o in desc["objects"] if o["path"] == "/")
        with tempfile.TemporaryDirectory() as tmp:
            cp = os.path.join(tmp, name)
            shutil.copyfile(h5path, cp)
            want = set(root["children"])
            with h5py.File(cp, "a") as f:
                for i in range(150):
                    for n in (f" {i}", f"~{i}"):  # sort before and after typical names
                        f.create_group(n)
                        want.add(n)
                f.attrs["appended"] = np.arange(3)
                f.attrs["appended_config"] = "c" * 100000
                f.create_dataset("~~appended", data=np.arange(10.0))
                want.add("~~appended")
                first = sorted(want)[0]
                del f[first]
                want.discard(first)
            with h5py.File(cp, "r") as f:
                if list(f.keys()) != sorted(want):
                    self.fail(f"{name} (appended by h5py)", f"root lists {len(f.keys())} children, want {len(want)}")
                for n in want:
                    if n not in f:
                        self.fail(f"{name} (appended by h5py)", f"child {n!r} not found by name")
                if len(f.attrs["appended_config"]) != 100000:
                    self.fail(f"{name} (appended by h5py)", "long attribute lost")
            r = subprocess.run(["h5dump", cp], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if r.returncode != 0 or r.stderr.strip():
                self.fail(f"{name} (appended by h5py)", f"h5dump exit {r.returncode}: {r.stderr.decode(errors='replace')[:500]}")

    def check_source(self, name, h5path, desc):
        if not os.path.exists(desc["source"]):
            print(f"  (source {desc['source']} absent, not compared)")
            return

        def same(where, a, b):
            a, b = np.asarray(a), np.asarray(b)
            if a.shape != b.shape or a.dtype.kind != b.dtype.kind or a.dtype.itemsize != b.dtype.itemsize:
                return self.fail(where, f"copy has {b.dtype}{b.shape}, original {a.dtype}{a.shape}")
            if a.dtype.kind == "f":
                ok = np.array_equal(a, b, equal_nan=True)
            elif a.dtype.kind == "O":
                ok = [x.decode() if isinstance(x, bytes) else x for x in a.ravel()] == [
                    x.decode() if isinstance(x, bytes) else x for x in b.ravel()]
            else:
                ok = np.array_equal(a, b)
            if not ok:
                self.fail(where, "copy's values differ from the original's")

        with h5py.File(desc["source"], "r") as src, h5py.File(h5path, "r") as cp:
            for o in desc["objects"]:
                where = f"{name}:{o['path']} (vs original)"
                if o["kind"] == "dataset":
                    same(where, src[o["path"]][()], cp[o["path"]][()])
                for a in o["attrs"]:
                    if a["name"] in src[o["path"]].attrs:
                        same(f"{where} attribute {a['name']!r}", src[o["path"]].attrs[a["name"]], cp[o["path"]].attrs[a["name"]])
                    elif not (a["name"] == "dtype" and o["kind"] == "dataset"):
                        self.fail(where, f"attribute {a['name']!r} is not in the original")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if shutil.which("h5dump") is None:
        sys.exit("check_h5_written: h5dump not found (apt-get install hdf5-tools)")
    files = sorted(glob.glob(os.path.join(sys.argv[1], "*.h5")))
    if not files:
        sys.exit(f"check_h5_written: no .h5 files in {sys.argv[1]}")
    c = Checker()
    for p in files:
        jp = p[:-3] + ".json"
        if not os.path.exists(jp):
            c.fail(os.path.basename(p), "no .json description beside it")
            continue
        with open(jp, encoding="utf-8") as fh:
            desc = json.load(fh)
        before = len(c.errors)
        try:
            c.check_file(p, desc)
        except Exception as e:  # an unreadable file is a failure, not a crash
            c.fail(os.path.basename(p), f"{type(e).__name__}: {e}")
        status = "ok" if len(c.errors) == before else "FAIL"
        print(f"{status} {os.path.basename(p)} ({len(desc['objects'])} objects)")
    for e in c.errors:
        print("  " + e)
    if c.errors:
        print(f"check_h5_written: {len(c.errors)} problem(s)")
        sys.exit(1)
    print(f"check_h5_written: {len(files)} file(s) match")


if __name__ == "__main__":
    main()
