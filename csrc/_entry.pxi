# The entry points, and every unit they compose, in terms of ``real``: the body that
# _kernels.pyx (float64) and _kernels32.pyx (float32) each compile once, after their
# precision unit (_float64.pxi, _float32.pxi) has defined ``real`` and its math functions.

from cpython.exc cimport PyErr_Fetch, PyErr_Occurred, PyErr_Restore, PyErr_SetNone
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.pycapsule cimport PyCapsule_GetPointer
from cpython.ref cimport PyObject
from libc.math cimport M_PI, NAN, cos, floor, isfinite, pow
from libc.stdint cimport uint64_t
from libc.string cimport memcpy, memset
from numpy.random cimport bitgen_t
cimport numpy as cnp

from _blas cimport gemm
from nnfast._team cimport (
    TEAM_MAX, hold_blas, release_blas, share, team_parts, team_run, team_size, team_work,
)

import numpy as np

from nnfast._spec import (
    Csr, check_evaluate, check_forward, check_layer_outputs, check_loss_and_gradient,
    check_perceptron_epochs, check_spec, check_train_epochs, check_workspace, default_alpha,
    state_buffers,
)
from nnfast._team import blas_threads_now, team_settings, team_threads, team_workers

cnp.import_array()

ctypedef cnp.intp_t intp
ctypedef cnp.int64_t int64_t

name = "cython"

include "_finite.pxi"
include "_activations.pxi"
include "_losses.pxi"
include "_dense.pxi"
include "_optimizers.pxi"
include "_random.pxi"
include "_training.pxi"
include "_batch.pxi"
include "_sample.pxi"
include "_perceptron.pxi"
include "_pieces.pxi"


def codes():
    """The integer codes this module was compiled with, for the consistency test."""
    return {
        "IDENTITY": IDENTITY, "SIGMOID": SIGMOID, "TANH": TANH, "RELU": RELU, "STEP": STEP,
        "SOFTMAX": SOFTMAX, "LEAKY_RELU": LEAKY_RELU, "ELU": ELU, "GELU": GELU,
        "SOFTPLUS": SOFTPLUS, "SILU": SILU, "EXP": EXP,
        "MSE": MSE, "BINARY_CROSS_ENTROPY": BINARY_CROSS_ENTROPY, "CROSS_ENTROPY": CROSS_ENTROPY,
        "MAE": MAE, "HUBER": HUBER, "POISSON": POISSON,
        "SGD": SGD, "ADAM": ADAM, "SGD_SKLEARN": SGD_SKLEARN, "ADAM_SKLEARN": ADAM_SKLEARN,
        "ADAMW": ADAMW, "RMSPROP": RMSPROP, "ADAGRAD": ADAGRAD,
        "CONSTANT": CONSTANT, "EXPONENTIAL": EXPONENTIAL, "INVERSE_TIME": INVERSE_TIME,
        "COSINE": COSINE, "ONE_CYCLE": ONE_CYCLE, "MEAN": MEAN, "SKLEARN": SKLEARN,
    }


# --- settings ---------------------------------------------------------------------------------

def set_gemm_threshold(Py_ssize_t n):
    """Set the size (m * k * n multiply-adds) from which this precision's matrix products
    call BLAS (dgemm, sgemm); each kernel module has its own."""
    global gemm_threshold
    gemm_threshold = n


def get_gemm_threshold():
    return gemm_threshold


# --- the kernels ------------------------------------------------------------------------------

def finite(const real[::1] x):
    """True when x holds no NaN or infinity (the input checks' scan: no temporary array,
    without the GIL, on a team's threads for large arrays)."""
    cdef Scan s
    cdef int t, parts = team_size() if x.shape[0] >= SCAN_TEAM_MIN else 1
    if x.shape[0] == 0:
        return True
    s.x = &x[0]
    s.n = x.shape[0]
    with nogil:
        team_run(scan_part, &s, parts)
    for t in range(parts):
        if not s.ok[t]:
            return False
    return True


def forward(spec, params, X, out):
    """out := the network's output for the batch X (evaluated in chunks of rows)."""
    cdef _Layout layout = layout_of(spec)
    cdef const Net *net = &layout.net
    cdef const real[::1] p
    cdef real[:, ::1] o
    try:
        p = params
        o = out
    except (TypeError, ValueError, BufferError):
        check_forward(spec, params, X, out, DTYPE)
        raise
    cdef Input x = read_input(X, check_forward, (spec, params, X, out, DTYPE))
    if (params is None or out is None or p.shape[0] != net.n_params
            or x.d != net.size[0] or o.shape[0] != x.n
            or o.shape[1] != net.size[net.L]):
        refused(check_forward, (spec, params, X, out, DTYPE))
    cdef Py_ssize_t n = x.n, chunk, start, m, l, u, L = net.L, width = 0
    if n == 0:
        return
    for l in range(1, L + 1):
        width = max(width, net.size[l])
    chunk = min(n, max(256, (1 << 20) // width))  # rows per pass: buffers up to ~16 MB
    buffers = np.empty((2, chunk * width), dtype=DTYPE)
    cdef real[:, ::1] buf = buffers
    cdef real[::1] bn_scratch = np.empty(2 * width, dtype=DTYPE)
    cdef real *z
    cdef const real *a_in
    cdef const real *q = &p[0]
    with nogil:
        start = 0
        while start < n:
            m = min(chunk, n - start)
            a_in = NULL if x.is_sparse else x.dense + start * x.d
            for l in range(L):
                z = &buf[l % 2, 0]
                if l == 0 and x.is_sparse:
                    sparse_forward(&x.rows, NULL, start, &p[0], &p[0] + net.b_off[0], z, m,
                                   net.size[1])
                else:
                    dense_forward(a_in, &p[0] + net.w_off[l], &p[0] + net.b_off[l], z, m,
                                  net.size[l], net.size[l + 1])
                if net.batch_norm and l < L - 1:
                    u = net.size[l + 1]
                    batch_norm_inference(z, q + net.norm_off[l], q + net.norm_off[l] + u,
                                         q + net.stat_off[l], q + net.stat_off[l] + u,
                                         &bn_scratch[0], m, u, u)
                activate(net.act[l], z, NULL, m, net.size[l + 1], net.alpha[l])
                a_in = z
            memcpy(&o[start, 0], a_in, m * net.size[L] * sizeof(real))
            start += m


def layer_outputs(spec, params, X, outs, bint pre_activations=False):
    """outs[l] := layer l's outputs for the batch X, or with ``pre_activations`` what its
    activation is applied to (after batch normalisation, by the running statistics)."""
    cdef _Layout layout = layout_of(spec)
    cdef const Net *net = &layout.net
    cdef const real[::1] p
    cdef real[:, ::1] o
    cdef Py_ssize_t l, L = net.L, m, n, width = 0
    # before any outs[l]: with bounds checks off, a list's items are read unchecked
    if not isinstance(outs, (list, tuple)) or len(outs) != L:
        refused(check_layer_outputs, (spec, params, X, outs, DTYPE))
    try:
        p = params
        views = [None] * L
        for l in range(L):
            o = outs[l]
            views[l] = o
    except (TypeError, ValueError, BufferError):
        check_layer_outputs(spec, params, X, outs, DTYPE)
        raise
    cdef Input x = read_input(X, check_layer_outputs, (spec, params, X, outs, DTYPE))
    cdef bint bad = params is None or p.shape[0] != net.n_params or x.d != net.size[0]
    for l in range(L):
        if outs[l] is None:
            bad = True
            break
        o = views[l]
        bad = bad or o.shape[0] != x.n or o.shape[1] != net.size[l + 1]
    if bad:
        refused(check_layer_outputs, (spec, params, X, outs, DTYPE))
    m = x.n
    if m == 0:
        return
    for l in range(1, L + 1):
        width = max(width, net.size[l])
    cdef real[::1] scratch = np.empty(m * width if pre_activations else 1, dtype=DTYPE)
    cdef real[::1] bn_scratch = np.empty(2 * width, dtype=DTYPE)
    cdef real **out_at = <real **> PyMem_Malloc(L * sizeof(real *))
    if out_at == NULL:
        raise MemoryError()
    for l in range(L):
        o = views[l]
        out_at[l] = &o[0, 0]
    cdef const real *q = &p[0]
    cdef const real *a_in = x.dense
    cdef real *z
    try:
        with nogil:
            for l in range(L):
                n = net.size[l + 1]
                z = out_at[l]
                if l == 0 and x.is_sparse:
                    sparse_forward(&x.rows, NULL, 0, q, q + net.b_off[0], z, m, n)
                else:
                    dense_forward(a_in, q + net.w_off[l], q + net.b_off[l], z, m, net.size[l],
                                  n)
                if net.batch_norm and l < L - 1:
                    batch_norm_inference(z, q + net.norm_off[l], q + net.norm_off[l] + n,
                                         q + net.stat_off[l], q + net.stat_off[l] + n,
                                         &bn_scratch[0], m, n, n)
                if pre_activations:  # z stays; the next layer reads its activation
                    memcpy(&scratch[0], z, m * n * sizeof(real))
                    z = &scratch[0]
                activate(net.act[l], z, NULL, m, n, net.alpha[l])
                a_in = z
    finally:
        PyMem_Free(out_at)


cdef class Workspace:
    """Every buffer a training run needs, allocated once: nothing is allocated per batch.
    Every value buffer is in this module's dtype (``dtype``: None or it).

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
    xhat   with batch normalisation, every hidden layer's normalised z (laid out as derivs);
    bn     and per hidden unit the batch's 1 / std, mean and variance, then scratch
    """
    cdef readonly object spec, dtype, order, grad, last_good, last_order
    cdef readonly Py_ssize_t batch_size
    cdef readonly bint sparse  # for sparse X: no block for the batch's input rows
    cdef public object last_m, last_v, last_g_avg  # moments at the last good epoch, if kept
    cdef public Py_ssize_t epochs_done
    cdef public bint diverged, cancelled
    cdef object _acts, _derivs, _delta, _ybatch, _wbatch, _colsum, _act_off, _der_off
    cdef object _xhat, _bn
    cdef _Layout _layout
    cdef intp *act_off
    cdef intp *der_off
    cdef Layer *layers       # per-layer view for the per-sample path (bound per call)
    cdef Py_ssize_t n_layers

    def __dealloc__(self):
        PyMem_Free(self.layers)

    def __init__(self, spec, Py_ssize_t n_samples, Py_ssize_t batch_size, dtype=None, *,
                 bint sparse=False):
        self.dtype = check_workspace(spec, n_samples, batch_size, dtype, DTYPE)
        self._layout = layout_of(spec)
        self.spec = spec
        sizes = [int(n) for n in spec.sizes]
        L = len(sizes) - 1
        self.batch_size = batch_size
        self.sparse = sparse
        self.order = np.arange(n_samples, dtype=np.intp)
        self.last_order = self.order.copy()
        self.grad = None  # made by the first run that needs one (see train_epochs)
        self.last_good = np.zeros(self._layout.net.n_params, dtype=DTYPE)
        self.last_m = self.last_v = self.last_g_avg = None
        act_off, der_off = [0] * (L + 2), [0] * L
        for l in range(L + 1):
            act_off[l + 1] = act_off[l] + (0 if l == 0 and sparse else sizes[l]) * batch_size
        for l in range(L - 1):
            der_off[l + 1] = der_off[l] + sizes[l + 1] * batch_size
        self._act_off = np.array(act_off, dtype=np.intp)
        self._der_off = np.array(der_off, dtype=np.intp)
        self._acts = np.zeros(act_off[L + 1], dtype=DTYPE)
        # + the output's f' (per sample)
        self._derivs = np.zeros(der_off[L - 1] + sizes[L], dtype=DTYPE)
        self._delta = np.zeros((2, batch_size * max(sizes[1:])), dtype=DTYPE)
        self._ybatch = np.zeros(batch_size * sizes[L], dtype=DTYPE)
        self._wbatch = np.zeros(batch_size, dtype=DTYPE)
        self._colsum = np.zeros(sum(sizes[1:]), dtype=DTYPE)
        hidden = sum(sizes[1:-1]) if spec.batch_norm else 0
        self._xhat = np.zeros(max(1, hidden * batch_size), dtype=DTYPE)
        self._bn = np.zeros(max(1, 5 * hidden), dtype=DTYPE)
        cdef intp[::1] a = self._act_off
        cdef intp[::1] d = self._der_off
        self.act_off = &a[0]
        self.der_off = &d[0]
        PyMem_Free(self.layers)
        self.layers = <Layer *> PyMem_Malloc(L * sizeof(Layer))
        if self.layers == NULL:
            raise MemoryError()
        self.n_layers = L
        cdef const Net *net = &self._layout.net
        cdef real *acts = ptr(self._acts)
        cdef real *derivs = ptr(self._derivs)
        cdef Py_ssize_t i
        for i in range(self.n_layers):
            self.layers[i].k = net.size[i]
            self.layers[i].n = net.size[i + 1]
            self.layers[i].act = net.act[i]
            self.layers[i].alpha = net.alpha[i]
            self.layers[i].dropout = 0.0
            self.layers[i].W = NULL
            self.layers[i].b = NULL
            self.layers[i].w_at = net.w_off[i]
            self.layers[i].b_at = net.b_off[i]
            self.layers[i].a = acts + self.act_off[i + 1]
            self.layers[i].d = derivs + self.der_off[i]
        if not mse_output(net):
            self.layers[L - 1].act = LINEAR  # the fused losses start from the logits

    cdef Batch batch(self, real *params, const double *dropout, bitgen_t *bg):
        """A ``Batch`` over this workspace's buffers; the caller sets its rows and its mode."""
        cdef Batch b
        memset(&b, 0, sizeof(Batch))
        b.net = &self._layout.net
        b.params = params
        b.acts = ptr(self._acts)
        b.act_off = self.act_off
        b.derivs = ptr(self._derivs)
        b.der_off = self.der_off
        b.delta = ptr(self._delta[0])
        b.scratch = ptr(self._delta[1])
        b.width = self._delta.shape[1] // self.batch_size
        b.colsum = ptr(self._colsum)
        b.xhat = ptr(self._xhat)
        b.bn_stats = ptr(self._bn)
        b.n_hidden = self._bn.shape[0] // 5
        b.dropout = dropout
        b.bg = bg
        return b

    cdef void bind(self, real *params, const double *dropout) noexcept:
        """Point the layers at this call's parameter buffer and dropout rates."""
        cdef Py_ssize_t l
        for l in range(self.n_layers):
            self.layers[l].W = params + self.layers[l].w_at
            self.layers[l].b = params + self.layers[l].b_at
            self.layers[l].dropout = 0.0 if dropout == NULL else dropout[l]


def evaluate(spec, params, X, Y, sample_weight=None):
    """(mean loss, accuracy) over (X, Y), without regularisation; accuracy is NaN for MSE.
    With ``sample_weight`` both are weighted means."""
    cdef _Layout layout = layout_of(spec)
    cdef const real[::1] p, sw
    cdef const real[:, ::1] y
    try:
        p = params
        y = Y
        sw = sample_weight
    except (TypeError, ValueError, BufferError):
        check_evaluate(spec, params, X, Y, sample_weight, DTYPE)
        raise
    args = (spec, params, X, Y, sample_weight, DTYPE)
    cdef Input x = read_input(X, check_evaluate, args)
    if bad_data(&layout.net, params, p, X, x.n, x.d, Y, y, sample_weight, sw):
        refused(check_evaluate, args)
    cdef double correct = 0.0, n = weight_sum(sample_weight, x.n)
    cdef const real *w = NULL
    if sample_weight is not None:
        w = &sw[0]
    cdef double total = full_batch(spec, &p[0], x, y, w, n / x.n, NULL, False, &correct)
    return total * loss_scale(&layout.net, n), correct * accuracy_scale(&layout.net, n)


def loss_and_gradient(spec, params, X, Y, double l1, double l2, grad, sample_weight=None):
    """Regularised (weighted) mean loss over (X, Y); grad := its gradient, unless None."""
    cdef _Layout layout = layout_of(spec)
    cdef const real[::1] p, sw
    cdef const real[:, ::1] y
    cdef real[::1] gv
    try:
        p = params
        y = Y
        sw = sample_weight
        gv = grad
    except (TypeError, ValueError, BufferError):
        check_loss_and_gradient(spec, params, X, Y, grad, sample_weight, DTYPE)
        raise
    args = (spec, params, X, Y, grad, sample_weight, DTYPE)
    cdef Input x = read_input(X, check_loss_and_gradient, args)
    cdef Py_ssize_t i, nw = layout.net.n_weights
    if (bad_data(&layout.net, params, p, X, x.n, x.d, Y, y, sample_weight, sw)
            or (grad is not None and gv.shape[0] != layout.net.n_params)
            or (layout.net.batch_norm and x.n < 2)):
        refused(check_loss_and_gradient, args)
    cdef double correct = 0.0, n = weight_sum(sample_weight, x.n)
    cdef const real *w = NULL
    if sample_weight is not None:
        w = &sw[0]
    cdef real *g = NULL if grad is None else &gv[0]
    cdef double total = full_batch(spec, &p[0], x, y, w, n / x.n, g, True, &correct)
    cdef double pen
    with nogil:
        pen = penalty(&p[0], nw, l1, l2)
        if g != NULL:
            for i in range(nw):
                g[i] += penalty_gradient(l1, l2, p[i])
    return total * loss_scale(&layout.net, n) + pen


def train_epochs(spec, params, X, Y, Py_ssize_t n_epochs, Py_ssize_t batch_size, bint shuffle,
                 state, hyper, rng, Workspace workspace not None, history_out,
                 sample_weight=None):
    """Run ``n_epochs`` passes of mini-batch training, recording each epoch's metrics.

    The same steps as the reference's ``train_epochs``, for the whole run of epochs with the
    GIL released: history_out[e] := (mean loss, accuracy), weighted means with
    ``sample_weight`` (see ``output_step``); in scikit-learn's convention
    (``hyper.convention``) its batches and loss (the reference's ``sklearn_batch``).
    Returns the number of epochs run; an epoch whose loss or resulting parameters are not
    finite ends the call, with params back at the last finite epoch's and
    ``workspace.diverged`` set.

    Between batches, after every ~millisecond of work, the loop takes the GIL to run
    Python's signal handlers (a batch itself is never cut short); if one raises (Ctrl-C:
    KeyboardInterrupt), or another thread set ``workspace.cancelled`` (KeyboardInterrupt
    too), params and optimizer state go back to the end of the last complete epoch,
    ``workspace.epochs_done`` records how many epochs completed, and the exception
    propagates. Divergence restores the same way.
    """
    cdef _Layout layout = layout_of(spec)
    cdef const Net *net = &layout.net
    cdef Hyper h = read_hyper(hyper)
    cdef real[::1] p, m_v, v_v, g_v
    cdef const real[::1] sw
    cdef const real[:, ::1] y
    cdef int64_t[::1] step_v
    cdef double[:, ::1] history
    cdef intp[::1] order_v = workspace.order
    step, moment_m, moment_v, moment_g = state.step, state.m, state.v, state.g_avg
    kept = state_buffers(hyper)
    args = (spec, params, X, Y, n_epochs, batch_size, state, hyper, workspace, history_out,
            sample_weight, DTYPE)
    try:
        p = params
        y = Y
        sw = sample_weight
        step_v = step
        m_v = moment_m
        v_v = moment_v
        g_v = moment_g
        history = history_out
    except (TypeError, ValueError, BufferError):
        check_train_epochs(*args)
        raise
    cdef Input x = read_input(X, check_train_epochs, args)
    if (bad_data(net, params, p, X, x.n, x.d, Y, y, sample_weight, sw) or n_epochs < 0
            or batch_size < 1 or step is None or moment_m is None or moment_v is None
            or moment_g is None or history_out is None or step_v.shape[0] != 1
            or ("m" in kept and m_v.shape[0] != net.n_trainable)
            or ("v" in kept and v_v.shape[0] != net.n_trainable)
            or ("g_avg" in kept and g_v.shape[0] != net.n_trainable)
            or (net.batch_norm and bad_batch_rows(x.n, batch_size))
            or len(hyper.dropout) not in (0, net.L - 1)
            or not same_net(&workspace._layout.net, net) or order_v.shape[0] != x.n
            or workspace.batch_size < batch_size or not rows_in_range(order_v, x.n)
            or workspace.sparse != x.is_sparse
            or history.shape[0] < n_epochs or history.shape[1] != 2):
        refused(check_train_epochs, args)
    cdef Py_ssize_t n = x.n
    cdef Py_ssize_t e, start, m, r, epochs_run = n_epochs
    cdef intp *order = &order_v[0]
    # Clipping needs the gradient before any step: no fused steps (GEMM, per sample) with it.
    cdef bint clipped = h.clip_norm != 0.0 or h.clip_value != 0.0
    # mini-batches step each layer in its GEMM for SGD, plain or with (non-Nesterov) momentum
    # scikit-learn's convention: per batch B, delta and penalty over its weight sum S_B
    cdef bint sk = h.convention == SKLEARN
    cdef double s_b = 1.0, loss_factor = 1.0, delta_factor = 1.0, batch_total
    if sk and net.loss == MSE:  # its squared error: halved, averaged over the outputs
        loss_factor = 0.5 / net.size[net.L]
        delta_factor = 0.5
    elif sk and (net.loss == MAE or net.loss == HUBER):  # averaged over the outputs
        loss_factor = delta_factor = 1.0 / net.size[net.L]
    cdef bint fused = (h.l1 == 0.0 and h.l2 == 0.0 and h.optimizer == SGD and not sk
                       and not x.is_sparse and (h.momentum == 0.0 or not h.nesterov)
                       and not clipped
                       and not net.batch_norm)  # its scale and shift step after the GEMMs
    cdef bint plain = fused and h.momentum == 0.0  # the classic per-sample rule
    if not fused and workspace.grad is None:
        workspace.grad = np.zeros(net.n_params, dtype=DTYPE)
    cdef real *grad = NULL if workspace.grad is None else ptr(workspace.grad)
    cdef Moments moments
    moments.m = &m_v[0]
    moments.v = &v_v[0]
    moments.g_avg = &g_v[0]
    cdef Snapshot snap
    snap.n = net.n_params
    snap.n_moments = net.n_trainable
    snap.params = &p[0]
    snap.state = moments
    snap.step = &step_v[0]
    snap.saved_params = ptr(workspace.last_good)
    cdef intp[::1] saved_order_v = workspace.last_order
    snap.order = order
    snap.saved_order = &saved_order_v[0]
    snap.n_rows = n
    snap.saved.m = snap.saved.v = snap.saved.g_avg = NULL  # plain SGD keeps none
    if "m" in kept:
        if workspace.last_m is None:
            workspace.last_m = np.zeros(net.n_trainable, dtype=DTYPE)
        snap.saved.m = ptr(workspace.last_m)
    if "v" in kept:
        if workspace.last_v is None:
            workspace.last_v = np.zeros(net.n_trainable, dtype=DTYPE)
        snap.saved.v = ptr(workspace.last_v)
    if "g_avg" in kept:
        if workspace.last_g_avg is None:
            workspace.last_g_avg = np.zeros(net.n_trainable, dtype=DTYPE)
        snap.saved.g_avg = ptr(workspace.last_g_avg)
    cdef real *ybatch = ptr(workspace._ybatch)
    cdef real *xbatch = ptr(workspace._acts)  # block 0 of acts: the gathered input rows
    drop = np.zeros(net.L)
    if len(hyper.dropout):
        drop[:net.L - 1] = hyper.dropout
    cdef double[::1] drop_v = drop
    cdef const double *dropout = &drop_v[0] if drop.any() else NULL
    cdef bitgen_t *bg = get_bitgen(rng)
    cdef double w_total = weight_sum(sample_weight, n), w_mean = w_total / n
    cdef double total, correct, scale_n = loss_scale(net, w_total)
    cdef double acc_n = accuracy_scale(net, w_total)
    cdef const real *weights = NULL
    if sample_weight is not None:
        weights = &sw[0]
    cdef real *wbatch = NULL if sample_weight is None else ptr(workspace._wbatch)
    # Without shuffling, rows in their own order (full batch, shuffle=False) are used where
    # they lie: no copy of X per batch. A resumed run keeps the order its shuffles left.
    cdef bint in_place = not shuffle and is_identity(order, n)
    cdef Py_ssize_t work = 0
    cdef bint interrupted = False, diverged = False
    cdef PyObject *exc_type = NULL
    cdef PyObject *exc_value = NULL
    cdef PyObject *exc_tb = NULL
    cdef Batch batch = workspace.batch(&p[0], dropout, bg)
    batch.w_mean = 1.0 if sk else w_mean
    batch.l1 = h.l1
    batch.l2 = h.l2
    batch.squares = sk
    cdef const real *x_data = x.dense
    cdef const real *y_data = &y[0, 0]
    cdef Py_ssize_t d_in = net.size[0], d_out = net.size[net.L]
    batch.data_X = x_data
    batch.sparse = &x.rows if x.is_sparse else NULL
    batch.data_Y = y_data
    batch.data_w = weights
    batch.mode = DESCEND if fused else UPDATE
    batch.training = batch.track = True
    batch.mu = h.momentum
    batch.grad = grad
    batch.h = &h
    batch.state = moments
    cdef Sample one  # the per-sample path's constants
    one.b = &batch
    one.step = &step_v[0]
    one.plain = plain
    one.mse = mse_output(net)
    one.loss1 = loss_scale(net, 1.0)
    one.fixed_rates = (h.schedule == CONSTANT and h.optimizer != ADAM and h.optimizer != ADAMW
                       and h.optimizer != ADAM_SKLEARN)  # Adam's rates change with t
    one.rates = step_rates(&h, 0)
    # A team runs large batches (not with dropout, whose masks are drawn in row order).
    cdef int parts = 1
    if dropout == NULL and batch_size * net.n_weights >= team_work():
        parts = team_parts(team_size(), batch_size)
    workspace.bind(&p[0], dropout)
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
                    if m == 1 and not sk and not x.is_sparse and not clipped:  # per-sample SGD
                        r = order[start]
                        total += sample_step(&one, x_data + r * d_in, y_data + r * d_out,
                                             rows_from(weights, r),
                                             &correct)
                    else:
                        if in_place:
                            batch.first = start
                            batch.X = NULL if x.is_sparse else x_data + start * d_in
                            batch.Y = y_data + start * d_out
                            batch.w = rows_from(weights, start)
                            batch.order = NULL
                        else:  # the parts gather the rows order[start:start + m]
                            batch.X, batch.Y, batch.w = xbatch, ybatch, wbatch
                            batch.order = order + start
                        batch.rows = m
                        if fused:
                            batch.lr = learning_rate_at(&h, step_v[0])
                        else:
                            batch.rates = step_rates(&h, step_v[0])
                        if sk:
                            s_b = batch_weight(weights, order + start, in_place, start, m)
                            batch.scale = delta_factor / s_b
                            batch.l1 = h.l1 / s_b
                            batch.l2 = h.l2 / s_b
                        else:
                            batch.scale = loss_scale(net, m)
                        batch_total = run_batch(&batch, team_parts(parts, m), &correct)
                        if sk:  # |B| times the batch's objective before its step
                            batch_total = m * (loss_factor * batch_total / s_b
                                               + (h.l1 * batch.abs_sum
                                                  + 0.5 * h.l2 * batch.sq_sum) / s_b)
                        total += batch_total
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
                history[e, 0] = total / n if sk else total * scale_n
                history[e, 1] = correct * acc_n
                if not (isfinite(history[e, 0]) and all_finite(&p[0], net.n_params)):
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


def perceptron_epochs(X, y, params, double learning_rate, Py_ssize_t max_epochs, bint shuffle,
                      rng, order, errors_out, boundary_out):
    """Up to ``max_epochs`` passes of the perceptron algorithm; returns the passes run.

    The reference's ``perceptron_epochs`` with the GIL released: each pass shuffles
    ``order`` in place when ``shuffle`` (``Generator.shuffle``'s draws), then runs
    ``perceptron_pass``; errors_out[e] := mistakes in pass e, boundary_out[e] := params after
    pass e. Stops after the first pass without a mistake.
    """
    cdef const real[:, ::1] x
    cdef const intp[::1] labels
    cdef real[::1] w
    cdef intp[::1] idx, errors
    cdef real[:, ::1] lines
    try:
        x = X
        labels = y
        w = params
        idx = order
        errors = errors_out
        lines = boundary_out
    except (TypeError, ValueError, BufferError):
        check_perceptron_epochs(X, y, params, max_epochs, order, errors_out, boundary_out,
                                DTYPE)
        raise
    args = (X, y, params, max_epochs, order, errors_out, boundary_out)
    if any(a is None for a in args):
        refused(check_perceptron_epochs, args + (DTYPE,))
    cdef Py_ssize_t n = x.shape[0], d = x.shape[1], e, epochs_run = max_epochs
    if (labels.shape[0] != n or w.shape[0] != d + 1 or max_epochs < 0 or idx.shape[0] != n
            or not rows_in_range(idx, n) or errors.shape[0] < max_epochs
            or lines.shape[0] < max_epochs or lines.shape[1] != d + 1):
        refused(check_perceptron_epochs, args + (DTYPE,))
    cdef bitgen_t *bg = get_bitgen(rng) if shuffle else NULL
    cdef const real *xp = &x[0, 0] if n > 0 and d > 0 else NULL
    cdef const intp *yp = &labels[0] if n > 0 else NULL
    cdef intp *ip = &idx[0] if n > 0 else NULL
    with nogil:
        for e in range(max_epochs):
            if shuffle:
                shuffle_order(bg, ip, n)
            errors[e] = perceptron_pass(xp, yp, &w[0], n, d, learning_rate, ip)
            memcpy(&lines[e, 0], &w[0], (d + 1) * sizeof(real))
            if errors[e] == 0:
                epochs_run = e + 1
                break
    return epochs_run
