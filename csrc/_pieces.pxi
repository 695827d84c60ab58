# Thin entry points into the pieces, for the tests (as scikit-learn's _cython_blas.pyx
# exposes _gemm_memview): ``pieces.<name>`` takes and returns what the reference's function
# of that name does, with the same signature. They copy their inputs and check shapes, so
# nothing a test passes reaches a piece with a buffer that does not fit.

cdef object c_array(a, int ndim=-1):
    """A C-contiguous copy of a in this module's precision, with ``ndim`` dimensions if given."""
    out = np.array(a, dtype=DTYPE, order="C", copy=True)
    if ndim >= 0 and out.ndim != ndim:
        raise ValueError(f"expected a {ndim}-d array, got {out.ndim}-d")
    return out


cdef object same_shape(a, b, int ndim):
    a, b = c_array(a, ndim), c_array(b, ndim)
    if a.shape != b.shape:
        raise ValueError(f"shapes {a.shape} and {b.shape} differ")
    return a, b


cdef real *data(array) except *:
    """The first value of a C-contiguous array of reals (NULL when it has none)."""
    return NULL if array.size == 0 else ptr(array)


cdef int elementwise_code(int code) except -1:
    if derivative(code, 0.5) != derivative(code, 0.5):  # NaN: not in per_activation
        raise ValueError(f"code must be an elementwise activation, got {code!r} (softmax: use "
                         f"softmax_backward).")
    return code


cdef int output_codes(int loss, int code) except -1:
    if not loss_kind(loss).known:
        raise ValueError(f"loss must be a loss code, got {loss!r}.")
    if code != SOFTMAX:
        elementwise_code(code)
    return 0


cdef object rows(a):
    """a as rows of its last axis (an error for a scalar)."""
    if a.ndim == 0:
        raise ValueError("expected an array with at least one dimension, got a scalar")
    return a.reshape(-1, a.shape[a.ndim - 1]) if a.size else a


class pieces:
    """The compiled pieces, one entry point each (see nnfast._reference.PIECES)."""

    # --- activations

    @staticmethod
    def activate(code, z):
        cdef int c = code
        a = c_array(z)
        if c == SOFTMAX:
            return pieces.softmax(a)
        elementwise_code(c)
        activate(c, data(a), NULL, 1, a.size)
        return a

    @staticmethod
    def derivative(code, a):
        cdef int c = elementwise_code(code)
        cdef Py_ssize_t i
        cdef real *v
        d = c_array(a)
        v = data(d)
        for i in range(d.size):
            v[i] = derivative(c, v[i])
        return d

    @staticmethod
    def softmax(z):
        a = c_array(z)
        r = rows(a)
        if a.size:
            activate(SOFTMAX, data(r), NULL, r.shape[0], r.shape[1])
        return a

    @staticmethod
    def softmax_backward(p, g):
        cdef Py_ssize_t i, n
        p, g = same_shape(p, g, -1)
        r, out = rows(p), rows(g)
        n = r.shape[r.ndim - 1]
        for i in range(r.shape[0] if p.size else 0):
            softmax_backward(data(r) + i * n, data(out) + i * n, data(out) + i * n, n, 1.0)
        return g

    # --- losses

    @staticmethod
    def output_delta(loss, code, z, y):
        cdef Py_ssize_t m, n
        z, y = same_shape(z, y, 2)
        m, n = z.shape
        delta = np.zeros_like(z)
        output_codes(loss, code)
        if z.size == 0:
            return 0.0, delta
        total = output_delta(loss, code, data(z), data(y), data(delta), m, n, 1.0)
        return total, delta

    @staticmethod
    def count_correct(loss, z, y):
        z, y = same_shape(z, y, 2)
        output_codes(loss, IDENTITY)
        return count_correct(loss, data(z), data(y), z.shape[0], z.shape[1]) if z.size else 0

    @staticmethod
    def loss_scale(spec, n_samples):
        cdef _Layout layout = layout_of(spec)
        return loss_scale(&layout.net, n_samples)

    @staticmethod
    def accuracy_scale(spec, n_samples):
        cdef _Layout layout = layout_of(spec)
        return accuracy_scale(&layout.net, n_samples)

    @staticmethod
    def output_step(spec, z, Y, w, w_mean):
        cdef _Layout layout = layout_of(spec)
        cdef double correct = 0.0
        z, Y = same_shape(z, Y, 2)
        if z.shape[1] != layout.net.size[layout.net.L] or z.shape[0] < 1:
            raise ValueError(f"z must have rows of {layout.net.size[layout.net.L]} outputs, "
                             f"got {z.shape}")
        if w is not None:
            w = c_array(w, 1)
            if w.shape[0] != z.shape[0]:
                raise ValueError(f"w must have {z.shape[0]} values, got {w.shape[0]}")
        delta = np.zeros_like(z)
        total = output_step(&layout.net, data(z), data(Y), NULL if w is None else data(w),
                            w_mean, data(delta), z.shape[0],
                            loss_scale(&layout.net, z.shape[0]), &correct)
        return total, correct, delta

    @staticmethod
    def penalty(spec, params, l1, l2):
        cdef _Layout layout = layout_of(spec)
        params = c_array(params, 1)
        if params.shape[0] < layout.net.n_weights:
            raise ValueError(f"params must have at least {layout.net.n_weights} values")
        return penalty(data(params), layout.net.n_weights, l1, l2)

    @staticmethod
    def penalty_gradient(spec, params, l1, l2):
        cdef _Layout layout = layout_of(spec)
        cdef Py_ssize_t i
        cdef real *v
        w = c_array(params, 1)[:layout.net.n_weights].copy()
        if w.shape[0] < layout.net.n_weights:
            raise ValueError(f"params must have at least {layout.net.n_weights} values")
        v = data(w)
        for i in range(w.shape[0]):
            v[i] = penalty_gradient(l1, l2, v[i])
        return w

    # --- dense layer

    @staticmethod
    def dense_forward(a, W, b):
        cdef Py_ssize_t m, k, n
        a, W, b = c_array(a, 2), c_array(W, 2), c_array(b, 1)
        m, k, n = a.shape[0], W.shape[0], W.shape[1]
        if a.shape[1] != k or b.shape[0] != n:
            raise ValueError(f"a {a.shape}, W {W.shape} and b {b.shape} do not chain")
        z = np.zeros((m, n), dtype=DTYPE)
        if z.size:
            dense_forward(data(a), data(W), data(b), data(z), m, k, n)
        return z

    @staticmethod
    def dense_backward(delta, W, d):
        cdef Py_ssize_t m, k, n
        delta, W, d = c_array(delta, 2), c_array(W, 2), c_array(d, 2)
        m, n, k = delta.shape[0], delta.shape[1], W.shape[0]
        if W.shape[1] != n or d.shape != (m, k):
            raise ValueError(f"delta {delta.shape}, W {W.shape} and d {d.shape} do not chain")
        out = np.zeros((m, k), dtype=DTYPE)
        if out.size:
            dense_backward(data(delta), data(W), data(d), NULL, data(out), m, k, n)
        return out

    @staticmethod
    def weight_gradient(a, delta):
        a, delta = c_array(a, 2), c_array(delta, 2)
        if a.shape[0] != delta.shape[0]:
            raise ValueError(f"a {a.shape} and delta {delta.shape} differ in rows")
        g = np.zeros((a.shape[1], delta.shape[1]), dtype=DTYPE)
        if g.size and a.shape[0]:
            weight_gradient(data(a), a.shape[1], data(delta), data(g), a.shape[0], a.shape[1],
                            delta.shape[1], 1.0, 0.0)
        return g

    @staticmethod
    def bias_gradient(delta):
        delta = c_array(delta, 2)
        g = np.zeros(delta.shape[1], dtype=DTYPE)
        if g.size and delta.shape[0]:
            bias_gradient(data(delta), delta.shape[1], data(g), delta.shape[0], delta.shape[1])
        return g

    # --- optimizers and schedules

    @staticmethod
    def learning_rate_at(hyper, t):
        cdef Hyper h = read_hyper(hyper)
        return learning_rate_at(&h, t)

    @staticmethod
    def update(hyper, params, grad, state):
        cdef Hyper h = read_hyper(hyper)
        cdef real[::1] p = params
        cdef const real[::1] g = grad
        cdef real[::1] m = state.m
        cdef real[::1] v = state.v
        cdef int64_t[::1] step = state.step
        cdef Py_ssize_t n = p.shape[0]
        if (g.shape[0] != n or step.shape[0] != 1
                or (uses_m(&h) and m.shape[0] != n) or (uses_v(&h) and v.shape[0] != n)):
            raise ValueError("params, grad and the optimizer state's moments must have the "
                             "same length, and step one value")
        if n:
            update(&h, step_rates(&h, step[0]), &p[0], &g[0], &m[0], &v[0], 0, n)
        step[0] += 1

    # --- randomness

    @staticmethod
    def shuffle_order(rng, order):
        cdef intp[::1] o = order
        if o.shape[0]:
            shuffle_order(get_bitgen(rng), &o[0], o.shape[0])

    @staticmethod
    def dropout_mask(rng, n_rows, n_units, rate):
        mask = np.ones((n_rows, n_units), dtype=DTYPE)
        scratch = np.ones(mask.size, dtype=DTYPE)
        if mask.size:
            dropout_mask(get_bitgen(rng), data(mask), data(scratch), mask.size, rate)
        return mask

    # --- the perceptron

    @staticmethod
    def perceptron_pass(X, y, params, learning_rate, order):
        cdef const real[:, ::1] x = X
        cdef const intp[::1] labels = y
        cdef real[::1] w = params
        cdef const intp[::1] idx = order
        cdef Py_ssize_t n = x.shape[0], d = x.shape[1]
        if (labels.shape[0] != n or w.shape[0] != d + 1 or idx.shape[0] != n
                or not rows_in_range(idx, n)):
            raise ValueError("y and order must have X's rows (order: indices of them), "
                             "params d + 1 values")
        if n == 0:
            return 0
        return perceptron_pass(&x[0, 0] if d else NULL, &labels[0], &w[0], n, d, learning_rate,
                               &idx[0])


def exp_values(const real[::1] x, real[::1] out):
    """out := fast_exp(x), elementwise (the kernels' exp, for the accuracy tests)."""
    cdef Py_ssize_t i
    if out.shape[0] != x.shape[0]:
        raise ValueError(f"out must have x's length {x.shape[0]}, got {out.shape[0]}.")
    for i in range(x.shape[0]):
        out[i] = fast_exp(x[i])


def math_values(function, const real[::1] x, real[::1] out):
    """out := the kernels' ``function`` of x, elementwise: "exp" (``fast_exp``), "log",
    "log1p", "tanh" or "sigmoid", as the kernels call them on reals (the accuracy tests)."""
    cdef Py_ssize_t i, n = x.shape[0]
    functions = ("exp", "log", "log1p", "tanh", "sigmoid")
    if function not in functions:
        raise ValueError(f"function must be one of {functions}, got {function!r}.")
    if out.shape[0] != n:
        raise ValueError(f"out must have x's length {n}, got {out.shape[0]}.")
    cdef int which = functions.index(function)
    with nogil:
        for i in range(n):
            if which == 0:
                out[i] = fast_exp(x[i])
            elif which == 1:
                out[i] = log(x[i])
            elif which == 2:
                out[i] = log1p(x[i])
            elif which == 3:
                out[i] = tanh(x[i])
            else:
                out[i] = sigmoid(x[i])
