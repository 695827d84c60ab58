"""pytest-benchmark cases: ``pytest bench/ --benchmark-only`` (not part of the test suite).

Within a group every backend does exactly the same work, so pytest-benchmark's table
compares them directly. Training cases build a fresh network in an untimed setup
(``benchmark.pedantic``), so every round starts from the same weights.
"""

import bench_backends as bench
import numpy as np
import pytest

from nnfast import _backend
from nnfast.network import Network

W1_EPOCHS = 250  # x 4 rows = 1000 SGD steps per round
# Rounds per backend: enough for a median, few enough that numpy stays under ~1 s a case.
W1_ROUNDS = {"numpy": 5, "cython": 50}
W2_ROUNDS = {"numpy": 15, "cython": 30}


@pytest.mark.benchmark(
    group=f"W1 tutorial 2-2-1, net.train {W1_EPOCHS} epochs ({4 * W1_EPOCHS} SGD steps)"
)
def test_w1_train(benchmark, backend):
    X, y = bench.tutorial_data()

    def setup():
        return (bench.tutorial_network(seed=0),), {}

    def train(net):
        with _backend.use_backend(backend):
            return bench.train_tutorial(net, X, y, W1_EPOCHS, seed=0)

    benchmark.extra_info.update(steps=4 * W1_EPOCHS, unit="round = 1000 SGD steps")
    history = benchmark.pedantic(train, setup=setup, rounds=W1_ROUNDS[backend], warmup_rounds=1)
    assert history.epochs == W1_EPOCHS


@pytest.mark.benchmark(group="W2 digits 64-64-10, net.train 1 epoch (batch 32)")
def test_w2_epoch(benchmark, backend, digits):
    X, Y, source = digits

    def setup():
        return (bench.digits_network(seed=0),), {}

    def train(net):
        with _backend.use_backend(backend):
            return bench.train_digits(net, X, Y, 1, seed=0)

    benchmark.extra_info.update(data=source, batches=-(-X.shape[0] // 32))
    history = benchmark.pedantic(train, setup=setup, rounds=W2_ROUNDS[backend], warmup_rounds=1)
    assert history.epochs == 1


@pytest.mark.benchmark(group="forward kernel, 784-128-10 on a 1000x784 batch")
def test_forward_784(benchmark, backend):
    net = Network(
        [784, 128, 10], activation="relu", output_activation="softmax", loss="cross_entropy", seed=0
    )
    X = np.random.default_rng(0).normal(size=(1000, 784))
    out = np.empty((1000, 10))
    kernels = _backend.kernels(backend)
    benchmark(kernels.forward, net.spec, net.parameters, X, out)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)


@pytest.mark.parametrize("rows", [32, 1797], ids=["batch32", "full1797"])
def test_loss_and_gradient_w2(benchmark, backend, digits, rows):
    X, Y = digits[0][:rows], digits[1][:rows]
    net = bench.digits_network(seed=0)
    grad = np.empty(net.spec.n_params)
    kernels = _backend.kernels(backend)
    benchmark.group = f"loss_and_gradient kernel, 64-64-10 on {rows}x64"
    loss = benchmark(kernels.loss_and_gradient, net.spec, net.parameters, X, Y, 0.0, 0.0, grad)
    assert np.isfinite(loss)


# One run against 4 restarts on 2 threads (n_jobs=2): the kernels release the GIL, so on 2
# idle cores the 4 restarts take about twice one run's time, well under 3x (the target).
RESTART_SIZES, RESTART_EPOCHS = [10, 32, 32, 1], 250


@pytest.mark.benchmark(
    group=f"restarts: 1 run vs 4 restarts on 2 threads, "
    f"{RESTART_SIZES} tanh, {RESTART_EPOCHS} epochs, batch 16 "
    f"(target: 4 restarts < 3x one run)"
)
@pytest.mark.parametrize("restarts", [1, 4])
def test_restarts_in_parallel_threads(benchmark, restarts):
    if "cython" not in bench.available_backends():
        pytest.skip("the compiled backend is not built")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 10))
    y = (np.sin(X[:, 0]) + X[:, 1] * X[:, 2] > 0).astype(float)

    def setup():
        net = Network(RESTART_SIZES, activation="tanh", loss="binary_cross_entropy", seed=0)
        return (net,), {}

    def train(net):
        with _backend.use_backend("cython"):
            return net.train(
                X,
                y,
                epochs=RESTART_EPOCHS,
                learning_rate=0.05,
                batch_size=16,
                seed=1,
                restarts=restarts,
                n_jobs=2,
            )

    benchmark.extra_info.update(restarts=restarts, n_jobs=2)
    history = benchmark.pedantic(train, setup=setup, rounds=3, warmup_rounds=1)
    assert len(getattr(history, "restart_losses", [0])) == restarts
