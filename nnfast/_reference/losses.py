"""The NumPy reference, losses: the summed loss of a batch and its gradient with respect to
the output layer's pre-activation z."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, NamedTuple

import numpy as np

from .._spec import (
    BINARY_CROSS_ENTROPY,
    CROSS_ENTROPY,
    HUBER,
    MAE,
    MSE,
    POISSON,
    SOFTMAX,
    default_alpha,
)
from .activations import activate_and_derivative, sigmoid, softmax, softmax_backward

if TYPE_CHECKING:
    from .._spec import Spec
    from .._typing import RealArray

#
# The regression losses are a loss of the difference d = f(z) - y and its derivative, chained
# through the output activation (``pointwise_delta``). Sigmoid + binary cross-entropy,
# softmax + cross-entropy and exp + Poisson are fused and evaluated from the logits z, which
# keeps them finite for saturated outputs.


def pointwise_delta(
    code: int,
    z: RealArray,
    y: RealArray,
    alpha: float,
    loss: Callable[[RealArray], RealArray],
    gradient: Callable[[RealArray], RealArray],
) -> tuple[float, RealArray]:
    """(sum of loss(f(z) - y), its gradient w.r.t. z) for the output activation ``code``
    (parameter alpha): gradient(d) times f'(z), or softmax's Jacobian."""
    if code == SOFTMAX:
        a = softmax(z)
        delta = softmax_backward(a, gradient(a - y))
    else:
        a, d = activate_and_derivative(code, z, alpha)
        delta = gradient(a - y) * d
    return np.sum(loss(a - y), dtype=np.float64), delta


def mse_delta(code: int, z: RealArray, y: RealArray, alpha: float) -> tuple[float, RealArray]:
    """Sum of (f(z) - y)^2."""
    return pointwise_delta(code, z, y, alpha, lambda d: d * d, lambda d: 2.0 * d)


def mae_delta(code: int, z: RealArray, y: RealArray, alpha: float) -> tuple[float, RealArray]:
    """Sum of |f(z) - y| (gradient sign(d), 0 at 0 as torch's L1Loss)."""
    return pointwise_delta(code, z, y, alpha, np.abs, np.sign)


def huber(d: RealArray) -> RealArray:
    """d**2 / 2 where |d| < 1, else |d| - 1/2 (torch's HuberLoss, delta 1)."""
    return np.where(np.abs(d) < 1.0, 0.5 * d * d, np.abs(d) - 0.5)


def huber_delta(code: int, z: RealArray, y: RealArray, alpha: float) -> tuple[float, RealArray]:
    """Sum of huber(f(z) - y) (gradient d clipped to [-1, 1])."""
    return pointwise_delta(code, z, y, alpha, huber, lambda d: np.clip(d, -1.0, 1.0))


def poisson_delta(code: int, z: RealArray, y: RealArray, alpha: float) -> tuple[float, RealArray]:
    """The output is exp(z), a rate: sum of exp(z) - y z, the Poisson negative log-likelihood
    without log(y!) (torch's PoissonNLLLoss(log_input=True)), from the logits."""
    e = np.exp(z)
    return np.sum(e - y * z, dtype=np.float64), e - y


def binary_cross_entropy_delta(
    code: int, z: RealArray, y: RealArray, alpha: float
) -> tuple[float, RealArray]:
    """The output is a sigmoid: sum of -(y ln p + (1 - y) ln(1 - p)) from the logits."""
    total = np.sum(np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z))), dtype=np.float64)
    return total, sigmoid(z) - y


def cross_entropy_delta(
    code: int, z: RealArray, y: RealArray, alpha: float
) -> tuple[float, RealArray]:
    """The output is a softmax: sum over rows of -sum_k y_k ln p_k, from the logits."""
    m = z.max(axis=1, keepdims=True)
    lse = m + np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    ysum = y.sum(axis=1, keepdims=True)
    total = np.sum(lse * ysum, dtype=np.float64) - np.sum(y * z, dtype=np.float64)
    return total, softmax(z) * ysum - y


def threshold_correct(z: RealArray, y: RealArray) -> int:
    """Elements whose logit's side of 0 matches the label's side of 0.5."""
    return int(np.sum((z >= 0) == (y >= 0.5)))


def argmax_correct(z: RealArray, y: RealArray) -> int:
    """Rows whose largest logit is at the label's largest entry."""
    return int(np.sum(z.argmax(axis=1) == y.argmax(axis=1)))


class Loss(NamedTuple):
    # (code, z, y, alpha) -> (summed loss, its gradient w.r.t. z)
    delta: Callable[[int, RealArray, RealArray, float], tuple[float, RealArray]]
    correct: Callable[[RealArray, RealArray], int] | None  # correct predictions; None: no accuracy
    per_element: bool  # the mean is over every element, else over rows


# The losses, one entry each.
LOSSES: dict[int, Loss] = {
    MSE: Loss(mse_delta, None, True),
    BINARY_CROSS_ENTROPY: Loss(binary_cross_entropy_delta, threshold_correct, True),
    CROSS_ENTROPY: Loss(cross_entropy_delta, argmax_correct, False),
    MAE: Loss(mae_delta, None, True),
    HUBER: Loss(huber_delta, None, True),
    POISSON: Loss(poisson_delta, None, True),
}


def output_delta(
    loss: int, code: int, z: RealArray, y: RealArray, alpha: float | None = None
) -> tuple[float, RealArray]:
    """(sum of the loss over the batch, dLsum/dz) for the output activation ``code`` with
    parameter alpha (None: its default)."""
    return LOSSES[loss].delta(code, z, y, default_alpha(code) if alpha is None else alpha)


def count_correct(loss: int, z: RealArray, y: RealArray) -> int:
    """Correct predictions in a batch, from the output pre-activation z (0 without an
    accuracy, as for MSE)."""
    correct = LOSSES[loss].correct
    return 0 if correct is None else correct(z, y)


def loss_scale(spec: Spec, n_samples: float) -> float:
    """Factor turning a summed loss into the mean the library minimises: a mean over every
    element (MSE, binary cross-entropy) or over samples of a sum over classes (cross-entropy)."""
    if LOSSES[spec.loss].per_element:
        return 1.0 / (n_samples * spec.sizes[-1])
    return 1.0 / n_samples


def accuracy_scale(spec: Spec, n_samples: float) -> float:
    """Factor from a count of correct predictions to an accuracy (NaN without one)."""
    return np.nan if LOSSES[spec.loss].correct is None else loss_scale(spec, n_samples)


def output_step(
    spec: Spec, z: RealArray, Y: RealArray, w: RealArray | None, w_mean: float
) -> tuple[float, float, RealArray]:
    """The output layer of a batch: (summed loss, correct predictions, scaled dL/dz).

    With sample weights ``w`` (None: none) row i counts ``w[i] / w_mean`` times, ``w_mean``
    being the mean weight of the whole data set: each batch's gradient is then an unbiased
    estimate of the weighted mean's, and the full batch's is exactly it.
    """
    return _output_step(spec, z, Y, w, w_mean, loss_scale(spec, z.shape[0]))


def sklearn_scales(spec: Spec) -> tuple[float, float]:
    """Hyper.convention SKLEARN: (factor from a row's summed loss to scikit-learn's
    per-sample loss, factor on its gradient). scikit-learn halves the squared error and
    averages it over the outputs, but steps on (output - y), the gradient of the halved sum
    (its _base.py); its log losses are sums over the outputs, as nnfast's. nnfast's
    absolute and Huber losses are averaged over the outputs, gradient included."""
    if spec.loss == MSE:
        return 0.5 / spec.sizes[-1], 0.5
    if spec.loss in (MAE, HUBER):
        return 1.0 / spec.sizes[-1], 1.0 / spec.sizes[-1]
    return 1.0, 1.0


def _output_step(
    spec: Spec, z: RealArray, Y: RealArray, w: RealArray | None, w_mean: float, scale: float
) -> tuple[float, float, RealArray]:
    """``output_step`` with the delta's factor ``scale`` given."""
    code, alpha = spec.activations[-1], spec.layer_alphas()[-1]
    if w is None:
        total, delta = output_delta(spec.loss, code, z, Y, alpha)
        return total, count_correct(spec.loss, z, Y), delta * scale
    total = correct = 0.0
    delta = np.empty_like(z)
    for i in range(z.shape[0]):
        row_total, row_delta = output_delta(spec.loss, code, z[i : i + 1], Y[i : i + 1], alpha)
        weight = float(w[i])  # in float64, as the compiled kernels weigh rows in double
        total += weight * row_total
        correct += weight * count_correct(spec.loss, z[i : i + 1], Y[i : i + 1])
        delta[i] = row_delta[0] * (scale * weight / w_mean)
    return total, correct, delta


def penalty(spec: Spec, params: RealArray, l1: float, l2: float) -> float:
    """l1 * sum|W| + l2 / 2 * sum W**2 over the weights (summed in float64)."""
    w = np.asarray(params[: spec.n_weights], dtype=np.float64)
    return l1 * np.abs(w).sum() + 0.5 * l2 * (w @ w)


def penalty_gradient(spec: Spec, params: RealArray, l1: float, l2: float) -> RealArray:
    """d penalty / dW = l1 * sign(W) + l2 * W (the weights' part of the gradient only)."""
    w = params[: spec.n_weights]
    return l1 * np.sign(w) + l2 * w
