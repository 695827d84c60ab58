"""The perceptron: a step of a linear score, trained by the perceptron algorithm."""

from __future__ import annotations

import contextlib
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _backend
from ._compat import BaseEstimator, ClassifierMixin, NnfastMixin
from ._run import draw_lock
from ._validation import (
    all_finite,
    as_float_array,
    as_matrix,
    check_number,
    check_rng,
    check_width,
    check_y_column,
    classic_X,
    classification_labels,
    encode_labels,
    memory_limit,
    require_y,
    reshape_error,
)
from .exceptions import NotFittedError, flavoured
from .io import classic_header, decode_classes, estimator_from_header, float_array
from .linear import linear_score
from .metrics import accuracy_score

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import ArrayLike, NDArray
    from typing_extensions import Self

    from ._typing import FloatArray, Seed

#: Multiply-adds per compiled call of the perceptron's passes: Ctrl-C is seen between calls.
PASS_WORK = 2**24


class Perceptron(NnfastMixin, ClassifierMixin, BaseEstimator):
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

    ``coef_``, ``intercept_`` and ``classes_`` of a fitted perceptron can be assigned (the
    values are checked: ``n_features_in_`` finite weights, a finite bias, two labels); the
    other attributes are set by ``fit``, ``step`` and ``from_weights`` only.

    Notes
    -----
    ``fit`` runs its passes in parts of about 16 million multiply-adds, so Ctrl-C stops it
    within a part: the perceptron keeps the weights and history of its complete passes (or
    stays unfitted if none completed) and the KeyboardInterrupt propagates. With
    ``shuffle``, a Generator given as ``seed`` is drawn from under its
    ``bit_generator.lock``.

    Training starts from ``w = 0, b = 0`` unless ``fit`` gets ``coef_init`` and
    ``intercept_init`` (the Udacity lesson starts from random weights). From zero, the
    learning rate only scales ``(w, b)`` and does not change the predictions.

    On data that no line separates the algorithm never settles: on the lessons' 100 points
    (``nnfast.datasets.load_perceptron_points``; the best line gets 95 right) 25 passes at
    learning rate 0.01 end at 92 right, from zero or from the lesson's random start.

    It follows scikit-learn's estimator conventions (``get_params`` / ``set_params``,
    ``clone``, ``score``, ``n_features_in_``, ``classes_``; ``save`` / ``nnfast.load``), with
    this model's own parameter names; as there, ``fit`` (and ``step``, ``from_weights``)
    checks the parameters, which the constructor and ``set_params`` store as given, and
    ``predict`` takes a 2-D X. The lessons' one-sample prediction is the call:
    ``p([4, 5])`` is the label of the point (4, 5).

    Examples
    --------
    >>> import nnfast as nf
    >>> p = nf.Perceptron.from_weights([3, 4], -10, learning_rate=0.1)
    >>> p.step([[4, 5]], [0])        # (4, 5) is predicted 1 but labelled 0
    Perceptron(w=[2.6, 3.5], b=-10.1, learning_rate=0.1, max_epochs=25, seed=None, shuffle=False)
    """

    _estimator_type = "classifier"
    _nnfast_tags = {"binary_only": True}

    def __init__(
        self,
        learning_rate: float = 0.01,
        max_epochs: int = 25,
        seed: Seed = None,
        shuffle: bool = False,
    ) -> None:
        # stored as given (clone needs that), checked by fit, step and from_weights
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.seed = seed
        self.shuffle = shuffle

    @classmethod
    def from_weights(
        cls, weights: ArrayLike, bias: float, classes: ArrayLike = (0, 1), **params: Any
    ) -> Self:
        """A perceptron with hand-set weights ``w`` and bias ``b``, ready to predict.

        ``classes`` are the labels that outputs 0 and 1 stand for; ``params`` go to the
        constructor (e.g. ``learning_rate`` for later ``step`` calls).
        """
        model = cls(**params)
        _check_params(model.learning_rate, model.max_epochs, model.seed)
        coef = as_float_array(weights, "weights", ndim=(1,)).copy()
        model._set_state(
            coef,
            check_number(bias, "bias"),
            _two_classes(classes),
            0,
            np.zeros(0, dtype=np.intp),
            np.zeros((0, coef.size + 1)),
        )
        return model

    # --- fitted state: checked on assignment, read-only where it must match the data ---------

    def _set_state(
        self,
        coef: FloatArray,
        intercept: float,
        classes: NDArray[Any],
        n_iter: int,
        errors: NDArray[np.intp],
        lines: FloatArray,
    ) -> None:
        # coef_ is kept as a view: ndarray.resize (which would change its length under the
        # kernels) refuses an array that does not own its data.
        self._coef, self._intercept, self._classes = coef.view(), float(intercept), classes
        self._n_iter, self._errors, self._lines = n_iter, errors, lines
        self._n_features = coef.size

    def _clear_state(self) -> None:
        for key in (
            "_coef",
            "_intercept",
            "_classes",
            "_n_iter",
            "_errors",
            "_lines",
            "_n_features",
        ):
            self.__dict__.pop(key, None)

    def _fitted(self, name: str) -> Any:
        try:
            return self.__dict__[name]
        except KeyError:
            self._check_fitted(_PUBLIC[name])

    @property
    def coef_(self) -> FloatArray:
        return self._fitted("_coef")

    @coef_.setter
    def coef_(self, value: ArrayLike) -> None:
        d = self._settable("coef_")
        w = as_float_array(value, "coef_", ndim=(1, 2))
        if w.size != d or (w.ndim == 2 and w.shape[0] != 1):
            raise ValueError(
                f"coef_ must hold n_features_in_={d} weights, got an array of "
                f"shape {w.shape}; to change the number of features, fit again "
                f"or use Perceptron.from_weights(w, b)."
            )
        self._coef = w.reshape(d).copy().view()

    @property
    def intercept_(self) -> float:
        return self._fitted("_intercept")

    @intercept_.setter
    def intercept_(self, value: ArrayLike) -> None:
        self._settable("intercept_")
        arr = np.asarray(value)
        if arr.size == 1 and arr.dtype.kind in "iuf":  # 0.5, np.float64(0.5), [0.5]
            value = arr.item()
        self._intercept = check_number(value, "intercept_")

    @property
    def classes_(self) -> NDArray[Any]:
        return self._fitted("_classes")

    @classes_.setter
    def classes_(self, value: ArrayLike) -> None:
        self._settable("classes_")
        self._classes = _two_classes(value, "classes_")

    @property
    def n_features_in_(self) -> int:
        return self._fitted("_n_features")

    @property
    def n_iter_(self) -> int:
        return self._fitted("_n_iter")

    @property
    def errors_(self) -> NDArray[np.intp]:
        return self._fitted("_errors")

    @property
    def boundary_lines_(self) -> FloatArray:
        return self._fitted("_lines")

    def _settable(self, name: str) -> int:
        if "_coef" not in self.__dict__:
            raise flavoured(NotFittedError)(
                f"{name} can be set on a fitted Perceptron only: build one with "
                f"Perceptron.from_weights(w, b) (or fit it) first."
            )
        return self._n_features

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _READ_ONLY:
            raise AttributeError(
                f"{name} is set by fit, step and from_weights: fit again (or "
                f"use Perceptron.from_weights(w, b)) to change it."
            )
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if name in _FITTED:
            raise AttributeError(f"{name} cannot be deleted; fit or build a new Perceptron.")
        super().__delattr__(name)

    # --- training ----------------------------------------------------------------------------

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        coef_init: ArrayLike | None = None,
        intercept_init: float | None = None,
    ) -> Self:
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
        with self._fitting():
            return self._fit(X, y, coef_init, intercept_init)

    def _fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        coef_init: ArrayLike | None,
        intercept_init: float | None,
    ) -> Self:
        learning_rate, max_epochs = _check_params(self.learning_rate, self.max_epochs, self.seed)
        require_y(self, y)
        X = as_float_array(classic_X(self, X, reset=True), "X", ndim=(2,))
        classes, labels = _fit_labels(y, X.shape[0])
        d = X.shape[1]
        params = np.zeros(d + 1)
        if coef_init is not None:
            params[:d] = as_matrix(coef_init, "coef_init", d)[0]
        if intercept_init is not None:
            params[d] = check_number(intercept_init, "intercept_init")
        self._rng = check_rng(self.seed)
        self._clear_state()
        self._passes(X, labels, params, learning_rate, max_epochs, classes, fresh=True)
        return self

    def step(self, X: ArrayLike, y: ArrayLike) -> Self:
        """One pass of the perceptron algorithm over (X, y), from the current weights.

        This is the lesson's ``perceptronStep``: each misclassified point, in order (shuffled
        first when ``shuffle``), applies the perceptron trick. An unfitted perceptron starts
        from ``w = 0, b = 0``. Appends the pass to ``errors_`` and ``boundary_lines_``.

        Returns
        -------
        self
        """
        with self._fitting():
            return self._step(X, y)

    def _step(self, X: ArrayLike, y: ArrayLike) -> Self:
        learning_rate, _ = _check_params(self.learning_rate, self.max_epochs, self.seed)
        require_y(self, y)
        if "_coef" not in self.__dict__:
            X = as_float_array(classic_X(self, X, reset=True), "X", ndim=(2,))
            classes, labels = _fit_labels(y, X.shape[0])
            params, fresh = np.zeros(X.shape[1] + 1), True
        else:
            d = self._n_features
            X = classic_X(self, X, reset=False)
            check_width(self, X, d)
            X = as_matrix(X, "X", d)
            classes = self._classes
            labels = encode_labels(y, "y", X.shape[0], classes)[1]
            coef = self._coef
            if coef.dtype != np.float64 or coef.shape != (d,):  # changed in place
                raise ValueError(
                    f"coef_ is no longer {d} float64 weights (it has shape "
                    f"{coef.shape}, dtype {coef.dtype}): assign it instead, "
                    f"p.coef_ = w."
                )
            params, fresh = np.append(coef, self._intercept), False
        if not hasattr(self, "_rng"):
            self._rng = check_rng(self.seed)
        self._passes(X, labels, params, learning_rate, 1, classes, fresh)
        return self

    def _passes(
        self,
        X: FloatArray,
        labels: NDArray[np.intp],
        params: FloatArray,
        learning_rate: float,
        max_epochs: int,
        classes: NDArray[Any],
        fresh: bool,
    ) -> None:
        """Up to ``max_epochs`` passes in the backend kernel, a part of about ``PASS_WORK``
        multiply-adds per call; the complete passes are recorded even on Ctrl-C."""
        n, d = X.shape
        kernels = _backend.kernels()
        shuffle = bool(self.shuffle)
        if not (params.shape == (d + 1,) and labels.shape == (n,)):  # O(1), before C
            raise ValueError(
                f"the perceptron's weights ({params.size - 1}) do not match X's {d} features."
            )
        size = max(1, min(max_epochs, PASS_WORK // max(1, n * (d + 1))))
        errors = np.empty(size, dtype=np.intp)
        lines = np.empty((size, d + 1))
        order = np.arange(n, dtype=np.intp)
        parts: list[tuple[NDArray[np.intp], FloatArray]] = []
        done, pending = 0, False
        # (without shuffling the kernel draws nothing)
        lock = draw_lock(kernels, self._rng) if shuffle else contextlib.nullcontext()
        # errors_ and boundary_lines_ grow by a row per pass: on data no line separates,
        # a huge max_epochs would fill the memory before it ended
        limit = memory_limit()
        room = None if limit is None else (limit // 4) // (8 * (d + 2))  # (and a copy)
        try:
            while done < max_epochs:
                if room is not None and done >= room:
                    warnings.warn(
                        f"Stopped after {done} passes: the records of more "
                        f"(errors_, boundary_lines_) would not fit in memory; "
                        f"lower max_epochs.",
                        RuntimeWarning,
                        stacklevel=4,
                    )
                    break
                k = min(size, max_epochs - done, room - done if room is not None else size)
                errors[:k] = -1  # a pass the kernel completes gets its (>= 0) count
                start, before, pending = params.copy(), len(parts), True
                with lock:
                    ran = kernels.perceptron_epochs(
                        X,
                        labels,
                        params,
                        learning_rate,
                        k,
                        shuffle,
                        self._rng,
                        order,
                        errors,
                        lines,
                    )
                if not all_finite(params):  # the weights overflowed (huge X or rate)
                    ran = _finite_passes(lines[:ran])
                    params[:] = lines[ran - 1] if ran else start
                    parts.append((errors[:ran].copy(), lines[:ran].copy()))
                    pending = False
                    message = (
                        f"The perceptron's weights overflowed to infinity in pass "
                        f"{done + ran}: scale X (or lower learning_rate)."
                    )
                    if not any(len(e) for e, _ in parts):
                        self._record(parts, params, d, classes, fresh)
                        raise ValueError(message + " Nothing was learnt: X's values are too large.")
                    warnings.warn(
                        message[:-1] + "; stopped, and kept the weights of the last finite pass.",
                        RuntimeWarning,
                        stacklevel=4,
                    )
                    break
                parts.append((errors[:ran].copy(), lines[:ran].copy()))
                pending = False
                done += ran
                if ran < k:  # a pass without a mistake: converged
                    break
        except KeyboardInterrupt:
            if pending and len(parts) == before:  # the interrupted part's complete passes
                ran = int(np.count_nonzero(errors[:k] >= 0))
                params[:] = lines[ran - 1] if ran else start
                parts.append((errors[:ran].copy(), lines[:ran].copy()))
            self._record(parts, params, d, classes, fresh)
            raise
        self._record(parts, params, d, classes, fresh)

    def _record(
        self,
        parts: list[tuple[NDArray[np.intp], FloatArray]],
        params: FloatArray,
        d: int,
        classes: NDArray[Any],
        fresh: bool,
    ) -> None:
        """The model after the passes in ``parts``: appended to its history, or (``fresh``)
        a new history; a fresh start without a complete pass leaves it unfitted."""
        new_errors = np.concatenate([e for e, _ in parts] or [np.zeros(0, dtype=np.intp)])
        new_lines = np.concatenate([b for _, b in parts] or [np.zeros((0, d + 1))])
        if fresh:
            if not new_errors.size:
                self._clear_state()
                return
            errors, lines, n_iter = new_errors, new_lines, new_errors.size
        else:
            errors = np.concatenate([self._errors, new_errors])
            lines = np.concatenate([self._lines, new_lines])
            n_iter = self._n_iter + new_errors.size
        self._set_state(params[:d].copy(), float(params[d]), classes, n_iter, errors, lines)

    # --- predicting --------------------------------------------------------------------------

    def decision_function(self, X: ArrayLike) -> FloatArray:
        """The score ``w.x + b`` of each sample, shape (n_samples,)."""
        return self._score(X, "decision_function")

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """``classes_[1]`` where ``w.x + b >= 0``, else ``classes_[0]``, for each sample of
        X (n_samples, n_features). One sample is ``p.predict([x])``, or ``p(x)``."""
        z = self._score(X, "predict")
        return self.classes_[(z >= 0.0).astype(np.intp)]

    def __call__(self, x: ArrayLike) -> Any:
        """The label of one sample ``x`` (n_features,), as the lessons write it: ``p([4,
        5])``; a batch (n_samples, n_features) gives ``predict``'s labels."""
        if np.ndim(x) == 1:
            return self.predict(np.reshape(x, (1, -1)))[0]
        return self.predict(x)

    def _score(self, X: ArrayLike, method: str) -> FloatArray:
        self._check_fitted(method)
        X = classic_X(self, X, reset=False)
        if np.ndim(X) == 1:
            raise reshape_error(np.asarray(X))
        check_width(self, X, self.n_features_in_)
        return linear_score(as_matrix(X, "X", self.n_features_in_), self.coef_, self.intercept_)

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Accuracy: the (weighted) fraction of samples whose predicted label equals ``y``."""
        pred = self.predict(X)
        y = np.asarray(y)
        if y.shape != pred.shape:
            raise ValueError(
                f"y must have shape {pred.shape} (one label per sample of X), got {y.shape}."
            )
        return accuracy_score(y, pred, sample_weight)

    def _is_fitted(self) -> bool:
        return "_coef" in self.__dict__

    def _check_fitted(self, method: str) -> None:
        if "_coef" not in self.__dict__:
            raise flavoured(NotFittedError)(
                f"This Perceptron has no weights yet: call fit(X, y) (or step(X, y), or build "
                f"it with Perceptron.from_weights(w, b)) before {method}."
            )

    # --- files ---------------------------------------------------------------------------------

    def _to_file(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header = classic_header(self)
        if not header["fitted"]:
            return header, {}
        return header, {
            "coef": self.coef_,
            "intercept": np.array([self.intercept_]),
            "errors": self.errors_,
            "boundary_lines": self.boundary_lines_,
        }

    @classmethod
    def _file_shapes(cls, header: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        if not header["fitted"]:
            return {}
        d = check_number(header["n_features_in"], "n_features_in", 1, integer=True)
        n_iter = check_number(header["n_iter"], "n_iter", 0, integer=True)
        return {
            "coef": (d,),
            "intercept": (1,),
            "errors": (n_iter,),
            "boundary_lines": (n_iter, d + 1),
        }

    @classmethod
    def _from_file(cls, header: Mapping[str, Any], arrays: Mapping[str, Any]) -> Self:
        model = estimator_from_header(cls, header)
        if not header["fitted"]:
            return model
        d = check_number(header["n_features_in"], "n_features_in", 1, integer=True)
        n_iter = check_number(header["n_iter"], "n_iter", 0, integer=True)
        classes = _two_classes(decode_classes(header["classes"]))
        coef = float_array(arrays, "coef", (d,))
        intercept = float(float_array(arrays, "intercept", (1,))[0])
        errors = float_array(arrays, "errors", (n_iter,))
        if (errors != np.round(errors)).any() or (errors < 0).any():
            raise ValueError("errors must be counts")
        lines = float_array(arrays, "boundary_lines", (n_iter, d + 1))
        model._set_state(coef, intercept, classes, n_iter, errors.astype(np.intp), lines)
        return model

    def __repr__(self) -> str:
        params = (
            f"learning_rate={self.learning_rate!r}, max_epochs={self.max_epochs!r}, "
            f"seed={self.seed!r}, shuffle={self.shuffle!r}"
        )
        if "_coef" not in self.__dict__:
            return f"{type(self).__name__}({params})"
        w = ", ".join(f"{v:.6g}" for v in self.coef_)
        return f"{type(self).__name__}(w=[{w}], b={self.intercept_:.6g}, {params})"


def _finite_passes(lines: FloatArray) -> int:
    """How many of the passes recorded in ``lines`` end with finite weights (a prefix)."""
    bad = np.flatnonzero(~np.isfinite(lines).all(axis=1))
    return int(bad[0]) if bad.size else len(lines)


_FITTED = (
    "coef_",
    "intercept_",
    "classes_",
    "n_features_in_",
    "n_iter_",
    "errors_",
    "boundary_lines_",
)
_READ_ONLY = ("n_features_in_", "n_iter_", "errors_", "boundary_lines_")
_PUBLIC = {
    "_coef": "coef_",
    "_intercept": "intercept_",
    "_classes": "classes_",
    "_n_features": "n_features_in_",
    "_n_iter": "n_iter_",
    "_errors": "errors_",
    "_lines": "boundary_lines_",
}


def _check_params(learning_rate: float, max_epochs: int, seed: Seed) -> tuple[float, int]:
    """(learning_rate, max_epochs) checked; the seed is checked too."""
    learning_rate = check_number(learning_rate, "learning_rate", 0.0, low_open=True)
    max_epochs = check_number(max_epochs, "max_epochs", 1, integer=True)
    check_rng(seed)
    return learning_rate, max_epochs


def _two_classes(classes: ArrayLike, name: str = "classes") -> NDArray[Any]:
    classes = np.asarray(classes)
    if classes.shape != (2,) or classes.dtype.kind not in "biufUSO" or classes[0] == classes[1]:
        raise ValueError(f"{name} must be two different labels, got {classes.tolist()!r}.")
    return classes


def _fit_labels(y: ArrayLike, n_samples: int) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """(classes_, 0/1 codes): labels that are all 0 or 1 keep that meaning, else two sorted."""
    y = check_y_column(np.asarray(y))
    y_arr = classification_labels(y)
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
