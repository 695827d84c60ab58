"""Optimizers: the update rule applied to the flat parameter buffer after each batch.

All run inside the compiled training loop; their state (velocity, moments, sums of squared
gradients: ``nnfast._spec.OptimizerState``) has the flat parameter layout. The gradient ``g``
they step along is that of the regularised objective, the mean loss plus
``l1 * sum|W| + l2 / 2 * sum W**2`` over the weights (never the biases):
``g = dL/dW + l1 * sign(W) + l2 * W`` for weights, ``dL/db`` for biases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._spec import ADAGRAD, ADAM, ADAMW, RMSPROP
from ._spec import SGD as _SGD_CODE
from ._validation import check_number

if TYPE_CHECKING:
    from typing import TypedDict

    from typing_extensions import Required, TypeAlias

    from ._typing import OptimizerLike

    #: What ``get`` returns (an AdamW is an Adam).
    Optimizer: TypeAlias = "SGD | Adam | RMSprop | Adagrad"

    class OptimizerFields(TypedDict, total=False):
        """The ``nnfast._spec.Hyper`` fields an optimizer sets (``hyper()``): its code and
        constants."""

        optimizer: Required[int]
        momentum: float
        nesterov: bool
        beta_1: float
        beta_2: float
        epsilon: float
        weight_decay: float
        rho: float
        centered: bool
        initial_accumulator_value: float


class SGD:
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    With momentum ``mu`` (PyTorch's form; it equals scikit-learn's for a constant rate)::

        v = mu * v + g
        p -= lr * (g + mu * v)   if nesterov else   p -= lr * v
    """

    def __init__(self, momentum: float = 0.0, nesterov: bool = False) -> None:
        self.momentum = check_number(momentum, "momentum", 0.0, 1.0, high_open=True)
        if nesterov and self.momentum == 0.0:
            raise ValueError("nesterov=True needs momentum > 0.")
        self.nesterov = bool(nesterov)

    def hyper(self) -> OptimizerFields:
        return {"optimizer": _SGD_CODE, "momentum": self.momentum, "nesterov": self.nesterov}

    def __repr__(self) -> str:
        return f"SGD(momentum={self.momentum}, nesterov={self.nesterov})"


class Adam:
    """Adam (Kingma & Ba, 2015, Algorithm 1) with bias correction.

    The update of step t (from 1) with gradient g::

        m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g**2
        p -= lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + epsilon)
    """

    def __init__(self, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8) -> None:
        self.beta_1 = check_number(beta_1, "beta_1", 0.0, 1.0, high_open=True)
        self.beta_2 = check_number(beta_2, "beta_2", 0.0, 1.0, high_open=True)
        self.epsilon = check_number(epsilon, "epsilon", 0.0, low_open=True)

    def hyper(self) -> OptimizerFields:
        return {
            "optimizer": ADAM,
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }

    def __repr__(self) -> str:
        return f"Adam(beta_1={self.beta_1}, beta_2={self.beta_2}, epsilon={self.epsilon})"


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay.

    As ``torch.optim.AdamW``: each step first shrinks every parameter (weights, biases and batch
    normalisation's scale and shift, as ``torch.optim.AdamW(model.parameters())``), then
    takes Adam's step::

        p := (1 - lr * weight_decay) p
        m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g**2
        p -= lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + epsilon)

    The decay is not part of the gradient (unlike ``l2``, which Adam rescales per parameter).
    """

    def __init__(
        self,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__(beta_1, beta_2, epsilon)
        self.weight_decay = check_number(weight_decay, "weight_decay", 0.0)

    def hyper(self) -> OptimizerFields:
        return {**super().hyper(), "optimizer": ADAMW, "weight_decay": self.weight_decay}

    def __repr__(self) -> str:
        return (
            f"AdamW(beta_1={self.beta_1}, beta_2={self.beta_2}, epsilon={self.epsilon}, "
            f"weight_decay={self.weight_decay})"
        )


class RMSprop:
    """RMSprop (Hinton), as ``torch.optim.RMSprop`` (``rho`` is its ``alpha``).

    The update with gradient g::

        v = rho v + (1 - rho) g**2
        d = sqrt(v) + epsilon,  or centered: g_avg = rho g_avg + (1 - rho) g,
            d = sqrt(v - g_avg**2) + epsilon
        p -= lr g / d,  or with momentum mu: b = mu b + g / d,  p -= lr b
    """

    def __init__(
        self,
        rho: float = 0.99,
        epsilon: float = 1e-8,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        self.rho = check_number(rho, "rho", 0.0, 1.0, high_open=True)
        self.epsilon = check_number(epsilon, "epsilon", 0.0, low_open=True)
        self.momentum = check_number(momentum, "momentum", 0.0, 1.0, high_open=True)
        if not isinstance(centered, bool):
            raise TypeError(f"centered must be True or False, got {centered!r}.")
        self.centered = centered

    def hyper(self) -> OptimizerFields:
        return {
            "optimizer": RMSPROP,
            "rho": self.rho,
            "epsilon": self.epsilon,
            "momentum": self.momentum,
            "centered": self.centered,
        }

    def __repr__(self) -> str:
        return (
            f"RMSprop(rho={self.rho}, epsilon={self.epsilon}, momentum={self.momentum}, "
            f"centered={self.centered})"
        )


class Adagrad:
    """Adagrad (Duchi, Hazan & Singer, 2011), as ``torch.optim.Adagrad`` (no rate decay).

    The update with gradient g::

        v = v + g**2   (v starting at initial_accumulator_value)
        p -= lr g / (sqrt(v) + epsilon)
    """

    def __init__(self, epsilon: float = 1e-10, initial_accumulator_value: float = 0.0) -> None:
        self.epsilon = check_number(epsilon, "epsilon", 0.0, low_open=True)
        self.initial_accumulator_value = check_number(
            initial_accumulator_value, "initial_accumulator_value", 0.0
        )

    def hyper(self) -> OptimizerFields:
        return {
            "optimizer": ADAGRAD,
            "epsilon": self.epsilon,
            "initial_accumulator_value": self.initial_accumulator_value,
        }

    def __repr__(self) -> str:
        return (
            f"Adagrad(epsilon={self.epsilon}, "
            f"initial_accumulator_value={self.initial_accumulator_value})"
        )


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
    "rmsprop": RMSprop,
    "adagrad": Adagrad,
}
CLASSES = tuple(OPTIMIZERS.values())


def get(optimizer: OptimizerLike) -> Optimizer:
    """An optimizer from a name (``"sgd"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``,
    ``"adagrad"``) or an instance of one of their classes."""
    if isinstance(optimizer, CLASSES):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(
        f"Unknown optimizer {optimizer!r}. Supported optimizers are {sorted(OPTIMIZERS)}, "
        "or an instance of nnfast.SGD, Adam, AdamW, RMSprop or Adagrad."
    )
