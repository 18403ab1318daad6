"""End-to-end comparison for `make bench-e2e` (run by bench/e2e.sh in the
virtualenv of bench/venv-e2e.sh).

Builds the models of issue 14 with the pinned Keras (seeded, weights=None)
into a cache folder, exports each to ONNX with tf2onnx, then times kerasrun
(bench/e2e, GOMAXPROCS=1), TensorFlow (tf.function, one intra- and one
inter-op thread) and onnxruntime (one thread) on the same .keras file and the
same input. Every measurement is its own process pinned with taskset to one
core; engines alternate A B C A B C over the rounds. Prints, per model and
batch size, the median time per call (p50/p90/p99 at batch 1), samples/s at
batch 32, load time, first call, peak RSS, the ratio other/kerasrun (above 1:
kerasrun faster) and the largest difference of the outputs against Keras's
own output (TensorFlow eager, computed at build time).

    python bench/e2e.py --kerasrun-bin /tmp/e2e --rounds 2 [--models mlp,cnn]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

MODELS = ["mlp", "cnn", "lstm", "gru", "resnet50", "mobilenetv2", "efficientnetb0", "transformer"]
LABELS = {
    "mlp": "MLP 784-512-512-10",
    "cnn": "tutorial CNN (MNIST)",
    "lstm": "Embedding+LSTM(128), seq 128",
    "gru": "Embedding+GRU(128), seq 128",
    "resnet50": "ResNet50 224",
    "mobilenetv2": "MobileNetV2 224",
    "efficientnetb0": "EfficientNetB0 224",
    "transformer": "2-layer Transformer encoder, seq 64, d 128",
}
BATCHES = [1, 32]
VERSION = "1"  # bump when a model definition changes: the cache is keyed by it


def build(name):
    import keras
    from keras import layers

    keras.utils.set_random_seed(14)
    if name == "mlp":
        m = keras.Sequential([keras.Input((784,)), layers.Dense(512, activation="relu"),
                              layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")])
        x = np.random.default_rng(1).standard_normal((32, 784)).astype(np.float32)
    elif name == "cnn":
        m = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                              layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"),
                              layers.MaxPooling2D(2), layers.Flatten(), layers.Dropout(0.5),
                              layers.Dense(10, activation="softmax")])
        x = np.random.default_rng(1).random((32, 28, 28, 1)).astype(np.float32)
    elif name in ("lstm", "gru"):
        rnn = layers.LSTM(128) if name == "lstm" else layers.GRU(128)
        m = keras.Sequential([keras.Input((128,)), layers.Embedding(10000, 128), rnn,
                              layers.Dense(1, activation="sigmoid")])
        x = np.random.default_rng(1).integers(0, 10000, (32, 128)).astype(np.float32)
    elif name == "transformer":
        inp = keras.Input((64, 128))
        h = inp
        for _ in range(2):
            a = layers.MultiHeadAttention(num_heads=4, key_dim=32)(h, h)
            h = layers.LayerNormalization()(layers.Add()([h, a]))
            f = layers.Dense(128)(layers.Dense(512, activation="relu")(h))
            h = layers.LayerNormalization()(layers.Add()([h, f]))
        out = layers.Dense(10)(layers.GlobalAveragePooling1D()(h))
        m = keras.Model(inp, out)
        x = np.random.default_rng(1).standard_normal((32, 64, 128)).astype(np.float32)
    else:
        ctor = {"resnet50": keras.applications.ResNet50, "mobilenetv2": keras.applications.MobileNetV2,
                "efficientnetb0": keras.applications.EfficientNetB0}[name]
        m = ctor(weights=None, input_shape=(224, 224, 3))
        x = np.random.default_rng(1).random((32, 224, 224, 3)).astype(np.float32) * 255.0
        if name != "efficientnetb0":  # EfficientNet rescales inside the model
            x = x / 127.5 - 1.0
    return m, x.astype(np.float32)


def prepare(name, root):
    """Writes root/name.keras, name.x.npy, name.want.npy and name.onnx (or name.onnx.err)."""
    path = os.path.join(root, name + ".keras")
    if os.path.exists(path + ".done"):
        return
    import tensorflow as tf

    m, x = build(name)
    m.save(path)
    np.save(os.path.join(root, name + ".x.npy"), x)
    np.save(os.path.join(root, name + ".want.npy"), np.asarray(m(x, training=False)))
    try:
        import tf2onnx

        spec = (tf.TensorSpec((None,) + x.shape[1:], tf.float32, name="x"),)
        fn = tf.function(lambda t: m(t, training=False))
        tf2onnx.convert.from_function(fn, input_signature=spec, opset=17,
                                      output_path=os.path.join(root, name + ".onnx"))
    except Exception as e:  # recorded; onnxruntime is then left out for this model
        with open(os.path.join(root, name + ".onnx.err"), "w") as f:
            f.write(f"{type(e).__name__}: {e}\n")
    open(path + ".done", "w").close()


def rss_mb():
    """VmHWM in MB (ru_maxrss would carry the parent's peak across fork and exec)."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def time_calls(call, x, budget, min_calls):
    res = {}
    y = None
    for b in BATCHES:
        xb = np.ascontiguousarray(x[:b])
        t = time.perf_counter()
        y = call(xb)
        first = time.perf_counter() - t
        times = []
        start = time.perf_counter()
        while len(times) < min_calls or time.perf_counter() - start < budget:
            t = time.perf_counter()
            y = call(xb)
            times.append(time.perf_counter() - t)
        res[str(b)] = {"first_s": first, "times_s": times}
    return res, y


def worker(engine, root, name, budget, min_calls, out):
    x = np.load(os.path.join(root, name + ".x.npy"))
    if engine == "tf":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        import keras

        t = time.perf_counter()
        m = keras.saving.load_model(os.path.join(root, name + ".keras"))
        load = time.perf_counter() - t
        fn = tf.function(lambda v: m(v, training=False), reduce_retracing=True)
        call = lambda v: fn(tf.constant(v)).numpy()
    else:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        t = time.perf_counter()
        sess = ort.InferenceSession(os.path.join(root, name + ".onnx"), so, providers=["CPUExecutionProvider"])
        load = time.perf_counter() - t
        iname = sess.get_inputs()[0].name
        call = lambda v: sess.run(None, {iname: v})[0]
    batches, y = time_calls(call, x, budget, min_calls)
    np.save(out, np.asarray(y))
    print(json.dumps({"engine": engine, "load_s": load, "batches": batches, "rss_mb": rss_mb()}))


def measure(engine, args, name, root):
    out = os.path.join(root, f"{name}.{engine}.out.npy")
    env = dict(os.environ, GOMAXPROCS="1", OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="3")
    if engine == "kerasrun":
        cmd = [args.kerasrun_bin, "-model", os.path.join(root, name + ".keras"),
               "-input", os.path.join(root, name + ".x.npy"), "-batches", ",".join(map(str, BATCHES)),
               "-budget", f"{args.budget}s", "-min", str(args.min_calls), "-out", out]
    else:
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", engine, "--root", root,
               "--models", name, "--budget", str(args.budget), "--min-calls", str(args.min_calls), "--out", out]
    p = subprocess.run(["taskset", "-c", args.cpu] + cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        tail = (p.stderr.strip().splitlines() or ["?"])[-1]
        print(f"  {name} {engine}: failed: {tail}", file=sys.stderr)
        return None
    r = json.loads(p.stdout.strip().splitlines()[-1])
    want = np.load(os.path.join(root, name + ".want.npy"))
    got = np.load(out).reshape(want.shape)
    r["maxdiff"] = float(np.max(np.abs(got - want)))
    r["agree"] = bool(np.all(np.abs(got - want) <= args.atol + args.rtol * np.abs(want)))
    return r


def pct(v, q):
    return float(np.percentile(np.asarray(v), q))


def report(results, names, root):
    engines = ["kerasrun", "tf", "ort"]
    print(f"\n| model | batch | kerasrun | TF tf.function | onnxruntime | TF / kerasrun | ORT / kerasrun |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        for b in map(str, BATCHES):
            med = {}
            for e in engines:
                ts = [t for r in results[name][e] for t in r["batches"][b]["times_s"]]
                med[e] = float(np.median(ts)) if ts else None
            cell = lambda e: "failed" if med[e] is None else (
                f"{med[e]*1e3:.2f} ms" if b == "1" else f"{int(b)/med[e]:.0f} samples/s")
            ratio = lambda e: "-" if med[e] is None or med["kerasrun"] is None else f"{med[e]/med['kerasrun']:.2f}x"
            print(f"| {LABELS[name]} | {b} | {cell('kerasrun')} | {cell('tf')} | {cell('ort')} | {ratio('tf')} | {ratio('ort')} |")
    print("\nbatch 1 p50/p90/p99 (ms), load (s), first call at batch 1 (ms), peak RSS (MB), max |output - Keras| at batch 32:")
    for name in names:
        for e in engines:
            rs = results[name][e]
            if not rs:
                err = os.path.join(root, name + ".onnx.err")
                why = open(err).read().strip()[:120] if e == "ort" and os.path.exists(err) else "failed"
                print(f"  {name:15s} {e:9s} {why}")
                continue
            ts = [t * 1e3 for r in rs for t in r["batches"]["1"]["times_s"]]
            print(f"  {name:15s} {e:9s} p50 {pct(ts,50):9.2f} p90 {pct(ts,90):9.2f} p99 {pct(ts,99):9.2f}"
                  f"  load {min(r['load_s'] for r in rs):6.3f}  first {min(r['batches']['1']['first_s'] for r in rs)*1e3:9.1f}"
                  f"  rss {max(r['rss_mb'] for r in rs):7.0f}  diff {max(r['maxdiff'] for r in rs):.2e}"
                  f"{'' if all(r['agree'] for r in rs) else '  DISAGREES'}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kerasrun-bin")
    ap.add_argument("--root", default=os.path.join(os.environ.get("KERASRUN_CACHE", os.path.expanduser("~/.cache/kerasrun")), "e2e-models-v" + VERSION))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--budget", type=float, default=2.0, help="seconds of timed calls per batch size and process")
    ap.add_argument("--min-calls", type=int, default=3)
    ap.add_argument("--cpu", default="1", help="taskset CPU list")
    ap.add_argument("--atol", type=float, default=1e-4)
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--worker")
    ap.add_argument("--out")
    args = ap.parse_args()
    names = args.models.split(",")
    if args.worker:
        worker(args.worker, args.root, names[0], args.budget, args.min_calls, args.out)
        return
    os.makedirs(args.root, exist_ok=True)
    for name in names:
        print(f"preparing {name}", file=sys.stderr, flush=True)
        prepare(name, args.root)
    results = {n: {"kerasrun": [], "tf": [], "ort": []} for n in names}
    for r in range(args.rounds):
        for name in names:
            for e in ["kerasrun", "tf", "ort"]:
                if e == "ort" and not os.path.exists(os.path.join(args.root, name + ".onnx")):
                    continue
                res = measure(e, args, name, args.root)
                if res:
                    results[name][e].append(res)
        print(f"round {r + 1} done", file=sys.stderr, flush=True)
    import platform
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    print(f"\n{time.strftime('%Y-%m-%d')}, {cpu}, taskset -c {args.cpu}, one thread each, {args.rounds} alternating rounds")
    report(results, names, args.root)


if __name__ == "__main__":
    main()
