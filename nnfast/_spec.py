"""What the Python layer hands to a backend kernel: the network's shape and the hyperparameters.

Both backends read these two small records, and both refuse a buffer that does not fit them
through the checks at the end of this module (the same test, the same message). The name ->
code tables users see live in ``activations.py``, ``losses.py``, ``optimizers.py`` and
``schedules.py``; ``csrc/`` declares the same codes (a test checks they agree).

The kernels compute in float64 or float32 (``REALS``): every float buffer of one call has
the same dtype, the compiled module's own (``nnfast._kernels``: float64,
``nnfast._kernels32``: float32), or for the reference the data's (X's).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# Activation codes (one per layer in Spec.activations); softmax is the output's only.
IDENTITY, SIGMOID, TANH, RELU, STEP, SOFTMAX = ACTIVATION_CODES = tuple(range(6))
# Loss codes.
MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY = LOSS_CODES = tuple(range(3))
# Optimizer codes. SGD_SKLEARN and ADAM_SKLEARN are scikit-learn's MLP optimizers (its
# _stochastic_optimizers.py): velocity v := mu v - lr g, p += v (Nesterov: p += mu v - lr g);
# Adam with its bias corrections folded into the rate, lr_t = lr sqrt(1 - b2^t) / (1 - b1^t).
SGD, ADAM, SGD_SKLEARN, ADAM_SKLEARN = range(4)
# How a batch's loss and gradient are scaled (Hyper.convention):
#   MEAN     nnfast's: the mean loss over the data set (row i counting w_i / mean w), plus
#            the penalty l1 |W| + l2 / 2 ||W||^2
#   SKLEARN  scikit-learn's MLP: each batch B minimises (sum_B w_i l_i + l1 |W| + l2 / 2
#            ||W||^2) / S_B, S_B the batch's weight sum, l_i its per-sample loss (the squared
#            error halved and averaged over the outputs, the log losses summed over them) and
#            the squared error's gradient that of the sum over the outputs, halved; an epoch
#            reports sum_B |B| (batch objective before the step) / n
MEAN, SKLEARN = range(2)
# Learning-rate schedule codes, evaluated per update step t inside the kernels:
#   CONSTANT      lr
#   EXPONENTIAL   lr * decay_rate ** (t / decay_steps)      (floor(t / decay_steps) if staircase)
#   INVERSE_TIME  lr / (1 + decay_rate * t / decay_steps) ** power   (floor(...) if staircase)
CONSTANT, EXPONENTIAL, INVERSE_TIME = range(3)
# The dtypes the kernels compute in (float64 is the default everywhere).
REALS = (np.dtype(np.float64), np.dtype(np.float32))


class Spec(NamedTuple):
    """Layer sizes, one activation code per layer (the last is the output's) and the loss code.

    Parameters are stored in one flat buffer: every weight matrix ``W_l`` (``sizes[l] x
    sizes[l+1]``, C order) first, in layer order, then every bias ``b_l``. Regularisation
    therefore touches exactly ``params[:n_weights]``.
    """

    sizes: tuple
    activations: tuple
    loss: int

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_weights(self) -> int:
        return sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def n_params(self) -> int:
        return self.n_weights + sum(self.sizes[1:])

    def unpack(self, flat):
        """Per-layer views ``(weights, biases)`` into a flat buffer with this layout."""
        weights, biases = [], []
        w_at, b_at = 0, self.n_weights
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            weights.append(flat[w_at : w_at + n_in * n_out].reshape(n_in, n_out))
            biases.append(flat[b_at : b_at + n_out])
            w_at += n_in * n_out
            b_at += n_out
        return weights, biases


class Hyper(NamedTuple):
    """Hyperparameters of one training run, read by ``train_epochs``.

    The regularised objective is ``mean loss + l1 * sum|W| + l2 / 2 * sum W**2`` over the
    weights (never the biases). ``dropout`` holds one rate per hidden layer (inverted
    dropout: kept units are scaled by ``1 / (1 - rate)`` during training only), or nothing.
    """

    learning_rate: float
    optimizer: int = SGD
    momentum: float = 0.0
    nesterov: bool = False
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    l1: float = 0.0
    l2: float = 0.0
    schedule: int = CONSTANT
    decay_rate: float = 0.0
    decay_steps: float = 1.0
    staircase: bool = False
    power: float = 1.0
    dropout: tuple = ()
    convention: int = MEAN


class Csr:
    """A sparse X for the kernels, in compressed sparse rows: row i's non-zeros are
    ``data[indptr[i]:indptr[i + 1]]`` at columns ``indices[...]`` (float64 data, intp
    indices, duplicates allowed). The first layer's products run over the non-zeros only;
    ``take``, slices and ``scipy`` give the rows and SciPy's matrix of them."""

    __slots__ = ("data", "indices", "indptr", "shape")
    ndim = 2

    def __init__(self, data, indices, indptr, shape):
        self.data, self.indices, self.indptr = data, indices, indptr
        self.shape = (int(shape[0]), int(shape[1]))

    def __repr__(self):
        return f"Csr(shape={self.shape}, nnz={self.nnz}, dtype={self.dtype})"

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def nnz(self):
        return int(self.indptr[-1])

    @classmethod
    def of(cls, matrix, dtype=np.float64):
        """A SciPy sparse matrix or array (any format) as a Csr: copies only what must change
        (CSC and COO become CSR once; int32 indices become intp)."""
        m = matrix.tocsr()
        data = np.ascontiguousarray(m.data, dtype=dtype)
        indices = np.ascontiguousarray(m.indices, dtype=np.intp)
        indptr = np.ascontiguousarray(m.indptr, dtype=np.intp)
        return cls(data, indices, indptr, (int(m.shape[0]), int(m.shape[1])))

    def scipy(self):
        """The same rows as a ``scipy.sparse.csr_array`` (sharing the buffers)."""
        import scipy.sparse

        return scipy.sparse.csr_array(
            (self.data, self.indices, self.indptr), shape=self.shape, copy=False
        )

    def take(self, rows):
        """The rows ``rows`` (integer indices, in that order) as a new Csr."""
        rows = np.asarray(rows, dtype=np.intp)
        counts = self.indptr[rows + 1] - self.indptr[rows]
        indptr = np.zeros(rows.size + 1, dtype=np.intp)
        np.cumsum(counts, out=indptr[1:])
        starts = np.repeat(self.indptr[rows] - indptr[:-1], counts)
        at = np.arange(int(indptr[-1]), dtype=np.intp) + starts
        return Csr(self.data[at], self.indices[at], indptr, (rows.size, self.shape[1]))

    def __getitem__(self, key):
        """Rows by a slice (sharing the buffers) or by integer / boolean indices (copied)."""
        if isinstance(key, slice):
            start, stop, stride = key.indices(self.shape[0])
            if stride == 1:
                stop = max(start, stop)
                a, b = int(self.indptr[start]), int(self.indptr[stop])
                return Csr(
                    self.data[a:b],
                    self.indices[a:b],
                    self.indptr[start : stop + 1] - a,
                    (stop - start, self.shape[1]),
                )
            key = np.arange(start, stop, stride)
        key = np.asarray(key)
        if key.dtype == bool:
            key = np.flatnonzero(key)
        return self.take(key)


class OptimizerState:
    """Optimizer memory with the flat parameter layout: SGD velocity, or Adam's two moments.

    ``step`` counts updates done so far (it drives bias correction and schedules);
    ``order`` is the training run's sample order, kept so that a resumed run shuffles on from
    where it stopped.
    """

    def __init__(self, n_params: int, hyper=None, dtype=np.float64):
        # Only what the optimizer uses is n_params long (m: momentum's velocity or Adam's
        # first moment; v: Adam's second); the rest are one-element placeholders. The
        # moments have the parameters' dtype.
        dtype = real_dtype(dtype)
        self.step = np.zeros(1, dtype=np.int64)
        self.m = np.zeros(n_params if hyper is None or uses_moments(hyper) else 1, dtype)
        self.v = np.zeros(n_params if hyper is None or uses_second_moment(hyper) else 1, dtype)
        self.order = None

    def fits(self, n_params, hyper):
        """Whether this state can carry on a run with these hyperparameters."""
        return (not uses_moments(hyper) or self.m.shape == (n_params,)) and (
            not uses_second_moment(hyper) or self.v.shape == (n_params,)
        )


def uses_moments(hyper):
    """Momentum and Adam keep per-parameter moments; plain SGD does not."""
    return uses_second_moment(hyper) or hyper.momentum != 0.0


def uses_second_moment(hyper):
    """Adam (either) keeps a second moment in ``v``."""
    return hyper.optimizer in (ADAM, ADAM_SKLEARN)


def real_dtype(dtype, own=None):
    """The dtype a kernel computes in, from ``dtype`` (None: ``own``, else float64): one of
    ``REALS``, and ``own`` if given (a compiled module computes in its own dtype only)."""
    if dtype is None:
        return np.dtype(np.float64) if own is None else np.dtype(own)
    try:
        found = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be 'float64' or 'float32', got {dtype!r}.") from None
    if found not in REALS:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {found.name!r}.")
    if own is not None and found != np.dtype(own):
        raise ValueError(
            f"dtype must be {np.dtype(own).name!r} for these kernels (they "
            f"compute in {np.dtype(own).name}), got {found.name!r}."
        )
    return found


# --- the kernels' checks: every buffer against the spec, before any kernel touches it ------
#
# Both backends call these at their entry points (the compiled one only once its own O(1)
# test has found a mismatch), so a refused buffer gets the same ValueError from either.
# ``dtype`` is the dtype of the call's float buffers: a compiled module passes its own; the
# reference passes None, and the data's dtype (X's: float64 or float32) decides.


def check_spec(spec):
    """The network a Spec describes is one the kernels can run."""
    sizes, codes = tuple(spec.sizes), tuple(spec.activations)
    if len(sizes) < 2 or not all(isinstance(n, (int, np.integer)) and n >= 1 for n in sizes):
        raise ValueError(f"spec.sizes must be two or more layer sizes >= 1, got {sizes}.")
    if len(codes) != len(sizes) - 1:
        raise ValueError(
            f"spec.activations must have {len(sizes) - 1} codes (one per layer), got {len(codes)}."
        )
    for l, code in enumerate(codes):
        last = l == len(codes) - 1
        valid = tuple(c for c in ACTIVATION_CODES if last or c != SOFTMAX)
        if code not in valid:
            raise ValueError(
                f"spec.activations[{l}] must be one of {valid} "
                f"({'softmax only as the output' if not last else 'codes'}), "
                f"got {code!r}."
            )
    if spec.loss not in LOSS_CODES:
        raise ValueError(f"spec.loss must be one of {LOSS_CODES}, got {spec.loss!r}.")


def _network(spec):
    return tuple(spec.sizes), tuple(spec.activations), spec.loss


def _precision(X, dtype):
    """The dtype every float buffer of a call must have: ``dtype``, else X's if it is one the
    kernels compute in, else float64 (for the message refusing X)."""
    if dtype is not None:
        return np.dtype(dtype)
    if isinstance(X, (np.ndarray, Csr)) and X.dtype in REALS:
        return X.dtype
    return REALS[0]


def _array(name, a, ndim, dtype=np.float64, writeable=False):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(a).__name__}.")
    if a.dtype != dtype or a.ndim != ndim or not a.flags.c_contiguous:
        raise ValueError(
            f"{name} must be a C-contiguous {np.dtype(dtype).name} array with "
            f"{ndim} dimension(s), got a {a.ndim}-d {a.dtype} array"
            f"{'' if a.flags.c_contiguous else ' (not C-contiguous)'}."
        )
    if writeable and not a.flags.writeable:
        raise ValueError(f"{name} must be writeable (the kernel writes into it).")


def _length(name, a, expected, what):
    if a.shape[0] != expected:
        raise ValueError(f"{name} must have {expected} {what}, got {a.shape[0]}.")


def _csr(name, X, dtype):
    """A Csr whose buffers a kernel can follow: their dtypes and the row pointers' ends."""
    _array(f"{name}.data", X.data, 1, dtype)
    _array(f"{name}.indices", X.indices, 1, np.intp)
    _array(f"{name}.indptr", X.indptr, 1, np.intp)
    n, d = X.shape
    if (
        X.indptr.shape[0] != n + 1
        or X.indptr[0] != 0
        or X.indptr[-1] != X.data.shape[0]
        or X.indices.shape[0] != X.data.shape[0]
    ):
        raise ValueError(
            f"{name} must have n_rows + 1 = {n + 1} row pointers from 0 to its number of "
            f"values ({X.data.shape[0]}, as many as its column indices), got "
            f"{X.indptr.shape[0]} ending at {X.indptr[-1] if X.indptr.size else None} and "
            f"{X.indices.shape[0]} indices."
        )
    if n and (np.diff(X.indptr) < 0).any():
        raise ValueError(f"{name}.indptr must not decrease.")
    if X.indices.size and (X.indices.min() < 0 or X.indices.max() >= d):
        raise ValueError(f"{name}.indices must lie in [0, {d}) (its columns).")


def _network_data(spec, params, X, dtype, params_writeable=False):
    check_spec(spec)
    _array("params", params, 1, dtype, writeable=params_writeable)
    if isinstance(X, Csr):
        _csr("X", X, dtype)
    else:
        _array("X", X, 2, dtype)
    _length("params", params, spec.n_params, "values (the network's parameter count)")
    if X.shape[1] != spec.sizes[0]:
        raise ValueError(
            f"X must have {spec.sizes[0]} columns (the network's input size), got {X.shape[1]}."
        )


def _targets(spec, name, Y, n, dtype, writeable=False):
    _array(name, Y, 2, dtype, writeable=writeable)
    if Y.shape != (n, spec.sizes[-1]):
        raise ValueError(
            f"{name} must have shape {(n, spec.sizes[-1])} (X's rows, the "
            f"network's output size), got {Y.shape}."
        )


def _rows_and_weights(spec, X, Y, sample_weight, dtype):
    if X.shape[0] < 1:
        raise ValueError("X must have at least one row, got 0.")
    _targets(spec, "Y", Y, X.shape[0], dtype)
    if sample_weight is not None:
        _array("sample_weight", sample_weight, 1, dtype)
        _length("sample_weight", sample_weight, X.shape[0], "values (one per row of X)")


def check_forward(spec, params, X, out, dtype=None):
    """forward(spec, params, X, out): what it is handed fits the network."""
    dtype = _precision(X, dtype)
    _network_data(spec, params, X, dtype)
    _targets(spec, "out", out, X.shape[0], dtype, writeable=True)


def check_evaluate(spec, params, X, Y, sample_weight, dtype=None):
    dtype = _precision(X, dtype)
    _network_data(spec, params, X, dtype)
    _rows_and_weights(spec, X, Y, sample_weight, dtype)


def check_loss_and_gradient(spec, params, X, Y, grad, sample_weight, dtype=None):
    dtype = _precision(X, dtype)
    _network_data(spec, params, X, dtype)
    _rows_and_weights(spec, X, Y, sample_weight, dtype)
    if grad is not None:
        _array("grad", grad, 1, dtype, writeable=True)
        _length("grad", grad, spec.n_params, "values (the network's parameter count)")


def check_workspace(spec, n_samples, batch_size, dtype=None, own=None):
    """Workspace(spec, n_samples, batch_size, dtype): a network the kernels run, sizes >= 1,
    a dtype they compute in (``own``: the compiled module's); returns the dtype."""
    dtype = real_dtype(dtype, own)
    check_spec(spec)
    if n_samples < 1 or batch_size < 1:
        raise ValueError(
            f"a Workspace needs n_samples >= 1 and batch_size >= 1, got "
            f"{n_samples} and {batch_size}."
        )
    return dtype


def check_train_epochs(
    spec,
    params,
    X,
    Y,
    n_epochs,
    batch_size,
    state,
    hyper,
    workspace,
    history_out,
    sample_weight,
    dtype=None,
):
    """train_epochs(...): buffers, optimizer state and workspace fit the network and X."""
    dtype = _precision(X, dtype)
    _network_data(spec, params, X, dtype, params_writeable=True)
    _rows_and_weights(spec, X, Y, sample_weight, dtype)
    n = X.shape[0]
    if n_epochs < 0 or batch_size < 1:
        raise ValueError(
            f"n_epochs must be >= 0 and batch_size >= 1, got {n_epochs} and {batch_size}."
        )
    _array("state.step", state.step, 1, np.int64, writeable=True)
    _length("state.step", state.step, 1, "value (the update count)")
    for name, used in (("m", uses_moments(hyper)), ("v", uses_second_moment(hyper))):
        moment = getattr(state, name)
        _array(f"state.{name}", moment, 1, dtype, writeable=True)
        if used:
            _length(
                f"state.{name}",
                moment,
                spec.n_params,
                "values (one per parameter: this optimizer keeps moments)",
            )
    if len(hyper.dropout) not in (0, spec.n_layers - 1):
        raise ValueError(
            f"hyper.dropout must have {spec.n_layers - 1} rates (one per hidden "
            f"layer) or none, got {len(hyper.dropout)}."
        )
    if _network(workspace.spec) != _network(spec):
        raise ValueError(
            f"workspace must be built for this spec, got one built for {workspace.spec}."
        )
    if workspace.dtype != dtype:
        raise ValueError(
            f"workspace must be built for {dtype.name} (the data's dtype), "
            f"got one built for {workspace.dtype.name}."
        )
    if workspace.sparse != isinstance(X, Csr):
        raise ValueError(
            f"workspace must be built with sparse={isinstance(X, Csr)} for this X, got "
            f"sparse={workspace.sparse}."
        )
    if workspace.order.shape != (n,) or workspace.batch_size < batch_size:
        raise ValueError(
            f"workspace must be built for X's {n} rows and batches of at least "
            f"{batch_size}, got one for {workspace.order.shape[0]} rows and "
            f"batches of {workspace.batch_size}."
        )
    order = workspace.order
    if n and (order.min() < 0 or order.max() >= n):
        raise ValueError(
            f"workspace.order must hold row indices of X (0 to {n - 1}), got "
            f"{order.min()} to {order.max()}."
        )
    _array("history_out", history_out, 2, writeable=True)
    if history_out.shape[0] < n_epochs or history_out.shape[1] != 2:
        raise ValueError(
            f"history_out must have shape (n_epochs or more, 2) = (>= {n_epochs}, "
            f"2), got {history_out.shape}."
        )


def check_perceptron_epochs(X, y, params, max_epochs, order, errors_out, boundary_out, dtype=None):
    """perceptron_epochs(...): every buffer fits X (d columns: params holds w and b)."""
    dtype = _precision(X, dtype)
    _array("X", X, 2, dtype)
    n, d = X.shape
    _array("y", y, 1, np.intp)
    _length("y", y, n, "labels (one per row of X)")
    _array("params", params, 1, dtype, writeable=True)
    _length("params", params, d + 1, "values (a weight per column of X, then the bias)")
    if max_epochs < 0:
        raise ValueError(f"max_epochs must be >= 0, got {max_epochs}.")
    _array("order", order, 1, np.intp, writeable=True)
    _length("order", order, n, "values (one per row of X)")
    if n and (order.min() < 0 or order.max() >= n):
        raise ValueError(
            f"order must hold row indices of X (0 to {n - 1}), got {order.min()} to {order.max()}."
        )
    _array("errors_out", errors_out, 1, np.intp, writeable=True)
    if errors_out.shape[0] < max_epochs:
        raise ValueError(
            f"errors_out must have max_epochs ({max_epochs}) values or more, got "
            f"{errors_out.shape[0]}."
        )
    _array("boundary_out", boundary_out, 2, dtype, writeable=True)
    if boundary_out.shape[0] < max_epochs or boundary_out.shape[1] != d + 1:
        raise ValueError(
            f"boundary_out must have shape (max_epochs or more, d + 1) = "
            f"(>= {max_epochs}, {d + 1}), got {boundary_out.shape}."
        )
