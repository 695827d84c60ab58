# The finiteness scan (no reference twin: the reference uses np.isfinite): the input checks'
# test for NaN and infinity, and the training loop's test of the parameters after an epoch.

# Arrays from this many values up are scanned by a team: the scan is limited by memory
# bandwidth, which one core does not saturate.
cdef Py_ssize_t SCAN_TEAM_MIN = 1 << 20


cdef inline bint all_finite(const real *x, Py_ssize_t n) noexcept nogil:
    """No NaN or infinity in x[:n]. Branch-free within blocks of 2048 values: a value's
    exponent field plus one in its lowest bit carries into the sign bit exactly when the
    field is all ones (inf, NaN), so the block's check is an OR of integer sums."""
    cdef const real_bits *u = <const real_bits *> x
    cdef real_bits acc
    cdef Py_ssize_t i, start = 0, stop
    while start < n:
        stop = min(start + 2048, n)
        acc = 0
        for i in range(start, stop):
            acc |= (u[i] & REAL_EXPONENT) + REAL_EXPONENT_LOW
        if acc >> REAL_SIGN_BIT:
            return False
        start = stop
    return True


cdef struct Scan:
    const real *x
    Py_ssize_t n
    bint ok[TEAM_MAX]


cdef void scan_part(void *ctx, int part, int parts) noexcept nogil:
    cdef Scan *s = <Scan *> ctx
    cdef Py_ssize_t start = share(s.n, part, parts)
    s.ok[part] = all_finite(s.x + start, share(s.n, part + 1, parts) - start)
