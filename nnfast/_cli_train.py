"""``nnfast train``: a network trained on a CSV file's columns, reported, saved and plotted.

Columns are encoded by ``nnfast.tabular.TableEncoder``'s rules (``TableEncoding``, without
the scikit-learn protocol: this command never imports scikit-learn).
"""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .cli import UsageError

if TYPE_CHECKING:
    import argparse
    from types import ModuleType

    from matplotlib.figure import Figure
    from numpy.typing import NDArray

    from ._encoding import TabularModel
    from ._typing import FloatArray
    from .callbacks import History
    from .network import Network


def _check_output(path: str, what: str) -> None:
    """Fail before training, not after, when ``path`` cannot be written (or is not a file:
    a FIFO would block the write, a device would take it)."""
    import stat

    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"cannot write {what} {path}: no such directory {directory}")
    if os.path.isdir(path):
        raise ValueError(f"cannot write {what} {path}: it is a directory")
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        raise ValueError(f"cannot write {what} {path}: it exists and is not a regular file")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise ValueError(f"cannot write {what} {path}: the file is not writable")


def train(args: argparse.Namespace) -> None:
    """``nnfast train``: read the CSV file (or the bundled admissions data), encode its
    columns, train, report, and save the model and the loss curves if asked."""
    import nnfast as nf

    from ._encoding import TableEncoding, TabularModel, TargetEncoder
    from ._table import Table

    if args.backend:
        nf.set_backend(args.backend)
    if args.save:
        _check_output(args.save, "the model to")
    if args.plot:
        _check_output(args.plot, "the plot to")
        if importlib.util.find_spec("matplotlib") is None:
            raise ImportError('--plot needs matplotlib: pip install matplotlib (or "nnfast[plot]")')
    if args.features is not None and args.drop:
        raise UsageError("give either --features or --drop, not both (see `nnfast train --help`)")
    if args.data is None:
        from importlib import resources

        with resources.as_file(resources.files("nnfast") / "data" / "student_data.csv") as path:
            table = Table.read(path)
        table.path = "student_data.csv"
        args.target = args.target or "admit"
        print("Training on the bundled student admissions data (target: admit).")
    else:
        if not args.target:
            raise UsageError(
                "--target COL is required with a data file (see `nnfast train --help`)"
            )
        table = Table.read(args.data)
    for name in [*args.categorical, *(args.features or []), *args.drop, args.target]:
        table.column(name)  # an unknown column fails here, listing the columns
    if args.target in (args.features or []) or args.target in args.drop:
        raise UsageError(f"the target {args.target!r} cannot be one of --features or --drop")
    target = TargetEncoder().fit(table, args.target, args.task)
    if args.features is not None:
        encoder = TableEncoding(categorical=args.categorical, features=args.features)
    else:
        encoder = TableEncoding(categorical=args.categorical, drop=[*args.drop, args.target])
    X, y = encoder.fit_transform(table), target.transform(table)
    y_true = target.true_values(table)
    classes = target.classes

    if classes is None:
        loss, n_out, task = "mse", 1, "regression"
    elif len(classes) == 2:
        loss, n_out, task = "binary_cross_entropy", 1, f"{len(classes)} classes"
    else:
        loss, n_out, task = "cross_entropy", len(classes), f"{len(classes)} classes"
    from .network import check_size

    check_size(
        [X.shape[1], *args.hidden, n_out], "--hidden", itemsize=np.dtype(args.dtype).itemsize
    )
    net = nf.Network(
        [X.shape[1], *args.hidden, n_out],
        activation=args.activation,
        loss=loss,
        seed=args.seed,
        dtype=args.dtype,
    )
    if isinstance(args.test_size, int) and args.test_size >= table.n_rows:
        raise ValueError(
            f"--test-size {args.test_size} leaves no training rows out of {table.n_rows}."
        )
    rows = np.arange(table.n_rows)
    train_rows, test_rows = nf.train_test_split(
        rows,
        test_size=args.test_size,
        seed=args.seed,
        stratify=y if classes is not None and _can_stratify(y, args.test_size) else None,
    )
    print(
        f"{table.n_rows} rows ({len(train_rows)} train, {len(test_rows)} test); target "
        f"{args.target!r} ({task}); features: {encoder.describe()}"
    )
    print(f"{net}, {X.shape[1]} inputs after encoding")

    every = args.print_every if args.print_every is not None else max(1, args.epochs // 10)
    history = _fit(nf, net, X[train_rows], y[train_rows], args, every)

    model = TabularModel(net, encoder, args.target, classes, target.mean_, target.scale_)
    for name, part in (("train", train_rows), ("test", test_rows)):
        print(f"{name:5s} {_metrics(model, X[part], y[part], y_true[part], y_true[train_rows])}")
    if history.restored_epoch is not None:  # the saved weights are that epoch's
        stopped = (
            ""
            if history.stopped_epoch is None
            else f"early stopping after epoch {history.stopped_epoch + 1}; "
        )
        print(f"{stopped}kept the weights of epoch {history.restored_epoch + 1}")
    if args.save:
        model.save(args.save)
        print(f"saved the model to {args.save} (nnfast predict {args.save} DATA.csv)")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")  # a file, never a window
        from . import plot

        ax = plot.model_complexity(history)
        ax.set_title(f"nnfast train: {args.target}")
        figure = cast("Figure", ax.figure)  # model_complexity's own, not a SubFigure
        figure.savefig(args.plot, dpi=100)
        print(f"saved the loss curves to {args.plot}")


def _can_stratify(y: FloatArray, test_size: float) -> bool:
    counts = np.unique(y, return_counts=True)[1]
    n_test = test_size if isinstance(test_size, int) else math.ceil(test_size * y.size)
    return counts.min() >= 2 and n_test >= counts.size and y.size - n_test >= counts.size


def _fit(
    nf: ModuleType,
    net: Network,
    X: FloatArray,
    y: FloatArray,
    args: argparse.Namespace,
    every: int,
) -> History:
    """Train with a progress line every ``every`` epochs; Ctrl-C keeps the epochs done."""
    from .callbacks import Callback

    class Progress(Callback):
        def on_epoch_end(self, epoch: int, history: History, network: Network) -> None:
            # train(on_divergence="raise") stops at a non-finite epoch; this check only
            # guards the message below against an engine that would let one through.
            if not np.isfinite(history.loss[-1]):
                raise FloatingPointError(f"the loss of epoch {epoch + 1} is {history.loss[-1]}")
            if every and ((epoch + 1) % every == 0 or epoch == 0):
                line = f"epoch {epoch + 1:>5}  loss {_number(history.loss[-1])}"
                if history.val_loss:
                    line += f"  val_loss {_number(history.val_loss[-1])}"
                print(line, flush=True)

    if args.early_stopping and len(y) < 10:
        raise ValueError(
            f"--early-stopping holds out 20% of the training rows for "
            f"validation, and there are only {len(y)}."
        )
    from .training import check_epochs

    # The progress callback never stops a run: all --epochs run, and their records must fit.
    check_epochs(
        args.epochs,
        "--epochs",
        validation=args.early_stopping,
        classify=net._require_loss("train").name != "mse",
    )
    try:
        return net.train(
            X,
            y,
            epochs=args.epochs,
            learning_rate=args.learning_rate,
            batch_size=args.batch_size,
            optimizer=args.optimizer,
            l2=args.l2,
            dropout=args.dropout if args.hidden else 0.0,
            seed=args.seed,
            validation_split=0.2 if args.early_stopping else 0.0,
            early_stopping=nf.EarlyStopping(patience=args.patience)
            if args.early_stopping
            else None,
            callbacks=[Progress()],
            on_divergence="raise",
        )
    except KeyboardInterrupt:
        history = net.history
        if history is None or not history.loss:
            raise
        print(f"interrupted: keeping the weights of epoch {len(history.loss)}", file=sys.stderr)
        return history
    except FloatingPointError as exc:
        raise FloatingPointError(
            f"training diverged: the loss stopped being finite; try a smaller "
            f"--learning-rate than {args.learning_rate:g}."
        ) from exc


def _number(x: float) -> str:
    return f"{x:.4f}" if abs(x) < 1e5 else f"{x:.4g}"


def _metrics(
    model: TabularModel,
    X: FloatArray,
    y: FloatArray,
    y_true: NDArray[Any],
    y_train: NDArray[Any],
) -> str:
    """One line: the loss the network minimises, and accuracy or RMSE/R^2 in the target's
    units (with the baseline a constant prediction would reach)."""
    net = model.network
    out = net.feedforward(X)
    loss = f"loss {_number(net.loss(X, y))}"
    if model.classes is None:
        pred = out[:, 0] * model.target_scale + model.target_mean
        rmse = float(np.sqrt(np.mean((pred - y_true) ** 2)))
        ss = float(np.sum((y_true - y_true.mean()) ** 2))
        r2 = 1.0 - float(np.sum((pred - y_true) ** 2)) / ss if ss > 0 else float("nan")
        return f"{loss}  rmse {rmse:.4g}  r2 {r2:.3f}"
    index = (out[:, 0] >= 0.5).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)
    accuracy = float(np.mean(index == y))
    labels, counts = np.unique(y_train.astype(str), return_counts=True)
    majority = str(labels[counts.argmax()])
    baseline = float(np.mean(y_true.astype(str) == majority))
    return f"{loss}  accuracy {accuracy:.4f}  (always {majority!r}: {baseline:.4f})"
