"""Times Keras 3 (TensorFlow CPU) model.fit on the tutorial CNN: samples/s.

Usage: python bench/train_tf.py MODEL.keras [--samples 256] [--batch 32] [--epochs 3]

The same workload as BenchmarkFitTutorialCNN in fit_test.go: uniform random
32x32x3 inputs, sparse integer targets, batch 32, one warm-up epoch (tracing and
compiling the train step) then timed epochs. TensorFlow uses its default
thread pools (all cores), as a user's model.fit would.
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import keras  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    model = keras.saving.load_model(args.model)
    rng = np.random.default_rng(1)
    x = rng.random((args.samples, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, size=args.samples).astype(np.float32)  # sparse labels
    model.fit(x, y, batch_size=args.batch, epochs=1, shuffle=False, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=args.batch, epochs=args.epochs, shuffle=False, verbose=0)
    elapsed = time.perf_counter() - start
    print(f"tensorflow {args.samples * args.epochs / elapsed:.1f} samples/s")


if __name__ == "__main__":
    main()
