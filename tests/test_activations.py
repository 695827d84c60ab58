"""The hidden activations against their definitions: each formula re-derived in NumPy here,
and PyTorch's ``torch.nn.functional`` itself (opt-in: ``@pytest.mark.torch``), through both
backends' pieces and the public objects, in float64 (to 1e-12) and float32.
"""

import math
import pickle

import numpy as np
import pytest

import nnfast
from nnfast import _reference, activations

F32_EPS = float(np.finfo(np.float32).eps)


# name -> (f(z), f'(z)), written from the definitions (torch's defaults)
def phi(z):
    """The standard normal CDF, from math.erfc (not the code under test's)."""
    return np.vectorize(lambda x: 0.5 * math.erfc(-x / math.sqrt(2.0)))(z)


def sigmoid(z):
    return np.vectorize(lambda x: 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0)(z)


# name -> parameter -> (f, f'), from the definitions (defaults: torch's). Held to 1e-12: gelu's
# far tail moves by z**2 times a relative change of z (its condition number), 4e-14 at -20.
FORMULAS = {
    "leaky_relu": lambda s=0.01: (
        lambda z: np.where(z > 0, z, s * z),
        lambda z: np.where(z > 0, 1.0, s),
    ),
    "elu": lambda a=1.0: (
        lambda z: np.where(z > 0, z, a * np.expm1(np.minimum(z, 0))),
        lambda z: np.where(z > 0, 1.0, a * np.exp(np.minimum(z, 0))),
    ),
    "gelu": lambda: (
        lambda z: z * phi(z),
        lambda z: phi(z) + z * np.exp(-z * z / 2) / math.sqrt(2 * math.pi),
    ),
    "softplus": lambda: (
        lambda z: np.where(z > 20, z, np.log1p(np.exp(np.minimum(z, 20)))),
        lambda z: np.where(z > 20, 1.0, sigmoid(z)),
    ),
    "silu": lambda: (lambda z: z * sigmoid(z), lambda z: sigmoid(z) * (1 + z * (1 - sigmoid(z)))),
}


def torch_function(name):
    import torch.nn.functional as F

    return {
        "leaky_relu": F.leaky_relu,
        "elu": F.elu,
        "gelu": F.gelu,
        "softplus": F.softplus,
        "silu": F.silu,
    }[name]


def points(dtype=np.float64):
    """Both tails, the kinks at 0 (and -0.0), and a dense sweep in between."""
    z = np.concatenate(
        [np.linspace(-20, 20, 801), [-700.0, -60.0, -1e-300, -0.0, 0.0, 1e-300, 60.0, 700.0]]
    )
    if dtype == np.float32:
        z = z[np.abs(z) < 80]  # float32's exp overflows from 88
    return z.astype(dtype).reshape(3, -1) if z.size % 3 == 0 else z.astype(dtype)[None, :]


@pytest.fixture(params=["cython", "numpy"])
def pieces(request):
    if request.param == "cython":
        return request.getfixturevalue("cython_kernels").pieces
    return _reference.pieces


def slope(pieces, code, z, alpha=None):
    """f'(z) as the kernels compute it in a forward pass."""
    return pieces.derivative(code, z, alpha)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_activation_and_derivative_by_formula(pieces, name):
    f, f_prime = FORMULAS[name]()
    code = activations.get(name).code
    z = points()
    np.testing.assert_allclose(pieces.activate(code, z), f(z), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(slope(pieces, code, z), f_prime(z), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_public_activation_by_formula(name):
    f, f_prime = FORMULAS[name]()
    z = points().ravel()
    np.testing.assert_allclose(activations.get(name)(z), f(z), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(
        activations.get(name).derivative(z), f_prime(z), rtol=1e-12, atol=1e-300
    )
    assert activations.get(name).init == "he"  # the ReLU family: He under init="auto"


def torch_values(name, z, dtype, *parameter):
    """torch's f(z) and f'(z) (by autograd) in ``dtype``, as NumPy arrays."""
    import torch

    zt = torch.tensor(z, dtype=dtype, requires_grad=True)
    value = torch_function(name)(zt, *parameter)
    value.sum().backward()
    return value.detach().numpy(), zt.grad.numpy()


def assert_matches_torch(got, want, z, rtol, eps):
    """|got - want| <= rtol |want| + 2 eps (1 + |z|): torch's own rounding floor, which its
    gelu (1 + erf(z / sqrt 2)) reaches where the sum cancels (it is 0 below z = -8.3, where
    the true value is -1e-16 and less)."""
    err = np.abs(got.astype(np.float64) - want)
    bound = rtol * np.abs(want) + 2 * eps * (1 + np.abs(z))
    worst = int(np.argmax(err - bound))
    assert (err <= bound).all(), (
        f"at z = {z.flat[worst]!r}: got {got.flat[worst]!r}, torch {want.flat[worst]!r}"
    )


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_activation_and_derivative_match_torch(pieces, name):
    import torch

    code = activations.get(name).code
    z = points()
    value, grad = torch_values(name, z, torch.float64)
    assert_matches_torch(pieces.activate(code, z), value, z, 1e-12, np.finfo(float).eps)
    assert_matches_torch(slope(pieces, code, z), grad, z, 1e-12, np.finfo(float).eps)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_float32_activation_and_derivative_match_torch(request, name):
    """float32: the compiled module and the reference computing in float32 against torch's
    float32, to a few roundings."""
    import torch

    from nnfast import _backend

    request.getfixturevalue("cython_kernels")
    code = activations.get(name).code
    z = points(np.float32)
    value, grad = torch_values(name, z, torch.float32)
    for module in (_backend.kernels("cython", "float32").pieces, _reference.pieces):
        got = module.activate(code, z)
        assert got.dtype == np.float32
        assert_matches_torch(got, value, z, 4 * F32_EPS, F32_EPS)
        assert_matches_torch(slope(module, code, z), grad, z, 4 * F32_EPS, F32_EPS)


# --- parameters: per layer, through the kernels --------------------------------------------

PARAMETERS = {"leaky_relu": ("negative_slope", (0.2, -0.5, 0.0)), "elu": ("alpha", (0.5, 2.0, 0.0))}


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_parameterised_activation_by_formula(pieces, name):
    parameter, values = PARAMETERS[name]
    z = points()
    for value in values:
        act = activations.get(name, **{parameter: value})
        f, f_prime = FORMULAS[name](value)
        assert act.alpha == value and act.parameters == {parameter: value}
        for got, want in (
            (pieces.activate(act.code, z, value), f(z)),
            (slope(pieces, act.code, z, value), f_prime(z)),
            (act(z), f(z)),
            (act.derivative(z), f_prime(z)),
        ):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_parameterised_activation_matches_torch(pieces, name):
    import torch

    parameter, values = PARAMETERS[name]
    code, z = activations.get(name).code, points()
    for value in values:
        want, grad = torch_values(name, z, torch.float64, value)
        assert_matches_torch(pieces.activate(code, z, value), want, z, 1e-12, np.finfo(float).eps)
        assert_matches_torch(slope(pieces, code, z, value), grad, z, 1e-12, np.finfo(float).eps)


def test_activation_parameters_are_checked():
    with pytest.raises(
        TypeError, match="'leaky_relu' takes the parameter 'negative_slope', got 'alpha'"
    ):
        activations.get("leaky_relu", alpha=0.1)
    with pytest.raises(TypeError, match="'tanh' takes no parameters, got 'beta'"):
        activations.get("tanh", beta=2.0)
    for bad in (np.nan, np.inf, "0.1", True):
        with pytest.raises(ValueError, match="negative_slope must be a finite number"):
            activations.get("leaky_relu", negative_slope=bad)
    with pytest.raises(ValueError, match="needs a 'name'"):
        activations.get({"negative_slope": 0.1})


def test_activation_objects_compare_print_and_pickle_with_their_parameters():
    slope_2 = activations.get("leaky_relu", negative_slope=0.2)
    assert repr(slope_2) == "<activation leaky_relu(negative_slope=0.2)>"
    assert slope_2 == activations.get({"name": "leaky_relu", "negative_slope": 0.2})
    assert slope_2 != activations.leaky_relu
    assert activations.get("leaky_relu", negative_slope=0.01) == activations.leaky_relu
    assert slope_2.config() == {"name": "leaky_relu", "negative_slope": 0.2}
    assert activations.leaky_relu.config() == "leaky_relu"
    assert pickle.loads(pickle.dumps(slope_2)) == slope_2
    assert pickle.loads(pickle.dumps(activations.tanh)) is activations.tanh


def per_layer_network():
    hidden = [
        activations.get("leaky_relu", negative_slope=0.3),
        activations.get("leaky_relu", negative_slope=-0.2),
    ]
    return nnfast.Network([3, 6, 5, 2], activation=hidden, output_activation="identity", seed=3)


def numpy_forward(net, X, slopes):
    """The network's output from its weights, each hidden layer with its own slope."""
    a = X
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        z = a @ W + b
        a = np.where(z > 0, z, slopes[l] * z) if l < len(slopes) else z
    return a


def test_each_layer_gets_its_own_parameter(backend):
    net = per_layer_network()
    assert net.spec.alphas == (0.3, -0.2, 0.0)
    X = np.random.default_rng(0).normal(size=(40, 3))
    np.testing.assert_allclose(
        net.feedforward(X), numpy_forward(net, X, (0.3, -0.2)), rtol=1e-13, atol=1e-15
    )
    assert repr(net) == (
        "Network([3, 6, 5, 2], activation=['leaky_relu(negative_slope=0.3)', "
        "'leaky_relu(negative_slope=-0.2)'], output_activation='identity', "
        "loss='mse')"
    )


@pytest.mark.parametrize("batch_size", [1, 4, None])
def test_training_with_per_layer_parameters_agrees_between_backends(batch_size, on_both):
    X = np.random.default_rng(1).normal(size=(23, 3))
    Y = np.stack([np.sin(X[:, 0]), X[:, 1] * X[:, 2]], axis=1)

    def train():
        net = per_layer_network()
        history = net.train(X, Y, epochs=6, learning_rate=0.05, batch_size=batch_size, seed=2)
        return net.parameters.copy(), history.loss

    (p_c, loss_c), (p_r, loss_r) = on_both(train)
    np.testing.assert_allclose(p_c, p_r, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss_c, loss_r, rtol=1e-10)
    # and the slopes mattered: the default slope trains to other weights
    net = per_layer_network()
    default = nnfast.Network(
        [3, 6, 5, 2], activation="leaky_relu", output_activation="identity", seed=3
    )
    np.testing.assert_array_equal(net.parameters, default.parameters)
    default.train(X, Y, epochs=6, learning_rate=0.05, batch_size=batch_size, seed=2)
    assert np.abs(default.parameters - p_r).max() > 1e-3


def test_parameters_are_saved_loaded_and_kept_by_restarts(tmp_path):
    net = per_layer_network()
    path = tmp_path / "net.npz"
    net.save(path)
    loaded = nnfast.load(path)
    assert loaded.layer_activations == net.layer_activations
    assert loaded.spec == net.spec
    X = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_array_equal(loaded.feedforward(X), net.feedforward(X))
    copy = net._restart_copy(np.random.default_rng(0))
    assert copy.spec.alphas == net.spec.alphas
