"""The compiled backend (note: wraparound is off, so no negative indices anywhere here): nnfast/_reference.py's kernels as nogil loops over raw float64 buffers.

Every function here mirrors one in the reference, in the same order of operations. The
Python layer has validated and converted all arrays (C-contiguous float64, matching shapes)
before they arrive, so nothing here checks user data.

A training run's unit of work is ``train_epochs``: whole epochs of shuffling, forward pass,
backpropagation and update, without the GIL and without allocating (every buffer lives in a
``Workspace`` made once per run). Matrix products with at least ``gemm_threshold``
multiply-adds go to BLAS; smaller ones, and everything elementwise, are fused loops.
"""
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.exc cimport PyErr_Fetch, PyErr_Occurred, PyErr_Restore, PyErr_SetNone
from cpython.pycapsule cimport PyCapsule_GetPointer
from cpython.ref cimport PyObject
from libc.math cimport NAN, exp, fabs, floor, isfinite, log, log1p, pow, sqrt, tanh
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy, memset
from numpy.random cimport bitgen_t
cimport numpy as cnp

from _blas cimport gemm

import numbers

import numpy as np

cnp.import_array()

ctypedef cnp.intp_t intp

name = "cython"

# Codes: the same numbers as nnfast/_spec.py (a test checks they agree).
cdef enum:
    IDENTITY, SIGMOID, TANH, RELU, STEP, SOFTMAX
cdef enum:
    LINEAR = -1  # internal: a layer's pre-activation only (logits for a fused loss)
cdef enum:
    MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY
cdef enum:
    SGD, ADAM
cdef enum:
    CONSTANT, EXPONENTIAL, INVERSE_TIME


cdef inline bint all_finite(const double *x, Py_ssize_t n) noexcept nogil:
    """No NaN or infinity in x[:n]. Branch-free within blocks of 2048 values: a value's
    exponent field plus one in its lowest bit carries into the sign bit exactly when the
    field is all ones (inf, NaN), so the block's check is an OR of integer sums."""
    cdef const uint64_t *u = <const uint64_t *> x
    cdef uint64_t acc
    cdef Py_ssize_t i, start = 0, stop
    while start < n:
        stop = min(start + 2048, n)
        acc = 0
        for i in range(start, stop):
            acc |= (u[i] & 0x7ff0000000000000ULL) + 0x0010000000000000ULL
        if acc >> 63:
            return False
        start = stop
    return True


cdef extern from "Python.h":
    # Declared without an exception clause: the caller fetches the pending exception itself.
    int check_signals "PyErr_CheckSignals" ()

# Multiply-adds of training work between two checks for Ctrl-C (about a millisecond).
cdef Py_ssize_t SIGNAL_CHECK_WORK = 1 << 22


cdef int reraise() except -1:
    """Propagate the exception that has just been restored with PyErr_Restore."""
    return -1


def codes():
    """The integer codes this module was compiled with, for the consistency test."""
    return {"IDENTITY": IDENTITY, "SIGMOID": SIGMOID, "TANH": TANH, "RELU": RELU, "STEP": STEP,
            "SOFTMAX": SOFTMAX, "MSE": MSE, "BINARY_CROSS_ENTROPY": BINARY_CROSS_ENTROPY,
            "CROSS_ENTROPY": CROSS_ENTROPY, "SGD": SGD, "ADAM": ADAM, "CONSTANT": CONSTANT,
            "EXPONENTIAL": EXPONENTIAL, "INVERSE_TIME": INVERSE_TIME}


# Products with fewer multiply-adds than this run as fused loops (tuned with bench/).
cdef Py_ssize_t gemm_threshold = 4096


def set_gemm_threshold(Py_ssize_t n):
    """Set the size (m * k * n multiply-adds) from which matrix products call BLAS dgemm."""
    global gemm_threshold
    gemm_threshold = n


def get_gemm_threshold():
    return gemm_threshold


# --- a team of threads for large batches ---------------------------------------------------
#
# A large batch runs on nnfast's own threads (csrc/_team.h), each taking a share of its rows
# and then a share of its parameters (``run_batch``) and calling the BLAS on one thread:
# the elementwise passes run in parallel, on the data their own GEMMs just wrote, instead
# of one thread doing them between GEMMs that OpenBLAS spreads over its threads. The team
# has as many threads as the BLAS has (threadpoolctl's limits and OPENBLAS_NUM_THREADS
# apply), and while a run uses it the BLAS is held at one thread.

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
cdef int fixed_team = 0          # team_settings(threads=...); 0: as many as the BLAS has
# A team runs a batch whose forward pass has at least ``team_work`` multiply-adds (rows x
# weights; below, handing work over costs more than a share saves), with at least
# ``team_rows`` rows per thread: each thread's GEMMs pack the whole of W for their rows, so
# fewer rows pay more packing per multiply-add. On 2 threads (bench/RESULTS.md): 16 rows
# per thread lost on 64-512-512-10 (65 -> 81 ms per digits epoch), 32 gained on
# 784-128-10 (MNIST's batches of 64) and 64-256-256-10.
cdef Py_ssize_t team_work = 1 << 20
cdef Py_ssize_t team_rows = 32
cdef int pinned = 0              # training runs holding the BLAS at one thread now
cdef int pinned_from = 1         # the BLAS's thread count before the first of them


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


def team_settings(threads=None, work=None, rows=None):
    """Set the team's settings that are given (None: unchanged); return all three as they
    were, so that ``team_settings(**old)`` restores them.

    threads: n > 0 fixes a team's size, 0 (the default) follows the BLAS's thread count;
    work: multiply-adds of a batch's forward pass (rows x weights) from which a team runs
    it; rows: rows each thread gets at least (a batch with fewer runs on fewer threads).
    Every value is checked before any is set."""
    global fixed_team, team_work, team_rows
    old = {"threads": fixed_team, "work": team_work, "rows": team_rows}
    new = {"threads": threads, "work": work, "rows": rows}
    for name, low in (("threads", 0), ("work", 0), ("rows", 1)):
        value = new[name]
        if value is None:
            new[name] = old[name]
        elif isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        elif value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    fixed_team, team_work, team_rows = new["threads"], new["work"], new["rows"]
    return old


def team_threads():
    """Threads a team has now: ``team_settings``' fixed number, else the BLAS's thread count
    (as it was before a run in progress held it at one), else 1; 1 without POSIX threads."""
    if not nn_team_available():
        return 1
    if fixed_team > 0:
        return min(fixed_team, NN_TEAM_MAX)
    if blas_get_threads == NULL:
        return 1
    return max(1, min(pinned_from if pinned else blas_get_threads(), NN_TEAM_MAX))


def team_workers():
    """Worker threads this process has started for teams (the caller's thread aside)."""
    return nn_team_workers()


def blas_threads_now():
    """The thread count of the BLAS the GEMMs run on (None if it cannot be read)."""
    return None if blas_get_threads == NULL else blas_get_threads()


# Arrays from this many values up are scanned for NaN and infinity by a team: the scan is
# limited by memory bandwidth, which one core does not saturate (MNIST's 47M pixels: 64 ms
# on one thread, 34 ms on two; NumPy's isfinite(X).all(): 72 ms).
cdef Py_ssize_t SCAN_TEAM_MIN = 1 << 20


cdef struct Scan:
    const double *x
    Py_ssize_t n
    bint ok[NN_TEAM_MAX]


cdef void scan_part(void *ctx, int part, int parts) noexcept nogil:
    cdef Scan *s = <Scan *> ctx
    cdef Py_ssize_t start = share(s.n, part, parts)
    s.ok[part] = all_finite(s.x + start, share(s.n, part + 1, parts) - start)


def finite(const double[::1] x):
    """True when x holds no NaN or infinity (the input checks' scan: no temporary array,
    without the GIL, on a team's threads for large arrays)."""
    cdef Scan s
    cdef int t, parts = team_threads() if x.shape[0] >= SCAN_TEAM_MIN else 1
    if x.shape[0] == 0:
        return True
    s.x = &x[0]
    s.n = x.shape[0]
    with nogil:
        nn_team_run(scan_part, &s, parts)
    for t in range(parts):
        if not s.ok[t]:
            return False
    return True


cdef inline int team_parts(int threads, Py_ssize_t rows) noexcept nogil:
    """Threads for a batch of ``rows`` rows: at most ``threads``, each with ``team_rows``."""
    return <int> max(1, min(threads, rows // team_rows))


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


# --- the network's shape as C arrays ---------------------------------------------------------

cdef struct Net:
    Py_ssize_t L                 # number of layers
    const intp *size       # L + 1 layer sizes
    const int *act               # L activation codes (the last is the output's)
    const intp *w_off      # L offsets of W_l in the flat parameter buffer
    const intp *b_off      # L offsets of b_l
    int loss
    Py_ssize_t n_weights
    Py_ssize_t n_params


cdef struct Layer:
    # One dense layer as the per-sample path sees it: its shape and where its data live.
    Py_ssize_t k, n          # inputs and units
    int act                  # the per-sample forward pass's code: the activation, but
                             # LINEAR (the logits) for an output layer the loss starts from
    double dropout           # dropout rate (hidden layers), 0 for none
    double *W                # k x n, row-major, inside the flat parameter buffer
    double *b
    Py_ssize_t w_at, b_at    # offsets of W and b in the flat buffer (optimizer state)
    double *a                # the layer's output for the current row
    double *d                # f'(z) there (the output layer's: MSE per sample only)


cdef class _Layout:
    """Owns the arrays a ``Net`` points into, built from a ``Spec``."""
    cdef Net net
    cdef object _size, _act, _w_off, _b_off

    def __init__(self, spec):
        sizes = [int(n) for n in spec.sizes]
        L = len(sizes) - 1
        weights = [sizes[l] * sizes[l + 1] for l in range(L)]
        w_off, b_off = [0] * L, [0] * L
        for l in range(1, L):
            w_off[l] = w_off[l - 1] + weights[l - 1]
        b_off[0] = sum(weights)
        for l in range(1, L):
            b_off[l] = b_off[l - 1] + sizes[l]
        self._size = np.array(sizes, dtype=np.intp)
        self._act = np.array(spec.activations, dtype=np.intc)
        self._w_off = np.array(w_off, dtype=np.intp)
        self._b_off = np.array(b_off, dtype=np.intp)
        cdef const intp[::1] size_v = self._size
        cdef const int[::1] act_v = self._act
        cdef const intp[::1] w_v = self._w_off
        cdef const intp[::1] b_v = self._b_off
        self.net.L = L
        self.net.size = &size_v[0]
        self.net.act = &act_v[0]
        self.net.w_off = &w_v[0]
        self.net.b_off = &b_v[0]
        self.net.loss = spec.loss
        self.net.n_weights = sum(weights)
        self.net.n_params = sum(weights) + sum(sizes[1:])


cdef inline bint mse_output(const Net *net) noexcept nogil:
    """MSE on an elementwise output: per sample, f and f' come out of the forward pass like
    a hidden layer's (the fused losses, and softmax under MSE, start from the logits)."""
    return net.loss == MSE and net.act[net.L - 1] != SOFTMAX


cdef inline double loss_scale(const Net *net, double n) noexcept nogil:
    """Factor from a summed loss to the mean: 1/n for cross-entropy, 1/(n k) otherwise."""
    if net.loss == CROSS_ENTROPY:
        return 1.0 / n
    return 1.0 / (n * net.size[net.L])


# --- dense layer: forward, weight gradient, backward -----------------------------------------

# The small-product paths below are written as dot products (reductions). Without
# -ffast-math the compiler keeps a floating-point reduction in order, as scalar code, which
# is what tiny layers want: no vector prologue, alias check or remainder loop per row.

cdef inline void dense_forward(const double *A, const double *W, const double *b, double *Z,
                               Py_ssize_t m, Py_ssize_t k, Py_ssize_t n) noexcept nogil:
    """Z := A @ W + b, for A (m x k), W (k x n)."""
    cdef Py_ssize_t i, p, j
    cdef double s
    cdef const double *a
    if m * k * n >= gemm_threshold:
        for i in range(m):
            for j in range(n):
                Z[i * n + j] = b[j]
        gemm(False, False, <int> m, <int> n, <int> k, 1.0, A, <int> k, W, <int> n, 1.0, Z, <int> n)
        return
    for i in range(m):
        a = A + i * k
        for j in range(n):
            s = b[j]
            for p in range(k):
                s += a[p] * W[p * n + j]
            Z[i * n + j] = s


cdef inline void column_sums(const double *D, Py_ssize_t ld, double *out, Py_ssize_t m,
                             Py_ssize_t n) noexcept nogil:
    """out := column sums of D (m x n, rows ld apart), row by row: a vectorisable sweep, in
    row order."""
    cdef Py_ssize_t i, j
    for j in range(n):
        out[j] = D[j]
    for i in range(1, m):
        for j in range(n):
            out[j] += D[i * ld + j]


cdef inline void weight_product(const double *A, Py_ssize_t lda, const double *D, double *C,
                                Py_ssize_t m, Py_ssize_t k, Py_ssize_t n, double alpha,
                                double beta) noexcept nogil:
    """C := alpha * A^T @ D + beta * C, as BLAS defines it (beta == 0: C is not read), for
    A (m x k, rows lda apart: k columns of a wider matrix), D (m x n), C (k x n)."""
    cdef Py_ssize_t i, p, j
    cdef double s
    if m * k * n >= gemm_threshold:
        gemm(True, False, <int> k, <int> n, <int> m, alpha, A, <int> lda, D, <int> n, beta, C,
             <int> n)
        return
    for p in range(k):
        for j in range(n):
            s = 0.0
            for i in range(m):
                s += A[i * lda + p] * D[i * n + j]
            if beta == 0.0:
                C[p * n + j] = alpha * s
            else:
                C[p * n + j] = beta * C[p * n + j] + alpha * s


cdef inline double derivative_at(const double *deriv, const double *relu_a,
                                 Py_ssize_t i) noexcept nogil:
    """f'(z_i): deriv[i], or for a ReLU layer's outputs relu_a (not NULL), from relu_a[i]."""
    if relu_a != NULL:
        return derivative_from_value(RELU, relu_a[i])
    return deriv[i]


cdef inline void dense_backward(const double *D, const double *W, const double *deriv,
                                const double *relu_a, double *out, Py_ssize_t m, Py_ssize_t k,
                                Py_ssize_t n) noexcept nogil:
    """out := (D @ W^T) * f', for D (m x n), W (k x n): the previous layer's delta. f' is
    ``deriv``, or with ``relu_a`` (not NULL: a ReLU layer's outputs, no dropout) a > 0,
    which is ReLU's f'(z) = z > 0 without a buffer written in the forward pass."""
    cdef Py_ssize_t i, p, j, size = m * k
    cdef double s
    cdef const double *d
    cdef const double *w
    if m * k * n >= gemm_threshold:
        gemm(False, True, <int> m, <int> k, <int> n, 1.0, D, <int> n, W, <int> n, 0.0, out, <int> k)
        for i in range(size):  # the loop-invariant test on relu_a is unswitched (-O3)
            out[i] *= derivative_at(deriv, relu_a, i)
        return
    for i in range(m):
        d = D + i * n
        for p in range(k):
            w = W + p * n
            s = 0.0
            for j in range(n):
                s += d[j] * w[j]
            out[i * k + p] = s * derivative_at(deriv, relu_a, i * k + p)


cdef inline void descend_bias(const double *g, double *b, double *vb, Py_ssize_t n,
                              double lr, double mu) noexcept nogil:
    """SGD step on b (n values) with gradient g: plain (mu == 0) or momentum with velocity vb
    (v := mu v + g, b -= lr v), the same arithmetic per element as ``update``."""
    cdef Py_ssize_t j
    if mu == 0.0:
        for j in range(n):
            b[j] -= lr * g[j]
        return
    for j in range(n):
        vb[j] = mu * vb[j] + g[j]
        b[j] -= lr * vb[j]


cdef inline void descend_weights(const double *A, Py_ssize_t lda, const double *D, double *W,
                                 double *vW, Py_ssize_t m, Py_ssize_t k, Py_ssize_t n,
                                 double lr, double mu) noexcept nogil:
    """The weight gradient A^T @ D and an SGD step on W (k x n) in one pass, the update riding
    on the write the GEMM makes anyway instead of a gradient buffer and a second sweep: plain
    SGD (mu == 0) W -= lr * A^T @ D (beta = 1); momentum v := mu v + A^T @ D (beta = mu),
    then W -= lr * v. Same arithmetic per element as ``update``."""
    cdef Py_ssize_t j
    if mu == 0.0:
        weight_product(A, lda, D, W, m, k, n, -lr, 1.0)
        return
    weight_product(A, lda, D, vW, m, k, n, 1.0, mu)
    for j in range(k * n):
        W[j] -= lr * vW[j]


# --- activations -----------------------------------------------------------------------------

cdef union Bits:
    double d
    uint64_t u


# exp, inline: glibc's algorithm (Szabolcs Nagy's, also in musl and ARM's optimized-routines),
# exp(x) = 2^(k/N) exp(r) with N = 128, |r| <= ln2/256, a degree-5 polynomial and a table of
# 2^(i/N) with the tail bits of each entry; 0.503 ulp at most in the tests' sample (libm's:
# 0.501). libm's exp is a call through the PLT and its errno wrapper, ~50 instructions,
# per sigmoid; this one is ~30 in the loop.
# Outside |x| < 512 (results beyond 1e±222, overflow, subnormals, inf, NaN) it calls libm.
cdef uint64_t EXP_TAB[256]      # (tail, bits of 2^(i/N) - (i << 45)) per i; see _exp_table()
cdef extern from *:
    # glibc's constants, written with 17 significant digits (the same doubles; MSVC's C
    # compiler reads no hexadecimal floats): 128/ln2 = 0x1.71547652b82fep0 * 128,
    # 0x1.8p52, -ln2/128 as -0x1.62e42fefa0000p-8 - 0x1.cf79abc9e3b3ap-47, and
    # 0x1.ffffffffffdbdp-2, 0x1.555555555543cp-3, 0x1.55555cf172b91p-5, 0x1.1111167a4d017p-7.
    """
    static const double EXP_INVLN2N = 184.66496523378731, EXP_SHIFT = 6755399441055744.0,
        EXP_NEGLN2HIN = -0.0054152123481117087, EXP_NEGLN2LON = -1.2864023111638346e-14,
        EXP_C2 = 0.49999999999996786, EXP_C3 = 0.16666666666665886,
        EXP_C4 = 0.041666680841067401, EXP_C5 = 0.0083333358530595491;
    """
    const double EXP_INVLN2N, EXP_SHIFT, EXP_NEGLN2HIN, EXP_NEGLN2LON
    const double EXP_C2, EXP_C3, EXP_C4, EXP_C5


def _exp_table():
    """EXP_TAB from 40-digit decimal arithmetic (the same bits on every platform)."""
    from decimal import Decimal, localcontext
    cdef Bits hi, tail
    cdef uint64_t i
    with localcontext() as ctx:
        ctx.prec = 40
        ln2 = Decimal(2).ln()
        for i in range(128):
            t = (ln2 * i / 128).exp()
            hi.d = float(t)
            tail.d = float((t - Decimal(hi.d)) / Decimal(hi.d))
            EXP_TAB[2 * i] = tail.u
            EXP_TAB[2 * i + 1] = hi.u - (i << 45)


_exp_table()


cdef inline double exp_core(double x) noexcept nogil:
    """exp(x) for |x| < 512 (``fast_exp`` checks the range)."""
    cdef Bits kd, tail, scale
    cdef double r, r2, tmp
    cdef uint64_t ki, idx
    kd.d = EXP_INVLN2N * x + EXP_SHIFT  # round to an integer k in the low bits
    ki = kd.u
    kd.d -= EXP_SHIFT
    r = x + kd.d * EXP_NEGLN2HIN + kd.d * EXP_NEGLN2LON
    idx = 2 * (ki % 128)
    tail.u = EXP_TAB[idx]
    scale.u = EXP_TAB[idx + 1] + (ki << 45)
    r2 = r * r
    tmp = tail.d + r + r2 * (EXP_C2 + r * EXP_C3) + r2 * r2 * (EXP_C4 + r * EXP_C5)
    return scale.d + scale.d * tmp


cdef inline double fast_exp(double x) noexcept nogil:
    if not fabs(x) < 512.0:  # as glibc's main path; it handles the rest
        return exp(x)
    return exp_core(x)


def exp_values(const double[::1] x, double[::1] out):
    """out := fast_exp(x), elementwise (the kernels' exp, for the accuracy tests)."""
    cdef Py_ssize_t i
    if out.shape[0] != x.shape[0]:
        raise ValueError(f"out must have x's length {x.shape[0]}, got {out.shape[0]}.")
    for i in range(x.shape[0]):
        out[i] = fast_exp(x[i])


cdef inline double sigmoid(double z) noexcept nogil:
    """1 / (1 + exp(-z)): one exp and one division, no select or branch on the sign of z
    (signs in training are unpredictable, and per-sample SGD waits on every sigmoid in
    turn). From z = -512 down, where exp(-z) overflows soon, it is exp(z), as the
    reference's exp(z) / (1 + exp(z)) rounds there (one range check for both)."""
    if not fabs(z) < 512.0:  # practically never taken: |z| >= 512, inf or NaN
        return exp(z) if z < 0.0 else 1.0 / (1.0 + exp(-z))
    return 1.0 / (1.0 + exp_core(-z))


cdef inline double act_deriv(int code, double z, double *d) noexcept nogil:
    """f(z) for a hidden activation, with f'(z) stored in d[0]."""
    cdef double a
    if code == SIGMOID:
        a = sigmoid(z)
        d[0] = a * (1.0 - a)
        return a
    if code == TANH:
        a = tanh(z)
        d[0] = 1.0 - a * a
        return a
    if code == RELU:
        # Arithmetic, not a jump: signs are unpredictable (a mispredicted branch per unit
        # tripled W2's epoch time), and the loops over it vectorise.
        a = <double> (z > 0.0)
        d[0] = a
        return z * a
    if code == IDENTITY:
        d[0] = 1.0
        return z
    d[0] = 0.0  # step
    return 1.0 if z >= 0.0 else 0.0


cdef inline void activate_hidden(int code, double *Z, double *deriv, Py_ssize_t size) noexcept nogil:
    """Z := f(Z) and deriv := f'(Z), elementwise, in one pass (one loop per activation, so
    each is a straight loop with the code folded away)."""
    cdef Py_ssize_t i
    if code == SIGMOID:
        for i in range(size):
            Z[i] = act_deriv(SIGMOID, Z[i], deriv + i)
    elif code == TANH:
        for i in range(size):
            Z[i] = act_deriv(TANH, Z[i], deriv + i)
    elif code == RELU:
        for i in range(size):
            Z[i] = act_deriv(RELU, Z[i], deriv + i)
    elif code == IDENTITY:
        for i in range(size):
            deriv[i] = 1.0
    else:
        for i in range(size):
            Z[i] = act_deriv(STEP, Z[i], deriv + i)


cdef void softmax_rows(double *Z, Py_ssize_t m, Py_ssize_t n) noexcept nogil:
    """Each row of Z := exp(z - max) / sum exp(z - max)."""
    cdef Py_ssize_t i, j
    cdef double mx, s
    cdef double *z
    for i in range(m):
        z = Z + i * n
        mx = z[0]
        for j in range(1, n):
            if z[j] > mx:
                mx = z[j]
        s = 0.0
        for j in range(n):
            z[j] = fast_exp(z[j] - mx)
            s += z[j]
        s = 1.0 / s
        for j in range(n):
            z[j] *= s


cdef inline void activate_output(int code, double *Z, Py_ssize_t m, Py_ssize_t n) noexcept nogil:
    """Z := f(Z), no f': the output layer at inference, and in training a ReLU layer whose f'
    is read back from its outputs."""
    cdef Py_ssize_t i, size = m * n
    if code == SIGMOID:
        for i in range(size):
            Z[i] = sigmoid(Z[i])
    elif code == TANH:
        for i in range(size):
            Z[i] = tanh(Z[i])
    elif code == RELU:
        for i in range(size):
            Z[i] *= <double> (Z[i] > 0.0)
    elif code == STEP:
        for i in range(size):
            Z[i] = 1.0 if Z[i] >= 0.0 else 0.0
    elif code == SOFTMAX:
        softmax_rows(Z, m, n)


cdef inline double derivative_from_value(int code, double a) noexcept nogil:
    if code == SIGMOID:
        return a * (1.0 - a)
    if code == TANH:
        return 1.0 - a * a
    if code == RELU:
        return <double> (a > 0.0)  # arithmetic, not a jump (see act_deriv)
    if code == IDENTITY:
        return 1.0
    return 0.0


# --- losses: summed loss and scale * dLsum/dz at the output ----------------------------------

cdef inline double output_delta(int loss, int code, double *Z, const double *Y, double *delta,
                         Py_ssize_t m, Py_ssize_t n, double scale) noexcept nogil:
    """delta := scale * d(summed loss)/dz from the output pre-activation Z; returns the sum.

    Sigmoid + binary cross-entropy and softmax + cross-entropy are evaluated from the logits.
    Z is used as scratch.
    """
    cdef Py_ssize_t i, j, size = m * n
    cdef double total = 0.0, z, y, a, g, mx, s, lse, ysum, gp
    cdef double *zr
    cdef const double *yr
    cdef double *dr
    if loss == BINARY_CROSS_ENTROPY:
        for i in range(size):
            z = Z[i]
            y = Y[i]
            total += (z if z > 0.0 else 0.0) - y * z + log1p(fast_exp(-fabs(z)))
            delta[i] = scale * (sigmoid(z) - y)
        return total
    if loss == CROSS_ENTROPY:
        for i in range(m):
            zr = Z + i * n
            yr = Y + i * n
            dr = delta + i * n
            mx = zr[0]
            for j in range(1, n):
                if zr[j] > mx:
                    mx = zr[j]
            s = 0.0
            ysum = 0.0
            for j in range(n):
                dr[j] = fast_exp(zr[j] - mx)
                s += dr[j]
                ysum += yr[j]
                total -= yr[j] * zr[j]
            lse = mx + log(s)
            total += lse * ysum
            s = ysum / s
            for j in range(n):
                dr[j] = scale * (dr[j] * s - yr[j])
        return total
    # MSE on any output activation
    activate_output(code, Z, m, n)
    if code == SOFTMAX:
        for i in range(m):
            zr = Z + i * n
            yr = Y + i * n
            dr = delta + i * n
            gp = 0.0
            for j in range(n):
                g = 2.0 * (zr[j] - yr[j])
                total += (zr[j] - yr[j]) * (zr[j] - yr[j])
                dr[j] = g
                gp += g * zr[j]
            for j in range(n):
                dr[j] = scale * zr[j] * (dr[j] - gp)
        return total
    for i in range(size):
        a = Z[i] - Y[i]
        total += a * a
        delta[i] = scale * 2.0 * a * derivative_from_value(code, Z[i])
    return total


cdef inline Py_ssize_t count_correct(int loss, const double *Z, const double *Y, Py_ssize_t m,
                              Py_ssize_t n) noexcept nogil:
    """Correct predictions from the output pre-activation Z (0 for MSE), as the reference."""
    cdef Py_ssize_t i, j, zi, yi, count = 0
    if loss == BINARY_CROSS_ENTROPY:
        for i in range(m * n):
            count += (Z[i] >= 0.0) == (Y[i] >= 0.5)
    elif loss == CROSS_ENTROPY:
        for i in range(m):
            zi = 0
            yi = 0
            for j in range(1, n):
                if Z[i * n + j] > Z[i * n + zi]:
                    zi = j
                if Y[i * n + j] > Y[i * n + yi]:
                    yi = j
            count += zi == yi
    return count


cdef inline double output_step(const Net *net, double *Z, const double *Y, const double *w,
                               double w_mean, double *delta, Py_ssize_t m, double scale,
                               double *correct) noexcept nogil:
    """The output layer of m rows of a batch: correct predictions (added to ``correct``),
    delta (``scale`` times the summed loss's gradient: ``loss_scale`` of the whole batch's
    rows) and the summed loss. With sample weights w (NULL: none), row i counts w[i] / w_mean
    times, w_mean being the mean weight of the whole data set: each batch's gradient is then
    an unbiased estimate of the weighted mean's, and the full batch's is exactly it."""
    cdef Py_ssize_t i, n = net.size[net.L]
    cdef int code = net.act[net.L - 1]
    cdef double total = 0.0
    if w == NULL:
        correct[0] += count_correct(net.loss, Z, Y, m, n)
        return output_delta(net.loss, code, Z, Y, delta, m, n, scale)
    for i in range(m):
        correct[0] += w[i] * count_correct(net.loss, Z + i * n, Y + i * n, 1, n)
        total += w[i] * output_delta(net.loss, code, Z + i * n, Y + i * n, delta + i * n, 1, n,
                                     scale * w[i] / w_mean)
    return total


cdef inline double accuracy_scale(const Net *net, double n) noexcept nogil:
    """Factor from a count of correct predictions to an accuracy (NaN for MSE)."""
    if net.loss == CROSS_ENTROPY:
        return 1.0 / n
    if net.loss == BINARY_CROSS_ENTROPY:
        return 1.0 / (n * net.size[net.L])
    return NAN


# --- randomness: NumPy's bit generator, in Generator.shuffle's order ------------------------

cdef inline uint64_t random_interval(bitgen_t *bg, uint64_t mx) noexcept nogil:
    """Uniform integer in [0, mx], exactly as numpy/random/src/distributions random_interval."""
    cdef uint64_t mask = mx, value
    if mx == 0:
        return 0
    mask |= mask >> 1
    mask |= mask >> 2
    mask |= mask >> 4
    mask |= mask >> 8
    mask |= mask >> 16
    mask |= mask >> 32
    if mx <= 0xffffffffUL:
        while True:
            value = bg.next_uint32(bg.state) & mask
            if value <= mx:
                return value
    while True:
        value = bg.next_uint64(bg.state) & mask
        if value <= mx:
            return value


cdef void shuffle_order(bitgen_t *bg, intp *order, Py_ssize_t n) noexcept nogil:
    """Fisher-Yates, the same draws as ``Generator.shuffle`` on a 1-d array."""
    cdef Py_ssize_t i, j, tmp
    for i in range(n - 1, 0, -1):
        j = <Py_ssize_t> random_interval(bg, <uint64_t> i)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp


cdef inline void apply_dropout(bitgen_t *bg, double *A, double *deriv, Py_ssize_t size,
                        double rate) noexcept nogil:
    """Inverted dropout: keep where u >= rate (u from ``Generator.random``), scale 1/(1-rate)."""
    cdef Py_ssize_t i
    cdef double keep = 1.0 / (1.0 - rate), u
    for i in range(size):
        u = bg.next_double(bg.state)
        if u >= rate:
            A[i] *= keep
            deriv[i] *= keep
        else:
            A[i] = 0.0
            deriv[i] = 0.0


cdef bitgen_t *get_bitgen(rng) except NULL:
    return <bitgen_t *> PyCapsule_GetPointer(rng.bit_generator.capsule, "BitGenerator")


# --- one row at a time: register-blocked layers for per-sample SGD -------------------------

# A layer's units are taken four at a time (then the 3, 2 or 1 left): each block keeps its
# sums, or its deltas, in registers while it streams the rows of W once. Block width,
# input count (1-4; more run a loop) and activation reach each block as constants through
# inline functions (setup.py makes every ``cdef inline`` inline), so the compiler unrolls
# every block completely and folds the dispatch away: a 2-2-1 network is three
# straight-line blocks, a 64-wide layer 16 blocks of 4. Dispatch on a layer's shape runs
# once per layer, not per multiply-add.

cdef inline void forward_block(const double *a, const double *W, const double *b, double *z,
                               double *d, Py_ssize_t k, Py_ssize_t n, int code,
                               Py_ssize_t w) noexcept nogil:
    """z[:w] := f(a @ W[:, :w] + b[:w]) and d[:w] := f'(...) (LINEAR: the sum only); W's
    rows are n apart."""
    cdef double s[4]
    cdef Py_ssize_t p, j
    cdef double ap
    for j in range(w):
        s[j] = b[j]
    for p in range(k):
        ap = a[p]
        for j in range(w):
            s[j] += ap * W[p * n + j]
    for j in range(w):
        z[j] = s[j] if code == LINEAR else act_deriv(code, s[j], d + j)


cdef inline void forward_columns(const double *a, const double *W, const double *b, double *z,
                                double *d, Py_ssize_t k, Py_ssize_t n, int code) noexcept nogil:
    """``forward_block`` over the layer's units, four at a time."""
    cdef Py_ssize_t j = 0
    while n - j >= 4:
        forward_block(a, W + j, b + j, z + j, d + j, k, n, code, 4)
        j += 4
    if n - j == 3:
        forward_block(a, W + j, b + j, z + j, d + j, k, n, code, 3)
    elif n - j == 2:
        forward_block(a, W + j, b + j, z + j, d + j, k, n, code, 2)
    elif n - j == 1:
        forward_block(a, W + j, b + j, z + j, d + j, k, n, code, 1)


cdef inline void forward_blocks(const double *a, const double *W, const double *b, double *z,
                                double *d, Py_ssize_t k, Py_ssize_t n, int code) noexcept nogil:
    """``forward_columns`` with 1-4 inputs as a constant (unrolled), more in a loop."""
    if k == 2:
        forward_columns(a, W, b, z, d, 2, n, code)
    elif k == 1:
        forward_columns(a, W, b, z, d, 1, n, code)
    elif k == 3:
        forward_columns(a, W, b, z, d, 3, n, code)
    elif k == 4:
        forward_columns(a, W, b, z, d, 4, n, code)
    else:
        forward_columns(a, W, b, z, d, k, n, code)


cdef inline void row_forward(const double *a, const double *W, const double *b, double *z,
                             double *d, Py_ssize_t k, Py_ssize_t n, int code) noexcept nogil:
    """One row through a dense layer: z := f(a @ W + b), d := f'(a @ W + b), one pass."""
    if code == SIGMOID:
        forward_blocks(a, W, b, z, d, k, n, SIGMOID)
    elif code == RELU:
        forward_blocks(a, W, b, z, d, k, n, RELU)
    elif code == TANH:
        forward_blocks(a, W, b, z, d, k, n, TANH)
    elif code == IDENTITY:
        forward_blocks(a, W, b, z, d, k, n, IDENTITY)
    elif code == STEP:
        forward_blocks(a, W, b, z, d, k, n, STEP)
    else:
        forward_blocks(a, W, b, z, d, k, n, LINEAR)


cdef inline void descend_block(const double *a, const double *delta, double *W, double *b,
                               double *out, const double *dprev, Py_ssize_t k, Py_ssize_t n,
                               double lr, bint first, bint last, Py_ssize_t w) noexcept nogil:
    """SGD on columns [:w] of a layer for one row: out[p] (+)= delta[:w] . W[p, :w], times
    dprev[p] after the ``last`` block (the previous layer's delta; out NULL: none), then
    W[p, :w] -= lr a[p] delta[:w] and b[:w] -= lr delta[:w]. The ``first`` block writes
    out, later ones add to it."""
    cdef double dl[4]
    cdef double *row
    cdef double s, ap
    cdef Py_ssize_t p, j
    for j in range(w):
        dl[j] = delta[j]
        b[j] -= lr * dl[j]
    for p in range(k):
        row = W + p * n
        if out != NULL:
            s = 0.0 if first else out[p]
            for j in range(w):
                s += dl[j] * row[j]
            out[p] = s * dprev[p] if last else s
        ap = a[p]
        for j in range(w):
            row[j] -= lr * (ap * dl[j])


cdef inline void row_descend(const double *a, const double *delta, double *W, double *b,
                             double *out, const double *dprev, Py_ssize_t k, Py_ssize_t n,
                             double lr) noexcept nogil:
    """Per-sample plain SGD on one layer, fused with backpropagation: out := (W @ delta) *
    dprev from W as it was (out NULL for the first layer), then W -= lr a^T delta, b -= lr
    delta. The sums run over the units in order, as ``dense_backward``'s."""
    if k == 2:
        descend_columns(a, delta, W, b, out, dprev, 2, n, lr)
    elif k == 1:
        descend_columns(a, delta, W, b, out, dprev, 1, n, lr)
    elif k == 3:
        descend_columns(a, delta, W, b, out, dprev, 3, n, lr)
    elif k == 4:
        descend_columns(a, delta, W, b, out, dprev, 4, n, lr)
    else:
        descend_columns(a, delta, W, b, out, dprev, k, n, lr)


cdef inline void descend_columns(const double *a, const double *delta, double *W,
                                 double *b, double *out, const double *dprev, Py_ssize_t k,
                                 Py_ssize_t n, double lr) noexcept nogil:
    """``descend_block`` over the layer's units, four at a time."""
    cdef Py_ssize_t j = 0
    while n - j > 4:
        descend_block(a, delta + j, W + j, b + j, out, dprev, k, n, lr, j == 0, False, 4)
        j += 4
    if n - j == 4:
        descend_block(a, delta + j, W + j, b + j, out, dprev, k, n, lr, j == 0, True, 4)
    elif n - j == 3:
        descend_block(a, delta + j, W + j, b + j, out, dprev, k, n, lr, j == 0, True, 3)
    elif n - j == 2:
        descend_block(a, delta + j, W + j, b + j, out, dprev, k, n, lr, j == 0, True, 2)
    else:
        descend_block(a, delta + j, W + j, b + j, out, dprev, k, n, lr, j == 0, True, 1)


# --- the training workspace ------------------------------------------------------------------

cdef class Workspace:
    """Every buffer a training run needs, allocated once: nothing is allocated per batch.

    acts   the batch's input (gathered rows) and every layer's output, one block per layer
    derivs f'(z) (times the dropout mask) of every hidden layer, replaced by the layer's
           delta in a mini-batch's backward pass (a ReLU layer without dropout keeps no
           f' there: it is its outputs' sign), then one row of the output layer's f'
           (per-sample MSE)
    delta  the output layer's delta and a scratch block (mini-batches); two ping-pong
           buffers for backpropagated errors (per sample)
    ybatch the batch's targets; order: the sample order, persisted across calls
    grad   the flat gradient, made only for optimizers that need one (SGD without penalty
           or Nesterov steps each layer in place); colsum: the bias gradients
    """
    cdef readonly object order, grad, last_good, last_order
    cdef public object last_m, last_v   # optimizer state at the last good epoch (if any)
    cdef public Py_ssize_t epochs_done
    cdef public bint diverged, cancelled
    cdef object _acts, _derivs, _delta, _ybatch, _wbatch, _colsum, _layout
    cdef Py_ssize_t batch_size
    cdef intp *act_off
    cdef intp *der_off
    cdef object _act_off, _der_off
    cdef Layer *layers       # per-layer view for the per-sample path (bound per call)
    cdef Py_ssize_t n_layers

    def __dealloc__(self):
        PyMem_Free(self.layers)

    def __init__(self, spec, Py_ssize_t n_samples, Py_ssize_t batch_size):
        sizes = list(spec.sizes)
        L = len(sizes) - 1
        self.batch_size = batch_size
        self._layout = _Layout(spec)
        self.order = np.arange(n_samples, dtype=np.intp)
        self.last_order = self.order.copy()
        self.grad = None  # made by the first run that needs one (see train_epochs)
        self.last_good = np.zeros((<_Layout> self._layout).net.n_params)
        self.last_m = self.last_v = None
        act_off, der_off = [0] * (L + 2), [0] * L
        for l in range(L + 1):
            act_off[l + 1] = act_off[l] + sizes[l] * batch_size
        for l in range(L - 1):
            der_off[l + 1] = der_off[l] + sizes[l + 1] * batch_size
        self._act_off = np.array(act_off, dtype=np.intp)
        self._der_off = np.array(der_off, dtype=np.intp)
        self._acts = np.zeros(act_off[L + 1])
        self._derivs = np.zeros(der_off[L - 1] + sizes[L])  # + the output's f' (per sample)
        self._delta = np.zeros((2, batch_size * max(sizes[1:])))
        self._ybatch = np.zeros(batch_size * sizes[L])
        self._wbatch = np.zeros(batch_size)
        self._colsum = np.zeros(sum(sizes[1:]))
        cdef intp[::1] a = self._act_off
        cdef intp[::1] d = self._der_off
        self.act_off = &a[0]
        self.der_off = &d[0]
        PyMem_Free(self.layers)
        self.layers = <Layer *> PyMem_Malloc(L * sizeof(Layer))
        if self.layers == NULL:
            raise MemoryError()
        self.n_layers = L
        cdef const Net *net = &(<_Layout> self._layout).net
        cdef double *acts = ptr(self._acts)
        cdef double *derivs = ptr(self._derivs)
        cdef Py_ssize_t i
        for i in range(self.n_layers):
            self.layers[i].k = net.size[i]
            self.layers[i].n = net.size[i + 1]
            self.layers[i].act = net.act[i]
            self.layers[i].dropout = 0.0
            self.layers[i].W = NULL
            self.layers[i].b = NULL
            self.layers[i].w_at = net.w_off[i]
            self.layers[i].b_at = net.b_off[i]
            self.layers[i].a = acts + self.act_off[i + 1]
            self.layers[i].d = derivs + self.der_off[i]
        if not mse_output(net):
            self.layers[L - 1].act = LINEAR  # the fused losses start from the logits

    cdef Batch batch(self, double *params, const double *dropout, bitgen_t *bg):
        """A ``Batch`` over this workspace's buffers; the caller sets its rows and its mode."""
        cdef Batch b
        memset(&b, 0, sizeof(Batch))
        b.net = &(<_Layout> self._layout).net
        b.params = params
        b.acts = ptr(self._acts)
        b.act_off = self.act_off
        b.derivs = ptr(self._derivs)
        b.der_off = self.der_off
        b.delta = ptr(self._delta[0])
        b.scratch = ptr(self._delta[1])
        b.width = self._delta.shape[1] // self.batch_size
        b.colsum = ptr(self._colsum)
        b.dropout = dropout
        b.bg = bg
        return b

    cdef void bind(self, double *params, const double *dropout) noexcept:
        """Point the layers at this call's parameter buffer and dropout rates."""
        cdef Py_ssize_t l
        for l in range(self.n_layers):
            self.layers[l].W = params + self.layers[l].w_at
            self.layers[l].b = params + self.layers[l].b_at
            self.layers[l].dropout = 0.0 if dropout == NULL else dropout[l]


cdef double* ptr(object array) except NULL:
    cdef double[::1] view = array.reshape(-1)
    return &view[0]


cdef struct Hyp:
    double lr
    int optimizer
    double momentum
    bint nesterov
    double beta_1, beta_2, epsilon
    double l1, l2
    int schedule
    double decay_rate, decay_steps, power
    bint staircase


cdef Hyp read_hyper(hyper):
    cdef Hyp h
    h.lr = hyper.learning_rate
    h.optimizer = hyper.optimizer
    h.momentum = hyper.momentum
    h.nesterov = hyper.nesterov
    h.beta_1 = hyper.beta_1
    h.beta_2 = hyper.beta_2
    h.epsilon = hyper.epsilon
    h.l1 = hyper.l1
    h.l2 = hyper.l2
    h.schedule = hyper.schedule
    h.decay_rate = hyper.decay_rate
    h.decay_steps = hyper.decay_steps
    h.staircase = hyper.staircase
    h.power = hyper.power
    return h


cdef inline double learning_rate_at(const Hyp *h, cnp.int64_t t) noexcept nogil:
    cdef double p
    if h.schedule == CONSTANT:
        return h.lr
    p = t / h.decay_steps
    if h.staircase:
        p = floor(p)
    if h.schedule == EXPONENTIAL:
        return h.lr * pow(h.decay_rate, p)
    return h.lr / pow(1.0 + h.decay_rate * p, h.power)


cdef struct Rates:
    double lr        # learning rate of this step
    double c1, c2    # Adam's bias corrections 1 / (1 - beta**t)


cdef inline Rates step_rates(const Hyp *h, cnp.int64_t t) noexcept nogil:
    cdef Rates r
    r.lr = learning_rate_at(h, t)
    r.c1 = r.c2 = 1.0
    if h.optimizer == ADAM:
        r.c1 = 1.0 / (1.0 - pow(h.beta_1, t + 1))
        r.c2 = 1.0 / (1.0 - pow(h.beta_2, t + 1))
    return r


cdef inline double penalty_gradient_l(double l1, double l2, double p) noexcept nogil:
    """d/dp of l1 |p| + l2 / 2 p**2."""
    return l1 * ((p > 0.0) - (p < 0.0)) + l2 * p


cdef inline double penalty_gradient(const Hyp *h, double p) noexcept nogil:
    return penalty_gradient_l(h.l1, h.l2, p)


cdef inline void update_one(const Hyp *h, const Rates *r, double *params, double *m, double *v,
                            Py_ssize_t i, double g) noexcept nogil:
    """One optimizer step on parameter i with gradient g (the reference's ``update``)."""
    if h.optimizer == ADAM:
        m[i] = h.beta_1 * m[i] + (1.0 - h.beta_1) * g
        v[i] = h.beta_2 * v[i] + (1.0 - h.beta_2) * g * g
        params[i] -= r.lr * (m[i] * r.c1) / (sqrt(v[i] * r.c2) + h.epsilon)
    elif h.momentum != 0.0:
        m[i] = h.momentum * m[i] + g
        params[i] -= r.lr * (g + h.momentum * m[i] if h.nesterov else m[i])
    else:
        params[i] -= r.lr * g


cdef inline void update_range(const Hyp *h, const Rates *r, double *params, double *grad,
                              double *m, double *v, Py_ssize_t start, Py_ssize_t stop,
                              bint penalised) noexcept nogil:
    """The penalty's gradient (weights: ``penalised``), then one optimizer step on
    params[start:stop].

    The same arithmetic as ``update_one``, written as one loop per optimizer so each loop is
    a straight vectorisable sweep over the range.
    """
    cdef Py_ssize_t i
    cdef double mu = h.momentum, lr = r.lr, b1 = h.beta_1, b2 = h.beta_2
    cdef double c1 = r.c1, c2 = r.c2
    if penalised and (h.l1 != 0.0 or h.l2 != 0.0):
        for i in range(start, stop):
            grad[i] += penalty_gradient(h, params[i])
    if h.optimizer == ADAM:
        for i in range(start, stop):
            m[i] = b1 * m[i] + (1.0 - b1) * grad[i]
            v[i] = b2 * v[i] + (1.0 - b2) * grad[i] * grad[i]
            params[i] -= lr * (m[i] * c1) / (sqrt(v[i] * c2) + h.epsilon)
    elif mu != 0.0 and h.nesterov:
        for i in range(start, stop):
            m[i] = mu * m[i] + grad[i]
            params[i] -= lr * (grad[i] + mu * m[i])
    elif mu != 0.0:
        for i in range(start, stop):
            m[i] = mu * m[i] + grad[i]
            params[i] -= lr * m[i]
    else:
        for i in range(start, stop):
            params[i] -= lr * grad[i]


cdef struct Sample:
    # What per-sample SGD reads at every step, fixed for the run (set up by train_epochs):
    # the run's Batch (network, parameters, optimizer and its moments, generator, mean sample
    # weight, and its delta and scratch buffers as the two ping-pong buffers for the
    # backpropagated errors), and what only the per-sample path needs
    const Batch *b
    const Layer *layers
    cnp.int64_t *step
    bint plain               # SGD without momentum or penalty: the register-blocked rule
    bint mse                 # MSE on an elementwise output: f and f' from the forward pass
    double loss1             # loss_scale(net, 1): one sample's summed loss to its mean
    bint fixed_rates         # a constant learning rate, not Adam: ``rates`` for every step
    Rates rates


cdef inline double sample_step(const Sample *s, const double *x, const double *y,
                               const double *w, double *correct) noexcept nogil:
    """Per-sample SGD (batch of one row), fused: forward, then per layer, top down, the
    backpropagated delta and the update of that layer's parameters in the same pass over W.

    Equal to the reference's ``_backprop`` followed by ``update`` on one row (each row of
    W_l is read for the previous layer's delta before it is updated), without the gradient
    buffer or a BLAS call.
    ``s.plain`` (SGD without momentum or penalty, the classic per-sample rule) runs
    register-blocked (``row_descend``); other optimizers step each parameter through
    ``update_one``. Everything fixed for the run comes in ``s``, computed once. Returns the
    sample's (weighted) loss.
    """
    cdef const Batch *b = s.b
    cdef const Net *net = b.net
    cdef const Layer *layers = s.layers
    cdef const Hyp *h = b.h
    cdef double *delta0 = b.delta
    cdef double *delta1 = b.scratch
    cdef Py_ssize_t l, L = net.L, n, k, j, p
    cdef const Layer *ly
    cdef const double *a_in = x
    cdef const double *dprev
    cdef double *row
    cdef double *tmp
    cdef double total = 0.0, acc, ap, lr, diff, scale
    # MSE on an elementwise output: f and f' come out of the forward pass like a hidden
    # layer's; for the fused losses (and softmax under MSE) the output layer's code is
    # LINEAR (Workspace), and they start from the logits.
    for l in range(L):
        ly = layers + l
        row_forward(a_in, ly.W, ly.b, ly.a, ly.d, ly.k, ly.n, ly.act)
        if b.dropout != NULL and ly.dropout > 0.0:
            apply_dropout(b.bg, ly.a, ly.d, ly.n, ly.dropout)
        a_in = ly.a
    ly = layers + L - 1
    if s.mse:
        scale = 2.0 * s.loss1
        if w != NULL:
            scale *= w[0] / b.w_mean
        for j in range(ly.n):
            diff = ly.a[j] - y[j]
            total += diff * diff
            delta0[j] = scale * diff * ly.d[j]
        if w != NULL:
            total *= w[0]
    else:
        total = output_step(net, ly.a, y, w, b.w_mean, delta0, 1, s.loss1, correct)
    cdef Rates r = s.rates if s.fixed_rates else step_rates(h, s.step[0])
    lr = r.lr
    for l in range(L - 1, -1, -1):
        ly = layers + l
        n = ly.n
        k = ly.k
        a_in = x if l == 0 else layers[l - 1].a
        dprev = NULL if l == 0 else layers[l - 1].d
        if s.plain:
            row_descend(a_in, delta0, ly.W, ly.b, NULL if l == 0 else delta1, dprev, k, n, lr)
        else:
            for j in range(n):
                update_one(h, &r, b.params, b.m, b.v, ly.b_at + j, delta0[j])
            for p in range(k):
                row = ly.W + p * n
                if dprev != NULL:
                    acc = 0.0
                    for j in range(n):
                        acc += delta0[j] * row[j]
                    delta1[p] = acc * dprev[p]
                ap = a_in[p]
                for j in range(n):
                    update_one(h, &r, b.params, b.m, b.v, ly.w_at + p * n + j,
                               ap * delta0[j] + penalty_gradient(h, row[j]))
        tmp = delta0
        delta0 = delta1
        delta1 = tmp
    s.step[0] += 1
    return total


cdef inline bint relu_only(const Net *net, const double *dropout, Py_ssize_t l) noexcept nogil:
    """Hidden layer l is ReLU without dropout: its f' is its output's sign, not stored."""
    return net.act[l] == RELU and (dropout == NULL or dropout[l] == 0.0)


cdef enum:
    FORWARD, GRADIENT, DESCEND, UPDATE  # what a batch does after its forward pass


cdef struct Batch:
    # One mini-batch and what to do with it, shared by the parts of a team (see run_batch).
    const Net *net
    double *params
    const double *X          # the batch's input, m x size[0]
    const double *Y          # its targets, m x size[L]
    const double *w          # its sample weights (NULL: none) and the data set's mean weight
    double w_mean
    Py_ssize_t rows
    const intp *order        # non-NULL: the batch is rows order[:rows] of data_X, data_Y and
    const double *data_X     # data_w, which each part first copies (its share) into X, Y, w
    const double *data_Y
    const double *data_w
    double *acts             # layer l's output at acts + act_off[l + 1] (batch-sized blocks)
    const intp *act_off
    double *derivs           # a hidden layer's f', then its delta, at derivs + der_off[l]
    const intp *der_off
    double *delta            # the output layer's delta
    double *scratch          # a non-ReLU hidden layer's delta before it replaces f'; a
    Py_ssize_t width         # row of it holds the widest layer's (each part's rows apart)
    const double *dropout    # per-layer rates, or NULL
    bitgen_t *bg
    int mode                 # FORWARD, GRADIENT, DESCEND or UPDATE
    double *grad             # GRADIENT and UPDATE: the gradient of the batch's mean loss
    double lr, mu            # DESCEND: SGD's step, plain or with momentum mu (velocity: m)
    double *colsum           # DESCEND: the bias gradients (one per bias)
    const Hyp *h             # UPDATE: the optimizer, its rates for this step, its moments
    Rates rates
    double *m
    double *v
    double loss[NN_TEAM_MAX]     # summed loss and correct predictions of each part's rows
    double correct[NN_TEAM_MAX]


cdef inline double *layer_delta(const Batch *b, Py_ssize_t l) noexcept nogil:
    """Where layer l's delta lives once computed: the output's own buffer, a hidden layer's
    in place of its f'."""
    return b.delta if l == b.net.L - 1 else b.derivs + b.der_off[l]


cdef inline Py_ssize_t share(Py_ssize_t n, int part, int parts) noexcept nogil:
    """Start of part ``part`` of ``parts`` near-equal contiguous shares of n."""
    return n * part // parts


cdef inline void gather_rows(const Batch *b, Py_ssize_t r0, Py_ssize_t m) noexcept nogil:
    """Copy rows r0:r0+m of the batch from the data set into its buffers (memcpy: wide
    copies), so each part copies its own share, into its own cache, right before using it."""
    cdef Py_ssize_t i, r, d = b.net.size[0], k = b.net.size[b.net.L]
    for i in range(r0, r0 + m):
        r = b.order[i]
        memcpy(<double *> b.X + i * d, b.data_X + r * d, d * sizeof(double))
        memcpy(<double *> b.Y + i * k, b.data_Y + r * k, k * sizeof(double))
        if b.data_w != NULL:
            (<double *> b.w)[i] = b.data_w[r]


cdef void batch_rows(void *ctx, int part, int parts) noexcept nogil:
    """Forward pass, loss and every layer's delta for the part's share of the batch's rows.

    Each row's outputs and deltas depend on that row alone (and on the parameters, not
    changed until ``batch_params``), so the parts are independent. Dropout draws its masks
    in row order and runs as one part (see ``train_epochs``)."""
    cdef Batch *b = <Batch *> ctx
    cdef const Net *net = b.net
    cdef Py_ssize_t l, L = net.L, k, n, r0 = share(b.rows, part, parts)
    cdef Py_ssize_t m = share(b.rows, part + 1, parts) - r0
    cdef const double *a_in = b.X + r0 * net.size[0]
    cdef double *z = NULL
    cdef double *d
    cdef double *out
    cdef double correct = 0.0
    b.loss[part] = 0.0
    b.correct[part] = 0.0
    if m == 0:
        return
    if b.order != NULL:
        gather_rows(b, r0, m)
    for l in range(L):
        k = net.size[l]
        n = net.size[l + 1]
        z = b.acts + b.act_off[l + 1] + r0 * n
        dense_forward(a_in, b.params + net.w_off[l], b.params + net.b_off[l], z, m, k, n)
        if l < L - 1:
            d = b.derivs + b.der_off[l] + r0 * n
            if relu_only(net, b.dropout, l):  # f' is read back from the outputs
                activate_output(RELU, z, m, n)
            else:
                activate_hidden(net.act[l], z, d, m * n)
            if b.dropout != NULL and b.dropout[l] > 0.0:
                apply_dropout(b.bg, z, d, m * n, b.dropout[l])
        a_in = z
    n = net.size[L]
    b.loss[part] = output_step(net, z, b.Y + r0 * n, NULL if b.w == NULL else b.w + r0,
                               b.w_mean, b.delta + r0 * n, m, loss_scale(net, b.rows), &correct)
    b.correct[part] = correct
    if b.mode == FORWARD:
        return
    for l in range(L - 1, 0, -1):  # delta_{l-1} := (delta_l @ W_l^T) * f'(z_{l-1})
        k = net.size[l]
        n = net.size[l + 1]
        out = b.derivs + b.der_off[l - 1] + r0 * k
        if relu_only(net, b.dropout, l - 1):
            dense_backward(layer_delta(b, l) + r0 * n, b.params + net.w_off[l], NULL,
                           b.acts + b.act_off[l] + r0 * k, out, m, k, n)
        else:
            dense_backward(layer_delta(b, l) + r0 * n, b.params + net.w_off[l], out, NULL,
                           b.scratch + r0 * b.width, m, k, n)
            memcpy(out, b.scratch + r0 * b.width, m * k * sizeof(double))


cdef void batch_params(void *ctx, int part, int parts) noexcept nogil:
    """Every layer's gradient for the part's share of W's rows and of b, and its step.

    W_l's rows p0:p1 need columns p0:p1 of the layer's input and the whole delta; b's entries
    j0:j1 the delta's columns j0:j1. Parts own disjoint parameters, and each sum runs over
    the batch's rows in order, so any number of parts computes the same numbers."""
    cdef Batch *b = <Batch *> ctx
    cdef const Net *net = b.net
    cdef Py_ssize_t l, k, n, p0, p1, j0, j1, w_at, b_at
    cdef const double *A
    cdef const double *D
    cdef double *g
    for l in range(net.L):
        k = net.size[l]
        n = net.size[l + 1]
        A = b.X if l == 0 else b.acts + b.act_off[l]
        D = layer_delta(b, l)
        p0 = share(k, part, parts)
        p1 = share(k, part + 1, parts)
        j0 = share(n, part, parts)
        j1 = share(n, part + 1, parts)
        w_at = net.w_off[l] + p0 * n
        b_at = net.b_off[l] + j0
        if b.mode == DESCEND:
            g = b.colsum + (b_at - net.n_weights)  # b's gradient: its own place, not shared
            column_sums(D + j0, n, g, b.rows, j1 - j0)
            descend_bias(g, b.params + b_at, b.m + b_at, j1 - j0, b.lr, b.mu)
            descend_weights(A + p0, k, D, b.params + w_at, b.m + w_at, b.rows, p1 - p0, n, b.lr,
                            b.mu)
            continue
        column_sums(D + j0, n, b.grad + b_at, b.rows, j1 - j0)
        weight_product(A + p0, k, D, b.grad + w_at, b.rows, p1 - p0, n, 1.0, 0.0)
        if b.mode == UPDATE:
            update_range(b.h, &b.rates, b.params, b.grad, b.m, b.v, w_at, w_at + (p1 - p0) * n,
                         True)
            update_range(b.h, &b.rates, b.params, b.grad, b.m, b.v, b_at, b_at + j1 - j0, False)


cdef double run_batch(Batch *b, int parts, double *correct) noexcept nogil:
    """One batch in ``parts`` parts (1: on this thread): ``batch_rows``, then (unless
    FORWARD) ``batch_params`` once every delta is there. Returns the summed loss and adds the
    correct predictions to ``correct``.

    Every layer's delta is computed from the parameters before any of them steps, as
    ``update`` after a whole backward pass does."""
    cdef int t
    cdef double total = 0.0
    nn_team_run(batch_rows, b, parts)
    for t in range(parts):
        total += b.loss[t]
        correct[0] += b.correct[t]
    if b.mode != FORWARD:
        nn_team_run(batch_params, b, parts)
    return total


# --- the kernels -----------------------------------------------------------------------------

def forward(spec, const double[::1] params, const double[:, ::1] X, double[:, ::1] out):
    """out := the network's output for the batch X (evaluated in chunks of rows)."""
    cdef _Layout layout = _Layout(spec)
    cdef const Net *net = &layout.net
    cdef Py_ssize_t n = X.shape[0], chunk, start, m, l, L = net.L, width = 0
    if n == 0:
        return
    for l in range(1, L + 1):
        width = max(width, net.size[l])
    chunk = min(n, max(256, (1 << 20) // width))  # rows per pass: buffers up to ~16 MB
    buffers = np.empty((2, chunk * width))
    cdef double[:, ::1] buf = buffers
    cdef double *a
    cdef double *z
    cdef const double *a_in
    with nogil:
        start = 0
        while start < n:
            m = min(chunk, n - start)
            a_in = &X[start, 0]
            for l in range(L):
                z = &buf[l % 2, 0]
                dense_forward(a_in, &params[0] + net.w_off[l], &params[0] + net.b_off[l], z, m,
                              net.size[l], net.size[l + 1])
                activate_output(net.act[l], z, m, net.size[l + 1])
                a_in = z
            memcpy(&out[start, 0], a_in, m * net.size[L] * sizeof(double))
            start += m


cdef double full_batch(spec, const double[::1] params, const double[:, ::1] X,
                       const double[:, ::1] Y, const double *w, double w_mean, double *grad,
                       double *correct):
    """Summed loss of (X, Y) in one batch; grad := gradient of the mean unless NULL."""
    cdef Workspace ws = Workspace(spec, X.shape[0], X.shape[0])
    cdef Batch b = ws.batch(<double *> &params[0], NULL, NULL)  # read, not written
    b.X = &X[0, 0]
    b.Y = &Y[0, 0]
    b.w = w
    b.w_mean = w_mean
    b.rows = X.shape[0]
    b.mode = FORWARD if grad == NULL else GRADIENT
    b.grad = grad
    cdef double total
    with nogil:
        total = run_batch(&b, 1, correct)
    return total


cdef double weight_sum(const double[::1] sample_weight, Py_ssize_t n):
    return n if sample_weight is None else float(np.sum(sample_weight))


def evaluate(spec, const double[::1] params, const double[:, ::1] X, const double[:, ::1] Y,
             const double[::1] sample_weight=None):
    """(mean loss, accuracy) over (X, Y), without regularisation; accuracy is NaN for MSE.
    With ``sample_weight`` both are weighted means."""
    cdef _Layout layout = _Layout(spec)
    cdef double correct = 0.0, n = weight_sum(sample_weight, X.shape[0])
    cdef const double *w = NULL if sample_weight is None else &sample_weight[0]
    cdef double total = full_batch(spec, params, X, Y, w, n / X.shape[0], NULL, &correct)
    return total * loss_scale(&layout.net, n), correct * accuracy_scale(&layout.net, n)


def loss_and_gradient(spec, const double[::1] params, const double[:, ::1] X,
                      const double[:, ::1] Y, double l1, double l2, double[::1] grad,
                      const double[::1] sample_weight=None):
    """Regularised (weighted) mean loss over (X, Y); grad := its gradient, unless None."""
    cdef _Layout layout = _Layout(spec)
    cdef Py_ssize_t i, nw = layout.net.n_weights
    cdef double correct = 0.0, n = weight_sum(sample_weight, X.shape[0])
    cdef const double *w = NULL if sample_weight is None else &sample_weight[0]
    cdef double *g = NULL if grad is None else &grad[0]
    cdef double pen = 0.0, p
    cdef double total = full_batch(spec, params, X, Y, w, n / X.shape[0], g, &correct)
    with nogil:
        for i in range(nw):
            p = params[i]
            pen += l1 * fabs(p) + 0.5 * l2 * p * p
            if g != NULL:
                g[i] += penalty_gradient_l(l1, l2, p)
    return total * loss_scale(&layout.net, n) + pen


cdef struct Snapshot:
    # A training run's state at the end of its last good epoch, and where it lives now.
    double *params
    double *m
    double *v
    cnp.int64_t *step
    double *saved_params
    double *saved_m     # NULL for plain SGD, whose m and v never change
    double *saved_v     # NULL unless Adam (momentum uses only m)
    cnp.int64_t saved_step
    Py_ssize_t n
    intp *order         # the sample order, shuffled in place at the start of each epoch
    intp *saved_order
    Py_ssize_t n_rows


cdef inline void save(Snapshot *s) noexcept nogil:
    memcpy(s.saved_params, s.params, s.n * sizeof(double))
    if s.saved_m != NULL:
        memcpy(s.saved_m, s.m, s.n * sizeof(double))
    if s.saved_v != NULL:
        memcpy(s.saved_v, s.v, s.n * sizeof(double))
    s.saved_step = s.step[0]
    memcpy(s.saved_order, s.order, s.n_rows * sizeof(intp))


cdef inline void restore(Snapshot *s) noexcept nogil:
    memcpy(s.params, s.saved_params, s.n * sizeof(double))
    if s.saved_m != NULL:
        memcpy(s.m, s.saved_m, s.n * sizeof(double))
    if s.saved_v != NULL:
        memcpy(s.v, s.saved_v, s.n * sizeof(double))
    s.step[0] = s.saved_step
    memcpy(s.order, s.saved_order, s.n_rows * sizeof(intp))


cdef inline bint is_identity(const intp *order, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if order[i] != i:
            return False
    return True


def train_epochs(spec, double[::1] params, const double[:, ::1] X, const double[:, ::1] Y,
                 Py_ssize_t n_epochs, Py_ssize_t batch_size, bint shuffle, state, hyper, rng,
                 Workspace workspace, double[:, ::1] history_out,
                 const double[::1] sample_weight=None):
    """Run ``n_epochs`` passes of mini-batch training, recording each epoch's metrics.

    The same steps as the reference's ``train_epochs``, for the whole run of epochs with the
    GIL released: history_out[e] := (mean loss, accuracy), weighted means with
    ``sample_weight`` (see ``output_step``). Returns the number of epochs run;
    an epoch whose loss or resulting parameters are not finite ends the call, with params
    back at the last finite epoch's and ``workspace.diverged`` set.

    Between batches, after every ~millisecond of work, the loop takes the GIL to run Python's
    signal handlers (a batch itself is never cut short); if one
    raises (Ctrl-C: KeyboardInterrupt), or another thread set ``workspace.cancelled``
    (KeyboardInterrupt too), params and optimizer state go back to the end of the last
    complete epoch, ``workspace.epochs_done`` records how many epochs completed, and the
    exception propagates. Divergence restores the same way.
    """
    cdef _Layout layout = workspace._layout
    cdef const Net *net = &layout.net
    cdef Hyp h = read_hyper(hyper)
    cdef Py_ssize_t n = X.shape[0]
    cdef Py_ssize_t e, start, m, r, epochs_run = n_epochs
    cdef intp[::1] order_v = workspace.order
    cdef intp *order = &order_v[0]
    cdef cnp.int64_t[::1] step_v = state.step
    cdef double *mom = ptr(state.m)
    cdef double *vel = ptr(state.v)
    # mini-batches step each layer in its GEMM for SGD, plain or with (non-Nesterov) momentum
    cdef bint fused = (h.l1 == 0.0 and h.l2 == 0.0 and h.optimizer == SGD
                       and (h.momentum == 0.0 or not h.nesterov))
    cdef bint plain = fused and h.momentum == 0.0  # the classic per-sample rule
    if not fused and workspace.grad is None:
        workspace.grad = np.zeros(net.n_params)
    cdef double *grad = NULL if workspace.grad is None else ptr(workspace.grad)
    cdef Snapshot snap
    snap.n = net.n_params
    snap.params = &params[0]
    snap.m = mom
    snap.v = vel
    snap.step = &step_v[0]
    snap.saved_params = ptr(workspace.last_good)
    cdef intp[::1] saved_order_v = workspace.last_order
    snap.order = order
    snap.saved_order = &saved_order_v[0]
    snap.n_rows = n
    snap.saved_m = snap.saved_v = NULL
    if h.optimizer == ADAM or h.momentum != 0.0:  # m: velocity or first moment
        if state.m.shape[0] != net.n_params or (
                h.optimizer == ADAM and state.v.shape[0] != net.n_params):
            raise ValueError("this optimizer needs an OptimizerState with moments for every "
                             "parameter")  # plain SGD's state keeps none, momentum's no v
        if workspace.last_m is None:
            workspace.last_m = np.zeros(net.n_params)
        snap.saved_m = ptr(workspace.last_m)
    if h.optimizer == ADAM:  # v: Adam's second moment
        if workspace.last_v is None:
            workspace.last_v = np.zeros(net.n_params)
        snap.saved_v = ptr(workspace.last_v)
    cdef double *ybatch = ptr(workspace._ybatch)
    cdef double *xbatch = ptr(workspace._acts)  # block 0 of acts: the gathered input rows
    drop = np.zeros(net.L)
    if hyper.dropout:
        drop[:net.L - 1] = hyper.dropout
    cdef double[::1] drop_v = drop
    cdef const double *dropout = &drop_v[0] if drop.any() else NULL
    cdef bitgen_t *bg = get_bitgen(rng)
    cdef double w_total = weight_sum(sample_weight, n), w_mean = w_total / n
    cdef double total, correct, scale_n = loss_scale(net, w_total)
    cdef double acc_n = accuracy_scale(net, w_total)
    cdef const double *weights = NULL if sample_weight is None else &sample_weight[0]
    cdef double *wbatch = NULL if sample_weight is None else ptr(workspace._wbatch)
    # Without shuffling, rows in their own order (full batch, shuffle=False) are used where
    # they lie: no copy of X per batch. A resumed run keeps the order its shuffles left.
    cdef bint in_place = not shuffle and is_identity(order, n)
    cdef Py_ssize_t work = 0
    cdef bint interrupted = False, diverged = False
    cdef PyObject *exc_type = NULL
    cdef PyObject *exc_value = NULL
    cdef PyObject *exc_tb = NULL
    cdef Batch batch = workspace.batch(&params[0], dropout, bg)
    batch.w_mean = w_mean
    batch.data_X = &X[0, 0]
    batch.data_Y = &Y[0, 0]
    batch.data_w = weights
    batch.mode = DESCEND if fused else UPDATE
    batch.mu = h.momentum
    batch.grad = grad
    batch.h = &h
    batch.m = mom
    batch.v = vel
    cdef Sample one  # the per-sample path's constants
    one.b = &batch
    one.step = &step_v[0]
    one.plain = plain
    one.mse = mse_output(net)
    one.loss1 = loss_scale(net, 1.0)
    one.fixed_rates = h.schedule == CONSTANT and h.optimizer != ADAM
    one.rates = step_rates(&h, 0)
    # A team runs large batches (not with dropout, whose masks are drawn in row order).
    cdef int parts = 1
    if dropout == NULL and batch_size * net.n_weights >= team_work:
        parts = team_parts(team_threads(), batch_size)
    workspace.bind(&params[0], dropout)
    one.layers = workspace.layers
    workspace.epochs_done = 0
    workspace.diverged = False
    if workspace.cancelled:
        raise KeyboardInterrupt("training cancelled")
    if parts > 1:
        hold_blas()
    try:
        with nogil:
            save(&snap)
            for e in range(n_epochs):
                if shuffle:
                    shuffle_order(bg, order, n)
                total = 0.0
                correct = 0.0
                start = 0
                while start < n:
                    m = min(batch_size, n - start)
                    if m == 1:  # per-sample SGD reads the row and its weight where they are
                        r = order[start]
                        total += sample_step(&one, &X[r, 0], &Y[r, 0],
                                             NULL if weights == NULL else weights + r,
                                             &correct)
                    else:
                        if in_place:
                            batch.X = &X[start, 0]
                            batch.Y = &Y[start, 0]
                            batch.w = NULL if weights == NULL else weights + start
                            batch.order = NULL
                        else:  # the parts gather the rows order[start:start + m]
                            batch.X, batch.Y, batch.w = xbatch, ybatch, wbatch
                            batch.order = order + start
                        batch.rows = m
                        if fused:
                            batch.lr = learning_rate_at(&h, step_v[0])
                        else:
                            batch.rates = step_rates(&h, step_v[0])
                        total += run_batch(&batch, team_parts(parts, m), &correct)
                        step_v[0] += 1
                    start += m
                    work += m * net.n_params
                    if work >= SIGNAL_CHECK_WORK:
                        work = 0
                        with gil:
                            if check_signals() != 0 or workspace.cancelled:
                                if not PyErr_Occurred():
                                    PyErr_SetNone(KeyboardInterrupt)
                                PyErr_Fetch(&exc_type, &exc_value, &exc_tb)
                                interrupted = True
                        if interrupted:
                            break
                if interrupted:
                    restore(&snap)
                    epochs_run = e
                    break
                history_out[e, 0] = total * scale_n
                history_out[e, 1] = correct * acc_n
                if not (isfinite(history_out[e, 0]) and all_finite(&params[0], net.n_params)):
                    restore(&snap)
                    epochs_run = e + 1
                    diverged = True
                    break
                save(&snap)
    finally:
        if parts > 1:
            release_blas()
    workspace.epochs_done = epochs_run
    workspace.diverged = diverged
    if interrupted:
        PyErr_Restore(exc_type, exc_value, exc_tb)
        reraise()
    return epochs_run
include "_perceptron.pxi"
