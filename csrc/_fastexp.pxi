# The float64 kernels' exp, inline (no reference twin: NumPy's exp is the reference).
#
# glibc's algorithm (Szabolcs Nagy's, also in musl and ARM's optimized-routines):
# exp(x) = 2^(k/N) exp(r) with N = 128, |r| <= ln2/256, a degree-5 polynomial and a table of
# 2^(i/N) with the tail bits of each entry, within about half an ulp (tests/test_parity.py).
# Inline because libm's exp is a call through the PLT and its errno wrapper per sigmoid.
# Outside |x| < 512 (results beyond 1e+-222, overflow, subnormals, inf, NaN) it calls libm.

cdef union Bits:
    double d
    uint64_t u


cdef enum:
    EXP_CORE_LIMIT = 512  # exp_core's range |x| < 512 (glibc's exp: its main path)

cdef uint64_t EXP_TAB[256]  # (tail, bits of 2^(i/N) - (i << 45)) per i; see _exp_table()
cdef extern from *:
    # glibc's constants, written with 17 significant digits (the same doubles; MSVC's C
    # compiler reads no hexadecimal floats): 128/ln2 = 0x1.71547652b82fep0 * 128,
    # 0x1.8p52, -ln2/128 as -0x1.62e42fefa0000p-8 - 0x1.cf79abc9e3b3ap-47, and
    # 0x1.ffffffffffdbdp-2, 0x1.555555555543cp-3, 0x1.55555cf172b91p-5, 0x1.1111167a4d017p-7.
    """
    static const double EXP_INVLN2N = 184.66496523378731, EXP_SHIFT = 6755399441055744.0,
        EXP_NEGLN2HIN = -0.0054152123481117087, EXP_NEGLN2LON = -1.2864023111638346e-14,
        EXP_C2 = 0.49999999999996786, EXP_C3 = 0.16666666666665886,
        EXP_C4 = 0.041666680841067401, EXP_C5 = 0.0083333358530595491;
    """
    const double EXP_INVLN2N, EXP_SHIFT, EXP_NEGLN2HIN, EXP_NEGLN2LON
    const double EXP_C2, EXP_C3, EXP_C4, EXP_C5


def _exp_table():
    """Fill EXP_TAB from 40-digit decimal arithmetic (the same bits on every platform)."""
    from decimal import Decimal, localcontext
    cdef Bits hi, tail
    cdef uint64_t i
    with localcontext() as ctx:
        ctx.prec = 40
        ln2 = Decimal(2).ln()
        for i in range(128):
            t = (ln2 * i / 128).exp()
            hi.d = float(t)
            tail.d = float((t - Decimal(hi.d)) / Decimal(hi.d))
            EXP_TAB[2 * i] = tail.u
            EXP_TAB[2 * i + 1] = hi.u - (i << 45)


_exp_table()


cdef inline double exp_core(double x) noexcept nogil:
    """exp(x) for |x| < 512 (``fast_exp`` checks the range)."""
    cdef Bits kd, tail, scale
    cdef double r, r2, tmp
    cdef uint64_t ki, idx
    kd.d = EXP_INVLN2N * x + EXP_SHIFT  # round to an integer k in the low bits
    ki = kd.u
    kd.d -= EXP_SHIFT
    r = x + kd.d * EXP_NEGLN2HIN + kd.d * EXP_NEGLN2LON
    idx = 2 * (ki % 128)
    tail.u = EXP_TAB[idx]
    scale.u = EXP_TAB[idx + 1] + (ki << 45)
    r2 = r * r
    tmp = tail.d + r + r2 * (EXP_C2 + r * EXP_C3) + r2 * r2 * (EXP_C4 + r * EXP_C5)
    return scale.d + scale.d * tmp


cdef inline double fast_exp(double x) noexcept nogil:
    if not fabs(x) < EXP_CORE_LIMIT:  # as glibc's main path; it handles the rest
        return exp(x)
    return exp_core(x)
