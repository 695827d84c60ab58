"""Class labels: integer codes, a model's classes, continuous targets refused."""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import ArrayLike, NDArray

    from .._typing import FloatArray

MAX_CLASSES = 2**31  # a one-hot matrix with more columns could not be allocated anyway


def _label(value: Any) -> object:
    """A label as the user wrote it: 3, not 3.0 (labels may have come in as floats)."""
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else value


def as_labels(y: ArrayLike, name: str, n_classes: int | None = None) -> NDArray[np.intp]:
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


def one_hot_codes(codes: NDArray[np.integer[Any]], n_classes: int) -> FloatArray:
    """Rows of the identity for checked int codes in [0, n_classes) (``nnfast.one_hot``
    checks its input, then calls this)."""
    out = np.zeros((codes.size, n_classes))
    out[np.arange(codes.size), codes] = 1.0
    return out


def encode_labels(
    y: ArrayLike, name: str, n_samples: int, classes: ArrayLike | None = None
) -> tuple[NDArray[Any], NDArray[np.intp]]:
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


def _text(arr: NDArray[Any]) -> bool | None:
    """True for string labels, False for numbers, None for objects (compared one by one)."""
    return None if arr.dtype.kind == "O" else arr.dtype.kind in "US"


def _shorten(values: Sequence[object], limit: int = 20) -> str:
    """``repr`` of a list, cut to ``limit`` items: messages stay one readable line."""
    if len(values) <= limit:
        return repr(list(values))
    return repr(list(values[:limit]))[:-1] + f", ... ({len(values)} in all)]"


def classification_labels(y: ArrayLike, name: str = "y") -> NDArray[Any]:
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


def checked_classes(classes: ArrayLike, n: int) -> NDArray[Any]:
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
