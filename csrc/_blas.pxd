# Row-major BLAS wrappers over scipy.linalg.cython_blas, as scikit-learn's utils/_cython_blas.pyx
# does: a C-order (m x n) matrix is the Fortran-order (n x m) matrix, so C = op(A) op(B) in row
# major is C^T = op(B)^T op(A)^T in column major: swap the operands, keep the transposes.
from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, sgemm


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k, floating alpha,
                      const floating *A, int lda, const floating *B, int ldb, floating beta,
                      floating *C, int ldc) noexcept nogil:
    """C := alpha * op(A) @ op(B) + beta * C, all row-major; op(A) is m x k, op(B) is k x n."""
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float *> B, &ldb, <float *> A, &lda, &beta, C,
              &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double *> B, &ldb, <double *> A, &lda, &beta, C,
              &ldc)
