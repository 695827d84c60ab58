"""Turn user input into what the kernels trust: C-contiguous float64 arrays of the right shape.

Every public entry point validates here, once per call, before any buffer reaches a kernel.
Errors name the argument, what was expected and what came. Arrays that are already right
(C-contiguous float64) are used as they are, never copied. A float32 model asks for float32
(``dtype``): the input is converted once, and values beyond float32's range are refused.
"""
from __future__ import annotations

import functools
import math
import numbers
import os

import numpy as np

try:  # the compiled scan: no temporary array, a team's threads for large arrays
    from ._kernels import finite as _finite
    from ._kernels32 import finite as _finite32
except ImportError:  # the extension was not built (see _backend): NumPy's
    _finite = _finite32 = None

_SCANS = {np.dtype(np.float64): _finite, np.dtype(np.float32): _finite32}


def all_finite(arr):
    """True when the float array ``arr`` holds no NaN or infinity."""
    scan = _SCANS.get(arr.dtype) if arr.flags.c_contiguous else None
    if scan is not None:
        return scan(arr if arr.ndim == 1 else arr.reshape(-1))
    return bool(np.isfinite(arr).all())


def as_float_array(x, name, ndim=(1, 2), dtype=np.float64):
    """``x`` as a C-contiguous ``dtype`` (float64 or float32) array with one of ``ndim``
    dimensions, all finite."""
    if hasattr(x, "to_numpy") and not isinstance(x, np.ndarray):  # pandas
        try:  # nullable extension dtypes (Int64, Float64) come out as float, NA as NaN
            x = x.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            x = x.to_numpy()
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name} must be an array of numbers: {exc}") from None
    if arr.dtype.kind not in "biuf":
        kind = "complex" if arr.dtype.kind == "c" else f"dtype {arr.dtype}"
        hint = (" Encode text or dates as numbers first, e.g. with nnfast.TableEncoder()."
                if arr.dtype.kind in "USOM" else "")
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
            raise ValueError(f"{name} holds values beyond {converted.dtype.name}'s range "
                             f"(largest magnitude {np.finfo(converted.dtype).max:.4g}): "
                             f"scale it, or use dtype='float64'.")
        raise ValueError(f"{name} contains NaN or infinity.")
    return converted


def as_matrix(x, name, n_features=None, dtype=np.float64):
    """A (n_samples, n_features) ``dtype`` matrix; a 1-D input is one sample."""
    return matrix_from_checked(as_float_array(x, name, dtype=dtype), name, n_features)


def matrix_from_checked(arr, name, n_features=None):
    """``as_matrix`` for an array ``as_float_array`` has already checked (no second scan)."""
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"{name} has {arr.shape[1]} features per sample, but the model expects {n_features}."
        )
    return arr


def as_targets(y, name, n_outputs, n_samples, loss_code=None, dtype=np.float64):
    """Targets as an (n_samples, n_outputs) ``dtype`` matrix.

    Accepted: an (n, n_outputs) matrix; a 1-D vector when there is one output; 1-D integer
    class labels when the loss is cross-entropy over n_outputs classes (one-hot encoded here).
    """
    from ._spec import BINARY_CROSS_ENTROPY, CROSS_ENTROPY

    arr = as_float_array(y, name, dtype=dtype)
    if arr.ndim == 1:
        if n_outputs == 1:
            arr = arr.reshape(-1, 1)
        elif loss_code == CROSS_ENTROPY:
            from .data import one_hot
            arr = one_hot(as_labels(arr, name, n_outputs), n_outputs).astype(dtype, copy=False)
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
            f"(labels 0..{limit - 1})." if n_classes is not None else
            f"{name} holds label {_label(arr.max())}: class labels must be below {MAX_CLASSES}."
        )
    return arr.astype(np.intp)


def check_number(value, name, low=None, high=None, low_open=False, high_open=False,
                 integer=False):
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


def check_rng(seed, name="seed"):
    """A ``numpy.random.Generator`` from None, an int or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        if seed is not None and seed < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {seed}.")
        return np.random.default_rng(seed)
    raise TypeError(f"{name} must be None, an int or a numpy.random.Generator, got {seed!r}.")


class NotFittedError(RuntimeError, AttributeError):
    """A model was used before it was fitted (an AttributeError too, so ``hasattr`` works)."""


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
        raise ValueError(f"{name} mixes label types that cannot be compared with each other "
                         f"or with the model's classes ({exc}).") from None
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


def as_weights(sample_weight, n_samples, name="sample_weight", dtype=np.float64):
    """None, or per-sample weights as a C-contiguous ``dtype`` vector: finite, >= 0, not all 0.

    The losses weighted by them are ``sum_i w_i L_i / sum_i w_i``, which does not change when
    every weight is multiplied by the same factor: weights whose sum overflows, or so small
    that their sum's reciprocal would, are divided by their largest (see ``rescaled``).
    """
    if sample_weight is None:
        return None
    w = as_float_array(sample_weight, name, ndim=(1,), dtype=dtype)
    if w.shape[0] != n_samples:
        raise ValueError(f"{name} has {w.shape[0]} weights for {n_samples} samples.")
    if w.min() < 0 or not w.any():
        raise ValueError(f"{name} must be non-negative with at least one positive weight.")
    return rescaled(w)


#: Weights whose largest is outside this range are divided by it (see ``rescaled``).
WEIGHT_RANGE = (1e-150, 1e150)


def rescaled(w):
    """``w / w.max()`` when the kernels' sums of ``w`` could overflow or underflow, else ``w``
    itself (ordinary weights keep their exact values)."""
    top = float(w.max())
    if WEIGHT_RANGE[0] <= top <= WEIGHT_RANGE[1]:
        return w
    return np.ascontiguousarray(w / top)


# --- resources ---------------------------------------------------------------------------------

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
    for unit, size in (("EiB", 2**60), ("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30),
                       ("MiB", 2**20), ("KiB", 2**10)):
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
        raise ValueError(f"{name}: {what} would need {format_bytes(nbytes)} of memory, more than "
                         f"this machine has ({format_bytes(limit)}).")
    return nbytes
