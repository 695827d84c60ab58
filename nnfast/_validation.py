"""Turn user input into what the kernels trust: C-contiguous float64 arrays of the right shape.

Every public entry point (``Network``, the classic models, the estimators, the command line)
validates here, once per call, before any buffer reaches a kernel. Errors name the argument,
what was expected and what came. Arrays that are already right (C-contiguous float64) are
used as they are, never copied. The estimators' checks of X and y keep scikit-learn's
messages where its ``check_estimator`` tests them ("Reshape your data", "X has 3 features,
but ... is expecting 2 features as input").
"""

from __future__ import annotations

import functools
import math
import numbers
import os
import warnings

import numpy as np

from .exceptions import DataConversionWarning, warn

try:  # the compiled scan: no temporary array, a team's threads for large arrays
    from ._kernels import finite as _finite
except ImportError:  # the extension was not built (see _backend): NumPy's
    _finite = None


def all_finite(arr):
    """True when the float64 array ``arr`` holds no NaN or infinity."""
    if _finite is not None and arr.dtype == np.float64 and arr.flags.c_contiguous:
        return _finite(arr if arr.ndim == 1 else arr.reshape(-1))
    return bool(np.isfinite(arr).all())


TEXT_HINT = (
    "Encode text, categorical and date columns first, e.g. with "
    "nnfast.TableEncoder() in a Pipeline."
)


def _from_pandas(x):
    """A pandas object as a NumPy array (anything else as it is)."""
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):
        try:  # nullable extension dtypes (Int64, Float64) come out as float, NA as NaN
            return x.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            return x.to_numpy()
    return x


def _asarray(x, name):
    try:
        return np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name} must be an array of numbers: {exc}") from None


def as_float_array(x, name, ndim=(1, 2)):
    """``x`` as a C-contiguous float64 array with one of ``ndim`` dimensions, all finite."""
    arr = _asarray(_from_pandas(x), name)
    if arr.dtype.kind not in "biuf":
        kind = "complex" if arr.dtype.kind == "c" else f"dtype {arr.dtype}"
        hint = f" {TEXT_HINT}" if arr.dtype.kind in "USOM" else ""
        raise TypeError(f"{name} must hold real numbers, got {kind}.{hint}")
    if arr.ndim not in ndim:
        want = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {want}, got an array of shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); at least one sample is needed.")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not all_finite(arr):
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


def as_matrix(x, name, n_features=None):
    """A (n_samples, n_features) float64 matrix; a 1-D input is one sample."""
    return matrix_from_checked(as_float_array(x, name), name, n_features)


def matrix_from_checked(arr, name, n_features=None):
    """``as_matrix`` for an array ``as_float_array`` has already checked (no second scan)."""
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[1]} features per sample, but the model expects {n_features}."
        )
    return arr


def as_targets(y, name, n_outputs, n_samples, loss_code=None):
    """Targets as an (n_samples, n_outputs) float64 matrix.

    Accepted: an (n, n_outputs) matrix; a 1-D vector when there is one output; 1-D integer
    class labels when the loss is cross-entropy over n_outputs classes (one-hot encoded here).
    """
    from ._spec import BINARY_CROSS_ENTROPY, CROSS_ENTROPY

    arr = as_float_array(y, name)
    if arr.ndim == 1:
        if n_outputs == 1:
            arr = arr.reshape(-1, 1)
        elif loss_code == CROSS_ENTROPY:
            arr = one_hot_codes(as_labels(arr, name, n_outputs), n_outputs)
        else:
            raise ValueError(
                f"{name} is 1-D but the network has {n_outputs} outputs: pass an "
                f"(n_samples, {n_outputs}) array."
            )
    if arr.shape[1] != n_outputs:
        raise ValueError(
            f"{name} has {arr.shape[1]} columns, but the network has {n_outputs} outputs."
        )
    if arr.shape[0] != n_samples:
        raise ValueError(
            f"X and {name} have different numbers of samples: {n_samples} and {arr.shape[0]}."
        )
    if loss_code in (BINARY_CROSS_ENTROPY, CROSS_ENTROPY) and (arr.min() < 0 or arr.max() > 1):
        raise ValueError(
            f"{name} must hold probabilities in [0, 1] for a cross-entropy loss "
            f"(got values from {arr.min()} to {arr.max()})."
        )
    return arr


# --- numbers ---------------------------------------------------------------------------------


def check_number(value, name, low=None, high=None, low_open=False, high_open=False, integer=False):
    """A real (or integer) number within the given bounds, else a ValueError/TypeError."""
    kinds = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kinds):
        what = "an integer" if integer else "a real number"
        raise TypeError(f"{name} must be {what}, got {value!r}.")
    if not integer and not _finite_number(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    bad_low = low is not None and (value <= low if low_open else value < low)
    bad_high = high is not None and (value >= high if high_open else value > high)
    if bad_low or bad_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {value!r}.")
    return int(value) if integer else float(value)


def _finite_number(value):
    """math.isfinite (a twentieth of np.isfinite's time on a Python float, which matters
    to tutorial loops of one-epoch ``train`` calls); an int too large for a float is not."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


# --- class labels ----------------------------------------------------------------------------

MAX_CLASSES = 2**31  # a one-hot matrix with more columns could not be allocated anyway


def _label(value):
    """A label as the user wrote it: 3, not 3.0 (labels may have come in as floats)."""
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def as_labels(y, name, n_classes=None):
    """1-D integer class labels in [0, n_classes)."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D class labels, got shape {arr.shape}.")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}.")
    if arr.dtype.kind == "f" and not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
        raise ValueError(f"{name} must hold integer class labels, got non-integer values.")
    # Range checks on the values as given, before any cast could wrap or overflow them.
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must hold non-negative class labels, got {_label(arr.min())}.")
    limit = MAX_CLASSES if n_classes is None else n_classes
    if arr.size and arr.max() >= limit:
        raise ValueError(
            f"{name} holds label {_label(arr.max())}, but there are only {limit} classes "
            f"(labels 0..{limit - 1})."
            if n_classes is not None
            else f"{name} holds label {_label(arr.max())}: class labels must be below "
            f"{MAX_CLASSES}."
        )
    return arr.astype(np.intp)


def one_hot_codes(codes, n_classes):
    """Rows of the identity for checked int codes in [0, n_classes) (``nnfast.one_hot``
    checks its input, then calls this)."""
    out = np.zeros((codes.size, n_classes))
    out[np.arange(codes.size), codes] = 1.0
    return out


def encode_labels(y, name, n_samples, classes=None):
    """(classes, codes): ``classes[codes] == y`` with ``codes`` int indices into ``classes``.

    ``classes`` defaults to the sorted distinct labels of ``y``; when given, every label of
    ``y`` must be one of them. Sorting, then binary search: O(n log n) for any number of
    classes.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per sample), got shape {y.shape}.")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"X and {name} have different numbers of samples: {n_samples} and {y.shape[0]}."
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    try:
        if classes is None:
            classes, codes = np.unique(y, return_inverse=True)
            return classes, codes.reshape(-1).astype(np.intp, copy=False)
        classes = np.asarray(classes)
        order = np.argsort(classes, kind="stable")
        ordered = classes[order]
        if not classes.size or _text(classes) != _text(y):  # numbers never equal strings
            at, found = np.zeros(y.shape, dtype=np.intp), np.zeros(y.shape, dtype=bool)
        else:
            at = np.minimum(np.searchsorted(ordered, y), classes.size - 1)
            found = ordered[at] == y
    except TypeError as exc:  # labels that cannot be compared: mixed strings and numbers
        raise ValueError(
            f"{name} mixes label types that cannot be compared with each other "
            f"or with the model's classes ({exc})."
        ) from None
    found = np.asarray(found, dtype=bool).reshape(y.shape)  # str vs number: a scalar False
    if not found.all():
        unknown = y[~found]
        try:
            unknown = np.unique(unknown)
        except TypeError:
            pass
        shown = unknown[:10].tolist()
        raise ValueError(
            f"{name} holds labels {shown!r}{' ...' if unknown.size > 10 else ''} that are not "
            f"among the model's classes {_shorten(classes.tolist())}."
        )
    return classes, order[at].astype(np.intp, copy=False)


def _text(arr):
    """True for string labels, False for numbers, None for objects (compared one by one)."""
    return None if arr.dtype.kind == "O" else arr.dtype.kind in "US"


def _shorten(values, limit=20):
    """``repr`` of a list, cut to ``limit`` items: messages stay one readable line."""
    if len(values) <= limit:
        return repr(list(values))
    return repr(list(values[:limit]))[:-1] + f", ... ({len(values)} in all)]"


def classification_labels(y, name="y"):
    """1-D labels as an array; refuses continuous targets ("Unknown label type")."""
    y = np.asarray(y)
    if y.dtype.kind == "f":
        if not np.isfinite(y).all():
            raise ValueError(f"Input {name} contains NaN or infinity.")
        if (y != np.round(y)).any():
            raise ValueError(
                f"Unknown label type: continuous. {name} must hold class labels "
                "(integers, strings, ...); for real-valued targets use a "
                "regressor."
            )
    elif y.dtype.kind == "c":
        raise ValueError(f"Unknown label type: complex values in {name}.")
    elif y.dtype.kind == "O":
        for v in y.ravel():
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"Input {name} contains NaN or infinity.")
            if (
                isinstance(v, numbers.Real)
                and not isinstance(v, numbers.Integral)
                and v != round(v)
            ):
                raise ValueError(f"Unknown label type: continuous values in {name}.")
        try:
            np.unique(y)
        except TypeError as exc:  # "'<' not supported between 'NoneType' and 'int'"
            raise ValueError(
                f"{name} mixes label types that cannot be sorted ({exc}): class "
                "labels must be all numbers or all strings."
            ) from None
    return y


def checked_classes(classes, n):
    """``classes_`` as an array of the ``n`` labels the model's outputs stand for (a
    ``classes_`` replaced by something else is refused, naming it)."""
    arr = np.asarray(classes)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(
            f"classes_ must hold the model's {n} class labels, one per class it "
            f"predicts, but it has shape {arr.shape}: fit again to change the "
            f"classes."
        )
    return arr


# --- the estimators' X and y (scikit-learn's messages) ---------------------------------------


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
        raise TypeError(
            f"Sparse input is not supported: nnfast's kernels take dense arrays; "
            f"pass {name}.toarray() if it fits in memory."
        )
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
        _check_frame_columns(X, name)
    arr = _asarray(_from_pandas(X), name)
    if arr.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} must hold real numbers.")
    if arr.dtype.kind == "O":  # (a str array is refused as such by the callers)
        try:
            arr = arr.astype(np.float64)
        except ValueError as exc:  # text
            raise ValueError(
                f"{name} holds text ({exc}): the estimators take numbers. {TEXT_HINT}"
            ) from None
        except TypeError as exc:  # scikit-learn's check_dtype_object matches the message
            raise TypeError(
                f"{name} holds values that are not numbers ({exc}). {TEXT_HINT}"
            ) from None
    elif arr.dtype.kind == "M":
        raise TypeError(
            f"{name} holds dates (dtype {arr.dtype}): the estimators take numbers. {TEXT_HINT}"
        )
    return arr


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
            raise ValueError(
                f"{name} has a column {column!r} of dates or times ({dtype}): the "
                f"estimators take numbers. {TEXT_HINT}"
            )
        values = X[column].to_numpy()
        try:
            np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            example = next((v for v in values if not isinstance(v, (int, float))), values[0])
            raise ValueError(
                f"{name} has a column {column!r} of {dtype} values that are not "
                f"numbers (such as {example!r}): the estimators take numbers. "
                f"{TEXT_HINT}"
            ) from None


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
        raise ValueError(
            f"Found array with dim {arr.ndim}. {name} expected a 2-D X (n_samples, n_features)."
        )
    if arr.shape[0] == 0:
        raise ValueError(
            f"X has no samples: found array with 0 sample(s) (shape={arr.shape}) "
            f"while a minimum of 1 is required."
        )
    if arr.shape[1] == 0:
        raise ValueError(
            f"X has no features: found array with 0 feature(s) (shape="
            f"{arr.shape}) while a minimum of 1 is required."
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not all_finite(arr):
        what = (
            "NaN" if np.isnan(arr).any() else "infinity or a value too large for dtype('float64')"
        )
        raise ValueError(f"Input X contains {what}.")
    check_feature_names(estimator, names, reset)
    if reset:
        estimator.n_features_in_ = arr.shape[1]
    elif arr.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"X has {arr.shape[1]} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return arr


def reshape_error(arr):
    return ValueError(
        f"Expected 2D array X, got 1D array instead:\narray={arr}.\nReshape your data either "
        "using array.reshape(-1, 1) if your data has a single feature or "
        "array.reshape(1, -1) if it contains a single sample."
    )


def classic_X(estimator, X, reset):
    """X for the classic models (Perceptron, LogisticRegression) before their own checks
    (``as_float_array`` / ``as_matrix``, whose messages they keep): pandas, object arrays,
    complex and sparse input handled as in ``check_X``, feature names recorded or compared."""
    names = _feature_names(X)
    arr = to_array(X)
    if arr.ndim == 2 and arr.shape[0] > 0 and arr.shape[1] == 0:
        raise ValueError(
            f"X has no features: found array with 0 feature(s) (shape="
            f"{arr.shape}) while a minimum of 1 is required."
        )
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
        warnings.warn(
            f"X has feature names, but {name} was fitted without feature names",
            UserWarning,
            stacklevel=5,
        )
    elif names is None:
        warnings.warn(
            f"X does not have valid feature names, but {name} was fitted with feature names",
            UserWarning,
            stacklevel=5,
        )
    elif len(names) != len(fitted) or (names != fitted).any():
        raise ValueError(
            "The feature names should match those that were passed during fit."
            f" Fitted with {list(fitted)}, got {list(names)}."
        )


def column_or_1d_if_column(y):
    return y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y


def check_y_column(y, warn_column=True):
    """A (n, 1) y is raveled with a DataConversionWarning, as scikit-learn does."""
    if y.ndim == 2 and y.shape[1] == 1:
        if warn_column:
            warn(
                "A column-vector y was passed when a 1d array was expected. Please change "
                "the shape of y to (n_samples,), for example using ravel().",
                DataConversionWarning,
                stacklevel=6,
            )
        return y.ravel()
    return y


def require_y(estimator, y):
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )


def check_consistent(n, y, name="y"):
    if np.ndim(y) == 0:
        raise ValueError(f"{name} must be an array with one entry per sample, got {y!r}.")
    if len(y) != n:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: "
            f"[{n}, {len(y)}] (X and {name})."
        )


# --- random state ----------------------------------------------------------------------------


def check_seed(seed, name="seed", legacy=False):
    """Refuse, drawing nothing, what ``check_rng`` would refuse: TypeError for what is not a
    seed, ValueError for an int out of range."""
    if seed is None or isinstance(seed, np.random.Generator):
        return
    if legacy and isinstance(seed, np.random.RandomState):
        return
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {seed}.")
        if legacy and seed >= 2**32:
            raise ValueError(
                f"{name} must be an int in [0, 2**32) (a RandomState seed), got {seed}."
            )
        return
    what = (
        "an int in [0, 2**32), a numpy Generator or RandomState"
        if legacy
        else "an int or a numpy.random.Generator"
    )
    raise TypeError(f"{name} must be None, {what}, got {seed!r}.")


def check_rng(seed, name="seed", legacy=False):
    """A ``numpy.random.Generator`` from None (fresh entropy), an int >= 0 (its seed) or a
    Generator (used as it is, not copied).

    ``legacy`` (the scikit-learn-style estimators' ``random_state``) also takes a legacy
    ``RandomState``, from which a seed is drawn so that repeated fits differ as they do in
    scikit-learn, and limits ints to RandomState's [0, 2**32).
    """
    check_seed(seed, name, legacy)
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(seed)


# --- sample and class weights ----------------------------------------------------------------


def check_sample_weight(sample_weight, n_samples, name="sample_weight", scalar=False):
    """None, or per-sample weights as a C-contiguous float64 vector: finite, >= 0, not all 0.

    ``scalar``: one number stands for that weight on every sample (scikit-learn's estimators
    and metrics accept it). The weights are returned as given; ``rescaled`` makes them safe
    for the kernels' sums.
    """
    if sample_weight is None:
        return None
    if scalar and _is_scalar(sample_weight):
        w = np.full(n_samples, as_float_array(np.reshape(sample_weight, 1), name)[0])
    else:
        w = as_float_array(sample_weight, name, ndim=(1,))
    if w.shape[0] != n_samples:
        raise ValueError(f"{name} has {w.shape[0]} weights for {n_samples} samples.")
    if w.min() < 0:
        raise ValueError(f"Negative values in {name}: weights must be non-negative.")
    if not w.any():
        raise ValueError(f"{name} must have at least one positive weight; all are zero.")
    return w


def _is_scalar(x):
    try:
        return np.asarray(x).ndim == 0
    except Exception:  # ragged lists: not a scalar; as_float_array says what is wrong
        return False


#: Weights whose largest is outside this range are divided by it (see ``rescaled``).
WEIGHT_RANGE = (1e-150, 1e150)


def rescaled(w):
    """(``w / w.max()``, ``w.max()``) when the kernels' sums of ``w`` could overflow or
    underflow, else (``w``, 1.0): ordinary weights keep their exact values.

    The losses weighted by them, ``sum_i w_i L_i / sum_i w_i``, do not change when every
    weight is multiplied by the same factor.
    """
    top = float(w.max())
    if top <= 0 or WEIGHT_RANGE[0] <= top <= WEIGHT_RANGE[1]:
        return w, 1.0
    return np.ascontiguousarray(w / top), top


def as_weights(sample_weight, n_samples, name="sample_weight"):
    """``check_sample_weight`` for the kernels: None, or the weights ``rescaled``."""
    w = check_sample_weight(sample_weight, n_samples, name)
    return None if w is None else rescaled(w)[0]


def class_weight_vector(class_weight, classes, codes, balanced_ok=True):
    """Per-sample weights from ``class_weight`` (None, "balanced" or {label: weight}), or None."""
    if class_weight is None:
        return None
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(
                f"class_weight must be None, 'balanced' or a dict "
                f"{{label: weight}}, got {class_weight!r}."
            )
        if not balanced_ok:
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit (the "
                "class frequencies of one batch are not those of the data); "
                "pass a dict of weights instead."
            )
        counts = np.bincount(codes, minlength=len(classes)).astype(np.float64)
        per_class = np.zeros(len(classes))
        present = counts > 0
        per_class[present] = codes.size / (np.count_nonzero(present) * counts[present])
        return per_class[codes]
    if not isinstance(class_weight, dict):
        raise TypeError(
            f"class_weight must be None, 'balanced' or a dict {{label: weight}}, "
            f"got {class_weight!r}."
        )
    per_class = np.ones(len(classes))
    known = {c: i for i, c in enumerate(classes.tolist())}
    for label, weight in class_weight.items():
        key = label.item() if isinstance(label, np.generic) else label
        if key not in known:
            raise ValueError(
                f"class_weight has label {label!r}, which is not among the "
                f"classes {classes.tolist()!r}."
            )
        per_class[known[key]] = check_weight(weight, f"class_weight[{label!r}]")
    return per_class[codes]


def check_weight(value, name):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
    return float(value)


# --- resources -------------------------------------------------------------------------------


@functools.cache
def physical_memory():
    """The machine's physical memory in bytes, or None where the platform does not say."""
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * page_size if pages > 0 and page_size > 0 else None


def memory_limit():
    """Bytes one allocation (or a set of them made together) may need: the physical memory.

    Anything larger could never be allocated, or only swapped to a standstill; it is refused
    before anything is allocated, with the size it would need.
    """
    return physical_memory()


def format_bytes(n):
    """``26843545600`` -> ``'25 GiB (26843545600 bytes)'``."""
    n = int(n)
    for unit, size in (
        ("EiB", 2**60),
        ("PiB", 2**50),
        ("TiB", 2**40),
        ("GiB", 2**30),
        ("MiB", 2**20),
        ("KiB", 2**10),
    ):
        if n >= size:
            return f"{n / size:.3g} {unit} ({n} bytes)"
    return f"{n} bytes"


def check_memory(nbytes, name, what):
    """Refuse (ValueError naming ``name``) when ``what`` (a string, or a function making it
    only when needed) would need more than ``memory_limit()`` bytes; ``nbytes`` may be a
    Python int of any size."""
    limit = memory_limit()
    if limit is not None and nbytes > limit:
        what = what() if callable(what) else what
        raise ValueError(
            f"{name}: {what} would need {format_bytes(nbytes)} of memory, more than "
            f"this machine has ({format_bytes(limit)})."
        )
    return nbytes
