"""pytest-benchmark cases for nnfast against its peers (``bench/peers.py`` has the table).

    pytest bench/test_peers.py --benchmark-only            # W1 and W2, ~1 minute
    pytest bench/test_peers.py --benchmark-only -k w2

Each group is one workload; within it every implementation does the same work (same data,
initial weights, hyperparameters and batches), so pytest-benchmark's ``(x.xx)`` factors are
the ratios. A peer whose package is missing is skipped. Every round starts from the initial
weights (an untimed ``reset``). Threads are whatever the environment gives; use
``bench/peers.py --threads`` for pinned thread counts.
"""

import importlib.util
import os

import pytest

_spec = importlib.util.spec_from_file_location(
    "nnfast_bench_peers", os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers.py")
)
peers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(peers)

W1_EPOCHS = 250  # x 4 rows = 1000 SGD steps per round, for every implementation
W1_ROUNDS = 10
W2_ROUNDS = 10


@pytest.fixture(scope="module")
def problems():
    return {"W1": peers.problem_w1(), "W2": peers.problem_w2()}


def _trainer(key, problem):
    if not peers._available(key):
        pytest.skip(f"{key}: {peers.INSTALL[key]}")
    return peers.TRAINERS[key](problem)


@pytest.mark.parametrize("key", peers.RUNS["W1"])
def test_w1_peers(benchmark, problems, key):
    n = W1_EPOCHS
    tr = _trainer(key, problems["W1"])
    tr.prepare(n)
    benchmark.group = f"W1 tutorial 2-2-1, per-sample SGD, {4 * n} steps per round"

    def setup():
        peers._fresh(tr, n)

    loss = benchmark.pedantic(tr.epochs, args=(n,), setup=setup, rounds=W1_ROUNDS, warmup_rounds=1)
    assert 0.0 <= loss < 1.0


@pytest.mark.parametrize("key", peers.RUNS["W2"])
def test_w2_peers(benchmark, problems, key):
    tr = _trainer(key, problems["W2"])
    tr.prepare(1)
    benchmark.group = "W2 digits 64-64-10, one epoch (57 batches of 32)"
    loss = benchmark.pedantic(
        tr.epochs, args=(1,), setup=tr.reset, rounds=W2_ROUNDS, warmup_rounds=1
    )
    assert 0.0 < loss < 3.0
