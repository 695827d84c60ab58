"""What the MLP estimators report, as scikit-learn reports it: the loss of the output layer
(``sklearn.neural_network._base``) and the validation score per epoch, or a scorer's."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np

from ._mlp_solvers import outputs
from ._spec import Csr
from ._validation import all_finite
from .metrics import r2_score

if TYPE_CHECKING:
    from ._mlp_solvers import LossFunction, MLPState, Rows, Scorer, Target
    from ._typing import RealArray
    from .network import Network


class ValidationScore:
    """scikit-learn's validation score of a network on the held-out rows (accuracy, subset
    accuracy for multilabel, or R^2, NaN when a prediction is not finite), with nnfast's
    validation loss (the data loss in scikit-learn's scale, without the penalty)."""

    def __init__(
        self,
        target: Target,
        X: Rows,
        Y: RealArray,
        w: RealArray | None,
        loss: LossFunction,
    ) -> None:
        self.target, self.X, self.Y, self.w, self.loss = target, X, Y, w, loss
        if target == "multiclass":
            self.truth = Y.argmax(axis=1)
        elif target != "regression":
            self.truth = Y > 0.5

    def __call__(self, network: Network) -> tuple[float, float]:
        p = outputs(network, self.X, report=False)
        finite = all_finite(np.ascontiguousarray(p))
        loss = self.loss(self.Y, p, self.w) if finite else np.nan
        if self.target == "regression":
            return (r2_score(self.Y, p, self.w) if finite else np.nan), loss
        if self.target == "multiclass":
            right = p.argmax(axis=1) == self.truth
        else:
            right = ((p > 0.5) == self.truth).all(axis=1)
        return float(np.average(right, weights=self.w)), loss


def scorer(scoring: str | Scorer) -> Scorer:
    """``scoring`` as a callable(estimator, X, y): a scikit-learn scorer name (scikit-learn's
    ``get_scorer``) or a callable, checked."""
    if callable(scoring):
        return scoring
    if not isinstance(scoring, str):
        raise TypeError(
            f"scoring must be None, a scikit-learn scorer name or a callable(estimator, X, y), "
            f"got {scoring!r}."
        )
    try:
        from sklearn.metrics import get_scorer
    except ImportError:
        raise ImportError(
            f"scoring={scoring!r} names a scikit-learn scorer: install scikit-learn (pip "
            f"install scikit-learn), or pass a callable(estimator, X, y)."
        ) from None
    return get_scorer(scoring)  # ValueError, listing the names, for an unknown one


class ScorerValidation(ValidationScore):
    """``ValidationScore`` with a scikit-learn scorer (``scoring``: a name or
    callable(estimator, X, y)) as the score: the estimator is copied with the network being
    trained as its ``network_`` (a restart trains its own), and the rows' targets decoded
    back to what ``fit`` took (labels, an indicator matrix, values)."""

    def __init__(
        self,
        estimator: MLPState,
        scorer: Scorer,
        X: Rows,
        Y: RealArray,
        w: RealArray | None,
        loss: LossFunction,
    ) -> None:
        super().__init__(estimator._target, X, Y, w, loss)
        self.estimator, self.scorer = estimator, scorer
        self.X_user = X.scipy() if isinstance(X, Csr) else X
        kind = estimator._target
        if kind == "multiclass":
            self.y = estimator.classes_[Y.argmax(axis=1)]
        elif kind == "binary":
            self.y = estimator.classes_[(Y[:, 0] > 0.5).astype(np.intp)]
        elif kind == "multilabel":
            self.y = (Y > 0.5).astype(int)
        else:
            self.y = Y.ravel() if Y.shape[1] == 1 else Y

    def __call__(self, network: Network) -> tuple[float, float]:
        _, loss = super().__call__(network)
        model = copy.copy(self.estimator)
        model.network_ = network
        extra = {} if self.w is None else {"sample_weight": self.w}
        return float(self.scorer(model, self.X_user, self.y, **extra)), loss


def reported_loss(target: Target, loss: str | None) -> LossFunction:
    """scikit-learn's loss function of the output layer (``sklearn.neural_network._base``):
    (Y, P, w) -> the weighted mean loss, as it reports it."""
    if target == "regression":
        losses: dict[str | None, LossFunction] = {
            "poisson": _poisson_loss,
            "absolute_error": _absolute_loss,
            "huber": _huber_loss,
        }
        return losses.get(loss, _squared_loss)
    if target == "multiclass":
        return _log_loss
    return _binary_log_loss


def _squared_loss(y: RealArray, p: RealArray, w: RealArray | None = None) -> float:
    return float(0.5 * np.average((y - p) ** 2, weights=w, axis=0).mean())


def _absolute_loss(y: RealArray, p: RealArray, w: RealArray | None = None) -> float:
    return float(np.average(np.abs(y - p), weights=w, axis=0).mean())


def _huber_loss(y: RealArray, p: RealArray, w: RealArray | None = None) -> float:
    r = np.abs(y - p)  # torch's HuberLoss, delta 1
    return float(np.average(np.where(r <= 1.0, 0.5 * r * r, r - 0.5), weights=w, axis=0).mean())


def _poisson_loss(y: RealArray, p: RealArray, w: RealArray | None = None) -> float:
    from scipy.special import xlogy

    return float(np.average(xlogy(y, y / p) - y + p, weights=w, axis=0).sum())


def _log_loss(y: RealArray, p: RealArray, w: RealArray | None = None) -> float:
    from scipy.special import xlogy

    eps = np.finfo(p.dtype).eps
    p = np.clip(p, eps, 1 - eps)
    return float(-np.average(xlogy(y, p), weights=w, axis=0).sum())


def _binary_log_loss(y: RealArray, p: RealArray, w: RealArray | None = None) -> float:
    from scipy.special import xlogy

    eps = np.finfo(p.dtype).eps
    p = np.clip(p, eps, 1 - eps)
    return float(-np.average(xlogy(y, p) + xlogy(1 - y, 1 - p), weights=w, axis=0).sum())
