"""Writes the HDF5 reader's test corpus: small files covering every feature
the h5 package reads, each with a JSON file describing its exact content as
h5py reads it (every group, dataset shape/dtype/values and attribute).

Usage: python h5corpus.py [outdir]   (default: h5/testdata/corpus)

Float values are recorded as their IEEE bit patterns (uint16/32/64) so the
Go test compares them exactly. Files that the reader must refuse get a JSON
with "expect_error" instead of (or besides) content.
"""

import json
import os
import sys

import h5py
import ml_dtypes
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "h5", "testdata", "corpus")


# ---------------------------------------------------------------- description

def type_info(tid, dtype, bf16=False):
    """Returns the Go DType the reader must report for an HDF5 type."""
    cls = tid.get_class()
    if cls == h5py.h5t.ARRAY:
        return type_info(tid.get_super(), dtype.subdtype[0] if dtype.subdtype else dtype)
    if cls == h5py.h5t.STRING:
        vlen = tid.is_variable_str()
        return {"kind": "string", "size": 0 if vlen else tid.get_size(), "vlen": bool(vlen),
                "utf8": tid.get_cset() == h5py.h5t.CSET_UTF8, "tag": ""}
    if cls == h5py.h5t.OPAQUE:
        if bf16:
            return {"kind": "bfloat16", "size": 2, "vlen": False, "utf8": False, "tag": ""}
        return {"kind": "opaque", "size": tid.get_size(), "vlen": False, "utf8": False,
                "tag": tid.get_tag().decode()}
    if cls == h5py.h5t.ENUM:
        if dtype == np.dtype(bool):
            return {"kind": "bool", "size": 1, "vlen": False, "utf8": False, "tag": ""}
        return type_info(tid.get_super(), h5py.check_enum_dtype(dtype) and dtype)
    kind = np.dtype(dtype).newbyteorder("=").name
    return {"kind": kind, "size": tid.get_size(), "vlen": False, "utf8": False, "tag": ""}


def values(arr, info):
    """Flattens a numpy value to JSON: float bits, ints, bools, strings, hex."""
    kind = info["kind"]
    if isinstance(arr, h5py.Empty):
        return []
    a = np.asarray(arr)
    if a.dtype.kind == "O" or a.dtype.kind in "SU":
        out = []
        for x in a.reshape(-1):
            if isinstance(x, bytes):
                x = x.decode("utf-8")
            out.append(str(x))
        return out
    if kind == "opaque":
        return [bytes(x).hex() for x in a.reshape(-1)]
    if kind == "bfloat16":
        return [int(x) for x in a.reshape(-1).view(np.uint16)]
    a = a.astype(a.dtype.newbyteorder("="))
    if kind in ("float16", "float32", "float64"):
        view = {"float16": np.uint16, "float32": np.uint32, "float64": np.uint64}[kind]
        return [int(x) for x in a.reshape(-1).view(view)]
    if kind == "bool":
        return [bool(x) for x in a.reshape(-1)]
    return [int(x) for x in a.reshape(-1)]


def describe_attrs(obj):
    out = {}
    for name in obj.attrs.keys():
        aid = h5py.h5a.open(obj.id, name.encode("utf-8"))
        tid = aid.get_type()
        val = obj.attrs[name]
        space = aid.get_space()
        if space.get_simple_extent_type() == h5py.h5s.NULL:
            shape = [0]
        else:
            shape = list(aid.shape)
        dt = aid.dtype
        if dt.subdtype:
            shape += list(dt.subdtype[1])
        info = type_info(tid, dt)
        out[name] = {"shape": shape, "dtype": info, "data": values(val, info)}
    return out


def describe(f):
    objects = {}
    seen = {}

    def walk(g, path):
        children = list(g.keys())
        objects[path] = {"type": "group", "children": children, "attrs": describe_attrs(g),
                         "attr_names": list(g.attrs.keys())}
        seen[h5py.h5o.get_info(g.id).addr] = path
        for name in children:
            p = path.rstrip("/") + "/" + name
            lnk = g.get(name, getlink=True)
            if isinstance(lnk, h5py.SoftLink):
                target = g.get(name)
                objects[p] = {"type": "softlink", "target": lnk.path, "resolves_to": None}
                if target is not None:
                    targets[p] = h5py.h5o.get_info(target.id).addr
                continue
            if isinstance(lnk, h5py.ExternalLink):
                objects[p] = {"type": "externallink", "target": lnk.path}
                continue
            obj = g[name]
            addr = h5py.h5o.get_info(obj.id).addr
            if addr in seen:
                objects[p] = {"type": "hardlink", "same_as": seen[addr]}
                continue
            if isinstance(obj, h5py.Group):
                walk(obj, p)
                continue
            seen[addr] = p
            tid = obj.id.get_type()
            bf16 = "dtype" in obj.attrs and obj.attrs["dtype"] == "bfloat16"
            info = type_info(tid, obj.dtype, bf16)
            shape = list(obj.shape) if obj.shape is not None else [0]
            if obj.dtype.subdtype:
                shape += list(obj.dtype.subdtype[1])
            data = obj[()] if obj.shape is not None else h5py.Empty(obj.dtype)
            objects[p] = {"type": "dataset", "shape": shape, "dtype": info,
                          "data": values(data, info), "attrs": describe_attrs(obj),
                          "attr_names": list(obj.attrs.keys())}

    targets = {}
    walk(f, "/")
    for p, addr in targets.items():
        objects[p]["resolves_to"] = seen[addr]
    return objects


def finish(name, expect_error=None, describe_content=True):
    path = os.path.join(OUT, name)
    doc = {"file": name}
    if describe_content:
        with h5py.File(path, "r") as f:
            doc["objects"] = describe(f)
    if expect_error:
        doc["expect_error"] = expect_error
    with open(path + ".json", "w") as fp:
        json.dump(doc, fp, indent=1, sort_keys=True, ensure_ascii=False)
        fp.write("\n")


# ---------------------------------------------------------------- content

def low_level_string(g, name, data, size, pad, cset=h5py.h5t.CSET_ASCII):
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(size)
    tid.set_strpad(pad)
    tid.set_cset(cset)
    sid = h5py.h5s.create_simple((len(data),))
    dsid = h5py.h5d.create(g.id, name.encode(), tid, sid)
    if pad == h5py.h5t.STR_SPACEPAD:
        data = [x.ljust(size, b" ") for x in data]
    buf = np.array(data, dtype="S%d" % size)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, buf, mtype=tid)


def compact_dataset(g, name, data):
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    tid = h5py.h5t.py_create(data.dtype)
    sid = h5py.h5s.create_simple(data.shape)
    dsid = h5py.h5d.create(g.id, name.encode(), tid, sid, dcpl=dcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(data))


def basic_content(f):
    rng = np.random.default_rng(7)
    f.attrs["keras_version"] = "3.15.1"
    f.attrs["backend"] = "tensorflow"
    f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"layers": []}})
    f.attrs["fixed_ascii"] = np.bytes_("fixed")
    f.attrs["int_scalar"] = np.int64(-42)
    f.attrs["float_list"] = np.array([1.5, -2.25, np.inf, np.nan], dtype="f8")
    f.attrs["empty_f64"] = np.zeros((0,), dtype="f8")
    f.attrs["null_space"] = h5py.Empty("f4")
    f.attrs["bool_attr"] = np.bool_(True)
    f.attrs["names"] = np.array([b"dense", b"dense_1", b"batch_normalization"])
    f.attrs["utf8_list"] = np.array(["α", "βγ", "ascii"], dtype=h5py.string_dtype("utf-8"))
    f.attrs["str_2d"] = np.array([[b"a", b"bb", b"ccc"], [b"dd", b"e", b""]])

    d = f.create_group("dtypes")
    for t in ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8",
              ">i2", ">i4", ">i8", ">u4", ">f2", ">f4", ">f8"]:
        dt = np.dtype(t)
        if dt.kind == "f":
            v = (rng.standard_normal(6) * 100).astype(dt)
            v[0] = -0.0
        else:
            info = np.iinfo(dt)
            v = np.array([info.min, info.max, 0, 1, info.max // 3, info.min // 7 if info.min else 5], dtype=dt)
        name = ("be_" if t.startswith(">") else "") + dt.newbyteorder("=").name
        d.create_dataset(name, data=v.reshape(2, 3))
    d.create_dataset("bool", data=np.array([True, False, True, True]))
    d.create_dataset("enum_i2", data=np.array([0, 2, 1], dtype="i2"),
                     dtype=h5py.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 2}, basetype="i2"))
    d.create_dataset("vlen_ascii", data=np.array([b"a", b"bc", b""], dtype=object),
                     dtype=h5py.string_dtype("ascii"))
    d.create_dataset("vlen_utf8", data=["héllo", "wörld", "日本語"], dtype=h5py.string_dtype("utf-8"))
    d.create_dataset("fixed_nullpad", data=np.array([b"kernel", b"bias", b""]))
    d.create_dataset("fixed_utf8", data=np.array(["é".encode(), b"ab"], dtype=h5py.string_dtype("utf-8", 4)))
    low_level_string(d, "fixed_nullterm", [b"abc", b"de"], 6, h5py.h5t.STR_NULLTERM)
    low_level_string(d, "fixed_spacepad", [b"abc", b"de"], 6, h5py.h5t.STR_SPACEPAD)
    d.create_dataset("str_2d", data=np.array([[b"a", b"bb"], [b"ccc", b"d"]]))
    d.create_dataset("opaque", data=np.array([b"\x01\x02\x03", b"\xff\x00\x10"], dtype="V3"))
    bf = d.create_dataset("bfloat16", data=np.array([1.0, -2.5, 3.140625, 0], dtype=ml_dtypes.bfloat16))
    bf.attrs["dtype"] = "bfloat16"
    tid = h5py.h5t.array_create(h5py.h5t.IEEE_F32LE, (3,))
    dsid = h5py.h5d.create(d.id, b"array_f4", tid, h5py.h5s.create_simple((2, 2)))
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(12, dtype="f4").reshape(2, 2, 3), mtype=tid)
    tid = h5py.h5t.array_create(h5py.h5t.STD_I16LE, (2, 3))
    aid = h5py.h5a.create(f.id, b"array_dtype", tid, h5py.h5s.create(h5py.h5s.SCALAR))
    aid.write(np.arange(6, dtype="i2").reshape(2, 3), mtype=tid)
    d.create_dataset("scalar_f4", data=np.float32(3.25))
    d.create_dataset("scalar_str", data="a scalar string", dtype=h5py.string_dtype("utf-8"))
    d.create_dataset("empty_f4", data=np.zeros((0,), dtype="f4"))
    d.create_dataset("empty_2d", data=np.zeros((3, 0), dtype="i4"))
    d.create_dataset("null_space", data=h5py.Empty("f8"))
    d.create_dataset("fill_unwritten", shape=(2, 3), dtype="i4", fillvalue=7)
    d.create_dataset("fill_f4_unwritten", shape=(4,), dtype="f4", fillvalue=-1.5)
    compact_dataset(d, "compact_f8", np.linspace(0, 1, 5))
    compact_dataset(d, "compact_i1", np.array([[1, -2], [3, -4]], dtype="i1"))

    m = f.create_group("model_weights")
    m.attrs["layer_names"] = np.array([b"dense", "ünïcode".encode()])
    m.attrs["backend"] = "tensorflow"
    dense = m.create_group("dense/dense")
    k = dense.create_dataset("kernel:0", data=rng.standard_normal((4, 3)).astype("f4"))
    k.attrs["note"] = "weights"
    dense.create_dataset("bias:0", data=np.zeros(3, dtype="f4"))
    m["dense"].attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])
    u = m.create_group("ünïcode")
    u.attrs["weight_names"] = np.zeros((0,), dtype="f8")
    u.create_dataset("名前", data=np.array([1, 2], dtype="i8"))
    f["links/soft_abs"] = h5py.SoftLink("/model_weights/dense/dense/kernel:0")
    f["links/soft_rel"] = h5py.SoftLink("../dtypes")
    f["links/soft_group"] = h5py.SoftLink("/model_weights")
    f["links/dangling"] = h5py.SoftLink("/does/not/exist")
    f["links/hard"] = f["dtypes/float32"]


def chunked_content(f, latest=False):
    rng = np.random.default_rng(11)
    if latest:
        # More than 1024 chunks: the fixed-array index is paged.
        f.create_dataset("paged_fixed_array", data=(np.arange(2100) % 251).astype("u1"), chunks=(1,))
    a = rng.standard_normal((37, 23)).astype("f4")
    f.create_dataset("gzip_shuffle_fletcher", data=a, chunks=(8, 5), compression="gzip",
                     shuffle=True, fletcher32=True)
    f.create_dataset("gzip", data=np.arange(1000, dtype="i8"), chunks=(100,), compression="gzip",
                     compression_opts=9)
    f.create_dataset("shuffle_i2", data=np.arange(-50, 50, dtype="i2").reshape(10, 10), chunks=(3, 4), shuffle=True)
    f.create_dataset("fletcher_f8", data=np.linspace(-1, 1, 31), chunks=(7,), fletcher32=True)
    f.create_dataset("plain_chunked_3d", data=np.arange(4 * 5 * 6, dtype="u2").reshape(4, 5, 6), chunks=(2, 3, 4))
    f.create_dataset("many_chunks", data=np.arange(300, dtype="i4"), chunks=(1,))
    p = f.create_dataset("partial_fill", shape=(10, 10), dtype="f4", chunks=(4, 4), fillvalue=2.5)
    p[0:4, 0:4] = 1
    p[8:10, 8:10] = 3
    f.create_dataset("chunked_vlen_str", data=np.array(["x", "yy", "zzz", "w"], dtype=object),
                     dtype=h5py.string_dtype("utf-8"), chunks=(2,), compression="gzip")
    f.create_dataset("chunked_fixed_str", data=np.array([b"ab", b"cde", b"f"]), chunks=(2,), shuffle=True)
    f.create_dataset("chunked_bool", data=np.array([True, False] * 10), chunks=(6,), compression="gzip")
    e = f.create_dataset("unlimited_1d", data=np.arange(50, dtype="f8"), maxshape=(None,), chunks=(4,),
                         compression="gzip")
    e.attrs["what"] = "extensible array index with libver latest"
    f.create_dataset("unlimited_2d", data=np.arange(60, dtype="i4").reshape(6, 10), maxshape=(None, None),
                     chunks=(4, 4))
    f.create_dataset("single_chunk", data=np.arange(20, dtype="f4").reshape(4, 5), chunks=(4, 5),
                     compression="gzip")
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((3,))
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    tid = h5py.h5t.py_create(np.dtype("i4"))
    dsid = h5py.h5d.create(f.id, b"early_alloc", tid, h5py.h5s.create_simple((10,)), dcpl=dcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(10, dtype="i4") * 3)


def many_children(f, n=1100):
    g = f.create_group("many")
    target = f.create_dataset("target", data=np.array([1, 2, 3], dtype="i1"))
    for i in range(n):
        g["child_%04d" % i] = target
    g.create_dataset("real_dataset", data=np.array([9.5], dtype="f4"))
    g.create_group("real_group").attrs["x"] = 1


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        os.remove(os.path.join(OUT, old))

    for libver in ("earliest", "latest"):
        name = "basic_%s.h5" % libver
        with h5py.File(os.path.join(OUT, name), "w", libver=libver) as f:
            basic_content(f)
        finish(name)
        name = "chunked_%s.h5" % libver
        with h5py.File(os.path.join(OUT, name), "w", libver=libver) as f:
            chunked_content(f, latest=libver == "latest")
        finish(name)
        name = "many_children_%s.h5" % libver
        with h5py.File(os.path.join(OUT, name), "w", libver=libver) as f:
            many_children(f)
        finish(name)

    # Tiny files: good fuzzing seeds (the fuzzer mutates small inputs best).
    for libver in ("earliest", "latest"):
        name = "tiny_%s.h5" % libver
        with h5py.File(os.path.join(OUT, name), "w", libver=libver) as f:
            f.attrs["s"] = "v"
            d = f.create_dataset("d", data=np.array([1.5, -2], dtype="f4"))
            d.attrs["n"] = np.array([b"ab"])
            f.create_dataset("c", data=np.arange(6, dtype="i2"), chunks=(4,), compression="gzip",
                             shuffle=True, fletcher32=True)
        finish(name)
    name = "tiny_dense_latest.h5"
    with h5py.File(os.path.join(OUT, name), "w", libver="latest") as f:
        for i in range(9):
            f.create_group("g%d" % i)
            f.attrs["a%d" % i] = i
    finish(name)

    # Superblock v2 (HDF5 1.8 format) and a 512-byte user block.
    name = "v108_userblock.h5"
    with h5py.File(os.path.join(OUT, name), "w", libver=("v108", "v108"), userblock_size=512) as f:
        f["x"] = np.arange(5, dtype="f4")
        f.attrs["a"] = "v108"
        f.create_group("g").create_dataset("y", data=np.arange(6, dtype="i2").reshape(2, 3), chunks=(1, 3))
    finish(name)

    # Superblock v1 needs a non-default indexed-storage K, which h5py does
    # not expose (no set_istore_k): v1 is decoded by the same code as v0.

    # Dense attribute storage: many attributes and one over 64 KiB.
    name = "dense_attrs_latest.h5"
    with h5py.File(os.path.join(OUT, name), "w", libver="latest") as f:
        g = f.create_group("layer")
        for i in range(20):
            g.attrs["attr_%02d" % i] = np.arange(i + 1, dtype="i4")
        big = np.array([("layer_%05d" % i).encode() for i in range(7000)])
        f.attrs["layer_names"] = big
        f.attrs["small"] = "s"
        d = f.create_dataset("d", data=np.arange(3, dtype="f4"))
        for i in range(12):
            d.attrs["a%02d" % i] = float(i)
    finish(name)

    # Keras's split form for attributes over 64 KiB in earliest-format files.
    name = "split_attrs_earliest.h5"
    with h5py.File(os.path.join(OUT, name), "w") as f:
        names = [("layer_%05d" % i).encode() for i in range(7000)]
        f.attrs["layer_names0"] = np.array(names[:3500])
        f.attrs["layer_names1"] = np.array(names[3500:])
    finish(name)

    # Creation order tracking.
    name = "track_order.h5"
    with h5py.File(os.path.join(OUT, name), "w", track_order=True) as f:
        for n in ["zeta", "alpha", "mu"]:
            f.create_group(n)
        for n in ["z", "a", "m"]:
            f.attrs[n] = n
        g = f.create_group("dense_order", track_order=True)
        for i in range(12):
            g.create_group("g%02d" % (11 - i))
    finish(name)

    # Hard-link cycle: a group containing its parent.
    name = "hardlink_cycle.h5"
    with h5py.File(os.path.join(OUT, name), "w") as f:
        g = f.create_group("a/b")
        g["up"] = f["a"]
        g.create_dataset("d", data=np.arange(2, dtype="i4"))
    finish(name)

    # Files the reader must refuse, naming the feature.
    name = "unsupported_external_link.h5"
    with h5py.File(os.path.join(OUT, name), "w") as f:
        f["ext"] = h5py.ExternalLink("other.h5", "/x")
        f["ok"] = np.arange(2)
    finish(name, {"path": "/ext", "kind": "unsupported", "contains": "external link"}, describe_content=False)

    name = "unsupported_compound.h5"
    with h5py.File(os.path.join(OUT, name), "w") as f:
        f["c"] = np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")])
    finish(name, {"path": "/c", "kind": "unsupported", "contains": "compound"}, describe_content=False)

    name = "unsupported_external_storage.h5"
    with h5py.File(os.path.join(OUT, name), "w") as f:
        f.create_dataset("e", shape=(4,), dtype="f4", external=[("raw.bin", 0, 16)])
    finish(name, {"path": "/e", "kind": "unsupported", "contains": "external storage"}, describe_content=False)

    name = "unsupported_scaleoffset.h5"
    with h5py.File(os.path.join(OUT, name), "w") as f:
        f.create_dataset("s", data=np.arange(10, dtype="i4"), chunks=(5,), scaleoffset=0)
    finish(name, {"path": "/s", "kind": "unsupported", "contains": "scaleoffset"}, describe_content=False)

    name = "unsupported_virtual.h5"
    with h5py.File(os.path.join(OUT, name), "w", libver="latest") as f:
        f["src"] = np.arange(4, dtype="i4")
        layout = h5py.VirtualLayout(shape=(4,), dtype="i4")
        layout[:] = h5py.VirtualSource(f["src"])
        f.create_virtual_dataset("v", layout)
    finish(name, {"path": "/v", "kind": "unsupported", "contains": "virtual"}, describe_content=False)

    # Valid HDF5 the reader refuses as malformed: a size bomb and link cycles.
    name = "huge_declared.h5"
    with h5py.File(os.path.join(OUT, name), "w") as f:
        f.create_dataset("huge", shape=(10**12,), dtype="f4")
    finish(name, {"path": "/huge", "kind": "format", "contains": "more than a"}, describe_content=False)

    name = "soft_cycle.h5"
    with h5py.File(os.path.join(OUT, name), "w") as f:
        f["a"] = h5py.SoftLink("/b")
        f["b"] = h5py.SoftLink("/a")
        f["self"] = h5py.SoftLink("self")
    finish(name, {"path": "/a", "kind": "format", "contains": "too many levels of soft links"},
           describe_content=False)

    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print("wrote %d files, %d bytes, to %s" % (len(os.listdir(OUT)), total, OUT))


if __name__ == "__main__":
    main()
