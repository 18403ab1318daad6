"""Writes the compatibility fixtures: real Keras models, inputs and Keras's outputs.

Usage (with the virtualenv from venv.sh):

    python compat/python/export.py --out testdata [--only CASE ...]

For every case in export_cases.py it writes testdata/<case>/: the model saved
by Keras 3 (.keras, legacy .h5, to_json + .weights.h5) and by Keras 2
(tf-keras: .h5, to_json + save_weights .h5), the inputs x*.npy and targets
y*.npy, for each model file the predict outputs and evaluate results of that
file loaded back by the Keras that wrote it, and case.json tying them
together (schema in compat/manifest.go).

Keras 3 and tf-keras run in separate processes (export_worker.py k3, then
k2), each single-threaded with deterministic TensorFlow ops and fixed seeds,
so two runs give the same numbers (check with compare_fixtures.py). Cases are
written to a staging directory and moved into place only when both versions
have finished, so a failed run leaves the previous fixtures untouched; a
.keras archive whose content did not change is kept as it was (only its save
date would differ).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import export_cases

HERE = os.path.dirname(os.path.abspath(__file__))

DEFAULT_TOLERANCE = {"atol": 1e-5, "rtol": 1e-4, "reason": ""}

# Cases whose outputs need a wider tolerance than the default, with the reason.
TOLERANCE = {}


def run_worker(version, staging, names):
    cmd = [sys.executable, os.path.join(HERE, "export_worker.py"), version, staging] + names
    env = dict(os.environ)
    env.pop("TF_USE_LEGACY_KERAS", None)
    env["KERAS_BACKEND"] = "tensorflow"
    subprocess.run(cmd, check=True, env=env, cwd=HERE)


def notes(case, k3):
    out = []
    if case.keras2:
        out.append(
            "Where a Sequential model starts, tf-keras builds it tutorial style with input_dim/input_shape on the "
            "first layer and Keras 3 puts keras.Input(shape=...) first (input_dim/input_shape on a layer is "
            "deprecated in Keras 3 and warns)."
        )
    out.append(
        f"Keras 3 trained it on {k3['train']['samples']} deterministic synthetic samples "
        f"({k3['train']['epochs']} epochs, batch {k3['train']['batch_size']}, seed {k3['train']['seed']})."
    )
    if case.keras2:
        out.append(
            "tf-keras got Keras 3's trained weights via set_weights, then one train_on_batch at learning rate 0 "
            "to fill its optimizer state; its weights are bit-identical to Keras 3's."
        )
    out.append(
        "Each model's outputs/evaluate come from that file loaded back by the Keras that wrote it; "
        "json+weights models are compiled with the case's compile arguments before evaluate."
    )
    return out + list(case.notes)


def merge(staging, case):
    with open(os.path.join(staging, f"_{case.name}_k3.json")) as f:
        k3 = json.load(f)
    with open(os.path.join(staging, f"_{case.name}_k2.json")) as f:
        k2 = json.load(f)
    generator = dict(k3["generator"])
    generator.update(k2["generator"])
    generator = {k: generator[k] for k in ("keras", "tf_keras", "tensorflow", "numpy", "h5py")}
    return {
        "case": case.name,
        "issue": case.issue,
        "description": case.description,
        "notes": notes(case, k3),
        "generator": generator,
        "tolerance": TOLERANCE.get(case.name, DEFAULT_TOLERANCE),
        "train": k3["train"],
        "inputs": k3["inputs"],
        "targets": k3["targets"],
        "models": k3["models"] + k2["models"],
    }


def keep_unchanged_archives(old_dir, new_dir):
    """Keeps an existing .keras file whose content equals the new one's.

    A .keras archive records its save date, so its bytes change on every
    export even when nothing else does (the .h5 and .npy files come out
    byte-identical). Keeping the old archive when config, metadata (but the
    date) and every weight are exactly equal avoids rewriting megabytes of
    fixtures in git for nothing.
    """
    import compare_fixtures

    exact = {"atol": 0.0, "rtol": 0.0}
    for name in os.listdir(new_dir):
        old, new = os.path.join(old_dir, name), os.path.join(new_dir, name)
        if not name.endswith(".keras") or not os.path.isfile(old):
            continue
        diff = compare_fixtures.Diff()
        try:
            compare_fixtures.compare_keras(name, old, new, exact, diff)
        except Exception:  # an unreadable old file is simply replaced
            continue
        if not diff.items:
            shutil.copy2(old, new)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="fixture root, e.g. testdata")
    ap.add_argument("--only", nargs="+", metavar="CASE", help="export only these cases")
    args = ap.parse_args()

    names = args.only or [c.name for c in export_cases.CASES]
    unknown = [n for n in names if n not in export_cases.BY_NAME]
    if unknown:
        ap.error(f"unknown case(s) {unknown}; known: {sorted(export_cases.BY_NAME)}")

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".export-", dir=out)
    try:
        run_worker("k3", staging, names)
        run_worker("k2", staging, names)
        for name in names:
            case = export_cases.BY_NAME[name]
            manifest = merge(staging, case)
            with open(os.path.join(staging, name, "case.json"), "w") as f:
                json.dump(manifest, f, indent=2, sort_keys=False)
                f.write("\n")
        for name in names:
            dst = os.path.join(out, name)
            if os.path.exists(dst):
                keep_unchanged_archives(dst, os.path.join(staging, name))
                shutil.rmtree(dst)
            os.rename(os.path.join(staging, name), dst)
            print(f"export: wrote {dst}", file=sys.stderr)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


if __name__ == "__main__":
    main()
