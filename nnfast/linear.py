"""Logistic regression, trained by gradient descent as a one-layer ``Network``.

Also the linear score ``w.x + b`` (``linear_score``) the perceptron shares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ._compat import BaseEstimator, ClassifierMixin, NnfastMixin
from ._validation import (
    as_float_array,
    as_matrix,
    check_memory,
    check_number,
    check_rng,
    check_sample_weight,
    check_width,
    check_y_column,
    checked_classes,
    class_weight_vector,
    classic_X,
    classification_labels,
    encode_labels,
    require_y,
    reshape_error,
)
from .data import one_hot
from .exceptions import NotFittedError, flavoured
from .io import classic_header, decode_classes, estimator_from_header, float_array
from .metrics import accuracy_score
from .network import Network
from .training import EarlyStopping, check_epochs

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TypedDict

    from numpy.typing import ArrayLike, NDArray
    from typing_extensions import Self

    from ._typing import FloatArray, Seed
    from .callbacks import History

    class _Params(TypedDict):
        learning_rate: float
        max_epochs: int
        batch_size: int | None
        l2: float
        tol: float | None
        n_iter_no_change: int


def linear_score(X: FloatArray, w: FloatArray, b: float) -> FloatArray:
    """``X @ w + b``, summing each row's products left to right, then adding ``b``.

    That is the order the perceptron kernels use, so a score lands on the same side of 0
    in ``predict`` as in training (a BLAS dot product may round differently).
    """
    z = np.zeros(X.shape[0])
    for j in range(X.shape[1]):
        z += w[j] * X[:, j]
    return z + b


class LogisticRegression(NnfastMixin, ClassifierMixin, BaseEstimator):
    """Logistic (two classes) or softmax (more) regression, by gradient descent.

    Two classes: ``p = sigmoid(w.x + b)``, trained on the mean binary cross-entropy
    ``-(y ln p + (1 - y) ln(1 - p))``; its gradient gives, per sample, the update
    ``w += learning_rate (y - p) x``, ``b += learning_rate (y - p)``. More classes:
    ``p = softmax(W x + b)`` on the mean cross-entropy ``-sum_k y_k ln p_k``, with update
    ``W += learning_rate (y - p) x^T``. A mini-batch (or the full batch) uses the mean of the
    per-sample gradients. With ``l2``, ``l2 / 2 * sum W**2`` (not the biases) is added.

    Internally this is ``Network([n_features, n_outputs])`` with a sigmoid or softmax output,
    trained by ``Network.train``: the same compiled kernels (or NumPy reference) as every
    network. Weights start at zero (the loss is convex, so nothing needs breaking).

    Parameters
    ----------
    learning_rate : float
        Gradient-descent step size.
    max_epochs : int
        Passes over the training data.
    batch_size : int or None
        Samples per update: 1 is per-sample SGD (the lessons' loop), None full batch.
    shuffle : bool
        Reshuffle the samples each epoch (mini-batches only).
    seed : int, numpy.random.Generator or None
        Seeds the shuffles.
    l2 : float
        L2 penalty strength on the weights.
    tol : float or None
        Stop when the training loss has not improved by ``tol`` for ``n_iter_no_change``
        epochs in a row (None: always run ``max_epochs``).
    n_iter_no_change : int
        Patience for ``tol``.
    warm_start : bool
        ``fit`` continues from the current weights (same features and classes) instead of
        starting again from zero.
    class_weight : dict, "balanced" or None
        Weight of each class's samples in the loss, as ``fit``'s ``sample_weight``
        (``"balanced"``: ``n_samples / (n_classes * count)``).

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
        The labels, sorted.
    coef_ : ndarray, shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray, shape (1,) or (n_classes,)
    loss_curve_ : list of float
        Mean training loss of each epoch (measured on each batch before its update, as
        ``History.loss``; for full batch, the loss at the start of the epoch).
    n_iter_ : int
        Epochs run by the last ``fit``.
    network_ : Network
        The trained one-layer network; ``coef_`` and ``intercept_`` are views of it.
        Assigning ``coef_`` or ``intercept_`` copies checked values (shape, finite numbers)
        into it; ``n_features_in_`` is the network's input count.

    Ctrl-C during ``fit`` keeps the model of the complete epochs (unfitted if none
    completed) and the KeyboardInterrupt propagates; a second ``fit`` of the same model from
    another thread raises RuntimeError.

    It follows scikit-learn's estimator conventions (``get_params`` / ``set_params``,
    ``clone``, ``score``, ``n_features_in_``, ``classes_``; ``save`` / ``nnfast.load``), with
    this model's own parameter names; as there, ``fit`` checks the parameters (the
    constructor and ``set_params`` store them as given).
    """

    _estimator_type = "classifier"

    def __init__(
        self,
        learning_rate: float = 0.01,
        max_epochs: int = 1000,
        batch_size: int | None = None,
        shuffle: bool = True,
        seed: Seed = None,
        l2: float = 0.0,
        tol: float | None = None,
        n_iter_no_change: int = 5,
        warm_start: bool = False,
        class_weight: dict[Any, float] | str | None = None,
    ) -> None:
        # stored as given (clone needs that), checked by fit
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.l2 = l2
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.class_weight = class_weight

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        coef_init: ArrayLike | None = None,
        intercept_init: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
    ) -> Self:
        """Train on (X, y) by gradient descent; returns self.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
            Class labels of any kind (at least two distinct).
        coef_init : array-like, shape (n_features,) or (n_outputs, n_features), optional
            Starting weights (``n_outputs`` is 1 for two classes); default zeros, or the
            current weights with ``warm_start``.
        intercept_init : float or array-like, shape (n_outputs,), optional
            Starting biases.
        sample_weight : array-like, shape (n_samples,), optional
            Weight of each sample in the loss, which becomes ``sum_i w_i L_i / sum_i w_i``
            (computed inside the training kernels; see ``Network.train``). A weight of 0
            drops a sample.
        """
        with self._fitting():
            return self._fit(X, y, coef_init, intercept_init, sample_weight)

    def _fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        coef_init: ArrayLike | None,
        intercept_init: ArrayLike | None,
        sample_weight: ArrayLike | None,
    ) -> Self:
        p = _check_params(
            self.learning_rate,
            self.max_epochs,
            self.batch_size,
            self.seed,
            self.l2,
            self.tol,
            self.n_iter_no_change,
        )
        require_y(self, y)
        data = classic_X(self, X, reset=True)
        if data.ndim != 2:  # the rest of X's checks (dtype, NaN) happen once, in Network.train
            raise ValueError(f"X must be 2-D, got an array of shape {data.shape}.")
        if data.size == 0:
            raise ValueError(f"X is empty (shape {data.shape}); at least one sample is needed.")
        y = classification_labels(check_y_column(np.asarray(y)))
        w = (
            check_sample_weight(sample_weight, data.shape[0], scalar=True)
            if y.ndim == 1 and y.shape[0] == data.shape[0]
            else None
        )
        if w is not None and not w.all():  # weight 0 removes the sample
            data, y, w = data[w > 0], y[w > 0], w[w > 0]
        classes, codes = encode_labels(y, "y", data.shape[0])
        if classes.size < 2:
            raise ValueError(
                f"y must hold at least two classes, got only one class: {classes.tolist()!r}."
            )
        cw = class_weight_vector(self.class_weight, classes, codes)
        source = (
            "sample_weight"
            if cw is None
            else ("class_weight" if w is None else "sample_weight * class_weight")
        )
        if cw is not None:
            w = cw if w is None else w * cw
        if w is not None and not w.any():
            raise ValueError(f"{source} must contain at least one non-zero number.")
        n_out = 1 if classes.size == 2 else classes.size
        check_memory(
            8 * data.shape[0] * n_out,
            "y",
            lambda: (
                f"y has {classes.size} classes: the one-hot targets of "
                f"{data.shape[0]} rows x {n_out} classes"
            ),
        )
        net = getattr(self, "network_", None)
        warm = (
            self.warm_start
            and net is not None
            and net.layer_sizes == [data.shape[1], n_out]
            and np.array_equal(self.classes_, classes)
        )
        if not warm or net is None:  # (warm implies a network)
            loss = "binary_cross_entropy" if n_out == 1 else "cross_entropy"
            net = Network([data.shape[1], n_out], loss=loss, init="zeros")
            self._rng = check_rng(self.seed)
        _set_initial(net, coef_init, intercept_init)
        Y = codes.astype(np.float64) if n_out == 1 else one_hot(codes, n_out)
        stop = (
            None
            if p["tol"] is None
            else EarlyStopping(p["n_iter_no_change"], min_delta=p["tol"], restore_best=False)
        )
        if stop is None:  # every epoch runs: their records must fit
            check_epochs(p["max_epochs"], "max_epochs", classify=True)
        try:
            history = net.train(
                data,
                Y,
                epochs=p["max_epochs"],
                learning_rate=p["learning_rate"],
                batch_size=p["batch_size"],
                shuffle=bool(self.shuffle),
                seed=self._rng,
                l2=p["l2"],
                early_stopping=stop,
                sample_weight=w,
            )
        except KeyboardInterrupt:  # the complete epochs are kept; none: not fitted
            history = net.history
            if history is not None and (warm or history.epochs):
                self._fitted(net, classes, history)
            elif not warm:
                self.__dict__.pop("network_", None)
            raise  # (warm, no history: a loaded model, still as it was)
        self._fitted(net, classes, history)
        return self

    def _fitted(self, net: Network, classes: NDArray[Any], history: History) -> None:
        self.network_, self.classes_ = net, classes
        self.loss_curve_ = list(history.loss)
        self.n_iter_ = history.epochs

    @property
    def n_features_in_(self) -> int:
        return self._network("n_features_in_").n_inputs

    @property
    def coef_(self) -> FloatArray:
        return self._network("coef_").weights[0].T

    @coef_.setter
    def coef_(self, value: ArrayLike) -> None:
        net = self._network("coef_")
        n_in, n_out = net.weights[0].shape
        W = as_float_array(value, "coef_")
        if W.shape not in ((n_out, n_in),) + (((n_in,),) if n_out == 1 else ()):
            raise ValueError(
                f"coef_ must have shape ({n_out}, {n_in}) (n_outputs, "
                f"n_features), got {W.shape}; to change the features or "
                f"classes, fit again."
            )
        net.weights[0] = W.reshape(n_out, n_in).T

    @property
    def intercept_(self) -> FloatArray:
        return self._network("intercept_").biases[0]

    @intercept_.setter
    def intercept_(self, value: ArrayLike) -> None:
        net = self._network("intercept_")
        b = as_float_array(np.atleast_1d(value), "intercept_", ndim=(1,))
        if b.shape != net.biases[0].shape:
            raise ValueError(
                f"intercept_ must have {net.n_outputs} value(s), one per output, "
                f"got shape {b.shape}."
            )
        net.biases[0] = b

    def decision_function(self, X: ArrayLike) -> FloatArray:
        """Logits ``X W + b``: shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        net = self._network("decision_function")
        X = self._check_X(X)
        z = X @ net.weights[0] + net.biases[0]
        return z[:, 0] if z.shape[1] == 1 else z

    def predict_proba(self, X: ArrayLike) -> FloatArray:
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        net = self._network("predict_proba")
        X = self._check_X(X)
        p = cast("FloatArray", net._outputs(X))  # X checked: no 2nd scan; O(1) guards
        return np.hstack([1.0 - p, p]) if p.shape[1] == 1 else p

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """The most probable class of each sample (two classes: ``classes_[1]`` where
        ``w.x + b >= 0``)."""
        z = self.decision_function(X)
        index = (z >= 0).astype(np.intp) if z.ndim == 1 else z.argmax(axis=1)
        return checked_classes(self.classes_, 2 if z.ndim == 1 else z.shape[1])[index]

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Accuracy: the (weighted) fraction of samples whose predicted label equals ``y``."""
        pred = self.predict(X)
        y = np.asarray(y)
        if y.shape != pred.shape:
            raise ValueError(
                f"y must have shape {pred.shape} (one label per sample of X), got {y.shape}."
            )
        return accuracy_score(y, pred, sample_weight)

    def _check_X(self, X: ArrayLike, net: Network | None = None) -> FloatArray:
        X = classic_X(self, X, reset=False)
        if np.ndim(X) == 1:
            raise reshape_error(X)
        n_inputs = (net or self._network("predict")).n_inputs
        check_width(self, X, n_inputs)
        return as_matrix(X, "X", n_inputs)

    def _is_fitted(self) -> bool:
        return "network_" in self.__dict__

    def _to_file(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header = classic_header(self)
        if not header["fitted"]:
            return header, {}
        return header, {
            "parameters": self.network_.parameters,
            "loss_curve": np.asarray(self.loss_curve_),
        }

    @classmethod
    def _file_shapes(cls, header: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        if not header["fitted"]:
            return {}
        d = check_number(header["n_features_in"], "n_features_in", 1, integer=True)
        classes = decode_classes(header["classes"])
        n_out = 1 if classes.size == 2 else classes.size
        n_iter = check_number(header["n_iter"], "n_iter", 0, integer=True)
        return {"parameters": (d * n_out + n_out,), "loss_curve": (n_iter,)}

    @classmethod
    def _from_file(cls, header: Mapping[str, Any], arrays: Mapping[str, Any]) -> Self:
        model = estimator_from_header(cls, header)
        if not header["fitted"]:
            return model
        d = check_number(header["n_features_in"], "n_features_in", 1, integer=True)
        classes = decode_classes(header["classes"])
        if classes.size < 2:
            raise ValueError("a LogisticRegression needs at least two classes")
        n_out = 1 if classes.size == 2 else classes.size
        net = Network(
            [d, n_out], loss="binary_cross_entropy" if n_out == 1 else "cross_entropy", init="zeros"
        )
        net.parameters[:] = float_array(arrays, "parameters", (net.spec.n_params,))
        model.network_, model.classes_ = net, classes
        model.n_iter_ = check_number(header["n_iter"], "n_iter", 0, integer=True)
        model.loss_curve_ = float_array(arrays, "loss_curve", (None,)).tolist()
        model._rng = check_rng(model.seed)
        return model

    def _network(self, what: str) -> Network:
        net = getattr(self, "network_", None)
        if net is None:
            raise flavoured(NotFittedError)(
                f"This LogisticRegression is not fitted yet: call fit(X, y) before using {what}."
            )
        if not isinstance(net, Network):
            raise TypeError(
                f"network_ must be the fitted nnfast.Network, got {type(net).__name__}: fit again."
            )
        return net

    def __repr__(self) -> str:
        params = (
            f"learning_rate={self.learning_rate!r}, max_epochs={self.max_epochs!r}, "
            f"batch_size={self.batch_size!r}, shuffle={self.shuffle!r}, "
            f"seed={self.seed!r}, l2={self.l2!r}, tol={self.tol!r}"
        )
        if not hasattr(self, "network_"):
            return f"LogisticRegression({params})"
        output = "sigmoid" if self.network_.n_outputs == 1 else "softmax"
        return (
            f"LogisticRegression({self.n_features_in_} features -> {output} over classes "
            f"{self.classes_.tolist()}, {params})"
        )


def _check_params(
    learning_rate: float,
    max_epochs: int,
    batch_size: int | None,
    seed: Seed,
    l2: float,
    tol: float | None,
    n_iter_no_change: int,
) -> _Params:
    """The numeric parameters checked, as a dict (the seed is checked too)."""
    check_rng(seed)
    return {
        "learning_rate": check_number(learning_rate, "learning_rate", 0.0, low_open=True),
        "max_epochs": check_number(max_epochs, "max_epochs", 1, integer=True),
        "batch_size": (
            None if batch_size is None else check_number(batch_size, "batch_size", 1, integer=True)
        ),
        "l2": check_number(l2, "l2", 0.0),
        "tol": None if tol is None else check_number(tol, "tol", 0.0),
        "n_iter_no_change": check_number(n_iter_no_change, "n_iter_no_change", 1, integer=True),
    }


def _set_initial(
    net: Network, coef_init: ArrayLike | None, intercept_init: ArrayLike | None
) -> None:
    """Write ``coef_init`` ((n_outputs, n_features), or (n_features,) for one output) and
    ``intercept_init`` into the network's weights and biases."""
    n_in, n_out = net.weights[0].shape
    W = b = None
    if coef_init is not None:
        W = as_float_array(coef_init, "coef_init")
        if W.shape not in ((n_out, n_in),) + (((n_in,),) if n_out == 1 else ()):
            raise ValueError(
                f"coef_init must have shape ({n_out}, {n_in}) (n_outputs, "
                f"n_features), got {W.shape}."
            )
    if intercept_init is not None:
        b = as_float_array(np.atleast_1d(intercept_init), "intercept_init", ndim=(1,))
        if b.size != n_out:
            raise ValueError(
                f"intercept_init must have {n_out} value(s), one per output, got {b.size}."
            )
    if W is not None:
        net.weights[0][...] = W.reshape(n_out, n_in).T
    if b is not None:
        net.biases[0][...] = b
