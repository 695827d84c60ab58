"""The training loop: Python decides per epoch, the backend's ``train_epochs`` computes.

When nothing needs to look between epochs (no validation, callbacks, progress bar or
plateau schedule), all epochs run in one kernel call; otherwise one epoch per call.
"""
from __future__ import annotations

import concurrent.futures
import copy
import sys
import threading
import warnings

import numpy as np

from . import _backend, optimizers, schedules
from ._reference import learning_rate_at
from ._spec import CONSTANT, MSE, Hyper, OptimizerState
from ._validation import (
    all_finite, as_matrix, as_targets, as_weights, check_memory, check_number, check_rng,
    format_bytes, memory_limit,
)
from .network import full_batch_bytes, workspace_bytes


DIVERGENCE = ("warn", "raise")
#: Most epochs per kernel call when nothing needs to look between epochs: the per-epoch
#: records are allocated for one call at a time, never in proportion to ``epochs``.
EPOCHS_PER_CALL = 2**16


class History:
    """Per-epoch record of a training run (lists with one value per epoch).

    ``loss`` / ``val_loss`` are mean data losses without the regularisation penalty
    ``l1 * sum|W| + l2 / 2 * sum W**2`` (so the two are comparable: the model-complexity
    graph); ``loss`` and ``accuracy`` are measured on each batch before its update, as Keras
    does. Accuracies are recorded for the cross-entropy losses only. ``learning_rate[e]`` is
    the rate of the first update of epoch e (for per-epoch schedules and ReduceOnPlateau,
    the rate of the whole epoch). ``best_epoch`` is the index of the lowest monitored loss
    (early stopping's best epoch when it is used), ``stopped_epoch`` the index of the last
    epoch when a callback or early stopping ended the run (else None).
    """

    def __init__(self):
        self.loss, self.accuracy, self.val_loss, self.val_accuracy = [], [], [], []
        self.learning_rate = []
        self.best_epoch = None
        self.stopped_epoch = None
        self.interrupted = False

    @property
    def epochs(self):
        return len(self.loss)

    @property
    def monitor(self):
        """The loss used to choose the best epoch: validation loss if any, else training."""
        return self.val_loss if self.val_loss else self.loss

    def __repr__(self):
        last = f", loss={self.loss[-1]:.6g}" if self.loss else ""
        val = f", val_loss={self.val_loss[-1]:.6g}" if self.val_loss else ""
        return f"History(epochs={self.epochs}{last}{val})"


class Callback:
    """Hooks called by ``train``. Override what you need.

    ``on_epoch_end`` gets the epoch index, the ``History`` so far and the network; returning
    True stops training after that epoch. A callback may also define
    ``adjust_learning_rate(epoch, history, lr)`` returning the rate for the next epoch
    (``ReduceOnPlateau`` works that way).
    """

    def on_train_begin(self, network):
        pass

    def on_epoch_end(self, epoch, history, network):
        return False

    def on_train_end(self, history, network):
        pass


class EarlyStopping(Callback):
    """Stop when the monitored loss has not improved by ``min_delta`` for ``patience`` epochs.

    Monitors the validation loss when there is validation data, else the training loss.
    With ``restore_best`` (default) the network ends with the weights of its best epoch.
    """

    def __init__(self, patience=10, min_delta=0.0, restore_best=True):
        self.patience = check_number(patience, "patience", 0, integer=True)
        self.min_delta = check_number(min_delta, "min_delta", 0.0)
        self.restore_best = bool(restore_best)

    def on_train_begin(self, network):
        self.best, self.best_epoch, self.wait, self.best_parameters = np.inf, None, 0, None

    def on_epoch_end(self, epoch, history, network):
        value = history.monitor[-1]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_parameters = network.parameters.copy()
            return False
        self.wait += 1
        return self.wait >= self.patience

    def on_train_end(self, history, network):
        if self.restore_best and self.best_parameters is not None:
            network.parameters[:] = self.best_parameters
        history.best_epoch = self.best_epoch

    def __repr__(self):
        return (f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, "
                f"restore_best={self.restore_best})")


class _Progress(Callback):
    """``verbose=True``: a tqdm bar when tqdm is installed, else one rewritten line."""

    def __init__(self, epochs):
        self.epochs = epochs
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self.bar = None
        else:
            self.bar = tqdm(total=epochs, unit="epoch", leave=True)

    def on_epoch_end(self, epoch, history, network):
        text = f"loss={history.loss[-1]:.4g}"
        if history.val_loss:
            text += f" val_loss={history.val_loss[-1]:.4g}"
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1)
        else:
            width = len(str(self.epochs))
            done = int(20 * (epoch + 1) / self.epochs)
            sys.stderr.write(f"\repoch {epoch + 1:>{width}}/{self.epochs} "
                             f"[{'#' * done}{'.' * (20 - done)}] {text}")
            sys.stderr.flush()
        return False

    def on_train_end(self, history, network):
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\n")


def train(net, X, Y, *, epochs=100, learning_rate=0.1, batch_size=32, shuffle=True, seed=None,
          optimizer="sgd", lr_schedule=None, l1=0.0, l2=0.0, dropout=0.0,
          validation_data=None, validation_split=0.0, early_stopping=None, restarts=1,
          n_jobs=None, callbacks=(), verbose=False, resume=False, on_divergence="warn",
          sample_weight=None):
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
    dropout : float or sequence of float
        Inverted-dropout rate for every hidden layer, or one per hidden layer, in [0, 1).
    validation_data : (X_val, Y_val), optional
    validation_split : float
        Fraction of the samples, taken from the end of X and Y (as Keras does), held out
        for validation when ``validation_data`` is not given.
    early_stopping : None, True or EarlyStopping
        Stop when the validation (else training) loss stops improving; True means
        ``EarlyStopping()``: patience 10, best weights restored.
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
    X, Y, w, val = _validation(net, X, Y, w, validation_data, validation_split)
    n = X.shape[0]
    if batch_size is None:
        batch_size = n
    batch_size = min(check_number(batch_size, "batch_size", 1, integer=True), n)
    steps_per_epoch = -(-n // batch_size)
    schedule = schedules.get(lr_schedule)
    opt = optimizers.get(optimizer)
    hyper = Hyper(
        learning_rate=check_number(learning_rate, "learning_rate", 0.0, low_open=True),
        l1=check_number(l1, "l1", 0.0), l2=check_number(l2, "l2", 0.0),
        dropout=_dropout_rates(dropout, net.spec.n_layers - 1),
        **opt.hyper(), **(schedule.hyper(steps_per_epoch) if schedule else {}),
    )
    if early_stopping is True:
        early_stopping = EarlyStopping()
    elif early_stopping not in (None, False) and not isinstance(early_stopping, EarlyStopping):
        raise TypeError(f"early_stopping must be None, True or an EarlyStopping, "
                        f"got {early_stopping!r}.")
    if callbacks is None:
        callbacks = ()
    elif not isinstance(callbacks, (list, tuple)) or isinstance(callbacks, str):
        raise TypeError(f"callbacks must be a list of Callback objects, got {callbacks!r}.")
    callbacks = list(callbacks) + ([early_stopping] if early_stopping else [])
    for c in callbacks:
        if not callable(getattr(c, "on_epoch_end", None)):
            raise TypeError(f"callbacks must have an on_epoch_end method, got {c!r}.")
    if isinstance(schedule, schedules.ReduceOnPlateau) and schedule.monitor == "val_loss" \
            and val is None:
        raise ValueError("ReduceOnPlateau(monitor='val_loss') needs validation_data or "
                         "validation_split.")
    # Resolve the backend here: use_backend() is thread-local and restarts run in threads.
    run = _Run(_backend.kernels(dtype=net.dtype), net.spec, X, Y, w, val, hyper, batch_size,
               shuffle and batch_size < n, schedule, on_divergence)

    state = getattr(net, "_optimizer_state", None) if resume else None
    if resume and restarts > 1:
        raise ValueError("resume=True continues one run: it cannot be combined with restarts.")
    if restarts > 1:
        n_jobs = _check_jobs(n_jobs, restarts)
    _check_resources(net, X, val, batch_size, epochs, restarts,
                     min(n_jobs, restarts) if restarts > 1 else 1,
                     stoppable=bool(callbacks), run=run)
    if not net._train_lock.acquire(blocking=False):
        raise RuntimeError("This network is being trained by another thread; train copies "
                           "(net.copy()) to train in parallel.")
    try:
        if restarts == 1:
            history, _ = run.fit(net, epochs, rng, callbacks, verbose, state)
        else:
            history = _fit_restarts(run, net, epochs, rng, restarts, n_jobs, callbacks,
                                    verbose)
    finally:
        net._train_lock.release()
    net.history = history
    return history


class _Run:
    """Everything fixed for the runs of one ``train`` call (shared by the restarts); X, Y
    and w are in the network's dtype, which the run computes in."""

    def __init__(self, kernels, spec, X, Y, w, val, hyper, batch_size, shuffle, schedule,
                 on_divergence="warn"):
        self.kernels, self.spec, self.X, self.Y, self.w, self.val = kernels, spec, X, Y, w, val
        self.on_divergence = on_divergence
        self.hyper, self.batch_size, self.shuffle, self.schedule = hyper, batch_size, shuffle, schedule
        self.classify = spec.loss != MSE  # accuracy is recorded for the cross-entropies
        self._workspaces, self._cancelled = [], False

    def cancel(self):
        """Stop every run of this call (from another thread): they raise KeyboardInterrupt."""
        self._cancelled = True
        for workspace in list(self._workspaces):
            workspace.cancelled = True

    def fit(self, net, epochs, rng, callbacks, verbose, state=None):
        """One training run of ``net``; returns (History, final monitored loss)."""
        kernels = self.kernels
        callbacks = list(callbacks) + ([_Progress(epochs)] if verbose else [])
        if isinstance(self.schedule, schedules.ReduceOnPlateau):
            callbacks.append(copy.copy(self.schedule))  # it keeps state: one per run
        adjusters = [c for c in callbacks if callable(getattr(c, "adjust_learning_rate", None))]
        per_epoch = bool(self.val is not None or callbacks)
        dtype = self.X.dtype
        workspace = kernels.Workspace(self.spec, self.X.shape[0], self.batch_size, dtype)
        workspace.cancelled = self._cancelled
        self._workspaces.append(workspace)
        if state is None or not state.fits(self.spec.n_params, self.hyper) \
                or state.m.dtype != dtype:
            state = OptimizerState(self.spec.n_params, self.hyper, dtype)
        elif state.order is not None and state.order.shape == workspace.order.shape:
            workspace.order[:] = state.order  # resume: the shuffles go on from the same order
        net._optimizer_state = state
        state.order = workspace.order  # the workspace shuffles it in place
        hyper, history = self.hyper, History()
        steps_per_epoch = -(-self.X.shape[0] // self.batch_size)
        # Records of one kernel call at a time: nothing grows with `epochs` but the History.
        out = np.zeros((1 if per_epoch else max(1, min(epochs, EPOCHS_PER_CALL)), 2))
        lowest = [np.inf, None]  # lowest training loss so far and its epoch (finite epochs)
        first_step = int(state.step[0])
        # Snapshots at the start of the last two kernel calls (and of the run): divergence
        # falls back on them when the last finite epoch's weights give non-finite outputs.
        replays = not per_epoch and epochs > 1  # a call of several epochs may need a replay
        if replays:
            initial = _Snapshot(net, state, workspace, rng, 0, True)
        elif per_epoch:  # later epochs may fall back on the weights the run started from
            initial = _Initial(net.parameters.copy())
        else:  # one call of one epoch: the kernel itself puts back where it started
            initial = _Initial(None)
        previous = snapshot = initial
        for c in callbacks:
            getattr(c, "on_train_begin", lambda network: None)(net)
        epoch = call_start = 0
        locking = kernels.name != "numpy"  # see _draw_lock
        limit = memory_limit()
        room = None if limit is None else (limit // 4) // (
            32 * (5 if self.val is not None else 3))  # epochs whose records fit
        try:
            while epoch < epochs:
                chunk = 1 if per_epoch else min(epochs - epoch, out.shape[0])
                if room is not None and epoch + chunk > room:  # a run nothing stopped
                    chunk = room - epoch
                if chunk <= 0:
                    warnings.warn(f"Stopped after {epoch} epochs: the History's records of "
                                  f"more would not fit in memory; train fewer epochs.",
                                  RuntimeWarning, stacklevel=4)
                    history.stopped_epoch = epoch - 1 if epoch else None
                    break
                if epoch:
                    previous, snapshot = snapshot, _Snapshot(net, state, workspace, rng, epoch,
                                                             replays)
                call_start = epoch
                params = net._kernel_parameters()  # O(1): what the kernel will read
                if locking:
                    lock = rng.bit_generator.lock
                    lock.acquire()
                try:
                    done = kernels.train_epochs(self.spec, params, self.X, self.Y, chunk,
                                                self.batch_size, self.shuffle, state, hyper,
                                                rng, workspace, out, self.w)
                finally:
                    if locking:
                        lock.release()
                self._record(history, out, done - workspace.diverged, epoch, hyper, lowest)
                if workspace.diverged:
                    self._record(history, out[done - 1:], 1, epoch + done - 1, hyper)
                    if self.val is not None:  # the diverged epoch in every list: not finite
                        history.val_loss.extend([np.nan] * (len(history.loss)
                                                            - len(history.val_loss)))
                        if self.classify:
                            history.val_accuracy.extend([np.nan] * (
                                len(history.loss) - len(history.val_accuracy)))
                    kept = self._keep_usable(net, state, workspace, rng, hyper, out,
                                             epoch + done - 1, snapshot, previous, initial)
                    _diverged(history, epoch + done - 1, kept, self.on_divergence)
                    break
                epoch += chunk
                if self.val is not None:
                    loss, acc = kernels.evaluate(self.spec, net._kernel_parameters(),
                                                 *self.val)  # X, Y, w
                    history.val_loss.append(float(loss))
                    if self.classify:
                        history.val_accuracy.append(float(acc))
                for c in adjusters:
                    hyper = hyper._replace(learning_rate=float(
                        c.adjust_learning_rate(epoch - 1, history, hyper.learning_rate)))
                stop = [bool(c.on_epoch_end(epoch - 1, history, net)) for c in callbacks
                        if hasattr(c, "on_epoch_end")]
                if any(stop):
                    history.stopped_epoch = epoch - 1
                    break
        except KeyboardInterrupt:
            # Wherever it struck, the weights are those of the last epoch the kernel completed
            # (it restores them itself when interrupted): the records are made to match.
            completed = (int(state.step[0]) - first_step) // steps_per_epoch
            self._settle(history, net, out, completed, call_start, hyper, lowest)
            history.interrupted = True
            raise
        finally:  # also on Ctrl-C: best weights restored, history complete so far
            # the best epoch is one whose weights the run could keep: never a diverged one
            usable = history.monitor[:-1] if workspace.diverged else history.monitor
            if history.best_epoch is None and usable:
                history.best_epoch = (int(np.argmin(usable)) if history.val_loss else lowest[1])
            for c in callbacks:
                getattr(c, "on_train_end", lambda h, network: None)(history, net)
            net.history = history
        return history, _final_monitor(history, callbacks)

    def _settle(self, history, net, out, completed, call_start, hyper, lowest):
        """After Ctrl-C: exactly ``completed`` epochs in every History list. Records the
        interrupt kept from being made come from the kernel's rows of its last call, and
        a missing validation loss is that of the weights the network now has (the last
        completed epoch's)."""
        trained = [history.loss, history.learning_rate] + (
            [history.accuracy] if self.classify else [])
        keep = min([len(x) for x in trained] + [completed])
        for x in trained:
            del x[keep:]
        if completed > keep >= call_start:
            self._record(history, out[keep - call_start:], completed - keep, keep, hyper,
                         lowest)
        if self.val is not None:
            validated = [history.val_loss] + ([history.val_accuracy] if self.classify else [])
            for x in validated:
                del x[completed:]
            if min(len(x) for x in validated) == completed - 1 == len(history.loss) - 1:
                loss, acc = self.kernels.evaluate(self.spec, net._kernel_parameters(),
                                                  *self.val)
                for x in validated:
                    del x[completed - 1:]
                history.val_loss.append(float(loss))
                if self.classify:
                    history.val_accuracy.append(float(acc))
            trained += validated
        n = min(len(x) for x in trained)  # every list the same length, whatever happened
        for x in trained:
            del x[n:]

    def _keep_usable(self, net, state, workspace, rng, hyper, out, finite, snapshot, previous,
                     initial):
        """After a divergence (the kernel put back the weights of epoch ``finite``, the last
        with a finite loss and weights): keep the last weights that also give finite
        outputs on the training data. Returns how many epochs they are from: ``finite``, an
        earlier count (replayed from the last call's start, or the call before), or 0 (the
        initial weights, kept even when they do not qualify)."""
        if self._finite_outputs(net):
            return finite
        found = None
        if finite > snapshot.epoch and snapshot.replayable:  # replay the call epoch by epoch
            snapshot.restore(net, state, workspace, rng)
            for epoch in range(snapshot.epoch + 1, finite + 1):
                with _draw_lock(self.kernels, rng):
                    self.kernels.train_epochs(self.spec, net._kernel_parameters(), self.X,
                                              self.Y, 1, self.batch_size, self.shuffle, state,
                                              hyper, rng, workspace, out, self.w)
                if self._finite_outputs(net):
                    found = _Snapshot(net, state, workspace, rng, epoch)
        for candidate in (found, snapshot, previous):
            if candidate is not None and candidate.epoch and candidate.usable(self):
                candidate.restore(net, state, workspace, rng)
                return candidate.epoch
        initial.restore(net, state, workspace, rng)
        return 0 if self._finite_outputs(net) else None

    def _finite_outputs(self, net):
        params = net._kernel_parameters()
        if not all_finite(params):
            return False
        out = np.empty((self.X.shape[0], net.n_outputs), self.X.dtype)
        step = max(1, (1 << 22) // max(net.spec.sizes[1:]))  # ~32 MB of outputs at a time
        for start in range(0, self.X.shape[0], step):
            self.kernels.forward(self.spec, params, self.X[start:start + step],
                                 out[start:start + step])
        return all_finite(out)

    def _record(self, history, out, done, epoch, hyper, lowest=None):
        """Append epochs ``epoch .. epoch + done - 1`` from the kernel's output rows, and
        track the lowest training loss in ``lowest`` (kept here, on the array: an argmin
        over a long list of floats would cost more than a tiny network's whole epochs)."""
        losses = out[:done, 0]
        history.loss.extend(losses.tolist())
        if self.classify:
            history.accuracy.extend(out[:done, 1].tolist())
        if hyper.schedule == CONSTANT:
            history.learning_rate.extend([float(hyper.learning_rate)] * done)
        else:
            steps_per_epoch = -(-self.X.shape[0] // self.batch_size)
            first_steps = (epoch + np.arange(done)) * steps_per_epoch
            history.learning_rate.extend(learning_rate_at(hyper, first_steps).tolist())
        if lowest is not None and done:
            i = int(np.argmin(losses))
            if losses[i] < lowest[0]:  # strictly: the first epoch of equal lows wins
                lowest[:] = float(losses[i]), epoch + i


class _Snapshot:
    """A run's state after ``epoch`` epochs: weights, optimizer memory, sample order and
    (when a replay may need it) the random generator's state; O(n_params + n_samples)."""

    def __init__(self, net, state, workspace, rng, epoch, with_rng=False):
        self.epoch = epoch
        self.parameters = net.parameters.copy()
        self.m, self.v, self.step = state.m.copy(), state.v.copy(), int(state.step[0])
        self.order = np.array(workspace.order, copy=True)
        self.rng_state = rng.bit_generator.state if with_rng else None
        self.replayable = with_rng

    def usable(self, run):
        """Whether these weights are finite and give finite outputs on the training data."""
        if not all_finite(self.parameters):
            return False
        return run._finite_outputs(_Weights(self.parameters, run.spec))

    def restore(self, net, state, workspace, rng):
        net.parameters[...] = self.parameters
        state.m[...], state.v[...], state.step[0] = self.m, self.v, self.step
        workspace.order[...] = self.order
        if self.rng_state is not None:
            rng.bit_generator.state = self.rng_state


class _Initial(_Snapshot):
    """The weights a run started from (the kernel itself restores the rest of the first
    call's state): falling back on them also clears the optimizer's moments."""

    def __init__(self, parameters):
        self.epoch, self.parameters, self.replayable = 0, parameters, False

    def restore(self, net, state, workspace, rng):
        if self.parameters is None:  # a one-epoch run: the kernel restored them already
            return
        net.parameters[...] = self.parameters
        state.m[...] = 0.0
        state.v[...] = 0.0


class _Weights:
    """The little of a Network that ``_Run._finite_outputs`` reads, over given weights."""

    def __init__(self, parameters, spec):
        self.parameters, self.spec, self.n_outputs = parameters, spec, spec.sizes[-1]

    def _kernel_parameters(self):
        return self.parameters


def _final_monitor(history, callbacks):
    """The monitored loss of the weights the run ends with (inf if there are none)."""
    if not history.monitor:
        return np.inf
    restored = [c for c in callbacks if isinstance(c, EarlyStopping) and c.restore_best
                and c.best_parameters is not None]
    value = history.monitor[restored[-1].best_epoch] if restored else history.monitor[-1]
    return float(value) if np.isfinite(value) else np.inf


def _diverged(history, epoch, kept, action):
    history.stopped_epoch = epoch
    if kept == epoch:
        what = "the weights of the last finite epoch"
    elif kept is None:
        what = ("the initial weights (no epoch, nor the start, gave finite outputs on the "
                "training data)")
    elif kept == 0:
        what = "the initial weights (no later epoch gave finite outputs on the training data)"
    else:
        what = (f"the weights of the end of epoch {kept - 1} (the last finite epoch's gave "
                f"non-finite outputs on the training data)")
    message = (f"Training diverged in epoch {epoch} (loss {history.loss[-1]}; the loss or the "
               f"weights stopped being finite). Stopped, and kept {what}; try a smaller "
               f"learning_rate, or scale the inputs.")
    if action == "raise":
        raise FloatingPointError(message)
    warnings.warn(message, RuntimeWarning, stacklevel=5)


def _fit_restarts(run, net, epochs, rng, restarts, n_jobs, callbacks, verbose):
    """Train ``restarts`` networks in ``n_jobs`` threads; ``net`` ends as the best of them.

    Restart 0 trains ``net`` itself; restart i > 0 a fresh network initialised and trained
    from ``rng``'s i-th spawned child (the children ``rng.spawn(restarts - 1)`` would make,
    spawned one at a time). Networks are made when their restart starts and dropped when it
    ends unless they are the best so far: memory holds ``n_jobs`` runs, not ``restarts``.

    Ctrl-C reaches only the main thread, which is waiting here: it cancels every run (each
    stops within ~1 ms of work at its last complete epoch), starts no new one, keeps the
    best run so far, and re-raises. With ``on_divergence="raise"`` a run that diverges
    counts as the worst; its FloatingPointError is raised only when it is the one kept.
    """
    finals = [np.inf] * restarts
    errors = {}
    lock = threading.Lock()
    shared = {"next": 0, "best": None, "history": None, "stop": False}

    def one(i, child):
        subject = net if i == 0 else net._restart_copy(child)
        run_callbacks = copy.deepcopy(callbacks)
        error = None
        try:
            history, final = run.fit(subject, epochs, child, run_callbacks, verbose and i == 0)
        except KeyboardInterrupt:
            history = subject.history or History()
            final = _final_monitor(history, run_callbacks)
        except FloatingPointError as exc:  # on_divergence="raise": only if this run is kept
            history, final, error = subject.history, np.inf, exc
        with lock:
            finals[i] = final
            errors[i] = error
            best = shared["best"]
            if best is None or (final, i) < (finals[best], best):  # ties: the lowest index
                shared["best"], shared["history"] = i, history
                shared["params"] = None if i == 0 else subject.parameters

    def worker():
        while True:
            with lock:
                if shared["stop"] or shared["next"] >= restarts:
                    return
                i = shared["next"]
                shared["next"] += 1
                child = rng if i == 0 else rng.spawn(1)[0]  # in index order, under the lock
            one(i, child)

    interrupted = False
    workers = min(n_jobs, restarts)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(worker) for _ in range(workers)]
        try:
            concurrent.futures.wait(futures)
        except KeyboardInterrupt:
            interrupted = True
            with lock:
                shared["stop"] = True
            run.cancel()
            concurrent.futures.wait(futures)
        for f in futures:
            f.result()
    finally:
        pool.shutdown(wait=True)
    best = shared["best"] if shared["best"] is not None else 0
    if best != 0:
        net.parameters[...] = shared["params"]
    history = shared["history"] or net.history or History()
    history.restart = best
    history.restart_losses = [float(f) for f in finals]
    if interrupted:
        history.interrupted = True
        net.history = history
        raise KeyboardInterrupt
    if errors.get(best) is not None:  # every run diverged: the kept one says so
        net.history = history
        raise errors[best]
    return history


def _check_jobs(n_jobs, restarts):
    """Threads for ``restarts`` runs: ``n_jobs`` (None or -1: one per CPU), at most
    ``MAX_THREADS_PER_CPU`` per CPU (more would only queue; the results do not depend on
    the number of threads)."""
    if n_jobs is None or (isinstance(n_jobs, int) and not isinstance(n_jobs, bool)
                          and n_jobs == -1):
        return min(restarts, _cpus())
    n_jobs = check_number(n_jobs, "n_jobs (-1 or None: all CPUs)", 1, integer=True)
    return min(n_jobs, restarts, MAX_THREADS_PER_CPU * _cpus())


#: Threads per CPU ``n_jobs`` may start at most.
MAX_THREADS_PER_CPU = 8


def _check_resources(net, X, val, batch_size, epochs, restarts, parallel, stoppable, run):
    """Refuse, before anything is allocated, what could not fit in memory (a few integer
    operations when everything fits: tutorial loops call train once per epoch)."""
    limit = memory_limit()
    if limit is None:
        return
    spec, itemsize = net.spec, net.dtype.itemsize
    per_row, fixed = net._workspace_terms
    if parallel * (itemsize * (batch_size * per_row + fixed) + 16 * X.shape[0]) > limit:
        check_memory(parallel * workspace_bytes(spec, X.shape[0], batch_size, itemsize),
                     "batch_size",
                     f"{'each of ' + str(parallel) + ' parallel runs: ' if parallel > 1 else ''}"
                     f"a training workspace for batches of {batch_size} rows through layers "
                     f"{list(spec.sizes)}")
    if val is not None:
        check_memory(full_batch_bytes(spec, val[0].shape[0], itemsize), "validation_data",
                     lambda: f"evaluating {val[0].shape[0]} validation rows at once")
    if restarts > 1:
        check_memory(restarts * 96, "restarts", lambda: f"the records of {restarts} restarts")
    if not stoppable and epochs * 256 > limit:  # (256: more than an epoch's records take)
        check_epochs(epochs, "epochs", run.val is not None, run.classify,
                     run.hyper.schedule != CONSTANT)


def check_epochs(epochs, name, validation=False, classify=False, schedule=False):
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
            f"or use early stopping or a callback that stops the run.")


class _NoLock:
    def acquire(self):
        pass

    release = acquire

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        pass


_NO_LOCK = _NoLock()


def _draw_lock(kernels, rng):
    """The lock to hold while a kernel draws from ``rng``: the compiled loop draws from its
    bit generator without the GIL, so it holds ``rng.bit_generator.lock`` as NumPy's own
    methods do; the reference draws through those methods, which take it themselves."""
    return _NO_LOCK if kernels.name == "numpy" else rng.bit_generator.lock


def _cpus():
    import os

    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _validation(net, X, Y, w, validation_data, validation_split):
    """(X_train, Y_train, w_train, (X_val, Y_val, w_val) or None); w may be None."""
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise TypeError("validation_data must be (X_val, Y_val) or (X_val, Y_val, w_val).")
        Xv = as_matrix(validation_data[0], "validation_data[0]", net.n_inputs, net.dtype)
        Yv = as_targets(validation_data[1], "validation_data[1]", net.n_outputs, Xv.shape[0],
                        net.spec.loss, net.dtype)
        wv = as_weights(validation_data[2], Xv.shape[0], "validation_data[2]", net.dtype) \
            if len(validation_data) == 3 else None
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
    return (X[:cut], Y[:cut], None if w is None else w[:cut],
            (X[cut:], Y[cut:], None if w is None else w[cut:]))


def _dropout_rates(dropout, n_hidden):
    rates = [dropout] * n_hidden if np.ndim(dropout) == 0 else list(dropout)
    if len(rates) != n_hidden:
        raise ValueError(f"dropout must be one rate or {n_hidden} rates (one per hidden layer), "
                         f"got {len(rates)}.")
    return tuple(check_number(r, f"dropout[{i}]", 0.0, 1.0, high_open=True)
                 for i, r in enumerate(rates))
