"""Writes testdata/plot: a CSVLogger file and plot_model's graphs from Keras 3.

Usage (with the virtualenv from venv.sh):

    python compat/python/export_plot.py [--out testdata/plot]

A small classifier trains 12 epochs on deterministic data with a
validation split; keras.callbacks.CSVLogger writes the file `kerasrun plot
history.csv` reads (epoch, accuracy, loss, val_accuracy, val_loss).

graphs.json holds, for fixture models loaded by Keras 3, the boxes and
edges keras.utils.model_to_dot makes (with and without expand_nested):
its own loop over model._operations and their inbound nodes, run here
without pydot (which the pinned environment does not install), recording
layer names instead of pydot nodes.
"""

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


MODELS = [
    "testdata/cifar_cnn/model_k3.keras",
    "testdata/func_residual/model_k3.keras",
    "testdata/func_two_io/model_k3.keras",
    "testdata/func_siamese/model_k3.keras",
    "testdata/func_in_seq/model_k3.keras",
    "testdata/seq_in_func/model_k3.keras",
    "testdata/transformer/encoder/model_k3.keras",
    "testdata/summary/models/shared_nested_mixed.keras",
    "testdata/summary/models/states_and_frozen.keras",
]


def model_to_graph(model, expand_nested, nodes, edges):
    """keras.src.utils.model_visualization.model_to_dot's nodes and edges."""
    from keras.src.models import functional, sequential
    from keras.src.ops.function import make_node_key

    def add_edge(src, dst):
        if [src.name, dst.name] not in edges:
            edges.append([src.name, dst.name])

    layers = model.layers if isinstance(model, sequential.Sequential) else model._operations
    for layer in layers:
        if expand_nested and isinstance(layer, (functional.Functional, sequential.Sequential)):
            model_to_graph(layer, expand_nested, nodes, edges)
        else:
            nodes.append(layer.name)
    if isinstance(model, sequential.Sequential):
        if not expand_nested:
            for i in range(len(layers) - 1):
                add_edge(layers[i], layers[i + 1])
            return
        layers = model.layers[1:]
    for layer in layers:
        for inbound_index, inbound_node in enumerate(layer._inbound_nodes):
            if isinstance(model, functional.Functional) and make_node_key(layer, inbound_index) not in model._nodes:
                continue
            for input_index, input_tensor in enumerate(inbound_node.input_tensors):
                history = input_tensor._keras_history
                if history.operation is None:
                    continue
                source = history.operation._inbound_nodes[history.node_index].operation
                output_index = history.tensor_index
                destination = layer
                if not expand_nested:
                    add_edge(source, layer)
                    continue
                while isinstance(source, (functional.Functional, sequential.Sequential)):
                    source, _, output_index = source.outputs[output_index]._keras_history
                while isinstance(destination, (functional.Functional, sequential.Sequential)):
                    if isinstance(destination, functional.Functional):
                        destination = destination.inputs[input_index]._keras_history.operation
                    else:
                        destination = destination.layers[0]
                add_edge(source, destination)


def export_graphs(out):
    root = os.path.normpath(os.path.join(HERE, "..", ".."))
    graphs = []
    for rel in MODELS:
        keras.backend.clear_session()
        model = keras.saving.load_model(os.path.join(root, rel))
        for expand in (False, True):
            nodes, edges = [], []
            model_to_graph(model, expand, nodes, edges)
            graphs.append({"model": rel, "expand_nested": expand, "nodes": nodes, "edges": edges})
    with open(os.path.join(out, "graphs.json"), "w") as f:
        json.dump({"keras": keras.__version__, "graphs": graphs}, f, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "testdata", "plot"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    keras.utils.set_random_seed(11)
    rng = np.random.default_rng(11)
    x = rng.normal(size=(96, 6)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int32")
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    logger = keras.callbacks.CSVLogger(os.path.join(args.out, "history.csv"))
    model.fit(x, y, epochs=12, batch_size=16, validation_split=0.25, callbacks=[logger], verbose=0)
    export_graphs(args.out)


if __name__ == "__main__":
    main()
