"""A short tour of every compiled kernel, for valgrind (and any other slow checker).

Forward, loss and gradient, and train_epochs over every activation, loss and optimizer, with
dropout, L1/L2, per-sample / mini-batch / full batch, on the fused loops and on BLAS (the
GEMM threshold moved to 0 and back), in float64 and in float32 (the two kernel modules),
the divergence roll-back, the Ctrl-C path (_thread.interrupt_main) and the perceptron loop;
each result is compared with the NumPy reference. Exits 0 when everything agrees. Run:
python tools/asan/kernel_smoke.py
"""

import _thread
import sys
import threading
import warnings

import numpy as np

import nnfast
from nnfast import _kernels, _kernels32

assert nnfast.get_backend() == "cython", nnfast.get_backend()
rng = np.random.default_rng(0)
checks = 0


def agree(fn, rtol=1e-8, atol=1e-10):
    global checks
    results = []
    for name in ("cython", "numpy"):
        with nnfast.use_backend(name):
            results.append(fn())
    for a, b in zip(np.atleast_1d(results[0]), np.atleast_1d(results[1])):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    checks += 1


def trained(make, X, Y, opt):
    """Weights after 3 epochs (one kernel call, or one per epoch with validation data)."""
    net = make()
    net.train(X, Y, epochs=3, learning_rate=0.05, seed=2, **opt)
    return net.parameters


cases = [
    ([3, 5, 2], "sigmoid", "identity", "mse"),
    ([4, 6, 6, 3], ["tanh", "relu"], "softmax", "cross_entropy"),
    ([2, 3, 1], "identity", "sigmoid", "binary_cross_entropy"),
    ([5, 1, 4], "step", "softmax", "mse"),
    ([1, 1], [], "tanh", "mse"),
]
options = [
    dict(batch_size=1, optimizer="sgd"),
    dict(batch_size=4, optimizer=nnfast.SGD(momentum=0.9, nesterov=True), l1=1e-3, l2=1e-2),
    dict(batch_size=None, optimizer="adam", dropout=0.3),
    dict(batch_size=3, optimizer="adam", lr_schedule=nnfast.schedules.ExponentialDecay(0.5, 3)),
]
# float32: both backends round in float32, each in its own order (tests/test_float32.py)
TOLERANCE = {"float64": (1e-8, 1e-10), "float32": (1e-4, 1e-5)}
for module, dtype in ((_kernels, "float64"), (_kernels32, "float32")):
    saved = module.get_gemm_threshold()
    rtol, atol = TOLERANCE[dtype]
    for threshold in (saved, 0):
        module.set_gemm_threshold(threshold)
        for sizes, act, out, loss in cases:
            n = 9
            X = rng.normal(size=(n, sizes[0]))
            k = sizes[-1]
            Y = (
                nnfast.one_hot(rng.integers(0, k, n), k)
                if loss == "cross_entropy"
                else rng.random((n, k))
            )

            def make():
                return nnfast.Network(
                    sizes, activation=act, output_activation=out, loss=loss, seed=1, dtype=dtype
                )

            agree(lambda: make().feedforward(X), rtol, atol)
            agree(lambda: make().feedforward(X[0]), rtol, atol)
            agree(lambda: make().loss(X, Y), rtol, atol)
            agree(
                lambda: np.concatenate(
                    [g.ravel() for part in make().gradients(X, Y) for g in part]
                ),
                rtol,
                atol,
            )
            for opt in options:
                if opt.get("dropout") and len(sizes) < 3:
                    continue
                agree(lambda: trained(make, X, Y, opt), rtol, atol)
                agree(
                    lambda: trained(make, X, Y, dict(opt, validation_data=(X[:3], Y[:3]))),
                    rtol,
                    atol,
                )
    module.set_gemm_threshold(saved)


# divergence: the kernel rolls back to the last finite epoch
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    X = rng.normal(size=(12, 3))
    Y = rng.normal(size=(12, 2))
    agree(
        lambda: (
            nnfast.Network([3, 8, 2], activation="relu", seed=0)
            .train(X, Y, epochs=30, learning_rate=1e6, batch_size=4, seed=0)
            .loss[:-1]
        )
    )

# Ctrl-C inside the compiled loop
net = nnfast.Network([8, 32, 2], seed=0)
X = rng.normal(size=(400, 8))
Y = rng.normal(size=(400, 2))
timer = threading.Timer(1.0, _thread.interrupt_main)
timer.start()
try:
    net.train(X, Y, epochs=10**6, batch_size=2, seed=0)
    raise SystemExit("FAIL: not interrupted")
except KeyboardInterrupt:
    assert net.history.interrupted and np.isfinite(net.parameters).all()
finally:
    timer.cancel()

# the perceptron loop
Xp = rng.normal(size=(30, 2))
yp = (Xp[:, 0] > Xp[:, 1]).astype(int)
agree(lambda: nnfast.Perceptron(max_epochs=10, seed=0, shuffle=True).fit(Xp, yp).coef_)
print(f"kernel smoke: {checks} comparisons agree, interrupt ok")
sys.exit(0)
