"""The NumPy reference, the perceptron."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._spec import check_perceptron_epochs
from .randomness import shuffle_order

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from .._typing import RealArray


def perceptron_pass(
    X: RealArray,
    y: NDArray[np.intp],
    params: RealArray,
    learning_rate: float,
    order: NDArray[np.intp],
) -> int:
    """One pass of the perceptron algorithm over the rows in ``order``; returns the mistakes.

    ``params = [w_1..w_d, b]``, updated in place: a point x with label y in {0, 1} that the
    step of ``w.x + b`` (1 where >= 0) gets wrong moves the line towards itself,
    (w, b) += lr (x, 1) when y = 1 and (w, b) -= lr (x, 1) when y = 0.
    """
    d: int = X.shape[1]
    mistakes = 0
    for r in order:
        x = X[r]
        # w.x summed left to right, then b: the compiled loop rounds in the same order.
        z = 0.0
        for j in range(d):
            z = z + params[j] * x[j]
        z = z + params[d]
        if (z >= 0.0) != (y[r] == 1):
            step = learning_rate if y[r] == 1 else -learning_rate
            params[:d] += step * x
            params[d] += step
            mistakes += 1
    return mistakes


def perceptron_epochs(
    X: RealArray,
    y: NDArray[np.intp],
    params: RealArray,
    learning_rate: float,
    max_epochs: int,
    shuffle: bool,
    rng: np.random.Generator,
    order: NDArray[np.intp],
    errors_out: NDArray[np.intp],
    boundary_out: RealArray,
) -> int:
    """Up to ``max_epochs`` passes of the perceptron algorithm; returns the passes run.

    Each pass first shuffles ``order`` in place when ``shuffle`` (``shuffle_order``), then
    runs ``perceptron_pass``. ``errors_out[e]`` := mistakes in pass e, ``boundary_out[e]``
    := params after pass e. Stops after the first pass without a mistake.
    """
    check_perceptron_epochs(X, y, params, max_epochs, order, errors_out, boundary_out)
    for e in range(max_epochs):
        if shuffle:
            shuffle_order(rng, order)
        errors_out[e] = perceptron_pass(X, y, params, learning_rate, order)
        boundary_out[e] = params
        if errors_out[e] == 0:
            return e + 1
    return max_epochs
