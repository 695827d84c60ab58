"""What a training run records (``History``) and the hooks it calls (``Callback``, with
``EarlyStopping``)."""

from __future__ import annotations

import sys

import numpy as np

from ._validation import check_number

__all__ = ["Callback", "EarlyStopping", "History"]


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
    back (``restore_best``), else None: the network keeps its last epoch's weights.
    """

    def __init__(self):
        self.loss, self.accuracy, self.val_loss, self.val_accuracy = [], [], [], []
        self.learning_rate = []
        self.best_epoch = None
        self.stopped_epoch = None
        self.restored_epoch = None
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
            history.restored_epoch = self.best_epoch
        history.best_epoch = self.best_epoch

    def __repr__(self):
        return (
            f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, "
            f"restore_best={self.restore_best})"
        )


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
            sys.stderr.write(
                f"\repoch {epoch + 1:>{width}}/{self.epochs} "
                f"[{'#' * done}{'.' * (20 - done)}] {text}"
            )
            sys.stderr.flush()
        return False

    def on_train_end(self, history, network):
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\n")
