#!/usr/bin/env bash
# Prints the path of the virtualenv of beam/bench/bench.sh (Python's
# apache-beam with compat/python's TensorFlow and Keras), creating it on
# first use under ~/.cache/kerasrun, keyed by a hash of requirements.txt.
# It is its own virtualenv so that the compat fixtures never depend on Beam.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
hash=$(sha256sum "$here/requirements.txt" | cut -c1-16)
root="${KERASRUN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kerasrun}"
venv="$root/beam-py-$hash"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
	command -v python3 >/dev/null || { echo "venv.sh: python3 is required" >&2; exit 1; }
	mkdir -p "$root"
	rm -rf "$venv"
	echo "venv.sh: creating $venv (downloads apache-beam and TensorFlow, a few minutes)" >&2
	python3 -m venv "$venv" >&2
	"$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt" >&2
	touch "$venv/.complete"
fi
echo "$venv"
