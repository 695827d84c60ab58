"""Data helpers: one-hot encoding, a seeded train/test split and standard scaling."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import (
    as_float_array,
    as_labels,
    check_memory,
    check_number,
    check_rng,
    one_hot_codes,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    from ._typing import FloatArray, Seed


def one_hot(labels: ArrayLike, n_classes: int | None = None) -> FloatArray:
    """Rows of the identity: ``one_hot([0, 2], 3) == [[1, 0, 0], [0, 0, 1]]``.

    Parameters
    ----------
    labels : array-like of int, shape (n,)
        Class indices in ``[0, n_classes)``.
    n_classes : int, optional
        Number of columns; default ``max(labels) + 1``.

    Returns
    -------
    ndarray of float64, shape (n, n_classes)
    """
    codes = as_labels(labels, "labels")
    if n_classes is None:
        n_classes = int(codes.max()) + 1 if codes.size else 0
    n_classes = check_number(n_classes, "n_classes", low=1, integer=True)
    codes = as_labels(codes, "labels", n_classes)
    check_memory(
        8 * codes.size * n_classes,
        "n_classes",
        lambda: f"a one-hot matrix of {codes.size} rows x {n_classes} classes",
    )
    return one_hot_codes(codes, n_classes)


def train_test_split(
    *arrays: Any,
    test_size: float | int = 0.25,
    seed: Seed = None,
    shuffle: bool = True,
    stratify: ArrayLike | None = None,
) -> list[Any]:
    """Split arrays (same first dimension) into train and test parts.

    Returns ``X_train, X_test, y_train, y_test, ...`` in scikit-learn's order. ``test_size``
    is a fraction in (0, 1) or a number of samples; ``stratify`` (labels) keeps each class's
    proportion in both parts.
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array.")
    parts = [a if hasattr(a, "shape") else np.asarray(a) for a in arrays]
    n = len(parts[0])
    for i, a in enumerate(parts):
        if len(a) != n:
            raise ValueError(f"array {i} has {len(a)} samples, array 0 has {n}.")
    if isinstance(test_size, float):
        check_number(test_size, "test_size", 0.0, 1.0, low_open=True, high_open=True)
        n_test = int(np.ceil(test_size * n))
    else:
        n_test = check_number(test_size, "test_size", 1, n - 1, integer=True)
    if not 0 < n_test < n:
        raise ValueError(f"test_size={test_size} leaves an empty part of {n} samples.")
    rng = check_rng(seed)
    if stratify is not None:
        test = stratified_rows(np.asarray(stratify), n_test, rng)
    elif shuffle:
        test = rng.permutation(n)[:n_test]
    else:
        test = np.arange(n - n_test, n)
    mask = np.zeros(n, dtype=bool)
    mask[test] = True
    train_rows, test_rows = np.flatnonzero(~mask), np.flatnonzero(mask)
    if shuffle:
        train_rows, test_rows = rng.permutation(train_rows), rng.permutation(test_rows)
    out = []
    for a in parts:
        rows = a.iloc if hasattr(a, "iloc") else a  # pandas: by position
        out += [rows[train_rows], rows[test_rows]]
    return out


def stratified_rows(
    strata: NDArray[Any], n_take: int, rng: np.random.Generator, random_ties: bool = False
) -> NDArray[np.intp]:
    """``n_take`` rows drawn at random so that each class of ``strata`` keeps its share.

    Each class gets the floor of its share; the rows left over go to the classes with the
    largest remainders, ties to the lowest class or (``random_ties``, as the estimators'
    validation split) in a random order drawn first. Then each class's rows are a random
    subset of its members (one ``rng.permutation`` per class, in class order).
    """
    classes, inverse, counts = np.unique(strata, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    exact = counts * n_take / strata.size
    per_class = np.floor(exact).astype(np.intp)
    remainder = exact - per_class
    if random_ties:
        order = np.lexsort((rng.random(classes.size), -remainder))
    else:
        order = np.argsort(-remainder, kind="stable")
    per_class[order[: n_take - per_class.sum()]] += 1
    rows = [rng.permutation(np.flatnonzero(inverse == c))[:k] for c, k in enumerate(per_class)]
    return np.concatenate(rows)


class StandardScaler:
    """Standardise features: ``(X - mean_) / scale_``, with statistics from ``fit``.

    Constant features keep scale 1 (they become 0 rather than NaN).

    Attributes
    ----------
    mean_ : ndarray of float64, shape (n_features,)
    scale_ : ndarray of float64, shape (n_features,)
        The standard deviation of each feature, 1 where it is 0.
    n_features_in_ : int
    """

    mean_: FloatArray
    scale_: FloatArray
    n_features_in_: int

    def fit(self, X: ArrayLike, y: object = None) -> StandardScaler:
        """Learn each column's mean and standard deviation from ``X`` (n_samples, n_features);
        ``y`` is ignored. Returns self."""
        data = as_float_array(X, "X", ndim=(2,))
        with np.errstate(over="ignore", invalid="ignore"):
            mean = data.mean(axis=0)
            std = data.std(axis=0)
        bad = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(std)))
        if bad.size:
            raise ValueError(
                f"X column {bad[0]} has values too large to standardise (its mean "
                f"or standard deviation overflows): scale it down first."
            )
        self.mean_ = mean
        self.scale_ = np.where(std > 0, std, 1.0)
        self.n_features_in_ = data.shape[1]
        return self

    def _checked(self, X: ArrayLike) -> FloatArray:
        """``X`` as float64, after checking that the scaler is fitted to its width."""
        if not hasattr(self, "mean_"):
            raise RuntimeError("This StandardScaler is not fitted yet: call fit(X) first.")
        data = as_float_array(X, "X", ndim=(2,))
        if data.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {data.shape[1]} features, but the scaler was fitted on "
                f"{self.n_features_in_}."
            )
        return data

    def transform(self, X: ArrayLike) -> FloatArray:
        """``(X - mean_) / scale_``."""
        return (self._checked(X) - self.mean_) / self.scale_

    def fit_transform(self, X: ArrayLike, y: object = None) -> FloatArray:
        """``fit(X).transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: ArrayLike) -> FloatArray:
        """``X * scale_ + mean_``: standardised values back in the original units."""
        return self._checked(X) * self.scale_ + self.mean_

    def __repr__(self) -> str:
        return "StandardScaler()"
