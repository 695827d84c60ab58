# The training loop: the twin of nnfast/_reference/training.py, whose entry points are
# in _kernels.pyx. Here: the network's shape as C arrays, the sample weights' total, the
# state at the end of the last good epoch (the reference's Workspace.save / restore), and
# what the entry points share: their checks in C and the test for Ctrl-C.

cdef struct Net:
    Py_ssize_t L            # number of layers
    const intp *size        # L + 1 layer sizes
    const int *act          # L activation codes (the last is the output's)
    const double *alpha     # L activation parameters
    const intp *w_off       # L offsets of W_l in the flat parameter buffer
    const intp *b_off       # L offsets of b_l
    bint batch_norm         # every hidden layer batch-normalised
    const intp *norm_off    # hidden layer l's gamma (its beta follows)
    const intp *stat_off    # hidden layer l's running mean (its running variance follows)
    const intp *unit_off    # hidden layer l's first unit among all hidden units
    int loss
    Py_ssize_t n_weights
    Py_ssize_t n_trainable  # the parameters an optimizer steps (before the statistics)
    Py_ssize_t n_params


cdef class _Layout:
    """Owns the arrays a ``Net`` points into, built from a ``Spec`` (checked first)."""
    cdef Net net
    cdef readonly object spec
    cdef object _size, _act, _alpha, _w_off, _b_off, _norm_off, _stat_off, _unit_off

    def __init__(self, spec):
        check_spec(spec)
        self.spec = spec
        sizes = [int(n) for n in spec.sizes]
        L = len(sizes) - 1
        weights = [sizes[l] * sizes[l + 1] for l in range(L)]
        w_off, b_off = [0] * L, [0] * L
        for l in range(1, L):
            w_off[l] = w_off[l - 1] + weights[l - 1]
        b_off[0] = sum(weights)
        for l in range(1, L):
            b_off[l] = b_off[l - 1] + sizes[l]
        hidden = sizes[1:-1]
        norm_off, stat_off, unit_off = [0] * L, [0] * L, [0] * L
        at = b_off[L - 1] + sizes[L]
        for l, n in enumerate(hidden):  # gamma_l, beta_l, then every layer's statistics
            norm_off[l], at = at, at + 2 * n
        for l, n in enumerate(hidden):
            stat_off[l], at = at, at + 2 * n
        for l in range(1, L):
            unit_off[l] = unit_off[l - 1] + sizes[l]
        self._size = np.array(sizes, dtype=np.intp)
        self._act = np.array(spec.activations, dtype=np.intc)
        self._alpha = np.array(spec.layer_alphas(), dtype=np.float64)
        self._w_off = np.array(w_off, dtype=np.intp)
        self._b_off = np.array(b_off, dtype=np.intp)
        self._norm_off = np.array(norm_off, dtype=np.intp)
        self._stat_off = np.array(stat_off, dtype=np.intp)
        self._unit_off = np.array(unit_off, dtype=np.intp)
        cdef const intp[::1] size_v = self._size
        cdef const int[::1] act_v = self._act
        cdef const double[::1] alpha_v = self._alpha
        cdef const intp[::1] w_v = self._w_off
        cdef const intp[::1] b_v = self._b_off
        cdef const intp[::1] norm_v = self._norm_off
        cdef const intp[::1] stat_v = self._stat_off
        cdef const intp[::1] unit_v = self._unit_off
        self.net.L = L
        self.net.size = &size_v[0]
        self.net.act = &act_v[0]
        self.net.alpha = &alpha_v[0]
        self.net.w_off = &w_v[0]
        self.net.b_off = &b_v[0]
        self.net.batch_norm = spec.batch_norm
        self.net.norm_off = &norm_v[0]
        self.net.stat_off = &stat_v[0]
        self.net.unit_off = &unit_v[0]
        self.net.loss = spec.loss
        self.net.n_weights = sum(weights)
        self.net.n_trainable = spec.n_trainable
        self.net.n_params = spec.n_params


cdef dict layouts = {}  # spec -> its _Layout: a spec is checked and laid out once


cdef _Layout layout_of(spec):
    cdef _Layout layout
    try:
        return layouts[spec]
    except KeyError:
        pass
    except TypeError:  # not hashable (lists): laid out every time
        return _Layout(spec)
    layout = _Layout(spec)
    if len(layouts) >= 256:
        layouts.clear()
    layouts[spec] = layout
    return layout


cdef real *ptr(object array) except NULL:
    """The first value of a C-contiguous array of reals that has one."""
    cdef real[::1] view = array.reshape(-1)
    return &view[0]


cdef inline const real *rows_from(const real *w, Py_ssize_t i) noexcept nogil:
    """w + i for an optional buffer (NULL stays NULL)."""
    if w == NULL:
        return NULL
    return w + i


cdef double weight_sum(sample_weight, Py_ssize_t n) except? -1:
    """The data set's total weight: n rows, or the sum of their weights (in double)."""
    return n if sample_weight is None else float(np.sum(sample_weight, dtype=np.float64))


cdef inline double batch_weight(const real *w, const intp *rows, bint in_place,
                                Py_ssize_t start, Py_ssize_t m) noexcept nogil:
    """A batch's weight sum: its m rows (rows[:m], or start:start + m in place), or m."""
    cdef Py_ssize_t i
    cdef double total = 0.0
    if w == NULL:
        return m
    for i in range(m):
        total += w[start + i] if in_place else w[rows[i]]
    return total


cdef struct Snapshot:
    # A training run's state at the end of its last good epoch, and where it lives now
    real *params
    Moments state
    int64_t *step
    real *saved_params
    Moments saved           # NULL for each moment the optimizer does not keep
    int64_t saved_step
    Py_ssize_t n
    Py_ssize_t n_moments    # the moments' length: the trainable parameters
    intp *order             # the sample order, shuffled in place at the start of each epoch
    intp *saved_order
    Py_ssize_t n_rows


cdef inline void copy_moments(Moments to, Moments source, Py_ssize_t n) noexcept nogil:
    """Each moment kept (to's not NULL) from source to to."""
    if to.m != NULL:
        memcpy(to.m, source.m, n * sizeof(real))
    if to.v != NULL:
        memcpy(to.v, source.v, n * sizeof(real))
    if to.g_avg != NULL:
        memcpy(to.g_avg, source.g_avg, n * sizeof(real))


cdef inline void save(Snapshot *s) noexcept nogil:
    memcpy(s.saved_params, s.params, s.n * sizeof(real))
    copy_moments(s.saved, s.state, s.n_moments)
    s.saved_step = s.step[0]
    memcpy(s.saved_order, s.order, s.n_rows * sizeof(intp))


cdef inline void restore(Snapshot *s) noexcept nogil:
    cdef Moments kept = s.state
    memcpy(s.params, s.saved_params, s.n * sizeof(real))
    if s.saved.m == NULL:
        kept.m = NULL
    if s.saved.v == NULL:
        kept.v = NULL
    if s.saved.g_avg == NULL:
        kept.g_avg = NULL
    copy_moments(kept, s.saved, s.n_moments)
    s.step[0] = s.saved_step
    memcpy(s.order, s.saved_order, s.n_rows * sizeof(intp))


cdef inline bint is_identity(const intp *order, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if order[i] != i:
            return False
    return True


# --- the entry points' checks in C, and Ctrl-C --------------------------------------------

cdef int refused(check, tuple args) except -1:
    """Raise the error ``check`` gives for ``args``, which a test in C has just refused."""
    check(*args)
    raise RuntimeError(f"{check.__name__} accepted what the compiled kernel refused")


cdef bint rows_in_range(const intp[::1] order, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i
    for i in range(order.shape[0]):
        if order[i] < 0 or order[i] >= n:
            return False
    return True


cdef bint same_net(const Net *a, const Net *b) noexcept:
    cdef Py_ssize_t l
    if a.L != b.L or a.loss != b.loss or a.batch_norm != b.batch_norm:
        return False
    for l in range(a.L):
        if a.size[l] != b.size[l] or a.act[l] != b.act[l] or a.alpha[l] != b.alpha[l]:
            return False
    return a.size[a.L] == b.size[b.L]


cdef extern from "Python.h":
    # Declared without an exception clause: the caller fetches the pending exception itself.
    int check_signals "PyErr_CheckSignals" ()

# Multiply-adds of training work between two checks for Ctrl-C (about a millisecond).
cdef Py_ssize_t SIGNAL_CHECK_WORK = 1 << 22


cdef int reraise() except -1:
    """Propagate the exception that has just been restored with PyErr_Restore."""
    return -1


cdef bint bad_batch_rows(Py_ssize_t n_rows, Py_ssize_t batch_size) noexcept:
    """The C test of nnfast/_spec.py's check_batch_rows (batch normalisation's)."""
    cdef Py_ssize_t size = min(batch_size, n_rows)
    return size < 2 or n_rows % size == 1


cdef bint bad_data(const Net *net, object params, const real[::1] p, object X,
                   Py_ssize_t n, Py_ssize_t d, object Y, const real[:, ::1] y,
                   object sample_weight, const real[::1] w):
    """The C test of nnfast/_spec.py's checks of (params, X, Y, sample_weight), X having n
    rows of d columns."""
    return (params is None or X is None or Y is None or p.shape[0] != net.n_params
            or d != net.size[0] or n < 1 or y.shape[0] != n
            or y.shape[1] != net.size[net.L]
            or (sample_weight is not None and w.shape[0] != n))


cdef class Input:
    """X as the kernels read it: a dense C-contiguous matrix (``rows``), or sparse rows
    (nnfast/_spec.Csr: ``sparse``), with the buffers' owners kept alive."""
    cdef const real *dense         # row r at dense + r * d (NULL when sparse)
    cdef Rows rows
    cdef bint is_sparse
    cdef Py_ssize_t n, d
    cdef object owner


cdef Input read_input(X, check, tuple args):
    """``X`` for a kernel, refused with ``check(*args)``'s error if its buffers do not fit
    (for sparse rows, in C: row pointers from 0 to the values' count, never decreasing, and
    column indices in range, so no index can reach outside W)."""
    cdef Input inp = Input()
    cdef const real[:, ::1] x
    cdef const real[::1] data
    cdef const intp[::1] indices, indptr
    cdef Py_ssize_t i, n, d
    inp.owner = X
    if isinstance(X, Csr):
        try:
            data = X.data
            indices = X.indices
            indptr = X.indptr
            n, d = X.shape
        except (TypeError, ValueError, BufferError):
            check(*args)
            raise
        if (indptr.shape[0] != n + 1 or indices.shape[0] != data.shape[0]
                or indptr[0] != 0 or indptr[n] != data.shape[0]):
            refused(check, args)
        for i in range(n):
            if indptr[i + 1] < indptr[i]:
                refused(check, args)
        for i in range(indices.shape[0]):
            if indices[i] < 0 or indices[i] >= d:
                refused(check, args)
        inp.is_sparse = True
        inp.rows.data = &data[0] if data.shape[0] else NULL
        inp.rows.indices = &indices[0] if indices.shape[0] else NULL
        inp.rows.indptr = &indptr[0]
        inp.n, inp.d = n, d
        return inp
    try:
        x = X
    except (TypeError, ValueError, BufferError):
        check(*args)
        raise
    if X is None:
        refused(check, args)
    inp.n, inp.d = x.shape[0], x.shape[1]
    inp.dense = &x[0, 0] if inp.n and inp.d else NULL
    return inp
