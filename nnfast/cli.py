"""The ``nnfast`` command line: train on a CSV file, predict with a saved model, benchmark,
and describe the installation.

    nnfast train [DATA.csv --target COL] [--hidden 16,8] [--epochs 200] [--save model.npz]
    nnfast predict model.npz DATA.csv
    nnfast bench [--quick]
    nnfast info

With no data file, ``train`` uses the bundled student admissions data (target ``admit``,
``rank`` one-hot encoded). Errors are one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import sys
from importlib import resources

import numpy as np

from .tabular import _natural

MAX_CLASSES = 20  # an integer target with at most this many values is a classification


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except (ValueError, TypeError, OSError, ImportError, RuntimeError) as exc:
        print(f"nnfast: error: {exc}", file=sys.stderr)
        return 2


def _parser():
    p = argparse.ArgumentParser(prog="nnfast", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command")

    t = sub.add_parser("train", help="train a network on a CSV file (default: bundled admissions)")
    t.add_argument("data", nargs="?", help="CSV file with a header row")
    t.add_argument("--target", help="column to predict (default: admit for the bundled data)")
    t.add_argument("--categorical", default="", help="comma-separated numeric columns to one-hot encode")
    t.add_argument("--hidden", default="16", help="hidden layer sizes, e.g. 16,8 (default 16)")
    t.add_argument("--activation", default="relu")
    t.add_argument("--epochs", type=int, default=200)
    t.add_argument("--learning-rate", type=float, default=0.01)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--optimizer", default="adam", choices=["sgd", "adam"])
    t.add_argument("--l2", type=float, default=0.0)
    t.add_argument("--dropout", type=float, default=0.0)
    t.add_argument("--early-stopping", action="store_true",
                   help="hold out 20%% of the training rows and stop when their loss stops improving")
    t.add_argument("--test-size", type=float, default=0.25)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--backend", choices=["cython", "numpy"])
    t.add_argument("--save", metavar="MODEL.npz")
    t.add_argument("--plot", metavar="CURVES.png", help="save the loss curves (needs matplotlib)")
    t.set_defaults(run=_train)

    pr = sub.add_parser("predict", help="predict the rows of a CSV file with a saved model")
    pr.add_argument("model")
    pr.add_argument("data")
    pr.set_defaults(run=_predict)

    b = sub.add_parser("bench", help="time the cython and numpy backends (see bench/)")
    b.add_argument("options", nargs=argparse.REMAINDER, help="passed to nnfast.bench (try --help)")
    b.set_defaults(run=lambda a: __import__("nnfast.bench").bench.main(a.options))

    i = sub.add_parser("info", help="version, backend, BLAS and threads")
    i.set_defaults(run=_info)
    return p


def _train(args):
    import nnfast as nf
    from .tabular import Encoder, Table, TabularModel

    if args.backend:
        nf.set_backend(args.backend)
    if args.data is None:
        path = resources.files("nnfast") / "data" / "student_data.csv"
        args.target = args.target or "admit"
        args.categorical = args.categorical or "rank"
        print("Training on the bundled student admissions data (target: admit).")
    else:
        path = args.data
        if not args.target:
            raise ValueError("--target COL is required with a data file.")
    table = Table.read(path)
    forced = [c for c in args.categorical.split(",") if c]
    for name in forced + [args.target]:
        table.column(name)  # unknown columns fail here, with the list of columns
    features = [n for n in table.names if n != args.target]
    encoder = Encoder().fit(table, features, categorical=forced)
    X = encoder.transform(table)

    y_raw = table.column(args.target)
    classes, y = _target(y_raw)
    hidden = _sizes(args.hidden)
    if classes is None:
        loss, n_out = "mse", 1
    elif len(classes) == 2:
        loss, n_out = "binary_cross_entropy", 1
    else:
        loss, n_out = "cross_entropy", len(classes)
    net = nf.Network([X.shape[1], *hidden, n_out], activation=args.activation, loss=loss,
                     seed=args.seed)
    stratify = y if classes is not None else None
    X_train, X_test, y_train, y_test = nf.train_test_split(
        X, y, test_size=args.test_size, seed=args.seed, stratify=stratify)
    print(f"{len(table.columns[0])} rows, {X.shape[1]} encoded features, {net}")

    every = max(1, args.epochs // 10)

    class Report(nf.Callback):
        def on_epoch_end(self, epoch, history, network):
            if (epoch + 1) % every == 0 or epoch == 0:
                line = f"epoch {epoch + 1:>5}  loss {history.loss[-1]:.4f}"
                if history.val_loss:
                    line += f"  val_loss {history.val_loss[-1]:.4f}"
                print(line, flush=True)

    history = net.train(
        X_train, y_train, epochs=args.epochs, learning_rate=args.learning_rate,
        batch_size=args.batch_size, optimizer=args.optimizer, l2=args.l2,
        dropout=args.dropout if len(hidden) else 0.0, seed=args.seed,
        validation_split=0.2 if args.early_stopping else 0.0,
        early_stopping=nf.EarlyStopping(patience=20) if args.early_stopping else None,
        callbacks=[Report()],
    )
    model = TabularModel(net, encoder, args.target, classes)
    for name, Xp, yp in (("train", X_train, y_train), ("test", X_test, y_test)):
        print(f"{name:5s} {_metrics(net, Xp, yp, classes)}")
    if history.stopped_epoch is not None:
        print(f"early stopping after epoch {history.stopped_epoch + 1}, "
              f"best epoch {history.best_epoch + 1}")
    if args.save:
        model.save(args.save)
        print(f"saved {args.save}")
    if args.plot:
        from . import plot

        ax = plot.model_complexity(history)
        ax.figure.savefig(args.plot, dpi=100)
        print(f"saved {args.plot}")


def _target(values):
    """(classes or None, encoded target): class indices, or floats for a regression."""
    numbers = None
    try:
        numbers = np.array([float(v) for v in values])
    except ValueError:
        pass
    if numbers is not None and not np.isfinite(numbers).all():
        raise ValueError("the target column has missing or infinite values.")
    levels = sorted(set(values), key=_natural)
    is_class = numbers is None or (np.all(numbers == np.round(numbers)) and len(levels) <= MAX_CLASSES)
    if not is_class:
        return None, numbers
    if len(levels) < 2:
        raise ValueError("the target column has a single value: nothing to learn.")
    index = {v: i for i, v in enumerate(levels)}
    return levels, np.array([index[v] for v in values], dtype=float)


def _sizes(text):
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--hidden must be comma-separated integers, got {text!r}.") from None
    if any(s < 1 for s in sizes):
        raise ValueError(f"--hidden sizes must be positive, got {text!r}.")
    return sizes


def _metrics(net, X, y, classes):
    out = net.feedforward(X)
    if classes is None:
        rmse = float(np.sqrt(np.mean((out[:, 0] - y) ** 2)))
        r2 = 1.0 - np.sum((out[:, 0] - y) ** 2) / max(np.sum((y - y.mean()) ** 2), 1e-300)
        return f"loss {net.loss(X, y):.4f}  rmse {rmse:.4f}  r2 {r2:.3f}"
    pred = (out[:, 0] >= 0.5) if out.shape[1] == 1 else out.argmax(axis=1)
    return f"loss {net.loss(X, y):.4f}  accuracy {np.mean(pred == y):.4f}"


def _predict(args):
    import nnfast as nf
    from .tabular import Table, TabularModel

    model = nf.load(args.model)
    table = Table.read(args.data)
    if isinstance(model, TabularModel):
        predictions = model.predict(table)
        print(model.target)
    else:
        rows = np.array([[float(v) for v in col] for col in table.columns]).T
        predictions = model.feedforward(rows)
        print("prediction")
    for p in predictions:
        print(" ".join(f"{v:.6g}" for v in np.atleast_1d(p)) if np.ndim(p) or isinstance(p, float) else p)


def _info(args):
    import nnfast as nf
    from . import bench

    info = bench.machine_info()
    print(f"nnfast {nf.__version__}")
    print(f"backend: {nf.get_backend()} (available: {', '.join(bench.available_backends())})")
    print(bench.describe_machine(info))


if __name__ == "__main__":
    sys.exit(main())
