"""The hidden activations against their definitions: each formula re-derived in NumPy here,
and PyTorch's ``torch.nn.functional`` itself (opt-in: ``@pytest.mark.torch``), through both
backends' pieces and the public objects, in float64 (to 1e-12) and float32.
"""
import numpy as np
import pytest

from nnfast import _reference, activations

F32_EPS = float(np.finfo(np.float32).eps)

# name -> (f(z), f'(z)), written from the definitions (torch's defaults)
FORMULAS = {
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z),
                   lambda z: np.where(z > 0, 1.0, 0.01)),
}


def torch_function(name):
    import torch.nn.functional as F

    return {"leaky_relu": F.leaky_relu}[name]


def points(dtype=np.float64):
    """Both tails, the kinks at 0 (and -0.0), and a dense sweep in between."""
    z = np.concatenate([np.linspace(-20, 20, 801), [-700.0, -60.0, -1e-300, -0.0, 0.0, 1e-300,
                                                     60.0, 700.0]])
    if dtype == np.float32:
        z = z[np.abs(z) < 80]  # float32's exp overflows from 88
    return z.astype(dtype).reshape(3, -1) if z.size % 3 == 0 else z.astype(dtype)[None, :]


@pytest.fixture(params=["cython", "numpy"])
def pieces(request):
    if request.param == "cython":
        return request.getfixturevalue("cython_kernels").pieces
    return _reference.pieces


def slope(pieces, code, z):
    """f'(z) as the kernels compute it in a forward pass."""
    return pieces.derivative(code, pieces.activate(code, z))


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_activation_and_derivative_by_formula(pieces, name):
    f, f_prime = FORMULAS[name]
    code = activations.get(name).code
    z = points()
    np.testing.assert_allclose(pieces.activate(code, z), f(z), rtol=1e-15, atol=0)
    np.testing.assert_allclose(slope(pieces, code, z), f_prime(z), rtol=1e-15, atol=0)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_public_activation_by_formula(name):
    f, f_prime = FORMULAS[name]
    z = points().ravel()
    np.testing.assert_allclose(activations.get(name)(z), f(z), rtol=1e-15, atol=0)
    np.testing.assert_allclose(activations.get(name).derivative(z), f_prime(z), rtol=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_activation_and_derivative_match_torch(pieces, name):
    import torch

    code = activations.get(name).code
    z = points()
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    value = torch_function(name)(zt)
    value.sum().backward()
    np.testing.assert_allclose(pieces.activate(code, z), value.detach().numpy(), rtol=1e-12,
                               atol=1e-300)
    np.testing.assert_allclose(slope(pieces, code, z), zt.grad.numpy(), rtol=1e-12, atol=1e-300)


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
    zt = torch.tensor(z, dtype=torch.float32, requires_grad=True)
    value = torch_function(name)(zt)
    value.sum().backward()
    want, want_slope = value.detach().numpy(), zt.grad.numpy()
    for module in (_backend.kernels("cython", "float32").pieces, _reference.pieces):
        got = module.activate(code, z)
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=4 * F32_EPS, atol=1e-37)
        np.testing.assert_allclose(slope(module, code, z), want_slope, rtol=4 * F32_EPS,
                                   atol=1e-37)
