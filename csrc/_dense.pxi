# Dense layer and batch normalisation: the twin of nnfast/_reference/dense.py.
#
# Products with at least ``gemm_threshold`` multiply-adds call BLAS; smaller ones run as
# loops written as dot products (reductions). Without -ffast-math the compiler keeps a
# floating-point reduction in order, as scalar code, which is what tiny layers want: no
# vector prologue, alias check or remainder loop per row.

# Products with fewer multiply-adds than this run as loops (set_gemm_threshold).
cdef Py_ssize_t gemm_threshold = 4096


cdef inline void dense_forward(const real *A, const real *W, const real *b, real *Z,
                               Py_ssize_t m, Py_ssize_t k, Py_ssize_t n) noexcept nogil:
    """Z := A @ W + b, for A (m x k), W (k x n)."""
    cdef Py_ssize_t i, p, j
    cdef real s
    cdef const real *a
    if m * k * n >= gemm_threshold:
        for i in range(m):
            for j in range(n):
                Z[i * n + j] = b[j]
        gemm(False, False, <int> m, <int> n, <int> k, <real> 1.0, A, <int> k, W, <int> n,
             <real> 1.0, Z, <int> n)
        return
    for i in range(m):
        a = A + i * k
        for j in range(n):
            s = b[j]
            for p in range(k):
                s += a[p] * W[p * n + j]
            Z[i * n + j] = s


cdef inline void bias_gradient(const real *D, Py_ssize_t ld, real *out, Py_ssize_t m,
                               Py_ssize_t n) noexcept nogil:
    """out := the column sums of D (m x n, rows ld apart), row by row: a vectorisable sweep,
    in row order."""
    cdef Py_ssize_t i, j
    for j in range(n):
        out[j] = D[j]
    for i in range(1, m):
        for j in range(n):
            out[j] += D[i * ld + j]


cdef inline void weight_gradient(const real *A, Py_ssize_t lda, const real *D, real *C,
                                 Py_ssize_t m, Py_ssize_t k, Py_ssize_t n, real alpha,
                                 real beta) noexcept nogil:
    """C := alpha * A^T @ D + beta * C, as BLAS defines it (beta == 0: C is not read), for
    A (m x k, rows lda apart: k columns of a wider matrix), D (m x n), C (k x n). With
    alpha = 1, beta = 0 the gradient; other values fold an SGD step into it (``descend``)."""
    cdef Py_ssize_t i, p, j
    cdef real s
    if m * k * n >= gemm_threshold:
        gemm(True, False, <int> k, <int> n, <int> m, alpha, A, <int> lda, D, <int> n, beta, C,
             <int> n)
        return
    for p in range(k):
        for j in range(n):
            s = 0.0
            for i in range(m):
                s += A[i * lda + p] * D[i * n + j]
            if beta == 0.0:
                C[p * n + j] = alpha * s
            else:
                C[p * n + j] = beta * C[p * n + j] + alpha * s


cdef inline real derivative_at(const real *deriv, const real *relu_a,
                               Py_ssize_t i) noexcept nogil:
    """f'(z_i): deriv[i], or for a ReLU layer's outputs relu_a (not NULL), from relu_a[i]."""
    if relu_a != NULL:
        return relu_derivative(0.0, relu_a[i], 0.0)  # from the value alone
    return deriv[i]


cdef inline void dense_backward(const real *D, const real *W, const real *deriv,
                                const real *relu_a, real *out, Py_ssize_t m, Py_ssize_t k,
                                Py_ssize_t n) noexcept nogil:
    """out := (D @ W^T) * f', for D (m x n), W (k x n): the previous layer's delta. f' is
    ``deriv``, or with ``relu_a`` (not NULL: a ReLU layer's outputs, no dropout) a > 0,
    which is ReLU's f'(z) = z > 0 without a buffer written in the forward pass."""
    cdef Py_ssize_t i, p, j, size = m * k
    cdef real s
    cdef const real *d
    cdef const real *w
    if m * k * n >= gemm_threshold:
        gemm(False, True, <int> m, <int> k, <int> n, <real> 1.0, D, <int> n, W, <int> n,
             <real> 0.0, out, <int> k)
        for i in range(size):  # the loop-invariant test on relu_a is unswitched (-O3)
            out[i] *= derivative_at(deriv, relu_a, i)
        return
    for i in range(m):
        d = D + i * n
        for p in range(k):
            w = W + p * n
            s = 0.0
            for j in range(n):
                s += d[j] * w[j]
            out[i * k + p] = s * derivative_at(deriv, relu_a, i * k + p)


# --- batch normalisation (BatchNorm1d's): columns of z over the batch's m rows ------------

from nnfast._spec import BN_EPSILON as _bn_epsilon, BN_MOMENTUM as _bn_momentum

cdef double BN_MOMENTUM = _bn_momentum, BN_EPSILON = _bn_epsilon

cdef inline void batch_norm_forward(real *z, const real *gamma, const real *beta, real *xhat,
                                    real *inv_std, real *mean, real *var, Py_ssize_t m,
                                    Py_ssize_t n, Py_ssize_t ld) noexcept nogil:
    """z := gamma xhat + beta in place, xhat := (z - mean) inv_std, inv_std :=
    1 / sqrt(var + eps), with the columns' mean and biased variance (sums in row order), for
    n columns of z and xhat whose rows are ld apart."""
    cdef Py_ssize_t i, j
    cdef real c
    for j in range(n):
        mean[j] = z[j]
    for i in range(1, m):
        for j in range(n):
            mean[j] += z[i * ld + j]
    for j in range(n):
        mean[j] = mean[j] / <real> m
        c = z[j] - mean[j]
        var[j] = c * c
    for i in range(1, m):
        for j in range(n):
            c = z[i * ld + j] - mean[j]
            var[j] += c * c
    for j in range(n):
        var[j] = var[j] / <real> m
        inv_std[j] = <real> 1.0 / sqrt(var[j] + <real> BN_EPSILON)
    for i in range(m):
        for j in range(n):
            c = (z[i * ld + j] - mean[j]) * inv_std[j]
            xhat[i * ld + j] = c
            z[i * ld + j] = gamma[j] * c + beta[j]


cdef inline void batch_norm_backward(real *delta, const real *xhat, const real *gamma,
                                     const real *inv_std, real *d_gamma, real *d_beta,
                                     real *scratch, Py_ssize_t m, Py_ssize_t n,
                                     Py_ssize_t ld) noexcept nogil:
    """delta := dL/dz in place from dL/dy, through the batch's statistics:
    gamma inv_std / m (m delta - d_beta - xhat d_gamma); d_gamma := sum(delta xhat),
    d_beta := sum(delta) over the rows (n columns, rows ld apart; scratch: n values)."""
    cdef Py_ssize_t i, j
    cdef real rows = <real> m
    for j in range(n):
        d_beta[j] = delta[j]
        d_gamma[j] = delta[j] * xhat[j]
    for i in range(1, m):
        for j in range(n):
            d_beta[j] += delta[i * ld + j]
            d_gamma[j] += delta[i * ld + j] * xhat[i * ld + j]
    for j in range(n):
        scratch[j] = gamma[j] * inv_std[j] / rows
    for i in range(m):
        for j in range(n):
            delta[i * ld + j] = scratch[j] * (rows * delta[i * ld + j] - d_beta[j]
                                              - xhat[i * ld + j] * d_gamma[j])


cdef inline void batch_norm_running(real *running_mean, real *running_var, const real *mean,
                                    const real *var, Py_ssize_t m, Py_ssize_t n) noexcept nogil:
    """The running statistics after a batch of m rows: momentum BN_MOMENTUM, the variance
    unbiased."""
    cdef Py_ssize_t j
    cdef real keep = 1.0 - BN_MOMENTUM, rate = BN_MOMENTUM, unbias = m / (m - 1.0)
    for j in range(n):
        running_mean[j] = keep * running_mean[j] + rate * mean[j]
        running_var[j] = keep * running_var[j] + rate * (var[j] * unbias)


cdef inline void batch_norm_inference(real *z, const real *gamma, const real *beta,
                                      const real *running_mean, const real *running_var,
                                      real *scratch, Py_ssize_t m, Py_ssize_t n,
                                      Py_ssize_t ld) noexcept nogil:
    """z := z scale + (beta - running_mean scale) in place, scale = gamma /
    sqrt(running_var + eps) (n columns, rows ld apart; scratch: 2 n values)."""
    cdef Py_ssize_t i, j
    cdef real *scale = scratch
    cdef real *shift = scratch + n
    for j in range(n):
        scale[j] = gamma[j] / sqrt(running_var[j] + <real> BN_EPSILON)
        shift[j] = beta[j] - running_mean[j] * scale[j]
    for i in range(m):
        for j in range(n):
            z[i * ld + j] = z[i * ld + j] * scale[j] + shift[j]


# --- sparse rows (nnfast/_spec.Csr): the first layer's products over the non-zeros --------

cdef struct Rows:
    # row r's values data[indptr[r]:indptr[r + 1]] at columns indices[...]
    const real *data
    const intp *indices
    const intp *indptr


cdef inline intp row_at(const intp *rows, Py_ssize_t first, Py_ssize_t i) noexcept nogil:
    """The data set's row of a batch's row i: rows[i], or first + i (rows NULL: in place)."""
    return rows[i] if rows != NULL else first + i


cdef inline void sparse_forward(const Rows *X, const intp *rows, Py_ssize_t first,
                                const real *W, const real *b, real *Z, Py_ssize_t m,
                                Py_ssize_t n) noexcept nogil:
    """Z := X[rows] @ W + b for m sparse rows, W (k x n): each row's non-zeros x_j times W's
    row j, in order, then b (SciPy's CSR product, then the bias, as scikit-learn adds it)."""
    cdef Py_ssize_t i, j, q
    cdef intp r
    cdef real x
    cdef real *z
    cdef const real *w
    for i in range(m):
        r = row_at(rows, first, i)
        z = Z + i * n
        memset(z, 0, n * sizeof(real))
        for q in range(X.indptr[r], X.indptr[r + 1]):
            x = X.data[q]
            w = W + X.indices[q] * n
            for j in range(n):
                z[j] += x * w[j]
        for j in range(n):
            z[j] += b[j]


cdef inline void sparse_weight_gradient(const Rows *X, const intp *rows, Py_ssize_t first,
                                        const real *D, real *C, Py_ssize_t m,
                                        Py_ssize_t p0, Py_ssize_t p1,
                                        Py_ssize_t n) noexcept nogil:
    """C := rows p0:p1 of X[rows]^T @ D (m x n), C (p1 - p0) x n: each non-zero x_j of a
    row i with p0 <= j < p1 adds x_j D_i to C's row j - p0, rows in order."""
    cdef Py_ssize_t i, j, q
    cdef intp r, col
    cdef real x
    cdef real *c
    cdef const real *d
    memset(C, 0, (p1 - p0) * n * sizeof(real))
    for i in range(m):
        r = row_at(rows, first, i)
        d = D + i * n
        for q in range(X.indptr[r], X.indptr[r + 1]):
            col = X.indices[q]
            if col < p0 or col >= p1:
                continue
            x = X.data[q]
            c = C + (col - p0) * n
            for j in range(n):
                c[j] += x * d[j]
