# Optimizers and schedules: the twin of nnfast/_reference/optimizers.py.
#
# Each optimizer is the update rule of one parameter, and one entry in ``per_optimizer``, the
# only list of optimizers on this side; ``update`` runs a rule over a range of the flat
# buffer (one straight, vectorisable loop per rule), ``update_one`` on one parameter. A rule
# reads its moments from m, v and g_avg (nnfast/_spec.py's OptimizerState says which it
# keeps). The schedules are the branches of ``learning_rate_at``.

from libc.math cimport sqrt as sqrt_double

cdef enum:  # nnfast/_spec.py's optimizer, schedule and convention codes (a test checks)
    SGD, ADAM, SGD_SKLEARN, ADAM_SKLEARN, ADAMW, RMSPROP, ADAGRAD
cdef enum:
    CONSTANT, EXPONENTIAL, INVERSE_TIME, COSINE, ONE_CYCLE
cdef enum:
    MEAN, SKLEARN


cdef struct Hyper:
    # nnfast/_spec.py's Hyper, the fields the kernels read (dropout rates: train_epochs)
    double learning_rate
    int optimizer
    double momentum
    bint nesterov
    double beta_1, beta_2, epsilon
    double weight_decay, rho
    bint centered
    double l1, l2
    int schedule
    double decay_rate, decay_steps, power
    bint staircase
    double warmup_steps, final_fraction
    double total_steps, pct_start, div_factor, final_div_factor
    double step_unit
    double clip_norm, clip_value  # 0: no clipping
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
    h.weight_decay = hyper.weight_decay
    h.rho = hyper.rho
    h.centered = hyper.centered
    h.l1 = hyper.l1
    h.l2 = hyper.l2
    h.schedule = hyper.schedule
    h.decay_rate = hyper.decay_rate
    h.decay_steps = hyper.decay_steps
    h.staircase = hyper.staircase
    h.power = hyper.power
    h.warmup_steps = hyper.warmup_steps
    h.final_fraction = hyper.final_fraction
    h.total_steps = hyper.total_steps
    h.pct_start = hyper.pct_start
    h.div_factor = hyper.div_factor
    h.final_div_factor = hyper.final_div_factor
    h.step_unit = hyper.step_unit
    h.clip_norm = hyper.clip_norm
    h.clip_value = hyper.clip_value
    h.convention = hyper.convention
    return h


cdef inline double cosine_rate(const Hyper *h, double t) noexcept nogil:
    """Linear warm-up from 0, then lr * ((1 - final) (1 + cos(pi p)) / 2 + final), p the
    fraction of decay_steps done (held at 1 after them)."""
    cdef double p
    if t < h.warmup_steps:
        return h.learning_rate * t / h.warmup_steps
    p = min(t - h.warmup_steps, h.decay_steps) / h.decay_steps
    return h.learning_rate * ((1.0 - h.final_fraction) * (0.5 * (1.0 + cos(M_PI * p)))
                              + h.final_fraction)


cdef inline double annealed(double start, double end, double p) noexcept nogil:
    """torch's _annealing_cos: from start at p = 0 to end at p = 1."""
    return end + (start - end) / 2.0 * (cos(M_PI * p) + 1.0)


cdef inline double one_cycle_rate(const Hyper *h, double t) noexcept nogil:
    """torch's OneCycleLR at step t: up from lr / div_factor to lr until the step
    pct_start * total_steps - 1, then down to lr / div_factor / final_div_factor at step
    total_steps - 1 (held there after it)."""
    cdef double low = h.learning_rate / h.div_factor
    cdef double peak = h.pct_start * h.total_steps - 1.0, last = h.total_steps - 1.0
    if t <= peak and peak > 0.0:
        return annealed(low, h.learning_rate, t / peak)
    return annealed(h.learning_rate, low / h.final_div_factor,
                    min((t - peak) / (last - peak), 1.0))


cdef inline double learning_rate_at(const Hyper *h, int64_t t) noexcept nogil:
    """The learning rate of update step t (0-based)."""
    cdef double p
    if h.schedule == CONSTANT:
        return h.learning_rate
    if h.schedule == COSINE:
        return cosine_rate(h, floor(t / h.step_unit))
    if h.schedule == ONE_CYCLE:
        return one_cycle_rate(h, floor(t / h.step_unit))
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
    real decay                  # AdamW's decoupled decay 1 - lr * weight_decay; else 1
    real rho, one_minus_rho     # RMSprop's
    bint centered


cdef inline Rates step_rates(const Hyper *h, int64_t t) noexcept nogil:
    cdef Rates r
    cdef double lr = learning_rate_at(h, t)
    r.lr = lr
    r.momentum = h.momentum
    r.beta_1 = h.beta_1
    r.beta_2 = h.beta_2
    r.epsilon = h.epsilon
    r.one_minus_beta_1 = 1.0 - h.beta_1
    r.one_minus_beta_2 = 1.0 - h.beta_2
    r.c1 = r.c2 = r.decay = 1.0
    if h.optimizer == ADAM or h.optimizer == ADAMW:
        r.c1 = 1.0 / (1.0 - pow(h.beta_1, t + 1))
        r.c2 = 1.0 / (1.0 - pow(h.beta_2, t + 1))
    elif h.optimizer == ADAM_SKLEARN:  # in double, as scikit-learn's Python float, rounded once
        r.lr = lr * sqrt_double(1.0 - pow(h.beta_2, t + 1)) / (1.0 - pow(h.beta_1, t + 1))
    if h.optimizer == ADAMW:
        r.decay = 1.0 - lr * h.weight_decay
    r.rho = h.rho
    r.one_minus_rho = 1.0 - h.rho
    r.centered = h.centered
    return r


ctypedef void (*update_rule)(Rates r, real g, real *p, real *m, real *v,
                             real *g_avg) noexcept nogil
ctypedef void (*optimizer_body)(void *args, update_rule rule) noexcept nogil


cdef inline void sgd_rule(Rates r, real g, real *p, real *m, real *v,
                          real *g_avg) noexcept nogil:
    p[0] -= r.lr * g


cdef inline void momentum_rule(Rates r, real g, real *p, real *m, real *v,
                               real *g_avg) noexcept nogil:
    """As PyTorch: v := mu v + g (kept in m), p -= lr v."""
    m[0] = r.momentum * m[0] + g
    p[0] -= r.lr * m[0]


cdef inline void nesterov_rule(Rates r, real g, real *p, real *m, real *v,
                               real *g_avg) noexcept nogil:
    """As PyTorch: v := mu v + g (kept in m), p -= lr (g + mu v)."""
    m[0] = r.momentum * m[0] + g
    p[0] -= r.lr * (g + r.momentum * m[0])


cdef inline void adam_rule(Rates r, real g, real *p, real *m, real *v,
                           real *g_avg) noexcept nogil:
    """Kingma & Ba, Algorithm 1, with bias correction."""
    m[0] = r.beta_1 * m[0] + r.one_minus_beta_1 * g
    v[0] = r.beta_2 * v[0] + r.one_minus_beta_2 * g * g
    p[0] -= r.lr * (m[0] * r.c1) / (sqrt(v[0] * r.c2) + r.epsilon)


cdef inline void sgd_sklearn_rule(Rates r, real g, real *p, real *m, real *v,
                                  real *g_avg) noexcept nogil:
    """scikit-learn's SGDOptimizer: the velocity carries the rate, v := mu v - lr g (kept in
    m), p += v."""
    m[0] = r.momentum * m[0] - r.lr * g
    p[0] += m[0]


cdef inline void nesterov_sklearn_rule(Rates r, real g, real *p, real *m, real *v,
                                       real *g_avg) noexcept nogil:
    """scikit-learn's Nesterov step: v := mu v - lr g (kept in m), p += mu v - lr g."""
    m[0] = r.momentum * m[0] - r.lr * g
    p[0] += r.momentum * m[0] - r.lr * g


cdef inline void adam_sklearn_rule(Rates r, real g, real *p, real *m, real *v,
                                   real *g_avg) noexcept nogil:
    """scikit-learn's AdamOptimizer: moments without correction, lr already corrected
    (``step_rates``), p += -lr m / (sqrt(v) + eps)."""
    m[0] = r.beta_1 * m[0] + r.one_minus_beta_1 * g
    v[0] = r.beta_2 * v[0] + r.one_minus_beta_2 * (g * g)
    p[0] += -r.lr * m[0] / (sqrt(v[0]) + r.epsilon)


cdef inline void adamw_rule(Rates r, real g, real *p, real *m, real *v,
                            real *g_avg) noexcept nogil:
    """Loshchilov & Hutter: p := (1 - lr wd) p, then Adam's step (torch.optim.AdamW)."""
    p[0] *= r.decay
    adam_rule(r, g, p, m, v, g_avg)


cdef inline void rmsprop_rule(Rates r, real g, real *p, real *m, real *v,
                              real *g_avg) noexcept nogil:
    """torch.optim.RMSprop: v := rho v + (1 - rho) g**2; centered, g_avg likewise and the
    divisor sqrt(v - g_avg**2) (held at >= 0, where rounding would make torch's NaN); with
    momentum the step lr g / divisor goes through a velocity in m."""
    cdef real divisor, variance
    v[0] = r.rho * v[0] + r.one_minus_rho * g * g
    if r.centered:
        g_avg[0] = r.rho * g_avg[0] + r.one_minus_rho * g
        variance = v[0] - g_avg[0] * g_avg[0]
        divisor = sqrt(variance if variance > 0.0 else 0.0) + r.epsilon
    else:
        divisor = sqrt(v[0]) + r.epsilon
    if r.momentum != 0.0:
        m[0] = r.momentum * m[0] + g / divisor
        p[0] -= r.lr * m[0]
    else:
        p[0] -= r.lr * g / divisor


cdef inline void adagrad_rule(Rates r, real g, real *p, real *m, real *v,
                              real *g_avg) noexcept nogil:
    """torch.optim.Adagrad (no rate decay): v := v + g**2, p -= lr g / (sqrt(v) + eps)."""
    v[0] += g * g
    p[0] -= r.lr * g / (sqrt(v[0]) + r.epsilon)


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
    elif h.optimizer == ADAMW:
        body(args, adamw_rule)
    elif h.optimizer == RMSPROP:
        body(args, rmsprop_rule)
    elif h.optimizer == ADAGRAD:
        body(args, adagrad_rule)
    elif h.momentum != 0.0 and h.nesterov:
        body(args, nesterov_rule)
    elif h.momentum != 0.0:
        body(args, momentum_rule)
    else:
        body(args, sgd_rule)


# --- the gradient's clipping, before the update ---------------------------------------------

cdef inline void clip_values(real *grad, Py_ssize_t start, Py_ssize_t stop,
                             double clip_value) noexcept nogil:
    """grad[start:stop] clipped to [-clip_value, clip_value] (torch's clip_grad_value_)."""
    cdef Py_ssize_t i
    cdef real high = clip_value, low = -high
    for i in range(start, stop):
        grad[i] = low if grad[i] < low else (high if grad[i] > high else grad[i])


cdef inline double norm_scale(const real *grad, Py_ssize_t n, double clip_norm) noexcept nogil:
    """The factor torch's clip_grad_norm_ scales the gradient by: clip_norm / (||grad|| +
    1e-6), at most 1 (the sum of squares in double, in order)."""
    cdef Py_ssize_t i
    cdef double total = 0.0, scale
    for i in range(n):
        total += grad[i] * grad[i]
    scale = clip_norm / (sqrt(total) + 1e-6)
    return scale if scale < 1.0 else 1.0


cdef struct Moments:
    # The optimizer's state buffers, in the flat parameter layout (unused ones: placeholders)
    real *m
    real *v
    real *g_avg


cdef struct Span:
    Rates r
    real *params
    const real *grad
    Moments s
    Py_ssize_t start, stop


cdef inline void span_body(void *args, update_rule rule) noexcept nogil:
    cdef Span *s = <Span *> args
    cdef Rates r = s.r
    cdef real *params = s.params
    cdef const real *grad = s.grad
    cdef real *m = s.s.m
    cdef real *v = s.s.v
    cdef real *g_avg = s.s.g_avg
    cdef Py_ssize_t i
    for i in range(s.start, s.stop):
        rule(r, grad[i], params + i, m + i, v + i, g_avg + i)


cdef inline void update(const Hyper *h, Rates r, real *params, const real *grad,
                        Moments state, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """One optimizer step on params[start:stop] with gradient grad (moments: the same
    layout), at the rates ``r`` of this step."""
    cdef Span s
    s.r = r
    s.params = params
    s.grad = grad
    s.s = state
    s.start = start
    s.stop = stop
    per_optimizer(h, span_body, &s)


cdef struct One:
    Rates r
    real g
    real *p
    real *m
    real *v
    real *g_avg


cdef inline void one_body(void *args, update_rule rule) noexcept nogil:
    cdef One *o = <One *> args
    rule(o.r, o.g, o.p, o.m, o.v, o.g_avg)


cdef inline void update_one(const Hyper *h, Rates r, real *params, Moments state,
                            Py_ssize_t i, real g) noexcept nogil:
    """``update`` of parameter i alone, with gradient g."""
    cdef One o
    o.r = r
    o.g = g
    o.p = params + i
    o.m = state.m + i
    o.v = state.v + i
    o.g_avg = state.g_avg + i
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
            sgd_rule(r, g[j], b + j, NULL, NULL, NULL)
        return
    for j in range(n):
        momentum_rule(r, g[j], b + j, vb + j, NULL, NULL)


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
