"""The regression losses mae, huber and poisson against their definitions: the formulas
re-derived in NumPy here, and PyTorch's L1Loss, HuberLoss and PoissonNLLLoss(log_input=True)
themselves (opt-in: ``@pytest.mark.torch``), through both backends' pieces, the public loss
objects and a whole Network, in float64 and float32.
"""

import numpy as np
import pytest

import nnfast
from nnfast import _backend, _reference, losses
from nnfast._spec import ADAM, EXP, HUBER, IDENTITY, MAE, POISSON, SOFTMAX, TANH, Hyper

F32_EPS = float(np.finfo(np.float32).eps)

# loss code -> (elementwise loss of d = f(z) - y, its derivative in d); poisson: of (z, y)
FORMULAS = {
    MAE: (np.abs, np.sign),
    HUBER: (
        lambda d: np.where(np.abs(d) < 1, d * d / 2, np.abs(d) - 0.5),
        lambda d: np.clip(d, -1, 1),
    ),
}
CASES = [
    (IDENTITY, MAE),
    (TANH, MAE),
    (SOFTMAX, MAE),
    (IDENTITY, HUBER),
    (TANH, HUBER),
    (SOFTMAX, HUBER),
    (EXP, POISSON),
]


@pytest.fixture(params=["cython", "numpy"])
def pieces(request):
    if request.param == "cython":
        return request.getfixturevalue("cython_kernels").pieces
    return _reference.pieces


def problem(loss, seed=0, shape=(7, 3), dtype=np.float64):
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=2.0, size=shape)
    y = rng.poisson(2.0, shape).astype(float) if loss == POISSON else rng.normal(size=shape)
    return z.astype(dtype), y.astype(dtype)


def by_formula(code, loss, z, y):
    """(summed loss, its gradient w.r.t. z), written from the definitions."""
    if loss == POISSON:
        return np.sum(np.exp(z) - y * z), np.exp(z) - y
    value, slope = FORMULAS[loss]
    if code == SOFTMAX:
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        g = slope(p - y)
        jacobian_vjp = p * (g - (g * p).sum(axis=1, keepdims=True))
        return np.sum(value(p - y)), jacobian_vjp
    a, f_prime = (np.tanh(z), 1 - np.tanh(z) ** 2) if code == TANH else (z, np.ones_like(z))
    return np.sum(value(a - y)), slope(a - y) * f_prime


@pytest.mark.parametrize("code, loss", CASES)
def test_output_delta_by_formula(pieces, code, loss):
    z, y = problem(loss)
    total, delta = pieces.output_delta(loss, code, z, y)
    want_total, want_delta = by_formula(code, loss, z, y)
    assert total == pytest.approx(want_total, rel=1e-13)
    np.testing.assert_allclose(delta, want_delta, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ["mae", "huber", "poisson"])
def test_public_losses_by_formula_and_their_gradients(name):
    rng = np.random.default_rng(1)
    y = rng.poisson(2.0, (5, 2)).astype(float) if name == "poisson" else rng.normal(size=(5, 2))
    p = rng.uniform(0.3, 4.0, (5, 2)) if name == "poisson" else rng.normal(size=(5, 2)) * 2
    loss = losses.get(name)
    want = {
        "mae": lambda: np.abs(p - y).mean(),
        "huber": lambda: np.where(np.abs(p - y) < 1, (p - y) ** 2 / 2, np.abs(p - y) - 0.5).mean(),
        "poisson": lambda: (p - y * np.log(p)).mean(),
    }[name]()
    assert loss(y, p) == pytest.approx(want, rel=1e-14)
    assert loss(y, p, reduction="sum") == pytest.approx(want * y.size, rel=1e-14)
    numeric = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        up, down = p.copy(), p.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        numeric[i] = (loss(y, up) - loss(y, down)) / 2e-6
    np.testing.assert_allclose(loss.gradient(y, p), numeric, rtol=1e-6, atol=1e-9)
    assert losses.get("mean_absolute_error") is losses.mae


def test_poisson_network_outputs_rates_and_refuses_negative_counts():
    net = nnfast.Network([3, 4, 2], activation="tanh", loss="poisson", seed=0)
    assert net.output_activation == "exp"
    X = np.random.default_rng(0).normal(size=(6, 3))
    logits = np.tanh(X @ net.weights[0] + net.biases[0]) @ net.weights[1] + net.biases[1]
    np.testing.assert_allclose(net.feedforward(X), np.exp(logits), rtol=1e-13)
    with pytest.raises(ValueError, match="Y must hold counts or rates >= 0 for the Poisson"):
        net.train(X, -np.ones((6, 2)), epochs=1)
    with pytest.raises(ValueError, match="poisson.*needs output_activation='exp'"):
        nnfast.Network([3, 2], loss="poisson", output_activation="identity")


@pytest.mark.parametrize("name", ["mae", "huber", "poisson"])
def test_network_loss_and_gradient_by_formula(name, backend):
    """Network.loss is the documented mean of the network's output; its gradient, the
    formula's chained by hand through one tanh layer."""
    net = nnfast.Network([3, 4, 2], activation="tanh", loss=name, seed=3)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(9, 3))
    Y = rng.poisson(1.0, (9, 2)).astype(float) if name == "poisson" else rng.normal(size=(9, 2))
    W1, W2 = net.weights
    b1, b2 = net.biases
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    code = {"mae": MAE, "huber": HUBER, "poisson": POISSON}[name]
    total, delta = by_formula(EXP if name == "poisson" else IDENTITY, code, z, Y)
    assert net.loss(X, Y) == pytest.approx(total / Y.size, rel=1e-12)
    delta = delta / Y.size
    dW2, db2 = h.T @ delta, delta.sum(axis=0)
    d1 = (delta @ W2.T) * (1 - h * h)
    (gW1, gW2), (gb1, gb2) = net.gradients(X, Y)
    for got, want in ((gW2, dW2), (gb2, db2), (gW1, X.T @ d1), (gb1, d1.sum(axis=0))):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-14)


@pytest.mark.torch
@pytest.mark.parametrize("code, loss", CASES)
def test_output_delta_matches_torch(pieces, code, loss):
    import torch

    z, y = problem(loss, seed=4)
    zt = torch.tensor(z, requires_grad=True)
    yt = torch.tensor(y)
    if loss == POISSON:
        value = torch.nn.PoissonNLLLoss(log_input=True, full=False)(zt, yt)
    else:
        a = {IDENTITY: zt, TANH: torch.tanh(zt), SOFTMAX: torch.softmax(zt, dim=1)}[code]
        criterion = torch.nn.L1Loss() if loss == MAE else torch.nn.HuberLoss(delta=1.0)
        value = criterion(a, yt)
    value.backward()
    total, delta = pieces.output_delta(loss, code, z, y)
    assert total / y.size == pytest.approx(value.item(), rel=1e-12)
    np.testing.assert_allclose(delta / y.size, zt.grad.numpy(), rtol=1e-12, atol=1e-17)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["mae", "huber", "poisson"])
def test_network_matches_torch(name, backend):
    """A two-layer network's loss and every gradient, against the same torch model."""
    import torch

    net = nnfast.Network([3, 5, 2], activation="gelu", loss=name, seed=5)
    rng = np.random.default_rng(6)
    X = rng.normal(size=(11, 3))
    Y = rng.poisson(1.0, (11, 2)).astype(float) if name == "poisson" else rng.normal(size=(11, 2))
    params = [
        torch.tensor(p, requires_grad=True)
        for p in (net.weights[0], net.biases[0], net.weights[1], net.biases[1])
    ]
    W1, b1, W2, b2 = params
    z = torch.nn.functional.gelu(torch.tensor(X) @ W1 + b1) @ W2 + b2
    criterion = {
        "mae": torch.nn.L1Loss(),
        "huber": torch.nn.HuberLoss(),
        "poisson": torch.nn.PoissonNLLLoss(log_input=True),
    }[name]
    value = criterion(z, torch.tensor(Y))  # poisson: z is the log rate
    value.backward()
    assert net.loss(X, Y) == pytest.approx(value.item(), rel=1e-12)
    (gW1, gW2), (gb1, gb2) = net.gradients(X, Y)
    for got, param in zip((gW1, gb1, gW2, gb2), params):
        np.testing.assert_allclose(got, param.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("name", ["mae", "huber", "poisson"])
def test_float32_training_agrees_with_the_float32_reference(name, cython_kernels):
    """A few epochs of mini-batch Adam in float32, compiled against the reference computing
    in float32 (residuals kept clear of MAE's kink at 0: no sign flips between them)."""
    k32 = _backend.kernels("cython", "float32")
    net = nnfast.Network([4, 6, 2], activation="silu", loss=name, seed=7)
    rng = np.random.default_rng(8)
    X = rng.normal(size=(40, 4)).astype(np.float32)
    Y = (
        rng.poisson(1.0, (40, 2))
        if name == "poisson"
        else rng.normal(size=(40, 2)) + 5 * np.sign(rng.normal(size=(40, 2)))
    ).astype(np.float32)
    hyper = Hyper(0.01, optimizer=ADAM)
    results = []
    for module in (k32, _reference):
        params = net.parameters.astype(np.float32)
        state = nnfast._spec.OptimizerState(net.spec.n_params, hyper, np.float32)
        workspace = module.Workspace(net.spec, 40, 8, np.float32)
        history = np.zeros((3, 2))
        module.train_epochs(
            net.spec,
            params,
            X,
            Y,
            3,
            8,
            True,
            state,
            hyper,
            np.random.default_rng(0),
            workspace,
            history,
        )
        results.append((params, history[:, 0]))
    (p_c, h_c), (p_r, h_r) = results
    steps = 3 * 5
    np.testing.assert_allclose(p_c, p_r, rtol=0, atol=8 * F32_EPS * 2 * steps)
    np.testing.assert_allclose(h_c, h_r, rtol=8 * F32_EPS * 2 * steps)
