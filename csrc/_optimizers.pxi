# Optimizers and schedules: the twin of nnfast/_reference.py's fourth section.
#
# Each optimizer is the update rule of one parameter, and one entry in ``per_optimizer``, the
# only list of optimizers on this side; ``update`` runs a rule over a range of the flat
# buffer (one straight, vectorisable loop per rule), ``update_one`` on one parameter.
# The schedules are the branches of ``learning_rate_at``.

from libc.math cimport sqrt as sqrt_double

cdef enum:  # nnfast/_spec.py's optimizer, schedule and convention codes (a test checks)
    SGD, ADAM, SGD_SKLEARN, ADAM_SKLEARN
cdef enum:
    CONSTANT, EXPONENTIAL, INVERSE_TIME
cdef enum:
    MEAN, SKLEARN


cdef struct Hyper:
    # nnfast/_spec.py's Hyper, the fields the kernels read (dropout rates: train_epochs)
    double learning_rate
    int optimizer
    double momentum
    bint nesterov
    double beta_1, beta_2, epsilon
    double l1, l2
    int schedule
    double decay_rate, decay_steps, power
    bint staircase
    int convention


cdef Hyper read_hyper(hyper) except *:
    cdef Hyper h
    h.learning_rate = hyper.learning_rate
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
    h.convention = hyper.convention
    return h


cdef inline bint uses_m(const Hyper *h) noexcept nogil:
    """The optimizer keeps a first moment or a velocity in m (nnfast/_spec.uses_moments)."""
    return uses_v(h) or h.momentum != 0.0


cdef inline bint uses_v(const Hyper *h) noexcept nogil:
    """The optimizer keeps a second moment in v (Adam, either)."""
    return h.optimizer == ADAM or h.optimizer == ADAM_SKLEARN


cdef inline double learning_rate_at(const Hyper *h, int64_t t) noexcept nogil:
    """The learning rate of update step t (0-based)."""
    cdef double p
    if h.schedule == CONSTANT:
        return h.learning_rate
    p = t / h.decay_steps
    if h.staircase:
        p = floor(p)
    if h.schedule == EXPONENTIAL:
        return h.learning_rate * pow(h.decay_rate, p)
    return h.learning_rate / pow(1.0 + h.decay_rate * p, h.power)  # INVERSE_TIME


cdef struct Rates:
    # What an update rule reads at step t, by value so that a loop keeps it in registers;
    # rounded to real once per step, so that the rules run in real as NumPy's do on arrays
    real lr                     # the schedule's learning rate (ADAM_SKLEARN's corrected)
    real momentum
    real beta_1, beta_2, epsilon
    real one_minus_beta_1, one_minus_beta_2  # 1 - beta in double, then rounded
    real c1, c2                 # Adam's bias corrections 1 / (1 - beta**(t + 1)); else 1


cdef inline Rates step_rates(const Hyper *h, int64_t t) noexcept nogil:
    cdef Rates r
    r.lr = learning_rate_at(h, t)
    r.momentum = h.momentum
    r.beta_1 = h.beta_1
    r.beta_2 = h.beta_2
    r.epsilon = h.epsilon
    r.one_minus_beta_1 = 1.0 - h.beta_1
    r.one_minus_beta_2 = 1.0 - h.beta_2
    r.c1 = r.c2 = 1.0
    if h.optimizer == ADAM:
        r.c1 = 1.0 / (1.0 - pow(h.beta_1, t + 1))
        r.c2 = 1.0 / (1.0 - pow(h.beta_2, t + 1))
    elif h.optimizer == ADAM_SKLEARN:  # in double, as scikit-learn's Python float, rounded once
        r.lr = (learning_rate_at(h, t) * sqrt_double(1.0 - pow(h.beta_2, t + 1))
                / (1.0 - pow(h.beta_1, t + 1)))
    return r


ctypedef void (*update_rule)(Rates r, real g, real *p, real *m, real *v) noexcept nogil
ctypedef void (*optimizer_body)(void *args, update_rule rule) noexcept nogil


cdef inline void sgd_rule(Rates r, real g, real *p, real *m, real *v) noexcept nogil:
    p[0] -= r.lr * g


cdef inline void momentum_rule(Rates r, real g, real *p, real *m, real *v) noexcept nogil:
    """As PyTorch: v := mu v + g (kept in m), p -= lr v."""
    m[0] = r.momentum * m[0] + g
    p[0] -= r.lr * m[0]


cdef inline void nesterov_rule(Rates r, real g, real *p, real *m, real *v) noexcept nogil:
    """As PyTorch: v := mu v + g (kept in m), p -= lr (g + mu v)."""
    m[0] = r.momentum * m[0] + g
    p[0] -= r.lr * (g + r.momentum * m[0])


cdef inline void adam_rule(Rates r, real g, real *p, real *m, real *v) noexcept nogil:
    """Kingma & Ba, Algorithm 1, with bias correction."""
    m[0] = r.beta_1 * m[0] + r.one_minus_beta_1 * g
    v[0] = r.beta_2 * v[0] + r.one_minus_beta_2 * g * g
    p[0] -= r.lr * (m[0] * r.c1) / (sqrt(v[0] * r.c2) + r.epsilon)


cdef inline void sgd_sklearn_rule(Rates r, real g, real *p, real *m, real *v) noexcept nogil:
    """scikit-learn's SGDOptimizer: the velocity carries the rate, v := mu v - lr g (kept in
    m), p += v."""
    m[0] = r.momentum * m[0] - r.lr * g
    p[0] += m[0]


cdef inline void nesterov_sklearn_rule(Rates r, real g, real *p, real *m,
                                       real *v) noexcept nogil:
    """scikit-learn's Nesterov step: v := mu v - lr g (kept in m), p += mu v - lr g."""
    m[0] = r.momentum * m[0] - r.lr * g
    p[0] += r.momentum * m[0] - r.lr * g


cdef inline void adam_sklearn_rule(Rates r, real g, real *p, real *m, real *v) noexcept nogil:
    """scikit-learn's AdamOptimizer: moments without correction, lr already corrected
    (``step_rates``), p += -lr m / (sqrt(v) + eps)."""
    m[0] = r.beta_1 * m[0] + r.one_minus_beta_1 * g
    v[0] = r.beta_2 * v[0] + r.one_minus_beta_2 * (g * g)
    p[0] += -r.lr * m[0] / (sqrt(v[0]) + r.epsilon)


cdef inline void per_optimizer(const Hyper *h, optimizer_body body, void *args) noexcept nogil:
    """The optimizers, one entry each: runs body(args, the rule for ``h``)."""
    if h.optimizer == ADAM:
        body(args, adam_rule)
    elif h.optimizer == ADAM_SKLEARN:
        body(args, adam_sklearn_rule)
    elif h.optimizer == SGD_SKLEARN and h.momentum != 0.0 and h.nesterov:
        body(args, nesterov_sklearn_rule)
    elif h.optimizer == SGD_SKLEARN and h.momentum != 0.0:
        body(args, sgd_sklearn_rule)
    elif h.momentum != 0.0 and h.nesterov:
        body(args, nesterov_rule)
    elif h.momentum != 0.0:
        body(args, momentum_rule)
    else:
        body(args, sgd_rule)


cdef struct Span:
    Rates r
    real *params
    const real *grad
    real *m
    real *v
    Py_ssize_t start, stop


cdef inline void span_body(void *args, update_rule rule) noexcept nogil:
    cdef Span *s = <Span *> args
    cdef Rates r = s.r
    cdef real *params = s.params
    cdef const real *grad = s.grad
    cdef real *m = s.m
    cdef real *v = s.v
    cdef Py_ssize_t i
    for i in range(s.start, s.stop):
        rule(r, grad[i], params + i, m + i, v + i)


cdef inline void update(const Hyper *h, Rates r, real *params, const real *grad, real *m,
                        real *v, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """One optimizer step on params[start:stop] with gradient grad (moments m, v: the same
    layout), at the rates ``r`` of this step."""
    cdef Span s
    s.r = r
    s.params = params
    s.grad = grad
    s.m = m
    s.v = v
    s.start = start
    s.stop = stop
    per_optimizer(h, span_body, &s)


cdef struct One:
    Rates r
    real g
    real *p
    real *m
    real *v


cdef inline void one_body(void *args, update_rule rule) noexcept nogil:
    cdef One *o = <One *> args
    rule(o.r, o.g, o.p, o.m, o.v)


cdef inline void update_one(const Hyper *h, Rates r, real *params, real *m, real *v,
                            Py_ssize_t i, real g) noexcept nogil:
    """``update`` of parameter i alone, with gradient g."""
    cdef One o
    o.r = r
    o.g = g
    o.p = params + i
    o.m = m + i
    o.v = v + i
    per_optimizer(h, one_body, &o)


# --- SGD on mini-batches, folded into the weight gradient's GEMM ----------------------------

cdef inline void descend_bias(const real *g, real *b, real *vb, Py_ssize_t n,
                              real lr, real mu) noexcept nogil:
    """Plain (mu == 0) or momentum SGD on b (n values) with gradient g, velocity vb."""
    cdef Rates r
    cdef Py_ssize_t j
    memset(&r, 0, sizeof(Rates))
    r.lr = lr
    r.momentum = mu
    if mu == 0.0:
        for j in range(n):
            sgd_rule(r, g[j], b + j, NULL, NULL)
        return
    for j in range(n):
        momentum_rule(r, g[j], b + j, vb + j, NULL)


cdef inline void descend_weights(const real *A, Py_ssize_t lda, const real *D, real *W,
                                 real *vW, Py_ssize_t m, Py_ssize_t k, Py_ssize_t n,
                                 real lr, real mu) noexcept nogil:
    """The weight gradient A^T @ D and an SGD step on W (k x n) in one pass, the step riding
    on the write the GEMM makes anyway instead of a gradient buffer and a second sweep: plain
    SGD (mu == 0) W -= lr * A^T @ D (beta = 1); momentum v := mu v + A^T @ D (beta = mu),
    then W -= lr * v. The same arithmetic per element as the rules above."""
    cdef Py_ssize_t j
    if mu == 0.0:
        weight_gradient(A, lda, D, W, m, k, n, -lr, 1.0)
        return
    weight_gradient(A, lda, D, vW, m, k, n, 1.0, mu)
    for j in range(k * n):
        W[j] -= lr * vW[j]
