"""The ``nnfast`` command line: train on a CSV file, predict with a saved model, benchmark,
and describe the installation.

    nnfast train [DATA.csv --target COL] [--hidden 16,8] [--epochs 100] [--test-size 0.25]
                 [--features COL,COL | --drop COL,COL] [--categorical COL,COL]
                 [--save model.npz] [--plot curves.png]
    nnfast predict model.npz DATA.csv
    nnfast bench [--quick] [--workload W1]
    nnfast info

With no data file, ``train`` uses the bundled student admissions data (target ``admit``).
Columns are encoded by ``nnfast.tabular.TableEncoder``'s rules, as in Python: numbers
standardised, text one-hot encoded, identifiers and dates dropped with a warning (rank is a
number unless ``--categorical rank``, with the bundled file as with any copy of it). Errors
are one line on stderr and exit status 2; set ``NNFAST_DEBUG=1`` to see the traceback
instead.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import warnings
from typing import TYPE_CHECKING, NoReturn

import numpy as np

from .activations import ACTIVATIONS
from .optimizers import OPTIMIZERS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import TextIO, TypedDict

    class _Defaults(TypedDict):
        hidden: str
        activation: str
        epochs: int
        learning_rate: float
        batch_size: int
        optimizer: str
        l2: float
        dropout: float
        test_size: float
        seed: int
        patience: int
        dtype: str


EXIT_ERROR = 2
# Errors a user can cause (bad data, options or files): one line and EXIT_ERROR. Anything
# else is a bug in nnfast: one line too, exit status 1, and NNFAST_DEBUG=1 shows where.
USER_ERRORS = (
    ValueError,
    TypeError,
    OSError,
    ImportError,
    RuntimeError,
    ArithmeticError,
    MemoryError,
)

# Defaults of `nnfast train`, chosen on the bundled admissions data (bench/RESULTS.md has
# the measurements); early stopping is opt-in: on data this small it costs more than it saves.
DEFAULTS: _Defaults = dict(
    hidden="16",
    activation="relu",
    epochs=100,
    learning_rate=0.003,
    batch_size=32,
    optimizer="adam",
    l2=0.01,
    dropout=0.0,
    test_size=0.25,
    seed=0,
    patience=20,
    dtype="float64",
)


class UsageError(Exception):
    """A bad command line (argparse's complaint), reported in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints the usage and exits; we want one line
        raise UsageError(f"{message} (see `{self.prog} --help`)")


@contextlib.contextmanager
def _one_line_usage_errors() -> Iterator[None]:
    """Make every ArgumentParser (e.g. ``nnfast bench``'s own) raise UsageError on bad input."""
    # mypy refuses to replace a method (by a subclass's): replacing it is the point
    original = argparse.ArgumentParser.error
    argparse.ArgumentParser.error = _Parser.error  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        argparse.ArgumentParser.error = original  # type: ignore[method-assign]


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        text = (
            exc.strerror if str(exc.filename) in exc.strerror else f"{exc.strerror}: {exc.filename}"
        )
    elif isinstance(exc, MemoryError):
        text = f"out of memory ({exc or 'the data or the network is too large'})"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    print(f"nnfast: warning: {' '.join(str(message).split())}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (``argv``: the arguments, default ``sys.argv[1:]``); returns the
    exit status: 0 on success, 2 for a user error, 1 for an internal error."""
    debug = os.environ.get("NNFAST_DEBUG", "").strip() not in ("", "0")
    with warnings.catch_warnings():
        if not debug:
            warnings.showwarning = _show_warning
        try:
            argv = sys.argv[1:] if argv is None else list(argv)
            if argv[:1] == ["bench"]:  # every option after `bench` is its own
                return _bench(argparse.Namespace(options=argv[1:])) or 0
            args = _parser().parse_args(argv)
            if args.command is None:
                raise UsageError(
                    "choose a command: train, predict, bench or info (see `nnfast --help`)"
                )
            return args.run(args) or 0
        except KeyboardInterrupt:
            print("nnfast: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # `nnfast predict ... | head`: the reader left; stop quietly
            with contextlib.suppress(OSError, ValueError):  # no flush error at exit either
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except (UsageError, *USER_ERRORS) as exc:
            if debug:
                raise
            print(f"nnfast: error: {_one_line(exc)}", file=sys.stderr)
            return EXIT_ERROR
        except Exception as exc:
            if debug:
                raise
            print(
                f"nnfast: internal error: {type(exc).__name__}: {_one_line(exc)} (run with "
                f"NNFAST_DEBUG=1 for the traceback, and please report it)",
                file=sys.stderr,
            )
            return 1


# --- option types: argparse reports their message as "argument --x: <message>" ---------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text!r}")
    return value


def _float_in(
    low: float,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = True,
    what: str | None = None,
) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high
        )
        if not ok:
            interval = (
                ("(" if low_open else "[") + f"{low:g}, {high:g}" + (")" if high_open else "]")
            )
            raise argparse.ArgumentTypeError(
                f"must be {what or 'a number in ' + interval}, got {text!r}"
            )
        return value

    return parse


def _test_size(text: str) -> int | float:
    """A fraction in (0, 1), or a whole number of test rows."""
    if text.strip().isdigit():
        return _positive_int(text)
    return _float_in(0.0, 1.0, low_open=True, what="a fraction in (0, 1) or a number of rows")(text)


def _hidden(text: str) -> list[int]:
    """``16,8`` -> [16, 8]; an empty string is no hidden layer (logistic regression)."""
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        sizes = [0]
    if any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(
            f"must be comma-separated positive layer sizes such as 16,8, got {text!r}"
        )
    return sizes


def _columns(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def _parser() -> _Parser:
    p = _Parser(
        prog="nnfast",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train neural networks on CSV files, predict with saved models, "
        "benchmark the backends, describe the installation.",
        epilog="examples:\n"
        "  nnfast train                              # the bundled admissions data\n"
        "  nnfast train data.csv --target price --hidden 16,8 --save model.npz\n"
        "  nnfast predict model.npz new_rows.csv\n"
        "  nnfast bench --quick --workload W1\n"
        "  nnfast info",
    )
    p.add_argument("--version", action="version", version=f"nnfast {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    d = DEFAULTS

    t = sub.add_parser(
        "train",
        help="train a network on a CSV file (default: the bundled admissions data)",
        description="Train a network on a CSV file with a header row: text columns are "
        "one-hot encoded (identifiers and dates dropped, with a warning), all "
        "features standardised; the rows are split into train and test sets, and "
        "the final metrics are printed for both.",
    )
    t.add_argument(
        "data",
        nargs="?",
        help="CSV file with a header row (default: the bundled student admissions "
        "data, target admit)",
    )
    t.add_argument("--target", metavar="COL", help="column to predict (required with DATA)")
    t.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="auto (default): text labels or integers with at most 20 values are "
        "classes, other numbers a regression",
    )
    t.add_argument(
        "--categorical",
        type=_columns,
        default=[],
        metavar="COL,COL",
        help="numeric columns to one-hot encode as well (text columns always are, "
        "but identifiers and dates are dropped unless named here)",
    )
    t.add_argument(
        "--features",
        type=_columns,
        metavar="COL,COL",
        help="the feature columns to use (default: all but the target)",
    )
    t.add_argument(
        "--drop", type=_columns, default=[], metavar="COL,COL", help="columns to leave out"
    )
    t.add_argument(
        "--hidden",
        type=_hidden,
        default=_hidden(d["hidden"]),
        metavar="N,N",
        help=f"hidden layer sizes (default {d['hidden']}; '' for none)",
    )
    t.add_argument(
        "--activation",
        choices=tuple(a for a in ACTIVATIONS if a not in ("softmax", "exp", "step")),
        default=d["activation"],
        help=f"hidden activation (default {d['activation']})",
    )
    t.add_argument(
        "--epochs",
        type=_positive_int,
        default=d["epochs"],
        help=f"passes over the training rows (default {d['epochs']})",
    )
    t.add_argument(
        "--learning-rate",
        "--lr",
        type=_float_in(0.0, low_open=True),
        default=d["learning_rate"],
        help=f"(default {d['learning_rate']})",
    )
    t.add_argument(
        "--batch-size",
        type=_positive_int,
        default=d["batch_size"],
        help=f"rows per update (default {d['batch_size']})",
    )
    t.add_argument(
        "--optimizer",
        choices=tuple(OPTIMIZERS),
        default=d["optimizer"],
        help=f"(default {d['optimizer']})",
    )
    t.add_argument(
        "--l2",
        type=_float_in(0.0),
        default=d["l2"],
        help=f"weight penalty l2/2 * sum W**2 (default {d['l2']})",
    )
    t.add_argument(
        "--dropout",
        type=_float_in(0.0, 1.0),
        default=d["dropout"],
        help="dropout rate of the hidden layers, in [0, 1) (default 0)",
    )
    t.add_argument(
        "--early-stopping",
        action="store_true",
        help="hold out 20%% of the training rows and stop when their loss has not "
        "improved for --patience epochs, keeping the best weights",
    )
    t.add_argument(
        "--patience",
        type=_positive_int,
        default=d["patience"],
        help=f"epochs without improvement before early stopping (default {d['patience']})",
    )
    t.add_argument(
        "--test-size",
        type=_test_size,
        default=d["test_size"],
        help="fraction (or number) of rows held out for testing (default 0.25)",
    )
    t.add_argument(
        "--seed",
        type=_nonnegative_int,
        default=d["seed"],
        help="seeds the split, the initial weights and the shuffles (default 0)",
    )
    t.add_argument(
        "--backend",
        choices=("cython", "numpy"),
        help="kernels to train with (default: cython when built)",
    )
    t.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default=d["dtype"],
        help="precision of the network and its training: float32 halves the "
        "memory and is faster on large layers (default float64)",
    )
    t.add_argument(
        "--print-every",
        type=_nonnegative_int,
        metavar="N",
        help="print the loss every N epochs (default: about 10 lines; 0: none)",
    )
    t.add_argument("--save", metavar="MODEL.npz", help="save the model (with its encoding)")
    t.add_argument(
        "--plot",
        metavar="CURVES.png",
        help="save the loss curves as an image (needs matplotlib; the validation loss "
        "too with --early-stopping)",
    )
    t.set_defaults(run=_train)

    pr = sub.add_parser(
        "predict",
        help="predict the rows of a CSV file with a saved model",
        description="Print one prediction per row of DATA (a class label, or a "
        "number), under a header line with the target's name.",
    )
    pr.add_argument("model", help="a model saved by `nnfast train --save` (or Network.save)")
    pr.add_argument("data", help="CSV file with the model's feature columns (others ignored)")
    pr.set_defaults(run=_predict)

    b = sub.add_parser(
        "bench", help="time nnfast's backends (and scikit-learn, PyTorch) here", add_help=False
    )
    b.add_argument(
        "options",
        nargs=argparse.REMAINDER,
        help="its own options: --quick, --workload W1,W2,MNIST, --backend, ... "
        "(nnfast bench --help)",
    )
    b.set_defaults(run=_bench)

    i = sub.add_parser("info", help="version, backend, BLAS libraries and thread counts")
    i.set_defaults(run=_info)
    return p


def _version() -> str:
    from . import __version__

    return __version__


# --- train (nnfast._cli_train) --------------------------------------------------------------


def _train(args: argparse.Namespace) -> None:
    from ._cli_train import train

    return train(args)


# --- predict, bench, info --------------------------------------------------------------------


def _predict(args: argparse.Namespace) -> None:
    import nnfast as nf

    from ._encoding import TabularModel
    from ._table import Table

    if not os.path.exists(args.model):
        raise ValueError(f"no such file: {args.model}")
    model = nf.load(args.model)
    table = Table.read(args.data)
    if isinstance(model, TabularModel):
        header, predictions = model.target, model.predict(table)
    else:
        X = np.column_stack([table.numbers(name) for name in table.names])
        n_inputs = getattr(model, "n_inputs", getattr(model, "n_features_in_", X.shape[1]))
        if X.shape[1] != n_inputs:
            raise ValueError(
                f"{args.data} has {X.shape[1]} columns; the model takes {n_inputs} inputs."
            )
        if isinstance(model, nf.Network):
            predictions = model.feedforward(X)
        elif hasattr(model, "predict"):
            predictions = model.predict(X)
        else:
            raise ValueError(f"{args.model} holds a {type(model).__name__}, which cannot predict.")
        header = "prediction"
    lines = [header]
    for p in predictions:
        if isinstance(p, str):
            lines.append(p)
        else:
            lines.append(" ".join(f"{v:.6g}" for v in np.atleast_1d(p)))
    print("\n".join(lines))


def _bench(args: argparse.Namespace) -> int:
    from . import _bench as bench

    with _one_line_usage_errors():
        return bench.main(args.options)


def _info(args: argparse.Namespace) -> None:
    import nnfast as nf

    from ._machine import machine_info

    info = machine_info()
    print(f"nnfast {nf.__version__} ({os.path.dirname(nf.__file__)})")
    env = os.environ.get("NNFAST_BACKEND")
    print(
        f"backend: {nf.get_backend()} (available: {', '.join(info['backends'])}"
        f"{'; NNFAST_BACKEND=' + env if env else ''})"
    )
    print(f"python {info['python']}, numpy {info['numpy']}, scipy {info['scipy']}")
    print(f"cpu: {info['cpu']}, {info['cpu_count']} cores ({info['usable_cpus']} usable)")
    if info["blas"]:
        for b in info["blas"]:
            threads = b["num_threads"] if b["num_threads"] else "unknown (install threadpoolctl)"
            print(f"blas ({b['library']}): {b['internal_api']} {b['version']}, threads: {threads}")
    else:
        print("blas: unknown")
    for key, value in info["thread_env"].items():
        print(f"{key}={value}")
    if "gemm_threshold" in info:
        print(
            f"gemm threshold: {info['gemm_threshold']} multiply-adds (smaller products are "
            f"fused loops)"
        )


if __name__ == "__main__":
    sys.exit(main())
