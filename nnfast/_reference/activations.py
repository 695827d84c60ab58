"""The NumPy reference, activations: f(z, alpha), and f'(z, a, alpha) from z or from
the value a = f(z)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .._spec import (
    ELU,
    EXP,
    GELU,
    IDENTITY,
    LEAKY_RELU,
    RELU,
    SIGMOID,
    SILU,
    SOFTMAX,
    SOFTPLUS,
    STEP,
    TANH,
    default_alpha,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    from numpy.typing import NDArray

    from .._typing import RealArray

    #: Each function returns arrays of its input's dtype, float64 or float32.
    _Real = TypeVar("_Real", bound=np.floating[Any])

    #: An elementwise activation f(z, alpha), and its derivative f'(z, a, alpha).
    Function = Callable[[RealArray, float], RealArray]
    Derivative = Callable[[RealArray, RealArray, float], RealArray]

#
# alpha is the layer's parameter (``_spec.DEFAULT_ALPHA``: leaky_relu's negative slope, elu's
# alpha); the other activations ignore it. f' uses whichever of z and a gives it exactly.


def identity(z: NDArray[_Real], alpha: float | None = None) -> NDArray[_Real]:
    return z


def identity_derivative(
    z: NDArray[_Real], a: NDArray[_Real], alpha: float | None = None
) -> NDArray[_Real]:
    return np.ones_like(a)


def sigmoid(z: NDArray[_Real], alpha: float | None = None) -> NDArray[_Real]:
    """1 / (1 + exp(-z)), without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(
    z: NDArray[_Real], a: NDArray[_Real], alpha: float | None = None
) -> NDArray[_Real]:
    return a * (1.0 - a)


def tanh(z: NDArray[_Real], alpha: float | None = None) -> NDArray[_Real]:
    return np.tanh(z)


def tanh_derivative(
    z: NDArray[_Real], a: NDArray[_Real], alpha: float | None = None
) -> NDArray[_Real]:
    # numpy's stubs promote a float32 array met by a Python float to float64; NumPy does not
    return cast("NDArray[_Real]", 1.0 - a * a)


def relu(z: NDArray[_Real], alpha: float | None = None) -> NDArray[_Real]:
    return z * (z > 0.0)  # as the kernel computes it, branch-free


def relu_derivative(
    z: NDArray[_Real], a: NDArray[_Real], alpha: float | None = None
) -> NDArray[_Real]:
    return (a > 0).astype(a.dtype)


def step(z: NDArray[_Real], alpha: float | None = None) -> NDArray[_Real]:
    """The perceptron's step: 1 where z >= 0, else 0."""
    return (z >= 0).astype(z.dtype)


def step_derivative(
    z: NDArray[_Real], a: NDArray[_Real], alpha: float | None = None
) -> NDArray[_Real]:
    return np.zeros_like(a)


def leaky_relu(z: NDArray[_Real], alpha: float) -> NDArray[_Real]:
    """z where z > 0, else alpha z (alpha: the negative slope)."""
    return np.where(z > 0.0, z, z * alpha)


def leaky_relu_derivative(z: NDArray[_Real], a: NDArray[_Real], alpha: float) -> NDArray[_Real]:
    return np.where(z > 0.0, 1.0, alpha).astype(z.dtype)


def elu(z: NDArray[_Real], alpha: float) -> NDArray[_Real]:
    """z where z > 0, else alpha (exp(z) - 1)."""
    return np.where(z > 0.0, z, alpha * np.expm1(np.minimum(z, 0.0)))


def elu_derivative(z: NDArray[_Real], a: NDArray[_Real], alpha: float) -> NDArray[_Real]:
    return np.where(z > 0.0, 1.0, alpha * np.exp(np.minimum(z, 0.0))).astype(z.dtype)


SQRT1_2 = 0.70710678118654752440  # 1/sqrt(2) and 1/sqrt(2 pi), as torch's GELU writes them
INV_SQRT_2PI = 1.12837916709551257390 * SQRT1_2 * 0.5


def gelu_cdf(z: NDArray[_Real]) -> NDArray[_Real]:
    """Phi(z) = (1 + erf(z / sqrt 2)) / 2, as erfc(-z / sqrt 2) / 2 (exact for negative z)."""
    from scipy.special import erfc  # imported when used: import nnfast stays light

    return 0.5 * erfc(-z * SQRT1_2)


def gelu(z: NDArray[_Real], alpha: float | None = None) -> NDArray[_Real]:
    """z Phi(z), Phi the standard normal CDF (torch's exact form)."""
    return z * gelu_cdf(z)


def gelu_derivative(
    z: NDArray[_Real], a: NDArray[_Real], alpha: float | None = None
) -> NDArray[_Real]:
    # (the stubs' float64 again: the sum has z's dtype)
    return cast("NDArray[_Real]", gelu_cdf(z) + z * (INV_SQRT_2PI * np.exp(z * z * -0.5)))


def softplus(z: NDArray[_Real], alpha: float | None = None) -> NDArray[_Real]:
    """log(1 + exp(z)), and z itself from z > 20 (torch's threshold)."""
    return np.where(z > 20.0, z, np.log1p(np.exp(np.minimum(z, 20.0))))


def softplus_derivative(
    z: NDArray[_Real], a: NDArray[_Real], alpha: float | None = None
) -> NDArray[_Real]:
    e = np.exp(np.minimum(z, 20.0))
    return np.where(z > 20.0, 1.0, e / (e + 1.0)).astype(z.dtype)


def silu(z: NDArray[_Real], alpha: float | None = None) -> NDArray[_Real]:
    """z sigmoid(z), written as torch computes it: z / (1 + exp(-z))."""
    with np.errstate(over="ignore"):  # exp(-z) = inf: z / inf = 0, as torch
        return z / (1.0 + np.exp(-z))


def silu_derivative(
    z: NDArray[_Real], a: NDArray[_Real], alpha: float | None = None
) -> NDArray[_Real]:
    with np.errstate(over="ignore"):
        s = 1.0 / (1.0 + np.exp(-z))
    return s * (1.0 + z * (1.0 - s))


def exponential(z: NDArray[_Real], alpha: float | None = None) -> NDArray[_Real]:
    """exp(z): the Poisson loss's output, a rate from its logarithm."""
    return np.exp(z)


def exponential_derivative(
    z: NDArray[_Real], a: NDArray[_Real], alpha: float | None = None
) -> NDArray[_Real]:
    return a


# The elementwise activations, one entry each: code -> (f, f').
ELEMENTWISE: dict[int, tuple[Function, Derivative]] = {
    IDENTITY: (identity, identity_derivative),
    SIGMOID: (sigmoid, sigmoid_derivative),
    TANH: (tanh, tanh_derivative),
    RELU: (relu, relu_derivative),
    STEP: (step, step_derivative),
    LEAKY_RELU: (leaky_relu, leaky_relu_derivative),
    ELU: (elu, elu_derivative),
    GELU: (gelu, gelu_derivative),
    SOFTPLUS: (softplus, softplus_derivative),
    SILU: (silu, silu_derivative),
    EXP: (exponential, exponential_derivative),
}


def softmax(z: NDArray[_Real]) -> NDArray[_Real]:
    """exp(z) / sum(exp(z)) along the last axis, shifted by the row maximum."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(p: NDArray[_Real], g: NDArray[_Real]) -> NDArray[_Real]:
    """Vector-Jacobian product of softmax: dL/dz from p = softmax(z) and g = dL/dp."""
    return p * (g - (g * p).sum(axis=-1, keepdims=True))


def activate(code: int, z: NDArray[_Real], alpha: float | None = None) -> NDArray[_Real]:
    """f(z) for activation ``code`` with parameter alpha (None: its default; softmax: along
    the last axis)."""
    if code == SOFTMAX:
        return softmax(z)
    f = ELEMENTWISE[code][0]  # each entry keeps z's dtype
    return cast("NDArray[_Real]", f(z, default_alpha(code) if alpha is None else alpha))


def derivative(code: int, z: NDArray[_Real], alpha: float | None = None) -> NDArray[_Real]:
    """f'(z), elementwise, as the forward pass computes it beside f(z) (softmax's Jacobian is
    ``softmax_backward``'s)."""
    return activate_and_derivative(code, z, alpha)[1]


def activate_and_derivative(
    code: int, z: NDArray[_Real], alpha: float | None = None
) -> tuple[NDArray[_Real], NDArray[_Real]]:
    """(f(z), f'(z)) for an elementwise activation: a hidden layer's forward pass."""
    if code not in ELEMENTWISE:
        raise ValueError(
            f"code must be an elementwise activation {tuple(ELEMENTWISE)}, got "
            f"{code!r} (softmax: use softmax_backward)."
        )
    f, f_prime = ELEMENTWISE[code]
    alpha = default_alpha(code) if alpha is None else alpha
    a = cast("NDArray[_Real]", f(z, alpha))  # each entry keeps z's dtype
    return a, cast("NDArray[_Real]", f_prime(z, a, alpha))
