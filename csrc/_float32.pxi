# float32: the precision _kernels32.pyx compiles the kernels in (_float64.pxi: _kernels.pyx).
#
# ``real`` is the type of what the kernels keep in buffers. The math functions the units
# apply to real values come from here under their double names: libm's float versions
# (expf, logf, ...), so that a unit's exp(z) on a real z computes in float. In this module
# those names take floats: the units call them on real values only.

from libc.math cimport expf as exp, fabsf as fabs, logf as log, log1pf as log1p
from libc.math cimport sqrtf as sqrt, tanhf as libm_tanh
from libc.stdint cimport uint32_t, uint64_t

import numpy as np

ctypedef float real
ctypedef uint32_t real_bits

DTYPE = np.dtype(np.float32)

cdef extern from *:
    # a real's exponent field, and its lowest bit
    """
    static const uint32_t REAL_EXPONENT = 0x7f800000U, REAL_EXPONENT_LOW = 0x00800000U;
    """
    const uint32_t REAL_EXPONENT, REAL_EXPONENT_LOW

cdef enum:
    REAL_SIGN_BIT = 31

include "_fastexpf.pxi"
