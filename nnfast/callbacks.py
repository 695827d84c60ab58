"""What a training run records (``History``) and the hooks it calls (``Callback``, with
``EarlyStopping`` and ``ModelCheckpoint``, which watch a ``monitor``)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Literal, Union

import numpy as np

from ._validation import check_number

if TYPE_CHECKING:
    from collections.abc import Callable

    from tqdm.auto import tqdm

    from ._typing import RealArray, StrPath
    from .network import Network

    #: A History list a callback can watch by name.
    MonitorName = Literal["val_loss", "loss", "val_accuracy", "accuracy"]
    #: What a callback watches: a History list's name, or ``callable(network) -> float``.
    Monitor = Union[MonitorName, Callable[[Network], float]]
    #: Which way is better ("auto": up for accuracies, down for losses).
    Mode = Literal["auto", "min", "max"]

__all__ = ["Callback", "EarlyStopping", "History", "ModelCheckpoint"]

#: What a callback can watch by name (a History list; the last value is the epoch's).
MONITORS: tuple[MonitorName, ...] = ("val_loss", "loss", "val_accuracy", "accuracy")
MODES: tuple[Mode, ...] = ("auto", "min", "max")


class History:
    """Per-epoch record of a training run (lists with one value per epoch).

    ``loss`` / ``val_loss`` are mean data losses without the regularisation penalty
    ``l1 * sum|W| + l2 / 2 * sum W**2`` (so the two are comparable: the model-complexity
    graph); ``loss`` and ``accuracy`` are measured on each batch before its update, as Keras
    does. Accuracies are recorded for the cross-entropy losses only. ``learning_rate[e]`` is
    the rate of the first update of epoch e (for per-epoch schedules and ReduceOnPlateau,
    the rate of the whole epoch). ``best_epoch`` is the index of the lowest monitored loss
    (early stopping's best epoch when it is used), ``stopped_epoch`` the index of the last
    epoch when a callback or early stopping ended the run (else None). ``restored_epoch`` is
    the index of the epoch whose weights the network ends with when early stopping gave them
    back (``restore_best``), else None: the network keeps its last epoch's weights. After
    ``restarts > 1`` (``train``, the estimators' ``n_restarts``), ``restart`` is the index
    of the run kept and ``restart_losses`` every run's final monitored loss.
    """

    loss: list[float]
    accuracy: list[float]
    val_loss: list[float]
    val_accuracy: list[float]
    learning_rate: list[float]
    best_epoch: int | None
    stopped_epoch: int | None
    restored_epoch: int | None
    interrupted: bool
    restart: int
    restart_losses: list[float]

    def __init__(self) -> None:
        self.loss, self.accuracy, self.val_loss, self.val_accuracy = [], [], [], []
        self.learning_rate = []
        self.best_epoch = None
        self.stopped_epoch = None
        self.restored_epoch = None
        self.interrupted = False

    @property
    def epochs(self) -> int:
        return len(self.loss)

    @property
    def monitor(self) -> list[float]:
        """The loss used to choose the best epoch: validation loss if any, else training."""
        return self.val_loss if self.val_loss else self.loss

    def __repr__(self) -> str:
        last = f", loss={self.loss[-1]:.6g}" if self.loss else ""
        val = f", val_loss={self.val_loss[-1]:.6g}" if self.val_loss else ""
        return f"History(epochs={self.epochs}{last}{val})"


class Callback:
    """Hooks called by ``train``. Override what you need.

    ``on_epoch_end`` gets the epoch index, the ``History`` so far and the network; returning
    True stops training after that epoch (False or None carries on). A callback may also
    define ``adjust_learning_rate(epoch, history, lr)`` returning the rate for the next
    epoch (``ReduceOnPlateau`` works that way).
    """

    def on_train_begin(self, network: Network) -> None:
        pass

    def on_epoch_end(self, epoch: int, history: History, network: Network) -> bool | None:
        return False

    def on_train_end(self, history: History, network: Network) -> None:
        pass


class _Monitor:
    """What a callback watches: a History list by name ("val_loss" falls back on "loss"
    without validation data), or ``callable(network) -> float``; and which way is better
    (``mode="auto"``: up for accuracies, down for losses; a callable needs "min" or
    "max")."""

    def __init__(self, monitor: Monitor, mode: Mode) -> None:
        if callable(monitor):
            if mode == "auto":
                raise ValueError(
                    f"mode='auto' cannot tell whether {monitor!r}'s value should go up or "
                    f"down: pass mode='min' or mode='max'."
                )
        elif not isinstance(monitor, str) or monitor not in MONITORS:
            raise ValueError(
                f"monitor must be one of {MONITORS} or a callable(network) -> float, got "
                f"{monitor!r}."
            )
        if not isinstance(mode, str) or mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
        self.monitor = monitor
        accuracy = (
            isinstance(monitor, str) and "accuracy" in monitor
        )  # a callable was refused "auto"
        self.mode: Literal["min", "max"] = (
            ("max" if accuracy else "min") if mode == "auto" else mode
        )

    def check(self, validation: bool, accuracy: bool) -> None:
        """Refuse, before a run, a History list it will not have."""
        if callable(self.monitor):
            return
        if self.monitor == "val_accuracy" and not validation:
            raise ValueError("monitor='val_accuracy' needs validation_data or validation_split.")
        if "accuracy" in self.monitor and not accuracy:
            raise ValueError(
                f"monitor={self.monitor!r} needs a loss with an accuracy "
                f"(binary_cross_entropy or cross_entropy)."
            )

    def value(self, history: History, network: Network) -> float:
        """The epoch's value (NaN when it is not a finite number: never an improvement)."""
        if callable(self.monitor):
            value = self.monitor(network)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise TypeError(
                    f"monitor {self.monitor!r} must return a number, got {value!r}."
                ) from None
        elif self.monitor == "val_loss":
            value = history.monitor[-1]
        else:
            value = getattr(history, self.monitor)[-1]
        return value if np.isfinite(value) else np.nan

    def worst(self) -> float:
        return np.inf if self.mode == "min" else -np.inf

    def improved(self, value: float, best: float, min_delta: float) -> bool:
        if self.mode == "min":
            return value < best - min_delta
        return value > best + min_delta

    def describe(self) -> str:
        name = getattr(self.monitor, "__name__", None) or repr(self.monitor)
        return repr(self.monitor) if isinstance(self.monitor, str) else name


class _Watching(Callback):
    """A callback that watches one monitored value (``self._watch``, a ``_Monitor``)."""

    _watch: _Monitor

    @property
    def monitor(self) -> Monitor:
        """The monitored quantity: a History list's name or a callable."""
        return self._watch.monitor

    @property
    def mode(self) -> Literal["min", "max"]:
        """ "min" or "max" ("auto" resolved)."""
        return self._watch.mode


class EarlyStopping(_Watching):
    """Stop when the monitored value has not improved by ``min_delta`` for ``patience``
    epochs.

    ``monitor``: ``"val_loss"`` (default; the training loss when there is no validation
    data), ``"loss"``, ``"val_accuracy"``, ``"accuracy"`` (the History's lists), or a
    callable taking the network and returning a number (e.g. a score on data of your
    own). ``mode``: ``"min"`` (lower is better), ``"max"``, or ``"auto"``: max for the
    accuracies, min for the losses (a callable needs ``"min"`` or ``"max"``). With
    ``restore_best`` (default) the network ends with the weights of its best epoch.
    """

    best: float
    best_epoch: int | None
    wait: int
    best_parameters: RealArray | None

    def __init__(
        self,
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best: bool = True,
        *,
        monitor: Monitor = "val_loss",
        mode: Mode = "auto",
    ) -> None:
        self.patience = check_number(patience, "patience", 0, integer=True)
        self.min_delta = check_number(min_delta, "min_delta", 0.0)
        self.restore_best = bool(restore_best)
        self._watch = _Monitor(monitor, mode)

    def on_train_begin(self, network: Network) -> None:
        self.best, self.best_epoch, self.wait = self._watch.worst(), None, 0
        self.best_parameters = None

    def on_epoch_end(self, epoch: int, history: History, network: Network) -> bool:
        value = self._watch.value(history, network)
        if self._watch.improved(value, self.best, self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best:
                self.best_parameters = network.parameters.copy()
            return False
        self.wait += 1
        return self.wait >= self.patience

    def on_train_end(self, history: History, network: Network) -> None:
        if self.restore_best and self.best_parameters is not None:
            network.parameters[:] = self.best_parameters
            history.restored_epoch = self.best_epoch
        history.best_epoch = self.best_epoch

    def __repr__(self) -> str:
        watch = "" if self.monitor == "val_loss" else f", monitor={self._watch.describe()}"
        mode = (
            ""
            if self.mode == ("max" if "accuracy" in str(self.monitor) else "min")
            else (f", mode={self.mode!r}")
        )
        return (
            f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, "
            f"restore_best={self.restore_best}{watch}{mode})"
        )


class ModelCheckpoint(_Watching):
    """Save the network to ``path`` after every epoch whose monitored value improved on the
    best so far (``save_best_only``, default), or after every epoch.

    Saved with ``nnfast.save`` (written to a temporary file, then renamed over ``path``:
    an interrupted save never leaves a broken file). ``path`` may hold ``{epoch}``
    (1-based), as Keras's does, to keep one file per epoch. ``monitor`` and ``mode`` as in
    ``EarlyStopping``. ``best`` and ``best_epoch`` hold the best value and its epoch
    (0-based), ``saved`` the paths written, in order.
    """

    best: float
    best_epoch: int | None
    saved: list[str]

    def __init__(
        self,
        path: StrPath,
        monitor: Monitor = "val_loss",
        save_best_only: bool = True,
        mode: Mode = "auto",
    ) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a file path (str or os.PathLike), got {path!r}.")
        self.path = os.fspath(path)
        self.save_best_only = bool(save_best_only)
        self._watch = _Monitor(monitor, mode)

    def _path(self, epoch: int) -> str:
        return self.path.replace("{epoch}", str(epoch + 1))

    def on_train_begin(self, network: Network) -> None:
        folder = os.path.dirname(os.path.abspath(self._path(0)))
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                f"ModelCheckpoint's path {self.path!r}: the folder {folder!r} does not exist."
            )
        self.best, self.best_epoch, self.saved = self._watch.worst(), None, []

    def on_epoch_end(self, epoch: int, history: History, network: Network) -> bool:
        value = self._watch.value(history, network)
        improved = self._watch.improved(value, self.best, 0.0)
        if improved:
            self.best, self.best_epoch = value, epoch
        if improved or not self.save_best_only:
            path = self._path(epoch)
            network.save(path)
            self.saved.append(path)
        return False

    def __repr__(self) -> str:
        return (
            f"ModelCheckpoint({self.path!r}, monitor={self._watch.describe()}, "
            f"save_best_only={self.save_best_only}, mode={self.mode!r})"
        )


class _Progress(Callback):
    """``verbose=True``: a tqdm bar when tqdm is installed, else one rewritten line."""

    bar: tqdm | None

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self.bar = None
        else:
            self.bar = tqdm(total=epochs, unit="epoch", leave=True)

    def on_epoch_end(self, epoch: int, history: History, network: Network) -> bool:
        text = f"loss={history.loss[-1]:.4g}"
        if history.val_loss:
            text += f" val_loss={history.val_loss[-1]:.4g}"
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)
            self.bar.update(1)
        else:
            width = len(str(self.epochs))
            done = int(20 * (epoch + 1) / self.epochs)
            sys.stderr.write(
                f"\repoch {epoch + 1:>{width}}/{self.epochs} "
                f"[{'#' * done}{'.' * (20 - done)}] {text}"
            )
            sys.stderr.flush()
        return False

    def on_train_end(self, history: History, network: Network) -> None:
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\n")
