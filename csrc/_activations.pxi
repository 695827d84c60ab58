# Activations: the twin of nnfast/_reference.py's first section.
#
# Each elementwise activation is a pair of inline functions, f(z) and f'(z) written from the
# value a = f(z), and one entry in ``per_activation``, the only list of activation codes on
# this side. A loop specialised per activation is a body handed to ``per_activation``: every
# function here is inlined (setup.py), so each entry becomes its own straight loop with f and
# f' folded in, and the loop over units vectorises where f allows.

cdef enum:  # nnfast/_spec.py's activation codes (a test checks they agree)
    IDENTITY, SIGMOID, TANH, RELU, STEP, SOFTMAX

ctypedef real (*elementwise)(real) noexcept nogil
ctypedef void (*activation_body)(void *args, elementwise f,
                                 elementwise f_prime) noexcept nogil


cdef inline real identity(real z) noexcept nogil:
    return z


cdef inline real identity_derivative(real a) noexcept nogil:
    return 1.0


cdef inline real sigmoid(real z) noexcept nogil:
    """1 / (1 + exp(-z)): one exp and one division, no branch on the sign of z (signs in
    training are unpredictable), computed in double and rounded once. From z = -512 down
    (float32: -88), where exp(-z) soon overflows, it is exp(z), as the reference's
    exp(z) / (1 + exp(z)) rounds there."""
    if not fabs(z) < EXP_CORE_LIMIT:  # practically never taken: |z| >= 512 (88), inf, NaN
        return exp(z) if z < 0.0 else 1.0 / (1.0 + exp(-z))
    return 1.0 / (1.0 + exp_core(-z))


cdef inline real sigmoid_derivative(real a) noexcept nogil:
    return a * (1.0 - a)


cdef inline real tanh(real z) noexcept nogil:
    return libm_tanh(z)


cdef inline real tanh_derivative(real a) noexcept nogil:
    return 1.0 - a * a


cdef inline real relu(real z) noexcept nogil:
    return z * <real> (z > 0.0)  # arithmetic, not a jump on an unpredictable sign


cdef inline real relu_derivative(real a) noexcept nogil:
    return <real> (a > 0.0)


cdef inline real step(real z) noexcept nogil:
    return 1.0 if z >= 0.0 else 0.0


cdef inline real step_derivative(real a) noexcept nogil:
    return 0.0


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


# --- the bodies: a block of values, and one derivative -------------------------------------

cdef struct Values:
    real *z             # f(z) replaces z
    real *d             # f'(z), unless NULL
    Py_ssize_t size


cdef inline void values_body(void *args, elementwise f, elementwise f_prime) noexcept nogil:
    cdef Values *v = <Values *> args
    cdef Py_ssize_t i
    for i in range(v.size):
        v.z[i] = f(v.z[i])


cdef inline void values_and_derivatives_body(void *args, elementwise f,
                                             elementwise f_prime) noexcept nogil:
    cdef Values *v = <Values *> args
    cdef Py_ssize_t i
    cdef real a
    for i in range(v.size):
        a = f(v.z[i])
        v.d[i] = f_prime(a)
        v.z[i] = a


cdef struct Scalar:
    real x              # the argument
    real y              # f'(z) from x = f(z); NaN for a code that is not elementwise


cdef inline void derivative_body(void *args, elementwise f, elementwise f_prime) noexcept nogil:
    (<Scalar *> args).y = f_prime((<Scalar *> args).x)


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


cdef inline void activate(int code, real *Z, real *D, Py_ssize_t m,
                          Py_ssize_t n) noexcept nogil:
    """Z := f(Z) for m rows of n units and, unless D is NULL, D := f'(Z) in the same pass
    (softmax: per row, and never with D)."""
    cdef Values v
    cdef Py_ssize_t i
    if code == SOFTMAX:
        for i in range(m):
            softmax(Z + i * n, Z + i * n, n, 1.0)
        return
    v.z = Z
    v.d = D
    v.size = m * n
    if D == NULL:
        per_activation(code, values_body, &v)
    else:
        per_activation(code, values_and_derivatives_body, &v)


cdef inline real derivative(int code, real a) noexcept nogil:
    """f'(z) from a = f(z) for an elementwise ``code`` (NaN for another code)."""
    cdef Scalar s
    s.x = a
    s.y = NAN
    per_activation(code, derivative_body, &s)
    return s.y
