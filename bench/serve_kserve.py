"""KServe's Python model server running a Keras model on TensorFlow, the
reference bench/serve.sh measures `kerasrun serve` against.

Usage: python serve_kserve.py --model_name mlp --model_file M.keras --http_port P
"""

import argparse
import os
import sys

# bench/serve.sh runs this with the Keras virtualenv's Python (TensorFlow,
# Keras) and appends KServe's own virtualenv after it.
if os.environ.get("KSERVE_SITE"):
    sys.path.append(os.environ["KSERVE_SITE"])

import numpy as np
import kserve
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer


class KerasModel(Model):
    def __init__(self, name, path):
        super().__init__(name)
        self.path = path
        self.load()

    def load(self):
        import keras

        self.model = keras.saving.load_model(self.path, compile=False)
        self.model.predict_on_batch(np.zeros((1,) + tuple(self.model.input_shape[1:]), np.float32))
        self.ready = True

    async def predict(self, payload, headers=None, response_headers=None):
        x = payload.inputs[0].as_numpy().astype(np.float32)
        y = np.asarray(self.model.predict_on_batch(x), dtype=np.float32)
        out = InferOutput(name=self.model.layers[-1].name, shape=list(y.shape), datatype="FP32")
        out.set_data_from_numpy(y, binary_data=False)
        return InferResponse(model_name=self.name, infer_outputs=[out], response_id=payload.id or "")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[kserve.model_server.parser])
    parser.add_argument("--model_file", required=True)
    args, _ = parser.parse_known_args()
    ModelServer().start([KerasModel(args.model_name, args.model_file)])
