# One mini-batch through the network (no reference twin: the reference's _backprop does it
# with whole arrays): the batch's forward pass, loss and deltas by shares of its rows, then
# its gradient and step by shares of the parameters, each share a part a team's thread can
# run (nnfast._team). The pieces are the sections' (dense layer, activations, losses,
# randomness, optimizers); what is here decides where each layer's data lives and who
# computes what.
# ``full_batch`` is evaluate's and loss_and_gradient's whole data set as one batch.

cdef enum:
    FORWARD, GRADIENT, DESCEND, UPDATE  # what a batch does after its forward pass


cdef struct Batch:
    # One mini-batch and what to do with it, shared by the parts of a team (see run_batch)
    const Net *net
    real *params
    const real *X            # the batch's input, m x size[0]
    const real *Y            # its targets, m x size[L]
    const real *w            # its sample weights (NULL: none)
    double w_mean            # the data set's mean sample weight
    double scale             # the output delta's factor (loss_scale of the batch's rows)
    Py_ssize_t rows
    const intp *order        # NULL, or the data set's rows making the batch (gather_rows)
    const real *data_X       # the data set, from which each part gathers its rows
    const real *data_Y
    const real *data_w
    const Rows *sparse       # the data set's rows when X is sparse (X unused), else NULL
    Py_ssize_t first         # sparse, in place (order NULL): the batch's first row
    real *acts               # layer l's output at acts + act_off[l + 1] (batch-sized blocks)
    const intp *act_off
    real *derivs             # a hidden layer's f', then its delta, at derivs + der_off[l]
    const intp *der_off
    real *delta              # the output layer's delta
    real *scratch            # a non-ReLU hidden layer's delta before it replaces f'
    Py_ssize_t width         # scratch's values per row: the widest layer's units
    const double *dropout    # per-layer rates, or NULL
    bitgen_t *bg
    int mode                 # FORWARD, GRADIENT, DESCEND or UPDATE
    real *grad               # GRADIENT and UPDATE: the gradient of the batch's mean loss
    real lr                  # DESCEND: SGD's learning rate
    real mu                  # DESCEND: its momentum (0: plain SGD; velocity in m)
    real *colsum             # DESCEND: the bias gradients (one per bias)
    const Hyper *h           # UPDATE: the optimizer
    double l1, l2            # UPDATE: the penalty's strengths for this batch
    bint squares             # UPDATE: also sum |W| and W^2 before the step (into abs_sum,
    double abs_sum, sq_sum   # sq_sum: scikit-learn reports the penalty at those weights)
    Rates rates              # UPDATE: its rates for this step
    real *m                  # the optimizer's moments (flat layout)
    real *v
    double loss[TEAM_MAX]    # summed loss of each part's rows
    double correct[TEAM_MAX]  # correct predictions of each part's rows
    double part_abs[TEAM_MAX]  # each part's share of abs_sum and sq_sum
    double part_sq[TEAM_MAX]


cdef inline bint relu_only(const Net *net, const double *dropout, Py_ssize_t l) noexcept nogil:
    """Hidden layer l is ReLU without dropout: its f' is its output's sign, not stored."""
    return net.act[l] == RELU and (dropout == NULL or dropout[l] == 0.0)


cdef inline real *layer_delta(const Batch *b, Py_ssize_t l) noexcept nogil:
    """Where layer l's delta lives once computed: the output's own buffer, a hidden layer's
    in place of its f'."""
    return b.delta if l == b.net.L - 1 else b.derivs + b.der_off[l]


cdef inline void gather_rows(const Batch *b, Py_ssize_t r0, Py_ssize_t m) noexcept nogil:
    """Copy rows r0:r0+m of the batch from the data set into its buffers (memcpy: wide
    copies), so each part copies its own share, into its own cache, right before using it."""
    cdef Py_ssize_t i, r, d = b.net.size[0], k = b.net.size[b.net.L]
    for i in range(r0, r0 + m):
        r = b.order[i]
        if b.sparse == NULL:  # sparse rows are read where they are
            memcpy(<real *> b.X + i * d, b.data_X + r * d, d * sizeof(real))
        memcpy(<real *> b.Y + i * k, b.data_Y + r * k, k * sizeof(real))
        if b.data_w != NULL:
            (<real *> b.w)[i] = b.data_w[r]


cdef void batch_rows(void *ctx, int part, int parts) noexcept nogil:
    """Forward pass, loss and every layer's delta for the part's share of the batch's rows.

    Each row's outputs and deltas depend on that row alone (and on the parameters, not
    changed until ``batch_params``), so the parts are independent. Dropout draws its masks
    in row order and runs as one part (see ``train_epochs``)."""
    cdef Batch *b = <Batch *> ctx
    cdef const Net *net = b.net
    cdef Py_ssize_t l, L = net.L, k, n, r0 = share(b.rows, part, parts)
    cdef Py_ssize_t m = share(b.rows, part + 1, parts) - r0
    cdef const real *a_in = b.X + r0 * net.size[0]
    cdef real *z = NULL
    cdef real *d
    cdef real *out
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
        if l == 0 and b.sparse != NULL:
            sparse_forward(b.sparse, NULL if b.order == NULL else b.order + r0, b.first + r0,
                           b.params + net.w_off[0], b.params + net.b_off[0], z, m, n)
        else:
            dense_forward(a_in, b.params + net.w_off[l], b.params + net.b_off[l], z, m, k, n)
        if l < L - 1:
            d = b.derivs + b.der_off[l] + r0 * n
            # a ReLU layer's f' is read back from its outputs
            activate(net.act[l], z, NULL if relu_only(net, b.dropout, l) else d, m, n)
            if b.dropout != NULL and b.dropout[l] > 0.0:
                dropout_mask(b.bg, z, d, m * n, b.dropout[l])
        a_in = z
    n = net.size[L]
    b.loss[part] = output_step(net, z, b.Y + r0 * n, rows_from(b.w, r0),
                               b.w_mean, b.delta + r0 * n, m, b.scale, &correct)
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
            memcpy(out, b.scratch + r0 * b.width, m * k * sizeof(real))


cdef void batch_params(void *ctx, int part, int parts) noexcept nogil:
    """Every layer's gradient for the part's share of W's rows and of b, and its step.

    W_l's rows p0:p1 need columns p0:p1 of the layer's input and the whole delta; b's entries
    j0:j1 the delta's columns j0:j1. Parts own disjoint parameters, and each sum runs over
    the batch's rows in order, so any number of parts computes the same numbers."""
    cdef Batch *b = <Batch *> ctx
    cdef const Net *net = b.net
    cdef Py_ssize_t i, l, k, n, p0, p1, j0, j1, w_at, b_at, w_end
    cdef const real *A
    cdef const real *D
    cdef real *g
    cdef double abs_sum = 0.0, sq_sum = 0.0
    cdef real w
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
        w_end = w_at + (p1 - p0) * n
        b_at = net.b_off[l] + j0
        if b.mode == DESCEND:
            g = b.colsum + (b_at - net.n_weights)  # b's gradient: its own place, not shared
            bias_gradient(D + j0, n, g, b.rows, j1 - j0)
            descend_bias(g, b.params + b_at, b.m + b_at, j1 - j0, b.lr, b.mu)
            descend_weights(A + p0, k, D, b.params + w_at, b.m + w_at, b.rows, p1 - p0, n, b.lr,
                            b.mu)
            continue
        bias_gradient(D + j0, n, b.grad + b_at, b.rows, j1 - j0)
        if l == 0 and b.sparse != NULL:
            sparse_weight_gradient(b.sparse, b.order, b.first, D, b.grad + w_at, b.rows, p0,
                                   p1, n)
        else:
            weight_gradient(A + p0, k, D, b.grad + w_at, b.rows, p1 - p0, n, 1.0, 0.0)
        if b.mode == UPDATE:
            if b.squares:
                for i in range(w_at, w_end):
                    w = b.params[i]
                    abs_sum += fabs(w)
                    sq_sum += w * w
                    b.grad[i] += penalty_gradient(b.l1, b.l2, w)
            elif b.l1 != 0.0 or b.l2 != 0.0:
                for i in range(w_at, w_end):
                    b.grad[i] += penalty_gradient(b.l1, b.l2, b.params[i])
            update(b.h, b.rates, b.params, b.grad, b.m, b.v, w_at, w_end)
            update(b.h, b.rates, b.params, b.grad, b.m, b.v, b_at, b_at + j1 - j0)
    b.part_abs[part] = abs_sum
    b.part_sq[part] = sq_sum


cdef double run_batch(Batch *b, int parts, double *correct) noexcept nogil:
    """One batch in ``parts`` parts (1: on this thread): ``batch_rows``, then (unless
    FORWARD) ``batch_params`` once every delta is there. Returns the summed loss and adds the
    correct predictions to ``correct``.

    Every layer's delta is computed from the parameters before any of them steps, as
    ``update`` after a whole backward pass does."""
    cdef int t
    cdef double total = 0.0
    team_run(batch_rows, b, parts)
    for t in range(parts):
        total += b.loss[t]
        correct[0] += b.correct[t]
    if b.mode != FORWARD:
        team_run(batch_params, b, parts)
        b.abs_sum = 0.0
        b.sq_sum = 0.0
        for t in range(parts):
            b.abs_sum += b.part_abs[t]
            b.sq_sum += b.part_sq[t]
    return total


cdef double full_batch(spec, const real *params, Input X, const real[:, ::1] Y,
                       const real *w, double w_mean, real *grad, double *correct):
    """Summed loss of (X, Y) in one batch; grad := gradient of the mean unless NULL."""
    cdef Workspace ws = Workspace(spec, X.n, X.n, sparse=X.is_sparse)
    cdef Batch b = ws.batch(<real *> params, NULL, NULL)  # read, not written
    b.X = X.dense
    b.sparse = &X.rows if X.is_sparse else NULL
    b.first = 0
    b.Y = &Y[0, 0]
    b.w = w
    b.w_mean = w_mean
    b.rows = X.n
    b.scale = loss_scale(b.net, b.rows)
    b.mode = FORWARD if grad == NULL else GRADIENT
    b.grad = grad
    cdef double total
    with nogil:
        total = run_batch(&b, 1, correct)
    return total
