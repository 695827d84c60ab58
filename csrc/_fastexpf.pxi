# The float32 kernels' exp, inline (no reference twin: NumPy's exp is the reference).
#
# glibc's expf (Szabolcs Nagy's, also in musl and ARM's optimized-routines), computed in
# double: exp(x) = 2^(k/N) 2^(r/N) with N = 32, |r| <= 1/2, a degree-3 polynomial and a table
# of 2^(i/N); within about half an ulp of float once rounded (tests/test_float32.py measures
# it). ``exp_core`` returns the double before that rounding, so a sigmoid rounds only once.
# Outside |x| < 88 (results beyond float's range, subnormals, inf, NaN) it calls libm's expf.

cdef union Bits:
    double d
    uint64_t u


cdef enum:
    EXP_CORE_LIMIT = 88  # exp_core's range |x| < 88 (glibc's expf: its main path)

cdef uint64_t EXP_TAB[32]  # bits of 2^(i/N) - (i << 47) per i; see _exp_table()
cdef extern from *:
    # glibc's constants, written with 17 significant digits (MSVC's C compiler reads no
    # hexadecimal floats): 32/ln2 = 0x1.71547652b82fep0 * 32, 0x1.8p52, and the polynomial
    # 0x1.c6af84b912394p-5 / 32^3, 0x1.ebfce50fac4f3p-3 / 32^2, 0x1.62e42ff0c52d6p-1 / 32.
    """
    static const double EXPF_INVLN2N = 46.166241308446828, EXPF_SHIFT = 6755399441055744.0,
        EXPF_C0 = 1.6938359250920212e-06, EXPF_C1 = 0.00023459809789509004,
        EXPF_C2 = 0.021660849396613134;
    """
    const double EXPF_INVLN2N, EXPF_SHIFT, EXPF_C0, EXPF_C1, EXPF_C2


def _exp_table():
    """Fill EXP_TAB from 40-digit decimal arithmetic (the same bits on every platform)."""
    from decimal import Decimal, localcontext
    cdef Bits t
    cdef uint64_t i
    with localcontext() as ctx:
        ctx.prec = 40
        ln2 = Decimal(2).ln()
        for i in range(32):
            t.d = float((ln2 * i / 32).exp())
            EXP_TAB[i] = t.u - (i << 47)


_exp_table()


cdef inline double exp_core(float x) noexcept nogil:
    """exp(x) in double (before rounding to float) for |x| < 88 (``fast_exp`` checks it)."""
    cdef Bits kd, scale
    cdef double z, r, r2, p, y
    cdef uint64_t ki
    z = EXPF_INVLN2N * <double> x
    kd.d = z + EXPF_SHIFT  # round to an integer k in the low bits
    ki = kd.u
    kd.d -= EXPF_SHIFT
    r = z - kd.d
    scale.u = EXP_TAB[ki % 32] + (ki << 47)
    p = EXPF_C0 * r + EXPF_C1
    r2 = r * r
    y = EXPF_C2 * r + 1.0
    y = p * r2 + y
    return y * scale.d


cdef inline float fast_exp(float x) noexcept nogil:
    if not fabs(x) < EXP_CORE_LIMIT:  # as glibc's main path; libm handles the rest
        return exp(x)
    return <float> exp_core(x)
