"""The training loop: Python decides per epoch, the backend's ``train_epochs`` computes.

When nothing needs to look between epochs (no validation, callbacks, progress bar or
plateau schedule), all epochs run in one kernel call; otherwise one epoch per call.
``train`` checks the arguments and resources; ``nnfast._run`` runs the epochs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, cast

import numpy as np

from . import _backend, optimizers, schedules
from ._reference import LOSSES
from ._run import _Run, fit_restarts
from ._spec import CONSTANT, Hyper, check_batch_rows
from ._validation import (
    all_finite,
    as_matrix,
    as_targets,
    as_weights,
    check_memory,
    check_number,
    check_rng,
    format_bytes,
    memory_limit,
)
from .callbacks import Callback, EarlyStopping, History, ModelCheckpoint, _Monitor
from .network import full_batch_bytes, workspace_bytes

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Union

    from numpy.typing import ArrayLike

    from ._typing import OptimizerLike, RealArray, Schedule, Seed
    from .network import Network

    #: ``validation_data``: (X_val, Y_val) or (X_val, Y_val, w_val).
    ValidationData = Union[
        tuple[ArrayLike, ArrayLike], tuple[ArrayLike, ArrayLike, ArrayLike | None]
    ]
    #: Validation rows as a run uses them: checked, in the network's dtype.
    Validation = tuple[RealArray, RealArray, RealArray | None]

__all__ = ["Callback", "EarlyStopping", "History", "ModelCheckpoint", "train"]

DIVERGENCE = ("warn", "raise")


def train(
    net: Network,
    X: ArrayLike,
    Y: ArrayLike,
    *,
    epochs: int = 100,
    learning_rate: float = 0.1,
    batch_size: int | None = 32,
    shuffle: bool = True,
    seed: Seed = None,
    optimizer: OptimizerLike = "sgd",
    lr_schedule: Schedule | None = None,
    l1: float = 0.0,
    l2: float = 0.0,
    dropout: float | Sequence[float] = 0.0,
    validation_data: ValidationData | None = None,
    validation_split: float = 0.0,
    early_stopping: bool | EarlyStopping | None = None,
    restarts: int = 1,
    n_jobs: int | None = None,
    callbacks: Sequence[Callback] | None = (),
    verbose: bool = False,
    resume: bool = False,
    on_divergence: Literal["warn", "raise"] = "warn",
    sample_weight: ArrayLike | None = None,
    clip_norm: float | None = None,
    clip_value: float | None = None,
) -> History:
    """Train ``net`` on (X, Y) by mini-batch gradient descent; returns the ``History``.

    Parameters
    ----------
    X : array-like, shape (n_samples, n_inputs)
    Y : array-like, shape (n_samples, n_outputs), or (n_samples,) for one output or for
        integer class labels with a cross-entropy loss.
    epochs : int
        Passes over the training data.
    learning_rate : float
        Step size (the initial one when a schedule is given).
    batch_size : int or None
        Samples per update: 1 is per-sample SGD, None (or >= n_samples) full batch.
    shuffle : bool
        Reshuffle the sample order every epoch (ignored for full batch).
    seed : int, Generator or None
        Seeds shuffles, dropout masks and restarts; default: the network's own generator.
    optimizer : "sgd", "adam", nnfast.SGD(momentum, nesterov) or nnfast.Adam(...)
    lr_schedule : None or a schedule from ``nnfast.schedules``
    l1, l2 : float
        Penalty ``l1 * sum|W| + l2 / 2 * sum W**2`` on the weights (not biases), added to
        the mean loss.
    clip_norm, clip_value : float or None
        Gradient clipping, per batch, inside the compiled loop: every element of the
        gradient (the penalty's included) to ``[-clip_value, clip_value]``
        (``torch.nn.utils.clip_grad_value_``), then the whole gradient scaled by
        ``clip_norm / (||g|| + 1e-6)`` where that is below 1, ``||g||`` its L2 norm over
        every parameter (``clip_grad_norm_``). Either takes the step off the fused paths
        (SGD inside its GEMM, the register-blocked per-sample rule).
    dropout : float or sequence of float
        Inverted-dropout rate for every hidden layer, or one per hidden layer, in [0, 1).
    validation_data : (X_val, Y_val), optional
    validation_split : float
        Fraction of the samples, taken from the end of X and Y (as Keras does), held out
        for validation when ``validation_data`` is not given.
    early_stopping : None, True or EarlyStopping
        Stop when the monitored value stops improving (by default the validation loss, else
        the training loss; ``EarlyStopping(monitor=..., mode=...)`` watches an accuracy or
        a callable of the network); True means ``EarlyStopping()``: patience 10, best
        weights restored. A monitor this run will not record (a validation accuracy without
        validation data, an accuracy for a loss without one) is refused before training.
    restarts : int
        Train this many differently initialised networks and keep the one with the lowest
        monitored loss at the end (at the restored best epoch with early stopping); restart
        0 is exactly the run ``restarts=1`` would make and wins ties.
    n_jobs : int or None
        Threads for the restarts (None or -1: one per restart, up to the number of CPUs).
    callbacks : sequence of Callback
        With ``restarts > 1`` every run gets its own deep copy of the callbacks.
    verbose : bool
        Show a progress bar with the loss and validation loss.
    resume : bool
        Continue the optimizer state of this network's previous ``train`` call (update
        count, so schedules and Adam's bias correction go on, momentum, Adam moments)
        instead of starting fresh: ``partial_fit`` and ``warm_start`` use it.

    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weight of each sample: the loss minimised is ``sum_i w_i L_i / sum_i
        w_i`` (each batch's gradient is scaled by ``w_i / mean(w)``, an unbiased estimate of
        it; full batch gives it exactly). ``History.loss`` and ``accuracy`` are weighted too;
        with ``validation_split`` the held-out rows keep their weights, and
        ``validation_data`` may be a triple ``(X_val, Y_val, w_val)``.
    on_divergence : "warn" or "raise"
        What happens when an epoch's loss is NaN or infinite (a learning rate far too
        large): training stops at once and the network keeps the weights of the last epoch
        with a finite loss; then a RuntimeWarning, or a FloatingPointError (``"raise"``).

    Ctrl-C (KeyboardInterrupt) is checked between batches, after about every millisecond of
    work (a single huge batch runs to its end first), and stops training: the network keeps
    the weights of its last complete epoch (or early stopping's best), ``net.history``
    holds the epochs done (every list one entry per complete epoch, ``interrupted`` set),
    and the KeyboardInterrupt propagates. A network is trained by one thread at a time: a
    second concurrent ``train`` raises RuntimeError. While the compiled loop draws from the
    seed's Generator it holds the Generator's ``bit_generator.lock``.

    Resources are checked before anything is allocated: a training workspace (batch_size
    rows of every layer) larger than the machine's memory is refused, and so is an
    ``epochs`` whose per-epoch records could not fit in memory when nothing (a callback,
    early stopping) can end the run sooner. Training from parameters that are not finite is
    refused. After a divergence the network keeps the last weights that are finite and give
    finite outputs on the training data: the last finite epoch's, an earlier one's, or the
    initial weights.
    """
    net._require_loss("be trained")
    X, Y = net._xy(X, Y)
    if not isinstance(on_divergence, str) or on_divergence not in DIVERGENCE:
        raise ValueError(f"on_divergence must be one of {DIVERGENCE}, got {on_divergence!r}.")
    epochs = check_number(epochs, "epochs", 0, integer=True)
    restarts = check_number(restarts, "restarts", 1, integer=True)
    rng = net._rng if seed is None else check_rng(seed)
    if not all_finite(net._kernel_parameters()):
        net._check_finite_parameters("be trained")  # raises, saying how to fix it
    w = as_weights(sample_weight, X.shape[0], dtype=net.dtype)
    X, Y, w, val = _split_validation(net, X, Y, w, validation_data, validation_split)
    n = X.shape[0]
    if batch_size is None:
        batch_size = n
    batch_size = min(check_number(batch_size, "batch_size", 1, integer=True), n)
    check_batch_rows(net.spec, n, batch_size)
    steps_per_epoch = -(-n // batch_size)
    schedule = schedules.get(lr_schedule)
    opt = optimizers.get(optimizer)
    hyper = Hyper(
        learning_rate=check_number(learning_rate, "learning_rate", 0.0, low_open=True),
        l1=check_number(l1, "l1", 0.0),
        l2=check_number(l2, "l2", 0.0),
        clip_norm=0.0
        if clip_norm is None
        else check_number(clip_norm, "clip_norm", 0.0, low_open=True),
        clip_value=0.0
        if clip_value is None
        else check_number(clip_value, "clip_value", 0.0, low_open=True),
        dropout=_dropout_rates(dropout, net.spec.n_layers - 1),
        **opt.hyper(),
        **(schedule.hyper(steps_per_epoch, epochs) if schedule else {}),
    )
    if early_stopping is True:
        early_stopping = EarlyStopping()
    elif early_stopping not in (None, False) and not isinstance(early_stopping, EarlyStopping):
        raise TypeError(
            f"early_stopping must be None, True or an EarlyStopping, got {early_stopping!r}."
        )
    if callbacks is None:
        callbacks = ()
    elif not isinstance(callbacks, (list, tuple)) or isinstance(callbacks, str):
        raise TypeError(f"callbacks must be a list of Callback objects, got {callbacks!r}.")
    callbacks = list(callbacks) + ([early_stopping] if early_stopping else [])
    for c in callbacks:
        if not callable(getattr(c, "on_epoch_end", None)):
            raise TypeError(f"callbacks must have an on_epoch_end method, got {c!r}.")
        if isinstance(getattr(c, "_watch", None), _Monitor):
            c._watch.check(val is not None, LOSSES[net.spec.loss].correct is not None)
    if (
        isinstance(schedule, schedules.ReduceOnPlateau)
        and schedule.monitor == "val_loss"
        and val is None
    ):
        raise ValueError(
            "ReduceOnPlateau(monitor='val_loss') needs validation_data or validation_split."
        )
    # Resolve the backend here: use_backend() is thread-local and restarts run in threads.
    run = _Run(
        _backend.kernels(dtype=net.dtype),
        net.spec,
        X,
        Y,
        w,
        val,
        hyper,
        batch_size,
        shuffle and batch_size < n,
        schedule,
        on_divergence,
    )

    state = getattr(net, "_optimizer_state", None) if resume else None
    if resume and restarts > 1:
        raise ValueError("resume=True continues one run: it cannot be combined with restarts.")
    parallel = _check_jobs(n_jobs, restarts) if restarts > 1 else 1  # (at most restarts)
    _check_resources(
        net,
        X,
        val,
        batch_size,
        epochs,
        restarts,
        parallel,
        stoppable=bool(callbacks),
        run=run,
    )
    if not net._train_lock.acquire(blocking=False):
        raise RuntimeError(
            "This network is being trained by another thread; train copies "
            "(net.copy()) to train in parallel."
        )
    try:
        if restarts == 1:
            history, _ = run.fit(net, epochs, rng, callbacks, verbose, state)
        else:
            history = fit_restarts(run, net, epochs, rng, restarts, parallel, callbacks, verbose)
    finally:
        net._train_lock.release()
    net.history = history
    return history


def _check_jobs(n_jobs: int | None, restarts: int) -> int:
    """Threads for ``restarts`` runs: ``n_jobs`` (None or -1: one per CPU), at most
    ``MAX_THREADS_PER_CPU`` per CPU (more would only queue; the results do not depend on
    the number of threads)."""
    if n_jobs is None or (
        isinstance(n_jobs, int) and not isinstance(n_jobs, bool) and n_jobs == -1
    ):
        return min(restarts, _cpus())
    n_jobs = check_number(n_jobs, "n_jobs (-1 or None: all CPUs)", 1, integer=True)
    return min(n_jobs, restarts, MAX_THREADS_PER_CPU * _cpus())


#: Threads per CPU ``n_jobs`` may start at most.
MAX_THREADS_PER_CPU = 8


def _check_resources(
    net: Network,
    X: RealArray,
    val: Validation | None,
    batch_size: int,
    epochs: int,
    restarts: int,
    parallel: int,
    stoppable: bool,
    run: _Run,
) -> None:
    """Refuse, before anything is allocated, what could not fit in memory (a few integer
    operations when everything fits: tutorial loops call train once per epoch)."""
    limit = memory_limit()
    if limit is None:
        return
    spec, itemsize = net.spec, net.dtype.itemsize
    per_row, fixed = net._workspace_terms
    if parallel * (itemsize * (batch_size * per_row + fixed) + 16 * X.shape[0]) > limit:
        check_memory(
            parallel * workspace_bytes(spec, X.shape[0], batch_size, itemsize),
            "batch_size",
            f"{'each of ' + str(parallel) + ' parallel runs: ' if parallel > 1 else ''}"
            f"a training workspace for batches of {batch_size} rows through layers "
            f"{list(spec.sizes)}",
        )
    if val is not None:
        check_memory(
            full_batch_bytes(spec, val[0].shape[0], itemsize),
            "validation_data",
            lambda: f"evaluating {val[0].shape[0]} validation rows at once",
        )
    if restarts > 1:
        check_memory(restarts * 96, "restarts", lambda: f"the records of {restarts} restarts")
    if not stoppable and epochs * 256 > limit:  # (256: more than an epoch's records take)
        check_epochs(
            epochs, "epochs", run.val is not None, run.classify, run.hyper.schedule != CONSTANT
        )


def check_epochs(
    epochs: int, name: str, validation: bool = False, classify: bool = False, schedule: bool = False
) -> None:
    """Refuse a number of epochs whose History records (a list slot and a float object per
    value: loss, learning rate, accuracy, validation) could not fit in memory, for a run
    that nothing ends sooner."""
    limit = memory_limit()
    lists = 2 + classify + validation * (1 + classify)
    need = epochs * (32 * lists + 24 * schedule)
    if limit is not None and need > limit:
        raise ValueError(
            f"{name}={epochs}: the History's records of {epochs} epochs would need "
            f"{format_bytes(need)} of memory, more than this machine has "
            f"({format_bytes(limit)}), and nothing can end the run sooner. Train fewer epochs, "
            f"or use early stopping or a callback that stops the run."
        )


def _cpus() -> int:
    import os

    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


def _split_validation(
    net: Network,
    X: RealArray,
    Y: RealArray,
    w: RealArray | None,
    validation_data: ValidationData | None,
    validation_split: float,
) -> tuple[RealArray, RealArray, RealArray | None, Validation | None]:
    """(X_train, Y_train, w_train, (X_val, Y_val, w_val) or None); w may be None."""
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise TypeError("validation_data must be (X_val, Y_val) or (X_val, Y_val, w_val).")
        Xv = as_matrix(validation_data[0], "validation_data[0]", net.n_inputs, net.dtype)
        Yv = as_targets(
            validation_data[1],
            "validation_data[1]",
            net.n_outputs,
            Xv.shape[0],
            net.spec.loss,
            net.dtype,
        )
        wv = (
            as_weights(validation_data[2], Xv.shape[0], "validation_data[2]", net.dtype)
            if len(validation_data) == 3
            else None
        )
        return X, Y, w, (Xv, Yv, wv)
    split = check_number(validation_split, "validation_split", 0.0, 1.0, high_open=True)
    if split == 0.0:
        return X, Y, w, None
    n_val = int(np.ceil(split * X.shape[0]))
    if n_val >= X.shape[0]:
        raise ValueError(f"validation_split={split} leaves no training samples.")
    cut = X.shape[0] - n_val
    if w is not None and not (w[:cut].any() and w[cut:].any()):
        raise ValueError("validation_split leaves a part whose sample weights are all 0.")
    return (
        X[:cut],
        Y[:cut],
        None if w is None else w[:cut],
        (X[cut:], Y[cut:], None if w is None else w[cut:]),
    )


def _dropout_rates(dropout: float | Sequence[float], n_hidden: int) -> tuple[float, ...]:
    rates: list[object] = (
        [dropout] * n_hidden if np.ndim(dropout) == 0 else list(cast("Sequence[float]", dropout))
    )
    if len(rates) != n_hidden:
        raise ValueError(
            f"dropout must be one rate or {n_hidden} rates (one per hidden layer), "
            f"got {len(rates)}."
        )
    return tuple(
        check_number(r, f"dropout[{i}]", 0.0, 1.0, high_open=True) for i, r in enumerate(rates)
    )
