"""Arrays the kernels trust: C-contiguous float64, the right shape, finite; numbers within
bounds. A float32 model asks for float32 (``dtype``): the input is converted once, and values
beyond float32's range are refused."""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any, Literal, SupportsFloat, overload

import numpy as np

from .labels import as_labels, one_hot_codes

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    from numpy.typing import ArrayLike, DTypeLike, NDArray

    #: The float64 or float32 arrays the kernels take.
    RealArray = NDArray[np.floating[Any]]
    #: An array of the float dtype asked for (``dtype``: float64 unless a float32 model asks).
    AsDType = NDArray[Any]
    _Float = TypeVar("_Float", bound=np.floating[Any])

try:  # the compiled scan: no temporary array, a team's threads for large arrays
    from .._kernels import finite as _finite
    from .._kernels32 import finite as _finite32
except ImportError:  # the extension was not built (see _backend): NumPy's
    _finite = _finite32 = None

_SCANS: dict[np.dtype[Any], Callable[[RealArray], bool] | None] = {
    np.dtype(np.float64): _finite,
    np.dtype(np.float32): _finite32,
}


def all_finite(arr: RealArray) -> bool:
    """True when the float array ``arr`` holds no NaN or infinity."""
    scan = _SCANS.get(arr.dtype) if arr.flags.c_contiguous else None
    if scan is not None:
        return scan(arr if arr.ndim == 1 else arr.reshape(-1))
    return bool(np.isfinite(arr).all())


TEXT_HINT = (
    "Encode text, categorical and date columns first, e.g. with "
    "nnfast.TableEncoder() in a Pipeline."
)


def _from_pandas(x: ArrayLike) -> ArrayLike:
    """A pandas object as a NumPy array (anything else as it is)."""
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):
        try:  # nullable extension dtypes (Int64, Float64) come out as float, NA as NaN
            return x.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            return x.to_numpy()
    return x


def _asarray(x: ArrayLike, name: str) -> NDArray[Any]:
    try:
        return np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name} must be an array of numbers: {exc}") from None


def as_float_array(
    x: ArrayLike, name: str, ndim: tuple[int, ...] = (1, 2), dtype: DTypeLike = np.float64
) -> AsDType:
    """``x`` as a C-contiguous ``dtype`` (float64 or float32) array with one of ``ndim``
    dimensions, all finite."""
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
    with np.errstate(over="ignore"):  # values beyond float32's: refused just below
        converted = np.ascontiguousarray(arr, dtype=dtype)
    if not all_finite(converted):
        if converted.dtype != np.float64 and all_finite(np.asarray(arr, dtype=np.float64)):
            raise ValueError(
                f"{name} holds values beyond {converted.dtype.name}'s range "
                f"(largest magnitude {np.finfo(converted.dtype).max:.4g}): "
                f"scale it, or use dtype='float64'."
            )
        raise ValueError(f"{name} contains NaN or infinity.")
    return converted


def as_matrix(
    x: ArrayLike, name: str, n_features: int | None = None, dtype: DTypeLike = np.float64
) -> AsDType:
    """A (n_samples, n_features) ``dtype`` matrix; a 1-D input is one sample."""
    return matrix_from_checked(as_float_array(x, name, dtype=dtype), name, n_features)


def matrix_from_checked(
    arr: NDArray[_Float], name: str, n_features: int | None = None
) -> NDArray[_Float]:
    """``as_matrix`` for an array ``as_float_array`` has already checked (no second scan)."""
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[1]} features per sample, but the model expects {n_features}."
        )
    return arr


def as_targets(
    y: ArrayLike,
    name: str,
    n_outputs: int,
    n_samples: int,
    loss_code: int | None = None,
    dtype: DTypeLike = np.float64,
) -> AsDType:
    """Targets as an (n_samples, n_outputs) ``dtype`` matrix.

    Accepted: an (n, n_outputs) matrix; a 1-D vector when there is one output; 1-D integer
    class labels when the loss is cross-entropy over n_outputs classes (one-hot encoded here).
    """
    from .._spec import BINARY_CROSS_ENTROPY, CROSS_ENTROPY, POISSON

    arr = as_float_array(y, name, dtype=dtype)
    if arr.ndim == 1:
        if n_outputs == 1:
            arr = arr.reshape(-1, 1)
        elif loss_code == CROSS_ENTROPY:
            arr = one_hot_codes(as_labels(arr, name, n_outputs), n_outputs).astype(
                dtype, copy=False
            )
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
    if loss_code == POISSON and arr.min() < 0:
        raise ValueError(
            f"{name} must hold counts or rates >= 0 for the Poisson loss (got a minimum of "
            f"{arr.min()})."
        )
    return arr


@overload
def check_number(
    value: object,
    name: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: Literal[False] = False,
) -> float: ...
@overload
def check_number(
    value: object,
    name: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    *,
    integer: Literal[True],
) -> int: ...
def check_number(
    value: object,
    name: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> float:
    """A real (or integer) number within the given bounds, else a ValueError/TypeError."""
    kinds = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kinds):
        what = "an integer" if integer else "a real number"
        raise TypeError(f"{name} must be {what}, got {value!r}.")
    if not integer and not _finite_number(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    number: Any = value  # a numbers.Real, whose stubs do not compare with float
    bad_low = low is not None and (number <= low if low_open else number < low)
    bad_high = high is not None and (number >= high if high_open else number > high)
    if bad_low or bad_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {value!r}.")
    return int(number) if integer else float(number)


def _finite_number(value: SupportsFloat) -> bool:
    """math.isfinite (a twentieth of np.isfinite's time on a Python float, which matters
    to tutorial loops of one-epoch ``train`` calls); an int too large for a float is not."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
