"""Sample and class weights."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from .arrays import _finite_number, as_float_array

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike, NDArray

    from .._typing import FloatArray
    from .arrays import AsDType, RealArray


def check_sample_weight(
    sample_weight: ArrayLike | None,
    n_samples: int,
    name: str = "sample_weight",
    scalar: bool = False,
    dtype: DTypeLike = np.float64,
) -> AsDType | None:
    """None, or per-sample weights as a C-contiguous ``dtype`` vector: finite, >= 0, not all 0.

    ``scalar``: one number stands for that weight on every sample (scikit-learn's estimators
    and metrics accept it). The weights are returned as given; ``rescaled`` makes them safe
    for the kernels' sums.
    """
    if sample_weight is None:
        return None
    if scalar and _is_scalar(sample_weight):
        w = np.full(n_samples, as_float_array(np.reshape(sample_weight, 1), name, dtype=dtype)[0])
    else:
        w = as_float_array(sample_weight, name, ndim=(1,), dtype=dtype)
    if w.shape[0] != n_samples:
        raise ValueError(f"{name} has {w.shape[0]} weights for {n_samples} samples.")
    if w.min() < 0:
        raise ValueError(f"Negative values in {name}: weights must be non-negative.")
    if not w.any():
        raise ValueError(f"{name} must have at least one positive weight; all are zero.")
    return w


def _is_scalar(x: object) -> bool:
    try:
        return np.asarray(x).ndim == 0
    except Exception:  # ragged lists: not a scalar; as_float_array says what is wrong
        return False


#: Weights whose largest is outside this range are divided by it (see ``rescaled``).
WEIGHT_RANGE = (1e-150, 1e150)


def rescaled(w: RealArray) -> tuple[RealArray, float]:
    """(``w / w.max()``, ``w.max()``) when the kernels' sums of ``w`` could overflow or
    underflow, else (``w``, 1.0): ordinary weights keep their exact values.

    The losses weighted by them, ``sum_i w_i L_i / sum_i w_i``, do not change when every
    weight is multiplied by the same factor.
    """
    top = float(w.max())
    if top <= 0 or WEIGHT_RANGE[0] <= top <= WEIGHT_RANGE[1]:
        return w, 1.0
    return np.ascontiguousarray(w / top), top


def as_weights(
    sample_weight: ArrayLike | None,
    n_samples: int,
    name: str = "sample_weight",
    dtype: DTypeLike = np.float64,
) -> AsDType | None:
    """``check_sample_weight`` for the kernels: None, or the weights (of ``dtype``)
    ``rescaled``."""
    w = check_sample_weight(sample_weight, n_samples, name, dtype=dtype)
    return None if w is None else rescaled(w)[0]


def class_weight_vector(
    class_weight: str | dict[Any, float] | None,
    classes: NDArray[Any],
    codes: NDArray[np.intp],
    balanced_ok: bool = True,
) -> FloatArray | None:
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


def check_weight(value: object, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not _finite_number(value)  # np.isfinite refuses Fractions and huge ints
        or value < 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
    return float(value)
