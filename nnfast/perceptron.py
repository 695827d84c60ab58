"""The perceptron: a step of a linear score, trained by the perceptron algorithm."""
from __future__ import annotations

import numpy as np

from . import _backend, io
from ._estimator import (
    BaseEstimator, ClassifierMixin, _flavoured, accuracy_score, classic_X, classic_failed_checks,
    classic_header, classification_labels, decode_classes, estimator_from_header, float_array,
    require_y,
)
from ._validation import NotFittedError, as_float_array, as_matrix, check_number, check_rng
from ._validation import encode_labels
from .linear import linear_score


@io.register
class Perceptron(ClassifierMixin, BaseEstimator):
    """Rosenblatt's perceptron: ``predict(x) = 1 where w.x + b >= 0, else 0``.

    ``fit`` runs the perceptron algorithm: passes over the points in which every
    misclassified point moves the line towards itself (the perceptron trick),

    - predicted 0 with label 1: ``w += learning_rate * x``, ``b += learning_rate``;
    - predicted 1 with label 0: ``w -= learning_rate * x``, ``b -= learning_rate``,

    until a pass makes no mistake or ``max_epochs`` passes have run. The passes run in the
    compiled backend (``nnfast._kernels.perceptron_epochs``) or the NumPy reference, which
    give identical weights.

    Parameters
    ----------
    learning_rate : float
        Step of the perceptron trick, > 0.
    max_epochs : int
        Most passes over the data in ``fit``.
    seed : int, numpy.random.Generator or None
        Seeds the per-pass shuffles (only used when ``shuffle``).
    shuffle : bool
        Visit the points in a fresh random order each pass (``Generator.shuffle``) instead
        of the order given.

    Attributes
    ----------
    coef_ : ndarray, shape (n_features,)
        The weights ``w`` (one per feature; sklearn keeps a (1, n_features) row instead).
    intercept_ : float
        The bias ``b``.
    classes_ : ndarray, shape (2,)
        The labels that 0 and 1 stand for: ``[0, 1]`` when the labels are 0/1, else the two
        labels sorted.
    n_iter_ : int
        Passes made (``fit`` counts from 0, each ``step`` adds one).
    errors_ : ndarray of int, shape (n_iter_,)
        Misclassified points (= updates) in each pass.
    boundary_lines_ : ndarray, shape (n_iter_, n_features + 1)
        ``[w_1, ..., w_d, b]`` after each pass, to plot how the line moves. In 2-D the line
        ``w1 x1 + w2 x2 + b = 0`` has slope ``-w1 / w2`` and intercept ``-b / w2``.

    Notes
    -----
    Training starts from ``w = 0, b = 0`` unless ``fit`` gets ``coef_init`` and
    ``intercept_init`` (the Udacity lesson starts from random weights). From zero, the
    learning rate only scales ``(w, b)`` and does not change the predictions.

    On data that no line separates the algorithm never settles: on the lessons' 100 points
    (``nnfast.datasets.load_perceptron_points``; the best line gets 95 right) 25 passes at
    learning rate 0.01 end at 92 right, from zero or from the lesson's random start.

    It follows scikit-learn's estimator conventions (``get_params`` / ``set_params``,
    ``clone``, ``score``, ``n_features_in_``, ``classes_``; ``save`` / ``nnfast.load``), with
    this model's own parameter names. Unlike scikit-learn, the constructor checks its
    arguments at once (``fit`` checks them again, for ``set_params``), and ``predict`` takes
    one sample as a 1-D array.

    Examples
    --------
    >>> import nnfast as nf
    >>> p = nf.Perceptron.from_weights([3, 4], -10, learning_rate=0.1)
    >>> p.step([[4, 5]], [0])        # (4, 5) is predicted 1 but labelled 0
    Perceptron(w=[2.6, 3.5], b=-10.1, learning_rate=0.1, max_epochs=25, seed=None, shuffle=False)
    """

    _nnfast_tags = {"binary_only": True}

    def __init__(self, learning_rate=0.01, max_epochs=25, seed=None, shuffle=False):
        # Checked now, to fail where the mistake is, and stored as given (clone needs that).
        _check_params(learning_rate, max_epochs, seed)
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.seed = seed
        self.shuffle = shuffle

    @classmethod
    def from_weights(cls, weights, bias, classes=(0, 1), **params):
        """A perceptron with hand-set weights ``w`` and bias ``b``, ready to predict.

        ``classes`` are the labels that outputs 0 and 1 stand for; ``params`` go to the
        constructor (e.g. ``learning_rate`` for later ``step`` calls).
        """
        model = cls(**params)
        weights = as_float_array(weights, "weights", ndim=(1,)).copy()
        model.coef_ = weights
        model.intercept_ = check_number(bias, "bias")
        model.classes_ = _two_classes(classes)
        model.n_features_in_ = weights.size
        model._reset_history()
        return model

    # --- training ----------------------------------------------------------------------------

    def fit(self, X, y, coef_init=None, intercept_init=None):
        """Run the perceptron algorithm on (X, y) from ``w = coef_init``, ``b = intercept_init``.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
            Two labels (or only 0s and 1s).
        coef_init : array-like, shape (n_features,), optional
            Starting weights; default zeros.
        intercept_init : float, optional
            Starting bias; default 0.

        Returns
        -------
        self
        """
        learning_rate, max_epochs = _check_params(self.learning_rate, self.max_epochs, self.seed)
        require_y(self, y)
        X = as_float_array(classic_X(self, X, reset=True), "X", ndim=(2,))
        self.classes_, labels = _fit_labels(y, X.shape[0])
        d = X.shape[1]
        params = np.zeros(d + 1)
        if coef_init is not None:
            params[:d] = as_matrix(coef_init, "coef_init", d)[0]
        if intercept_init is not None:
            params[d] = check_number(intercept_init, "intercept_init")
        self.n_features_in_ = d
        self._rng = check_rng(self.seed)
        self._reset_history()
        self._passes(X, labels, params, learning_rate, max_epochs)
        return self

    def step(self, X, y):
        """One pass of the perceptron algorithm over (X, y), from the current weights.

        This is the lesson's ``perceptronStep``: each misclassified point, in order (shuffled
        first when ``shuffle``), applies the perceptron trick. An unfitted perceptron starts
        from ``w = 0, b = 0``. Appends the pass to ``errors_`` and ``boundary_lines_``.

        Returns
        -------
        self
        """
        learning_rate, _ = _check_params(self.learning_rate, self.max_epochs, self.seed)
        require_y(self, y)
        if not hasattr(self, "coef_"):
            X = as_float_array(classic_X(self, X, reset=True), "X", ndim=(2,))
            self.classes_, labels = _fit_labels(y, X.shape[0])
            self.coef_, self.intercept_ = np.zeros(X.shape[1]), 0.0
            self.n_features_in_ = X.shape[1]
            self._reset_history()
        else:
            X = as_matrix(classic_X(self, X, reset=False), "X", self.n_features_in_)
            labels = encode_labels(y, "y", X.shape[0], self.classes_)[1]
        if not hasattr(self, "_rng"):
            self._rng = check_rng(self.seed)
        self._passes(X, labels, np.append(self.coef_, self.intercept_), learning_rate, 1)
        return self

    def _passes(self, X, labels, params, learning_rate, max_epochs):
        """Up to ``max_epochs`` passes in the backend kernel; appends them to the history."""
        d = X.shape[1]
        errors = np.zeros(max_epochs, dtype=np.intp)
        lines = np.zeros((max_epochs, d + 1))
        order = np.arange(X.shape[0], dtype=np.intp)
        done = _backend.kernels().perceptron_epochs(
            X, labels, params, learning_rate, max_epochs, bool(self.shuffle), self._rng,
            order, errors, lines)
        self.coef_, self.intercept_ = params[:d].copy(), float(params[d])
        self.n_iter_ += done
        self.errors_ = np.concatenate([self.errors_, errors[:done]])
        self.boundary_lines_ = np.concatenate([self.boundary_lines_, lines[:done]])

    def _reset_history(self):
        self.n_iter_ = 0
        self.errors_ = np.zeros(0, dtype=np.intp)
        self.boundary_lines_ = np.zeros((0, self.n_features_in_ + 1))

    # --- predicting --------------------------------------------------------------------------

    def decision_function(self, X):
        """The score ``w.x + b`` of each sample (a float for one sample ``(n_features,)``)."""
        return self._score(X, "decision_function")

    def predict(self, X):
        """``classes_[1]`` where ``w.x + b >= 0``, else ``classes_[0]`` (one label for one
        sample ``(n_features,)``)."""
        z = self._score(X, "predict")
        return self.classes_[(np.asarray(z) >= 0.0).astype(np.intp)]

    def _score(self, X, method):
        self._check_fitted(method)
        X = classic_X(self, X, reset=False)
        single = np.ndim(X) == 1
        z = linear_score(as_matrix(X, "X", self.n_features_in_), self.coef_, self.intercept_)
        return float(z[0]) if single else z

    __call__ = predict

    def score(self, X, y, sample_weight=None):
        """Accuracy: the (weighted) fraction of samples whose predicted label equals ``y``."""
        pred = np.atleast_1d(self.predict(X))
        y = np.asarray(y)
        if y.shape != pred.shape:
            raise ValueError(f"y must have shape {pred.shape} (one label per sample of X), "
                             f"got {y.shape}.")
        return accuracy_score(y, pred, sample_weight)

    def _is_fitted(self):
        return hasattr(self, "coef_")

    def _check_fitted(self, method):
        if not hasattr(self, "coef_"):
            raise _flavoured(NotFittedError, "NotFittedError")(
                f"This Perceptron has no weights yet: call fit(X, y) (or step(X, y), or build "
                f"it with Perceptron.from_weights(w, b)) before {method}."
            )

    def _expected_failed_checks(self):
        return {
            **classic_failed_checks("Perceptron", "tests/test_perceptron.py"),
            "check_fit2d_predict1d": (
                "predict and decision_function take one sample as a 1-D array (the perceptron "
                "lessons' API: p.predict([4, 5]) == 1, pinned by tests/test_perceptron.py) "
                "instead of raising."),
            "check_supervised_y_2d": (
                "A column-vector y of shape (n, 1) is refused with a ValueError ('y must be "
                "1-D', pinned by tests/test_perceptron.py::test_bad_labels) instead of being "
                "raveled with a DataConversionWarning."),
        }

    # --- files ---------------------------------------------------------------------------------

    def _to_file(self):
        header = classic_header(self)
        if not header["fitted"]:
            return header, {}
        return header, {"coef": self.coef_, "intercept": np.array([self.intercept_]),
                        "errors": self.errors_, "boundary_lines": self.boundary_lines_}

    @classmethod
    def _from_file(cls, header, arrays):
        model = estimator_from_header(cls, header)
        if not header["fitted"]:
            return model
        d = check_number(header["n_features_in"], "n_features_in", 1, integer=True)
        n_iter = check_number(header["n_iter"], "n_iter", 0, integer=True)
        model.classes_ = _two_classes(decode_classes(header["classes"]))
        model.coef_ = float_array(arrays, "coef", (d,))
        model.intercept_ = float(float_array(arrays, "intercept", (1,))[0])
        model.n_features_in_, model.n_iter_ = d, n_iter
        errors = float_array(arrays, "errors", (n_iter,))
        if (errors != np.round(errors)).any() or (errors < 0).any():
            raise ValueError("errors must be counts")
        model.errors_ = errors.astype(np.intp)
        model.boundary_lines_ = float_array(arrays, "boundary_lines", (n_iter, d + 1))
        return model

    def __repr__(self):
        params = (f"learning_rate={self.learning_rate!r}, max_epochs={self.max_epochs!r}, "
                  f"seed={self.seed!r}, shuffle={self.shuffle!r}")
        if not hasattr(self, "coef_"):
            return f"{type(self).__name__}({params})"
        w = ", ".join(f"{v:.6g}" for v in self.coef_)
        return f"{type(self).__name__}(w=[{w}], b={self.intercept_:.6g}, {params})"


def _check_params(learning_rate, max_epochs, seed):
    """(learning_rate, max_epochs) checked; the seed is checked too."""
    learning_rate = check_number(learning_rate, "learning_rate", 0.0, low_open=True)
    max_epochs = check_number(max_epochs, "max_epochs", 1, integer=True)
    check_rng(seed)
    return learning_rate, max_epochs


def _two_classes(classes):
    classes = np.asarray(classes)
    if classes.shape != (2,) or classes[0] == classes[1]:
        raise ValueError(f"classes must be two different labels, got {classes.tolist()!r}.")
    return classes


def _fit_labels(y, n_samples):
    """(classes_, 0/1 codes): labels that are all 0 or 1 keep that meaning, else two sorted."""
    y_arr = classification_labels(np.asarray(y))
    classes = None
    if y_arr.dtype.kind in "biuf" and y_arr.size and np.isin(y_arr, (0, 1)).all():
        classes = np.array([0, 1], dtype=y_arr.dtype)
    classes, codes = encode_labels(y, "y", n_samples, classes)
    if classes.size != 2:
        raise ValueError(
            f"y must hold two classes for a perceptron, got {classes.size} "
            f"class{'es' if classes.size != 1 else ''}: {classes.tolist()!r}."
            + (" Only binary classification is supported." if classes.size > 2 else "")
        )
    return classes, codes
