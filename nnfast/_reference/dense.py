"""The NumPy reference, dense layer and batch normalisation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._spec import BN_EPSILON, BN_MOMENTUM, Csr

if TYPE_CHECKING:
    from typing import TypeVar

    from numpy.typing import NDArray

    #: Each function returns arrays of its inputs' dtype, float64 or float32.
    _Real = TypeVar("_Real", bound=np.floating[Any])


def dense_forward(a: NDArray[_Real], W: NDArray[_Real], b: NDArray[_Real]) -> NDArray[_Real]:
    """z := a @ W + b: the layer's pre-activation for the rows of a."""
    return a @ W + b


def dense_backward(delta: NDArray[_Real], W: NDArray[_Real], d: NDArray[_Real]) -> NDArray[_Real]:
    """The previous layer's delta: (delta @ W^T) * f'(its z), f' given as ``d``."""
    return (delta @ W.T) * d


def weight_gradient(a: NDArray[_Real], delta: NDArray[_Real]) -> NDArray[_Real]:
    """dL/dW = a^T @ delta, from the layer's input a and its delta."""
    return a.T @ delta


def bias_gradient(delta: NDArray[_Real]) -> NDArray[_Real]:
    """dL/db = the column sums of delta."""
    return delta.sum(axis=0)


def batch_norm_forward(
    z: NDArray[_Real], gamma: NDArray[_Real], beta: NDArray[_Real]
) -> tuple[NDArray[_Real], NDArray[_Real], NDArray[_Real], NDArray[_Real], NDArray[_Real]]:
    """Batch normalisation in training (torch's BatchNorm1d): y := gamma xhat + beta, xhat
    the columns of z standardised by their mean and (biased) variance over the batch's rows.
    Returns (y, xhat, 1 / sqrt(var + eps), mean, var)."""
    m = z.shape[0]
    mean = z.sum(axis=0) / m
    c = z - mean
    var = (c * c).sum(axis=0) / m
    inv_std = 1.0 / np.sqrt(var + BN_EPSILON)
    xhat = c * inv_std
    return gamma * xhat + beta, xhat, inv_std, mean, var


def batch_norm_backward(
    delta: NDArray[_Real], xhat: NDArray[_Real], gamma: NDArray[_Real], inv_std: NDArray[_Real]
) -> tuple[NDArray[_Real], NDArray[_Real], NDArray[_Real]]:
    """(dL/dz, dL/dgamma, dL/dbeta) from dL/dy = delta, through the batch's mean and
    variance: dz = gamma inv_std / m (m delta - sum(delta) - xhat sum(delta xhat))."""
    m = delta.shape[0]
    d_beta = delta.sum(axis=0)
    d_gamma = (delta * xhat).sum(axis=0)
    return (gamma * inv_std / m) * (m * delta - d_beta - xhat * d_gamma), d_gamma, d_beta


def batch_norm_running(
    running_mean: NDArray[_Real],
    running_var: NDArray[_Real],
    mean: NDArray[_Real],
    var: NDArray[_Real],
    m: int,
) -> None:
    """The running statistics after a batch of m rows, in place: momentum BN_MOMENTUM, the
    variance unbiased (var m / (m - 1)), as torch's BatchNorm1d."""
    keep = 1.0 - BN_MOMENTUM
    running_mean[...] = keep * running_mean + BN_MOMENTUM * mean
    running_var[...] = keep * running_var + BN_MOMENTUM * (var * (m / (m - 1.0)))


def batch_norm_inference(
    z: NDArray[_Real],
    gamma: NDArray[_Real],
    beta: NDArray[_Real],
    running_mean: NDArray[_Real],
    running_var: NDArray[_Real],
) -> NDArray[_Real]:
    """Batch normalisation outside training: y := z scale + (beta - running_mean scale),
    scale = gamma / sqrt(running_var + eps)."""
    scale = gamma / np.sqrt(running_var + BN_EPSILON)
    return z * scale + (beta - running_mean * scale)


def sparse_forward(X: Csr, W: NDArray[_Real], b: NDArray[_Real]) -> NDArray[_Real]:
    """z := X @ W + b for the sparse rows X (a Csr): row i is the sum of its non-zeros x_ij
    times W's row j, in order, then b."""
    return X.scipy() @ W + b


def sparse_weight_gradient(X: Csr, delta: NDArray[_Real]) -> NDArray[_Real]:
    """dL/dW = X^T @ delta for the sparse rows X: each non-zero x_ij adds x_ij delta_i to
    row j, rows in order."""
    return X.scipy().T @ delta


def first_layer_forward(
    X: NDArray[_Real] | Csr, W: NDArray[_Real], b: NDArray[_Real]
) -> NDArray[_Real]:
    """The first layer's pre-activation, for dense or sparse (Csr) X."""
    return sparse_forward(X, W, b) if isinstance(X, Csr) else dense_forward(X, W, b)


def first_layer_weight_gradient(X: NDArray[_Real] | Csr, delta: NDArray[_Real]) -> NDArray[_Real]:
    return sparse_weight_gradient(X, delta) if isinstance(X, Csr) else weight_gradient(X, delta)
