#!/usr/bin/env bash
# Prints the path of the virtualenv of bench/e2e.sh (compat/python's pins plus
# onnxruntime and tf2onnx), creating it on first use under ~/.cache/kerasrun,
# keyed by a hash of both requirement files. It is separate from the compat
# virtualenv so that the compat fixtures never depend on the ONNX packages.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hash=$(cat "$here/requirements-e2e.txt" "$here/../compat/python/requirements.txt" | sha256sum | cut -c1-16)
root="${KERASRUN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kerasrun}"
venv="$root/bench-e2e-$hash"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
	command -v python3 >/dev/null || { echo "venv-e2e.sh: python3 is required" >&2; exit 1; }
	mkdir -p "$root"
	rm -rf "$venv"
	echo "venv-e2e.sh: creating $venv (downloads TensorFlow and onnxruntime, a few minutes)" >&2
	python3 -m venv "$venv" >&2
	(cd "$here" && "$venv/bin/pip" install -q --disable-pip-version-check -r requirements-e2e.txt) >&2
	touch "$venv/.complete"
fi
echo "$venv"
