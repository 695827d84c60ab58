"""Per-sample weights: the weighted mean loss, its gradient and weighted training, on both
backends."""

import numpy as np
import pytest

import nnfast
from nnfast import _backend
from nnfast._spec import Hyper, OptimizerState


def data(n=24, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    labels = rng.integers(0, k, n)
    return X, nnfast.one_hot(labels, k), rng.integers(1, 4, n).astype(float)


@pytest.mark.parametrize(
    "loss, output, k",
    [
        ("cross_entropy", "softmax", 3),
        ("binary_cross_entropy", "sigmoid", 2),
        ("mse", "identity", 2),
    ],
)
def test_integer_weights_equal_repeated_rows(backend, loss, output, k):
    """The weighted mean loss and gradient equal those of the data with each row repeated
    w times: the definition of a sample weight."""
    X, Y, w = data(k=k)
    net = nnfast.Network([4, 5, k], activation="tanh", output_activation=output, loss=loss, seed=1)
    Xr, Yr = np.repeat(X, w.astype(int), axis=0), np.repeat(Y, w.astype(int), axis=0)
    assert net.loss(X, Y, sample_weight=w) == pytest.approx(net.loss(Xr, Yr), rel=1e-12)
    for a, b in zip(sum(net.gradients(X, Y, sample_weight=w), []), sum(net.gradients(Xr, Yr), [])):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)
    assert net.loss(X, Y, sample_weight=w) != pytest.approx(net.loss(X, Y), rel=1e-6)


def test_full_batch_training_with_weights_equals_repeated_rows(backend):
    X, Y, w = data()
    a = nnfast.Network([4, 5, 3], activation="relu", loss="cross_entropy", seed=2)
    b = a.copy()
    ha = a.train(X, Y, epochs=5, learning_rate=0.1, batch_size=None, sample_weight=w)
    Xr, Yr = np.repeat(X, w.astype(int), axis=0), np.repeat(Y, w.astype(int), axis=0)
    hb = b.train(Xr, Yr, epochs=5, learning_rate=0.1, batch_size=None)
    np.testing.assert_allclose(a.parameters, b.parameters, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(ha.loss, hb.loss, rtol=1e-10)
    np.testing.assert_allclose(ha.accuracy, hb.accuracy, rtol=1e-12)


def test_unit_weights_change_nothing(backend):
    X, Y, _ = data()
    a = nnfast.Network([4, 5, 3], activation="tanh", loss="cross_entropy", seed=3)
    b = a.copy()
    a.train(X, Y, epochs=3, learning_rate=0.1, batch_size=5, seed=0)
    b.train(X, Y, epochs=3, learning_rate=0.1, batch_size=5, seed=0, sample_weight=np.ones(24))
    np.testing.assert_allclose(a.parameters, b.parameters, rtol=1e-12, atol=1e-15)


def test_zero_weight_rows_do_not_count(backend):
    X, Y, w = data()
    w[::3] = 0.0
    net = nnfast.Network([4, 5, 3], activation="tanh", loss="cross_entropy", seed=4)
    keep = w > 0
    assert net.loss(X, Y, sample_weight=w) == pytest.approx(
        net.loss(X[keep], Y[keep], sample_weight=w[keep]), rel=1e-12
    )


@pytest.mark.parametrize("batch_size", [1, 5])
def test_weighted_training_agrees_between_backends(batch_size):
    X, Y, w = data()
    w = w * 0.37  # fractional weights
    runs = []
    for name in ("cython", "numpy"):
        kernels = _backend.kernels(name)
        net = nnfast.Network([4, 6, 3], activation="relu", loss="cross_entropy", seed=5)
        out = np.zeros((4, 2))
        kernels.train_epochs(
            net.spec,
            net.parameters,
            X,
            Y,
            4,
            batch_size,
            True,
            OptimizerState(net.spec.n_params),
            Hyper(0.05, momentum=0.5),
            np.random.default_rng(7),
            kernels.Workspace(net.spec, 24, batch_size),
            out,
            w,
        )
        runs.append((net.parameters.copy(), out.copy()))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-9)


def test_per_sample_sgd_uses_the_weights(backend):
    """With one row per batch, a row's step is scaled by w_i / mean(w): doubling one row's
    weight changes training (a per-batch normalisation would ignore it)."""
    X, Y, w = data()
    a = nnfast.Network([4, 5, 3], activation="tanh", loss="cross_entropy", seed=6)
    b = a.copy()
    w2 = np.ones(24)
    w2[0] = 5.0
    a.train(X, Y, epochs=1, learning_rate=0.1, batch_size=1, shuffle=False)
    b.train(X, Y, epochs=1, learning_rate=0.1, batch_size=1, shuffle=False, sample_weight=w2)
    assert not np.allclose(a.parameters, b.parameters)


def test_validation_weights(backend):
    X, Y, w = data()
    net = nnfast.Network([4, 5, 3], activation="tanh", loss="cross_entropy", seed=7)
    h = net.train(
        X[:18],
        Y[:18],
        epochs=2,
        learning_rate=0.1,
        sample_weight=w[:18],
        validation_data=(X[18:], Y[18:], w[18:]),
    )
    assert h.val_loss[-1] == pytest.approx(net.loss(X[18:], Y[18:], sample_weight=w[18:]))
    h = nnfast.Network([4, 5, 3], activation="tanh", loss="cross_entropy", seed=7).train(
        X, Y, epochs=2, learning_rate=0.1, sample_weight=w, validation_split=0.25
    )
    assert len(h.val_loss) == 2


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.ones(5), "sample_weight has 5 weights for 24 samples"),
        (-np.ones(24), "non-negative"),
        (np.zeros(24), "at least one positive"),
        (np.full(24, np.nan), "NaN"),
        (np.ones((24, 1)), "1-D"),
    ],
)
def test_bad_weights_are_refused(bad, match):
    X, Y, _ = data()
    net = nnfast.Network([4, 5, 3], activation="tanh", loss="cross_entropy", seed=8)
    with pytest.raises(ValueError, match=match):
        net.train(X, Y, epochs=1, sample_weight=bad)
    with pytest.raises(ValueError, match=match):
        net.loss(X, Y, sample_weight=bad)
