#!/usr/bin/env bash
# Prints the path of a Python virtualenv with compat/python/requirements.txt
# installed, creating it on first use. The virtualenv lives outside the
# clone, keyed by a hash of the requirements, so fresh clones (CI) reuse it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
req="$here/requirements.txt"
hash=$(sha256sum "$req" | cut -c1-16)
root="${KERASRUN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kerasrun}"
venv="$root/venv-$hash"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
	command -v python3 >/dev/null || { echo "venv.sh: python3 is required for fixtures and compat tests" >&2; exit 1; }
	mkdir -p "$root"
	rm -rf "$venv"
	echo "venv.sh: creating $venv (first run downloads TensorFlow, a few minutes)" >&2
	python3 -m venv "$venv" >&2
	"$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
	touch "$venv/.complete"
fi
echo "$venv"
