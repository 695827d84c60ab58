# Activations: the twin of nnfast/_reference/activations.py.
#
# Each elementwise activation is a pair of inline functions, f(z, alpha) and f'(z, a, alpha),
# and one entry in ``per_activation``, the only list of activation codes on this side. alpha
# is the layer's parameter (leaky_relu's slope; the others ignore it); f' has both z and the
# value a = f(z), and uses whichever gives it exactly (sigmoid's a (1 - a) from the value,
# an erf's derivative from z). A loop specialised per activation is a body handed to
# ``per_activation``: every function here is inlined (setup.py), so each entry becomes its
# own straight loop with f and f' folded in, and the loop over units vectorises where f
# allows.

cdef enum:  # nnfast/_spec.py's activation codes (a test checks they agree)
    IDENTITY, SIGMOID, TANH, RELU, STEP, SOFTMAX, LEAKY_RELU, ELU, GELU, SOFTPLUS, SILU, EXP

cdef extern from *:
    # 1/sqrt(2) and 1/sqrt(2 pi), as torch's GELU writes them (M_SQRT1_2, M_2_SQRTPI)
    """
    static const double SQRT1_2 = 0.70710678118654752440,
        INV_SQRT_2PI = 1.12837916709551257390 * 0.70710678118654752440 * 0.5;
    """
    const double SQRT1_2, INV_SQRT_2PI

ctypedef real (*elementwise)(real z, real alpha) noexcept nogil
ctypedef real (*elementwise_derivative)(real z, real a, real alpha) noexcept nogil
ctypedef void (*activation_body)(void *args, elementwise f,
                                 elementwise_derivative f_prime) noexcept nogil


cdef inline real identity(real z, real alpha) noexcept nogil:
    return z


cdef inline real identity_derivative(real z, real a, real alpha) noexcept nogil:
    return 1.0


cdef inline real sigmoid(real z, real alpha) noexcept nogil:
    """1 / (1 + exp(-z)): one exp and one division, no branch on the sign of z (signs in
    training are unpredictable), computed in double and rounded once. From z = -512 down
    (float32: -88), where exp(-z) soon overflows, it is exp(z), as the reference's
    exp(z) / (1 + exp(z)) rounds there."""
    if not fabs(z) < EXP_CORE_LIMIT:  # practically never taken: |z| >= 512 (88), inf, NaN
        return exp(z) if z < 0.0 else 1.0 / (1.0 + exp(-z))
    return 1.0 / (1.0 + exp_core(-z))


cdef inline real sigmoid_derivative(real z, real a, real alpha) noexcept nogil:
    return a * (1.0 - a)


cdef inline real tanh(real z, real alpha) noexcept nogil:
    return libm_tanh(z)


cdef inline real tanh_derivative(real z, real a, real alpha) noexcept nogil:
    return 1.0 - a * a


cdef inline real relu(real z, real alpha) noexcept nogil:
    return z * <real> (z > 0.0)  # arithmetic, not a jump on an unpredictable sign


cdef inline real relu_derivative(real z, real a, real alpha) noexcept nogil:
    return <real> (a > 0.0)


cdef inline real step(real z, real alpha) noexcept nogil:
    return 1.0 if z >= 0.0 else 0.0


cdef inline real step_derivative(real z, real a, real alpha) noexcept nogil:
    return 0.0


cdef inline real leaky_relu(real z, real alpha) noexcept nogil:
    """z where z > 0, else alpha z (alpha: the negative slope), branch-free as relu."""
    return z * (<real> (z > 0.0) + <real> (z <= 0.0) * alpha)


cdef inline real leaky_relu_derivative(real z, real a, real alpha) noexcept nogil:
    return <real> (z > 0.0) + <real> (z <= 0.0) * alpha


cdef inline real elu(real z, real alpha) noexcept nogil:
    """z where z > 0, else alpha (exp(z) - 1)."""
    cdef real negative = alpha * expm1(0.0 if z > 0.0 else z)  # no overflow; NaN stays
    return z if z > 0.0 else negative


cdef inline real elu_derivative(real z, real a, real alpha) noexcept nogil:
    cdef real negative = alpha * <real> fast_exp(0.0 if z > 0.0 else z)
    return 1.0 if z > 0.0 else negative


cdef inline real gelu_cdf(real z) noexcept nogil:
    """Phi(z) = (1 + erf(z / sqrt 2)) / 2, as erfc(-z / sqrt 2) / 2: no cancellation for
    negative z."""
    return 0.5 * erfc(-z * <real> SQRT1_2)


cdef inline real gelu(real z, real alpha) noexcept nogil:
    """z Phi(z), Phi the standard normal CDF (torch's exact form, approximate="none")."""
    return z * gelu_cdf(z)


cdef inline real gelu_derivative(real z, real a, real alpha) noexcept nogil:
    """Phi(z) + z phi(z), from z."""
    cdef real pdf = <real> INV_SQRT_2PI * <real> fast_exp(z * z * -0.5)
    return gelu_cdf(z) + z * pdf


cdef inline real softplus(real z, real alpha) noexcept nogil:
    """log(1 + exp(z)), and z itself from z > 20 (torch's threshold, beta 1)."""
    cdef real smooth = log1p(<real> fast_exp(20.0 if z > 20.0 else z))
    return z if z > 20.0 else smooth


cdef inline real softplus_derivative(real z, real a, real alpha) noexcept nogil:
    """exp(z) / (exp(z) + 1), from z (1 from z > 20, as torch)."""
    cdef real e = fast_exp(20.0 if z > 20.0 else z)
    cdef real smooth = e / (e + 1.0)
    return 1.0 if z > 20.0 else smooth


cdef inline real silu(real z, real alpha) noexcept nogil:
    """z sigmoid(z), as torch writes it: z / (1 + exp(-z))."""
    return z / (1.0 + <real> fast_exp(-z))


cdef inline real silu_derivative(real z, real a, real alpha) noexcept nogil:
    """s (1 + z (1 - s)) with s = sigmoid(z), from z (torch's form)."""
    cdef real s = 1.0 / (1.0 + <real> fast_exp(-z))
    return s * (1.0 + z * (1.0 - s))


cdef inline real exponential(real z, real alpha) noexcept nogil:
    """exp(z): the Poisson loss's output, a rate from its logarithm."""
    return fast_exp(z)


cdef inline real exponential_derivative(real z, real a, real alpha) noexcept nogil:
    return a


cdef inline void per_activation(int code, activation_body body, void *args) noexcept nogil:
    """The elementwise activations, one entry each: runs body(args, f, f') for ``code``
    (nothing for softmax, which is not elementwise)."""
    if code == SIGMOID:
        body(args, sigmoid, sigmoid_derivative)
    elif code == TANH:
        body(args, tanh, tanh_derivative)
    elif code == RELU:
        body(args, relu, relu_derivative)
    elif code == IDENTITY:
        body(args, identity, identity_derivative)
    elif code == STEP:
        body(args, step, step_derivative)
    elif code == LEAKY_RELU:
        body(args, leaky_relu, leaky_relu_derivative)
    elif code == ELU:
        body(args, elu, elu_derivative)
    elif code == GELU:
        body(args, gelu, gelu_derivative)
    elif code == SOFTPLUS:
        body(args, softplus, softplus_derivative)
    elif code == SILU:
        body(args, silu, silu_derivative)
    elif code == EXP:
        body(args, exponential, exponential_derivative)


# --- the bodies: a block of values and their derivatives -----------------------------------

cdef struct Values:
    real *z             # f(z) replaces z
    real *d             # f'(z), unless NULL
    Py_ssize_t size
    real alpha
    bint known          # out: the code is in per_activation


cdef inline void values_body(void *args, elementwise f,
                             elementwise_derivative f_prime) noexcept nogil:
    cdef Values *v = <Values *> args
    cdef Py_ssize_t i
    cdef real alpha = v.alpha
    for i in range(v.size):
        v.z[i] = f(v.z[i], alpha)
    v.known = True


cdef inline void values_and_derivatives_body(void *args, elementwise f,
                                             elementwise_derivative f_prime) noexcept nogil:
    cdef Values *v = <Values *> args
    cdef Py_ssize_t i
    cdef real z, a, alpha = v.alpha
    for i in range(v.size):
        z = v.z[i]
        a = f(z, alpha)
        v.d[i] = f_prime(z, a, alpha)
        v.z[i] = a
    v.known = True


# --- the pieces -----------------------------------------------------------------------------

cdef inline real softmax(const real *z, real *p, Py_ssize_t n, double scale) noexcept nogil:
    """p := scale * exp(z - max z) / sum exp(z - max z), one row of n (p may be z); returns
    log sum exp(z), which cross-entropy needs (unused, the compiler drops the log)."""
    cdef Py_ssize_t j
    cdef real mx = z[0], s = 0.0, lse
    for j in range(1, n):
        if z[j] > mx:
            mx = z[j]
    for j in range(n):
        p[j] = fast_exp(z[j] - mx)
        s += p[j]
    lse = mx + log(s)
    s = scale / s
    for j in range(n):
        p[j] *= s
    return lse


cdef inline void softmax_backward(const real *p, const real *g, real *out, Py_ssize_t n,
                                  double scale) noexcept nogil:
    """out := scale * p * (g - g . p), one row: dL/dz from p = softmax(z) and g = dL/dp
    (out may be g)."""
    cdef Py_ssize_t j
    cdef real gp = 0.0
    for j in range(n):
        gp += g[j] * p[j]
    for j in range(n):
        out[j] = scale * p[j] * (g[j] - gp)


cdef inline bint activate(int code, real *Z, real *D, Py_ssize_t m, Py_ssize_t n,
                          real alpha) noexcept nogil:
    """Z := f(Z) for m rows of n units and, unless D is NULL, D := f'(Z) in the same pass
    (softmax: per row, and never with D); alpha is the layer's parameter. Returns whether
    ``code`` is an activation."""
    cdef Values v
    cdef Py_ssize_t i
    if code == SOFTMAX:
        for i in range(m):
            softmax(Z + i * n, Z + i * n, n, 1.0)
        return True
    v.z = Z
    v.d = D
    v.size = m * n
    v.alpha = alpha
    v.known = False
    if D == NULL:
        per_activation(code, values_body, &v)
    else:
        per_activation(code, values_and_derivatives_body, &v)
    return v.known
