"""``nnfast bench`` and ``nnfast info``: how fast nnfast trains on this machine.

``nnfast bench`` describes the machine (CPU, cores, NumPy and SciPy, BLAS libraries and their
threads) and, per workload, the median time per unit of training work of each backend and,
when they are installed, of scikit-learn's ``MLPClassifier`` and PyTorch on the same
network, with each one's ratio to nnfast's compiled backend. Implementations take turns, so
a slow spell of a shared machine hits them all, and ratios are only formed within one run.
The workloads:

``W1``
    The tutorials' 2-2-1 sigmoid network, MSE, per-sample SGD on its 4 rows: time per SGD
    step, where per-step Python overhead is everything.
``W2``
    scikit-learn's digits (1797 x 64, standardised; synthetic data of that shape without
    scikit-learn), 64-64-10 ReLU / softmax, SGD with batches of 32: time per epoch.
``MNIST``
    The MNIST digits (``nnfast.datasets.load_mnist``), 784-128-10 ReLU / softmax, SGD with
    momentum 0.9, batches of 64: time per epoch and test accuracy.

The project's own benchmarks, with its targets, live in the repository's ``bench/`` folder
and build on the workloads defined here.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import os
import statistics
import sys
import time
import warnings
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import numpy as np

from . import _backend
from ._machine import (
    BACKENDS,
    available_backends,
    describe_machine,
    have_threadpoolctl,
    machine_info,
)
from .data import StandardScaler, one_hot
from .network import Network

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from numpy.typing import ArrayLike, DTypeLike, NDArray

    from ._typing import FloatArray, StrPath
    from .callbacks import History

    #: W2's data: X, one-hot Y and where X came from.
    Digits = tuple[FloatArray, FloatArray, str]
    #: ``run(name, epochs) -> (seconds, units of work)``, as ``measure`` times it.
    Runner = Callable[[str, int], tuple[float, int]]

_T = TypeVar("_T")

WORKLOADS = ("W1", "W2", "MNIST")
DEFAULT_WORKLOADS = ("W1", "W2")
PEERS = {"scikit-learn": "sklearn", "pytorch": "torch"}  # name -> the package it needs

TUTORIAL_X = [[-2.0, -1.0], [25.0, 6.0], [17.0, 4.0], [-15.0, -6.0]]
TUTORIAL_Y = [1.0, 0.0, 0.0, 1.0]
W2_BATCH, W2_LR = 32, 0.05
MNIST_SIZES = (784, 128, 10)
MNIST_BATCH = 64
MNIST_EPOCHS = 5
MNIST_LR = 0.05
MNIST_MOMENTUM = 0.9
#: Epochs of the first (calibration) measurement; later ones are sized to ``target_s``.
START_EPOCHS = {"W1": {"numpy": 200, "cython": 50_000}, "W2": {"numpy": 10, "cython": 20}}
#: Rest before a timed run on more than one BLAS thread: idle OpenBLAS workers spin for a
#: while after their last call, and NumPy's and SciPy's OpenBLAS are two pools.
REST_S = 0.25


# --- the workloads --------------------------------------------------------------------------


def tutorial_data() -> tuple[FloatArray, FloatArray]:
    """W1's 4 rows: X (4, 2) and targets y (4,)."""
    return np.array(TUTORIAL_X), np.array(TUTORIAL_Y)


def tutorial_network(seed: int = 0) -> Network:
    """The 2-2-1 network of the tutorials: sigmoid hidden and output units, MSE."""
    return Network(
        [2, 2, 1], activation="sigmoid", output_activation="sigmoid", loss="mse", seed=seed
    )


def train_tutorial(net: Network, X: ArrayLike, y: ArrayLike, epochs: int, seed: int = 0) -> History:
    """W1: per-sample SGD (batch_size=1, shuffled), learning rate 0.1."""
    return net.train(X, y, epochs=epochs, learning_rate=0.1, batch_size=1, shuffle=True, seed=seed)


def digits_data() -> Digits:
    """(X, Y, source): digits standardised, one-hot Y (1797, 10). Without scikit-learn
    (which bundles the digits), Gaussian features labelled by a random linear teacher."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(1797, 64))
        labels = np.argmax(X @ rng.normal(size=(64, 10)), axis=1)
        source = "synthetic 1797x64 (scikit-learn not installed)"
    else:
        X, labels = load_digits(return_X_y=True)
        source = "sklearn load_digits 1797x64"
    X = StandardScaler().fit_transform(X)
    return np.ascontiguousarray(X), one_hot(labels, 10), source


def digits_network(seed: int = 0, dtype: DTypeLike = "float64") -> Network:
    """64-64-10: ReLU hidden layer, softmax output, cross-entropy."""
    return Network(
        [64, 64, 10],
        activation="relu",
        output_activation="softmax",
        loss="cross_entropy",
        seed=seed,
        dtype=dtype,
    )


def train_digits(net: Network, X: ArrayLike, Y: ArrayLike, epochs: int, seed: int = 0) -> History:
    """W2: mini-batch SGD, batches of 32, shuffled, learning rate 0.05."""
    return net.train(
        X, Y, epochs=epochs, learning_rate=W2_LR, batch_size=W2_BATCH, shuffle=True, seed=seed
    )


def mnist_data(
    path: StrPath | None = None, download: bool = False
) -> tuple[NDArray[Any], NDArray[np.intp], NDArray[Any], NDArray[np.intp]]:
    """(X_train, labels_train, X_test, labels_test) from ``nnfast.datasets.load_mnist``
    (``path``, else ``$NNFAST_DATA``, else the cache): pixels in [0, 1]. FileNotFoundError,
    saying where the files were looked for, when they are missing (and not downloaded)."""
    from .datasets import load_mnist

    (X_train, y_train), (X_test, y_test) = load_mnist(path, download=download)
    return X_train, y_train, X_test, y_test


def mnist_network(seed: int = 0, dtype: DTypeLike = "float64") -> Network:
    """784-128-10: ReLU hidden layer, softmax output, cross-entropy."""
    return Network(
        list(MNIST_SIZES),
        activation="relu",
        output_activation="softmax",
        loss="cross_entropy",
        seed=seed,
        dtype=dtype,
    )


def train_mnist(
    net: Network, X: ArrayLike, Y: ArrayLike, epochs: int, resume: bool = False
) -> History:
    """MNIST: SGD with momentum 0.9, lr 0.05, batches of 64, shuffled by the network's own
    generator; ``resume=True`` continues the previous call (momentum and shuffles)."""
    from .optimizers import SGD

    return net.train(
        X,
        Y,
        epochs=epochs,
        learning_rate=MNIST_LR,
        batch_size=MNIST_BATCH,
        shuffle=True,
        optimizer=SGD(momentum=MNIST_MOMENTUM),
        resume=resume,
    )


# --- timing ---------------------------------------------------------------------------------


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit BLAS to ``n`` threads inside the block (no-op for None or without threadpoolctl)."""
    if n is None or not have_threadpoolctl():
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield


def _timed(fn: Callable[[], _T]) -> tuple[float, _T]:
    """(wall time of ``fn()``, its result), with the garbage collector off as ``timeit``."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        result = fn()
        return time.perf_counter() - start, result
    finally:
        if enabled:
            gc.enable()


def rest(threads: int | None) -> None:
    """Let other thread pools go idle before a timed run on ``threads`` BLAS threads (None:
    the default, which may be more than one)."""
    if threads is None or threads > 1:
        time.sleep(REST_S)


def measure(
    run: Runner,
    names: Sequence[str],
    start_epochs: Mapping[str, int],
    repeats: int,
    target_s: float,
    threads: int | None = 1,
) -> dict[str, dict[str, Any]]:
    """Timings of ``run(name, epochs) -> (seconds, units)`` for each name, taking turns.

    A calibration run per name (not counted; it also warms caches) sizes the epochs so that
    one measurement takes about ``target_s``; then ``repeats`` measurements, each after
    ``rest(threads)``. Returns {name: {"per_unit": [seconds per unit], "epochs": n}}.
    """
    epochs = {}
    for name in names:
        n = start_epochs.get(name, 1)
        for _ in range(3):
            seconds, _units = run(name, n)
            if seconds >= target_s / 4:
                break
            n *= 4 if seconds < target_s / 16 else 2  # too short to scale from reliably
        epochs[name] = max(1, int(round(n * target_s / max(seconds, 1e-9))))
    out: dict[str, dict[str, Any]] = {
        name: {"per_unit": [], "epochs": epochs[name]} for name in names
    }
    for _ in range(repeats):
        for name in names:
            rest(threads)
            seconds, units = run(name, epochs[name])
            out[name]["per_unit"].append(seconds / max(units, 1))
    return out


def time_w1(backend: str, epochs: int, seed: int = 0) -> tuple[float, int]:
    """(seconds, SGD steps) of one ``net.train`` of W1 on ``backend``; network built untimed."""
    X, y = tutorial_data()
    net = tutorial_network(seed)
    with _backend.use_backend(backend):
        seconds, history = _timed(lambda: train_tutorial(net, X, y, epochs, seed))
    return seconds, X.shape[0] * history.epochs


def time_w2(
    backend: str, epochs: int, data: Digits, threads: int | None = None, seed: int = 0
) -> tuple[float, int]:
    """(seconds, epochs) of one ``net.train`` of W2 on ``backend``, ``threads`` BLAS threads,
    in X's dtype."""
    X, Y = data[0], data[1]
    net = digits_network(seed, dtype=X.dtype)
    with _backend.use_backend(backend), blas_threads(threads):
        seconds, history = _timed(lambda: train_digits(net, X, Y, epochs, seed))
    return seconds, history.epochs


# --- peers ----------------------------------------------------------------------------------


def available_peers() -> list[str]:
    """The peers whose package is installed."""
    return [
        name for name, package in PEERS.items() if importlib.util.find_spec(package) is not None
    ]


def peer_trainer(
    name: str,
    X: NDArray[np.floating[Any]],
    labels: NDArray[Any],
    hidden: int,
    batch_size: int,
    lr: float,
    momentum: float,
    seed: int = 0,
) -> Callable[[int], Any]:
    """``epochs(n)`` of one peer on a 1-hidden-layer ReLU / softmax network, SGD, in X's
    dtype."""
    if name == "scikit-learn":
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(
            (hidden,),
            solver="sgd",
            alpha=0.0,
            batch_size=batch_size,
            learning_rate_init=lr,
            momentum=momentum,
            nesterovs_momentum=False,
            random_state=seed,
            max_iter=1,
            tol=0.0,
            n_iter_no_change=10**9,
        )
        classes = np.unique(labels)

        def sklearn_epochs(n: int) -> Any:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for _ in range(n):
                    clf.partial_fit(X, labels, classes=classes)
            return clf

        return sklearn_epochs
    import torch

    torch.manual_seed(seed)
    real = torch.float32 if X.dtype == np.float32 else torch.float64
    model = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], hidden, dtype=real),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, int(labels.max()) + 1, dtype=real),
    )
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(labels.astype(np.int64))

    def torch_epochs(n: int) -> Any:
        for _ in range(n):
            order = torch.randperm(X.shape[0])
            for start in range(0, X.shape[0], batch_size):
                rows = order[start : start + batch_size]
                loss = torch.nn.functional.cross_entropy(model(Xt[rows]), yt[rows])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return model

    return torch_epochs


def _time_w2_any(
    name: str, epochs: int, data: Digits, peers: Mapping[str, Callable[[int], Any]]
) -> tuple[float, int]:
    if name in BACKENDS:
        return time_w2(name, epochs, data)
    seconds, _ = _timed(lambda: peers[name](epochs))
    return seconds, epochs


# --- the report -----------------------------------------------------------------------------


def _row(
    name: str, unit: str, scale: float, timings: Mapping[str, Mapping[str, Any]], note: str = ""
) -> dict[str, Any]:
    cells = {}
    for who, t in timings.items():
        per_unit = t["per_unit"]
        median = statistics.median(per_unit)
        mad = statistics.median(abs(x - median) for x in per_unit)
        cells[who] = {"median": median * scale, "mad_pct": 100 * mad / median if median else 0.0}
    runs = min(len(t["per_unit"]) for t in timings.values())
    return {"workload": name, "unit": unit, "cells": cells, "note": note, "runs": runs}


def run(
    backends: Sequence[str] = BACKENDS,
    workloads: Sequence[str] = DEFAULT_WORKLOADS,
    peers: Sequence[str] = (),
    repeats: int = 5,
    target_s: float = 0.2,
    mnist_path: StrPath | None = None,
    mnist_epochs: int = 2,
    download: bool = False,
    log: Callable[[str], None] | None = None,
    dtype: DTypeLike = "float64",
) -> dict[str, Any]:
    """Run the workloads; returns {"machine", "columns", "rows", "skipped"}. ``dtype``
    float32 runs W2 and MNIST in float32 (networks, data and the peers)."""
    real = np.dtype(dtype)
    f32 = " (float32)" if real == np.float32 else ""
    log = log or (lambda msg: None)
    backends = [b for b in backends if b in available_backends()]
    if not backends:
        raise RuntimeError("no backend available to benchmark")
    info = machine_info()
    rows, skipped = [], {}
    if "W1" in workloads:
        log("W1: tutorial 2-2-1, net.train, batch 1")
        t = measure(time_w1, backends, START_EPOCHS["W1"], repeats, target_s)
        rows.append(_row("W1 tutorial 2-2-1 sigmoid, MSE, SGD batch 1", "ns/step", 1e9, t))
    if "W2" in workloads:
        data = digits_data()
        data = (data[0].astype(real), data[1].astype(real), data[2])
        labels = data[1].argmax(axis=1)
        trainers = {p: peer_trainer(p, data[0], labels, 64, W2_BATCH, W2_LR, 0.0) for p in peers}
        log(f"W2: digits 64-64-10, {', '.join([*backends, *trainers])}")
        t = measure(
            lambda name, e: _time_w2_any(name, e, data, trainers),
            [*backends, *trainers],
            START_EPOCHS["W2"],
            repeats,
            target_s,
            threads=None,
        )
        rows.append(
            _row(f"W2{f32} {data[2]}, 64-64-10 relu/softmax, SGD batch 32", "ms/epoch", 1e3, t)
        )
    if "MNIST" in workloads:
        try:
            X, labels, X_test, labels_test = mnist_data(mnist_path, download)
        except FileNotFoundError as exc:
            skipped["MNIST"] = f"{exc} (or give nnfast bench --mnist-dir DIR, or --download)"
        else:
            X, X_test = X.astype(real, copy=False), X_test.astype(real, copy=False)
            rows.append(
                _mnist_row(backends, peers, X, labels, X_test, labels_test, mnist_epochs, log)
            )
    if hasattr(os, "getloadavg"):
        info["load_average_end"] = list(os.getloadavg())
    return {
        "machine": info,
        "columns": [*backends, *peers],
        "rows": rows,
        "skipped": skipped,
        "repeats": repeats,
    }


def _mnist_row(
    backends: Sequence[str],
    peers: Sequence[str],
    X: NDArray[Any],
    labels: NDArray[Any],
    X_test: NDArray[Any],
    labels_test: NDArray[Any],
    epochs: int,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """MNIST: each implementation trains ``epochs`` epochs, one at a time, taking turns, in
    X's dtype."""
    Y = one_hot(labels, MNIST_SIZES[-1]).astype(X.dtype)
    nets = {b: mnist_network(dtype=X.dtype) for b in backends}
    trainers = {
        p: peer_trainer(p, X, labels, MNIST_SIZES[1], MNIST_BATCH, MNIST_LR, MNIST_MOMENTUM)
        for p in peers
    }
    times: dict[str, list[float]] = {name: [] for name in [*nets, *trainers]}
    models = {}
    for e in range(epochs):
        for name in times:
            rest(None)
            if name in nets:
                with _backend.use_backend(name):
                    seconds, _ = _timed(partial(train_mnist, nets[name], X, Y, 1, resume=e > 0))
            else:
                seconds, models[name] = _timed(partial(trainers[name], 1))
            times[name].append(seconds)
            log(f"MNIST {name} epoch {e + 1}: {seconds:.3g} s")
    accuracy = {
        b: float(np.mean(nets[b].feedforward(X_test).argmax(axis=1) == labels_test)) for b in nets
    }
    for name, model in models.items():
        if name == "scikit-learn":
            accuracy[name] = float(np.mean(model.predict(X_test) == labels_test))
        else:
            import torch

            with torch.no_grad():
                pred = model(torch.from_numpy(np.ascontiguousarray(X_test))).argmax(1).numpy()
            accuracy[name] = float(np.mean(pred == labels_test))
    note = "test accuracy after {} epoch{}: {}".format(
        epochs, "s" if epochs > 1 else "", ", ".join(f"{k} {v:.2%}" for k, v in accuracy.items())
    )
    return _row(
        f"MNIST{' (float32)' if X.dtype == np.float32 else ''} {X.shape[0]}x784, "
        f"784-128-10 relu/softmax, SGD momentum "
        f"{MNIST_MOMENTUM}, batch {MNIST_BATCH}",
        "ms/epoch",
        1e3,
        {k: {"per_unit": v} for k, v in times.items()},
        note,
    )


def _fmt(x: float) -> str:
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def _ratio(r: float) -> str:
    return f"{r:.2f}x" if r < 10 else f"{r:.0f}x"


def _footer(rows: Sequence[Mapping[str, Any]], base: str) -> str:
    if not rows:
        return "No workload ran."
    runs = ", ".join(
        f"{row['workload'].split()[0]}: {row['runs']}"
        + (" epochs" if row["workload"].startswith("MNIST") else "")
        for row in rows
    )
    return (
        f"Medians (± median absolute deviation) of the timed runs ({runs}), implementations "
        f"taking turns; a ratio above 1x means slower than {base}."
    )


def format_table(result: Mapping[str, Any]) -> str:
    """The machine line, a markdown table of medians and ratios to the compiled backend,
    and notes."""
    columns = result["columns"]
    base = "cython" if "cython" in columns else columns[0]
    others = [c for c in columns if c != base]
    head = ["Workload", "Unit", *columns, *(f"{c}/{base}" for c in others)]
    lines = [
        describe_machine(result["machine"]),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for row in result["rows"]:
        cells = row["cells"]
        times = [
            f"{_fmt(cells[c]['median'])} ±{cells[c]['mad_pct']:.0f}%" if c in cells else "-"
            for c in columns
        ]
        ratios = [
            _ratio(cells[c]["median"] / cells[base]["median"])
            if c in cells and base in cells
            else "-"
            for c in others
        ]
        lines.append("| " + " | ".join([row["workload"], row["unit"], *times, *ratios]) + " |")
    lines += [
        "",
        _footer(result["rows"], base),
    ]
    lines += [
        f"{row['workload'].split()[0]}: {row['note']}." for row in result["rows"] if row["note"]
    ]
    return "\n".join(lines)


def parse_workloads(
    parser: argparse.ArgumentParser, text: str, choices: Sequence[str]
) -> list[str]:
    """The workloads a comma-separated ``--workload`` names (any case, or "all"), spelled as
    in ``choices``; an unknown one is a usage error."""
    lookup = {w.lower(): w for w in choices}
    names = [w.strip() for w in text.split(",") if w.strip()]
    if [w.lower() for w in names] == ["all"]:
        names = list(choices)
    unknown = [w for w in names if w.lower() not in lookup]
    if unknown or not names:
        parser.error(
            f"unknown workload {unknown or text!r}; choose from {', '.join(choices)} or all"
        )
    return [lookup[w.lower()] for w in names]


def main(argv: Sequence[str] | None = None) -> int:
    """``nnfast bench``: print the machine and the table; returns the exit status (2 when a
    workload asked for could not run, such as MNIST without its files)."""
    parser = argparse.ArgumentParser(
        prog="nnfast bench",
        description="Time nnfast's backends (and scikit-learn and PyTorch, when installed) "
        "on this machine.",
    )
    parser.add_argument("--quick", action="store_true", help="3 shorter repeats instead of 5")
    parser.add_argument(
        "--backend",
        default="all",
        choices=["all", *BACKENDS],
        help="the backends to time (default: all available)",
    )
    parser.add_argument(
        "--workload",
        default=",".join(DEFAULT_WORKLOADS),
        help=f"comma-separated subset of {','.join(WORKLOADS)}, or all "
        f"(default: {','.join(DEFAULT_WORKLOADS)})",
    )
    parser.add_argument(
        "--no-peers", action="store_true", help="time nnfast only, not scikit-learn and PyTorch"
    )
    parser.add_argument(
        "--mnist-dir",
        help="folder of the MNIST files (default: $NNFAST_DATA, else the cache ~/.cache/nnfast)",
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help="download MNIST into the cache when it is found nowhere",
    )
    parser.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default="float64",
        help="precision of W2 and MNIST: float32 runs nnfast's float32 kernels and the "
        "peers in float32 (default float64)",
    )
    parser.add_argument("--repeats", type=int, help="timed runs per implementation")
    parser.add_argument(
        "--target-time", type=float, dest="target_s", help="seconds each timed run should take"
    )
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.target_s is not None and not 0 < args.target_s < 3600:
        parser.error("--target-time must be a number of seconds in (0, 3600)")
    workloads = parse_workloads(parser, args.workload, WORKLOADS)
    backends = list(BACKENDS) if args.backend == "all" else [args.backend]
    if args.backend == "cython" and "cython" not in available_backends():
        parser.error("the cython backend is not available (the extension is not built)")
    result = run(
        backends,
        workloads,
        () if args.no_peers else available_peers(),
        repeats=args.repeats or (3 if args.quick else 5),
        target_s=args.target_s or (0.1 if args.quick else 0.2),
        mnist_path=args.mnist_dir,
        mnist_epochs=1 if args.quick else 2,
        download=args.download,
        log=lambda msg: print(msg, file=sys.stderr, flush=True),
        dtype=args.dtype,
    )
    print(format_table(result))
    for name, reason in result["skipped"].items():
        print(f"nnfast bench: {name} skipped: {reason}", file=sys.stderr)
    return 2 if result["skipped"] else 0
