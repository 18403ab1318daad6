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
	# perf_analyzer: the binary shipped in tritonclient 2.34.0's wheel.
	tmp=$(mktemp -d)
	"$venv/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
		--platform manylinux1_x86_64 tritonclient==2.34.0 -d "$tmp" >&2
	"$venv/bin/python" -m zipfile -e "$tmp"/tritonclient-2.34.0-*.whl "$tmp/x" >&2
	mkdir -p "$venv/perf"
	install -m 755 "$tmp/x/tritonclient-2.34.0.data/data/bin/perf_analyzer" "$venv/perf/perf_analyzer"
	rm -rf "$tmp"
	touch "$venv/.complete"
fi
echo "$venv"
