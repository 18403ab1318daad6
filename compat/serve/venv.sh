#!/usr/bin/env bash
# Prints the path of a virtualenv with compat/serve/requirements.txt (the
# Triton clients and perf_analyzer), creating it on first use, keyed by a
# hash of the requirements like compat/python/venv.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
req="$here/requirements.txt"
hash=$(sha256sum "$req" | cut -c1-16)
root="${KERASRUN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kerasrun}"
venv="$root/serve-venv-$hash"
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
	command -v python3 >/dev/null || { echo "serve venv.sh: python3 is required" >&2; exit 1; }
	mkdir -p "$root"
	rm -rf "$venv"
	echo "serve venv.sh: creating $venv" >&2
	python3 -m venv "$venv" >&2
	"$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2
	touch "$venv/.complete"
fi
echo "$venv"
