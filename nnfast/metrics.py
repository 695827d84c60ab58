"""Scores of predictions: accuracy (classifiers' ``score``) and R^2 (regressors' ``score``).

The estimators' ``score`` methods use scikit-learn's own metrics when scikit-learn is
installed; these give the same numbers without it.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from ._validation import check_sample_weight, column_or_1d_if_column

if TYPE_CHECKING:
    from collections.abc import Sized

    from numpy.typing import ArrayLike

__all__ = ["accuracy_score", "r2_score"]


def _consistent(a: Sized, b: Sized) -> None:
    if len(a) != len(b):
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: [{len(a)}, {len(b)}]"
        )


def accuracy_score(
    y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None
) -> float:
    """Fraction (weighted) of samples predicted right; a 2-D y needs every column right.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_labels)
        Labels, or 0/1 indicator matrices (multilabel: subset accuracy).
    sample_weight : array-like of shape (n_samples,) or float, optional

    Returns
    -------
    float
    """
    true = column_or_1d_if_column(np.asarray(y_true))
    pred = np.asarray(y_pred)
    _consistent(true, pred)
    if true.ndim != pred.ndim:
        raise ValueError(f"y has shape {true.shape} but the predictions have shape {pred.shape}.")
    right = true == pred
    if right.ndim == 2:
        right = right.all(axis=1)
    w = check_sample_weight(sample_weight, len(true), scalar=True)
    return float(np.average(right, weights=w))


def r2_score(y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
    """Coefficient of determination ``1 - sum w (y - y_pred)^2 / sum w (y - mean_w(y))^2``.

    Averaged uniformly over outputs; a constant output scores 1 if predicted exactly, else 0
    (scikit-learn's ``force_finite``).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
    sample_weight : array-like of shape (n_samples,) or float, optional

    Returns
    -------
    float
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    _consistent(y_true, y_pred)
    y_true = y_true.reshape(len(y_true), -1)
    y_pred = y_pred.reshape(len(y_pred), -1)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y has {y_true.shape[1]} outputs but the predictions have {y_pred.shape[1]}."
        )
    if len(y_true) < 2:
        warnings.warn(
            "R^2 score is not well-defined with less than two samples.", UserWarning, stacklevel=3
        )
        return float("nan")
    w = check_sample_weight(sample_weight, len(y_true), scalar=True)
    w = np.ones(len(y_true)) if w is None else w
    w = w[:, None]
    num = (w * (y_true - y_pred) ** 2).sum(axis=0)
    mean = (w * y_true).sum(axis=0) / w.sum()
    den = (w * (y_true - mean) ** 2).sum(axis=0)
    safe = den != 0
    scores = np.where(num == 0, 1.0, 0.0)
    scores[safe] = 1.0 - num[safe] / den[safe]
    return float(scores.mean())
