#!/usr/bin/env bash
# run.sh compares kerasrun's kernels with OpenBLAS on the reference shapes of
# the kernels issue (single thread and two threads, interleaved rounds) and
# prints a table. Installs Debian's libopenblas-dev when it is missing.
# Extra arguments go to the benchmark (e.g. -rounds 7 -time 200ms -shape "square 256").
set -euo pipefail
cd "$(dirname "$0")/openblas"
if ! dpkg -s libopenblas-dev >/dev/null 2>&1; then
	apt-get update -qq && apt-get install -y -qq libopenblas-dev >/dev/null
fi
go build -o "${TMPDIR:-/tmp}/kerasrun-openblas-bench" .
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set on this machine for older
# OpenBLAS builds; they slow 0.3.21, so unset them for this command only. The
# program prints the kernel OpenBLAS then uses (openblas_get_corename).
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "${TMPDIR:-/tmp}/kerasrun-openblas-bench" "$@"
