# What nnfast._team (csrc/_team.pyx) shares with the kernel modules of both precisions: one
# team of threads and one hold on the BLAS per process. Here and not beside _team.pyx
# because Cython names a cimported module after its .pxd's path (nnfast/_team).

cdef enum:
    TEAM_MAX = 64   # threads a team has at most (_team.h's NN_TEAM_MAX; checked at import)

ctypedef void (*part_fn)(void *ctx, int part, int parts) noexcept nogil

cdef int team_run(part_fn fn, void *ctx, int parts) noexcept nogil
cdef int team_size() noexcept
cdef int team_parts(int threads, Py_ssize_t rows) noexcept nogil
cdef Py_ssize_t team_work() noexcept
cdef void hold_blas() noexcept
cdef void release_blas() noexcept


cdef inline Py_ssize_t share(Py_ssize_t n, int part, int parts) noexcept nogil:
    """Start of part ``part`` of ``parts`` near-equal contiguous shares of n."""
    return n * part // parts
