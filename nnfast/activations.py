"""Activation functions as callable objects with their derivatives, looked up by name.

>>> from nnfast import activations
>>> float(activations.sigmoid(0.0))
0.5
>>> float(activations.sigmoid.derivative(0.0))
0.25

Each object carries the integer ``code`` the kernels use; ``ACTIVATIONS`` maps names to
objects. Values come from the NumPy reference, so the Python functions and both backends
compute the same thing.
"""

from __future__ import annotations

import numpy as np

from . import _reference as ref
from . import _spec


class Activation:
    """An activation f with ``f(z)`` and ``f.derivative(z)`` = f'(z), elementwise."""

    def __init__(self, name, code, doc):
        self.name = name
        self.code = code
        self.__doc__ = doc

    def __call__(self, z):
        return ref.activate(self.code, np.asarray(z, dtype=np.float64))

    def derivative(self, z):
        """f'(z), elementwise."""
        return ref.derivative(self.code, self(z))

    def __repr__(self):
        return f"<activation {self.name}>"

    def __reduce__(self):  # pickle by name: activations are singletons
        return (get, (self.name,))


class Softmax(Activation):
    """softmax(z)_k = exp(z_k) / sum_j exp(z_j) along ``axis`` (shifted by the maximum)."""

    def __call__(self, z, axis=-1):
        z = np.moveaxis(np.asarray(z, dtype=np.float64), axis, -1)
        return np.moveaxis(ref.softmax(z), -1, axis)

    def derivative(self, z, axis=-1):
        """The Jacobian diagonal d softmax(z)_k / d z_k = p_k (1 - p_k).

        Softmax is not elementwise: for backpropagation use the full Jacobian
        ``diag(p) - p p^T`` (see ``jacobian``); the fused softmax + cross-entropy gradient is
        simply ``p - y``.
        """
        p = self(z, axis=axis)
        return p * (1.0 - p)

    def jacobian(self, z):
        """d softmax(z)_i / d z_j = p_i (delta_ij - p_j) for one vector z."""
        p = self(np.asarray(z, dtype=np.float64).reshape(-1))
        return np.diag(p) - np.outer(p, p)


identity = Activation("identity", _spec.IDENTITY, "f(z) = z; f'(z) = 1.")
sigmoid = Activation(
    "sigmoid", _spec.SIGMOID, "f(z) = 1 / (1 + exp(-z)); f'(z) = f(z) (1 - f(z)). Stable for any z."
)
tanh = Activation("tanh", _spec.TANH, "f(z) = tanh(z); f'(z) = 1 - tanh(z)**2.")
relu = Activation("relu", _spec.RELU, "f(z) = max(z, 0); f'(z) = 1 where z > 0, else 0.")
step = Activation(
    "step", _spec.STEP, "The perceptron's step: f(z) = 1 where z >= 0, else 0; f'(z) = 0."
)
softmax = Softmax("softmax", _spec.SOFTMAX, Softmax.__doc__)

ACTIVATIONS = {a.name: a for a in (identity, sigmoid, tanh, relu, step, softmax)}
ALIASES = {"logistic": "sigmoid", "linear": "identity"}  # scikit-learn / Keras names


def get(name):
    """The activation called ``name`` (an ``Activation`` is returned unchanged)."""
    if isinstance(name, Activation):
        return name
    if not isinstance(name, str):
        raise TypeError(f"activation must be a name (str), got {type(name).__name__}.")
    key = ALIASES.get(name, name)
    if key not in ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {name!r}. Supported activations are "
            f"{sorted(ACTIVATIONS) + sorted(ALIASES)}."
        )
    return ACTIVATIONS[key]
