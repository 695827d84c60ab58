"""Logic gates as perceptrons, and XOR as a two-layer network of them.

Each gate is one perceptron with hand-set weights, outputting 1 where ``w.x + b >= 0``:

======  ============  ======  =====================================
gate    weights       bias    why
======  ============  ======  =====================================
AND     (1, 1)        -2      only a + b = 2 reaches 0
OR      (1, 1)        -1      any a + b >= 1 reaches 0
NOT     (-1,)         0       -a >= 0 only for a = 0
NAND    (-1, -1)      1       1 - a - b >= 0 unless a = b = 1
======  ============  ======  =====================================

XOR is not linearly separable, so no single perceptron computes it; two layers do:
``XOR(a, b) = AND(NAND(a, b), OR(a, b))``.

The gates are shared module-level objects: to train one further, train a copy
(``copy.deepcopy(AND)``), not the gate itself.

>>> from nnfast.logic import AND, XOR
>>> AND(1, 1), AND(1, 0), XOR(1, 0), XOR(1, 1)
(1, 0, 1, 0)
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .network import Network
from .perceptron import Perceptron

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    #: A gate's output: an int for bits, an int array for arrays of bits.
    Bits = int | NDArray[np.int_]


class Gate(Perceptron):
    """A perceptron used as a logic gate: ``gate(a, b)`` takes bits (or arrays of bits).

    ``gate(a, b)`` returns an int for scalar inputs and an int array for arrays.
    """

    name: str = "gate"

    def __call__(self, *bits: ArrayLike) -> Bits:
        if len(bits) != self.n_features_in_:
            raise TypeError(f"{self.name} takes {self.n_features_in_} input(s), got {len(bits)}.")
        scalar = all(np.ndim(b) == 0 for b in bits)
        X = np.column_stack([np.ravel(b) for b in bits])
        out = self.predict(X).astype(int)
        return int(out[0]) if scalar else out.reshape(np.shape(bits[0]))

    def truth_table(self) -> list[tuple[tuple[int, ...], int]]:
        """``[(inputs, output), ...]`` over every combination of input bits."""
        return truth_table(self, self.n_features_in_)

    def __repr__(self) -> str:
        w = ", ".join(f"{v:g}" for v in self.coef_)
        return f"<{self.name} gate: 1 where w.x + b >= 0, w=[{w}], b={self.intercept_:g}>"


def _gate(name: str, weights: list[float], bias: float) -> Gate:
    gate = Gate.from_weights(weights, bias)
    gate.name = name
    return gate


AND = _gate("AND", [1, 1], -2)
OR = _gate("OR", [1, 1], -1)
NOT = _gate("NOT", [-1], 0)
NAND = _gate("NAND", [-1, -1], 1)


def XOR(a: ArrayLike, b: ArrayLike) -> Bits:
    """Exclusive or, from three perceptrons: ``AND(NAND(a, b), OR(a, b))``."""
    return AND(NAND(a, b), OR(a, b))


def xor_network() -> Network:
    """XOR as a 2-2-1 ``Network`` of step units with the gates' weights set by hand.

    Hidden unit 0 is NAND, hidden unit 1 is OR, the output unit is AND of the two. Step units
    have no gradient, so the network has no loss (``loss=None``): it computes, it does not
    train.

    >>> from nnfast.logic import xor_network
    >>> xor_network().feedforward([[0, 0], [0, 1], [1, 0], [1, 1]]).ravel().tolist()
    [0.0, 1.0, 1.0, 0.0]
    """
    net = Network([2, 2, 1], activation="step", output_activation="step", loss=None, init="zeros")
    (W1, W2), (b1, b2) = net.weights, net.biases
    W1[:, 0], b1[0] = NAND.coef_, NAND.intercept_
    W1[:, 1], b1[1] = OR.coef_, OR.intercept_
    W2[:, 0], b2[0] = AND.coef_, AND.intercept_
    return net


def truth_table(gate: Callable[..., Any], n_inputs: int = 2) -> list[tuple[tuple[int, ...], int]]:
    """``[(inputs, output), ...]`` of ``gate`` (any callable on bits) over all inputs."""
    return [(bits, int(gate(*bits))) for bits in itertools.product((0, 1), repeat=n_inputs)]
