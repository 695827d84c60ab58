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
    bint training            # batch normalisation by the batch's statistics (else running)
    bint track               # training: the batch moves the running statistics
    real *xhat               # a normalised hidden layer's xhat, at xhat + der_off[l]
    real *bn_stats           # per hidden unit (unit_off): inv_std, mean, var, then scratch
    Py_ssize_t n_hidden      # hidden units in all (bn_stats' stride)
    Py_ssize_t layer         # the layer a batch-normalised batch's phase is at
    bitgen_t *bg
    int mode                 # FORWARD, GRADIENT, DESCEND or UPDATE
    real *grad               # GRADIENT and UPDATE: the gradient of the batch's mean loss
    double clip_scale        # UPDATE with a clipped norm: the gradient's factor
    real lr                  # DESCEND: SGD's learning rate
    real mu                  # DESCEND: its momentum (0: plain SGD; velocity in m)
    real *colsum             # DESCEND: the bias gradients (one per bias)
    const Hyper *h           # UPDATE: the optimizer
    double l1, l2            # UPDATE: the penalty's strengths for this batch
    bint squares             # UPDATE: also sum |W| and W^2 before the step (into abs_sum,
    double abs_sum, sq_sum   # sq_sum: scikit-learn reports the penalty at those weights)
    Rates rates              # UPDATE: its rates for this step
    Moments state            # the optimizer's moments (flat layout)
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


cdef inline void forward_rows(const Batch *b, Py_ssize_t l, Py_ssize_t r0,
                              Py_ssize_t m) noexcept nogil:
    """z := layer l's pre-activation for rows r0:r0+m, from the batch's input or layer l-1's
    outputs."""
    cdef const Net *net = b.net
    cdef Py_ssize_t k = net.size[l], n = net.size[l + 1]
    cdef const real *a_in = b.X + r0 * k if l == 0 else b.acts + b.act_off[l] + r0 * k
    cdef real *z = b.acts + b.act_off[l + 1] + r0 * n
    if l == 0 and b.sparse != NULL:
        sparse_forward(b.sparse, NULL if b.order == NULL else b.order + r0, b.first + r0,
                       b.params + net.w_off[0], b.params + net.b_off[0], z, m, n)
    else:
        dense_forward(a_in, b.params + net.w_off[l], b.params + net.b_off[l], z, m, k, n)


cdef inline void activate_rows(const Batch *b, Py_ssize_t l, Py_ssize_t r0,
                               Py_ssize_t m) noexcept nogil:
    """Hidden layer l's activation (and dropout) of rows r0:r0+m, in place; f' beside it."""
    cdef const Net *net = b.net
    cdef Py_ssize_t n = net.size[l + 1]
    cdef real *z = b.acts + b.act_off[l + 1] + r0 * n
    cdef real *d = b.derivs + b.der_off[l] + r0 * n
    # a ReLU layer's f' is read back from its outputs
    activate(net.act[l], z, NULL if relu_only(net, b.dropout, l) else d, m, n, net.alpha[l])
    if b.dropout != NULL and b.dropout[l] > 0.0:
        dropout_mask(b.bg, z, d, m * n, b.dropout[l])


cdef inline void output_rows(Batch *b, int part, Py_ssize_t r0, Py_ssize_t m) noexcept nogil:
    """The loss, correct predictions and output delta of rows r0:r0+m, as the part's."""
    cdef const Net *net = b.net
    cdef Py_ssize_t n = net.size[net.L]
    cdef double correct = 0.0
    b.loss[part] = output_step(net, b.acts + b.act_off[net.L] + r0 * n, b.Y + r0 * n,
                               rows_from(b.w, r0), b.w_mean, b.delta + r0 * n, m, b.scale,
                               &correct)
    b.correct[part] = correct


cdef inline void backward_rows(const Batch *b, Py_ssize_t l, Py_ssize_t r0,
                               Py_ssize_t m) noexcept nogil:
    """delta_{l-1} := (delta_l @ W_l^T) * f'(z_{l-1}) for rows r0:r0+m, in place of f'."""
    cdef const Net *net = b.net
    cdef Py_ssize_t k = net.size[l], n = net.size[l + 1]
    cdef real *out = b.derivs + b.der_off[l - 1] + r0 * k
    if relu_only(net, b.dropout, l - 1):
        dense_backward(layer_delta(b, l) + r0 * n, b.params + net.w_off[l], NULL,
                       b.acts + b.act_off[l] + r0 * k, out, m, k, n)
    else:
        dense_backward(layer_delta(b, l) + r0 * n, b.params + net.w_off[l], out, NULL,
                       b.scratch + r0 * b.width, m, k, n)
        memcpy(out, b.scratch + r0 * b.width, m * k * sizeof(real))


cdef void batch_rows(void *ctx, int part, int parts) noexcept nogil:
    """Forward pass, loss and every layer's delta for the part's share of the batch's rows.

    Each row's outputs and deltas depend on that row alone (and on the parameters, not
    changed until ``batch_params``), so the parts are independent. Dropout draws its masks
    in row order and runs as one part (see ``train_epochs``)."""
    cdef Batch *b = <Batch *> ctx
    cdef Py_ssize_t l, L = b.net.L, r0 = share(b.rows, part, parts)
    cdef Py_ssize_t m = share(b.rows, part + 1, parts) - r0
    b.loss[part] = 0.0
    b.correct[part] = 0.0
    if m == 0:
        return
    if b.order != NULL:
        gather_rows(b, r0, m)
    for l in range(L):
        forward_rows(b, l, r0, m)
        if l < L - 1:
            activate_rows(b, l, r0, m)
    output_rows(b, part, r0, m)
    if b.mode == FORWARD:
        return
    for l in range(L - 1, 0, -1):
        backward_rows(b, l, r0, m)


# A batch-normalised batch: a hidden layer's statistics need all its rows before its
# activation, and its delta all its rows before the layer below's, so the passes go layer
# by layer, each in a phase by rows (dense layers, activations, loss) and a phase by columns
# (the normalisation); any number of parts computes the same numbers. ``Batch.layer`` says
# which layer a phase is at.

cdef void normalised_rows(void *ctx, int part, int parts) noexcept nogil:
    """Rows phase at layer l = b.layer: layer l-1's activation, then layer l's z (at the
    output, the loss and its delta)."""
    cdef Batch *b = <Batch *> ctx
    cdef Py_ssize_t l = b.layer, r0 = share(b.rows, part, parts)
    cdef Py_ssize_t m = share(b.rows, part + 1, parts) - r0
    if l == b.net.L - 1:
        b.loss[part] = 0.0
        b.correct[part] = 0.0
    if m == 0:
        return
    if l == 0 and b.order != NULL:
        gather_rows(b, r0, m)
    if l > 0:
        activate_rows(b, l - 1, r0, m)
    forward_rows(b, l, r0, m)
    if l == b.net.L - 1:
        output_rows(b, part, r0, m)


cdef void normalised_columns(void *ctx, int part, int parts) noexcept nogil:
    """Columns phase of hidden layer l = b.layer: its batch normalisation, in place (by the
    batch's statistics when training, which move the running ones when tracking)."""
    cdef Batch *b = <Batch *> ctx
    cdef const Net *net = b.net
    cdef Py_ssize_t l = b.layer, n = net.size[l + 1], H = b.n_hidden
    cdef Py_ssize_t j0 = share(n, part, parts), w = share(n, part + 1, parts) - j0
    cdef real *z = b.acts + b.act_off[l + 1] + j0
    cdef real *gamma = b.params + net.norm_off[l] + j0
    cdef real *stats = b.params + net.stat_off[l] + j0
    cdef real *inv_std = b.bn_stats + net.unit_off[l] + j0
    if w == 0:
        return
    if not b.training:
        batch_norm_inference(z, gamma, gamma + n, stats, stats + n, b.bn_stats + 3 * H + 2 * j0,
                             b.rows, w, n)
        return
    batch_norm_forward(z, gamma, gamma + n, b.xhat + b.der_off[l] + j0, inv_std, inv_std + H,
                       inv_std + 2 * H, b.rows, w, n)
    if b.track:
        batch_norm_running(stats, stats + n, inv_std + H, inv_std + 2 * H, b.rows, w)


cdef void normalised_deltas(void *ctx, int part, int parts) noexcept nogil:
    """Rows phase of the backward pass at layer l = b.layer: delta_{l-1} from delta_l."""
    cdef Batch *b = <Batch *> ctx
    cdef Py_ssize_t r0 = share(b.rows, part, parts), m = share(b.rows, part + 1, parts) - r0
    if m > 0:
        backward_rows(b, b.layer, r0, m)


cdef void normalised_gradient(void *ctx, int part, int parts) noexcept nogil:
    """Columns phase of the backward pass: hidden layer l = b.layer's delta through its
    batch's statistics, and its d_gamma, d_beta into the gradient."""
    cdef Batch *b = <Batch *> ctx
    cdef const Net *net = b.net
    cdef Py_ssize_t l = b.layer, n = net.size[l + 1]
    cdef Py_ssize_t j0 = share(n, part, parts), w = share(n, part + 1, parts) - j0
    cdef real *d_gamma = b.grad + net.norm_off[l] + j0
    if w > 0:
        batch_norm_backward(b.derivs + b.der_off[l] + j0, b.xhat + b.der_off[l] + j0,
                            b.params + net.norm_off[l] + j0, b.bn_stats + net.unit_off[l] + j0,
                            d_gamma, d_gamma + n, b.bn_stats + 3 * b.n_hidden + j0, b.rows, w, n)


cdef void run_normalised(Batch *b, int parts) noexcept nogil:
    """A batch-normalised batch's forward pass, loss and deltas, phase by phase."""
    cdef Py_ssize_t l, L = b.net.L
    for l in range(L):
        b.layer = l
        team_run(normalised_rows, b, parts)
        if l < L - 1:
            team_run(normalised_columns, b, parts)
    if b.mode == FORWARD:
        return
    for l in range(L - 1, 0, -1):
        b.layer = l
        team_run(normalised_deltas, b, parts)
        b.layer = l - 1
        team_run(normalised_gradient, b, parts)


cdef inline void step_share(Batch *b, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """Clip and step the parameters start:stop whose gradient is there (no penalty: not
    weights); with a clipped norm the step waits for the whole gradient."""
    if b.h.clip_value != 0.0:
        clip_values(b.grad, start, stop, b.h.clip_value)
    if b.h.clip_norm == 0.0:
        update(b.h, b.rates, b.params, b.grad, b.state, start, stop)


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
            descend_bias(g, b.params + b_at, b.state.m + b_at, j1 - j0, b.lr, b.mu)
            descend_weights(A + p0, k, D, b.params + w_at, b.state.m + w_at, b.rows, p1 - p0, n,
                            b.lr, b.mu)
            continue
        bias_gradient(D + j0, n, b.grad + b_at, b.rows, j1 - j0)
        if l == 0 and b.sparse != NULL:
            sparse_weight_gradient(b.sparse, b.order, b.first, D, b.grad + w_at, b.rows, p0,
                                   p1, n)
        else:
            weight_gradient(A + p0, k, D, b.grad + w_at, b.rows, p1 - p0, n, 1.0, 0.0)
        if b.mode == UPDATE and net.batch_norm and l < net.L - 1:  # gamma's, beta's share
            step_share(b, net.norm_off[l] + j0, net.norm_off[l] + j1)
            step_share(b, net.norm_off[l] + n + j0, net.norm_off[l] + n + j1)
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
            if b.h.clip_value != 0.0:
                clip_values(b.grad, w_at, w_end, b.h.clip_value)
                clip_values(b.grad, b_at, b_at + j1 - j0, b.h.clip_value)
            if b.h.clip_norm != 0.0:  # the step waits for the whole gradient's norm
                continue
            update(b.h, b.rates, b.params, b.grad, b.state, w_at, w_end)
            update(b.h, b.rates, b.params, b.grad, b.state, b_at, b_at + j1 - j0)
    b.part_abs[part] = abs_sum
    b.part_sq[part] = sq_sum


cdef void batch_step(void *ctx, int part, int parts) noexcept nogil:
    """The step of a gradient clipped by its global norm: the part's share of the flat
    buffer, scaled by ``clip_scale``, then updated."""
    cdef Batch *b = <Batch *> ctx
    cdef Py_ssize_t i, start = share(b.net.n_trainable, part, parts)
    cdef Py_ssize_t stop = share(b.net.n_trainable, part + 1, parts)
    cdef real scale = b.clip_scale
    if b.clip_scale < 1.0:
        for i in range(start, stop):
            b.grad[i] *= scale
    update(b.h, b.rates, b.params, b.grad, b.state, start, stop)


cdef double run_batch(Batch *b, int parts, double *correct) noexcept nogil:
    """One batch in ``parts`` parts (1: on this thread): ``batch_rows``, then (unless
    FORWARD) ``batch_params`` once every delta is there. Returns the summed loss and adds the
    correct predictions to ``correct``.

    Every layer's delta is computed from the parameters before any of them steps, as
    ``update`` after a whole backward pass does."""
    cdef int t
    cdef double total = 0.0
    if b.net.batch_norm:
        run_normalised(b, parts)
    else:
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
    if b.mode == UPDATE and b.h.clip_norm != 0.0:  # the whole gradient first, then the step
        b.clip_scale = norm_scale(b.grad, b.net.n_trainable, b.h.clip_norm)
        team_run(batch_step, b, parts)
    return total


cdef double full_batch(spec, const real *params, Input X, const real[:, ::1] Y,
                       const real *w, double w_mean, real *grad, bint training,
                       double *correct):
    """Summed loss of (X, Y) in one batch; grad := gradient of the mean unless NULL. Batch
    normalisation by the batch's statistics when ``training``, else by the running ones."""
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
    b.training = training
    b.grad = grad
    cdef double total
    with nogil:
        total = run_batch(&b, 1, correct)
    return total
