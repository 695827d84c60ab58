"""One training run of a network: the kernel calls, the records, divergence and Ctrl-C
(``_Run``), and restarts in threads (``fit_restarts``; ``run_in_threads``, which the MLP
estimators' restarts use too)."""

from __future__ import annotations

import concurrent.futures
import copy
import threading
import warnings
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import numpy as np

from . import schedules
from ._reference import LOSSES, learning_rate_at
from ._spec import CONSTANT, OptimizerState
from ._validation import all_finite, memory_limit
from .callbacks import EarlyStopping, History, _Progress

if TYPE_CHECKING:
    import _thread
    from collections.abc import Callable, Sequence
    from types import ModuleType

    from ._spec import Hyper, Spec
    from ._typing import FloatArray, RealArray, Schedule
    from .network import Network

    #: Validation rows: (X, Y, sample weights or None), in the network's dtype.
    Validation = tuple[RealArray, RealArray, RealArray | None]

_Job = TypeVar("_Job")

#: Most epochs per kernel call when nothing needs to look between epochs: the per-epoch
#: records are allocated for one call at a time, never in proportion to ``epochs``.
EPOCHS_PER_CALL = 2**16


class _Run:
    """Everything fixed for the runs of one ``train`` call (shared by the restarts); X, Y
    and w are in the network's dtype, which the run computes in."""

    def __init__(
        self,
        kernels: ModuleType,
        spec: Spec,
        X: RealArray,
        Y: RealArray,
        w: RealArray | None,
        val: Validation | None,
        hyper: Hyper,
        batch_size: int,
        shuffle: bool,
        schedule: Schedule | None,
        on_divergence: Literal["warn", "raise"] = "warn",
    ) -> None:
        self.kernels, self.spec, self.X, self.Y, self.w, self.val = kernels, spec, X, Y, w, val
        self.on_divergence = on_divergence
        self.hyper, self.batch_size, self.shuffle, self.schedule = (
            hyper,
            batch_size,
            shuffle,
            schedule,
        )
        self.classify = LOSSES[spec.loss].correct is not None  # the cross-entropies
        self._workspaces: list[Any] = []  # the backends' Workspace objects
        self._cancelled = False

    def cancel(self) -> None:
        """Stop every run of this call (from another thread): they raise KeyboardInterrupt."""
        self._cancelled = True
        for workspace in list(self._workspaces):
            workspace.cancelled = True

    def fit(
        self,
        net: Network,
        epochs: int,
        rng: np.random.Generator,
        callbacks: Sequence[Any],
        verbose: bool,
        state: OptimizerState | None = None,
    ) -> tuple[History, float]:
        """One training run of ``net``; returns (History, final monitored loss).
        ``callbacks``: objects with an ``on_epoch_end`` method (``train`` checks them)."""
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
        if (
            state is None
            or not state.fits(self.spec.n_trainable, self.hyper)
            or state.m.dtype != dtype
        ):
            state = OptimizerState(self.spec.n_trainable, self.hyper, dtype)
        elif state.order is not None and state.order.shape == workspace.order.shape:
            workspace.order[:] = state.order  # resume: the shuffles go on from the same order
        net._optimizer_state = state
        state.order = workspace.order  # the workspace shuffles it in place
        hyper, history = self.hyper, History()
        steps_per_epoch = -(-self.X.shape[0] // self.batch_size)
        # Records of one kernel call at a time: nothing grows with `epochs` but the History.
        out = np.zeros((1 if per_epoch else max(1, min(epochs, EPOCHS_PER_CALL)), 2))
        lowest: list[Any] = [
            np.inf,
            None,
        ]  # lowest training loss so far and its epoch (finite epochs)
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
        limit = memory_limit()
        room = (
            None if limit is None else (limit // 4) // (32 * (5 if self.val is not None else 3))
        )  # epochs whose records fit
        try:
            while epoch < epochs:
                chunk = 1 if per_epoch else min(epochs - epoch, out.shape[0])
                if room is not None and epoch + chunk > room:  # a run nothing stopped
                    chunk = room - epoch
                if chunk <= 0:
                    warnings.warn(
                        f"Stopped after {epoch} epochs: the History's records of "
                        f"more would not fit in memory; train fewer epochs.",
                        RuntimeWarning,
                        stacklevel=4,
                    )
                    history.stopped_epoch = epoch - 1 if epoch else None
                    break
                if epoch:
                    previous, snapshot = (
                        snapshot,
                        _Snapshot(net, state, workspace, rng, epoch, replays),
                    )
                call_start = epoch
                done = self._train_epochs(net, chunk, state, hyper, rng, workspace, out)
                self._record(history, out, done - workspace.diverged, epoch, hyper, lowest)
                if workspace.diverged:
                    self._record(history, out[done - 1 :], 1, epoch + done - 1, hyper)
                    if self.val is not None:  # the diverged epoch in every list: not finite
                        history.val_loss.extend(
                            [np.nan] * (len(history.loss) - len(history.val_loss))
                        )
                        if self.classify:
                            history.val_accuracy.extend(
                                [np.nan] * (len(history.loss) - len(history.val_accuracy))
                            )
                    kept = self._keep_usable(
                        net,
                        state,
                        workspace,
                        rng,
                        hyper,
                        out,
                        epoch + done - 1,
                        snapshot,
                        previous,
                        initial,
                    )
                    _diverged(history, epoch + done - 1, kept, self.on_divergence)
                    break
                epoch += chunk
                if self.val is not None:
                    loss, acc = kernels.evaluate(
                        self.spec, net._kernel_parameters(), *self.val
                    )  # X, Y, w
                    history.val_loss.append(float(loss))
                    if self.classify:
                        history.val_accuracy.append(float(acc))
                for c in adjusters:
                    hyper = hyper._replace(
                        learning_rate=float(
                            c.adjust_learning_rate(epoch - 1, history, hyper.learning_rate)
                        )
                    )
                stop = [
                    bool(c.on_epoch_end(epoch - 1, history, net))
                    for c in callbacks
                    if hasattr(c, "on_epoch_end")
                ]
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
                history.best_epoch = int(np.argmin(usable)) if history.val_loss else lowest[1]
            for c in callbacks:
                getattr(c, "on_train_end", lambda h, network: None)(history, net)
            net.history = history
        return history, _final_monitor(history, callbacks)

    def _train_epochs(
        self,
        net: Network,
        n_epochs: int,
        state: OptimizerState,
        hyper: Hyper,
        rng: np.random.Generator,
        workspace: Any,
        out: FloatArray,
    ) -> int:
        """One kernel call of ``n_epochs`` epochs; returns the epochs it ran."""
        params = net._kernel_parameters()  # O(1): what the kernel will read
        with draw_lock(self.kernels, rng):
            return int(
                self.kernels.train_epochs(
                    self.spec,
                    params,
                    self.X,
                    self.Y,
                    n_epochs,
                    self.batch_size,
                    self.shuffle,
                    state,
                    hyper,
                    rng,
                    workspace,
                    out,
                    self.w,
                )
            )

    def _settle(
        self,
        history: History,
        net: Network,
        out: FloatArray,
        completed: int,
        call_start: int,
        hyper: Hyper,
        lowest: list[Any],
    ) -> None:
        """After Ctrl-C: exactly ``completed`` epochs in every History list. Records the
        interrupt kept from being made come from the kernel's rows of its last call, and
        a missing validation loss is that of the weights the network now has (the last
        completed epoch's)."""
        trained = [history.loss, history.learning_rate] + (
            [history.accuracy] if self.classify else []
        )
        keep = min([len(x) for x in trained] + [completed])
        for x in trained:
            del x[keep:]
        if completed > keep >= call_start:
            self._record(history, out[keep - call_start :], completed - keep, keep, hyper, lowest)
        if self.val is not None:
            validated = [history.val_loss] + ([history.val_accuracy] if self.classify else [])
            for x in validated:
                del x[completed:]
            if min(len(x) for x in validated) == completed - 1 == len(history.loss) - 1:
                loss, acc = self.kernels.evaluate(self.spec, net._kernel_parameters(), *self.val)
                for x in validated:
                    del x[completed - 1 :]
                history.val_loss.append(float(loss))
                if self.classify:
                    history.val_accuracy.append(float(acc))
            trained += validated
        n = min(len(x) for x in trained)  # every list the same length, whatever happened
        for x in trained:
            del x[n:]

    def _keep_usable(
        self,
        net: Network,
        state: OptimizerState,
        workspace: Any,
        rng: np.random.Generator,
        hyper: Hyper,
        out: FloatArray,
        finite: int,
        snapshot: _Snapshot,
        previous: _Snapshot,
        initial: _Snapshot,
    ) -> int | None:
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
                self._train_epochs(net, 1, state, hyper, rng, workspace, out)
                if self._finite_outputs(net):
                    found = _Snapshot(net, state, workspace, rng, epoch)
        for candidate in (found, snapshot, previous):
            if candidate is not None and candidate.epoch and candidate.usable(self):
                candidate.restore(net, state, workspace, rng)
                return candidate.epoch
        initial.restore(net, state, workspace, rng)
        return 0 if self._finite_outputs(net) else None

    def _finite_outputs(self, net: Network | _Weights) -> bool:
        params = net._kernel_parameters()
        if not all_finite(params):
            return False
        out = np.empty((self.X.shape[0], net.n_outputs), self.X.dtype)
        step = max(1, (1 << 22) // max(net.spec.sizes[1:]))  # ~32 MB of outputs at a time
        for start in range(0, self.X.shape[0], step):
            self.kernels.forward(
                self.spec, params, self.X[start : start + step], out[start : start + step]
            )
        return all_finite(out)

    def _record(
        self,
        history: History,
        out: FloatArray,
        done: int,
        epoch: int,
        hyper: Hyper,
        lowest: list[Any] | None = None,
    ) -> None:
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

    parameters: RealArray | None  # (None: an _Initial with nothing to restore)

    def __init__(
        self,
        net: Network,
        state: OptimizerState,
        workspace: Any,
        rng: np.random.Generator,
        epoch: int,
        with_rng: bool = False,
    ) -> None:
        self.epoch = epoch
        self.parameters = net.parameters.copy()
        self.moments = {name: getattr(state, name).copy() for name in state.BUFFERS}
        self.step = int(state.step[0])
        self.order = np.array(workspace.order, copy=True)
        self.rng_state = rng.bit_generator.state if with_rng else None
        self.replayable = with_rng

    def usable(self, run: _Run) -> bool:
        """Whether these weights are finite and give finite outputs on the training data."""
        if self.parameters is None or not all_finite(self.parameters):
            return False
        return run._finite_outputs(_Weights(self.parameters, run.spec))

    def restore(
        self, net: Network, state: OptimizerState, workspace: Any, rng: np.random.Generator
    ) -> None:
        net.parameters[...] = self.parameters
        for name, saved in self.moments.items():
            getattr(state, name)[...] = saved
        state.step[0] = self.step
        workspace.order[...] = self.order
        if self.rng_state is not None:
            rng.bit_generator.state = self.rng_state


class _Initial(_Snapshot):
    """The weights a run started from (the kernel itself restores the rest of the first
    call's state): falling back on them also clears the optimizer's moments."""

    def __init__(self, parameters: RealArray | None) -> None:
        self.epoch, self.parameters, self.replayable = 0, parameters, False

    def restore(
        self, net: Network, state: OptimizerState, workspace: Any, rng: np.random.Generator
    ) -> None:
        if self.parameters is None:  # a one-epoch run: the kernel restored them already
            return
        net.parameters[...] = self.parameters
        state.reset()


class _Weights:
    """The little of a Network that ``_Run._finite_outputs`` reads, over given weights."""

    def __init__(self, parameters: RealArray, spec: Spec) -> None:
        self.parameters, self.spec, self.n_outputs = parameters, spec, spec.sizes[-1]

    def _kernel_parameters(self) -> RealArray:
        return self.parameters


def _final_monitor(history: History, callbacks: Sequence[Any]) -> float:
    """The monitored loss of the weights the run ends with (inf if there are none)."""
    if not history.monitor:
        return np.inf
    restored = [
        c
        for c in callbacks
        if isinstance(c, EarlyStopping) and c.restore_best and c.best_parameters is not None
    ]
    kept = restored[-1].best_epoch if restored else None  # an int once best_parameters is set
    value = history.monitor[-1 if kept is None else kept]
    return float(value) if np.isfinite(value) else np.inf


def _diverged(history: History, epoch: int, kept: int | None, action: str) -> None:
    history.stopped_epoch = epoch
    if kept == epoch:
        what = "the weights of the last finite epoch"
    elif kept is None:
        what = (
            "the initial weights (no epoch, nor the start, gave finite outputs on the "
            "training data)"
        )
    elif kept == 0:
        what = "the initial weights (no later epoch gave finite outputs on the training data)"
    else:
        what = (
            f"the weights of the end of epoch {kept - 1} (the last finite epoch's gave "
            f"non-finite outputs on the training data)"
        )
    message = (
        f"Training diverged in epoch {epoch} (loss {history.loss[-1]}; the loss or the "
        f"weights stopped being finite). Stopped, and kept {what}; try a smaller "
        f"learning_rate, or scale the inputs."
    )
    if action == "raise":
        raise FloatingPointError(message)
    warnings.warn(message, RuntimeWarning, stacklevel=5)


def run_in_threads(
    n: int,
    workers: int,
    prepare: Callable[[int], _Job],
    run: Callable[[int, _Job], object],
    cancel: Callable[[], None],
) -> bool:
    """Jobs 0 .. n-1 on ``workers`` threads, started in index order: ``prepare(i)`` runs
    under a lock (what must happen in index order: random draws), ``run(i, prepared)``
    outside it. Ctrl-C reaches only the calling thread, waiting here: no job starts after
    it, ``cancel()`` (called under the lock) tells the running ones to stop, and they are
    waited for. Returns whether Ctrl-C came; a job's exception is raised here."""
    lock, state = threading.Lock(), {"next": 0, "stop": False}

    def worker() -> None:
        while True:
            with lock:
                if state["stop"] or state["next"] >= n:
                    return
                i = state["next"]
                state["next"] += 1
                prepared = prepare(i)
            run(i, prepared)

    interrupted = False
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, n)) as pool:
        futures = [pool.submit(worker) for _ in range(min(workers, n))]
        try:
            concurrent.futures.wait(futures)
        except KeyboardInterrupt:
            interrupted = True
            with lock:
                state["stop"] = True
                cancel()
            concurrent.futures.wait(futures)
        for f in futures:
            f.result()
    return interrupted


def fit_restarts(
    run: _Run,
    net: Network,
    epochs: int,
    rng: np.random.Generator,
    restarts: int,
    n_jobs: int,
    callbacks: Sequence[Any],
    verbose: bool,
) -> History:
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
    errors: dict[int, FloatingPointError | None] = {}
    lock = threading.Lock()
    shared: dict[str, Any] = {"best": None, "history": None}

    def one(i: int, child: np.random.Generator) -> None:
        subject = net if i == 0 else net._restart_copy(child)
        run_callbacks = copy.deepcopy(callbacks)
        history: History | None
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

    interrupted = run_in_threads(
        restarts,
        n_jobs,
        lambda i: rng if i == 0 else rng.spawn(1)[0],  # in index order, under the lock
        one,
        run.cancel,
    )
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
    error = errors.get(best)
    if error is not None:  # every run diverged: the kept one says so
        net.history = history
        raise error
    return history


class _NoLock:
    def acquire(self) -> None:
        pass

    release = acquire

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        pass


_NO_LOCK = _NoLock()


def draw_lock(kernels: ModuleType, rng: np.random.Generator) -> _thread.LockType | _NoLock:
    """The lock to hold while a kernel draws from ``rng``: the compiled loop draws from its
    bit generator without the GIL, so it holds ``rng.bit_generator.lock`` as NumPy's own
    methods do; the reference draws through those methods, which take it themselves."""
    return _NO_LOCK if kernels.name == "numpy" else rng.bit_generator.lock
