# Per-sample SGD, one row at a time (no reference twin: the reference's _backprop and update
# on a batch of one row compute the same numbers).
#
# Register-blocked layers: a layer's units are taken four at a time (then the 3, 2 or 1
# left); each block keeps its sums, or its deltas, in registers while it streams the rows of
# W once. Block width, input count (1-4; more run a loop) and activation reach each block as
# constants through inline functions (setup.py makes every ``cdef inline`` inline), so the
# compiler unrolls every block completely and folds the dispatch away: a 2-2-1 network is
# three straight-line blocks. Dispatch on a layer's shape runs once per layer.

cdef enum:
    LINEAR = -1  # a layer's pre-activation only (the logits a fused loss starts from)


cdef struct Layer:
    # One dense layer as the per-sample path sees it: its shape and where its data live
    Py_ssize_t k, n          # inputs and units
    int act                  # the activation; LINEAR for an output the loss starts from
    double dropout           # dropout rate (hidden layers), 0 for none
    real *W                  # k x n, row-major, inside the flat parameter buffer
    real *b
    Py_ssize_t w_at, b_at    # offsets of W and b in the flat buffer (optimizer state)
    real *a                  # the layer's output for the current row
    real *d                  # f'(z) there (the output layer's: MSE per sample only)


cdef inline bint mse_output(const Net *net) noexcept nogil:
    """MSE on an elementwise output: per sample, f and f' come out of the forward pass like
    a hidden layer's (the fused losses, and softmax under MSE, start from the logits)."""
    return net.loss == MSE and net.act[net.L - 1] != SOFTMAX


# --- forward: z := f(a @ W + b), d := f'(...) for one row ----------------------------------

cdef inline void forward_block(const real *a, const real *W, const real *b, real *z,
                               real *d, Py_ssize_t k, Py_ssize_t n, elementwise f,
                               elementwise f_prime, Py_ssize_t w) noexcept nogil:
    """Units [:w] (W's rows n apart); f NULL: the sums only."""
    cdef real s[4]
    cdef Py_ssize_t p, j
    cdef real ap, value
    for j in range(w):
        s[j] = b[j]
    for p in range(k):
        ap = a[p]
        for j in range(w):
            s[j] += ap * W[p * n + j]
    for j in range(w):
        if f == NULL:
            z[j] = s[j]
        else:
            value = f(s[j])
            d[j] = f_prime(value)
            z[j] = value


cdef inline void forward_columns(const real *a, const real *W, const real *b, real *z,
                                 real *d, Py_ssize_t k, Py_ssize_t n, elementwise f,
                                 elementwise f_prime) noexcept nogil:
    """``forward_block`` over the layer's units, four at a time."""
    cdef Py_ssize_t j = 0
    while n - j >= 4:
        forward_block(a, W + j, b + j, z + j, d + j, k, n, f, f_prime, 4)
        j += 4
    if n - j == 3:
        forward_block(a, W + j, b + j, z + j, d + j, k, n, f, f_prime, 3)
    elif n - j == 2:
        forward_block(a, W + j, b + j, z + j, d + j, k, n, f, f_prime, 2)
    elif n - j == 1:
        forward_block(a, W + j, b + j, z + j, d + j, k, n, f, f_prime, 1)


cdef inline void forward_blocks(const real *a, const real *W, const real *b, real *z,
                                real *d, Py_ssize_t k, Py_ssize_t n, elementwise f,
                                elementwise f_prime) noexcept nogil:
    """``forward_columns`` with 1-4 inputs as a constant (unrolled), more in a loop."""
    if k == 2:
        forward_columns(a, W, b, z, d, 2, n, f, f_prime)
    elif k == 1:
        forward_columns(a, W, b, z, d, 1, n, f, f_prime)
    elif k == 3:
        forward_columns(a, W, b, z, d, 3, n, f, f_prime)
    elif k == 4:
        forward_columns(a, W, b, z, d, 4, n, f, f_prime)
    else:
        forward_columns(a, W, b, z, d, k, n, f, f_prime)


cdef struct Row:
    const real *a
    const real *W
    const real *b
    real *z
    real *d
    Py_ssize_t k, n


cdef inline void row_body(void *args, elementwise f, elementwise f_prime) noexcept nogil:
    cdef Row *r = <Row *> args
    forward_blocks(r.a, r.W, r.b, r.z, r.d, r.k, r.n, f, f_prime)


cdef inline void forward_row(const Layer *ly, const real *a) noexcept nogil:
    """One row through a dense layer: ly.a := f(a @ W + b), ly.d := f'(...), one pass."""
    cdef Row r
    cdef int act = ly.act  # one read: the body's stores could alias ly
    r.a = a
    r.W = ly.W
    r.b = ly.b
    r.z = ly.a
    r.d = ly.d
    r.k = ly.k
    r.n = ly.n
    if act == LINEAR:
        forward_blocks(a, ly.W, ly.b, ly.a, ly.d, ly.k, ly.n, NULL, NULL)
    else:
        per_activation(act, row_body, &r)


# --- backward and plain SGD, fused: one pass over W per layer -----------------------------

cdef inline void descend_block(const real *a, const real *delta, real *W, real *b,
                               real *out, const real *dprev, Py_ssize_t k, Py_ssize_t n,
                               real lr, bint first, bint last, Py_ssize_t w) noexcept nogil:
    """SGD on columns [:w] of a layer for one row: out[p] (+)= delta[:w] . W[p, :w], times
    dprev[p] after the ``last`` block (the previous layer's delta; out NULL: none), then
    W[p, :w] -= lr a[p] delta[:w] and b[:w] -= lr delta[:w]. The ``first`` block writes
    out, later ones add to it."""
    cdef real dl[4]
    cdef real *row
    cdef real s, ap
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


cdef inline void descend_columns(const real *a, const real *delta, real *W,
                                 real *b, real *out, const real *dprev, Py_ssize_t k,
                                 Py_ssize_t n, real lr) noexcept nogil:
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


cdef inline void descend_row(const real *a, const real *delta, real *W, real *b,
                             real *out, const real *dprev, Py_ssize_t k, Py_ssize_t n,
                             real lr) noexcept nogil:
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


# --- one SGD step on one row ----------------------------------------------------------------

cdef struct Sample:
    # What per-sample SGD reads at every step, fixed for the run (set up by train_epochs);
    # b's delta and scratch buffers hold the backpropagated errors, in turns
    const Batch *b           # the run's network, parameters, optimizer, moments, buffers
    const Layer *layers
    int64_t *step            # the update count
    bint plain               # SGD without momentum or penalty: the register-blocked rule
    bint mse                 # MSE on an elementwise output: f and f' from the forward pass
    double loss1             # loss_scale(net, 1): one sample's summed loss to its mean
    bint fixed_rates         # a constant learning rate, not Adam: ``rates`` for every step
    Rates rates


cdef inline double sample_step(const Sample *s, const real *x, const real *y,
                               const real *w, double *correct) noexcept nogil:
    """Per-sample SGD (batch of one row), fused: forward, then per layer, top down, the
    backpropagated delta and the update of that layer's parameters in the same pass over W.

    Equal to the reference's ``_backprop`` followed by ``update`` on one row (each row of
    W_l is read for the previous layer's delta before it is updated), without the gradient
    buffer or a BLAS call. ``s.plain`` (SGD without momentum or penalty, the classic
    per-sample rule) runs register-blocked (``descend_row``); other optimizers step each
    parameter through ``update_one``. Returns the sample's (weighted) loss.
    """
    cdef const Batch *b = s.b
    cdef const Net *net = b.net
    cdef const Layer *layers = s.layers
    cdef const Hyper *h = b.h
    cdef real *delta0 = b.delta
    cdef real *delta1 = b.scratch
    cdef Py_ssize_t l, L = net.L, n, k, j, p
    cdef const Layer *ly
    cdef const real *a_in = x
    cdef const real *dprev
    cdef real *row
    cdef real *tmp
    cdef double total = 0.0, scale
    cdef real acc, ap, diff
    for l in range(L):
        ly = layers + l
        forward_row(ly, a_in)
        if b.dropout != NULL and ly.dropout > 0.0:
            dropout_mask(b.bg, ly.a, ly.d, ly.n, ly.dropout)
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
    cdef Rates computed
    cdef const Rates *r = &s.rates
    if not s.fixed_rates:
        computed = step_rates(h, s.step[0])
        r = &computed
    cdef real lr = r.lr
    for l in range(L - 1, -1, -1):
        ly = layers + l
        n = ly.n
        k = ly.k
        a_in = x if l == 0 else layers[l - 1].a
        dprev = NULL if l == 0 else layers[l - 1].d
        if s.plain:
            descend_row(a_in, delta0, ly.W, ly.b, NULL if l == 0 else delta1, dprev, k, n, lr)
        else:
            for j in range(n):
                update_one(h, r[0], b.params, b.m, b.v, ly.b_at + j, delta0[j])
            for p in range(k):
                row = ly.W + p * n
                if dprev != NULL:
                    acc = 0.0
                    for j in range(n):
                        acc += delta0[j] * row[j]
                    delta1[p] = acc * dprev[p]
                ap = a_in[p]
                for j in range(n):
                    update_one(h, r[0], b.params, b.m, b.v, ly.w_at + p * n + j,
                               ap * delta0[j] + penalty_gradient(h.l1, h.l2, row[j]))
        tmp = delta0
        delta0 = delta1
        delta1 = tmp
    s.step[0] += 1
    return total
