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

from typing import TYPE_CHECKING, Any, NamedTuple, cast

import numpy as np

if TYPE_CHECKING:
    from typing import Protocol, TypeVar

    from numpy.typing import ArrayLike, DTypeLike, NDArray
    from scipy.sparse import csr_array, sparray, spmatrix
    from typing_extensions import Self

    #: A float64 or float32 buffer (a call's float buffers all have one of the two dtypes).
    RealArray = NDArray[np.floating[Any]]
    #: Row indices, labels and counts.
    IndexArray = NDArray[np.intp]
    _Real = TypeVar("_Real", bound=np.floating[Any])

    class WorkspaceLike(Protocol):
        """What the checks read of a workspace: the reference's ``Workspace`` or the compiled
        module's."""

        @property
        def spec(self) -> Spec: ...
        @property
        def dtype(self) -> np.dtype[Any]: ...
        @property
        def sparse(self) -> bool: ...
        @property
        def order(self) -> IndexArray: ...
        @property
        def batch_size(self) -> int: ...


# Activation codes (one per layer in Spec.activations); softmax is the output's only.
(IDENTITY, SIGMOID, TANH, RELU, STEP, SOFTMAX, LEAKY_RELU, ELU, GELU, SOFTPLUS, SILU, EXP) = (
    ACTIVATION_CODES
) = tuple(range(12))
# The activations with a parameter alpha, and its default (torch's): leaky_relu's negative
# slope, elu's alpha. The others ignore alpha.
DEFAULT_ALPHA = {LEAKY_RELU: 0.01, ELU: 1.0}
# Loss codes.
MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY, MAE, HUBER, POISSON = LOSS_CODES = tuple(range(6))
# Optimizer codes. SGD_SKLEARN and ADAM_SKLEARN are scikit-learn's MLP optimizers (its
# _stochastic_optimizers.py): velocity v := mu v - lr g, p += v (Nesterov: p += mu v - lr g);
# Adam with its bias corrections folded into the rate, lr_t = lr sqrt(1 - b2^t) / (1 - b1^t).
SGD, ADAM, SGD_SKLEARN, ADAM_SKLEARN, ADAMW, RMSPROP, ADAGRAD = range(7)
# The OptimizerState buffers each optimizer keeps per parameter, as (name, the Hyper field
# that must be set for it, or None: always): m a velocity or first moment, v a second moment
# or Adagrad's sum of squares, g_avg centered RMSprop's mean gradient.
STATE_BUFFERS = {
    SGD: (("m", "momentum"),),
    ADAM: (("m", None), ("v", None)),
    SGD_SKLEARN: (("m", "momentum"),),
    ADAM_SKLEARN: (("m", None), ("v", None)),
    ADAMW: (("m", None), ("v", None)),
    RMSPROP: (("m", "momentum"), ("v", None), ("g_avg", "centered")),
    ADAGRAD: (("v", None),),
}
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
#   COSINE        linear warm-up from 0 over warmup_steps, then a cosine from lr down to
#                 final_fraction * lr over decay_steps (Keras's CosineDecay)
#   ONE_CYCLE     torch's OneCycleLR (cosine annealing): from lr / div_factor up to lr over
#                 pct_start * total_steps, then down to lr / div_factor / final_div_factor
# COSINE and ONE_CYCLE count t in units of step_unit updates (an epoch's, per epoch).
CONSTANT, EXPONENTIAL, INVERSE_TIME, COSINE, ONE_CYCLE = range(5)
# Batch normalisation (torch's BatchNorm1d): the running statistics' momentum, and epsilon.
BN_MOMENTUM, BN_EPSILON = 0.1, 1e-5
# The dtypes the kernels compute in (float64 is the default everywhere).
REALS = (np.dtype(np.float64), np.dtype(np.float32))


class Spec(NamedTuple):
    """Layer sizes, one activation code per layer (the last is the output's) and the loss code;
    ``alphas``: each layer's activation parameter (``DEFAULT_ALPHA``), or () for the defaults;
    ``batch_norm``: every hidden layer's pre-activations normalised (``BatchNorm1d``'s).

    Parameters are stored in one flat buffer: every weight matrix ``W_l`` (``sizes[l] x
    sizes[l+1]``, C order) first, in layer order, then every bias ``b_l``. Regularisation
    therefore touches exactly ``params[:n_weights]``. With batch normalisation there follow,
    per hidden layer, its scale gamma and shift beta (the end of the trainable parameters,
    ``n_trainable``), then per hidden layer its running mean and variance: statistics, not
    trained, kept in the buffer so that everything that copies or restores the parameters
    (snapshots, early stopping, files) carries them (Keras's non-trainable weights).
    """

    sizes: tuple[int, ...]
    activations: tuple[int, ...]
    loss: int
    alphas: tuple[float, ...] = ()
    batch_norm: bool = False

    def layer_alphas(self) -> tuple[float, ...]:
        """Every layer's alpha: ``alphas``, or each activation's default (0.0 without one)."""
        if len(self.alphas):
            return tuple(float(a) for a in self.alphas)
        return tuple(default_alpha(code) for code in self.activations)

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def n_weights(self) -> int:
        return sum(a * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def n_hidden_units(self) -> int:
        return sum(self.sizes[1:-1])

    @property
    def n_trainable(self) -> int:
        """The parameters an optimizer steps (its moments have this length)."""
        norm = 2 * self.n_hidden_units if self.batch_norm else 0
        return self.n_weights + sum(self.sizes[1:]) + norm

    @property
    def n_params(self) -> int:
        return self.n_trainable + (2 * self.n_hidden_units if self.batch_norm else 0)

    def unpack_norm(
        self, flat: NDArray[_Real]
    ) -> tuple[
        list[NDArray[_Real]], list[NDArray[_Real]], list[NDArray[_Real]], list[NDArray[_Real]]
    ]:
        """Per-hidden-layer views ``(gammas, betas, means, variances)`` into a flat buffer
        with this layout (empty lists without batch normalisation)."""
        out: tuple[
            list[NDArray[_Real]], list[NDArray[_Real]], list[NDArray[_Real]], list[NDArray[_Real]]
        ] = ([], [], [], [])
        if not self.batch_norm:
            return out
        at = self.n_weights + sum(self.sizes[1:])
        for group in (0, 2):  # gamma and beta, then the running mean and variance
            for n in self.sizes[1:-1]:
                out[group].append(flat[at : at + n])
                out[group + 1].append(flat[at + n : at + 2 * n])
                at += 2 * n
        return out

    def unpack(self, flat: NDArray[_Real]) -> tuple[list[NDArray[_Real]], list[NDArray[_Real]]]:
        """Per-layer views ``(weights, biases)`` into a flat buffer with this layout."""
        weights: list[NDArray[_Real]] = []
        biases: list[NDArray[_Real]] = []
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
    weight_decay: float = 0.0  # AdamW's, decoupled: p -= lr * weight_decay * p
    rho: float = 0.99  # RMSprop's decay of the squared gradients' average
    centered: bool = False  # RMSprop: divide by the gradient's estimated deviation
    initial_accumulator_value: float = 0.0  # Adagrad's sum of squared gradients at start
    l1: float = 0.0
    l2: float = 0.0
    schedule: int = CONSTANT
    decay_rate: float = 0.0
    decay_steps: float = 1.0
    staircase: bool = False
    power: float = 1.0
    warmup_steps: float = 0.0
    final_fraction: float = 0.0  # CosineDecay's alpha
    total_steps: float = 1.0
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    step_unit: float = 1.0
    clip_norm: float = 0.0  # the gradient's largest global L2 norm (0: no clipping)
    clip_value: float = 0.0  # its largest absolute element (0: no clipping)
    dropout: tuple[float, ...] = ()
    convention: int = MEAN


class Csr:
    """A sparse X for the kernels, in compressed sparse rows: row i's non-zeros are
    ``data[indptr[i]:indptr[i + 1]]`` at columns ``indices[...]`` (float64 data, intp
    indices, duplicates allowed). The first layer's products run over the non-zeros only;
    ``take``, slices and ``scipy`` give the rows and SciPy's matrix of them."""

    __slots__ = ("data", "indices", "indptr", "shape")
    ndim = 2
    data: RealArray
    indices: IndexArray
    indptr: IndexArray
    shape: tuple[int, int]

    def __init__(
        self, data: RealArray, indices: IndexArray, indptr: IndexArray, shape: tuple[int, int]
    ) -> None:
        self.data, self.indices, self.indptr = data, indices, indptr
        self.shape = (int(shape[0]), int(shape[1]))

    def __repr__(self) -> str:
        return f"Csr(shape={self.shape}, nnz={self.nnz}, dtype={self.dtype})"

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.data.dtype

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    @classmethod
    def of(cls, matrix: spmatrix | sparray, dtype: DTypeLike = np.float64) -> Self:
        """A SciPy sparse matrix or array (any format) as a Csr: copies only what must change
        (CSC and COO become CSR once; int32 indices become intp)."""
        m = matrix.tocsr()
        data = np.ascontiguousarray(m.data, dtype=dtype)
        indices = np.ascontiguousarray(m.indices, dtype=np.intp)
        indptr = np.ascontiguousarray(m.indptr, dtype=np.intp)
        return cls(data, indices, indptr, (int(m.shape[0]), int(m.shape[1])))

    def scipy(self) -> csr_array:
        """The same rows as a ``scipy.sparse.csr_array`` (sharing the buffers)."""
        import scipy.sparse

        return scipy.sparse.csr_array(
            (self.data, self.indices, self.indptr), shape=self.shape, copy=False
        )

    def take(self, rows: ArrayLike) -> Csr:
        """The rows ``rows`` (integer indices, in that order) as a new Csr."""
        index = np.asarray(rows, dtype=np.intp)
        counts = self.indptr[index + 1] - self.indptr[index]
        indptr = np.zeros(index.size + 1, dtype=np.intp)
        np.cumsum(counts, out=indptr[1:])
        starts = np.repeat(self.indptr[index] - indptr[:-1], counts)
        at = np.arange(int(indptr[-1]), dtype=np.intp) + starts
        return Csr(self.data[at], self.indices[at], indptr, (index.size, self.shape[1]))

    def __getitem__(self, key: slice | ArrayLike) -> Csr:
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
    """Optimizer memory with the flat parameter layout, one buffer per kind of moment:

    - ``m``: SGD's and RMSprop's momentum velocity, Adam's and AdamW's first moment;
    - ``v``: the second moment (Adam, AdamW), the squared gradients' average (RMSprop) or sum
      (Adagrad, from ``initial_accumulator_value``);
    - ``g_avg``: centered RMSprop's average gradient.

    ``step`` counts updates done so far (it drives bias correction and schedules);
    ``order`` is the training run's sample order, kept so that a resumed run shuffles on from
    where it stopped.
    """

    BUFFERS = ("m", "v", "g_avg")
    m: RealArray
    v: RealArray
    g_avg: RealArray
    step: NDArray[np.int64]
    order: IndexArray | None

    def __init__(
        self, n_params: int, hyper: Hyper | None = None, dtype: DTypeLike = np.float64
    ) -> None:
        # Only what the optimizer uses is n_params long (the trainable parameters,
        # Spec.n_trainable); the rest are one-element placeholders. The moments have the
        # parameters' dtype.
        dtype = real_dtype(dtype)
        used = state_buffers(hyper)
        self.step = np.zeros(1, dtype=np.int64)
        for name in self.BUFFERS:
            setattr(self, name, np.zeros(n_params if name in used else 1, dtype))
        self._initial_v = 0.0
        if hyper is not None and hyper.optimizer == ADAGRAD:
            self._initial_v = hyper.initial_accumulator_value
        self.reset()
        self.order = None

    def reset(self) -> None:
        """Every moment back to its start: 0, Adagrad's sum to its initial value."""
        for name in self.BUFFERS:
            getattr(self, name)[...] = 0.0
        self.v[...] = self._initial_v

    def fits(self, n_params: int, hyper: Hyper | None) -> bool:
        """Whether this state can carry on a run with these hyperparameters."""
        return all(getattr(self, name).shape == (n_params,) for name in state_buffers(hyper))


def default_alpha(code: int) -> float:
    """The activation parameter ``code`` takes when none is given (0.0: it has none)."""
    return DEFAULT_ALPHA.get(code, 0.0)


def state_buffers(hyper: Hyper | None) -> tuple[str, ...]:
    """The names of the ``OptimizerState`` buffers ``hyper``'s optimizer keeps per parameter
    (None: all of them), from its ``STATE_BUFFERS`` entry."""
    if hyper is None:
        return OptimizerState.BUFFERS
    return tuple(
        name
        for name, needs in STATE_BUFFERS[hyper.optimizer]
        if needs is None or getattr(hyper, needs)
    )


def real_dtype(
    dtype: DTypeLike | None, own: np.dtype[np.floating[Any]] | None = None
) -> np.dtype[np.floating[Any]]:
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
    return cast("np.dtype[np.floating[Any]]", found)  # one of REALS


# --- the kernels' checks: every buffer against the spec, before any kernel touches it ------
#
# Both backends call these at their entry points (the compiled one only once its own O(1)
# test has found a mismatch), so a refused buffer gets the same ValueError from either.
# ``dtype`` is the dtype of the call's float buffers: a compiled module passes its own; the
# reference passes None, and the data's dtype (X's: float64 or float32) decides.


def check_spec(spec: Spec) -> None:
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
    alphas = tuple(spec.alphas)
    if alphas and (
        len(alphas) != len(codes)
        or not all(
            isinstance(a, (int, float, np.integer, np.floating)) and np.isfinite(a) for a in alphas
        )
    ):
        raise ValueError(
            f"spec.alphas must be empty or {len(codes)} finite numbers (one per "
            f"layer), got {alphas!r}."
        )
    if not isinstance(spec.batch_norm, (bool, np.bool_)):
        raise ValueError(f"spec.batch_norm must be True or False, got {spec.batch_norm!r}.")


def _network(
    spec: Spec,
) -> tuple[tuple[int, ...], tuple[int, ...], int, tuple[float, ...], bool]:
    return (
        tuple(spec.sizes),
        tuple(spec.activations),
        spec.loss,
        spec.layer_alphas(),
        bool(spec.batch_norm),
    )


def check_batch_rows(spec: Spec, n_rows: int, batch_size: int, name: str = "X") -> None:
    """Batch normalisation normalises over a batch's rows: refuse a batch of one row (its
    variance is 0, its unbiased variance undefined), as torch's BatchNorm1d does."""
    if not spec.batch_norm:
        return
    if batch_size < 2 or n_rows < 2:
        raise ValueError(
            f"batch normalisation needs batches of at least 2 rows (the "
            f"statistics are over a batch's rows), got batch_size={batch_size} "
            f"for {n_rows} rows of {name}."
        )
    if n_rows % batch_size == 1:
        raise ValueError(
            f"batch normalisation needs batches of at least 2 rows, but "
            f"{n_rows} rows of {name} in batches of {batch_size} leave a last "
            f"batch of 1 row: choose another batch_size."
        )


def _precision(X: object, dtype: DTypeLike | None) -> np.dtype[Any]:
    """The dtype every float buffer of a call must have: ``dtype``, else X's if it is one the
    kernels compute in, else float64 (for the message refusing X)."""
    if dtype is not None:
        return np.dtype(dtype)
    if isinstance(X, (np.ndarray, Csr)) and X.dtype in REALS:
        return X.dtype
    return REALS[0]


def _array(
    name: str, a: object, ndim: int, dtype: DTypeLike = np.float64, writeable: bool = False
) -> None:
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


def _length(name: str, a: NDArray[Any], expected: int, what: str) -> None:
    if a.shape[0] != expected:
        raise ValueError(f"{name} must have {expected} {what}, got {a.shape[0]}.")


def _csr(name: str, X: Csr, dtype: DTypeLike) -> None:
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


def _network_data(
    spec: Spec,
    params: RealArray,
    X: RealArray | Csr,
    dtype: DTypeLike,
    params_writeable: bool = False,
) -> None:
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


def _targets(
    spec: Spec, name: str, Y: RealArray, n: int, dtype: DTypeLike, writeable: bool = False
) -> None:
    _array(name, Y, 2, dtype, writeable=writeable)
    if Y.shape != (n, spec.sizes[-1]):
        raise ValueError(
            f"{name} must have shape {(n, spec.sizes[-1])} (X's rows, the "
            f"network's output size), got {Y.shape}."
        )


def _rows_and_weights(
    spec: Spec,
    X: RealArray | Csr,
    Y: RealArray,
    sample_weight: RealArray | None,
    dtype: DTypeLike,
) -> None:
    if X.shape[0] < 1:
        raise ValueError("X must have at least one row, got 0.")
    _targets(spec, "Y", Y, X.shape[0], dtype)
    if sample_weight is not None:
        _array("sample_weight", sample_weight, 1, dtype)
        _length("sample_weight", sample_weight, X.shape[0], "values (one per row of X)")


def check_forward(
    spec: Spec,
    params: RealArray,
    X: RealArray | Csr,
    out: RealArray,
    dtype: DTypeLike | None = None,
) -> None:
    """forward(spec, params, X, out): what it is handed fits the network."""
    dtype = _precision(X, dtype)
    _network_data(spec, params, X, dtype)
    _targets(spec, "out", out, X.shape[0], dtype, writeable=True)


def check_layer_outputs(
    spec: Spec,
    params: RealArray,
    X: RealArray | Csr,
    outs: list[RealArray] | tuple[RealArray, ...],
    dtype: DTypeLike | None = None,
) -> None:
    """layer_outputs(spec, params, X, outs, pre_activations): one writeable array per layer,
    X's rows by the layer's units."""
    dtype = _precision(X, dtype)
    _network_data(spec, params, X, dtype)
    if not isinstance(outs, (list, tuple)) or len(outs) != spec.n_layers:
        raise ValueError(
            f"outs must be a list of {spec.n_layers} arrays (one per layer), got {outs!r:.80}."
        )
    for l, out in enumerate(outs):
        _array(f"outs[{l}]", out, 2, dtype, writeable=True)
        if out.shape != (X.shape[0], spec.sizes[l + 1]):
            raise ValueError(
                f"outs[{l}] must have shape {(X.shape[0], spec.sizes[l + 1])} "
                f"(X's rows, layer {l}'s units), got {out.shape}."
            )


def check_evaluate(
    spec: Spec,
    params: RealArray,
    X: RealArray | Csr,
    Y: RealArray,
    sample_weight: RealArray | None,
    dtype: DTypeLike | None = None,
) -> None:
    dtype = _precision(X, dtype)
    _network_data(spec, params, X, dtype)
    _rows_and_weights(spec, X, Y, sample_weight, dtype)


def check_loss_and_gradient(
    spec: Spec,
    params: RealArray,
    X: RealArray | Csr,
    Y: RealArray,
    grad: RealArray | None,
    sample_weight: RealArray | None,
    dtype: DTypeLike | None = None,
) -> None:
    dtype = _precision(X, dtype)
    _network_data(spec, params, X, dtype)
    _rows_and_weights(spec, X, Y, sample_weight, dtype)
    check_batch_rows(spec, X.shape[0], X.shape[0])
    if grad is not None:
        _array("grad", grad, 1, dtype, writeable=True)
        _length("grad", grad, spec.n_params, "values (the network's parameter count)")


def check_workspace(
    spec: Spec,
    n_samples: int,
    batch_size: int,
    dtype: DTypeLike | None = None,
    own: np.dtype[np.floating[Any]] | None = None,
) -> np.dtype[np.floating[Any]]:
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
    spec: Spec,
    params: RealArray,
    X: RealArray | Csr,
    Y: RealArray,
    n_epochs: int,
    batch_size: int,
    state: OptimizerState,
    hyper: Hyper,
    workspace: WorkspaceLike,
    history_out: NDArray[np.float64],
    sample_weight: RealArray | None,
    dtype: DTypeLike | None = None,
) -> None:
    """train_epochs(...): buffers, optimizer state and workspace fit the network and X."""
    dtype = _precision(X, dtype)
    _network_data(spec, params, X, dtype, params_writeable=True)
    _rows_and_weights(spec, X, Y, sample_weight, dtype)
    n = X.shape[0]
    if n_epochs < 0 or batch_size < 1:
        raise ValueError(
            f"n_epochs must be >= 0 and batch_size >= 1, got {n_epochs} and {batch_size}."
        )
    check_batch_rows(spec, n, min(batch_size, n))
    _array("state.step", state.step, 1, np.int64, writeable=True)
    _length("state.step", state.step, 1, "value (the update count)")
    used = state_buffers(hyper)
    for name in OptimizerState.BUFFERS:
        moment = getattr(state, name)
        _array(f"state.{name}", moment, 1, dtype, writeable=True)
        if name in used:
            _length(
                f"state.{name}",
                moment,
                spec.n_trainable,
                "values (one per parameter trained: this optimizer keeps moments)",
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


def check_perceptron_epochs(
    X: RealArray,
    y: IndexArray,
    params: RealArray,
    max_epochs: int,
    order: IndexArray,
    errors_out: IndexArray,
    boundary_out: RealArray,
    dtype: DTypeLike | None = None,
) -> None:
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
