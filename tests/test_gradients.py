"""Backpropagation, activation derivatives and loss gradients against central differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnfast
from nnfast import _backend, activations, losses

#: The differentiable hidden activations (every one the package has).
HIDDEN = tuple(a for a in activations.ACTIVATIONS if a not in ("step", "exp", "softmax"))
OUTPUT_LOSS = (
    ("identity", "mse"),
    ("sigmoid", "mse"),
    ("tanh", "mse"),
    ("relu", "mse"),
    ("softmax", "mse"),
    ("sigmoid", "binary_cross_entropy"),
    ("softmax", "cross_entropy"),
    ("identity", "mae"),
    ("tanh", "mae"),
    ("identity", "huber"),
    ("softplus", "huber"),
    ("exp", "poisson"),
)
H = 1e-6  # central-difference step


def numeric_gradient(f, x, h=H):
    """Central differences of the scalar f() with respect to every entry of x (in place)."""
    grad = np.zeros(x.size)
    flat = x.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + h
        up = f()
        flat[i] = saved - h
        down = f()
        flat[i] = saved
        grad[i] = (up - down) / (2 * h)
    return grad.reshape(x.shape)


def pre_activations(net, X):
    """Every layer's z = a @ W + b (computed here, independently of the backends)."""
    zs, a = [], X
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        z = a @ W + b
        zs.append(z)
        name = net.activations[l] if l < len(net.activations) else net.output_activation
        a = activations.get(name)(z)
    return zs


def make_problem(hidden, output, loss, seed=0, sizes=(3, 5, 4, 3)):
    """A small network and data whose pre-activations stay clear of relu's kink."""
    for attempt in range(200):
        s = seed * 1000 + attempt
        net = nnfast.Network(
            list(sizes), activation=hidden, output_activation=output, loss=loss, seed=s
        )
        rng = np.random.default_rng(s)
        net.biases[0][:] = rng.normal(scale=0.5, size=net.biases[0].shape)
        if output == "relu":  # most outputs alive, so the comparison is not all zeros
            net.biases[-1][:] = 1.0
        X = rng.normal(size=(6, sizes[0]))
        k = sizes[-1]
        if loss == "cross_entropy":
            Y = nnfast.one_hot(rng.integers(0, k, 6), k)
            Y[0] = rng.dirichlet(np.ones(k))  # a soft-label row too
        elif loss == "binary_cross_entropy":
            Y = rng.random((6, k))
            Y[:3] = Y[:3] > 0.5
        elif loss == "poisson":
            Y = rng.poisson(1.5, (6, k)).astype(float)
        else:
            Y = rng.normal(size=(6, k)) * 0.5 + 0.5
        margin = min(np.abs(z).min() for z in pre_activations(net, X))
        if margin > 1e-3:
            return net, X, Y
    raise AssertionError("no problem away from the kink found")  # pragma: no cover


@pytest.mark.parametrize("output, loss", OUTPUT_LOSS)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_network_gradients_match_finite_differences(hidden, output, loss, backend):
    net, X, Y = make_problem(hidden, output, loss)
    dW, db = net.gradients(X, Y)
    analytic = np.concatenate([g.ravel() for g in dW] + [g.ravel() for g in db])
    numeric = numeric_gradient(lambda: net.loss(X, Y), net.parameters)
    assert np.abs(analytic).max() > 1e-4  # not a vacuous comparison of zeros
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)
    # the list layout follows the layers
    assert [g.shape for g in dW] == [W.shape for W in net.weights]
    assert [g.shape for g in db] == [b.shape for b in net.biases]


@pytest.mark.parametrize("hidden", [["relu", "tanh"], ["identity", "sigmoid"]])
def test_mixed_hidden_activations_gradients(hidden, backend):
    net, X, Y = make_problem(hidden, "softmax", "cross_entropy", seed=3)
    dW, db = net.gradients(X, Y)
    analytic = np.concatenate([g.ravel() for g in dW] + [g.ravel() for g in db])
    numeric = numeric_gradient(lambda: net.loss(X, Y), net.parameters)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("l1, l2", [(0.0, 0.3), (0.05, 0.0), (0.02, 0.5)])
@pytest.mark.parametrize(
    "output, loss",
    [("identity", "mse"), ("sigmoid", "binary_cross_entropy"), ("softmax", "cross_entropy")],
)
def test_regularised_gradient_matches_finite_differences(l1, l2, output, loss, backend):
    net, X, Y = make_problem("tanh", output, loss, seed=1)
    w = net.parameters[: net.spec.n_weights]
    w[...] = np.sign(w) * np.maximum(np.abs(w), 0.05)  # clear of |w|'s kink at 0
    kernels = _backend.kernels()
    grad = np.empty(net.spec.n_params)
    value = kernels.loss_and_gradient(net.spec, net.parameters, X, Y, l1, l2, grad)

    def f():
        return kernels.loss_and_gradient(net.spec, net.parameters, X, Y, l1, l2, None)

    numeric = numeric_gradient(f, net.parameters)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)

    # the penalty is l1 sum|W| + l2/2 sum W^2 on the weights, never on the biases
    plain = np.empty(net.spec.n_params)
    base = kernels.loss_and_gradient(net.spec, net.parameters, X, Y, 0.0, 0.0, plain)
    assert value == pytest.approx(base + l1 * np.abs(w).sum() + 0.5 * l2 * (w**2).sum(), rel=1e-12)
    nw = net.spec.n_weights
    np.testing.assert_allclose(
        grad[:nw], plain[:nw] + l1 * np.sign(w) + l2 * w, rtol=1e-12, atol=1e-15
    )
    np.testing.assert_array_equal(grad[nw:], plain[nw:])
    assert base == pytest.approx(net.loss(X, Y), rel=1e-14)


@pytest.mark.parametrize("output, loss", OUTPUT_LOSS)
def test_network_loss_is_the_documented_mean(output, loss, backend):
    """Network.loss is exactly nnfast.losses' mean of the network's own output."""
    net, X, Y = make_problem("tanh", output, loss, seed=2)
    expected = losses.get(loss)(Y, net.feedforward(X))
    assert net.loss(X, Y) == pytest.approx(expected, rel=1e-12)
    # and by hand, straight from the conventions in the design
    P = net.feedforward(X)
    if loss == "mse":
        by_hand = ((Y - P) ** 2).mean()
    elif loss == "binary_cross_entropy":
        by_hand = -(Y * np.log(P) + (1 - Y) * np.log(1 - P)).mean()
    elif loss == "mae":
        by_hand = np.abs(Y - P).mean()
    elif loss == "huber":
        d = np.abs(Y - P)
        by_hand = np.where(d < 1, d * d / 2, d - 0.5).mean()
    elif loss == "poisson":  # P is the rate exp(z)
        by_hand = (P - Y * np.log(P)).mean()
    else:
        by_hand = -(Y * np.log(P)).sum(axis=1).mean()
    assert net.loss(X, Y) == pytest.approx(by_hand, rel=1e-12)


def test_gradient_of_one_sample_equals_mean_of_batch_gradients(backend):
    net, X, Y = make_problem("sigmoid", "identity", "mse", seed=4)
    batch = np.concatenate([g.ravel() for g in sum(net.gradients(X, Y), [])])
    singles = [
        np.concatenate([g.ravel() for g in sum(net.gradients(X[i : i + 1], Y[i : i + 1]), [])])
        for i in range(len(X))
    ]
    np.testing.assert_allclose(batch, np.mean(singles, axis=0), rtol=1e-10, atol=1e-15)


# --- activations ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [a for a in activations.ACTIVATIONS if a != "softmax"])
def test_activation_derivative_matches_finite_differences(name):
    f = activations.get(name)
    z = np.linspace(-6, 6, 121) + 0.013  # never exactly on 0, the kink of relu and step
    numeric = (f(z + H) - f(z - H)) / (2 * H)
    np.testing.assert_allclose(f.derivative(z), numeric, rtol=1e-6, atol=1e-9)
    assert f.derivative(z).shape == z.shape


@settings(max_examples=50, deadline=None)
@given(z=st.floats(-30, 30).filter(lambda v: abs(v) > 1e-3 and abs(v - 20) > 1e-3))
def test_activation_derivatives_at_random_points(z):
    for name in HIDDEN:
        f = activations.get(name)
        numeric = (f(z + H) - f(z - H)) / (2 * H)
        assert float(f.derivative(z)) == pytest.approx(float(numeric), rel=1e-5, abs=1e-9)


def test_activation_values_by_formula():
    z = np.array([-3.0, -0.5, 0.0, 0.25, 4.0])
    np.testing.assert_allclose(activations.sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-15)
    np.testing.assert_allclose(activations.tanh(z), np.tanh(z), rtol=1e-15)
    np.testing.assert_array_equal(activations.relu(z), [0, 0, 0, 0.25, 4.0])
    np.testing.assert_array_equal(activations.identity(z), z)
    np.testing.assert_array_equal(activations.step(z), [0, 0, 1, 1, 1])
    assert float(activations.sigmoid.derivative(0.0)) == 0.25
    np.testing.assert_array_equal(activations.step.derivative(z), 0.0)
    assert activations.get("logistic") is activations.sigmoid
    assert activations.get("linear") is activations.identity


@pytest.mark.parametrize("z", [[0.3], [1.0, 2.0, 3.0], [-1.5, 0.0, 4.0, 2.2, -0.3]])
def test_softmax_jacobian_matches_finite_differences(z):
    z = np.array(z)
    J = activations.softmax.jacobian(z)
    numeric = np.empty((z.size, z.size))
    for j in range(z.size):
        e = np.zeros(z.size)
        e[j] = H
        numeric[:, j] = (activations.softmax(z + e) - activations.softmax(z - e)) / (2 * H)
    np.testing.assert_allclose(J, numeric, rtol=1e-6, atol=1e-10)
    p = activations.softmax(z)
    np.testing.assert_allclose(J, np.diag(p) - np.outer(p, p), rtol=1e-15, atol=1e-17)
    np.testing.assert_allclose(activations.softmax.derivative(z), np.diag(J), rtol=1e-15)
    np.testing.assert_allclose(J.sum(axis=0), 0.0, atol=1e-15)  # softmax sums to 1


def test_softmax_axis():
    z = np.random.default_rng(0).normal(size=(3, 4))
    rows = activations.softmax(z)
    cols = activations.softmax(z, axis=0)
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(cols.sum(axis=0), 1.0, rtol=1e-15)
    np.testing.assert_allclose(cols, activations.softmax(z.T).T, rtol=1e-15)
    np.testing.assert_allclose(rows, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), rtol=1e-14)


# --- losses ---------------------------------------------------------------------------------


def _loss_problem(name, rng, shape=(5, 3)):
    if name == "mse":
        return rng.normal(size=shape), rng.normal(size=shape)
    if name == "binary_cross_entropy":
        y = rng.random(shape)
        y[0] = y[0] > 0.5
        return y, rng.uniform(0.05, 0.95, shape)
    y = nnfast.one_hot(rng.integers(0, shape[1], shape[0]), shape[1])
    y[1] = rng.dirichlet(np.ones(shape[1]))
    p = rng.dirichlet(np.ones(shape[1]), shape[0]) * 0.9 + 0.1 / shape[1]
    return y, p


@pytest.mark.parametrize("name", ["mse", "binary_cross_entropy", "cross_entropy"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_loss_gradient_matches_finite_differences(name, reduction):
    loss = losses.get(name)
    y, p = _loss_problem(name, np.random.default_rng(0))
    numeric = numeric_gradient(lambda: loss(y, p, reduction=reduction), p)
    np.testing.assert_allclose(
        loss.gradient(y, p, reduction=reduction), numeric, rtol=1e-6, atol=1e-9
    )


def test_loss_values_by_formula():
    rng = np.random.default_rng(1)
    y, p = _loss_problem("mse", rng)
    assert losses.mse(y, p) == pytest.approx(((y - p) ** 2).mean(), rel=1e-14)
    y, p = _loss_problem("binary_cross_entropy", rng)
    assert losses.binary_cross_entropy(y, p) == pytest.approx(
        -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(), rel=1e-14
    )
    y, p = _loss_problem("cross_entropy", rng)
    assert losses.cross_entropy(y, p) == pytest.approx(
        -(y * np.log(p)).sum(axis=1).mean(), rel=1e-14
    )


@pytest.mark.parametrize(
    "name, count", [("mse", 15), ("binary_cross_entropy", 15), ("cross_entropy", 5)]
)
def test_sum_and_mean_reductions(name, count):
    """mean = sum / N, with N every element for mse/BCE and the samples for cross-entropy."""
    loss = losses.get(name)
    y, p = _loss_problem(name, np.random.default_rng(2))
    total, mean = loss(y, p, reduction="sum"), loss(y, p)
    assert mean == loss(y, p, reduction="mean")
    assert total == pytest.approx(count * mean, rel=1e-14)
    np.testing.assert_allclose(
        loss.gradient(y, p, reduction="sum"), count * loss.gradient(y, p), rtol=1e-14
    )
    with pytest.raises(ValueError, match="reduction"):
        loss(y, p, reduction="max")
    with pytest.raises(ValueError, match="reduction"):
        loss.gradient(y, p, reduction="none")


def test_cross_entropy_accepts_integer_labels():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, 7)
    p = rng.dirichlet(np.ones(4), 7)
    onehot = nnfast.one_hot(labels, 4)
    assert losses.cross_entropy(labels, p) == pytest.approx(
        losses.cross_entropy(onehot, p), rel=1e-15
    )
    np.testing.assert_array_equal(
        losses.cross_entropy.gradient(labels, p), losses.cross_entropy.gradient(onehot, p)
    )
    assert losses.cross_entropy(labels, p) == pytest.approx(
        -np.log(p[np.arange(7), labels]).mean(), rel=1e-14
    )


def test_loss_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        losses.mse([1.0, 2.0], [1.0, 2.0, 3.0])
