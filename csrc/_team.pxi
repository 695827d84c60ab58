# A team of threads for large batches (no reference twin: the reference runs one thread).
#
# A large batch runs on nnfast's own threads (_team.h), each taking a share of its rows and
# then a share of its parameters (``run_batch``) and calling the BLAS on one thread, so the
# elementwise passes run in parallel on the data their own GEMMs just wrote. The team has as
# many threads as the BLAS has (threadpoolctl's limits and OPENBLAS_NUM_THREADS apply), and
# while a run uses it the BLAS is held at one thread. The settings are ``team_settings``'.

cdef extern from "_team.h" nogil:
    enum: NN_TEAM_MAX
    ctypedef void (*nn_part_fn)(void *ctx, int part, int parts) noexcept nogil
    int nn_team_run(nn_part_fn fn, void *ctx, int parts)
    int nn_team_workers()
    int nn_team_available()

ctypedef int (*int_getter)() noexcept nogil
ctypedef void (*int_setter)(int) noexcept nogil
cdef int_getter blas_get_threads = NULL
cdef int_setter blas_set_threads = NULL
cdef int fixed_team = 0             # threads: n > 0 fixes the team's size; 0 follows the BLAS
cdef Py_ssize_t team_work = 1 << 20  # a batch's forward multiply-adds from which a team runs it
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


cdef int team_size() noexcept:
    """Threads a team has now: the fixed number, else the BLAS's thread count (as it was
    before a run in progress held it at one), else 1; 1 without POSIX threads."""
    if not nn_team_available():
        return 1
    if fixed_team > 0:
        return min(fixed_team, NN_TEAM_MAX)
    if blas_get_threads == NULL:
        return 1
    return max(1, min(pinned_from if pinned else blas_get_threads(), NN_TEAM_MAX))


cdef inline int team_parts(int threads, Py_ssize_t rows) noexcept nogil:
    """Threads for a batch of ``rows`` rows: at most ``threads``, each with ``team_rows``."""
    return <int> max(1, min(threads, rows // team_rows))


cdef inline Py_ssize_t share(Py_ssize_t n, int part, int parts) noexcept nogil:
    """Start of part ``part`` of ``parts`` near-equal contiguous shares of n."""
    return n * part // parts


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
