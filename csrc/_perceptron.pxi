# The perceptron: the twin of nnfast/_reference/perceptron.py (the entry point,
# perceptron_epochs, is in _kernels.pyx).

cdef Py_ssize_t perceptron_pass(const real *X, const intp *y, real *w, Py_ssize_t n,
                                Py_ssize_t d, double learning_rate,
                                const intp *order) noexcept nogil:
    """One pass of the perceptron algorithm over rows order[:n] of X (n x d); returns the
    mistakes. ``w = [w_1..w_d, b]``, updated in place: a point x with label y in {0, 1} that
    the step of ``w.x + b`` (1 where >= 0) gets wrong moves the line, (w, b) += lr (x, 1)
    when y = 1 and (w, b) -= lr (x, 1) when y = 0."""
    cdef Py_ssize_t i, j, r, mistakes = 0
    cdef const real *x
    cdef real z, step
    for i in range(n):
        r = order[i]
        x = X + r * d
        # w.x summed left to right, then b: the reference rounds in the same order.
        z = 0.0
        for j in range(d):
            z = z + w[j] * x[j]
        z = z + w[d]
        if (z >= 0.0) != (y[r] == 1):
            step = learning_rate if y[r] == 1 else -learning_rate
            for j in range(d):
                w[j] = w[j] + step * x[j]
            w[d] = w[d] + step
            mistakes += 1
    return mistakes
