#!/usr/bin/env bash
# Second opinion on memory safety: valgrind memcheck over tools/asan/kernel_smoke.py, on an
# uninstrumented build of the kernels (-O1 -g: valgrind sees the real machine code, where
# ASan sees its own instrumented one) made in a private copy of the repository.
#
#   tools/asan/valgrind.sh          (~2-5 min)
#   tools/asan/valgrind.sh --head   the last commit's csrc/ and nnfast/ (git archive HEAD)
#
# Reports only errors with a frame in nnfast's extension; errors elsewhere (CPython, NumPy,
# OpenBLAS) are counted and listed at the end of the log but do not fail the run.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python}"
# the real interpreter, not a wrapper script (pyenv shims are bash: valgrind would trace
# bash, and LD_PRELOAD would load the sanitizer runtime into it)
PYTHON="$("$PYTHON" -c 'import sys; print(sys.executable)')"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
WORK="${NNFAST_VALGRIND_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/nnfast-valgrind.XXXXXX")}"
mkdir -p "$WORK"
[[ -n "${NNFAST_VALGRIND_DIR:-}" ]] || trap 'rm -rf "$WORK"' EXIT

(cd "$REPO" && tar cf - --exclude='__pycache__' --exclude='*.so' --exclude='*.c' \
    --exclude='*.html' setup.py pyproject.toml csrc nnfast tools/asan) | (cd "$WORK" && tar xf -)
if [[ "${1:-}" == "--head" ]]; then  # the last commit's package and kernels
    rm -rf "$WORK/csrc" "$WORK/nnfast"
    git -C "$REPO" archive HEAD setup.py pyproject.toml csrc nnfast | (cd "$WORK" && tar xf -)
fi
(
    cd "$WORK"
    # setup.py appends -O3 after CFLAGS; -g keeps line numbers in the reports.
    CFLAGS="-g -fno-omit-frame-pointer" "$PYTHON" setup.py -q build_ext --inplace \
        > build.log 2>&1 || { cat build.log; exit 1; }
)
cd "$WORK"
unset NNFAST_BACKEND PYTHONPATH LD_PRELOAD
# PYTHONMALLOC=malloc: memcheck tracks every object (pymalloc's arenas hide them);
# a fixed OpenBLAS core type and one thread: valgrind emulates AVX2 but not AVX-512.
export PYTHONMALLOC=malloc OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1
VALGRIND=(valgrind --tool=memcheck --leak-check=no --num-callers=40 --error-limit=no)
# an error record: from "==PID== Invalid/Conditional/..." to the blank "==PID== " line
kernel_errors() {
    awk '/^==[0-9]+== [A-Z][a-z]/ {rec=$0; inrec=1; next}
         inrec && /^==[0-9]+== *$/ {if (rec ~ /_kernels/) n++; inrec=0; next}
         inrec {rec = rec "\n" $0}
         END {print n+0}' "$1"
}

echo "== canary: an out-of-bounds read in the kernel must be reported"
"${VALGRIND[@]}" --log-file=canary.log "$PYTHON" - > /dev/null 2>&1 <<'PY' || true
import numpy as np
import nnfast
from nnfast import _kernels
net = nnfast.Network([3, 4, 2], seed=0)
short = net.parameters[:-1].copy()  # one value short of what a view of it claims:
lying = np.lib.stride_tricks.as_strided(short, shape=(short.size + 1,))
_kernels.forward(net.spec, lying, np.ones((2, 3)), np.empty((2, 2)))
PY
if [[ "$(kernel_errors canary.log)" == 0 ]]; then
    echo "FAIL: memcheck did not report the canary's out-of-bounds read" >&2
    exit 1
fi
echo "    reported: $(grep -m1 -E '_kernels' canary.log)"

echo "== valgrind memcheck: tools/asan/kernel_smoke.py"
set +e
valgrind --tool=memcheck --leak-check=no --track-origins=yes --num-callers=40 \
    --error-limit=no --read-var-info=yes --log-file=valgrind.log \
    "$PYTHON" tools/asan/kernel_smoke.py
status=$?
set -e
total="$(grep -E 'ERROR SUMMARY' valgrind.log | tail -1 || true)"
# an error record is the block from "== Invalid/Conditional/..." up to the blank "==PID== "
ours="$(kernel_errors valgrind.log)"
echo "valgrind: $total"
echo "valgrind: errors with a frame in nnfast._kernels: $ours (log: $WORK/valgrind.log)"
if [[ $status != 0 ]]; then
    echo "FAIL: the smoke script failed under valgrind (exit $status)" >&2
    tail -30 valgrind.log >&2
    exit 1
fi
if [[ $ours != 0 ]]; then
    awk '/^==[0-9]+== [A-Z][a-z]/ {rec=$0; inrec=1; next}
         inrec && /^==[0-9]+== *$/ {if (rec ~ /_kernels/) print rec "\n"; inrec=0; next}
         inrec {rec = rec "\n" $0}' valgrind.log | head -200 >&2
    echo "FAIL: memcheck reported errors in the kernels" >&2
    exit 1
fi
echo "OK"
