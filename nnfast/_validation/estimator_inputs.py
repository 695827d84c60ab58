"""The estimators' X and y, checked with scikit-learn's messages where its
``check_estimator`` tests them ("Reshape your data", "X has 3 features, but ... is
expecting 2 features as input"); pandas column names recorded and compared."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, cast, overload

import numpy as np

from ..exceptions import DataConversionWarning, warn
from .arrays import TEXT_HINT, _asarray, _from_pandas, all_finite

if TYPE_CHECKING:
    from collections.abc import Sized
    from typing import TypeVar

    from numpy.typing import ArrayLike, DTypeLike, NDArray
    from scipy.sparse import sparray, spmatrix

    from .._compat import BaseEstimator
    from .._spec import Csr

    #: The float64 or float32 arrays the kernels take.
    RealArray = NDArray[np.floating[Any]]
    #: Column names of a pandas X, as scikit-learn keeps them.
    FeatureNames = NDArray[np.object_]
    _Scalar = TypeVar("_Scalar", bound=np.generic)


def _feature_names(X: object) -> FeatureNames | None:
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = np.asarray(list(columns), dtype=object)
    if names.size == 0 or not all(isinstance(n, str) for n in names):
        return None
    return names


def to_array(X: ArrayLike, name: str = "X") -> NDArray[Any]:
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


def _check_frame_columns(X: Any, name: str) -> None:
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


def is_sparse(X: object) -> bool:
    """A SciPy sparse matrix or array."""
    return hasattr(X, "tocsr") and hasattr(X, "nnz")


def check_X(
    estimator: BaseEstimator, X: ArrayLike | spmatrix | sparray, reset: bool
) -> RealArray | Csr:
    """Validated 2-D C-contiguous X for the MLP estimators (scikit-learn messages), float32
    if it is, else float64;
    SciPy sparse input (any format) as a ``Csr`` of its rows.

    ``reset`` (fit from scratch): record ``n_features_in_`` and ``feature_names_in_``; else
    check them.
    """
    name = type(estimator).__name__
    if is_sparse(X):
        return _check_sparse_X(estimator, X, reset)
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
    # float32 stays float32, as scikit-learn's MLPs keep it; anything else becomes float64
    arr = np.ascontiguousarray(arr, dtype=np.float32 if arr.dtype == np.float32 else np.float64)
    if not all_finite(arr):
        what = (
            "NaN" if np.isnan(arr).any() else "infinity or a value too large for dtype('float64')"
        )
        raise ValueError(f"Input X contains {what}.")
    _check_width(estimator, arr.shape[1], names, reset)
    return arr


def _check_width(
    estimator: BaseEstimator, width: int, names: FeatureNames | None, reset: bool
) -> None:
    check_feature_names(estimator, names, reset)
    if reset:
        estimator.n_features_in_ = width
    elif width != estimator.n_features_in_:
        raise ValueError(
            f"X has {width} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input."
        )


def _check_sparse_X(estimator: BaseEstimator, X: spmatrix | sparray, reset: bool) -> Csr:
    """A sparse X: CSR rows in float64, or float32 if X is (CSC and the other formats
    converted once, never densified); its stored values must be finite."""
    from .._spec import Csr

    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got a {X.ndim}-d sparse array.")
    n, d = X.shape
    if n == 0 or d == 0:
        raise ValueError(
            f"X has no {'samples' if n == 0 else 'features'}: found sparse X of shape "
            f"{X.shape} while a minimum of 1 is required."
        )
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X must hold real numbers, got dtype {X.dtype}. {TEXT_HINT}")
    csr = Csr.of(X, np.float32 if X.dtype == np.float32 else np.float64)
    if not all_finite(csr.data):
        what = (
            "NaN"
            if np.isnan(csr.data).any()
            else "infinity or a value too large for dtype('float64')"
        )
        raise ValueError(f"Input X contains {what}.")
    _check_width(estimator, d, None, reset)
    return csr


@overload
def as_dtype(X: Csr, dtype: DTypeLike) -> Csr: ...
@overload
def as_dtype(X: RealArray, dtype: DTypeLike) -> RealArray: ...
def as_dtype(X: RealArray | Csr, dtype: DTypeLike) -> RealArray | Csr:
    """A checked X (dense, or a Csr) in ``dtype``, the model's precision: X itself when it
    already is; a value that does not fit (float64 beyond float32's range) is refused."""
    from .._spec import Csr

    if X.dtype == dtype:
        return X
    with np.errstate(over="ignore"):
        if isinstance(X, Csr):
            X = Csr(X.data.astype(dtype), X.indices, X.indptr, X.shape)
            values = X.data
        else:
            X = values = np.ascontiguousarray(X, dtype=dtype)
    if not all_finite(values):
        raise ValueError(
            f"Input X contains a value too large for dtype('{np.dtype(dtype).name}'), the "
            "model's precision."
        )
    return X


def check_width(estimator: BaseEstimator, X: ArrayLike, expected: int) -> None:
    """scikit-learn's error for an X of the wrong width (after fitting)."""
    if np.ndim(X) == 2 and np.shape(X)[1] != expected:
        raise ValueError(
            f"X has {np.shape(X)[1]} features, but {type(estimator).__name__} is expecting "
            f"{expected} features as input."
        )


def reshape_error(arr: NDArray[Any]) -> ValueError:
    return ValueError(
        f"Expected 2D array X, got 1D array instead:\narray={arr}.\nReshape your data either "
        "using array.reshape(-1, 1) if your data has a single feature or "
        "array.reshape(1, -1) if it contains a single sample."
    )


def classic_X(estimator: BaseEstimator, X: ArrayLike, reset: bool) -> NDArray[Any]:
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


def check_feature_names(estimator: BaseEstimator, names: FeatureNames | None, reset: bool) -> None:
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


def column_or_1d_if_column(y: NDArray[_Scalar]) -> NDArray[_Scalar]:
    return y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y


def check_y_column(y: NDArray[_Scalar], warn_column: bool = True) -> NDArray[_Scalar]:
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


def require_y(estimator: BaseEstimator, y: ArrayLike | None) -> None:
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )


def check_consistent(n: int, y: ArrayLike, name: str = "y") -> None:
    if np.ndim(y) == 0:
        raise ValueError(f"{name} must be an array with one entry per sample, got {y!r}.")
    n_y = len(cast("Sized", y))  # not a scalar: it has a length
    if n_y != n:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: "
            f"[{n}, {n_y}] (X and {name})."
        )
