# float64: the precision _kernels.pyx compiles the kernels in (_float32.pxi: _kernels32.pyx).
#
# ``real`` is the type of what the kernels keep in buffers. The math functions the units
# apply to real values come from here under their double names (exp, log, ...), so one
# source serves both precisions; so do the bits of a real value (the finiteness scan).

from libc.math cimport exp, fabs, log, log1p, sqrt
from libc.math cimport tanh as libm_tanh
from libc.stdint cimport uint64_t

import numpy as np

ctypedef double real
ctypedef uint64_t real_bits

DTYPE = np.dtype(np.float64)

cdef extern from *:
    # a real's exponent field, and its lowest bit
    """
    static const uint64_t REAL_EXPONENT = 0x7ff0000000000000ULL,
        REAL_EXPONENT_LOW = 0x0010000000000000ULL;
    """
    const uint64_t REAL_EXPONENT, REAL_EXPONENT_LOW

cdef enum:
    REAL_SIGN_BIT = 63

include "_fastexp.pxi"
