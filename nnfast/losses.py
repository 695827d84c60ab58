"""Loss functions as callable objects with their gradient w.r.t. the prediction.

Conventions (the same means that ``Network.loss``, ``gradients`` and ``train`` minimise):

- ``mse``: ``((y_true - y_pred) ** 2).mean()`` over every element;
- ``mae``: ``abs(y_true - y_pred).mean()`` over every element;
- ``huber``: the mean over every element of ``d**2 / 2`` where ``|d| < 1``, else
  ``|d| - 1/2``, with ``d = y_pred - y_true`` (``torch.nn.HuberLoss``, delta 1);
- ``poisson``: ``(y_pred - y_true ln y_pred).mean()`` over every element, ``y_pred`` a rate
  (the network's ``exp`` output): the Poisson negative log-likelihood without ``ln y!``,
  ``torch.nn.PoissonNLLLoss(log_input=True)`` of ``z = ln y_pred``;
- ``binary_cross_entropy``: ``-(y ln p + (1 - y) ln(1 - p))``, mean over every element;
- ``cross_entropy``: mean over samples of ``-sum_k y_k ln p_k``.

The cross-entropies are negative log-likelihoods: minimising them is maximum-likelihood
estimation of a Bernoulli (or categorical) model whose probabilities the network outputs.
Probabilities are clipped to ``[eps, 1 - eps]`` (``eps`` = float64 machine epsilon), so a
probability of exactly 0 or 1 gives a finite loss; terms with ``y = 0`` contribute 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from . import _spec

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import ArrayLike

    from ._typing import FloatArray, LossLike

    #: Elementwise loss terms, or their derivatives, of (y_true, y_pred).
    Elementwise = Callable[[FloatArray, FloatArray], FloatArray]
    #: How a loss sums up its terms.
    Reduction = Literal["mean", "sum"]

EPS = np.finfo(np.float64).eps
REDUCTIONS: tuple[Reduction, ...] = ("mean", "sum")


def _arrays(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[FloatArray, FloatArray]:
    true, pred = _numbers(y_true, "y_true"), _numbers(y_pred, "y_pred")
    if true.shape != pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got {true.shape} and {pred.shape}."
        )
    return true, pred


def _numbers(values: ArrayLike, name: str) -> FloatArray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name} must hold real numbers ({exc}).") from None


def _reduce(values: FloatArray, reduction: Reduction, count: int) -> float:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}.")
    total = float(np.sum(values))
    return total / count if reduction == "mean" else total


class Loss:
    """A loss ``L(y_true, y_pred)`` with ``gradient`` = dL/dy_pred (same reduction).

    ``code`` is the kernels' code; ``output`` names the output activation the kernels fuse
    with it (None: any activation).
    """

    def __init__(
        self,
        name: str,
        code: int,
        output: str | None,
        value: Elementwise,
        gradient: Elementwise,
        count: Callable[[FloatArray], int],
        doc: str,
    ) -> None:
        self.name, self.code, self.output = name, code, output
        self._value, self._gradient, self._count = value, gradient, count
        self.__doc__ = doc

    def _prepare(self, y_true: ArrayLike, y_pred: ArrayLike) -> tuple[FloatArray, FloatArray, int]:
        true, pred = (
            _labels_to_one_hot(y_true, y_pred)
            if self.code == _spec.CROSS_ENTROPY
            else _arrays(y_true, y_pred)
        )
        return true, pred, self._count(true)

    def __call__(
        self, y_true: ArrayLike, y_pred: ArrayLike, reduction: Reduction = "mean"
    ) -> float:
        true, pred, count = self._prepare(y_true, y_pred)
        return _reduce(self._value(true, pred), reduction, count)

    def gradient(
        self, y_true: ArrayLike, y_pred: ArrayLike, reduction: Reduction = "mean"
    ) -> FloatArray:
        """dL/dy_pred, elementwise, for the same reduction."""
        true, pred, count = self._prepare(y_true, y_pred)
        g = self._gradient(true, pred)
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}.")
        return g / count if reduction == "mean" else g

    def __repr__(self) -> str:
        return f"<loss {self.name}>"

    def __reduce__(self) -> tuple[Callable[[str], Loss], tuple[str]]:
        return (get, (self.name,))


def _labels_to_one_hot(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[FloatArray, FloatArray]:
    p = _numbers(y_pred, "y_pred")
    labels = np.asarray(y_true)
    if p.ndim == 2 and labels.ndim == 1 and labels.shape[0] == p.shape[0]:
        from .data import one_hot

        return _arrays(one_hot(labels, p.shape[1]), p)
    return _arrays(labels, p)


def _clip(p: FloatArray) -> FloatArray:
    return np.clip(p, EPS, 1.0 - EPS)


def _xlogy(y: FloatArray, p: FloatArray) -> FloatArray:
    """y * ln(p), with 0 where y == 0 (so 0 * ln 0 = 0)."""
    return np.where(y == 0, 0.0, y * np.log(np.where(y == 0, 1.0, p)))


def _n_samples(y: FloatArray) -> int:
    return y.shape[0] if y.ndim > 1 else 1


mse = Loss(
    "mse",
    _spec.MSE,
    None,
    lambda y, p: (y - p) ** 2,
    lambda y, p: 2.0 * (p - y),
    lambda y: max(y.size, 1),
    "Mean squared error, ((y_true - y_pred) ** 2).mean(); gradient 2 (y_pred - y_true) / N.",
)
binary_cross_entropy = Loss(
    "binary_cross_entropy",
    _spec.BINARY_CROSS_ENTROPY,
    "sigmoid",
    lambda y, p: -(_xlogy(y, _clip(p)) + _xlogy(1.0 - y, 1.0 - _clip(p))),
    lambda y, p: (_clip(p) - y) / (_clip(p) * (1.0 - _clip(p))),
    lambda y: max(y.size, 1),
    "Binary cross-entropy -(y ln p + (1 - y) ln(1 - p)), mean over every element.",
)
cross_entropy = Loss(
    "cross_entropy",
    _spec.CROSS_ENTROPY,
    "softmax",
    lambda y, p: -_xlogy(y, _clip(p)),
    lambda y, p: np.where(y == 0, 0.0, -y / _clip(p)),
    _n_samples,
    "Categorical cross-entropy: mean over samples of -sum_k y_k ln p_k. ``y_true`` may be "
    "one-hot rows or integer class labels.",
)

mae = Loss(
    "mae",
    _spec.MAE,
    None,
    lambda y, p: np.abs(p - y),
    lambda y, p: np.sign(p - y),
    lambda y: max(y.size, 1),
    "Mean absolute error, abs(y_true - y_pred).mean(); gradient sign(y_pred - y_true) / N "
    "(0 where they are equal).",
)
huber = Loss(
    "huber",
    _spec.HUBER,
    None,
    lambda y, p: np.where(np.abs(p - y) < 1.0, 0.5 * (p - y) ** 2, np.abs(p - y) - 0.5),
    lambda y, p: np.clip(p - y, -1.0, 1.0),
    lambda y: max(y.size, 1),
    "Huber loss (delta 1): mean of d**2 / 2 where |d| < 1, else |d| - 1/2, d = y_pred - "
    "y_true; gradient d clipped to [-1, 1], over N.",
)
poisson = Loss(
    "poisson",
    _spec.POISSON,
    "exp",
    lambda y, p: p - _xlogy(y, p),
    lambda y, p: 1.0 - np.where(y == 0, 0.0, y / np.where(y == 0, 1.0, p)),
    lambda y: max(y.size, 1),
    "Poisson negative log-likelihood of the rate y_pred, mean of y_pred - y_true ln y_pred "
    "(without ln y_true!); gradient 1 - y_true / y_pred, over N.",
)

LOSSES = {
    loss.name: loss for loss in (mse, mae, huber, poisson, binary_cross_entropy, cross_entropy)
}
ALIASES = {
    "mean_squared_error": "mse",
    "squared_error": "mse",
    "binary_crossentropy": "binary_cross_entropy",
    "log_loss": "binary_cross_entropy",
    "categorical_crossentropy": "cross_entropy",
    "categorical_cross_entropy": "cross_entropy",
    "mean_absolute_error": "mae",
    "absolute_error": "mae",
}


def get(name: LossLike) -> Loss:
    """The loss called ``name`` (a ``Loss`` is returned unchanged)."""
    if isinstance(name, Loss):
        return name
    if not isinstance(name, str):
        raise TypeError(f"loss must be a name (str), got {type(name).__name__}.")
    key = ALIASES.get(name, name)
    if key not in LOSSES:
        raise ValueError(
            f"Unknown loss {name!r}. Supported losses are {sorted(LOSSES) + sorted(ALIASES)}."
        )
    return LOSSES[key]
