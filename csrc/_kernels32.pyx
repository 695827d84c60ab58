"""The compiled backend in float32: _kernels.pyx's source compiled with ``real`` = float
(see _kernels.pyx for the units and the rule for what is real). Matrix products call BLAS
sgemm; exp is glibc's expf algorithm inline (_fastexpf.pxi), log, log1p and tanh are libm's
float versions.
"""
include "_float32.pxi"
include "_entry.pxi"
