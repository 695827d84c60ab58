# The perceptron algorithm's compiled loop (included into _kernels.pyx); see
# nnfast/_reference.py for the reference it mirrors.
