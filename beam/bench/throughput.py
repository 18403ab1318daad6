"""Times scoring one .npy file of samples with a Keras model, the Python
side of beam/bench/bench.sh: --mode=loop calls the Keras model on each
batch in a plain loop (what TFModelHandlerNumpy does per batch), --mode=beam
runs read -> RunInference(TFModelHandlerNumpy) -> count on Beam's default
runner (the in-process DirectRunner), timed from run() to completion.
Prints one line: mode, samples, seconds, samples/s."""

import argparse
import time

import apache_beam as beam
import numpy as np
from apache_beam.ml.inference.base import RunInference
from apache_beam.ml.inference.tensorflow_inference import TFModelHandlerNumpy
from apache_beam.options.pipeline_options import PipelineOptions


def read_rows(path):
    return list(np.load(path))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--mode", choices=["loop", "beam"], default="loop")
    ap.add_argument("--batch", type=int, default=32)
    a = ap.parse_args()
    if a.mode == "loop":
        import keras

        model = keras.models.load_model(a.model)
        x = np.load(a.data)
        start = time.perf_counter()
        for i in range(0, len(x), a.batch):
            model(x[i : i + a.batch])
        d = time.perf_counter() - start
        n = len(x)
    else:
        handler = TFModelHandlerNumpy(a.model, min_batch_size=a.batch, max_batch_size=a.batch)
        p = beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"]))
        counted = (
            p
            | beam.Create([a.data])
            | beam.FlatMap(read_rows)
            | RunInference(handler)
            | beam.combiners.Count.Globally()
        )
        del counted
        start = time.perf_counter()
        res = p.run()
        res.wait_until_finish()
        d = time.perf_counter() - start
        n = 0
        for c in res.metrics().query()["counters"]:
            if c.key.metric.name == "num_inferences":
                n += c.committed if c.committed is not None else c.attempted
    print(f"py-{a.mode}\t{n}\t{d:.3f}\t{n / d:.0f}")


if __name__ == "__main__":
    main()
