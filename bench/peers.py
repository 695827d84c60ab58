"""nnfast against its peers: the same training, timed in one run, as one markdown table.

    python bench/peers.py                              # everything, 1 and 2 threads
    python bench/peers.py --quick                      # smoke run: small epochs, 3 repeats
    python bench/peers.py --threads 2 --workloads W3,roofline
    python bench/peers.py --peers nnfast,numba,jax --json peers.json

Implementations (columns; each is skipped with a note when its package is missing):

- ``nnfast`` (the compiled ``cython`` backend) and ``nnfast-numpy`` (the reference backend),
  trained through ``Network.train``;
- ``numba``: hand-written ``@njit`` loops (a scalar loop for W1; mini-batches with ``@`` on
  BLAS for the others), ``numpy``: the same algorithm as a plain NumPy loop, ``python``: a
  tight pure-Python scalar loop (W1 only);
- ``jax``: float64 (``jax_enable_x64``; float32 arrays in the -f32 rows), ``jax.grad``; W1's
  whole loop is one jitted ``lax.scan``, the others a jitted epoch (``lax.scan`` over the
  batches);
- ``torch``: PyTorch eager, float64 (float32 in the -f32 rows) ``nn.Sequential`` and
  ``torch.optim.SGD``;
- ``sklearn``: ``MLPClassifier(solver="sgd", momentum=0 (0.9 for MNIST),
  nesterovs_momentum=False, alpha=0)``, one ``partial_fit`` per epoch.

Workloads (``--workloads``; default all):

``W1``     the tutorial network 2-2-1 sigmoid / MSE, per-sample SGD (lr 0.1) on its 4 rows,
           shuffled each epoch: time per SGD step.
``W2``     scikit-learn digits (1797 x 64, standardised), 64-64-10 ReLU / softmax /
           cross-entropy, SGD lr 0.05, batch 32, shuffled: time per epoch.
``W3``     MNIST-shaped synthetic data 10000 x 784, 784-512-512-10 ReLU / softmax, SGD lr
           0.05, batch 256: time per epoch, and the same epoch's GEMMs alone at NumPy speed
           (the "GEMM-only bound": 3 forward + 5 backward products per batch); with PyTorch
           installed, those GEMMs also with ``torch.matmul`` (PyTorch's BLAS: MKL in its
           CPU wheel), PyTorch's own floor.
``MNIST``  the real MNIST files (``--mnist-dir``, else ``$NNFAST_MNIST_DIR``, else where
           ``nnfast.datasets.load_mnist`` finds them: ``$NNFAST_DATA``, its cache),
           784-128-10, SGD momentum 0.9, lr 0.05, batch 64, 5 epochs: time per epoch and
           test accuracy.
``roofline`` GFLOP/s of a 2048^3 NumPy matmul, DGEMM and SGEMM.
``W2-f32``, ``W3-f32``, ``MNIST-f32``
           the same in float32: nnfast's ``Network(dtype="float32")`` (the float32 kernels,
           BLAS sgemm) against the peers in float32 (numba, JAX and the NumPy loop on float32
           arrays, PyTorch ``float32`` modules), from the float64 initial weights rounded;
           W3-f32 and MNIST-f32 beside their SGEMM-only bound (the same products in float32).
           MNIST and MNIST-f32 time their GEMM-only bound too. With W3 and W3-f32 both run,
           the memory row compares their peaks.

Every implementation starts from nnfast's initial weights (the same ``seed=0`` network,
copied), uses the same hyperparameters and the same batches (the last, short batch
included), and reports the same epoch loss (the mean of each batch's loss before its update).
A sanity check trains one epoch without shuffling from those weights and compares every
implementation's loss and weights with nnfast's (they agree to ~1e-15; the check requires
1e-6).

Threads: each thread count runs in its own subprocess, whose environment sets
OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS and, for one thread, XLA_FLAGS (read at JAX's import);
inside it threadpoolctl limits every BLAS/OpenMP pool (NumPy's, SciPy's -- which nnfast's
kernels and numba call -- and PyTorch's OpenMP) and ``torch.set_num_threads`` sets PyTorch's.
XLA ignores the thread flags (jaxlib 0.10 sizes its pool from the CPUs the process may use),
so a worker with fewer threads than CPUs is also pinned to that many CPUs.
Within a workload the implementations are timed in turn, repeat after repeat (the order
rotating), so a busy spell on a shared machine slows all of them; ratios come from one run.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib.util
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(REPO, "nnfast")
if (
    os.path.isdir(SOURCE)
    and any(name.startswith("_kernels.") for name in os.listdir(SOURCE))
    and REPO not in sys.path
):
    sys.path.insert(0, REPO)  # a source checkout built in place: time those kernels

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench_backends, beside
import bench_backends as nb  # noqa: E402

from nnfast import use_backend  # noqa: E402
from nnfast.optimizers import SGD  # noqa: E402

WORKLOADS = ("W1", "W2", "W3", "MNIST", "W2-f32", "W3-f32", "MNIST-f32", "roofline")
FLOAT32 = {"W2-f32": "W2", "W3-f32": "W3", "MNIST-f32": "MNIST"}  # float32 row -> its workload
W32_MAX_BOUND_RATIO = 1.10  # issue 20: W3 and MNIST in float32 within 1.10x their SGEMM bound
MEMORY_MAX_RATIO = 0.55  # issue 20: a float32 run's peak at most 0.55x the float64 run's
PEERS = ("nnfast", "nnfast-numpy", "numba", "jax", "numpy", "torch", "sklearn", "python")
LABELS = {
    "nnfast": "nnfast cython",
    "nnfast-numpy": "nnfast numpy backend",
    "numba": "numba @njit",
    "jax": "JAX jit",
    "numpy": "NumPy loop",
    "torch": "PyTorch eager",
    "sklearn": "scikit-learn",
    "python": "pure Python",
    "bound": "GEMM-only bound",
}
PACKAGES = {"numba": "numba", "jax": "jax", "torch": "torch", "sklearn": "sklearn"}
INSTALL = {
    "numba": "pip install numba",
    "jax": "pip install jax jaxlib",
    "torch": "pip install torch==2.13.0",
    "sklearn": "pip install scikit-learn",
}
# Which implementations run which workload (W3's nnfast-numpy only on --quick-sized epochs).
RUNS = {
    "W1": ("nnfast", "nnfast-numpy", "numba", "jax", "numpy", "torch", "python"),
    "W2": ("nnfast", "nnfast-numpy", "numba", "jax", "numpy", "torch", "sklearn"),
    "W3": ("nnfast", "nnfast-numpy", "numba", "jax", "numpy", "torch", "sklearn"),
    "MNIST": ("nnfast", "nnfast-numpy", "numba", "jax", "numpy", "torch", "sklearn"),
}
for _w in FLOAT32:  # float32: the peers that run in float32 as practitioners run them
    RUNS[_w] = ("nnfast", "numba", "jax", "numpy", "torch")
NOT_RUN = {
    ("W1", "sklearn"): "no sigmoid-output MSE network in scikit-learn",
    ("W2", "python"): "W1 only",
    ("W3", "python"): "W1 only",
    ("MNIST", "python"): "W1 only",
}

# The issue's numbers (float64 medians measured earlier on this machine): the ones to beat.
ISSUE = {
    ("W1", 1): {"numba": 44e-9, "jax": 67e-9, "python": 0.54e-6, "numpy": 16e-6, "torch": 100e-6},
    ("W2", 1): {
        "numba": 1.18e-3,
        "jax": 1.5e-3,
        "numpy": 2.3e-3,
        "torch": 5.7e-3,
        "sklearn": 8.6e-3,
    },
    ("W2", 2): {
        "numba": 1.6e-3,
        "jax": 1.9e-3,
        "numpy": 3.1e-3,
        "torch": 9.3e-3,
        "sklearn": 10.7e-3,
    },
    ("W3", 2): {"torch": 0.27, "numpy": 0.37, "jax": 0.37, "sklearn": 0.47, "bound": 0.25},
}
ISSUE[("W1", 2)] = ISSUE[("W1", 1)]
ISSUE_DGEMM = {1: 83.0, 2: 160.0}
SANITY_TOL = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-4}  # float32: its rounding


# --- the workloads ----------------------------------------------------------------------------


def in_dtype(factory, dtype):
    """The network factory for ``dtype``: the same network and seed in that precision (its
    initial weights are the float64 ones, rounded)."""
    from nnfast import Network

    if np.dtype(dtype) == np.float64:
        return factory

    def make(seed=0):
        net = factory(seed)
        return Network(
            net.layer_sizes,
            activation=list(net.activations),
            output_activation=net.output_activation,
            loss=net.loss_function.name,
            init=net.init,
            seed=seed,
            dtype=dtype,
        )

    return make


class Problem:
    """One workload: data, network shape, hyperparameters and nnfast's initial weights, all
    in ``dtype`` (the data converted once, before any timing)."""

    def __init__(
        self,
        name,
        X,
        Y,
        labels,
        sizes,
        hidden,
        output,
        loss,
        batch,
        lr,
        network,
        momentum=0.0,
        X_test=None,
        labels_test=None,
        source="",
        dtype=np.float64,
    ):
        self.dtype = np.dtype(dtype)
        X, Y = np.ascontiguousarray(X, self.dtype), np.ascontiguousarray(Y, self.dtype)
        if X_test is not None:
            X_test = np.ascontiguousarray(X_test, self.dtype)
        self.name, self.X, self.Y, self.labels = name, X, Y, labels
        self.sizes, self.hidden, self.output, self.loss = tuple(sizes), hidden, output, loss
        self.batch, self.lr, self.momentum = batch, lr, momentum
        self.X_test, self.labels_test, self.source = X_test, labels_test, source
        self.network = in_dtype(network, self.dtype)  # seed -> a fresh nnfast Network
        net = self.network(0)
        self.init_flat = net.parameters.copy()
        self.init = [(W.copy(), b.copy()) for W, b in zip(net.weights, net.biases)]
        self.n = X.shape[0]
        self.steps_per_epoch = -(-self.n // batch)

    def subset(self, rows):
        """The same problem on the first ``rows`` rows (same initial weights)."""
        return Problem(
            self.name,
            self.X[:rows],
            self.Y[:rows],
            None if self.labels is None else self.labels[:rows],
            self.sizes,
            self.hidden,
            self.output,
            self.loss,
            self.batch,
            self.lr,
            self.network,
            self.momentum,
            self.X_test,
            self.labels_test,
            f"first {rows} rows",
            self.dtype,
        )


def problem_w1():
    X, y = nb.tutorial_data()
    return Problem(
        "W1",
        X,
        y.reshape(-1, 1),
        None,
        (2, 2, 1),
        "sigmoid",
        "sigmoid",
        "mse",
        1,
        0.1,
        nb.tutorial_network,
        source="tutorial 4 rows",
    )


def problem_w2(dtype=np.float64):
    X, Y, source = nb.digits_data()
    return Problem(
        "W2",
        X,
        Y,
        Y.argmax(axis=1).astype(np.intp),
        (64, 64, 10),
        "relu",
        "softmax",
        "cross_entropy",
        32,
        0.05,
        nb.digits_network,
        source=source,
        dtype=dtype,
    )


def problem_w3(rows=nb.W3_ROWS, dtype=np.float64):
    X, Y, source = nb.w3_data(rows)
    return Problem(
        "W3",
        X,
        Y,
        Y.argmax(axis=1).astype(np.intp),
        nb.W3_SIZES,
        "relu",
        "softmax",
        "cross_entropy",
        nb.W3_BATCH,
        nb.W3_LR,
        nb.w3_network,
        source=source,
        dtype=dtype,
    )


def problem_mnist(directory=None, rows=None, dtype=np.float64):
    X, labels, X_test, labels_test = nb.mnist_data(directory)
    if rows:
        X, labels = X[:rows], labels[:rows]
    return Problem(
        "MNIST",
        X,
        nb.one_hot(labels, 10),
        labels,
        nb.MNIST_SIZES,
        "relu",
        "softmax",
        "cross_entropy",
        nb.MNIST_BATCH,
        nb.MNIST_LR,
        nb.mnist_network,
        momentum=nb.MNIST_MOMENTUM,
        X_test=X_test,
        labels_test=labels_test,
        source=f"MNIST {X.shape[0]}x784",
        dtype=dtype,
    )


# --- the implementations ----------------------------------------------------------------------
# Each trains from the problem's initial weights: reset(shuffle, seed) puts them back (untimed),
# epochs(n) trains n epochs from the current state and returns the last epoch's mean loss
# (each batch's loss before its update, as nnfast's History.loss), params() gives the weights
# as [(W (n_in x n_out), b)], predict(X) class labels. prepare(n) does any compilation a run
# of n epochs needs, so it is not timed.


class Trainer:
    key = ""
    start_epochs = 1

    def __init__(self, problem):
        self.p = problem
        self.shuffle = True

    def prepare(self, n_epochs):
        pass

    def reset(self, shuffle=True, seed=0):
        raise NotImplementedError

    def epochs(self, n):
        raise NotImplementedError

    def params(self):
        raise NotImplementedError

    def predict(self, X):
        raise NotImplementedError


class NnfastTrainer(Trainer):
    """``Network.train`` on one backend; successive calls continue (``resume=True``)."""

    def __init__(self, problem, backend="cython"):
        super().__init__(problem)
        self.backend = backend
        self.key = "nnfast" if backend == "cython" else "nnfast-numpy"
        self.start_epochs = {"W1": 20_000 if backend == "cython" else 50}.get(problem.name, 1)
        self.optimizer = SGD(momentum=problem.momentum) if problem.momentum else "sgd"
        self.reset()

    def reset(self, shuffle=True, seed=0):
        self.net = self.p.network(seed)  # its generator draws the shuffles
        self.net.parameters[:] = self.p.init_flat
        self.shuffle, self.started = shuffle, False

    def epochs(self, n):
        with use_backend(self.backend):
            history = self.net.train(
                self.p.X,
                self.p.Y,
                epochs=n,
                learning_rate=self.p.lr,
                batch_size=self.p.batch,
                shuffle=self.shuffle,
                optimizer=self.optimizer,
                resume=self.started,
            )
        self.started = True
        return history.loss[-1]

    def params(self):
        return [(W.copy(), b.copy()) for W, b in zip(self.net.weights, self.net.biases)]

    def predict(self, X):
        with use_backend(self.backend):
            return self.net.feedforward(X).argmax(axis=1)


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class NumpyTrainer(Trainer):
    """A hand-written NumPy loop: per batch, forward, softmax/sigmoid loss, backward, update."""

    key = "numpy"

    def __init__(self, problem):
        super().__init__(problem)
        self.start_epochs = 50 if problem.name == "W1" else 1
        self.reset()

    def reset(self, shuffle=True, seed=0):
        self.W = [W.copy() for W, _ in self.p.init]
        self.b = [b.copy() for _, b in self.p.init]
        self.vW = [np.zeros_like(W) for W in self.W]
        self.vb = [np.zeros_like(b) for b in self.b]
        self.rng = np.random.default_rng(seed)
        self.shuffle = shuffle

    def _forward(self, x):
        acts = [x]
        for W, b in zip(self.W[:-1], self.b[:-1]):
            z = acts[-1] @ W + b
            acts.append(np.maximum(z, 0.0) if self.p.hidden == "relu" else _sigmoid(z))
        return acts, acts[-1] @ self.W[-1] + self.b[-1]

    def epochs(self, n_epochs):
        p = self.p
        X, Y, labels, bs, lr, mu, n = p.X, p.Y, p.labels, p.batch, p.lr, p.momentum, p.n
        ce = p.loss == "cross_entropy"
        for _ in range(n_epochs):
            order = self.rng.permutation(n) if self.shuffle else np.arange(n)
            total = 0.0
            for start in range(0, n, bs):
                idx = order[start : start + bs]
                m = idx.size
                acts, z = self._forward(X[idx])
                if ce:  # softmax + cross-entropy from the logits
                    y = labels[idx]
                    z = z - z.max(axis=1, keepdims=True)
                    e = np.exp(z)
                    s = e.sum(axis=1, keepdims=True)
                    total += float(np.sum(np.log(s[:, 0]) - z[np.arange(m), y]))
                    delta = e / s
                    delta[np.arange(m), y] -= 1.0
                    delta /= m
                else:  # sigmoid output, mean squared error over every element
                    o = _sigmoid(z)
                    t = Y[idx]
                    total += float(np.sum((o - t) ** 2)) / t.shape[1]
                    delta = 2.0 * (o - t) * o * (1.0 - o) / o.size
                for l in range(len(self.W) - 1, -1, -1):
                    gW = acts[l].T @ delta
                    gb = delta.sum(axis=0)
                    if l > 0:  # with W_l before its update
                        a = acts[l]
                        d = (a > 0) if p.hidden == "relu" else a * (1.0 - a)
                        delta = (delta @ self.W[l].T) * d
                    if mu:
                        self.vW[l] *= mu
                        self.vW[l] += gW
                        self.vb[l] *= mu
                        self.vb[l] += gb
                        gW, gb = self.vW[l], self.vb[l]
                    self.W[l] -= lr * gW
                    self.b[l] -= lr * gb
            last = total / n
        return last

    def params(self):
        return [(W.copy(), b.copy()) for W, b in zip(self.W, self.b)]

    def predict(self, X):
        return self._forward(X)[1].argmax(axis=1)


def _w1_unpack(flat):
    """nnfast's flat 2-2-1 layout: W0 (2x2, C order), W1 (2x1), then b0 (2), b1 (1)."""
    return [float(v) for v in flat]


def _w1_pack(values):
    flat = np.asarray(values, dtype=np.float64)
    return [
        (flat[0:4].reshape(2, 2).copy(), flat[6:8].copy()),
        (flat[4:6].reshape(2, 1).copy(), flat[8:9].copy()),
    ]


def w1_python_epochs(p, rows, targets, n_epochs, lr, shuffle, order, rnd):
    """The tutorial network, per-sample SGD, as a tight scalar loop (p: the 9 parameters)."""
    w00, w01, w10, w11, v0, v1, c0, c1, d = p
    exp = math.exp
    n = len(rows)
    last = 0.0
    for _ in range(n_epochs):
        if shuffle:  # Fisher-Yates
            for i in range(n - 1, 0, -1):
                j = int(rnd() * (i + 1))
                order[i], order[j] = order[j], order[i]
        total = 0.0
        for k in order:
            x0, x1 = rows[k]
            t = targets[k]
            h0 = 1.0 / (1.0 + exp(-(x0 * w00 + x1 * w10 + c0)))
            h1 = 1.0 / (1.0 + exp(-(x0 * w01 + x1 * w11 + c1)))
            o = 1.0 / (1.0 + exp(-(h0 * v0 + h1 * v1 + d)))
            total += (o - t) * (o - t)
            g = 2.0 * (o - t) * o * (1.0 - o)
            g0 = g * v0 * h0 * (1.0 - h0)
            g1 = g * v1 * h1 * (1.0 - h1)
            v0 -= lr * g * h0
            v1 -= lr * g * h1
            d -= lr * g
            w00 -= lr * g0 * x0
            w10 -= lr * g0 * x1
            c0 -= lr * g0
            w01 -= lr * g1 * x0
            w11 -= lr * g1 * x1
            c1 -= lr * g1
        last = total / n
    p[:] = [w00, w01, w10, w11, v0, v1, c0, c1, d]
    return last


class PythonTrainer(Trainer):
    key = "python"
    start_epochs = 5000

    def __init__(self, problem):
        super().__init__(problem)
        self.rows = [tuple(map(float, r)) for r in problem.X]
        self.targets = [float(t) for t in problem.Y[:, 0]]
        self.reset()

    def reset(self, shuffle=True, seed=0):
        self.p_ = _w1_unpack(self.p.init_flat)
        self.order = list(range(len(self.rows)))
        self.rnd = random.Random(seed).random
        self.shuffle = shuffle

    def epochs(self, n):
        return w1_python_epochs(
            self.p_, self.rows, self.targets, n, self.p.lr, self.shuffle, self.order, self.rnd
        )

    def params(self):
        return _w1_pack(self.p_)


_NUMBA = {}


def _numba_kernels():
    """The numba loops, compiled on first use (importing numba is slow)."""
    if _NUMBA:
        return _NUMBA
    import numba

    @numba.njit(cache=False)
    def seed(s):
        np.random.seed(s)

    @numba.njit(cache=False)
    def w1_epochs(p, X, y, n_epochs, lr, shuffle, order):
        w00, w01, w10, w11, v0, v1, c0, c1, d = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8]
        n = X.shape[0]
        last = 0.0
        for _ in range(n_epochs):
            if shuffle:
                for i in range(n - 1, 0, -1):
                    j = np.random.randint(0, i + 1)
                    tmp = order[i]
                    order[i] = order[j]
                    order[j] = tmp
            total = 0.0
            for r in range(n):
                k = order[r]
                x0 = X[k, 0]
                x1 = X[k, 1]
                t = y[k]
                h0 = 1.0 / (1.0 + np.exp(-(x0 * w00 + x1 * w10 + c0)))
                h1 = 1.0 / (1.0 + np.exp(-(x0 * w01 + x1 * w11 + c1)))
                o = 1.0 / (1.0 + np.exp(-(h0 * v0 + h1 * v1 + d)))
                total += (o - t) * (o - t)
                g = 2.0 * (o - t) * o * (1.0 - o)
                g0 = g * v0 * h0 * (1.0 - h0)
                g1 = g * v1 * h1 * (1.0 - h1)
                v0 -= lr * g * h0
                v1 -= lr * g * h1
                d -= lr * g
                w00 -= lr * g0 * x0
                w10 -= lr * g0 * x1
                c0 -= lr * g0
                w01 -= lr * g1 * x0
                w11 -= lr * g1 * x1
                c1 -= lr * g1
            last = total / n
        p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8] = w00, w01, w10, w11, v0, v1, c0, c1, d
        return last

    @numba.njit(cache=False)
    def mlp_epochs(params, vel, grad, sizes, X, labels, n_epochs, bs, lr, mu, shuffle, order):
        """ReLU hidden layers, softmax + cross-entropy; params/grad/vel in nnfast's layout."""
        L = sizes.shape[0] - 1
        w_off = np.zeros(L + 1, np.int64)
        b_off = np.zeros(L + 1, np.int64)
        for l in range(L):
            w_off[l + 1] = w_off[l] + sizes[l] * sizes[l + 1]
        b_off[0] = w_off[L]
        for l in range(L):
            b_off[l + 1] = b_off[l] + sizes[l + 1]
        n = X.shape[0]
        last = 0.0
        for _ in range(n_epochs):
            if shuffle:
                np.random.shuffle(order)
            total = 0.0
            for start in range(0, n, bs):
                m = min(bs, n - start)
                idx = order[start : start + m]
                a = X[idx]
                acts = [a]
                for l in range(L):
                    W = params[w_off[l] : w_off[l + 1]].reshape((sizes[l], sizes[l + 1]))
                    b = params[b_off[l] : b_off[l + 1]]
                    z = a @ W
                    for i in range(m):
                        for j in range(sizes[l + 1]):
                            v = z[i, j] + b[j]
                            z[i, j] = v if (l == L - 1 or v > 0.0) else 0.0
                    if l < L - 1:
                        acts.append(z)
                    a = z
                k = sizes[L]
                for i in range(m):  # softmax + cross-entropy: delta = (p - y) / m
                    mx = a[i, 0]
                    for j in range(1, k):
                        mx = max(mx, a[i, j])
                    s = 0.0
                    for j in range(k):
                        s += np.exp(a[i, j] - mx)
                    lse = mx + np.log(s)
                    y = labels[idx[i]]
                    total += lse - a[i, y]
                    for j in range(k):
                        a[i, j] = np.exp(a[i, j] - lse) / m
                    a[i, y] -= 1.0 / m
                delta = a
                for l in range(L - 1, -1, -1):
                    A = acts[l]
                    gW = grad[w_off[l] : w_off[l + 1]].reshape((sizes[l], sizes[l + 1]))
                    gW[:, :] = A.T @ delta
                    for j in range(sizes[l + 1]):
                        s = 0.0
                        for i in range(m):
                            s += delta[i, j]
                        grad[b_off[l] + j] = s
                    if l > 0:
                        W = params[w_off[l] : w_off[l + 1]].reshape((sizes[l], sizes[l + 1]))
                        d = delta @ W.T
                        for i in range(m):
                            for j in range(sizes[l]):
                                if A[i, j] <= 0.0:
                                    d[i, j] = 0.0
                        delta = d
                if mu != 0.0:
                    for i in range(params.shape[0]):
                        vel[i] = mu * vel[i] + grad[i]
                        params[i] -= lr * vel[i]
                else:
                    for i in range(params.shape[0]):
                        params[i] -= lr * grad[i]
            last = total / n
        return last

    @numba.njit(cache=False)
    def mlp_predict(params, sizes, X):
        L = sizes.shape[0] - 1
        a = X.copy()
        w_at = 0
        b_at = 0
        for l in range(L):
            b_at += sizes[l] * sizes[l + 1]
        for l in range(L):
            W = params[w_at : w_at + sizes[l] * sizes[l + 1]].reshape((sizes[l], sizes[l + 1]))
            z = a @ W
            for i in range(z.shape[0]):
                for j in range(sizes[l + 1]):
                    v = z[i, j] + params[b_at + j]
                    z[i, j] = v if (l == L - 1 or v > 0.0) else 0.0
            w_at += sizes[l] * sizes[l + 1]
            b_at += sizes[l + 1]
            a = z
        out = np.empty(a.shape[0], np.int64)
        for i in range(a.shape[0]):
            out[i] = np.argmax(a[i])
        return out

    _NUMBA.update(seed=seed, w1_epochs=w1_epochs, mlp_epochs=mlp_epochs, mlp_predict=mlp_predict)
    return _NUMBA


class NumbaTrainer(Trainer):
    key = "numba"

    def __init__(self, problem):
        super().__init__(problem)
        self.k = _numba_kernels()
        self.w1 = problem.name == "W1"
        self.start_epochs = 50_000 if self.w1 else 1
        self.sizes = np.array(problem.sizes, dtype=np.int64)
        self.y = problem.Y[:, 0].copy() if self.w1 else problem.labels.astype(np.int64)
        self.reset()
        self.epochs(0)  # compile now, not in a timed run

    def reset(self, shuffle=True, seed=0):
        self.flat = self.p.init_flat.copy()
        self.vel = np.zeros_like(self.flat)
        self.grad = np.zeros_like(self.flat)
        self.order = np.arange(self.p.n, dtype=np.int64)
        self.k["seed"](seed)
        self.shuffle = shuffle

    def epochs(self, n):
        p = self.p
        if self.w1:
            return self.k["w1_epochs"](self.flat, p.X, self.y, n, p.lr, self.shuffle, self.order)
        return self.k["mlp_epochs"](
            self.flat,
            self.vel,
            self.grad,
            self.sizes,
            p.X,
            self.y,
            n,
            p.batch,
            p.lr,
            float(p.momentum),
            self.shuffle,
            self.order,
        )

    def params(self):
        return _unflatten(self.p, self.flat)

    def predict(self, X):
        return self.k["mlp_predict"](self.flat, self.sizes, np.ascontiguousarray(X))


def _unflatten(problem, flat):
    net = problem.network(0)
    W, b = net.spec.unpack(flat)
    return [(w.copy(), c.copy()) for w, c in zip(W, b)]


class JaxTrainer(Trainer):
    """W1: the whole run is one jitted lax.scan (epochs) of lax.scan (4 samples); the shuffled
    orders of all epochs are drawn by NumPy in reset(), before the timer. Others: a jitted
    epoch, lax.scan over the full batches then the short last batch; the epoch's order is
    drawn by NumPy inside the timed loop."""

    key = "jax"

    def __init__(self, problem):
        super().__init__(problem)
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        self.jax, self.jnp = jax, jnp
        self.w1 = problem.name == "W1"
        self.start_epochs = 50_000 if self.w1 else 1
        self.X = jnp.asarray(problem.X)
        self.Y = jnp.asarray(problem.Y)
        self.y = jnp.asarray(
            problem.labels if problem.labels is not None else np.zeros(problem.n, np.int64)
        )
        self._compiled = {}
        self._build()
        self.reset()
        if not self.w1:
            self.prepare(1)

    def _loss(self, params, xb, yb_onehot, yb):
        jax, jnp = self.jax, self.jnp
        a = xb
        act = jax.nn.relu if self.p.hidden == "relu" else jax.nn.sigmoid
        for W, b in params[:-1]:
            a = act(a @ W + b)
        W, b = params[-1]
        z = a @ W + b
        if self.p.loss == "cross_entropy":
            lse = jax.nn.logsumexp(z, axis=1)
            total = jnp.sum(lse - jnp.take_along_axis(z, yb[:, None], axis=1)[:, 0])
            return total / xb.shape[0], total
        o = jax.nn.sigmoid(z)
        total = jnp.sum((o - yb_onehot) ** 2) / z.shape[1]
        return total / xb.shape[0], total

    def _build(self):
        jax, jnp = self.jax, self.jnp
        lr, mu, bs, n = self.p.lr, self.p.momentum, self.p.batch, self.p.n
        grad = jax.value_and_grad(self._loss, has_aux=True)

        def step(carry, idx, X, Y, y):
            params, vel = carry
            (_, total), g = grad(params, X[idx], Y[idx], y[idx])
            if mu:
                vel = jax.tree_util.tree_map(lambda v, gi: mu * v + gi, vel, g)
                g = vel
            params = jax.tree_util.tree_map(lambda p, gi: p - lr * gi, params, g)
            return (params, vel), total

        if self.w1:

            def run(params, orders, X, Y, y):
                def epoch(carry, order):
                    carry, totals = jax.lax.scan(
                        lambda c, i: step(c, i[None], X, Y, y), carry, order
                    )
                    return carry, jnp.sum(totals) / n

                (params, _), losses = jax.lax.scan(epoch, (params, params), orders)
                return params, losses[-1]

            self._run = jax.jit(run)
            return

        full, rest = divmod(n, bs)

        def run_epoch(params, vel, order, X, Y, y):
            carry = (params, vel)
            carry, totals = jax.lax.scan(
                lambda c, i: step(c, i, X, Y, y), carry, order[: full * bs].reshape(full, bs)
            )
            total = jnp.sum(totals)
            if rest:
                carry, t = step(carry, order[full * bs :], X, Y, y)
                total = total + t
            return carry[0], carry[1], total / n

        def forward(params, X):
            a = X
            for W, b in params[:-1]:
                a = jax.nn.relu(a @ W + b)
            W, b = params[-1]
            return jnp.argmax(a @ W + b, axis=1)

        self._run = jax.jit(run_epoch)
        self._forward = jax.jit(forward)

    def prepare(self, n_epochs):
        """Compile for this many epochs (W1) or for an epoch (others), ahead of time."""
        jnp = self.jnp
        key = n_epochs if self.w1 else 1
        if key in self._compiled:
            return
        if self.w1:
            args = (
                self.params_,
                jnp.zeros((n_epochs, self.p.n), jnp.int64),
                self.X,
                self.Y,
                self.y,
            )
        else:
            args = (self.params_, self.vel, jnp.arange(self.p.n), self.X, self.Y, self.y)
        self._compiled[key] = self._run.lower(*args).compile()

    def reset(self, shuffle=True, seed=0):
        jnp = self.jnp
        self.params_ = tuple((jnp.asarray(W), jnp.asarray(b)) for W, b in self.p.init)
        self.vel = tuple((jnp.zeros_like(W), jnp.zeros_like(b)) for W, b in self.params_)
        self.rng = np.random.default_rng(seed)
        self.shuffle = shuffle
        self._orders = None

    def _w1_orders(self, n_epochs):
        base = np.broadcast_to(np.arange(self.p.n), (n_epochs, self.p.n))
        return self.rng.permuted(base, axis=1) if self.shuffle else np.array(base)

    def epochs(self, n):
        jnp = self.jnp
        if self.w1:
            if self._orders is None or self._orders.shape[0] != n:
                # drawn untimed on the first call after reset (see the class docstring)
                raise RuntimeError("call draw_orders(n) after reset() for JAX W1")
            self.prepare(n)
            self.params_, loss = self._compiled[n](
                self.params_, self._orders, self.X, self.Y, self.y
            )
            return float(loss)
        self.prepare(1)
        run = self._compiled[1]
        loss = None
        for _ in range(n):
            order = self.rng.permutation(self.p.n) if self.shuffle else np.arange(self.p.n)
            self.params_, self.vel, loss = run(
                self.params_, self.vel, jnp.asarray(order), self.X, self.Y, self.y
            )
        return float(loss)

    def draw_orders(self, n):
        if self.w1:
            self._orders = self.jnp.asarray(self._w1_orders(n))

    def params(self):
        return [(np.asarray(W), np.asarray(b)) for W, b in self.params_]

    def predict(self, X):
        return np.asarray(self._forward(self.params_, self.jnp.asarray(X)))


class TorchTrainer(Trainer):
    """PyTorch eager: float64 (float32) nn.Sequential, F.cross_entropy / F.mse_loss (means),
    torch.optim.SGD (its momentum is nnfast's), a randperm per epoch."""

    key = "torch"

    def __init__(self, problem):
        super().__init__(problem)
        import torch

        self.torch = torch
        self.start_epochs = 50 if problem.name == "W1" else 1
        self.X = torch.from_numpy(problem.X)
        self.Y = torch.from_numpy(problem.Y)
        self.y = (
            None if problem.labels is None else torch.from_numpy(problem.labels.astype(np.int64))
        )
        self.reset()

    def reset(self, shuffle=True, seed=0):
        torch = self.torch
        nn = torch.nn
        layers = []
        dtype = torch.float32 if self.p.dtype == np.float32 else torch.float64
        for l, (W, b) in enumerate(self.p.init):
            lin = nn.Linear(W.shape[0], W.shape[1], dtype=dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            if l < len(self.p.init) - 1:
                layers.append(nn.ReLU() if self.p.hidden == "relu" else nn.Sigmoid())
        if self.p.output == "sigmoid":
            layers.append(nn.Sigmoid())
        self.model = nn.Sequential(*layers)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=self.p.lr, momentum=self.p.momentum)
        self.gen = torch.Generator().manual_seed(seed)
        self.shuffle = shuffle

    def epochs(self, n_epochs):
        torch = self.torch
        F = torch.nn.functional
        model, opt, X, bs, n = self.model, self.opt, self.X, self.p.batch, self.p.n
        ce = self.p.loss == "cross_entropy"
        target = self.y if ce else self.Y
        for _ in range(n_epochs):
            order = torch.randperm(n, generator=self.gen) if self.shuffle else torch.arange(n)
            total = 0.0
            for start in range(0, n, bs):
                idx = order[start : start + bs]
                out = model(X[idx])
                loss = F.cross_entropy(out, target[idx]) if ce else F.mse_loss(out, target[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item() * idx.numel()
            last = total / n
        return last

    def params(self):
        lins = [m for m in self.model if isinstance(m, self.torch.nn.Linear)]
        return [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()) for m in lins]

    def predict(self, X):
        with self.torch.no_grad():
            return self.model(self.torch.from_numpy(np.ascontiguousarray(X))).argmax(1).numpy()


class SklearnTrainer(Trainer):
    """MLPClassifier(solver="sgd"), one partial_fit per epoch. reset() initialises it with a
    partial_fit on one batch, then writes nnfast's initial weights into coefs_/intercepts_
    and drops the optimizer (so momentum starts from zero), all untimed."""

    key = "sklearn"

    def __init__(self, problem):
        super().__init__(problem)
        from sklearn.neural_network import MLPClassifier

        self.cls = MLPClassifier
        self.classes = np.arange(problem.sizes[-1])
        self.reset()

    def reset(self, shuffle=True, seed=0):
        p = self.p
        clf = self.cls(
            hidden_layer_sizes=p.sizes[1:-1],
            activation="relu",
            solver="sgd",
            alpha=0.0,
            batch_size=p.batch,
            learning_rate="constant",
            learning_rate_init=p.lr,
            momentum=p.momentum,
            nesterovs_momentum=False,
            shuffle=shuffle,
            random_state=seed,
            max_iter=1,
            tol=0.0,
            n_iter_no_change=10**9,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(p.X[: p.batch], p.labels[: p.batch], classes=self.classes)
        for coef, intercept, (W, b) in zip(clf.coefs_, clf.intercepts_, p.init):
            coef[...] = W
            intercept[...] = b
        del clf._optimizer
        clf._random_state = np.random.RandomState(seed)
        self.clf = clf

    def epochs(self, n):
        for _ in range(n):
            self.clf.partial_fit(self.p.X, self.p.labels)
        return float(self.clf.loss_)

    def params(self):
        return [(W.copy(), b.copy()) for W, b in zip(self.clf.coefs_, self.clf.intercepts_)]

    def predict(self, X):
        return self.clf.predict(X)


class BoundTrainer(Trainer):
    """W3's GEMMs alone at NumPy speed (nnfast.bench.GemmBound): the floor for an epoch."""

    key = "bound"

    def __init__(self, problem, **blas):
        super().__init__(problem)
        self.bound = nb.GemmBound(
            problem.sizes, problem.n, problem.batch, dtype=problem.dtype, **blas
        )

    def reset(self, shuffle=True, seed=0):
        pass

    def epochs(self, n):
        self.bound.run(n)
        return float("nan")


class TorchBoundTrainer(BoundTrainer):
    """The same GEMMs with PyTorch's BLAS (``torch.matmul``; MKL in the CPU wheel):
    PyTorch's floor for a W3 epoch."""

    key = "bound-torch"

    def __init__(self, problem):
        import torch

        super().__init__(problem, as_array=torch.from_numpy, matmul=torch.matmul)


class ScipyBoundTrainer(BoundTrainer):
    """The same GEMMs with SciPy's BLAS (``nnfast.bench.scipy_matmul``), the library
    nnfast's kernels call: nnfast's own floor, apart from NumPy's (another OpenBLAS build)."""

    key = "bound-scipy"

    def __init__(self, problem):
        super().__init__(problem, matmul=nb.scipy_matmul)


BOUNDS = ("bound", "bound-scipy", "bound-torch")  # timed like peers, in the roofline table

TRAINERS = {
    "nnfast": lambda p: NnfastTrainer(p, "cython"),
    "nnfast-numpy": lambda p: NnfastTrainer(p, "numpy"),
    "numba": NumbaTrainer,
    "jax": JaxTrainer,
    "numpy": NumpyTrainer,
    "torch": TorchTrainer,
    "sklearn": SklearnTrainer,
    "python": PythonTrainer,
}


# --- timing (inside a worker) -----------------------------------------------------------------

_timed = nb._timed  # wall time with the garbage collector off, as nnfast's own benchmarks


def cpu_snapshot():
    """(wall seconds, CPU seconds busy on the whole machine, CPU seconds of this process)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]
        busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait
    except (OSError, ValueError):
        busy = float("nan")
    t = os.times()
    return time.perf_counter(), busy, t.user + t.system


def others_cpu(start):
    """Cores used on average by other processes since ``start`` (a ``cpu_snapshot``)."""
    end = cpu_snapshot()
    return max(0.0, ((end[1] - start[1]) - (end[2] - start[2])) / max(end[0] - start[0], 1e-9))


def _fresh(tr, n):
    tr.reset()
    if isinstance(tr, JaxTrainer):
        tr.draw_orders(n)


def measure(trainers, units_per_epoch, repeats, target_s, log, n_threads=1):
    """Seconds per unit (step or epoch), ``repeats`` per trainer, trainers taking turns.

    A calibration run per trainer (untimed in the result, after any compilation) sizes the
    number of epochs so that one measurement takes about ``target_s`` (at least one epoch).
    Each timed run starts after ``nb.rest(n_threads)``.
    """
    epochs = {}
    for tr in trainers:
        n = tr.start_epochs
        for attempt in range(4):
            tr.prepare(n)
            _fresh(tr, n)
            seconds, _ = _timed(lambda: tr.epochs(n))
            if seconds >= target_s / 4 or attempt == 3:
                break
            n *= 8 if seconds < target_s / 32 else 2
        epochs[tr.key] = max(1, int(round(n * target_s / max(seconds, 1e-9))))
        tr.prepare(epochs[tr.key])
        log(
            f"    {tr.key}: {epochs[tr.key]} epoch(s) per measurement "
            f"(calibration {seconds / n / units_per_epoch:.3g} s/unit)"
        )
    out = {tr.key: [] for tr in trainers}
    for r in range(repeats):
        turn = trainers[r % len(trainers) :] + trainers[: r % len(trainers)]
        for tr in turn:
            n = epochs[tr.key]
            _fresh(tr, n)
            nb.rest(n_threads)
            seconds, _ = _timed(lambda: tr.epochs(n))
            out[tr.key].append(seconds / (n * units_per_epoch))
    return out, epochs


def sanity(problem, keys, log):
    """One epoch without shuffling from the initial weights: each implementation's epoch loss
    and weights against nnfast's (cython), to ``SANITY_TOL`` of the problem's dtype."""
    tol = SANITY_TOL[problem.dtype]
    results = {}
    ref = None
    for key in ["nnfast"] + [k for k in keys if k != "nnfast"]:
        tr = TRAINERS[key](problem)
        tr.reset(shuffle=False)
        if isinstance(tr, JaxTrainer):
            tr.draw_orders(1)
        loss = tr.epochs(1)
        params = tr.params()
        if ref is None:
            ref = (loss, params)
            results[key] = {"loss": loss}
            continue
        dparam = max(
            float(np.max(np.abs(a - b)))
            for (W, c), (W0, c0) in zip(params, ref[1])
            for a, b in ((W, W0), (c, c0))
        )
        results[key] = {
            "loss": loss,
            "dloss": abs(loss - ref[0]),
            "dparam": dparam,
            "ok": abs(loss - ref[0]) <= tol and dparam <= tol,
            "tol": tol,
        }
        log(f"    {key}: loss {loss:.12g} (nnfast {ref[0]:.12g}), max |dW| {dparam:.2g}")
    return results


def memory_w3(problem):
    """tracemalloc's peak during nnfast's (cython) ``net.train`` on W3: 1 and 3 epochs."""
    peaks = {}
    for n in (1, 3):
        net = problem.network(0)
        gc.collect()
        tracemalloc.start()
        try:
            with use_backend("cython"):
                net.train(
                    problem.X,
                    problem.Y,
                    epochs=n,
                    learning_rate=problem.lr,
                    batch_size=problem.batch,
                    shuffle=True,
                    seed=0,
                )
            peaks[n] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    data = problem.X.nbytes + problem.Y.nbytes
    params = problem.init_flat.nbytes
    acts = problem.batch * sum(problem.sizes) * problem.dtype.itemsize
    growth = (peaks[3] - peaks[1]) / 2
    budget = data + 3 * params + acts
    total = data + params + peaks[3]  # held before training + what training adds
    return {
        "peak_1": peaks[1],
        "peak_3": peaks[3],
        "data": data,
        "params": params,
        "acts": acts,
        "budget": budget,
        "total": total,
        "growth_per_epoch": growth,
        "rows": problem.n,
        "batches": problem.steps_per_epoch,
        "ok": total <= budget and growth <= 1024,
    }


def _available(key):
    mod = PACKAGES.get(key)
    return mod is None or importlib.util.find_spec(mod) is not None


def worker(args):
    """Run the selected workloads at ``args.threads`` threads; write the JSON result."""
    n_threads = int(args.threads)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pinned = None
    if 0 < n_threads < len(cpus):
        # XLA sizes its thread pool from the CPUs the process may use and ignores XLA_FLAGS'
        # intra_op_parallelism_threads (jaxlib 0.10), so fewer threads means fewer CPUs.
        pinned = cpus[-n_threads:]
        os.sched_setaffinity(0, pinned)
    from threadpoolctl import threadpool_limits

    limiter = threadpool_limits(limits=n_threads)  # noqa: F841 (held for the whole run)
    t0 = time.perf_counter()

    def log(msg):
        print(
            f"[{n_threads} thr {time.perf_counter() - t0:5.0f} s] {msg}",
            file=sys.stderr,
            flush=True,
        )

    wanted = [k for k in PEERS if k in args.peers]
    skipped = {k: f"not installed ({INSTALL[k]})" for k in wanted if not _available(k)}
    keys = [k for k in wanted if k not in skipped]
    versions = {}
    for k in keys:
        mod = PACKAGES.get(k)
        if mod:
            versions[k] = __import__(mod).__version__
    if "torch" in keys:
        import torch

        torch.set_num_threads(n_threads)
    if "jax" in keys:
        import jax

        jax.config.update("jax_enable_x64", True)
    quick = args.quick
    repeats = args.repeats or (3 if quick else 7)
    target_s = args.target_s or (0.05 if quick else 0.25)
    result = {
        "threads": n_threads,
        "versions": versions,
        "skipped": skipped,
        "workloads": {},
        "sanity": {},
        "roofline": {},
        "notes": [],
        "pinned_cpus": pinned,
        "load_start": os.getloadavg(),
        "settings": {"repeats": repeats, "target_s": target_s, "quick": quick, "rest_s": nb.REST_S},
    }
    first = args.first

    def problems():
        for w in args.workloads:
            base = FLOAT32.get(w, w)
            dtype = np.float32 if w in FLOAT32 else np.float64
            if base == "W1":
                yield w, problem_w1()
            elif base == "W2":
                yield w, problem_w2(dtype)
            elif base == "W3":
                yield w, problem_w3(2560 if quick else nb.W3_ROWS, dtype)
            elif base == "MNIST":
                try:
                    yield w, problem_mnist(args.mnist_dir, 12_000 if quick else None, dtype)
                except FileNotFoundError as exc:
                    result["notes"].append(f"{w} skipped: {exc}")

    for w, problem in problems():
        runs = [k for k in keys if k in RUNS[w]]
        base = FLOAT32.get(w, w)
        if w == "W3" and not quick and "nnfast-numpy" in runs:
            runs.remove("nnfast-numpy")
            result["notes"].append(
                "W3: the nnfast numpy backend runs only with --quick "
                "(2560-row epochs); it does what the NumPy loop does, "
                "plus its bookkeeping."
            )
        load0 = os.getloadavg()[0]
        log(f"{w}: {problem.source}, {len(runs)} implementations: {', '.join(runs)}")
        if first and base != "MNIST":
            sub = problem.subset(1024) if base == "W3" else problem
            log(f"  sanity: 1 epoch, no shuffling ({sub.source})")
            result["sanity"][w] = sanity(sub, runs, log)
        if base == "MNIST":
            if first:
                sub = problem.subset(2048)
                log(f"  sanity: 1 epoch, no shuffling ({sub.source})")
                result["sanity"][w] = sanity(sub, runs, log)
            trainers = [TRAINERS[k](problem) for k in runs]
            bounds = [BoundTrainer(problem), ScipyBoundTrainer(problem)]
            n_epochs = 1 if quick else nb.MNIST_EPOCHS
            snap = cpu_snapshot()
            times = {tr.key: [] for tr in trainers + bounds}
            losses = {tr.key: [] for tr in trainers}
            for e in range(n_epochs):
                everyone = trainers + bounds
                turn = everyone[e % len(everyone) :] + everyone[: e % len(everyone)]
                for tr in turn:
                    nb.rest(n_threads)
                    seconds, loss = _timed(lambda: tr.epochs(1))
                    times[tr.key].append(seconds)
                    if tr.key not in BOUNDS:
                        losses[tr.key].append(loss)
                    log(f"    {tr.key} epoch {e + 1}: {seconds:.3g} s, loss {loss:.4f}")
            accuracy = {
                tr.key: float(np.mean(tr.predict(problem.X_test) == problem.labels_test))
                for tr in trainers
            }
            log("    accuracy: " + ", ".join(f"{k} {a:.4f}" for k, a in accuracy.items()))
            others = others_cpu(snap)
            log(f"    other processes used {others:.2f} cores meanwhile")
            result["workloads"][w] = {
                "timings": times,
                "loss": losses,
                "accuracy": accuracy,
                "epochs": n_epochs,
                "rows": problem.n,
                "others": others,
                "load": [load0, os.getloadavg()[0]],
                "flops": bounds[0].bound.flops,
            }
            continue
        trainers = [TRAINERS[k](problem) for k in runs]
        if base == "W3":
            trainers.append(BoundTrainer(problem))
            trainers.append(ScipyBoundTrainer(problem))
            if any(tr.key == "torch" for tr in trainers):
                trainers.append(TorchBoundTrainer(problem))
        units = problem.steps_per_epoch if w == "W1" else 1
        snap = cpu_snapshot()
        timings, epochs = measure(
            trainers, units, min(repeats, 5) if base == "W3" else repeats, target_s, log, n_threads
        )
        others = others_cpu(snap)
        log(f"    other processes used {others:.2f} cores meanwhile")
        entry = {
            "timings": timings,
            "epochs": epochs,
            "rows": problem.n,
            "others": others,
            "load": [load0, os.getloadavg()[0]],
        }
        if base == "W3":
            entry["flops"] = next(tr for tr in trainers if tr.key == "bound").bound.flops
        result["workloads"][w] = entry
        if base == "W3" and first:
            log(f"  memory: nnfast net.train under tracemalloc ({problem.dtype})")
            result["memory" if w == "W3" else "memory_f32"] = memory_w3(problem)
    if "roofline" in args.workloads:
        log(f"roofline: {nb.ROOFLINE_N}^3 numpy matmul, float64 and float32")
        snap = cpu_snapshot()
        result["roofline"]["dgemm_gflops"] = nb.dgemm_gflops(repeats=3 if quick else 5)
        result["roofline"]["sgemm_gflops"] = nb.dgemm_gflops(
            repeats=3 if quick else 5, dtype=np.float32
        )
        result["roofline"]["others"] = others_cpu(snap)
    result["load_end"] = os.getloadavg()
    with open(args.json_out, "w") as f:
        json.dump(result, f)


# --- the table (in the parent) ----------------------------------------------------------------

UNITS = {
    "W1": ("ns/step", 1e9),
    "W2": ("ms/epoch", 1e3),
    "W3": ("ms/epoch", 1e3),
    "MNIST": ("ms/epoch", 1e3),
}
TITLES = {
    "W1": "W1 tutorial 2-2-1 sigmoid/MSE, SGD batch 1, lr 0.1",
    "W2": "W2 digits 1797x64, 64-64-10 relu/softmax, SGD batch 32, lr 0.05",
    "W3": "W3 synthetic {rows}x784, 784-512-512-10 relu/softmax, SGD batch 256, lr 0.05",
    "MNIST": "MNIST {rows}x784, 784-128-10 relu/softmax, SGD momentum 0.9, lr 0.05, batch 64",
}
for _w, _base in FLOAT32.items():
    UNITS[_w] = UNITS[_base]
    TITLES[_w] = "**float32** " + TITLES[_base]
# the float32 targets: ahead of these peers (W2: of every float32 peer), and the bound
F32_RIVALS = {"W2-f32": None, "W3-f32": ("torch", "jax"), "MNIST-f32": ("torch", "jax")}


def _fmt(x):
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def _ratio(r):
    return f"{r:.2f}x" if r < 10 else (f"{r:.1f}x" if r < 100 else f"{r:.0f}x")


def _median(values):
    return statistics.median(values)


def _mad_pct(values):
    med = _median(values)
    return 100 * _median([abs(v - med) for v in values]) / med if med else 0.0


def _issue_best(w, threads):
    ref = ISSUE.get((w, threads))
    if not ref:
        return ""
    key, value = min(((k, v) for k, v in ref.items() if k not in BOUNDS), key=lambda kv: kv[1])
    unit, scale = UNITS[w]
    return f"issue's best: {LABELS[key].split()[0]} {_fmt(value * scale)} {unit.split('/')[0]}"


def format_report(results, args):
    """The markdown: machine line, the table, the roofline table, sanity and notes."""
    columns = [
        k
        for k in PEERS
        if any(
            k in r["workloads"].get(w, {}).get("timings", {})
            for r in results
            for w in r["workloads"]
        )
    ]
    lines = [describe(results, args), ""]
    head = (
        ["Workload", "Thr", "Others' CPU", "Unit"]
        + [LABELS[k] for k in columns]
        + ["Target", "Met"]
    )
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    summary = {}
    bound = {}
    for w in ("W1", "W2", "W2-f32", "W3", "W3-f32", "MNIST", "MNIST-f32"):
        for r in results:
            entry = r["workloads"].get(w)
            if not entry:
                continue
            t = r["threads"]
            unit, scale = UNITS[w]
            med = {k: _median(v) for k, v in entry["timings"].items()}
            base = med.get("nnfast")
            cells = []
            for k in columns:
                if k not in med:
                    reason = r["skipped"].get(k) and "not installed" or NOT_RUN.get((w, k))
                    cells.append("n/a" if reason else "-")
                elif k == "nnfast":
                    mad = _mad_pct(entry["timings"][k])
                    cells.append(f"**{_fmt(med[k] * scale)}** ±{mad:.0f}%")
                else:
                    ratio = f" ({_ratio(med[k] / base)})" if base else ""
                    cells.append(f"{_fmt(med[k] * scale)}{ratio}")
            # Met: nnfast is faster than every peer in this run (and, for W3, within
            # W3_MAX_BOUND_RATIO of the GEMM-only bound). float32: F32_RIVALS and
            # W32_MAX_BOUND_RATIO (issue 20's targets).
            rivals = F32_RIVALS.get(w)
            slower = sorted(
                (med[k] / base, k)
                for k in med
                if k not in ("nnfast", *BOUNDS)
                and base
                and med[k] < base
                and (rivals is None or k in rivals)
            )
            problems = [f"{LABELS[k]} {_ratio(ratio)}" for ratio, k in slower]
            target = "fastest per epoch" if w == "MNIST" else "fastest"
            if rivals:
                target = "ahead of " + " and ".join(LABELS[k].split()[0] for k in rivals)
            issue = _issue_best(w, t)
            if issue:
                target += f" ({issue})"
            if "bound" in med and base:
                ratio_b = base / med["bound"]
                bound[(w, t)] = {
                    "bound_s": med["bound"],
                    "ratio": ratio_b,
                    "flops": entry["flops"],
                    "gflops": entry["flops"] / med["bound"] / 1e9,
                    "nnfast_s": base,
                    "rows": entry["rows"],
                    "torch_bound_s": med.get("bound-torch"),
                    "torch_s": med.get("torch"),
                    "scipy_bound_s": med.get("bound-scipy"),
                }
                limit = {
                    "W3": nb.W3_MAX_BOUND_RATIO,
                    "W3-f32": W32_MAX_BOUND_RATIO,
                    "MNIST-f32": W32_MAX_BOUND_RATIO,
                }.get(w)
                gemm = "SGEMM" if w in FLOAT32 else "GEMM"
                if limit:
                    target += f"; <= {limit}x {gemm}-only bound: {ratio_b:.2f}x"
                    if ratio_b > limit:
                        problems.append(f"bound {ratio_b:.2f}x")
            met = "-" if base is None else ("yes" if not problems else "NO: " + ", ".join(problems))
            title = TITLES[w].format(rows=entry.get("rows", ""))
            busy = f"{entry['others']:.2f}" if "others" in entry else "?"
            lines.append("| " + " | ".join([title, str(t), busy, unit, *cells, target, met]) + " |")
            summary[(w, t)] = {"median": med, "met": met}
            if w in ("MNIST", "MNIST-f32"):
                acc = entry["accuracy"]
                cells = [f"{acc[k]:.2%}" if k in acc else "-" for k in columns]
                judged = entry["epochs"] >= nb.MNIST_EPOCHS and entry["rows"] >= 60_000
                ok = acc.get("nnfast", 0) > nb.MNIST_MIN_ACCURACY
                lines.append(
                    "| "
                    + " | ".join(
                        [
                            f"MNIST test accuracy (10000 rows) after {entry['epochs']} epoch(s)",
                            str(t),
                            "",
                            "%",
                            *cells,
                            f"nnfast > {nb.MNIST_MIN_ACCURACY:.0%} after {nb.MNIST_EPOCHS} epochs",
                            ("yes" if ok else "NO") if judged else "- (quick)",
                        ]
                    )
                    + " |"
                )
    mem = next((r["memory"] for r in results if "memory" in r), None)
    mem32 = next((r["memory_f32"] for r in results if "memory_f32" in r), None)
    mib = 2.0**20
    for m, label in ((mem, "W3"), (mem32, "**float32** W3")):
        if not m:
            continue
        cells = [
            f"**{m['total'] / mib:.1f}** = {m['data'] / mib:.1f} + "
            f"{m['params'] / mib:.1f} + {m['peak_3'] / mib:.1f}"
            if k == "nnfast"
            else "-"
            for k in columns
        ]
        target = (
            "<= data + 3x params + 1 batch of activations = "
            f"{m['budget'] / mib:.1f} MiB; "
            f"no growth per batch: {m['growth_per_epoch']:+.0f} B/epoch (1 -> 3 epochs, "
            f"{m['batches']} batches each)"
        )
        ok = m["ok"]
        if m is mem32 and mem:
            ratio = m["total"] / mem["total"]
            target += f"; <= {MEMORY_MAX_RATIO}x the float64 run's: {ratio:.3f}x"
            ok = ok and ratio <= MEMORY_MAX_RATIO
        lines.append(
            "| "
            + " | ".join(
                [
                    f"Memory: {label} ({m['rows']} rows) nnfast net.train, 3 epochs: data + "
                    "params + peak traced during train (tracemalloc)",
                    "-",
                    "",
                    "MiB",
                    *cells,
                    target,
                    "yes" if ok else "NO",
                ]
            )
            + " |"
        )

    lines += [
        "",
        "Cells: median (peer / nnfast cython: above 1 means nnfast is faster), "
        "nnfast's ± is the median absolute deviation; `-` not run, `n/a` not "
        "applicable or not installed. Others' CPU: cores used on average by other "
        "processes while the row was timed (/proc/stat minus this process; 2 cores in "
        "all). " + settings_line(results),
    ]
    # the roofline
    roofs = {
        name: {r["threads"]: r["roofline"][key] for r in results if r["roofline"].get(key)}
        for name, key in (("DGEMM", "dgemm_gflops"), ("SGEMM", "sgemm_gflops"))
    }
    if any(roofs.values()) or bound:
        ts = sorted(set().union(*roofs.values(), {t for _, t in bound}))
        lines += [
            "",
            "| Roofline | "
            + " | ".join(f"{t} thread{'s' if t > 1 else ''}" for t in ts)
            + " | Issue |",
            "|---|" + "---|" * len(ts) + "---|",
        ]
        busy = {r["threads"]: r["roofline"].get("others") for r in results}
        for name, roof in roofs.items():
            if not roof:
                continue
            issue = (
                f"~{ISSUE_DGEMM[1]:.0f} (1 thread), ~{ISSUE_DGEMM[2]:.0f} (2)"
                if name == "DGEMM"
                else "-"
            )
            lines.append(
                f"| {name} {nb.ROOFLINE_N}³ NumPy matmul, GFLOP/s | "
                + " | ".join(
                    (
                        f"{_median(roof[t]):.1f}"
                        + (f" (others' CPU {busy[t]:.2f})" if busy.get(t) is not None else "")
                    )
                    if t in roof
                    else "-"
                    for t in ts
                )
                + f" | {issue} |"
            )
        for w in ("W3", "W3-f32", "MNIST", "MNIST-f32"):
            here = {t: bound[(w, t)] for t in ts if (w, t) in bound}
            if not here:
                continue
            gemm = "SGEMM" if w in FLOAT32 else "DGEMM"
            name = FLOAT32.get(w, w) + (" float32" if w in FLOAT32 else "")
            limit = {
                "W3": f"target <= {nb.W3_MAX_BOUND_RATIO}",
                "W3-f32": f"target <= {W32_MAX_BOUND_RATIO}",
                "MNIST-f32": f"target <= {W32_MAX_BOUND_RATIO}",
            }.get(w, "-")
            lines.append(
                f"| {name} {gemm}-only bound (the epoch's products at NumPy speed), "
                f"ms/epoch (GFLOP/s) | "
                + " | ".join(
                    f"{here[t]['bound_s'] * 1e3:.0f} ({here[t]['gflops']:.0f})"
                    if t in here
                    else "-"
                    for t in ts
                )
                + (" | 250 (128 GFLOP/s), 2 threads |" if w == "W3" else " | - |")
            )
            lines.append(
                f"| nnfast {name} epoch / {gemm}-only bound | "
                + " | ".join(f"{here[t]['ratio']:.2f}x" if t in here else "-" for t in ts)
                + f" | {limit} |"
            )
            # another BLAS's floor: its GEMMs alone, and an epoch that calls it over them
            for floor, epoch, blas, over in (
                (
                    "scipy_bound_s",
                    "nnfast_s",
                    "SciPy's BLAS (the library nnfast calls)",
                    f"nnfast {name} epoch / its GEMMs alone (SciPy's BLAS)",
                ),
                (
                    "torch_bound_s",
                    "torch_s",
                    "PyTorch's BLAS (`torch.matmul`)",
                    f"PyTorch {name} epoch / its GEMMs alone",
                ),
            ):
                has = {t: b for t, b in here.items() if b.get(floor)}
                if not has:
                    continue
                lines.append(
                    f"| {name}'s products with {blas}, ms/epoch (GFLOP/s) | "
                    + " | ".join(
                        f"{has[t][floor] * 1e3:.0f} ({has[t]['flops'] / has[t][floor] / 1e9:.0f})"
                        if t in has
                        else "-"
                        for t in ts
                    )
                    + " | - |"
                )
                lines.append(
                    f"| {over} | "
                    + " | ".join(
                        f"{has[t][epoch] / has[t][floor]:.2f}x"
                        if t in has and has[t].get(epoch)
                        else "-"
                        for t in ts
                    )
                    + " | - |"
                )
    # sanity
    san = next((r["sanity"] for r in results if r["sanity"]), None)
    if san:
        lines += [
            "",
            "Sanity (1 epoch, no shuffling, nnfast's initial weights; |epoch loss - "
            "nnfast's|, max |weight - nnfast's|; required <= 1e-6, float32: 1e-4):",
        ]
        for w, res in san.items():
            parts = [
                f"{LABELS[k]} {v['dloss']:.1e}/{v['dparam']:.1e}" + ("" if v["ok"] else " **FAIL**")
                for k, v in res.items()
                if "dloss" in v
            ]
            lines.append(f"- {w}: nnfast loss {res['nnfast']['loss']:.10g}; " + ", ".join(parts))
    notes = []
    for r in results:
        for k, why in r["skipped"].items():
            notes.append(f"{LABELS[k]}: skipped, {why}.")
        notes += r["notes"]
    for r in results:
        if r.get("pinned_cpus"):
            notes.append(
                f"{r['threads']} thread(s): the worker process was pinned to CPU(s) "
                f"{r['pinned_cpus']} (sched_setaffinity), the one way to hold JAX/XLA "
                "to that many threads; every library was limited to it as well."
            )
    if any(r["workloads"].get("W1") and "jax" in r["workloads"]["W1"]["timings"] for r in results):
        notes.append(
            "JAX W1: the shuffled orders of all epochs are drawn with NumPy before "
            "the timer (one (epochs x 4) array the scan reads); every other "
            "implementation shuffles inside its timed loop."
        )
    if notes:
        lines += [""] + [f"- {n}" for n in dict.fromkeys(notes)]
    return "\n".join(lines), summary


def settings_line(results):
    s = results[0]["settings"]
    rested = (
        f" With more than one thread each timed run starts after {s['rest_s']} s of "
        "rest, so the thread pools of the implementation before (OpenBLAS's, OpenMP's) "
        "have stopped spinning."
        if s.get("rest_s")
        else ""
    )  # runs before it had none
    return (
        f"Timed runs: {s['repeats']} per implementation ({min(s['repeats'], 5)} on W3), "
        f"each ~{s['target_s']} s (at least one epoch), implementations taking turns; "
        "MNIST: each epoch timed, median of the epochs." + rested
    )


def describe(results, args):
    """One line: date, CPU, versions, BLAS libraries, peers' versions, load average."""
    info = nb.machine_info()
    versions = {}
    for r in results:
        versions.update(r["versions"])
    loads = [r["load_start"][0] for r in results] + [r["load_end"][0] for r in results]
    loads += [x for r in results for e in r["workloads"].values() for x in e.get("load", [])]
    blas = (
        ", ".join(
            f"{b['library']}: {b['internal_api']} {b['version']}"
            + (f" ({b['architecture']} kernels)" if b.get("architecture") else "")
            for b in info["blas"]
        )
        or "unknown"
    )
    if os.environ.get("OPENBLAS_CORETYPE"):
        blas += f", OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}"
    gemm = f", gemm threshold {info['gemm_threshold']}" if "gemm_threshold" in info else ""
    peers = ", ".join(f"{LABELS[k].split()[0]} {v}" for k, v in versions.items())
    return (
        f"{datetime.date.today().isoformat()} | Machine: {info['cpu']}, {info['cpu_count']} "
        f"cores ({info['usable_cpus']} usable) | Python {info['python']}, numpy "
        f"{info['numpy']}, scipy {info['scipy']} | BLAS {blas} | nnfast {info['nnfast']}"
        f"{gemm} | {peers} | load average (1 min) {min(loads):.2f} to {max(loads):.2f} "
        "during the run"
    )


# --- the command line -------------------------------------------------------------------------


def thread_env(n):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = str(n)
    flags = env.get("XLA_FLAGS", "")
    if n == 1:
        flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    env["XLA_FLAGS"] = flags.strip()
    env["PYTHONWARNINGS"] = env.get("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return env


def main(argv=None):
    parser = argparse.ArgumentParser(description="Time nnfast against its peers.")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 short repeats, W3 on 2560 rows, 1 MNIST epoch on 12000 rows",
    )
    parser.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help=f"comma-separated subset of {','.join(WORKLOADS)}",
    )
    parser.add_argument(
        "--peers", default=",".join(PEERS), help=f"comma-separated subset of {','.join(PEERS)}"
    )
    parser.add_argument("--repeats", type=int, help="timed runs per implementation")
    parser.add_argument(
        "--target-time", type=float, dest="target_s", help="seconds each timed run should take"
    )
    parser.add_argument(
        "--mnist-dir",
        help="folder of the MNIST idx files (default: "
        "$NNFAST_MNIST_DIR, else where nnfast.datasets.load_mnist looks: "
        "$NNFAST_DATA, the cache ~/.cache/nnfast)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the raw numbers as JSON")
    parser.add_argument("--output", metavar="PATH", help="also write the markdown to PATH")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--first", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    lookup = {w.lower(): w for w in WORKLOADS}
    names = [w.strip() for w in args.workloads.split(",") if w.strip()]
    bad = [w for w in names if w.lower() not in lookup]
    if bad or not names:
        parser.error(f"unknown workload(s) {bad}; choose from {', '.join(WORKLOADS)}")
    args.workloads = [lookup[w.lower()] for w in names]
    args.peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    bad = [p for p in args.peers if p not in PEERS]
    if bad:
        parser.error(f"unknown peer(s) {bad}; choose from {', '.join(PEERS)}")
    if "nnfast" not in args.peers:
        args.peers.insert(0, "nnfast")  # the reference of every ratio
    if args.worker:
        worker(args)
        return 0

    threads = [int(t) for t in args.threads.split(",") if t.strip()]
    results = []
    started = datetime.datetime.now()
    for i, n in enumerate(threads):
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            out = f.name
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            "--threads",
            str(n),
            "--workloads",
            ",".join(args.workloads),
            "--peers",
            ",".join(args.peers),
            "--json-out",
            out,
        ]
        cmd += ["--quick"] if args.quick else []
        cmd += ["--first"] if i == 0 else []
        cmd += ["--repeats", str(args.repeats)] if args.repeats else []
        cmd += ["--target-time", str(args.target_s)] if args.target_s else []
        cmd += ["--mnist-dir", args.mnist_dir] if args.mnist_dir else []
        print(f"--- {n} thread(s): {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, env=thread_env(n))
        if proc.returncode != 0:
            print(f"worker for {n} thread(s) failed (exit {proc.returncode})", file=sys.stderr)
            return proc.returncode
        with open(out) as f:
            results.append(json.load(f))
        os.unlink(out)
    text, _ = format_report(results, args)
    elapsed = (datetime.datetime.now() - started).total_seconds()
    text += f"\n\nRun took {elapsed:.0f} s."
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    failed = [
        f"{w} {k}"
        for r in results
        for w, res in r["sanity"].items()
        for k, v in res.items()
        if v.get("ok") is False
    ]
    if failed:
        print(f"sanity check failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
