# Losses: the twin of nnfast/_reference/losses.py.
#
# Each loss is its output delta (the summed loss, and its gradient w.r.t. the output layer's
# pre-activation Z) and its count of correct predictions, and one entry in ``per_loss``, the
# only list of loss codes on this side. The regression losses (mse, mae, huber) are a loss of
# the difference d = f(z) - y and its derivative, chained through any output activation by
# ``pointwise_delta``. Sigmoid + binary cross-entropy, softmax + cross-entropy and exp +
# Poisson are evaluated from the logits Z, which keeps them finite for saturated units.

cdef enum:  # nnfast/_spec.py's loss codes (a test checks they agree)
    MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY, MAE, HUBER, POISSON

ctypedef double (*loss_delta)(int code, real alpha, real *Z, const real *Y, real *delta,
                              Py_ssize_t m, Py_ssize_t n, double scale) noexcept nogil
ctypedef Py_ssize_t (*loss_correct)(const real *Z, const real *Y, Py_ssize_t m,
                                    Py_ssize_t n) noexcept nogil
ctypedef void (*loss_body)(void *args, loss_delta delta, loss_correct correct,
                           bint per_element) noexcept nogil
ctypedef real (*pointwise)(real d) noexcept nogil


cdef inline double pointwise_delta(int code, real alpha, real *Z, const real *Y, real *delta,
                                   Py_ssize_t m, Py_ssize_t n, double scale, pointwise loss,
                                   pointwise gradient) noexcept nogil:
    """Sum of loss(f(Z) - Y) for the output activation ``code`` (parameter alpha); delta :=
    scale * its gradient w.r.t. Z, gradient(d) times f'(Z) (softmax: its Jacobian). Z
    becomes f(Z)."""
    cdef Py_ssize_t i, j, size = m * n
    cdef double total = 0.0
    cdef real d
    cdef real *zr
    cdef const real *yr
    cdef real *dr
    activate(code, Z, NULL if code == SOFTMAX else delta, m, n, alpha)  # delta := f'(Z)
    if code == SOFTMAX:
        for i in range(m):
            zr = Z + i * n
            yr = Y + i * n
            dr = delta + i * n
            for j in range(n):
                d = zr[j] - yr[j]
                dr[j] = gradient(d)
                total += loss(d)
            softmax_backward(zr, dr, dr, n, scale)
        return total
    for i in range(size):
        d = Z[i] - Y[i]
        total += loss(d)
        delta[i] = scale * gradient(d) * delta[i]
    return total


cdef inline real squared(real d) noexcept nogil:
    return d * d


cdef inline real squared_gradient(real d) noexcept nogil:
    return 2.0 * d


cdef inline double mse_delta(int code, real alpha, real *Z, const real *Y, real *delta,
                             Py_ssize_t m, Py_ssize_t n, double scale) noexcept nogil:
    """Sum of (f(Z) - Y)^2."""
    return pointwise_delta(code, alpha, Z, Y, delta, m, n, scale, squared, squared_gradient)


cdef inline real absolute(real d) noexcept nogil:
    return fabs(d)


cdef inline real absolute_gradient(real d) noexcept nogil:
    return <real> (d > 0.0) - <real> (d < 0.0)  # sign(d), 0 at 0 as torch's L1Loss


cdef inline double mae_delta(int code, real alpha, real *Z, const real *Y, real *delta,
                             Py_ssize_t m, Py_ssize_t n, double scale) noexcept nogil:
    """Sum of |f(Z) - Y|."""
    return pointwise_delta(code, alpha, Z, Y, delta, m, n, scale, absolute, absolute_gradient)


cdef inline real huber(real d) noexcept nogil:
    """d**2 / 2 where |d| < 1, else |d| - 1/2 (torch's HuberLoss, delta 1)."""
    cdef real a = fabs(d)
    cdef real inside = 0.5 * d * d
    cdef real outside = a - 0.5
    return inside if a < 1.0 else outside


cdef inline real huber_gradient(real d) noexcept nogil:
    """d clipped to [-1, 1]."""
    return -1.0 if d < -1.0 else (1.0 if d > 1.0 else d)


cdef inline double huber_delta(int code, real alpha, real *Z, const real *Y, real *delta,
                               Py_ssize_t m, Py_ssize_t n, double scale) noexcept nogil:
    """Sum of huber(f(Z) - Y)."""
    return pointwise_delta(code, alpha, Z, Y, delta, m, n, scale, huber, huber_gradient)


cdef inline double poisson_delta(int code, real alpha, real *Z, const real *Y, real *delta,
                                 Py_ssize_t m, Py_ssize_t n, double scale) noexcept nogil:
    """The output is exp(z), a rate: sum of exp(z) - y z, the Poisson negative
    log-likelihood without log(y!) (torch's PoissonNLLLoss(log_input=True)), from the
    logits Z."""
    cdef Py_ssize_t i
    cdef double total = 0.0
    cdef real e
    for i in range(m * n):
        e = fast_exp(Z[i])
        total += e - Y[i] * Z[i]
        delta[i] = scale * (e - Y[i])
    return total


cdef inline double binary_cross_entropy_delta(int code, real alpha, real *Z, const real *Y,
                                              real *delta, Py_ssize_t m, Py_ssize_t n,
                                              double scale) noexcept nogil:
    """The output is a sigmoid: sum of -(y ln p + (1 - y) ln(1 - p)) from the logits Z."""
    cdef Py_ssize_t i
    cdef double total = 0.0
    cdef real z, y
    for i in range(m * n):
        z = Z[i]
        y = Y[i]
        total += (z if z > 0.0 else 0.0) - y * z + log1p(fast_exp(-fabs(z)))
        delta[i] = scale * (sigmoid(z, 0.0) - y)
    return total


cdef inline double cross_entropy_delta(int code, real alpha, real *Z, const real *Y,
                                       real *delta, Py_ssize_t m, Py_ssize_t n,
                                       double scale) noexcept nogil:
    """The output is a softmax: sum over rows of -sum_k y_k ln p_k, from the logits Z."""
    cdef Py_ssize_t i, j
    cdef double total = 0.0
    cdef real ysum, lse
    cdef const real *zr
    cdef const real *yr
    cdef real *dr
    for i in range(m):
        zr = Z + i * n
        yr = Y + i * n
        dr = delta + i * n
        ysum = 0.0
        for j in range(n):
            ysum += yr[j]
            total -= yr[j] * zr[j]
        lse = softmax(zr, dr, n, ysum)  # dr := softmax(z) * sum(y)
        total += lse * ysum
        for j in range(n):
            dr[j] = scale * (dr[j] - yr[j])
    return total


cdef inline Py_ssize_t threshold_correct(const real *Z, const real *Y, Py_ssize_t m,
                                         Py_ssize_t n) noexcept nogil:
    """Elements whose logit's side of 0 matches the label's side of 0.5."""
    cdef Py_ssize_t i, count = 0
    for i in range(m * n):
        count += (Z[i] >= 0.0) == (Y[i] >= 0.5)
    return count


cdef inline Py_ssize_t argmax_correct(const real *Z, const real *Y, Py_ssize_t m,
                                      Py_ssize_t n) noexcept nogil:
    """Rows whose largest logit is at the label's largest entry (the first of equals)."""
    cdef Py_ssize_t i, j, zi, yi, count = 0
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


cdef inline void per_loss(int loss, loss_body body, void *args) noexcept nogil:
    """The losses, one entry each: body(args, output delta, correct predictions (NULL: no
    accuracy), whether the mean is over every element rather than over rows)."""
    if loss == MSE:
        body(args, mse_delta, NULL, True)
    elif loss == BINARY_CROSS_ENTROPY:
        body(args, binary_cross_entropy_delta, threshold_correct, True)
    elif loss == CROSS_ENTROPY:
        body(args, cross_entropy_delta, argmax_correct, False)
    elif loss == MAE:
        body(args, mae_delta, NULL, True)
    elif loss == HUBER:
        body(args, huber_delta, NULL, True)
    elif loss == POISSON:
        body(args, poisson_delta, NULL, True)


# --- the bodies -----------------------------------------------------------------------------

cdef struct Output:
    int code            # the output activation
    real alpha          # its parameter
    real *Z
    const real *Y
    real *delta
    Py_ssize_t m, n
    double scale
    double total        # out: the summed loss
    Py_ssize_t correct  # out: correct predictions


cdef inline void delta_body(void *args, loss_delta delta, loss_correct correct,
                            bint per_element) noexcept nogil:
    cdef Output *o = <Output *> args
    o.total = delta(o.code, o.alpha, o.Z, o.Y, o.delta, o.m, o.n, o.scale)


cdef inline void correct_body(void *args, loss_delta delta, loss_correct correct,
                              bint per_element) noexcept nogil:
    cdef Output *o = <Output *> args
    o.correct = 0 if correct == NULL else correct(o.Z, o.Y, o.m, o.n)


cdef struct Kind:
    bint known          # the code is in per_loss
    bint per_element    # the mean is over every element, else over rows
    bint accuracy       # correct predictions are counted


cdef inline void kind_body(void *args, loss_delta delta, loss_correct correct,
                           bint per_element) noexcept nogil:
    (<Kind *> args).known = True
    (<Kind *> args).per_element = per_element
    (<Kind *> args).accuracy = correct != NULL


cdef inline Kind loss_kind(int loss) noexcept nogil:
    cdef Kind k
    k.known = k.per_element = k.accuracy = False
    per_loss(loss, kind_body, &k)
    return k


# --- the pieces -----------------------------------------------------------------------------

cdef inline double output_delta(int loss, int code, real alpha, real *Z, const real *Y,
                                real *delta, Py_ssize_t m, Py_ssize_t n,
                                double scale) noexcept nogil:
    """delta := scale * d(summed loss)/dZ for m rows of n outputs (output activation ``code``,
    parameter alpha); returns the summed loss. Z is used as scratch."""
    cdef Output o
    o.code = code
    o.alpha = alpha
    o.Z = Z
    o.Y = Y
    o.delta = delta
    o.m = m
    o.n = n
    o.scale = scale
    o.total = 0.0
    per_loss(loss, delta_body, &o)
    return o.total


cdef inline Py_ssize_t count_correct(int loss, const real *Z, const real *Y, Py_ssize_t m,
                                     Py_ssize_t n) noexcept nogil:
    """Correct predictions from the output pre-activation Z (0 without an accuracy)."""
    cdef Output o
    o.Z = <real *> Z  # read only
    o.Y = Y
    o.m = m
    o.n = n
    o.correct = 0
    per_loss(loss, correct_body, &o)
    return o.correct


cdef inline double loss_scale(const Net *net, double n) noexcept nogil:
    """Factor from a summed loss to the mean: 1/(n k) over every element, else 1/n."""
    if loss_kind(net.loss).per_element:
        return 1.0 / (n * net.size[net.L])
    return 1.0 / n


cdef inline double accuracy_scale(const Net *net, double n) noexcept nogil:
    """Factor from a count of correct predictions to an accuracy (NaN without one)."""
    return loss_scale(net, n) if loss_kind(net.loss).accuracy else NAN


cdef inline double output_step(const Net *net, real *Z, const real *Y, const real *w,
                               double w_mean, real *delta, Py_ssize_t m, double scale,
                               double *correct) noexcept nogil:
    """The output layer of m rows of a batch: correct predictions (added to ``correct``),
    delta (``scale`` times the summed loss's gradient: ``loss_scale`` of the whole batch's
    rows) and the summed loss. With sample weights w (NULL: none), row i counts w[i] / w_mean
    times, w_mean being the mean weight of the whole data set: each batch's gradient is then
    an unbiased estimate of the weighted mean's, and the full batch's is exactly it."""
    cdef Py_ssize_t i, n = net.size[net.L]
    cdef int code = net.act[net.L - 1]
    cdef real alpha = net.alpha[net.L - 1]
    cdef double total = 0.0
    if w == NULL:
        correct[0] += count_correct(net.loss, Z, Y, m, n)
        return output_delta(net.loss, code, alpha, Z, Y, delta, m, n, scale)
    for i in range(m):
        correct[0] += w[i] * count_correct(net.loss, Z + i * n, Y + i * n, 1, n)
        total += w[i] * output_delta(net.loss, code, alpha, Z + i * n, Y + i * n, delta + i * n,
                                     1, n, scale * w[i] / w_mean)
    return total


cdef inline double penalty(const real *W, Py_ssize_t n, double l1, double l2) noexcept nogil:
    """l1 * sum|W| + l2 / 2 * sum W**2 over the n weights."""
    cdef Py_ssize_t i
    cdef double total = 0.0
    for i in range(n):
        total += l1 * fabs(W[i]) + 0.5 * l2 * W[i] * W[i]
    return total


cdef inline real penalty_gradient(double l1, double l2, real w) noexcept nogil:
    """d/dw of l1 |w| + l2 / 2 w**2."""
    return l1 * ((w > 0.0) - (w < 0.0)) + l2 * w
