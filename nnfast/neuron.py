"""A single artificial neuron: an activation of a weighted sum."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import activations
from ._validation import as_float_array, as_matrix, check_number

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from ._typing import FloatArray


class Neuron:
    """One neuron: ``feedforward(x) = f(w.x + b)``.

    Parameters
    ----------
    weights : array-like, shape (n_inputs,)
        One weight ``w_i`` per input.
    bias : float
        The bias ``b``.
    activation : str or Activation
        ``f``: ``"sigmoid"``, ``"step"``, ``"tanh"``, ``"relu"`` or ``"identity"``, or one
        of the objects of ``nnfast.activations`` (not softmax).

    Examples
    --------
    Victor Zhou's neuron with w = [0, 1], b = 4 on x = [2, 3]: sigmoid(0*2 + 1*3 + 4) =
    sigmoid(7).

    >>> import nnfast as nf
    >>> nf.Neuron([0, 1], 4).feedforward([2, 3])
    0.9990889488055994
    """

    weights: FloatArray
    bias: float
    activation: activations.Activation

    def __init__(
        self, weights: ArrayLike, bias: float, activation: str | activations.Activation = "sigmoid"
    ) -> None:
        self.weights = as_float_array(weights, "weights", ndim=(1,)).copy()
        self.bias = check_number(bias, "bias")
        self.activation = activations.get(activation)
        if self.activation.name == "softmax":
            raise ValueError(
                "A single neuron cannot use softmax (it normalises over several "
                "outputs); use a Network with a softmax output layer."
            )

    def feedforward(self, x: ArrayLike) -> float | FloatArray:
        """``f(w.x + b)``: a float for one sample ``(n_inputs,)``, an array ``(n,)`` for a
        batch ``(n, n_inputs)``."""
        single = np.ndim(x) == 1
        X = as_matrix(x, "x", self.weights.size)
        out = self.activation(X @ self.weights + self.bias)
        return float(out[0]) if single else out

    __call__ = feedforward

    def __repr__(self) -> str:
        w = ", ".join(f"{v:.6g}" for v in self.weights)
        return f"Neuron(weights=[{w}], bias={self.bias:.6g}, activation={self.activation.name!r})"
