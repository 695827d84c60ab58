"""Logistic regression, trained by gradient descent as a one-layer ``Network``.

Also the linear score ``w.x + b`` (``linear_score``) the perceptron shares.
"""
from __future__ import annotations

import numpy as np

from .data import one_hot
from .network import Network
from .training import EarlyStopping
from ._validation import (
    NotFittedError, as_float_array, as_matrix, check_number, check_rng, encode_labels,
)


def linear_score(X, w, b):
    """``X @ w + b``, summing each row's products left to right, then adding ``b``.

    That is the order the perceptron kernels use, so a score lands on the same side of 0
    in ``predict`` as in training (a BLAS dot product may round differently).
    """
    z = np.zeros(X.shape[0])
    for j in range(X.shape[1]):
        z += w[j] * X[:, j]
    return z + b


class LogisticRegression:
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
    """

    def __init__(self, learning_rate=0.01, max_epochs=1000, batch_size=None, shuffle=True,
                 seed=None, l2=0.0, tol=None, n_iter_no_change=5, warm_start=False):
        self.learning_rate = check_number(learning_rate, "learning_rate", 0.0, low_open=True)
        self.max_epochs = check_number(max_epochs, "max_epochs", 1, integer=True)
        self.batch_size = (None if batch_size is None
                           else check_number(batch_size, "batch_size", 1, integer=True))
        self.shuffle = bool(shuffle)
        check_rng(seed)
        self.seed = seed
        self.l2 = check_number(l2, "l2", 0.0)
        self.tol = None if tol is None else check_number(tol, "tol", 0.0)
        self.n_iter_no_change = check_number(n_iter_no_change, "n_iter_no_change", 1,
                                             integer=True)
        self.warm_start = bool(warm_start)

    def fit(self, X, y, coef_init=None, intercept_init=None):
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
        """
        X = as_float_array(X, "X", ndim=(2,))
        classes, codes = encode_labels(y, "y", X.shape[0])
        if classes.size < 2:
            raise ValueError(f"y must hold at least two classes, got only {classes.tolist()!r}.")
        n_out = 1 if classes.size == 2 else classes.size
        net = getattr(self, "network_", None)
        warm = (self.warm_start and net is not None and net.layer_sizes == [X.shape[1], n_out]
                and np.array_equal(self.classes_, classes))
        if not warm:
            loss = "binary_cross_entropy" if n_out == 1 else "cross_entropy"
            net = Network([X.shape[1], n_out], loss=loss, init="zeros")
            self._rng = check_rng(self.seed)
        _set_initial(net, coef_init, intercept_init)
        Y = codes.astype(np.float64) if n_out == 1 else one_hot(codes, n_out)
        stop = (None if self.tol is None else
                EarlyStopping(self.n_iter_no_change, min_delta=self.tol, restore_best=False))
        history = net.train(X, Y, epochs=self.max_epochs, learning_rate=self.learning_rate,
                            batch_size=self.batch_size, shuffle=self.shuffle, seed=self._rng,
                            l2=self.l2, early_stopping=stop)
        self.network_, self.classes_ = net, classes
        self.n_features_in_ = X.shape[1]
        self.loss_curve_ = list(history.loss)
        self.n_iter_ = history.epochs
        return self

    @property
    def coef_(self):
        return self._network("coef_").weights[0].T

    @property
    def intercept_(self):
        return self._network("intercept_").biases[0]

    def decision_function(self, X):
        """Logits ``X W + b``: shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        net = self._network("decision_function")
        X = as_matrix(X, "X", self.n_features_in_)
        z = X @ net.weights[0] + net.biases[0]
        return z[:, 0] if z.shape[1] == 1 else z

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        net = self._network("predict_proba")
        p = net.feedforward(as_matrix(X, "X", self.n_features_in_))
        return np.hstack([1.0 - p, p]) if p.shape[1] == 1 else p

    def predict(self, X):
        """The most probable class of each sample (two classes: ``classes_[1]`` where
        ``w.x + b >= 0``)."""
        z = self.decision_function(X)
        index = (z >= 0).astype(np.intp) if z.ndim == 1 else z.argmax(axis=1)
        return self.classes_[index]

    def score(self, X, y):
        """Accuracy: the fraction of samples whose predicted label equals ``y``."""
        pred = self.predict(X)
        y = np.asarray(y)
        if y.shape != pred.shape:
            raise ValueError(f"y must have shape {pred.shape} (one label per sample of X), "
                             f"got {y.shape}.")
        return float(np.mean(pred == y))

    def _network(self, what):
        net = getattr(self, "network_", None)
        if net is None:
            raise NotFittedError(
                f"This LogisticRegression is not fitted yet: call fit(X, y) before using "
                f"{what}."
            )
        return net

    def __repr__(self):
        params = (f"learning_rate={self.learning_rate!r}, max_epochs={self.max_epochs!r}, "
                  f"batch_size={self.batch_size!r}, shuffle={self.shuffle!r}, "
                  f"seed={self.seed!r}, l2={self.l2!r}, tol={self.tol!r}")
        if not hasattr(self, "network_"):
            return f"LogisticRegression({params})"
        output = "sigmoid" if self.network_.n_outputs == 1 else "softmax"
        return (f"LogisticRegression({self.n_features_in_} features -> {output} over classes "
                f"{self.classes_.tolist()}, {params})")


def _set_initial(net, coef_init, intercept_init):
    """Write ``coef_init`` ((n_outputs, n_features), or (n_features,) for one output) and
    ``intercept_init`` into the network's weights and biases."""
    n_in, n_out = net.weights[0].shape
    W = b = None
    if coef_init is not None:
        W = as_float_array(coef_init, "coef_init")
        if W.shape not in ((n_out, n_in),) + (((n_in,),) if n_out == 1 else ()):
            raise ValueError(f"coef_init must have shape ({n_out}, {n_in}) (n_outputs, "
                             f"n_features), got {W.shape}.")
    if intercept_init is not None:
        b = as_float_array(np.atleast_1d(intercept_init), "intercept_init", ndim=(1,))
        if b.size != n_out:
            raise ValueError(f"intercept_init must have {n_out} value(s), one per output, "
                             f"got {b.size}.")
    if W is not None:
        net.weights[0][...] = W.reshape(n_out, n_in).T
    if b is not None:
        net.biases[0][...] = b
