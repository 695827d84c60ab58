"""Activation functions as callable objects with their derivatives, looked up by name.

>>> from nnfast import activations
>>> float(activations.sigmoid(0.0))
0.5
>>> float(activations.sigmoid.derivative(0.0))
0.25

Each object carries the integer ``code`` the kernels use; ``ACTIVATIONS`` maps names to
objects. Values come from the NumPy reference, so the Python functions and both backends
compute the same thing. An activation with a parameter takes another value through ``get``:

>>> activations.get("leaky_relu", negative_slope=0.2)
<activation leaky_relu(negative_slope=0.2)>
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Literal

import numpy as np

from . import _reference as ref
from . import _spec

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import ArrayLike
    from typing_extensions import Self

    from ._typing import ActivationLike, FloatArray

    #: ``Activation.config``: the name, or the name with a parameter's value.
    Config = str | dict[str, str | float]


class Activation:
    """An activation f with ``f(z)`` and ``f.derivative(z)`` = f'(z), elementwise.

    ``init`` is the weight initialisation ``init="auto"`` gives a layer with this activation:
    ``"he"`` for the ReLU family, ``"xavier"`` otherwise. ``parameter`` names the activation's
    parameter (``leaky_relu``'s ``"negative_slope"``), None if it has none; its value is
    ``alpha``, which the kernels receive per layer.
    """

    def __init__(
        self,
        name: str,
        code: int,
        doc: str | None,
        init: Literal["he", "xavier"] = "xavier",
        parameter: str | None = None,
        alpha: float | None = None,
    ) -> None:
        self.name = name
        self.code = code
        self.init = init
        self.parameter = parameter
        self.alpha: float = _spec.default_alpha(code) if alpha is None else float(alpha)
        self.__doc__ = doc

    def __call__(self, z: ArrayLike) -> FloatArray:
        return ref.activate(self.code, np.asarray(z, dtype=np.float64), self.alpha)

    def derivative(self, z: ArrayLike) -> FloatArray:
        """f'(z), elementwise."""
        return ref.derivative(self.code, np.asarray(z, dtype=np.float64), self.alpha)

    @property
    def parameters(self) -> dict[str, float]:
        """``{parameter: alpha}``, or {} for an activation without a parameter."""
        return {} if self.parameter is None else {self.parameter: self.alpha}

    def with_parameters(self, **parameters: float) -> Self:
        """This activation with other parameter values (``negative_slope=0.2``)."""
        if not parameters:
            return self
        names = [] if self.parameter is None else [self.parameter]
        unknown = sorted(set(parameters) - set(names))
        if unknown:
            raise TypeError(
                f"activation {self.name!r} takes "
                f"{'the parameter ' + repr(names[0]) if names else 'no parameters'}"
                f", got {', '.join(map(repr, unknown))}."
            )
        value = parameters[names[0]]  # the one parameter (unknown ones were refused)
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not np.isfinite(float(value))
        ):
            raise ValueError(f"{self.parameter} must be a finite number, got {value!r}.")
        return type(self)(
            self.name, self.code, self.__doc__, self.init, self.parameter, float(value)
        )

    def config(self) -> Config:
        """The name, or ``{"name": ..., parameter: value}`` when the value is not the default
        (JSON for model files; ``get`` takes either)."""
        if self.parameter is None or self.alpha == _spec.default_alpha(self.code):
            return self.name
        return {"name": self.name, **self.parameters}

    @property
    def label(self) -> str:
        """``name`` with a parameter that is not the default: ``leaky_relu(negative_slope=0.2)``."""
        config = self.config()
        if isinstance(config, str):
            return config
        return f"{self.name}({self.parameter}={self.alpha!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Activation) and (self.name, self.alpha) == (
            other.name,
            other.alpha,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.alpha))

    def __repr__(self) -> str:
        return f"<activation {self.label}>"

    def __reduce__(self) -> tuple[Callable[[Config], Activation], tuple[Config]]:
        # pickled by name and parameters (the defaults are singletons)
        return (get, (self.config(),))


class Softmax(Activation):
    """softmax(z)_k = exp(z_k) / sum_j exp(z_j) along ``axis`` (shifted by the maximum)."""

    def __call__(self, z: ArrayLike, axis: int = -1) -> FloatArray:
        z = np.moveaxis(np.asarray(z, dtype=np.float64), axis, -1)
        return np.moveaxis(ref.softmax(z), -1, axis)

    def derivative(self, z: ArrayLike, axis: int = -1) -> FloatArray:
        """The Jacobian diagonal d softmax(z)_k / d z_k = p_k (1 - p_k).

        Softmax is not elementwise: for backpropagation use the full Jacobian
        ``diag(p) - p p^T`` (see ``jacobian``); the fused softmax + cross-entropy gradient is
        simply ``p - y``.
        """
        p = self(z, axis=axis)
        return p * (1.0 - p)

    def jacobian(self, z: ArrayLike) -> FloatArray:
        """d softmax(z)_i / d z_j = p_i (delta_ij - p_j) for one vector z."""
        p = self(np.asarray(z, dtype=np.float64).reshape(-1))
        return np.diag(p) - np.outer(p, p)


identity = Activation("identity", _spec.IDENTITY, "f(z) = z; f'(z) = 1.")
sigmoid = Activation(
    "sigmoid", _spec.SIGMOID, "f(z) = 1 / (1 + exp(-z)); f'(z) = f(z) (1 - f(z)). Stable for any z."
)
tanh = Activation("tanh", _spec.TANH, "f(z) = tanh(z); f'(z) = 1 - tanh(z)**2.")
relu = Activation("relu", _spec.RELU, "f(z) = max(z, 0); f'(z) = 1 where z > 0, else 0.", init="he")
step = Activation(
    "step", _spec.STEP, "The perceptron's step: f(z) = 1 where z >= 0, else 0; f'(z) = 0."
)
leaky_relu = Activation(
    "leaky_relu",
    _spec.LEAKY_RELU,
    "f(z) = z where z > 0, else negative_slope * z (default 0.01, as "
    "torch); f'(z) = 1 where z > 0, else negative_slope.",
    init="he",
    parameter="negative_slope",
)
elu = Activation(
    "elu",
    _spec.ELU,
    "f(z) = z where z > 0, else alpha (exp(z) - 1) (default alpha 1.0); f'(z) = 1 "
    "where z > 0, else alpha exp(z).",
    init="he",
    parameter="alpha",
)
gelu = Activation(
    "gelu",
    _spec.GELU,
    "f(z) = z Phi(z), Phi the standard normal CDF (the exact erf form, torch's "
    "approximate='none'); f'(z) = Phi(z) + z phi(z).",
    init="he",
)
softplus = Activation(
    "softplus",
    _spec.SOFTPLUS,
    "f(z) = log(1 + exp(z)), and z from z > 20 (torch's threshold); f'(z) = "
    "sigmoid(z) (1 from z > 20).",
    init="he",
)
silu = Activation(
    "silu",
    _spec.SILU,
    "f(z) = z sigmoid(z) (also called swish); f'(z) = s (1 + z (1 - s)), s = sigmoid(z).",
    init="he",
)
exp = Activation(
    "exp",
    _spec.EXP,
    "f(z) = exp(z); f'(z) = exp(z). The output of the Poisson loss: a rate, from its logarithm z.",
)
softmax = Softmax("softmax", _spec.SOFTMAX, Softmax.__doc__)

ACTIVATIONS = {
    a.name: a
    for a in (
        identity,
        sigmoid,
        tanh,
        relu,
        step,
        leaky_relu,
        elu,
        gelu,
        softplus,
        silu,
        exp,
        softmax,
    )
}
ALIASES = {"logistic": "sigmoid", "linear": "identity", "swish": "silu"}  # scikit-learn, Keras


def get(name: ActivationLike, **parameters: float) -> Activation:
    """The activation called ``name``, with ``parameters`` if given (``get("leaky_relu",
    negative_slope=0.2)``). An ``Activation`` is returned as it is (with ``parameters``
    applied); a dict ``{"name": ..., **parameters}`` (``Activation.config``) works too."""
    if isinstance(name, Activation):
        return name.with_parameters(**parameters)
    if isinstance(name, dict):
        config = dict(name)
        if "name" not in config:
            raise ValueError(f"an activation given as a dict needs a 'name', got {name!r}.")
        return get(config.pop("name"), **config, **parameters)
    if not isinstance(name, str):
        raise TypeError(f"activation must be a name (str), got {type(name).__name__}.")
    key = ALIASES.get(name, name)
    if key not in ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {name!r}. Supported activations are "
            f"{sorted(ACTIVATIONS) + sorted(ALIASES)}."
        )
    return ACTIVATIONS[key].with_parameters(**parameters)
