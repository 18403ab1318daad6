#!/usr/bin/env python3
"""Write keras2_layers.json: what tf-keras's layers accept, and Keras 3's defaults.

Usage: export_keras2_layer_args.py [OUT]   (default: kerasjson/keras2_layers.json)

Model.Save(path, Keras2Compatible()) translates a Keras 3 model config into
tf-keras's form. What tf-keras accepts is read here from tf-keras itself:

  * "tf_keras_layers": for every class in tf_keras.layers, the constructor
    argument names it accepts: the parameters of __init__ over the MRO (a
    class whose __init__ takes **kwargs passes them to its parent) plus the
    keyword arguments tf_keras's base Layer allows (name, dtype, trainable,
    batch_input_shape, input_shape, input_dim, ...) and, for a class that
    can be built without arguments, the keys of its get_config() (arguments
    __init__ pops from **kwargs);
  * "tf_keras_activations": the activation names
    tf_keras.activations.get accepts;
  * "keras3_defaults": for every class in keras.layers (Keras 3, run in a
    separate process so the two Keras packages do not meet), each
    constructor argument's default, where it is a JSON value.

The Go side drops a Keras 3 argument tf-keras does not accept when its
value is Keras 3's default, and refuses the model otherwise.
"""
import inspect
import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# tf_keras's base Layer validates these against its allowed_kwargs
# (engine/base_layer.py, Layer.__init__) besides its named parameters.
TF_KERAS_LAYER_KWARGS = ["input_dim", "input_shape", "batch_input_shape", "batch_size",
                         "weights", "activity_regularizer", "autocast", "implementation"]


def layer_classes(module):
    out = {}
    for name in dir(module):
        obj = getattr(module, name)
        if inspect.isclass(obj) and not name.startswith("_"):
            out[name] = obj
    return out


def init_params(cls):
    """Named parameters of __init__ along the MRO while **kwargs passes on."""
    names = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            sig = inspect.signature(init)
        except (TypeError, ValueError):
            break
        more = False
        for p in list(sig.parameters.values())[1:]:
            if p.kind == p.VAR_KEYWORD:
                more = True
            elif p.kind != p.VAR_POSITIONAL and p.name not in names:
                names.append(p.name)
        if not more:
            break
    return names


def tf_keras_side(candidates):
    import tf_keras
    import tf_keras.src.activations as src_activations

    base = tf_keras.layers.Layer
    layers = {}
    for name, cls in layer_classes(tf_keras.layers).items():
        if not issubclass(cls, base):
            continue
        args = init_params(cls) + TF_KERAS_LAYER_KWARGS
        try:
            # Arguments __init__ pops from **kwargs, which tf-keras writes
            # into its own configs (IntegerLookup's vocabulary_size).
            args += list(cls().get_config())
        except Exception:  # noqa: BLE001
            pass
        layers[name] = sorted(set(args))
    acts = []
    names = set(candidates) | {n for n in dir(src_activations) if not n.startswith("_")}
    for name in sorted(names - {"get", "serialize", "deserialize"}):
        try:
            fn = tf_keras.activations.get(name)
        except Exception:  # noqa: BLE001
            continue
        if callable(fn):
            acts.append(name)
    return {"tf_keras_version": tf_keras.__version__, "tf_keras_layers": layers,
            "tf_keras_activations": sorted(acts)}


def json_value(v):
    if isinstance(v, tuple):
        v = list(v)
    try:
        json.dumps(v)
    except (TypeError, ValueError):
        return None, False
    return v, True


def keras3_side():
    import keras

    defaults = {}
    for name, cls in layer_classes(keras.layers).items():
        if not issubclass(cls, keras.layers.Layer):
            continue
        d = {}
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None:
                continue
            try:
                sig = inspect.signature(init)
            except (TypeError, ValueError):
                break
            more = False
            for p in list(sig.parameters.values())[1:]:
                if p.kind == p.VAR_KEYWORD:
                    more = True
                elif p.default is not p.empty and p.name not in d:
                    default = p.default
                    if p.name == "data_format" and default is None:
                        # Keras 3 standardizes None to the configured format
                        # and writes that into the config.
                        default = keras.config.image_data_format()
                    v, ok = json_value(default)
                    if ok:
                        d[p.name] = v
            if not more:
                break
        try:
            built = cls().get_config()
        except Exception:  # noqa: BLE001
            built = {}
        for k, v in built.items():
            if k not in d and k != "name":
                v, ok = json_value(v)
                if ok:
                    d[k] = v
        defaults[name] = dict(sorted(d.items()))
    acts = [n for n in dir(keras.activations) if not n.startswith("_")
            and n not in ("get", "serialize", "deserialize")]
    return {"keras_version": keras.__version__, "keras3_defaults": defaults,
            "keras3_activations": acts}


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("--tf-keras", "--keras3"):
        side = tf_keras_side(sys.argv[2:]) if sys.argv[1] == "--tf-keras" else keras3_side()
        json.dump(side, sys.stdout)
        return 0
    out = sys.argv[1] if len(sys.argv) > 1 else "kerasjson/keras2_layers.json"
    table = {}
    for flag in ("--keras3", "--tf-keras"):
        extra = table.get("keras3_activations", []) if flag == "--tf-keras" else []
        res = subprocess.run([sys.executable, __file__, flag, *extra], check=True,
                             capture_output=True, text=True)
        table.update(json.loads(res.stdout))
    with open(out, "w") as f:
        json.dump(table, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {out}: {len(table['tf_keras_layers'])} tf-keras layers, "
          f"{len(table['tf_keras_activations'])} activations, "
          f"{len(table['keras3_defaults'])} Keras 3 layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
