"""The scikit-learn estimator protocol, without importing scikit-learn.

nnfast's models (``Perceptron``, ``LogisticRegression``, ``MLPClassifier``, ``MLPRegressor``)
follow scikit-learn's conventions: hyperparameters are the constructor's arguments, stored
unchanged (``get_params`` / ``set_params`` / ``clone`` work from the signature), fitted
state lives in attributes ending in ``_``, ``score`` is accuracy or R^2. They do so with the
small base classes here rather than by inheriting ``sklearn.base.BaseEstimator``, because
``import sklearn.base`` loads scipy.stats and pandas: where this was written it took 4-6 s,
three to four times nnfast's own import, and every ``python -m nnfast`` call would pay it. scikit-learn's machinery only duck-types (``clone``, ``Pipeline``, ``GridSearchCV``,
``check_estimator`` call ``get_params`` and ``__sklearn_tags__``), so nothing is lost but
that time. The few things that need scikit-learn's own classes are resolved when they are
used, from what is already imported:

- ``__sklearn_tags__`` (only scikit-learn calls it) imports ``sklearn.utils``' tag classes;
- warnings are ``nnfast.ConvergenceWarning`` / ``DataConversionWarning`` and, when
  ``sklearn.exceptions`` has been imported (as any code filtering scikit-learn's warning
  classes has done), also instances of scikit-learn's classes of the same name, so
  ``warnings.filterwarnings("ignore", category=sklearn.exceptions.ConvergenceWarning)``
  silences them; ``NotFittedError`` likewise.

Input checks here follow scikit-learn's messages where its ``check_estimator`` tests them
("Reshape your data", "X has 3 features, but ... is expecting 2 features as input").
"""
from __future__ import annotations

import contextlib
import inspect
import json
import math
import numbers
import sys
import threading
import warnings

import numpy as np

from ._validation import NotFittedError as _NnfastNotFittedError
from ._validation import all_finite


# --- warnings and errors, scikit-learn flavoured when scikit-learn is in use ------------------

class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at ``max_iter`` (or ``max_fun``) before converging.

    When ``sklearn.exceptions`` is imported, the warnings nnfast emits are also instances of
    ``sklearn.exceptions.ConvergenceWarning``, so scikit-learn's filters apply to them.
    """


class DataConversionWarning(UserWarning):
    """Input was converted (a column-vector y raveled to 1-D), as scikit-learn warns."""


_FLAVOURED = {}


def _flavoured(cls, sklearn_name):
    """``cls``, or a subclass of both ``cls`` and ``sklearn.exceptions.<sklearn_name>`` when
    that module is already imported (never imports scikit-learn)."""
    module = sys.modules.get("sklearn.exceptions")
    other = getattr(module, sklearn_name, None) if module is not None else None
    if other is None or issubclass(cls, other):
        return cls
    key = (cls, other)
    if key not in _FLAVOURED:
        _FLAVOURED[key] = type(cls.__name__, (cls, other), {"__module__": cls.__module__,
                                                            "__doc__": cls.__doc__})
    return _FLAVOURED[key]


def warn(message, category, stacklevel=3):
    """Emit ``message`` as ``category`` (one of the classes above), sklearn-flavoured."""
    warnings.warn(message, _flavoured(category, category.__name__), stacklevel=stacklevel)


def not_fitted(estimator, method):
    """The NotFittedError to raise when ``method`` is called before ``fit``."""
    cls = _flavoured(_NnfastNotFittedError, "NotFittedError")
    return cls(f"This {type(estimator).__name__} instance is not fitted yet: call fit(X, y) "
               f"with appropriate arguments before using {method}.")


# --- one fit at a time ---------------------------------------------------------------------------

_BUSY, _BUSY_LOCK = set(), threading.Lock()


@contextlib.contextmanager
def fitting(estimator):
    """Mark ``estimator`` as being fitted: a second ``fit`` (or ``partial_fit``, ``step``)
    of it, from another thread, raises RuntimeError instead of interleaving two runs on one
    model. Kept outside the estimator, so that it pickles and clones as before."""
    key = id(estimator)
    with _BUSY_LOCK:
        if key in _BUSY:
            raise RuntimeError(
                f"This {type(estimator).__name__} is being fitted by another thread: fit a "
                f"copy to train in parallel (sklearn.base.clone(model), or copy.deepcopy).")
        _BUSY.add(key)
    try:
        yield
    finally:
        with _BUSY_LOCK:
            _BUSY.discard(key)


# --- the estimator protocol --------------------------------------------------------------------

class BaseEstimator:
    """get_params / set_params / __repr__ from the constructor's signature, as scikit-learn.

    Subclasses store every constructor argument unchanged under its own name (and nothing
    else) in ``__init__``, so that ``clone`` (``type(est)(**est.get_params())``) rebuilds them.
    ``_nnfast_tags`` holds the few scikit-learn tags that differ from the defaults
    (``binary_only``, ``multi_label``, ``multi_output``); ``_expected_failed_checks``
    names the scikit-learn common checks a model cannot pass, with the reason.
    """

    _estimator_type = None
    _nnfast_tags: dict = {}

    @classmethod
    def _get_param_names(cls):
        init = cls.__init__
        if init is object.__init__:
            return []
        names = []
        for p in inspect.signature(init).parameters.values():
            if p.name == "self" or p.kind == p.VAR_KEYWORD:
                continue
            if p.kind == p.VAR_POSITIONAL:
                raise RuntimeError(f"{cls.__name__} must not take *args: scikit-learn "
                                   "estimators name every parameter.")
            names.append(p.name)
        return sorted(names)

    def get_params(self, deep=True):
        """The constructor's parameters as a dict (``deep``: also nested estimators')."""
        out = {}
        for key in self._get_param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
            out[key] = value
        return out

    def set_params(self, **params):
        """Set parameters (``name`` or ``nested__name``); returns self. Not validated until
        ``fit``, as in scikit-learn."""
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested = {}
        for key, value in params.items():
            key, delim, sub_key = key.partition("__")
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {type(self).__name__}. Valid "
                    f"parameters are: {self._get_param_names()!r}."
                )
            if delim:
                nested.setdefault(key, {})[sub_key] = value
            else:
                setattr(self, key, value)
                valid[key] = value
        for key, sub_params in nested.items():
            valid[key].set_params(**sub_params)
        return self

    def __repr__(self):
        """``Name(param=value, ...)`` for the parameters that differ from their defaults."""
        signature = inspect.signature(type(self).__init__).parameters
        shown = []
        for name, p in signature.items():
            if name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            value = getattr(self, name, None)
            if p.default is p.empty or repr(value) != repr(p.default):
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __sklearn_is_fitted__(self):
        return self._is_fitted()

    def _is_fitted(self):
        raise NotImplementedError

    # scikit-learn >= 1.6 reads __sklearn_tags__, older versions _more_tags; the two are
    # defined together, as scikit-learn's check_estimator_tags_renamed asks.
    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, RegressorTags, Tags, TargetTags

        kind = self._estimator_type
        tags = Tags(estimator_type=kind, target_tags=TargetTags(required=kind is not None),
                    transformer_tags=None, regressor_tags=None, classifier_tags=None)
        extra = self._nnfast_tags
        if kind == "classifier":
            tags.classifier_tags = ClassifierTags(
                multi_class=not extra.get("binary_only", False),
                multi_label=extra.get("multi_label", False))
        elif kind == "regressor":
            tags.regressor_tags = RegressorTags()
        tags.target_tags.multi_output = extra.get("multi_output", False)
        return tags

    def _more_tags(self):
        return {"binary_only": self._nnfast_tags.get("binary_only", False),
                "multilabel": self._nnfast_tags.get("multi_label", False),
                "multioutput": self._nnfast_tags.get("multi_output", False),
                "requires_y": True,
                "_xfail_checks": dict(self._expected_failed_checks())}

    def _expected_failed_checks(self):
        """{scikit-learn check name: why this model does not pass it}."""
        return {}

    # --- model files --------------------------------------------------------------------------

    def save(self, path):
        """Write the model to ``path`` (.npz with a JSON header, never a pickle); returns the
        path. ``nnfast.load(path)`` reads it back."""
        from . import io

        return io.save(self, path)


class ClassifierMixin:
    """``score`` is the accuracy (subset accuracy for multilabel y), as in scikit-learn."""

    _estimator_type = "classifier"

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of ``predict(X)`` against ``y`` (weighted by ``sample_weight``)."""
        return accuracy_score(y, self.predict(X), sample_weight)


class RegressorMixin:
    """``score`` is the coefficient of determination R^2, as in scikit-learn."""

    _estimator_type = "regressor"

    def score(self, X, y, sample_weight=None):
        """R^2 = 1 - sum w (y - y_pred)^2 / sum w (y - mean_w(y))^2, averaged over outputs."""
        return r2_score(y, self.predict(X), sample_weight)


class available_if:
    """Method descriptor: the method exists only where ``check(estimator)`` holds (else
    AttributeError, so ``hasattr`` is False), like scikit-learn's ``available_if``."""

    def __init__(self, check, reason):
        self.check, self.reason = check, reason

    def __call__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        return self

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.fn
        if not self.check(obj):
            raise AttributeError(self.reason(obj))
        return self.fn.__get__(obj, owner)


# --- metrics -----------------------------------------------------------------------------------

def _consistent(a, b):
    if len(a) != len(b):
        raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                         f"[{len(a)}, {len(b)}]")


def accuracy_score(y_true, y_pred, sample_weight=None):
    """Fraction (weighted) of samples predicted right; a 2-D y needs every column right."""
    y_true = column_or_1d_if_column(np.asarray(y_true))
    y_pred = np.asarray(y_pred)
    _consistent(y_true, y_pred)
    if y_true.ndim != y_pred.ndim:
        raise ValueError(f"y has shape {y_true.shape} but the predictions have shape "
                         f"{y_pred.shape}.")
    right = y_true == y_pred
    if right.ndim == 2:
        right = right.all(axis=1)
    w = check_sample_weight(sample_weight, len(y_true))
    return float(np.average(right, weights=w))


def r2_score(y_true, y_pred, sample_weight=None):
    """R^2 averaged uniformly over outputs; a constant output scores 1 if predicted exactly,
    else 0 (scikit-learn's ``force_finite``)."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    _consistent(y_true, y_pred)
    y_true = y_true.reshape(len(y_true), -1)
    y_pred = y_pred.reshape(len(y_pred), -1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y has {y_true.shape[1]} outputs but the predictions have "
                         f"{y_pred.shape[1]}.")
    if len(y_true) < 2:
        warnings.warn("R^2 score is not well-defined with less than two samples.",
                      UserWarning, stacklevel=3)
        return float("nan")
    w = check_sample_weight(sample_weight, len(y_true))
    w = np.ones(len(y_true)) if w is None else w
    w = w[:, None]
    num = (w * (y_true - y_pred) ** 2).sum(axis=0)
    mean = (w * y_true).sum(axis=0) / w.sum()
    den = (w * (y_true - mean) ** 2).sum(axis=0)
    safe = den != 0
    scores = np.where(num == 0, 1.0, 0.0)
    scores[safe] = 1.0 - num[safe] / den[safe]
    return float(scores.mean())


# --- input checks --------------------------------------------------------------------------------

def _feature_names(X):
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = np.asarray(list(columns), dtype=object)
    if names.size == 0 or not all(isinstance(n, str) for n in names):
        return None
    return names


def to_array(X, name="X"):
    """``X`` as a NumPy array of real numbers (not yet float64-checked): pandas objects
    converted, object arrays cast to float, complex and sparse input refused clearly."""
    if hasattr(X, "toarray") and hasattr(X, "nnz"):  # scipy.sparse
        raise TypeError(f"Sparse input is not supported: nnfast's kernels take dense arrays; "
                        f"pass {name}.toarray() if it fits in memory.")
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
        _check_frame_columns(X, name)
        try:  # nullable extension dtypes (Int64, Float64) come out as float, NA as NaN
            X = X.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            X = X.to_numpy()
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name} must be an array of numbers: {exc}") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} must hold real numbers.")
    if arr.dtype.kind == "O":  # (a str array is refused as such by the callers)
        try:
            arr = arr.astype(np.float64)
        except ValueError as exc:  # text
            raise ValueError(f"{name} holds text ({exc}): the estimators take numbers. {TEXT_HINT}"
                             ) from None
        except TypeError as exc:  # scikit-learn's check_dtype_object matches the message
            raise TypeError(f"{name} holds values that are not numbers ({exc}). {TEXT_HINT}"
                            ) from None
    elif arr.dtype.kind == "M":
        raise TypeError(f"{name} holds dates (dtype {arr.dtype}): the estimators take numbers. "
                        f"{TEXT_HINT}")
    return arr


TEXT_HINT = ("Encode text, categorical and date columns first, e.g. with "
             "nnfast.TableEncoder() in a Pipeline.")


def _check_frame_columns(X, name):
    """A pandas DataFrame's columns that are not numbers: a ValueError naming ``name`` and
    the first such column (pandas' own messages name neither)."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):
        return
    for column, dtype in dtypes.items():
        if getattr(dtype, "kind", "O") in "biuf":
            continue
        if getattr(dtype, "kind", "O") in "mM" or "datetime" in str(dtype):
            raise ValueError(f"{name} has a column {column!r} of dates or times ({dtype}): the "
                             f"estimators take numbers. {TEXT_HINT}")
        values = X[column].to_numpy()
        try:
            np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            example = next((v for v in values if not isinstance(v, (int, float))), values[0])
            raise ValueError(f"{name} has a column {column!r} of {dtype} values that are not "
                             f"numbers (such as {example!r}): the estimators take numbers. "
                             f"{TEXT_HINT}") from None


def check_X(estimator, X, reset):
    """Validated 2-D float64 C-contiguous X for the MLP estimators (scikit-learn messages).

    ``reset`` (fit from scratch): record ``n_features_in_`` and ``feature_names_in_``; else
    check them.
    """
    name = type(estimator).__name__
    names = _feature_names(X)
    arr = to_array(X)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"X must hold real numbers, got dtype {arr.dtype}. {TEXT_HINT}")
    if arr.ndim == 1:
        raise reshape_error(arr)
    if arr.ndim != 2:
        raise ValueError(f"Found array with dim {arr.ndim}. {name} expected a 2-D X "
                         f"(n_samples, n_features).")
    if arr.shape[0] == 0:
        raise ValueError(f"X has no samples: found array with 0 sample(s) (shape={arr.shape}) "
                         f"while a minimum of 1 is required.")
    if arr.shape[1] == 0:
        raise ValueError(f"X has no features: found array with 0 feature(s) (shape="
                         f"{arr.shape}) while a minimum of 1 is required.")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not all_finite(arr):
        what = "NaN" if np.isnan(arr).any() else "infinity or a value too large for dtype('float64')"
        raise ValueError(f"Input X contains {what}.")
    check_feature_names(estimator, names, reset)
    if reset:
        estimator.n_features_in_ = arr.shape[1]
    elif arr.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has {arr.shape[1]} features, but {name} is expecting "
                         f"{estimator.n_features_in_} features as input.")
    return arr


def reshape_error(arr):
    return ValueError(
        "Expected 2D array X, got 1D array instead:\narray={}.\nReshape your data either "
        "using array.reshape(-1, 1) if your data has a single feature or "
        "array.reshape(1, -1) if it contains a single sample.".format(arr))


def classic_X(estimator, X, reset):
    """X for the classic models (Perceptron, LogisticRegression) before their own checks
    (``as_float_array`` / ``as_matrix``, whose messages they keep): pandas, object arrays,
    complex and sparse input handled as in ``check_X``, feature names recorded or compared."""
    names = _feature_names(X)
    arr = to_array(X)
    if arr.ndim == 2 and arr.shape[0] > 0 and arr.shape[1] == 0:
        raise ValueError(f"X has no features: found array with 0 feature(s) (shape="
                         f"{arr.shape}) while a minimum of 1 is required.")
    check_feature_names(estimator, names, reset)
    return arr


def check_feature_names(estimator, names, reset):
    """Record (``reset``) or compare the column names of a pandas X, as scikit-learn does."""
    name = type(estimator).__name__
    if reset:
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is None and names is None:
        return
    if fitted is None:
        warnings.warn(f"X has feature names, but {name} was fitted without feature names",
                      UserWarning, stacklevel=5)
    elif names is None:
        warnings.warn(f"X does not have valid feature names, but {name} was fitted with "
                      f"feature names", UserWarning, stacklevel=5)
    elif len(names) != len(fitted) or (names != fitted).any():
        raise ValueError("The feature names should match those that were passed during fit."
                         f" Fitted with {list(fitted)}, got {list(names)}.")


def checked_classes(classes, n):
    """``classes_`` as an array of the ``n`` labels the model's outputs stand for (a
    ``classes_`` replaced by something else is refused, naming it)."""
    arr = np.asarray(classes)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"classes_ must hold the model's {n} class labels, one per class it "
                         f"predicts, but it has shape {arr.shape}: fit again to change the "
                         f"classes.")
    return arr


def column_or_1d_if_column(y):
    return y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y


def check_y_column(y, warn_column=True):
    """A (n, 1) y is raveled with a DataConversionWarning, as scikit-learn does."""
    if y.ndim == 2 and y.shape[1] == 1:
        if warn_column:
            warn("A column-vector y was passed when a 1d array was expected. Please change "
                 "the shape of y to (n_samples,), for example using ravel().",
                 DataConversionWarning, stacklevel=6)
        return y.ravel()
    return y


def require_y(estimator, y):
    if y is None:
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the target "
                         f"y is None.")


def check_consistent(n, y, name="y"):
    if np.ndim(y) == 0:
        raise ValueError(f"{name} must be an array with one entry per sample, got {y!r}.")
    if len(y) != n:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                         f"[{n}, {len(y)}] (X and {name}).")


def classification_labels(y, name="y"):
    """1-D labels as an array; refuses continuous targets ("Unknown label type")."""
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise ValueError(f"Input {name} contains NaN or infinity.")
        if (y != np.round(y)).any():
            raise ValueError(f"Unknown label type: continuous. {name} must hold class labels "
                             "(integers, strings, ...); for real-valued targets use a "
                             "regressor.")
    elif y.dtype.kind == "c":
        raise ValueError(f"Unknown label type: complex values in {name}.")
    elif y.dtype.kind == "O":
        for v in y.ravel():
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"Input {name} contains NaN or infinity.")
            if isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral) \
                    and v != round(v):
                raise ValueError(f"Unknown label type: continuous values in {name}.")
        try:
            np.unique(y)
        except TypeError as exc:  # "'<' not supported between 'NoneType' and 'int'"
            raise ValueError(f"{name} mixes label types that cannot be sorted ({exc}): class "
                             "labels must be all numbers or all strings.") from None
    return y


def check_sample_weight(sample_weight, n):
    """None, or a float64 vector of n finite, non-negative weights (a scalar is repeated)."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must hold real numbers, got dtype {w.dtype}.")
    w = w.astype(np.float64)
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.shape != (n,):
        raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinity.")
    if (w < 0).any():
        raise ValueError("Negative values in data passed to sample_weight.")
    if not w.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return w


def class_weight_vector(class_weight, classes, codes, balanced_ok=True):
    """Per-sample weights from ``class_weight`` (None, "balanced" or {label: weight}), or None."""
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be None, 'balanced' or a dict "
                             f"{{label: weight}}, got {class_weight!r}.")
        if not balanced_ok:
            raise ValueError("class_weight='balanced' is not supported by partial_fit (the "
                             "class frequencies of one batch are not those of the data); "
                             "pass a dict of weights instead.")
        counts = np.bincount(codes, minlength=len(classes)).astype(np.float64)
        per_class = np.zeros(len(classes))
        present = counts > 0
        per_class[present] = codes.size / (np.count_nonzero(present) * counts[present])
        return per_class[codes]
    if not isinstance(class_weight, dict):
        raise TypeError(f"class_weight must be None, 'balanced' or a dict {{label: weight}}, "
                        f"got {class_weight!r}.")
    per_class = np.ones(len(classes))
    known = {c: i for i, c in enumerate(classes.tolist())}
    for label, weight in class_weight.items():
        key = label.item() if isinstance(label, np.generic) else label
        if key not in known:
            raise ValueError(f"class_weight has label {label!r}, which is not among the "
                             f"classes {classes.tolist()!r}.")
        per_class[known[key]] = check_weight(weight, f"class_weight[{label!r}]")
    return per_class[codes]


def check_weight(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
    return float(value)


def check_random_state(random_state, name="random_state"):
    """Fail on a ``random_state`` that ``random_generator`` would refuse, drawing nothing."""
    if random_state is None or isinstance(random_state, (np.random.Generator,
                                                         np.random.RandomState)):
        return
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool) \
            and 0 <= random_state < 2 ** 32:
        return
    raise ValueError(f"{name} must be None, an int in [0, 2**32), a numpy Generator or "
                     f"RandomState, got {random_state!r}.")


def random_generator(random_state, name="random_state"):
    """A numpy Generator from None, an int, a Generator or a legacy RandomState (from which
    a seed is drawn, so repeated fits differ as they do in scikit-learn)."""
    if random_state is None:
        return np.random.default_rng()
    check_random_state(random_state, name)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(int(random_state))


# --- model files: hyperparameters and labels in the JSON header ---------------------------------

def encode_value(value):
    """A hyperparameter as JSON, with tuples and dicts tagged so they come back as they were.

    Raises TypeError for what JSON cannot hold faithfully (callers replace such values).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [encode_value(v) for v in value]}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"__tuple__": [encode_value(v) for v in value.tolist()]}
    raise TypeError(f"cannot store {value!r} in a model file")


def decode_value(value):
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"} and isinstance(value["__tuple__"], list):
            return tuple(decode_value(v) for v in value["__tuple__"])
        if set(value) == {"__dict__"} and isinstance(value["__dict__"], list):
            out = {}
            for pair in value["__dict__"]:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ValueError(f"bad dict entry {pair!r}")
                key = decode_value(pair[0])
                out[tuple(key) if isinstance(key, list) else key] = decode_value(pair[1])
            return out
        raise ValueError(f"unexpected object {value!r} in the parameters")
    return value


def params_header(estimator):
    """{"params": ..., "unsaved_params": [...]}: ``get_params(deep=False)`` as JSON; values
    JSON cannot hold (a Generator as random_state) are stored as None and listed."""
    params, unsaved = {}, []
    for key, value in estimator.get_params(deep=False).items():
        try:
            params[key] = encode_value(value)
            json.dumps(params[key], allow_nan=True)
        except (TypeError, ValueError):
            params[key] = None
            unsaved.append(key)
    return {"params": params, "unsaved_params": unsaved}


def estimator_from_header(cls, header):
    """``cls(**params)`` from a header written by ``params_header``; the names must match."""
    params = header["params"]
    if not isinstance(params, dict):
        raise ValueError("params must be a JSON object")
    expected = set(cls._get_param_names())
    if set(params) != expected:
        raise ValueError(f"params {sorted(params)} do not match {cls.__name__}'s parameters "
                         f"{sorted(expected)}")
    return cls(**{k: decode_value(v) for k, v in params.items()})


_LABEL_KINDS = "biufUS"


def encode_classes(classes):
    classes = np.asarray(classes)
    if classes.dtype.kind == "O":
        values = classes.tolist()
        if not all(isinstance(v, (str, bool, int, float)) for v in values):
            raise TypeError("class labels of mixed Python objects cannot be stored in a model "
                            "file; use numbers or strings.")
        return {"dtype": "object", "values": values}
    if classes.dtype.kind not in _LABEL_KINDS:
        raise TypeError(f"class labels of dtype {classes.dtype} cannot be stored in a model "
                        "file; use numbers or strings.")
    values = classes.tolist()
    if classes.dtype.kind == "S":
        values = [v.decode("latin-1") for v in values]
    return {"dtype": classes.dtype.str, "values": values}


def decode_classes(entry):
    if not isinstance(entry, dict) or not isinstance(entry.get("values"), list):
        raise ValueError("classes must be {'dtype': ..., 'values': [...]}")
    values = entry["values"]
    if entry["dtype"] == "object":
        if not all(isinstance(v, (str, bool, int, float)) for v in values):
            raise ValueError("object class labels must be numbers or strings")
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    dtype = np.dtype(entry["dtype"])
    if dtype.kind not in _LABEL_KINDS:
        raise ValueError(f"class labels of dtype {dtype} are not allowed")
    if dtype.kind == "S":
        values = [v.encode("latin-1") for v in values]
    out = np.asarray(values, dtype=dtype)
    if out.ndim != 1 or len(np.unique(out)) != out.size:
        raise ValueError("classes must be distinct labels")
    return out


def float_array(arrays, key, shape=None, name=None, finite=True):
    """``arrays[key]`` as float64 with ``shape`` (a None entry matches any length), finite
    unless ``finite=False`` (records of a run, such as a loss curve, may hold the NaN of a
    diverged epoch; what computes predictions may not)."""
    arr = np.asarray(arrays[key], dtype=np.float64)
    if shape is not None and (arr.ndim != len(shape) or any(
            s is not None and s != a for s, a in zip(shape, arr.shape))):
        raise ValueError(f"{name or key} has shape {arr.shape}, expected {tuple(shape)}")
    if finite and not np.isfinite(arr).all():
        raise ValueError(f"{name or key} holds NaN or infinity")
    return np.ascontiguousarray(arr)


def classic_failed_checks(name, test_file):
    """The two scikit-learn checks the classic models (Perceptron, LogisticRegression) fail on
    purpose, with the reason: the lesson tests in ``test_file`` pin nnfast's behaviour."""
    return {
        "check_do_not_raise_errors_in_init_or_set_params": (
            "nnfast's classic models check their arguments in the constructor, so a "
            f"mistake fails where it is made ({test_file}::test_bad_parameters "
            "pins it); fit checks them again, so set_params cannot bypass the checks."),
        "check_n_features_in_after_fitting": (
            "The wrong-width error keeps nnfast's wording, 'X has 3 features per sample, "
            f"but the model expects 2' (pinned by {test_file}), rather than "
            f"scikit-learn's 'X has 3 features, but {name} is expecting 2 features as "
            "input'; it is the same ValueError."),
    }


def classic_header(model):
    """The file header of Perceptron / LogisticRegression: the parameters and, once fitted,
    the classes, feature count and iteration count."""
    header = params_header(model)
    header["fitted"] = model._is_fitted()
    if header["fitted"]:
        header.update({"classes": encode_classes(model.classes_),
                       "n_features_in": int(model.n_features_in_), "n_iter": int(model.n_iter_)})
    return header
