#!/usr/bin/env bash
# Memory-safety run: build nnfast's compiled kernels with AddressSanitizer (gcc
# -fsanitize=address) in a private copy of the repository, prove the sanitizer is live with
# a deliberate out-of-bounds read, then run the kernel tests against that build.
#
#   tools/asan/run.sh            full run (parity, gradients, fuzz with more examples, the
#                                kernel-facing reliability tests); about 5-10 min on 2 cores
#   tools/asan/run.sh --quick    the CI step: fuzz, parity and pieces tests (~2 min)
#   tools/asan/run.sh --head     build the last commit's csrc/ and nnfast/ (git archive HEAD)
#                                instead of the working tree's, which may be mid-edit
#   tools/asan/run.sh -- ARGS    extra pytest arguments after --, e.g. -- -k fuzz -x
#
# Environment: NNFAST_SANITIZE (default "address"; "address,undefined" adds UBSan),
# NNFAST_FUZZ_EXAMPLES (default 200 full, 20 quick), NNFAST_ASAN_DIR (build there and keep
# it; default a temporary directory, removed at the end).
#
# The in-place build (nnfast/_kernels*.so) is never touched: everything happens in the copy.
# See tools/asan/README.md.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python}"
# the real interpreter, not a wrapper script (pyenv shims are bash: valgrind would trace
# bash, and LD_PRELOAD would load the sanitizer runtime into it)
PYTHON="$("$PYTHON" -c 'import sys; print(sys.executable)')"
QUICK=0
FROM_HEAD=0
EXTRA=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1; shift ;;
        --head) FROM_HEAD=1; shift ;;
        --) shift; EXTRA=("$@"); break ;;
        *) echo "usage: $0 [--quick] [--head] [-- pytest args]" >&2; exit 2 ;;
    esac
done

if [[ -n "${NNFAST_ASAN_DIR:-}" ]]; then
    WORK="$NNFAST_ASAN_DIR"
    mkdir -p "$WORK"
else
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/nnfast-asan.XXXXXX")"
    trap 'rm -rf "$WORK"' EXIT
fi
SANITIZE="${NNFAST_SANITIZE:-address}"

echo "== copying the sources to $WORK"
# Sources only: no compiled module, generated C, build folder or caches from the checkout.
(cd "$REPO" && tar cf - --exclude='__pycache__' --exclude='*.so' --exclude='*.c' \
    --exclude='*.html' setup.py pyproject.toml csrc nnfast tests) | (cd "$WORK" && tar xf -)
if [[ $FROM_HEAD == 1 ]]; then
    # the package and kernels as last committed (the working tree may be mid-edit); the
    # tests stay the working tree's
    rm -rf "$WORK/csrc" "$WORK/nnfast"
    git -C "$REPO" archive HEAD setup.py pyproject.toml csrc nnfast | (cd "$WORK" && tar xf -)
fi

echo "== building nnfast._kernels, _kernels32 and _team with -fsanitize=$SANITIZE"
(
    cd "$WORK"
    CC="${CC:-gcc}" \
    CFLAGS="-fsanitize=$SANITIZE -fno-omit-frame-pointer -fno-sanitize-recover=all -g" \
    LDFLAGS="-fsanitize=$SANITIZE" \
    "$PYTHON" setup.py -q build_ext --inplace > build.log 2>&1 || { cat build.log; exit 1; }
)
# every extension: the float64 and float32 kernels and the team they share
for SO in "$WORK"/nnfast/_kernels.*.so "$WORK"/nnfast/_kernels32.*.so "$WORK"/nnfast/_team.*.so; do
    if [[ ! -e "$SO" || "$(nm -D "$SO" | grep -c '__asan_report')" == 0 ]]; then
        echo "FAIL: $SO is missing or not instrumented (no __asan_report symbols)" >&2
        exit 1
    fi
done

LIBASAN="$("${CC:-gcc}" -print-file-name=libasan.so)"
[[ -e "$LIBASAN" ]] || { echo "FAIL: libasan.so not found ($LIBASAN)" >&2; exit 1; }
export LD_PRELOAD="$LIBASAN${LD_PRELOAD:+:$LD_PRELOAD}"
# detect_leaks=0: CPython leaks by design (interned objects, static types) at exit.
# allocator_may_return_null=1: a huge np.empty raises MemoryError as usual instead of aborting.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# Every Python object and NumPy buffer through malloc, so ASan puts redzones around them.
export PYTHONMALLOC=malloc
export NNFAST_REQUIRE_CYTHON=1
unset NNFAST_BACKEND PYTHONPATH
cd "$WORK"

echo "== checking that the tests import the instrumented build"
"$PYTHON" - "$WORK" <<'PY'
import os, sys
import nnfast, nnfast._kernels as k, nnfast._kernels32 as k32, nnfast._team as team
work = os.path.realpath(sys.argv[1])
for mod in (nnfast, k, k32, team):
    assert os.path.realpath(mod.__file__).startswith(work), (mod.__file__, work)
    print("   ", mod.__file__)
PY

echo "== canary: an out-of-bounds read in each precision's kernel must be reported"
# forward() checks the lengths of its buffers, not where their memory ends: a view that
# claims one value more than its heap block holds (as_strided) makes it read past the end.
for DTYPE in float64 float32; do
    set +e
    "$PYTHON" - "$DTYPE" > canary.log 2>&1 <<'PY'
import sys
import numpy as np
from numpy.lib.stride_tricks import as_strided
import nnfast
from nnfast import _backend
dtype = np.dtype(sys.argv[1])
net = nnfast.Network([3, 4, 2], seed=0, dtype=dtype)
short = net.parameters[:-1].copy()
lying = as_strided(short, shape=(short.size + 1,))
_backend.kernels("cython", dtype).forward(net.spec, lying, np.ones((2, 3), dtype),
                                          np.empty((2, 2), dtype))
print("NOT DETECTED")
PY
    status=$?
    set -e
    if ! grep -q "ERROR: AddressSanitizer: heap-buffer-overflow" canary.log; then
        cat canary.log
        echo "FAIL: the $DTYPE canary out-of-bounds read was not reported (exit $status): ASan is not live" >&2
        exit 1
    fi
    echo "    $DTYPE: reported, as it must be: $(grep -m1 'ERROR: AddressSanitizer' canary.log)"
done

if [[ $QUICK == 1 ]]; then
    export NNFAST_FUZZ_EXAMPLES="${NNFAST_FUZZ_EXAMPLES:-20}"
    RUNS=("tests/test_fuzz.py tests/test_parity.py tests/test_pieces.py tests/test_float32.py")
    FILTERS=("")
else
    export NNFAST_FUZZ_EXAMPLES="${NNFAST_FUZZ_EXAMPLES:-200}"
    # the kernel test files in full, then the kernel-facing reliability tests
    RUNS=("tests/test_parity.py tests/test_gradients.py tests/test_fuzz.py tests/test_pieces.py tests/test_kernel_checks.py tests/test_float32.py"
          "tests/test_reliability.py")
    FILTERS=("" "diverg or interrupt or sigint or thread or concurrent or feedforward
               or restarts or seed or layout or pandas or buffers")
fi

status=0
: > pytest.log
for i in "${!RUNS[@]}"; do
    read -r -a files <<< "${RUNS[$i]}"
    args=("${files[@]}")
    filter="$(echo ${FILTERS[$i]})"  # one line
    [[ -n "$filter" ]] && args+=(-k "$filter")
    echo "== pytest ${args[*]} ${EXTRA[*]:-} (NNFAST_FUZZ_EXAMPLES=$NNFAST_FUZZ_EXAMPLES)"
    set +e
    "$PYTHON" -m pytest -p no:cacheprovider -q "${args[@]}" "${EXTRA[@]}" 2>&1 | tee -a pytest.log
    run_status=${PIPESTATUS[0]}
    set -e
    # 5: everything deselected (e.g. by an extra -k); worst status wins otherwise
    if [[ $run_status != 0 && $run_status != 5 && $run_status -gt $status ]]; then
        status=$run_status
    fi
done
if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" pytest.log; then
    echo "FAIL: the sanitizer reported a memory error (see above)" >&2
    exit 1
fi
case $status in
    0) echo "== OK: no memory error, all tests passed" ;;
    1) echo "== no memory error reported; some tests FAILED (functional failures, see above)" ;;
    *) echo "FAIL: pytest exited with status $status (crash or abort?)" >&2 ;;
esac
exit "$status"
