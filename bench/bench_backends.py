"""The project's benchmarks of the two backends: time per unit of training work, memory,
and the targets each is held to.

``python bench/bench_backends.py`` prints one markdown table: for each workload the median
time per unit on every backend, the speed ratio numpy/cython measured in the same run, and
the target it is held to. ``nnfast bench`` (``nnfast/_bench.py``) is the users' version,
without targets; the workloads, the machine description and the timing protocol are
defined there and shared. The workloads:

``W1``
    The tutorials' 2-2-1 sigmoid network, MSE, per-sample SGD on its 4 rows: time per SGD
    step of ``net.train``. This is the case where per-step Python overhead is everything.
    A second row times the backend's ``train_epochs`` alone, to separate the kernel from
    the Python bookkeeping ``train`` does per epoch.
``W2``
    scikit-learn's digits (1797 x 64, standardised), 64-64-10 ReLU / softmax, cross-entropy,
    SGD with batches of 32: time per epoch, with the default BLAS threads.
``threads``
    W2 again with 1 and with 2 BLAS threads (threadpoolctl).
``memory``
    Peak memory traced by ``tracemalloc`` during ``net.train`` on W2, 1 epoch versus 20
    epochs, against the size of the data plus the parameters.

Opt-in workloads (``--workload W3,MNIST,roofline`` or ``--workload all``):

``W3``
    MNIST-shaped synthetic data (10000 x 784, pixel-like values in [0, 1)), 784-512-512-10
    ReLU / softmax, cross-entropy, SGD lr 0.05 with batches of 256: time per epoch, default
    BLAS threads, against the epoch's GEMMs alone at NumPy speed (``time_gemm_bound``).
``MNIST``
    The real MNIST digits (``nnfast.datasets.load_mnist``), 784-128-10 ReLU / softmax, SGD with
    momentum 0.9, lr 0.05, batches of 64, 5 epochs: time per epoch and test accuracy.
``roofline``
    GFLOP/s of a 2048^3 NumPy matmul (DGEMM) with the default BLAS threads.

``bench/peers.py`` runs the same workloads on nnfast and on its peers (PyTorch, JAX, numba,
scikit-learn, hand-written NumPy and Python loops) and reuses the data, networks and GEMM
bound defined here; ``bench/ab.py`` times two builds of the kernels against each other.

Timings on a shared machine are noisy, so every number is a median of several repeats,
backends are measured alternately (so a slow spell hits both), each measurement is sized to
take about ``target_s`` seconds, and only ratios measured in the same run are compared.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tracemalloc

import numpy as np

try:
    import nnfast  # noqa: F401
except ImportError:  # run from a source checkout that is not installed
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from nnfast import _backend  # noqa: E402
from nnfast._bench import (  # noqa: E402, F401 (the shared workloads, for peers.py and ab.py)
    MNIST_BATCH,
    MNIST_EPOCHS,
    MNIST_LR,
    MNIST_MOMENTUM,
    MNIST_SIZES,
    REST_S,
    _timed,
    available_backends,
    blas_threads,
    describe_machine,
    digits_data,
    digits_network,
    have_threadpoolctl,
    machine_info,
    measure,
    mnist_network,
    rest,
    time_w1,
    time_w2,
    train_digits,
    train_mnist,
    train_tutorial,
    tutorial_data,
    tutorial_network,
)
from nnfast._bench import START_EPOCHS as _START_EPOCHS  # noqa: E402
from nnfast._bench import mnist_data as _mnist_data  # noqa: E402
from nnfast._bench import parse_workloads as _parse_workloads  # noqa: E402
from nnfast.data import one_hot  # noqa: E402
from nnfast.network import Network  # noqa: E402

BACKENDS = ("numpy", "cython")
WORKLOADS = ("W1", "W2", "threads", "memory")  # the default set
EXTRA_WORKLOADS = ("W3", "MNIST", "roofline")  # opt-in: larger, MNIST needs its files
ALL_WORKLOADS = WORKLOADS + EXTRA_WORKLOADS

# The targets: ~15 us per NumPy SGD step of W1 against ~40 ns compiled (the design's
# reason for whole epochs per kernel call), W2 at least twice as fast, memory flat.
W1_MIN_RATIO = 300.0
W1_MAX_CYTHON_NS = 50.0
W2_MIN_RATIO = 2.0
W2_NUMPY_MS = 2.3  # what the numpy backend took per epoch when the target was set
MEMORY_MAX_FACTOR = 2.0
MEMORY_MAX_GROWTH_PER_EPOCH = 1024  # bytes: the History's few floats per epoch, never a buffer

# Epochs of the first (calibration) measurement; later ones are scaled to target_s.
START_EPOCHS = {**_START_EPOCHS, "W3": {"numpy": 1, "cython": 1}}

# W3: MNIST-shaped synthetic data, a network big enough that BLAS time is everything.
W3_SIZES = (784, 512, 512, 10)
W3_ROWS = 10_000
W3_BATCH = 256
W3_LR = 0.05
W3_MAX_BOUND_RATIO = 1.05  # nnfast's epoch <= 1.05 x the epoch's GEMMs alone at NumPy speed

MNIST_MIN_ACCURACY = 0.97  # after MNIST_EPOCHS epochs

ROOFLINE_N = 2048  # DGEMM size for the GFLOP/s roofline


def mnist_dir(directory=None):
    """The folder given (``--mnist-dir``), else ``$NNFAST_MNIST_DIR``, else None: then
    ``nnfast.datasets.load_mnist`` looks where it always does (``$NNFAST_DATA``, the cache
    ``~/.cache/nnfast``, else a download into it)."""
    if directory:
        return os.path.abspath(directory)
    if os.environ.get("NNFAST_MNIST_DIR"):
        return os.path.abspath(os.environ["NNFAST_MNIST_DIR"])
    return None


def mnist_data(directory=None):
    """(X_train, labels_train, X_test, labels_test), downloaded into the cache if they are
    found nowhere; FileNotFoundError when that fails too."""
    return _mnist_data(mnist_dir(directory), download=True)


# --- the workloads ---------------------------------------------------------------------------


def w3_data(n_rows=W3_ROWS, seed=0):
    """(X, Y, source): MNIST-shaped synthetic data for W3.

    X (n_rows, 784) uniform in [0, 1) like pixel intensities; labels from a random linear
    teacher on the centred pixels, one-hot Y (n_rows, 10). Timing does not depend on the
    values; the labels only make the loss meaningful.
    """
    rng = np.random.default_rng(seed)
    X = rng.random((n_rows, W3_SIZES[0]))
    labels = np.argmax((X - 0.5) @ rng.normal(size=(W3_SIZES[0], W3_SIZES[-1])), axis=1)
    return X, one_hot(labels, W3_SIZES[-1]), f"synthetic {n_rows}x{W3_SIZES[0]}"


def w3_network(seed=0, dtype="float64"):
    """784-512-512-10: ReLU hidden layers, softmax output, cross-entropy."""
    return Network(
        list(W3_SIZES),
        activation="relu",
        output_activation="softmax",
        loss="cross_entropy",
        seed=seed,
        dtype=dtype,
    )


def train_w3(net, X, Y, epochs, seed=0):
    """W3: mini-batch SGD, batches of 256, shuffled, learning rate 0.05."""
    return net.train(
        X, Y, epochs=epochs, learning_rate=W3_LR, batch_size=W3_BATCH, shuffle=True, seed=seed
    )


def epoch_gemms(sizes, n_rows, batch_size):
    """The matrix products of one epoch of mini-batch backpropagation, as
    ``[(count, m, k, n, transpose_a, transpose_b), ...]`` for C := op(A) @ op(B), C m x n.

    Per batch of m rows and per layer l (n_in x n_out): forward ``A_l @ W_l``; backward
    ``A_l.T @ D_l`` (the weight gradient) and, except for the first layer (no gradient with
    respect to the input), ``D_l @ W_l.T``. 784-512-512-10: 3 + 5 products per batch.
    """
    full, remainder = divmod(n_rows, batch_size)
    out = []
    for count, m in ((full, batch_size), (1, remainder)):
        if count == 0 or m == 0:
            continue
        for k, n in zip(sizes[:-1], sizes[1:]):
            out.append((count, m, k, n, False, False))  # A_l @ W_l
        for l in reversed(range(len(sizes) - 1)):
            k, n = sizes[l], sizes[l + 1]
            out.append((count, k, m, n, True, False))  # A_l.T @ D_l
            if l > 0:
                out.append((count, m, n, k, False, True))  # D_l @ W_l.T
    return out


def gemm_flops(gemms):
    """Floating-point operations (2 m k n per product) of ``epoch_gemms``' list."""
    return sum(2.0 * c * m * k * n for c, m, k, n, _, _ in gemms)


class GemmBound:
    """The GEMMs of one epoch alone, timed with NumPy's matmul (its BLAS) on those shapes.

    Operands and outputs are allocated once (transposed operands are views, passed to BLAS
    with a transpose flag as backpropagation would); ``run(epochs)`` does nothing else.
    ``as_array`` and ``matmul`` time another library's BLAS on the same operands (PyTorch's:
    ``torch.from_numpy``, ``torch.matmul``); ``dtype`` float32 times SGEMM instead of DGEMM.
    """

    def __init__(
        self, sizes, n_rows, batch_size, seed=0, as_array=None, matmul=np.matmul, dtype=np.float64
    ):
        rng = np.random.default_rng(seed)
        wrap = as_array or (lambda x: x)
        self.gemms = epoch_gemms(sizes, n_rows, batch_size)
        self.flops = gemm_flops(self.gemms)
        self.matmul = matmul
        self.calls = []
        for count, m, k, n, ta, tb in self.gemms:
            a = wrap(rng.random((k, m) if ta else (m, k)).astype(dtype))
            b = wrap(rng.random((n, k) if tb else (k, n)).astype(dtype))
            self.calls.append(
                (count, a.T if ta else a, b.T if tb else b, wrap(np.empty((m, n), dtype)))
            )

    def run(self, epochs=1):
        matmul = self.matmul
        for _ in range(epochs):
            for count, a, b, c in self.calls:
                for _ in range(count):
                    matmul(a, b, out=c)


def scipy_matmul(a, b, out):
    """out := a @ b with SciPy's BLAS ``dgemm`` (``sgemm`` for float32), the library nnfast's
    kernels call (through ``scipy.linalg.cython_blas``), for ``GemmBound(...,
    matmul=scipy_matmul)``.

    Row-major ``out`` is column-major ``out.T`` = b^T a^T: each operand goes in as the
    Fortran-ordered array it already is, with a transpose flag where it is a transposed view,
    so C-contiguous operands and their transposes are not copied. ``out`` must be
    C-contiguous (BLAS writes into it).
    """
    from scipy.linalg.blas import dgemm, sgemm

    if not out.flags.c_contiguous:
        raise ValueError("out must be a C-contiguous array")

    x, tx = (b.T, 0) if b.T.flags.f_contiguous else (b, 1)
    y, ty = (a.T, 0) if a.T.flags.f_contiguous else (a, 1)
    gemm = sgemm if out.dtype == np.float32 else dgemm
    gemm(1.0, x, y, 0.0, out.T, trans_a=tx, trans_b=ty, overwrite_c=True)


def time_gemm_bound(
    epochs, sizes=W3_SIZES, n_rows=W3_ROWS, batch_size=W3_BATCH, threads=None, bound=None
):
    """(seconds, epochs) of ``epochs`` passes of W3's GEMMs alone (see ``GemmBound``)."""
    bound = bound or GemmBound(sizes, n_rows, batch_size)
    with blas_threads(threads):
        seconds, _ = _timed(lambda: bound.run(epochs))
    return seconds, epochs


def dgemm_gflops(n=ROOFLINE_N, repeats=5, threads=None, seed=0, dtype=np.float64):
    """GFLOP/s of an n x n x n NumPy matmul, one per timed repeat (after one warm-up);
    ``dtype`` float32: SGEMM's."""
    rng = np.random.default_rng(seed)
    a, b, c = (
        rng.random((n, n)).astype(dtype),
        rng.random((n, n)).astype(dtype),
        np.empty((n, n), dtype),
    )
    out = []
    with blas_threads(threads):
        np.matmul(a, b, out=c)
        for _ in range(repeats):
            seconds, _ = _timed(lambda: np.matmul(a, b, out=c))
            out.append(2.0 * n**3 / seconds / 1e9)
    return out


def time_w1_kernel(backend, epochs, seed=0):
    """(seconds, SGD steps) of the backend's ``train_epochs`` alone on W1 (no ``train``)."""
    from nnfast._spec import Hyper, OptimizerState

    X, y = tutorial_data()
    Y = y.reshape(-1, 1)
    net = tutorial_network(seed)
    kernels = _backend.kernels(backend)
    workspace = kernels.Workspace(net.spec, X.shape[0], 1)
    state = OptimizerState(net.spec.n_params)
    out = np.zeros((epochs, 2))
    rng = np.random.default_rng(seed)
    hyper = Hyper(learning_rate=0.1, dropout=(0.0,) * (net.spec.n_layers - 1))
    seconds, done = _timed(
        lambda: kernels.train_epochs(
            net.spec, net.parameters, X, Y, epochs, 1, True, state, hyper, rng, workspace, out
        )
    )
    return seconds, X.shape[0] * int(done)


def _time_training(make_network, train, backend, epochs, data, threads, seed):
    """(seconds, epochs) of one ``train`` of a fresh network on ``backend``, in X's dtype."""
    X, Y = data[0], data[1]
    net = make_network(seed, dtype=X.dtype)
    with _backend.use_backend(backend), blas_threads(threads):
        seconds, history = _timed(lambda: train(net, X, Y, epochs, seed))
    return seconds, history.epochs


def time_w3(backend, epochs, data, threads=None, seed=0):
    """(seconds, epochs) of one ``net.train`` of W3 on ``backend``, ``threads`` BLAS threads."""
    return _time_training(w3_network, train_w3, backend, epochs, data, threads, seed)


def run_mnist(backends, data, epochs=MNIST_EPOCHS, threads=None, seed=0, log=None):
    """Train MNIST for ``epochs`` on each backend, one epoch per call, backends alternating.

    Returns {backend: {"per_unit": [seconds of each epoch], "accuracy": test accuracy after
    the last epoch, "loss": [training loss of each epoch]}}.
    """
    X, labels, X_test, labels_test = data
    Y = one_hot(labels, MNIST_SIZES[-1]).astype(X.dtype)
    nets = {b: mnist_network(seed, dtype=X.dtype) for b in backends}
    out = {b: {"per_unit": [], "loss": [], "epochs": 1} for b in backends}
    for e in range(epochs):
        for b in backends:
            with _backend.use_backend(b), blas_threads(threads):
                seconds, history = _timed(lambda: train_mnist(nets[b], X, Y, 1, resume=e > 0))
            out[b]["per_unit"].append(seconds)
            out[b]["loss"].append(history.loss[-1])
            if log:
                log(f"  {b} epoch {e + 1}: {seconds:.3g} s, loss {history.loss[-1]:.4f}")
    for b in backends:
        pred = nets[b].feedforward(X_test).argmax(axis=1)
        out[b]["accuracy"] = float(np.mean(pred == labels_test))
    return out


def measure_memory(backend, data, epochs=(1, 20), seed=0):
    """Peak memory ``tracemalloc`` traces during ``net.train`` of W2, for each epoch count.

    tracemalloc sees Python objects and NumPy's array buffers (NumPy reports them to it), not
    raw ``malloc`` calls inside compiled code. Returns the peaks, the bytes of data (X and
    one-hot Y, as the kernels see them) and parameters, and the growth per epoch and per batch.
    """
    X, Y = data[0], data[1]
    peaks = {}
    for n in epochs:
        net = digits_network(seed)
        with _backend.use_backend(backend):
            gc.collect()
            tracemalloc.start()
            try:
                train_digits(net, X, Y, n, seed)
                peaks[n] = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
    lo, hi = min(epochs), max(epochs)
    batches = -(-X.shape[0] // 32)
    growth = (peaks[hi] - peaks[lo]) / (hi - lo)
    base = X.nbytes + Y.nbytes + net.parameters.nbytes
    return {
        "backend": backend,
        "peaks": {str(k): v for k, v in peaks.items()},
        "data_bytes": X.nbytes + Y.nbytes,
        "param_bytes": net.parameters.nbytes,
        "peak_over_data_params": peaks[hi] / base,
        "growth_per_epoch": growth,
        "growth_per_batch": growth / batches,
        "ok": peaks[hi] <= MEMORY_MAX_FACTOR * base and growth <= MEMORY_MAX_GROWTH_PER_EPOCH,
    }


# --- the report ------------------------------------------------------------------------------


def _summary(per_unit, scale):
    med = statistics.median(per_unit)
    mad = statistics.median(abs(t - med) for t in per_unit)
    return {
        "median": med * scale,
        "mad_pct": 100 * mad / med if med else 0.0,
        "min": min(per_unit) * scale,
        "n": len(per_unit),
    }


def _check_w1(cells, ratio):
    """Both parts of W1's target; None when neither can be judged (one backend, not cython)."""
    if "cython" in cells and cells["cython"]["median"] >= W1_MAX_CYTHON_NS:
        return False
    if ratio is None:
        return None
    return ratio >= W1_MIN_RATIO and cells["cython"]["median"] < W1_MAX_CYTHON_NS


def _timing_row(name, unit, scale, timings, target, check, note=""):
    cells = {b: _summary(t["per_unit"], scale) for b, t in timings.items()}
    ratio = (
        cells["numpy"]["median"] / cells["cython"]["median"]
        if "numpy" in cells and "cython" in cells
        else None
    )
    met = check(cells, ratio) if check else None
    return {
        "workload": name,
        "unit": unit,
        "cells": cells,
        "ratio": ratio,
        "target": target,
        "met": met,
        "note": note,
        "raw": timings,
    }


def run(
    backends=None,
    workloads=WORKLOADS,
    repeats=7,
    target_s=0.25,
    threads=(1, 2),
    log=None,
    mnist_directory=None,
    mnist_epochs=MNIST_EPOCHS,
    dtype="float64",
):
    """Run the selected workloads; returns {"machine", "settings", "rows", "memory"}.

    The opt-in workloads add "roofline" (DGEMM GFLOP/s and W3's GEMM-only bound) and
    "notes" (lines printed under the table) to the result. ``dtype`` float32 runs W2, W3
    and MNIST in float32 (networks and data; SGEMM for the bound and the roofline).
    """
    dtype = np.dtype(dtype)
    f32 = " (float32)" if dtype == np.float32 else ""
    log = log or (lambda msg: None)
    backends = [b for b in (backends or BACKENDS) if b in available_backends()]
    if not backends:
        raise RuntimeError("no backend available to benchmark")
    info = machine_info()
    rows, memory = [], []
    data = None
    if any(w in workloads for w in ("W2", "threads", "memory")):
        data = digits_data()
        data = (data[0].astype(dtype), data[1].astype(dtype), data[2])

    if "W1" in workloads:
        log("W1: tutorial 2-2-1, net.train")
        t = measure(time_w1, backends, START_EPOCHS["W1"], repeats, target_s)
        rows.append(
            _timing_row(
                "W1 tutorial 2-2-1 sigmoid, MSE, SGD batch 1 (net.train)",
                "ns/step",
                1e9,
                t,
                f">= {W1_MIN_RATIO:.0f}x and cython < {W1_MAX_CYTHON_NS:.0f} ns/step",
                _check_w1,
            )
        )
        log("W1: tutorial 2-2-1, train_epochs alone")
        try:
            t = measure(time_w1_kernel, backends, START_EPOCHS["W1"], repeats, target_s)
        except Exception as exc:  # the kernels' private signature may move under us
            log(f"  skipped: {type(exc).__name__}: {exc}")
        else:
            rows.append(
                _timing_row(
                    "W1 same, backend train_epochs alone (diagnostic)",
                    "ns/step",
                    1e9,
                    t,
                    "- (train minus its per-epoch Python bookkeeping)",
                    None,
                )
            )

    w2_settings = []
    if "W2" in workloads:
        w2_settings.append(None)
    if "threads" in workloads:
        w2_settings += list(threads) if have_threadpoolctl() else [None]
        if not have_threadpoolctl() and "W2" in workloads:
            w2_settings.pop()  # same as the W2 row: default threads
    for n in w2_settings:
        label = "default threads" if n is None else f"{n} BLAS thread{'s' if n > 1 else ''}"
        log(f"W2: digits 64-64-10, {label}")
        t = measure(
            lambda b, e: time_w2(b, e, data, n),
            backends,
            START_EPOCHS["W2"],
            repeats,
            target_s,
            threads=n,
        )
        rows.append(
            _timing_row(
                f"W2{f32} {data[2]}, 64-64-10 relu/softmax, SGD batch 32, {label}",
                "ms/epoch",
                1e3,
                t,
                f">= {W2_MIN_RATIO:.0f}x (numpy ~{W2_NUMPY_MS} ms/epoch)",
                lambda c, r: None if r is None else r >= W2_MIN_RATIO,
            )
        )

    if "memory" in workloads:
        for b in backends:
            log(f"memory: W2 net.train under tracemalloc, {b}")
            memory.append(measure_memory(b, data))

    roofline, notes = {}, []
    if "roofline" in workloads:
        log(f"roofline: {ROOFLINE_N}^3 numpy matmul")
        roofline["dgemm_gflops"] = dgemm_gflops(repeats=max(3, min(repeats, 5)), dtype=dtype)
        gemm = "SGEMM" if f32 else "DGEMM"
        notes.append(
            f"Roofline: a {ROOFLINE_N}^3 NumPy matmul ({gemm}) runs at "
            f"{statistics.median(roofline['dgemm_gflops']):.1f} GFLOP/s with the "
            "default BLAS threads (median)."
        )
    if "W3" in workloads:
        log("W3: synthetic 10000x784, 784-512-512-10, and its GEMM-only bound")
        w3 = w3_data()
        w3 = (w3[0].astype(dtype), w3[1].astype(dtype), w3[2])
        bound = GemmBound(W3_SIZES, W3_ROWS, W3_BATCH, dtype=dtype)
        names = list(backends) + ["gemm bound"]

        def one(name, epochs):
            if name == "gemm bound":
                return time_gemm_bound(epochs, bound=bound)
            return time_w3(name, epochs, w3)

        t = measure(
            one,
            names,
            dict(START_EPOCHS["W3"], **{"gemm bound": 1}),
            repeats,
            target_s,
            threads=None,
        )
        bound_s = statistics.median(t["gemm bound"]["per_unit"])
        roofline["w3_bound_s"] = bound_s
        roofline["w3_bound_gflops"] = bound.flops / bound_s / 1e9

        def check_w3(cells, ratio):
            if "cython" not in cells:
                return None
            return cells["cython"]["median"] / (bound_s * 1e3) <= W3_MAX_BOUND_RATIO

        target = f"cython <= {W3_MAX_BOUND_RATIO}x the GEMM-only bound ({bound_s * 1e3:.0f} ms)"
        if "cython" in t:
            target += f": {statistics.median(t['cython']['per_unit']) / bound_s:.2f}x"
        rows.append(
            _timing_row(
                f"W3{f32} {w3[2]}, 784-512-512-10 relu/softmax, SGD batch 256, default threads",
                "ms/epoch",
                1e3,
                t,
                target,
                check_w3,
            )
        )
        notes.append(
            f"W3 GEMM-only bound: the epoch's matrix products alone (3 forward + "
            f"5 backward per batch of {W3_BATCH}, {bound.flops / 1e9:.1f} GFLOP) take "
            f"{bound_s * 1e3:.0f} ms with NumPy's matmul "
            f"({roofline['w3_bound_gflops']:.0f} GFLOP/s)."
        )
    if "MNIST" in workloads:
        log("MNIST: 784-128-10, SGD momentum 0.9, batch 64")
        try:
            mnist = mnist_data(mnist_directory)
            mnist = (mnist[0].astype(dtype), mnist[1], mnist[2].astype(dtype), mnist[3])
        except FileNotFoundError as exc:
            notes.append(f"MNIST skipped: {exc}.")
        else:
            t = run_mnist(backends, mnist, epochs=mnist_epochs, log=log)
            acc = {b: t[b]["accuracy"] for b in backends}
            met = None
            if mnist_epochs >= MNIST_EPOCHS:
                met = all(a > MNIST_MIN_ACCURACY for a in acc.values())
            rows.append(
                _timing_row(
                    f"MNIST{f32} 60000x784, 784-128-10 relu/softmax, SGD momentum "
                    f"{MNIST_MOMENTUM} "
                    f"lr {MNIST_LR}, batch {MNIST_BATCH}, default threads",
                    "ms/epoch",
                    1e3,
                    t,
                    f"test accuracy > {MNIST_MIN_ACCURACY:.0%} after {MNIST_EPOCHS} epochs: "
                    + ", ".join(f"{b} {a:.2%}" for b, a in acc.items())
                    + (f" (after {mnist_epochs})" if mnist_epochs != MNIST_EPOCHS else ""),
                    lambda c, r: met,
                )
            )

    if hasattr(os, "getloadavg"):
        info["load_average_end"] = list(os.getloadavg())
    settings = {
        "backends": backends,
        "workloads": list(workloads),
        "repeats": repeats,
        "dtype": dtype.name,
        "target_s": target_s,
        "threads": list(threads),
        "threadpoolctl": have_threadpoolctl(),
        "w2_data": data[2] if data else None,
    }
    return {
        "machine": info,
        "settings": settings,
        "rows": rows,
        "memory": memory,
        "roofline": roofline,
        "notes": notes,
    }


def _fmt(x):
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def format_table(result):
    """The markdown table (with the machine line above it and notes below)."""
    backends = result["settings"]["backends"]
    head = ["Workload", "Unit"] + backends + ["numpy/cython", "Target", "Met"]
    lines = [
        describe_machine(result["machine"]),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for row in result["rows"]:
        cells = [
            f"{_fmt(row['cells'][b]['median'])} ±{row['cells'][b]['mad_pct']:.0f}%"
            for b in backends
        ]
        ratio = f"{row['ratio']:.1f}x" if row["ratio"] is not None else "-"
        met = "-" if row["met"] is None else ("yes" if row["met"] else "NO")
        lines.append(
            "| "
            + " | ".join([row["workload"], row["unit"], *cells, ratio, row["target"], met])
            + " |"
        )
    if result["memory"]:
        by = {m["backend"]: m for m in result["memory"]}
        m0 = result["memory"][0]
        base = (m0["data_bytes"] + m0["param_bytes"]) / 1024
        cells = []
        for b in backends:
            m = by.get(b)
            if m is None:
                cells.append("-")
                continue
            p = {int(k): v / 1024 for k, v in m["peaks"].items()}
            lo, hi = min(p), max(p)
            cells.append(
                f"{p[lo]:.0f} → {p[hi]:.0f} ({m['peak_over_data_params']:.2f}x, "
                f"{m['growth_per_epoch']:+.0f} B/epoch)"
            )
        met = by["cython"]["ok"] if "cython" in by else None
        lines.append(
            "| "
            + " | ".join(
                [
                    "Memory: W2 net.train peak traced by tracemalloc, 1 → 20 epochs",
                    "KiB",
                    *cells,
                    "-",
                    f"peak <= {MEMORY_MAX_FACTOR:.0f}x data+params ({base:.0f} KiB), "
                    "no growth with epochs (cython)",
                    "-" if met is None else ("yes" if met else "NO"),
                ]
            )
            + " |"
        )
    s = result["settings"]
    lines += [
        "",
        f"Times: median of {s['repeats']} runs (± median absolute deviation), each "
        f"~{s['target_s']} s, backends alternating (on more than one BLAS thread, each "
        f"after {REST_S} s of rest); ratio = median numpy / median cython "
        "from this run. W1 per step = train time / (4 x epochs); W2 per epoch = train "
        "time / epochs.",
    ]
    if not s["threadpoolctl"] and "threads" in s["workloads"]:
        lines.append("threadpoolctl is not installed: W2 ran with the default BLAS threads only.")
    if result["memory"]:
        lines.append(
            "Memory: tracemalloc sees Python objects and NumPy buffers, not raw malloc "
            "in compiled code; B/epoch is (peak at 20 - peak at 1) / 19, the History's "
            "per-epoch floats included."
        )
    lines += result.get("notes", [])
    return "\n".join(lines)


def _to_json(obj):
    if isinstance(obj, dict):
        return {str(k): _to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_json(v) for v in obj]
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    return obj


def main(argv=None):
    """Command line: run the benchmarks, print the table, optionally write raw numbers."""
    parser = argparse.ArgumentParser(
        prog="bench_backends.py",
        description="Time nnfast's backends on the reference workloads, against their targets.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="3 repeats of ~0.1 s each instead of 7 of ~0.25 s"
    )
    parser.add_argument(
        "--backend", default="all", help="numpy, cython or all (default: all available)"
    )
    parser.add_argument(
        "--workload",
        default=",".join(WORKLOADS),
        help=f"comma-separated subset of {','.join(ALL_WORKLOADS)}, or all "
        f"(default: {','.join(WORKLOADS)})",
    )
    parser.add_argument(
        "--mnist-dir",
        help="folder of the MNIST idx files (default: "
        "$NNFAST_MNIST_DIR, else where nnfast.datasets.load_mnist looks: "
        "$NNFAST_DATA, the cache ~/.cache/nnfast, else a download)",
    )
    parser.add_argument("--repeats", type=int, help="timed runs per backend and workload")
    parser.add_argument(
        "--target-time", type=float, dest="target_s", help="seconds each timed run should take"
    )
    parser.add_argument(
        "--threads",
        default="1,2",
        help="BLAS thread counts for the threads workload (default: 1,2)",
    )
    parser.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        default="float64",
        help="precision of W2, W3 and MNIST (float32: the float32 kernels, "
        "SGEMM for the bound and the roofline; default float64)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the raw numbers as JSON")
    args = parser.parse_args(argv)

    if args.backend == "all":
        backends = list(BACKENDS)
    elif args.backend in BACKENDS:
        backends = [args.backend]
    else:
        parser.error(f"--backend must be numpy, cython or all, got {args.backend!r}")
    if args.backend == "cython" and "cython" not in available_backends():
        parser.error("the cython backend is not available (the extension is not built)")
    workloads = _parse_workloads(parser, args.workload, ALL_WORKLOADS)
    threads = tuple(int(t) for t in args.threads.split(",") if t.strip())
    repeats = args.repeats or (3 if args.quick else 7)
    target_s = args.target_s or (0.1 if args.quick else 0.25)

    result = run(
        backends,
        workloads,
        repeats,
        target_s,
        threads,
        log=lambda msg: print(msg, file=sys.stderr, flush=True),
        mnist_directory=args.mnist_dir,
        mnist_epochs=1 if args.quick else MNIST_EPOCHS,
        dtype=args.dtype,
    )
    print(format_table(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(_to_json(result), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
