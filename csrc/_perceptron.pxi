# The perceptron algorithm's compiled loop (included into _kernels.pyx); see
# nnfast/_reference.py for the reference it mirrors.


def perceptron_epochs(const double[:, ::1] X, const intp[::1] y, double[::1] params,
                      double learning_rate, Py_ssize_t max_epochs, bint shuffle, rng,
                      intp[::1] order, intp[::1] errors_out, double[:, ::1] boundary_out):
    """Up to ``max_epochs`` passes of the perceptron algorithm; returns the passes run.

    The reference's ``perceptron_epochs`` with the GIL released. ``params = [w_1..w_d, b]``
    is updated in place: a point x with label y in {0, 1} that the step of
    ``w.x + b`` (1 where >= 0) gets wrong moves the line, (w, b) += lr (x, 1) when y = 1 and
    (w, b) -= lr (x, 1) when y = 0. ``order`` is shuffled in place before each pass when
    ``shuffle`` (``Generator.shuffle``'s draws). errors_out[e] := mistakes in pass e,
    boundary_out[e] := params after pass e. Stops after the first pass without a mistake.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], e, i, j, r, mistakes
    cdef Py_ssize_t epochs_run = max_epochs
    cdef double z, step
    cdef double *w = &params[0]
    cdef intp *idx = &order[0]
    cdef bitgen_t *bg = get_bitgen(rng) if shuffle else NULL
    with nogil:
        for e in range(max_epochs):
            if shuffle:
                shuffle_order(bg, idx, n)
            mistakes = 0
            for i in range(n):
                r = idx[i]
                # w.x summed left to right, then b: the reference rounds in the same order.
                z = 0.0
                for j in range(d):
                    z = z + w[j] * X[r, j]
                z = z + w[d]
                if (z >= 0.0) != (y[r] == 1):
                    step = learning_rate if y[r] == 1 else -learning_rate
                    for j in range(d):
                        w[j] = w[j] + step * X[r, j]
                    w[d] = w[d] + step
                    mistakes += 1
            errors_out[e] = mistakes
            memcpy(&boundary_out[e, 0], w, (d + 1) * sizeof(double))
            if mistakes == 0:
                epochs_run = e + 1
                break
    return epochs_run
