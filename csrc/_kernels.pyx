"""The compiled backend in float64: the kernels of nnfast/_reference/ as nogil loops over raw
buffers of ``real`` (here double; _kernels32.pyx compiles the same source with float).

The pieces live in one unit per section of the reference, under the reference's names
(_activations, _losses, _dense, _optimizers, _random, _training, _perceptron); what has no
twin by design in units of its own (_fastexp, _finite, _batch, _sample, and the team of
threads, the module nnfast._team that both precisions share). _entry.pxi holds the entry
points that compose them: forward, evaluate, loss_and_gradient, train_epochs,
perceptron_epochs, Workspace, finite and the settings; _pieces.pxi exposes each piece on its
own (``pieces``), for the tests.

Two precisions, one source: this file and _kernels32.pyx each include a precision unit
(_float64.pxi, _float32.pxi: ``real``, the NumPy dtype, exp, log and the other math
functions on real values) and then _entry.pxi. The rule for what is real:

- every value a kernel keeps in a buffer is real (parameters, gradients, optimizer moments,
  activations, deltas, inputs, targets, sample weights), and so is every sum that makes one
  (a dot product, a column sum, softmax's normaliser), as BLAS and NumPy sum in the data's
  precision;
- the numbers a kernel reports are summed in double: a batch's and an epoch's loss, the
  count of correct predictions, the penalty, the total sample weight;
- hyperparameters are double; an optimizer's rates are rounded to real once per step (as
  NumPy rounds a Python float that meets a float32 array); within one element's formula a
  double scale or constant may promote the arithmetic to double, rounded once where stored.

The reference follows the same rule in the parameters' dtype: its reported sums run in
float64 (``np.sum(..., dtype=np.float64)``), its arrays in the parameters' dtype.

Every entry point compares the buffers it is handed with the spec before it takes a pointer
(nnfast/_spec.py's checks: the reference refuses the same buffers with the same message);
beyond that the Python layer has validated the data. A training run's unit of work is
``train_epochs``: whole epochs of shuffling, forward pass, backpropagation and update,
without the GIL and without allocating (every buffer lives in a ``Workspace``). Note that
wraparound is off: no negative indices anywhere.
"""
include "_float64.pxi"
include "_entry.pxi"
