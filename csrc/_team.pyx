"""A team of threads for large batches, one per process, shared by the kernels of both
precisions (no reference twin: the reference runs one thread).

A large batch runs on nnfast's own threads (_team.h), each taking a share of its rows and
then a share of its parameters (the kernels' ``run_batch``) and calling the BLAS on one
thread, so the elementwise passes run in parallel on the data their own GEMMs just wrote.
The team has as many threads as the BLAS has (threadpoolctl's limits and
OPENBLAS_NUM_THREADS apply), and while a run uses it the BLAS is held at one thread. Both
kernel modules cimport this one (csrc/nnfast/_team.pxd), so a float32 and a float64 run at
the same time share one count of runs holding the BLAS, and one set of workers.
"""
import numbers

cdef extern from "_team.h" nogil:
    enum: NN_TEAM_MAX
    ctypedef void (*nn_part_fn)(void *ctx, int part, int parts) noexcept nogil
    int nn_team_run(nn_part_fn fn, void *ctx, int parts)
    int nn_team_workers()
    int nn_team_available()

if NN_TEAM_MAX != TEAM_MAX:
    raise ImportError(f"_team.h's NN_TEAM_MAX ({NN_TEAM_MAX}) and _team.pxd's TEAM_MAX "
                      f"({TEAM_MAX}) differ")

ctypedef int (*int_getter)() noexcept nogil
ctypedef void (*int_setter)(int) noexcept nogil
cdef int_getter blas_get_threads = NULL
cdef int_setter blas_set_threads = NULL
cdef int fixed_team = 0             # threads: n > 0 fixes the team's size; 0 follows the BLAS
cdef Py_ssize_t work_from = 1 << 20  # a batch's forward multiply-adds from which a team runs it
cdef Py_ssize_t team_rows = 32       # rows each thread gets at least (GEMM packing per row)
cdef int pinned = 0                 # training runs holding the BLAS at one thread now
cdef int pinned_from = 1            # the BLAS's thread count before the first of them


def _blas_thread_functions():
    """Addresses of the thread-count getter and setter of the BLAS that
    scipy.linalg.cython_blas calls (the one the GEMMs run on): OpenBLAS, as SciPy's wheels
    name it or unprefixed. (0, 0) if there are none."""
    import ctypes

    import scipy.linalg.cython_blas

    lib = ctypes.CDLL(scipy.linalg.cython_blas.__file__)
    for prefix, suffix in (("scipy_openblas", ""), ("scipy_openblas", "64_"),
                           ("openblas", ""), ("openblas", "64_")):
        get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
        put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
        if get is not None and put is not None:
            return (ctypes.cast(get, ctypes.c_void_p).value or 0,
                    ctypes.cast(put, ctypes.c_void_p).value or 0)
    return 0, 0


_get, _set = _blas_thread_functions()
if _get and _set:
    blas_get_threads = <int_getter> <size_t> _get
    blas_set_threads = <int_setter> <size_t> _set
del _get, _set


cdef int team_run(part_fn fn, void *ctx, int parts) noexcept nogil:
    """fn(ctx, part, parts) for every part in [0, parts), on the team's threads when it is
    free (see _team.h); returns when all are done."""
    return nn_team_run(fn, ctx, parts)


cdef int team_size() noexcept:
    """Threads a team has now: the fixed number, else the BLAS's thread count (as it was
    before a run in progress held it at one), else 1; 1 without POSIX threads."""
    if not nn_team_available():
        return 1
    if fixed_team > 0:
        return min(fixed_team, TEAM_MAX)
    if blas_get_threads == NULL:
        return 1
    return max(1, min(pinned_from if pinned else blas_get_threads(), TEAM_MAX))


cdef int team_parts(int threads, Py_ssize_t rows) noexcept nogil:
    """Threads for a batch of ``rows`` rows: at most ``threads``, each with ``team_rows``."""
    return <int> max(1, min(threads, rows // team_rows))


cdef Py_ssize_t team_work() noexcept:
    """A batch's forward multiply-adds (rows x weights) from which a team runs it."""
    return work_from


cdef void hold_blas() noexcept:
    """Hold the BLAS at one thread for a run whose batches a team runs (called with the GIL,
    so the count is safe between Python threads; the first run in records the thread count,
    the last one out restores it)."""
    global pinned, pinned_from
    if blas_get_threads == NULL:
        return
    if pinned == 0:
        pinned_from = blas_get_threads()
        blas_set_threads(1)
    pinned += 1


cdef void release_blas() noexcept:
    global pinned
    if blas_get_threads == NULL:
        return
    pinned -= 1
    if pinned == 0:
        blas_set_threads(pinned_from)


def team_settings(threads=None, work=None, rows=None):
    """Set the team's settings that are given (None: unchanged); return all three as they
    were, so that ``team_settings(**old)`` restores them.

    threads: n > 0 fixes a team's size, 0 (the default) follows the BLAS's thread count;
    work: multiply-adds of a batch's forward pass (rows x weights) from which a team runs
    it; rows: rows each thread gets at least (a batch with fewer runs on fewer threads).
    Every value is checked before any is set."""
    global fixed_team, work_from, team_rows
    old = {"threads": fixed_team, "work": work_from, "rows": team_rows}
    new = {"threads": threads, "work": work, "rows": rows}
    for key, low in (("threads", 0), ("work", 0), ("rows", 1)):
        value = new[key]
        if value is None:
            new[key] = old[key]
        elif isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{key} must be an integer, got {value!r}")
        elif value < low:
            raise ValueError(f"{key} must be >= {low}, got {value}")
    fixed_team, work_from, team_rows = new["threads"], new["work"], new["rows"]
    return old


def team_threads():
    """Threads a team has now: ``team_settings``' fixed number, else the BLAS's thread count
    (as it was before a run in progress held it at one), else 1; 1 without POSIX threads."""
    return team_size()


def team_workers():
    """Worker threads this process has started for teams (the caller's thread aside)."""
    return nn_team_workers()


def blas_threads_now():
    """The thread count of the BLAS the GEMMs run on (None if it cannot be read)."""
    return None if blas_get_threads == NULL else blas_get_threads()
