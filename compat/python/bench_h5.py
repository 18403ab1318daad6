"""Times h5py reading the ~100 MB weights file that the Go benchmark
BenchmarkReadWeights (h5/reader_bench_test.go) reads, for a speed ratio.

Usage: python bench_h5.py [--generate] [path]
The path defaults to $H5BENCH_FILE or <tmpdir>/kerasrun-bench-weights.h5.
Run the Go benchmark first (it writes the file with the Go writer), or pass
--generate to write the same layout with h5py.
"""

import os
import sys
import tempfile
import time

import h5py
import numpy as np

LAYERS, UNITS = 25, 1000


def default_path():
    return os.environ.get("H5BENCH_FILE") or os.path.join(tempfile.gettempdir(), "kerasrun-bench-weights.h5")


def generate(path):
    with h5py.File(path, "w") as f:
        for i in range(LAYERS):
            g = f.create_group("layers/dense_%d/vars" % i)
            kernel = (np.arange(UNITS * UNITS) % 1013).astype("f4") * np.float32(0.001) - np.float32(i)
            g["0"] = kernel.reshape(UNITS, UNITS)
            g["1"] = np.zeros(UNITS, dtype="f4")


def read_all(path):
    total = 0
    with h5py.File(path, "r") as f:
        layers = f["layers"]
        for name in layers:
            for v in ("vars/0", "vars/1"):
                total += layers[name][v][()].size
    return total


def read_all_direct(path, dst):
    """Reads every weight into arrays allocated once (h5py's read_direct),
    as a model loader fills tensors that already exist."""
    total = 0
    with h5py.File(path, "r") as f:
        layers = f["layers"]
        for name in layers:
            for v in ("vars/0", "vars/1"):
                ds = layers[name][v]
                key = name + "/" + v
                if key not in dst:
                    dst[key] = np.empty(ds.shape, dtype=ds.dtype)
                ds.read_direct(dst[key])
                total += dst[key].size
    return total


def main():
    direct = "--direct" in sys.argv
    args = [a for a in sys.argv[1:] if a not in ("--generate", "--direct")]
    path = args[0] if args else default_path()
    if "--generate" in sys.argv or not os.path.exists(path):
        generate(path)
    size = os.path.getsize(path)
    dst = {}
    read = (lambda p: read_all_direct(p, dst)) if direct else read_all
    read(path)  # warm the page cache, as the Go benchmark's runs do
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        n = read(path)
        times.append(time.perf_counter() - t0)
    assert n == LAYERS * (UNITS * UNITS + UNITS), n
    best = min(times)
    med = sorted(times)[len(times) // 2]
    print("h5py %s%s: file %d bytes, best %.1f ms, median %.1f ms, %.0f MB/s (best)"
          % (h5py.__version__, " read_direct" if direct else "", size, best * 1e3, med * 1e3, size / best / 1e6))


if __name__ == "__main__":
    main()
