# Randomness: the twin of nnfast/_reference/randomness.py. Draws come from the caller's
# NumPy bit generator, in the order and with the algorithms of NumPy's own Generator methods,
# so the reference reproduces them with rng.shuffle and rng.random.

cdef bitgen_t *get_bitgen(rng) except NULL:
    return <bitgen_t *> PyCapsule_GetPointer(rng.bit_generator.capsule, "BitGenerator")


cdef inline uint64_t random_interval(bitgen_t *bg, uint64_t mx) noexcept nogil:
    """Uniform integer in [0, mx], exactly as numpy/random/src/distributions random_interval."""
    cdef uint64_t mask = mx, value
    if mx == 0:
        return 0
    mask |= mask >> 1
    mask |= mask >> 2
    mask |= mask >> 4
    mask |= mask >> 8
    mask |= mask >> 16
    mask |= mask >> 32
    if mx <= 0xffffffffUL:
        while True:
            value = bg.next_uint32(bg.state) & mask
            if value <= mx:
                return value
    while True:
        value = bg.next_uint64(bg.state) & mask
        if value <= mx:
            return value


cdef void shuffle_order(bitgen_t *bg, intp *order, Py_ssize_t n) noexcept nogil:
    """Fisher-Yates, the same draws as ``Generator.shuffle`` on a 1-d array."""
    cdef Py_ssize_t i, j, tmp
    for i in range(n - 1, 0, -1):
        j = <Py_ssize_t> random_interval(bg, <uint64_t> i)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp


cdef inline void dropout_mask(bitgen_t *bg, real *A, real *deriv, Py_ssize_t size,
                              double rate) noexcept nogil:
    """Apply an inverted-dropout mask to A and f' (size values each): keep where u >= rate
    (u from ``Generator.random``, one per value in order, compared in double) and scale by
    1 / (1 - rate), rounded to real."""
    cdef Py_ssize_t i
    cdef real keep = 1.0 / (1.0 - rate)
    cdef double u
    for i in range(size):
        u = bg.next_double(bg.state)
        if u >= rate:
            A[i] *= keep
            deriv[i] *= keep
        else:
            A[i] = 0.0
            deriv[i] = 0.0
