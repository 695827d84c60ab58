"""How the MLP estimators train: scikit-learn's stochastic solvers one compiled epoch at a
time, with scikit-learn's per-epoch bookkeeping in Python, and 'lbfgs' through SciPy.

Per epoch, in scikit-learn's order: the kernel shuffles the sample order (from
``random_state``'s own bit generator) and runs every mini-batch; then ``t_`` grows by the
training rows, the loss joins ``loss_curve_``, the no-improvement count moves (validation
score with early stopping, else training loss against the best minus ``tol``), the best
weights are kept, the optimizer's rate is updated (invscaling) and, after more than
``n_iter_no_change`` epochs without improvement, the optimizer decides (adaptive: rate / 5)
whether training stops.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Literal, Union

import numpy as np

from . import _backend
from ._mlp_random import epoch_shuffler, extra_rng
from ._run import draw_lock, run_in_threads
from ._spec import ADAM_SKLEARN, SGD_SKLEARN, SKLEARN, Csr, Hyper, OptimizerState
from .callbacks import History
from .training import _check_jobs

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import ClassVar, Protocol, TypedDict

    from numpy.typing import DTypeLike, NDArray

    from ._mlp_random import RandomSource
    from ._mlp_scores import ValidationScore
    from ._typing import FloatArray, RealArray
    from .callbacks import Callback
    from .network import Network

    Solver = Literal["lbfgs", "sgd", "adam"]
    LearningRate = Literal["constant", "invscaling", "adaptive"]
    #: What ``_target`` holds: the kind of y the estimator was fitted on.
    Target = Literal["binary", "multilabel", "multiclass", "regression"]
    #: A dense X (float64, or float32 for a float32 model) or sparse rows.
    Rows = Union[RealArray, Csr]
    #: scikit-learn's scorer protocol: (estimator, X, y, sample_weight=...) -> a number.
    Scorer = Callable[..., float]
    #: (Y, P, w) -> the weighted mean loss, as scikit-learn reports it.
    LossFunction = Callable[[RealArray, RealArray, RealArray | None], float]
    Optimizer = Union["SGDOptimizer", "AdamOptimizer"]

    class OptimizerHyper(TypedDict, total=False):
        """An optimizer's part of the kernel's ``Hyper``."""

        optimizer: int
        momentum: float
        nesterov: bool
        beta_1: float
        beta_2: float
        epsilon: float

    class Params(Protocol):
        """The hyperparameters as ``_BaseMLP._checked_params`` checks them (a
        ``types.SimpleNamespace`` with these attributes)."""

        hidden: list[int]
        activation: str | tuple[str, ...]  # as given: one name, or one per hidden layer
        layers: tuple[str, ...]  # each hidden layer's, in nnfast's names
        solver: Solver
        alpha: float
        batch_size: int | Literal["auto"]
        learning_rate: LearningRate
        learning_rate_init: float
        power_t: float
        max_iter: int
        shuffle: bool
        tol: float
        verbose: bool
        warm_start: bool
        momentum: float
        nesterovs_momentum: bool
        early_stopping: bool
        validation_fraction: float
        beta_1: float
        beta_2: float
        epsilon: float
        n_iter_no_change: float  # an int, or numpy.inf
        max_fun: int
        l1: float
        dropout: float | tuple[float, ...]
        restarts: int
        n_jobs: int | None
        clip_norm: float | None
        clip_value: float | None
        callbacks: list[Callback]
        scoring: Scorer | None
        loss: str | None  # MLPRegressor's; None for the classifier

    class MLPState:
        """What the solvers and the model files read and write on an MLP estimator: its
        fitted state, scikit-learn's records between fits, and the methods they call.
        ``SolverMixin`` and ``FilesMixin`` derive from it for type checking only (a
        Protocol base would lose the ``| None`` of the attributes they assign)."""

        _kinds: ClassVar[tuple[Target, ...]]
        solver: str  # the constructor's parameter, as given
        _target: Target
        _net: Network
        _optimizer: Optimizer | None
        _best_parameters: RealArray | None
        _no_improvement_count: int
        loss_curve_: list[float] | None
        loss_: float
        best_loss_: float | None
        validation_scores_: list[float] | None
        validation_loss_curve_: list[float] | None
        best_validation_score_: float | None
        n_iter_: int
        t_: int
        history_: History | None
        n_features_in_: int
        feature_names_in_: NDArray[np.object_]  # when X had string column names
        classes_: NDArray[Any]  # the classifier's
        network_: Network

        def _checked_params(self) -> Params: ...
        def _network(self, what: str) -> Network: ...
        def _new_network(self, sizes: Sequence[int], dtype: DTypeLike = ...) -> Network: ...
        def _set_network(self, net: Network) -> None: ...
        def _is_fitted(self) -> bool: ...
        def _loss_scale(self) -> float: ...
        def _losses(self, target: str) -> tuple[str, str]: ...


#: scikit-learn's message when training ends with weights that are not finite (its
#: test_nonfinite_params matches it).
NONFINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large "
    "values and need to be preprocessed."
)

#: scikit-learn's floor for learning_rate="adaptive": at or below it, training stops.
MIN_ADAPTIVE_RATE = 1e-6


class Unfit(Exception):
    """Training stopped before anything was learnt: the estimator is left unfitted."""


def stochastic_only(estimator: MLPState) -> bool:
    """``partial_fit`` exists only for the stochastic solvers, as in scikit-learn."""
    if estimator.solver == "lbfgs":
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. "
            f"{estimator.solver} is not stochastic."
        )
    return True


def outputs(network: Network, X: Rows, report: bool = True) -> RealArray:
    """The network's outputs for an X already checked: the kernels directly, after the
    network's O(1) checks (``report``: non-finite outputs raise or warn)."""
    return network._outputs(X, report=report)


def glorot_factor(p: Params, layer: int) -> float:
    """scikit-learn's Glorot factor of ``layer``'s initial weights: 2 for logistic, else 6
    (with one activation per hidden layer, the output layer takes the last one's)."""
    names = p.activation if isinstance(p.activation, tuple) else (p.activation,)
    return 2.0 if names[min(layer, len(names) - 1)] == "logistic" else 6.0


# --- the optimizers: scikit-learn's ``_optimizer``, their moments in the kernels' layout ----


class SGDOptimizer:
    """scikit-learn's ``SGDOptimizer``: the rate and its schedule here, the velocity (flat,
    in ``state.m``) stepped by the kernel: ``v := mu v - lr g; p += v`` (Nesterov:
    ``p += mu v - lr g``)."""

    def __init__(
        self,
        n_params: int,
        dtype: DTypeLike,
        learning_rate_init: float,
        lr_schedule: LearningRate,
        momentum: float,
        nesterov: bool,
        power_t: float,
    ) -> None:
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        self.lr_schedule, self.momentum, self.nesterov = lr_schedule, momentum, nesterov
        self.power_t = power_t
        self.state = OptimizerState(n_params, Hyper(0.0, **self.hyper()), dtype)

    def hyper(self) -> OptimizerHyper:
        return {"optimizer": SGD_SKLEARN, "momentum": self.momentum, "nesterov": self.nesterov}

    def iteration_ends(self, time_step: int) -> None:
        """After an epoch, ``time_step`` samples seen in all fits: invscaling's rate."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = float(self.learning_rate_init) / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg: str, verbose: bool) -> bool:
        """True to stop; 'adaptive' above its floor divides the rate by 5 instead."""
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= MIN_ADAPTIVE_RATE:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(f"{msg} Setting learning rate to {self.learning_rate:f}")
        return False


class AdamOptimizer:
    """scikit-learn's ``AdamOptimizer``: the kernel steps ``p -= lr_t m / (sqrt(v) + eps)``
    with ``lr_t = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)``; ``learning_rate`` is the last
    step's ``lr_t`` and ``t`` the steps taken, as scikit-learn reports them."""

    def __init__(
        self,
        n_params: int,
        dtype: DTypeLike,
        learning_rate_init: float,
        beta_1: float,
        beta_2: float,
        epsilon: float,
    ) -> None:
        self.learning_rate_init = learning_rate_init
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.state = OptimizerState(n_params, Hyper(0.0, **self.hyper()), dtype)

    def hyper(self) -> OptimizerHyper:
        return {
            "optimizer": ADAM_SKLEARN,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }

    @property
    def t(self) -> int:
        return int(self.state.step[0])

    @property
    def learning_rate(self) -> float:
        t = self.t
        if t == 0:
            return float(self.learning_rate_init)
        return float(self.learning_rate_init * np.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t))

    def iteration_ends(self, time_step: int) -> None:
        pass

    def trigger_stopping(self, msg: str, verbose: bool) -> bool:
        if verbose:
            print(msg + " Stopping.")
        return True


def new_optimizer(p: Params, n_params: int, dtype: DTypeLike) -> Optimizer:
    if p.solver == "sgd":
        return SGDOptimizer(
            n_params,
            dtype,
            p.learning_rate_init,
            p.learning_rate,
            p.momentum,
            p.nesterovs_momentum and p.momentum > 0,
            p.power_t,
        )
    return AdamOptimizer(n_params, dtype, p.learning_rate_init, p.beta_1, p.beta_2, p.epsilon)


# --- one stochastic run -----------------------------------------------------------------------


class Run:
    """What scikit-learn keeps on the estimator between epochs and between fits, for one
    training run: the network, the optimizer, the counts and records. ``best`` is the flat
    copy of the best-scoring weights (early stopping), None while it is the live weights (as
    scikit-learn's ``_best_coefs`` is after it restored them)."""

    FIELDS = (
        "loss_curve_",
        "best_loss_",
        "validation_scores_",
        "best_validation_score_",
        "_no_improvement_count",
        "t_",
        "validation_loss_curve_",
    )
    # FIELDS, set from ``fields``
    loss_curve_: list[float]
    best_loss_: float | None
    validation_scores_: list[float] | None
    best_validation_score_: float | None
    _no_improvement_count: int
    t_: int
    validation_loss_curve_: list[float] | None

    def __init__(
        self,
        net: Network,
        optimizer: Optimizer,
        rs: RandomSource,
        best: RealArray | None,
        **fields: Any,
    ) -> None:
        self.net, self.optimizer, self.rs, self.best = net, optimizer, rs, best
        for name in self.FIELDS:
            setattr(self, name, fields[name])
        self.history = History()
        self.n_iter_ = 0
        self.loss_: float | None = None
        self.interrupted = self.diverged = False
        self.workspace: Any = None  # the backend's Workspace (compiled or reference), per fit
        self.cancelled = False
        # a restart's own copies of the callbacks (None: the fit's)
        self.callbacks: list[Callback] | None = None

    @classmethod
    def of(cls, est: MLPState, rs: RandomSource) -> Run:
        fields = {name: getattr(est, name, None) for name in cls.FIELDS}
        assert est._optimizer is not None  # _fit_stochastic made one
        return cls(est._net, est._optimizer, rs, getattr(est, "_best_parameters", None), **fields)

    def commit(self, est: MLPState) -> None:
        for name in self.FIELDS:
            setattr(est, name, getattr(self, name))
        est._optimizer, est._best_parameters = self.optimizer, self.best
        est.n_iter_ = self.n_iter_
        if self.loss_ is not None:
            est.loss_ = self.loss_

    def cancel(self) -> None:
        self.cancelled = True
        if self.workspace is not None:
            self.workspace.cancelled = True


class Data:
    """Everything fixed for the runs of one stochastic fit: training rows (in the split's
    order), validation rows, batch size, the kernels and their settings."""

    def __init__(
        self,
        est: MLPState,
        p: Params,
        X: Rows,
        Y: RealArray,
        w: RealArray | None,
        w_scale: float,
        val: ValidationScore | None,
        incremental: bool,
    ) -> None:
        self.est, self.p, self.X, self.Y, self.w, self.val = est, p, X, Y, w, val
        self.w_scale, self.incremental = w_scale, incremental
        self.kernels = _backend.kernels(dtype=X.dtype)
        self.spec = est._net.spec
        self.constants = poisson_constants(p, Y)
        n = X.shape[0]
        if p.batch_size == "auto":
            self.batch_size = min(200, n)
        else:
            if p.batch_size > n:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is "
                    "going to be clipped",
                    UserWarning,
                    stacklevel=6,
                )
            self.batch_size = min(p.batch_size, n)


def poisson_constants(p: Params, Y: RealArray) -> FloatArray | None:
    """With loss="poisson": per sample, what scikit-learn's half Poisson deviance adds to the
    kernels' POISSON loss (sum over outputs of exp(z) - y z): sum_k xlogy(y, y) - y, in
    float64 (None for the other losses). It does not depend on the weights: the gradient
    has none of it, the reported losses add it."""
    if p.loss != "poisson":
        return None
    from scipy.special import xlogy

    Y = np.asarray(Y, dtype=np.float64)
    return (xlogy(Y, Y) - Y).sum(axis=1)


def epoch_constant(
    constants: FloatArray, w: RealArray | None, order: NDArray[np.intp], batch_size: int
) -> float:
    """The constants' share of an epoch's loss as the kernel reports it in scikit-learn's
    convention, sum over batches B of |B| sum_B w_i c_i / S_B, over n; the batches being
    ``order``'s consecutive slices (the epoch's sample order)."""
    n = order.size
    if w is None:
        return float(constants.sum() / n)
    batch = np.arange(n) // batch_size
    wo = np.asarray(w, dtype=np.float64)[order]
    weight_sums = np.bincount(batch, wo)
    shares = np.bincount(batch, wo * constants[order]) / weight_sums
    return float((np.bincount(batch) * shares).sum() / n)


def kernel_hyper(data: Data, optimizer: Optimizer) -> Hyper:
    """The kernel's hyperparameters for one epoch at the optimizer's current rate, in
    scikit-learn's convention (the penalty divided by each batch's weight sum; sample weights
    divided by ``w_scale``, the penalty too)."""
    p = data.p
    h = optimizer.hyper()
    rate = p.learning_rate_init if h["optimizer"] == ADAM_SKLEARN else optimizer.learning_rate
    dropout = p.dropout if isinstance(p.dropout, tuple) else (p.dropout,) * len(p.hidden)
    return Hyper(
        learning_rate=rate,
        l1=p.l1 / data.w_scale,
        l2=p.alpha / data.w_scale,
        dropout=dropout if any(dropout) else (),
        clip_norm=p.clip_norm or 0.0,
        clip_value=p.clip_value or 0.0,
        convention=SKLEARN,
        **h,
    )


def _epoch(
    data: Data,
    run: Run,
    order: NDArray[np.intp],
    shuffle_rng: np.random.Generator | None,
    drop_rng: np.random.Generator,
    out: FloatArray,
) -> float:
    """One epoch of mini-batches on the kernel; returns its loss as scikit-learn reports
    it. Shuffles in the kernel from ``shuffle_rng`` (the RandomState's bit generator), or,
    with dropout (whose masks draw from ``drop_rng``), in Python first."""
    p, kernels = data.p, data.kernels
    hyper = kernel_hyper(data, run.optimizer)
    in_kernel = p.shuffle and not hyper.dropout and shuffle_rng is not None
    if p.shuffle and not in_kernel:
        (shuffle_rng or run.rs).shuffle(order)
    rng = shuffle_rng if in_kernel and shuffle_rng is not None else drop_rng
    with draw_lock(kernels, rng):
        kernels.train_epochs(
            data.spec,
            run.net._kernel_parameters(),
            data.X,
            data.Y,
            1,
            data.batch_size,
            in_kernel,
            run.optimizer.state,
            hyper,
            rng,
            run.workspace,
            out,
            data.w,
        )
    return float(out[0, 0])


def train_run(data: Data, run: Run, verbose: bool) -> Run:
    """The epochs of one fit (one, for partial_fit) on ``run``, scikit-learn's loop."""
    p, kernels, net = data.p, data.kernels, run.net
    rs = run.rs
    shuffle_rng = epoch_shuffler(rs) if p.shuffle else None
    drop_rng = extra_rng(rs)
    sparse = isinstance(data.X, Csr)
    run.workspace = kernels.Workspace(
        data.spec, data.X.shape[0], data.batch_size, data.X.dtype, sparse=sparse
    )
    run.workspace.cancelled = run.cancelled
    order = run.workspace.order  # arange(n) at every call, as scikit-learn's sample_idx
    out = np.zeros((1, 2))
    max_iter = 1 if data.incremental else p.max_iter
    run.n_iter_ = 0
    callbacks = p.callbacks if run.callbacks is None else run.callbacks
    for c in callbacks:
        if hasattr(c, "on_train_begin"):
            c.on_train_begin(net)
    try:
        _epochs(data, run, order, shuffle_rng, drop_rng, out, max_iter, callbacks, verbose)
    finally:
        for c in callbacks:
            if hasattr(c, "on_train_end"):
                c.on_train_end(run.history, net)
    return run


def _epochs(
    data: Data,
    run: Run,
    order: NDArray[np.intp],
    shuffle_rng: np.random.Generator | None,
    drop_rng: np.random.Generator,
    out: FloatArray,
    max_iter: int,
    callbacks: Sequence[Callback],
    verbose: bool,
) -> None:
    """``train_run``'s loop: up to ``max_iter`` epochs, scikit-learn's bookkeeping after
    each, then the user's callbacks (one returning True stops training)."""
    p, net, early = data.p, run.net, data.p.early_stopping
    for _ in range(max_iter):
        try:
            loss = _epoch(data, run, order, shuffle_rng, drop_rng, out)
            if data.constants is not None:
                loss += epoch_constant(data.constants, data.w, order, data.batch_size)
        except KeyboardInterrupt:  # the kernel put back the last complete epoch's state
            run.interrupted = run.history.interrupted = True
            break
        if not np.isfinite(loss) or run.workspace.diverged:
            # The kernel put the weights back at the epoch's start. scikit-learn would carry
            # on to max_iter with non-finite weights and then raise, unless early stopping
            # kept finite best weights: the first is raised now, from the last finite
            # epoch's weights and records; the second recorded as scikit-learn records it.
            run.diverged = not early
            if early:
                _carry_on_diverged(data, run, max_iter, loss)
            break
        run.n_iter_ += 1
        run.loss_ = loss
        run.t_ += data.X.shape[0]
        run.loss_curve_.append(loss)
        run.history.loss.append(loss)
        run.history.learning_rate.append(float(run.optimizer.learning_rate))
        if data.est._target != "regression":
            run.history.accuracy.append(float(out[0, 1]))
        if verbose:
            print(f"Iteration {run.n_iter_}, loss = {loss:.8f}")
        _update_no_improvement_count(data, run, verbose)
        run.optimizer.iteration_ends(run.t_)
        stop = False
        for c in callbacks:  # every callback sees every epoch
            stop = bool(c.on_epoch_end(run.n_iter_ - 1, run.history, net)) or stop
        if run._no_improvement_count > p.n_iter_no_change:
            if early:
                msg = (
                    f"Validation score did not improve more than tol={p.tol:f} for "
                    f"{p.n_iter_no_change} consecutive epochs."
                )
            else:
                msg = (
                    f"Training loss did not improve more than tol={p.tol:f} for "
                    f"{p.n_iter_no_change} consecutive epochs."
                )
            if run.optimizer.trigger_stopping(msg, verbose):
                run.history.stopped_epoch = run.n_iter_ - 1
                break
            run._no_improvement_count = 0
        if stop:
            run.history.stopped_epoch = run.n_iter_ - 1
            break
    if early and run.best is not None:  # scikit-learn restores its best weights
        net.parameters[:] = run.best
        run.best = None  # its _best_coefs is then the live weights
        run.history.restored_epoch = run.history.best_epoch


def _carry_on_diverged(data: Data, run: Run, max_iter: int, loss: float) -> None:
    """With early stopping, an epoch whose loss or weights stopped being finite: scikit-learn
    carries on to max_iter (a NaN score never counts as "no improvement") and then keeps
    its best weights. Its records from there on are NaN, and so are these, written without
    computing the epochs."""
    n = data.X.shape[0]
    # early stopping set these up
    assert run.validation_scores_ is not None and run.validation_loss_curve_ is not None
    for i in range(max_iter - run.n_iter_):
        run.n_iter_ += 1
        run.t_ += n
        run.loss_ = loss if i == 0 else np.nan
        run.loss_curve_.append(run.loss_)
        run.history.loss.append(run.loss_)
        run.validation_scores_.append(np.nan)
        run.validation_loss_curve_.append(np.nan)
        run.history.val_loss.append(np.nan)
    run._no_improvement_count = 0


def _update_no_improvement_count(data: Data, run: Run, verbose: bool) -> None:
    """scikit-learn's ``_update_no_improvement_count``."""
    p = data.p
    if p.early_stopping:  # which set these up
        assert data.val is not None and run.best_validation_score_ is not None
        assert run.validation_scores_ is not None and run.validation_loss_curve_ is not None
        score, val_loss = data.val(run.net)
        run.validation_scores_.append(score)
        run.validation_loss_curve_.append(val_loss)
        run.history.val_loss.append(val_loss)
        if verbose:
            print(f"Validation score: {score:f}")
        if score < run.best_validation_score_ + p.tol:
            run._no_improvement_count += 1
        else:
            run._no_improvement_count = 0
        if score > run.best_validation_score_:
            run.best_validation_score_ = score
            run.best = run.net.parameters.copy()
            run.history.best_epoch = run.n_iter_ - 1
    else:
        loss = run.loss_curve_[-1]
        assert run.best_loss_ is not None  # inf before the first epoch
        if loss > run.best_loss_ - p.tol:
            run._no_improvement_count += 1
        else:
            run._no_improvement_count = 0
        if loss < run.best_loss_:
            run.best_loss_ = loss


def run_restarts(
    data: Data,
    first_run: Run,
    make_run: Callable[[int], Run],
    restarts: int,
    n_jobs: int | None,
    verbose: bool,
) -> tuple[Run, list[float]]:
    """``first_run`` and ``restarts - 1`` more (``make_run(i)``), ``n_jobs`` threads at a
    time; returns (the best run, every run's final loss). The best is the one with the best
    validation score with early stopping, else the lowest final loss; ties go to the lowest
    index (restart 0 is the run ``restarts=1`` makes). Ctrl-C cancels them all."""
    runs: list[Run | None] = [first_run] + [None] * (restarts - 1)

    def prepare(i: int) -> Run:
        run = runs[i]
        if run is None:
            run = runs[i] = make_run(i)
        return run

    def cancel() -> None:
        for run in runs:
            if run is not None:
                run.cancel()

    workers = min(restarts, _check_jobs(n_jobs, restarts))
    if run_in_threads(
        restarts, workers, prepare, lambda i, run: train_run(data, run, verbose and i == 0), cancel
    ):
        first_run.interrupted = True
    done = [r for r in runs if r is not None and r.n_iter_ > 0]
    if not done:
        return first_run, []

    def key(item: tuple[int, Run]) -> tuple[float, int]:
        i, r = item
        if r.diverged:
            return (np.inf, i)
        if data.p.early_stopping:
            score = r.best_validation_score_
            assert score is not None  # -inf before the first epoch
            return (-score if np.isfinite(score) else np.inf, i)
        assert r.loss_ is not None  # a run that did an epoch has its loss
        return (r.loss_ if np.isfinite(r.loss_) else np.inf, i)

    best = min(((i, r) for i, r in enumerate(runs) if r is not None and r.n_iter_ > 0), key=key)
    finals = [np.nan if r is None or r.loss_ is None else float(r.loss_) for r in runs]
    return best[1], finals
