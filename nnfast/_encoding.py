"""The column rules of ``nnfast.tabular.TableEncoder`` (``TableEncoding``, without the
scikit-learn protocol, so that ``nnfast train`` runs without importing scikit-learn), the
target column's encoding, and ``TabularModel``: a network with the encodings of its columns,
what ``nnfast train --save`` writes."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from . import io
from ._table import (
    MAX_CLASSES,
    MAX_LEVELS,
    Table,
    _Columns,
    _dates,
    _is_missing,
    _label,
    _natural,
    _number,
)
from ._validation import check_number
from .exceptions import not_fitted
from .network import Network

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from numpy.typing import ArrayLike, NDArray
    from typing_extensions import Self

    from ._typing import FloatArray, StrPath

    #: What TableEncoder takes: a pandas DataFrame, an nnfast Table or a 2-D array.
    TableLike = Union[Table, ArrayLike]


class TableEncoding:
    """How ``TableEncoder`` encodes a table's columns (see ``nnfast.tabular``): numbers
    standardised, text one-hot encoded, identifiers and dates dropped."""

    features_: list[str]
    categories_: dict[str, list[str]]
    dropped_: dict[str, str]
    mean_: FloatArray
    scale_: FloatArray
    n_features_in_: int
    feature_names_in_: NDArray[np.object_]

    def __init__(
        self,
        categorical: Sequence[str] = (),
        features: Sequence[str] | None = None,
        drop: Sequence[str] = (),
    ) -> None:
        self.categorical = categorical
        self.features = features
        self.drop = drop

    def _is_fitted(self) -> bool:
        return "features_" in self.__dict__

    def fit(self, X: TableLike, y: object = None) -> Self:
        """Learn which columns are numbers, categories (and their values), identifiers and
        dates, and each encoded column's mean and scale; returns self."""
        columns = _Columns(X)
        categorical = self._names("categorical", self.categorical, columns)
        drop = self._names("drop", self.drop, columns)
        if self.features is not None:
            chosen = self._names("features", self.features, columns)
            if drop:
                raise ValueError("give either features or drop, not both.")
        else:
            chosen = [n for n in columns.names if n not in drop]
        if not chosen:
            raise ValueError(
                "there are no feature columns to encode (features and drop leave none)."
            )
        if columns.n_rows < 1:
            raise ValueError("X has no rows.")
        features: list[str] = []
        categories: dict[str, list[str]] = {}
        dropped: dict[str, str] = {}
        for name in chosen:
            kind = self._kind(columns, name, name in categorical)
            if kind in ("identifier", "date"):
                dropped[name] = kind
                continue
            features.append(name)
            if kind == "category":
                categories[name] = self._levels(columns, name)
        for name, reason in dropped.items():
            warnings.warn(_dropped_reason(name, reason), UserWarning, stacklevel=2)
        if not features:
            raise ValueError(
                f"there are no feature columns left: {', '.join(dropped)} "
                f"{'was' if len(dropped) == 1 else 'were'} dropped (name them in "
                f"categorical to one-hot encode them anyway)."
            )
        self.features_, self.categories_, self.dropped_ = features, categories, dropped
        raw = self._raw(columns)
        with np.errstate(over="ignore", invalid="ignore"):
            mean = raw.mean(axis=0)
            std = raw.std(axis=0)
        self._check_scalable(mean, std)
        self.mean_, self.scale_ = mean, np.where(std > 0, std, 1.0)
        self.n_features_in_ = len(columns.names)
        self.feature_names_in_ = np.asarray(columns.names, dtype=object)
        return self

    def transform(self, X: TableLike) -> FloatArray:
        """The encoded, standardised float64 matrix of the table's rows (columns looked up by
        name; others ignored)."""
        self._check_fitted("transform")
        columns = _Columns(X)
        with np.errstate(over="ignore", invalid="ignore"):
            out = (self._raw(columns) - self.mean_) / self.scale_
        if not np.isfinite(out).all():
            j = int(np.flatnonzero(~np.isfinite(out).all(axis=0))[0])
            raise ValueError(
                f"column {self._source(j)!r} has values too large to standardise "
                f"(scale it down first)."
            )
        return out

    def fit_transform(self, X: TableLike, y: object = None) -> FloatArray:
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self, input_features: object = None) -> NDArray[np.object_]:
        """Names of the encoded columns: ``gre``, ``rank=1``, ``rank=2``, ..."""
        self._check_fitted("get_feature_names_out")
        names: list[str] = []
        for name in self.features_:
            names += (
                [f"{name}={c}" for c in self.categories_[name]]
                if name in self.categories_
                else [name]
            )
        return np.asarray(names, dtype=object)

    def describe(self) -> str:
        """One line: which columns are scaled numbers and which are one-hot categories."""
        self._check_fitted("describe")
        parts = [
            f"{n} (one-hot, {len(self.categories_[n])} values)" if n in self.categories_ else n
            for n in self.features_
        ]
        return ", ".join(parts)

    # --- the rules --------------------------------------------------------------------------

    @staticmethod
    def _names(what: str, names: Any, columns: _Columns) -> list[str]:
        if isinstance(names, str):
            names = [names]
        try:
            names = list(names)
        except TypeError:
            raise TypeError(f"{what} must be a list of column names, got {names!r}.") from None
        for n in names:
            if not isinstance(n, str):
                raise TypeError(f"{what} must be a list of column names (str), got {n!r}.")
            if n not in columns:
                raise ValueError(
                    f"{what} names the column {n!r}, which X does not have; its "
                    f"columns are {', '.join(columns.names)}."
                )
        return names

    def _kind(self, columns: _Columns, name: str, forced: bool) -> str:
        """'number', 'category', 'identifier' or 'date' for a column."""
        kind = columns.kind(name)
        if kind == "date":
            return "category" if forced else "date"
        if kind == "category":  # a pandas categorical: one-hot, as its type says
            return "category"
        if kind == "number":
            values = columns.values(name)
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                i = bad[0]
                what = "a missing value" if np.isnan(values[i]) else "an infinite value"
                raise ValueError(
                    f"column {name!r} must hold numbers, but {columns.where(i)} has {what}."
                )
            return "category" if forced else "number"
        values = columns.values(name)
        parsed = [_number(v) for v in values]
        n_numbers = sum(p is not None for p in parsed)
        if forced:
            return "category"
        if 2 * n_numbers > len(values):  # numbers, with a few values to fix
            if n_numbers < len(values):
                i = next(i for i, p in enumerate(parsed) if p is None)
                what = (
                    "a missing value" if _is_missing(values[i]) else "a value that is not a number"
                )
                raise ValueError(
                    f"column {name!r} must hold numbers, but {columns.where(i)} "
                    f"has {what}: {values[i]!r}."
                )
            return "number"
        if _dates(values):
            return "date"
        levels = len({_label(v) for v in values if not _is_missing(v)})
        n = len(values)
        if (levels == n >= 3) or levels > max(MAX_LEVELS, n // 2):
            return "identifier"
        return "category"

    @staticmethod
    def _levels(columns: _Columns, name: str) -> list[str]:
        values = columns.values(name)
        for i, v in enumerate(values):
            if _is_missing(v) and not (isinstance(v, str) and v.strip()):
                raise ValueError(f"column {name!r} has an empty value on {columns.where(i)}.")
        return sorted({_label(v) for v in values}, key=_natural)

    def _raw(self, columns: _Columns) -> FloatArray:
        parts = []
        for name in self.features_:
            if name not in columns:
                raise ValueError(
                    f"X has no column {name!r}; the encoder was fitted on "
                    f"{', '.join(self.features_)}."
                )
            if name in self.categories_:
                parts.append(self._one_hot(columns, name))
            elif columns.kind(name) == "number":
                values = columns.values(name)
                bad = np.flatnonzero(~np.isfinite(values))
                if bad.size:
                    raise ValueError(
                        f"column {name!r} must hold numbers, but "
                        f"{columns.where(bad[0])} has a missing or infinite "
                        f"value."
                    )
                parts.append(values[:, None])
            else:
                values = columns.values(name)
                out = np.empty(len(values))
                for i, v in enumerate(values):
                    number = _number(v)
                    if number is None:
                        what = (
                            "a missing value" if _is_missing(v) else "a value that is not a number"
                        )
                        raise ValueError(
                            f"column {name!r} must hold numbers, but "
                            f"{columns.where(i)} has {what}: {v!r}."
                        )
                    out[i] = number
                parts.append(out[:, None])
        return np.hstack(parts) if parts else np.zeros((columns.n_rows, 0))

    def _one_hot(self, columns: _Columns, name: str) -> FloatArray:
        levels = self.categories_[name]
        index = {v: i for i, v in enumerate(levels)}
        values = columns.values(name)
        codes = np.empty(len(values), dtype=np.intp)
        for i, v in enumerate(values):
            code = index.get(_label(v))
            if code is None:
                shown = ", ".join(repr(v) for v in levels[:10]) + (
                    ", ..." if len(levels) > 10 else ""
                )
                raise ValueError(
                    f"column {name!r} has the value {_label(v)!r} on "
                    f"{columns.where(i)}, which the model did not see in "
                    f"training (known values: {shown})."
                )
            codes[i] = code
        out = np.zeros((len(values), len(levels)))
        out[np.arange(len(values)), codes] = 1.0
        return out

    def _check_scalable(self, mean: FloatArray, std: FloatArray) -> None:
        bad = ~(np.isfinite(mean) & np.isfinite(std))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"column {self._source(j)!r} has values too large to standardise "
                f"(its mean or standard deviation overflows): divide it by a "
                f"power of ten first, or drop it."
            )

    def _source(self, j: int) -> str:
        """The table column that encoded column ``j`` comes from."""
        for name in self.features_:
            width = len(self.categories_[name]) if name in self.categories_ else 1
            if j < width:
                return name
            j -= width
        return "?"

    def _check_fitted(self, method: str) -> None:
        if not self._is_fitted():
            raise not_fitted(self, method)


def _dropped_reason(name: str, reason: str) -> str:
    if reason == "date":
        return (
            f"column {name!r} holds dates: dropped (turn it into numbers, such as a day "
            f"of the year, to use it)"
        )
    return (
        f"column {name!r} looks like an identifier (nearly every row has a value of its "
        f"own): dropped (name it in --categorical / categorical to one-hot encode it)"
    )


class TargetEncoder:
    """The target column: class labels to indices ``0..k-1``, or numbers standardised.

    ``task`` is ``"classification"``, ``"regression"`` or ``"auto"``: text labels, or
    integers with at most ``MAX_CLASSES`` distinct values, are classes; other numbers are a
    regression target.
    """

    TASKS = ("auto", "classification", "regression")

    name: str
    classes: list[str] | None  # None: a regression target
    mean_: float
    scale_: float

    def fit(self, table: Table, name: str, task: str = "auto") -> Self:
        """Learn the classes (sorted, numbers by value) or the mean and scale of column
        ``name`` of ``table``; returns self."""
        if task not in self.TASKS:
            raise ValueError(f"task must be one of {self.TASKS}, got {task!r}.")
        self.name = name
        values = table.column(name)
        if task == "auto":
            task = "classification"
            if table.is_numeric(name):
                numbers = table.numbers(name)
                integers = np.all(numbers == np.round(numbers))
                if not (integers and len(set(values)) <= MAX_CLASSES):
                    task = "regression"
        if task == "regression":
            y = table.numbers(name)
            with np.errstate(over="ignore", invalid="ignore"):
                mean, std = float(y.mean()), float(y.std())
            if not (math.isfinite(mean) and math.isfinite(std)):
                raise ValueError(
                    f"the target column {name!r} has values too large to "
                    f"standardise (its mean or standard deviation overflows): "
                    f"divide it by a power of ten first."
                )
            self.classes, self.mean_, self.scale_ = None, mean, std if std > 0 else 1.0
            return self
        levels = _text_levels(table, name)
        if len(levels) < 2:
            raise ValueError(
                f"the target column {name!r} has a single value, {levels[0]!r}: nothing to learn."
            )
        if len(levels) > max(MAX_CLASSES, table.n_rows // 2):
            raise ValueError(
                f"the target column {name!r} has {len(levels)} distinct values in "
                f"{table.n_rows} rows: too many classes (for numbers, use "
                f"--task regression)."
            )
        self.classes, self.mean_, self.scale_ = levels, 0.0, 1.0
        return self

    def transform(self, table: Table) -> FloatArray:
        """Training targets: class indices (float), or ``(y - mean_) / scale_``."""
        if self.classes is None:
            return (table.numbers(self.name) - self.mean_) / self.scale_
        index = {v: i for i, v in enumerate(self.classes)}
        return np.array([index[v] for v in table.column(self.name)], dtype=np.float64)

    def true_values(self, table: Table) -> NDArray[Any]:
        """The target as the user sees it: labels (object array) or numbers."""
        if self.classes is None:
            return table.numbers(self.name)
        return np.asarray(table.column(self.name), dtype=object)


def _text_levels(table: Table, name: str) -> list[str]:
    values = table.column(name)
    if "" in values:
        raise ValueError(f"column {name!r} has an empty value on {table.where(values.index(''))}.")
    return sorted(set(values), key=_natural)


class TabularModel:
    """A Network plus the encodings of its CSV columns and of its target.

    ``predict(table)`` takes raw rows (the feature columns by name, in any order; other
    columns are ignored) and returns class labels, or numbers in the target's units.
    """

    def __init__(
        self,
        network: Network,
        encoder: TableEncoding,
        target: str,
        classes: list[str] | None = None,
        target_mean: float = 0.0,
        target_scale: float = 1.0,
    ) -> None:
        self.network, self.encoder, self.target, self.classes = network, encoder, target, classes
        self.target_mean, self.target_scale = float(target_mean), float(target_scale)

    def __repr__(self) -> str:
        kind = f"classes={self.classes}" if self.classes is not None else "regression"
        return (
            f"TabularModel({self.network!r}, target={self.target!r}, {kind}, "
            f"features={self.encoder.features_})"
        )

    def predict(self, table: TableLike) -> NDArray[Any]:
        """Labels (object array) or numbers, one per row of ``table``."""
        out = self.network.feedforward(self.encoder.transform(table))
        if self.classes is None:
            return out[:, 0] * self.target_scale + self.target_mean
        index = (out[:, 0] >= 0.5).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)
        return np.asarray(self.classes, dtype=object)[index]

    def save(self, path: StrPath) -> str:
        """Write the model to ``path`` (``.npz``; ``nnfast.load`` reads it back); returns the
        path."""
        return io.save(self, path)

    def _to_file(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        header, arrays = self.network._to_file()
        e = self.encoder
        header.update(
            target=self.target,
            classes=self.classes,
            features=e.features_,
            categories=e.categories_,
            target_mean=self.target_mean,
            target_scale=self.target_scale,
        )
        arrays.update(mean=e.mean_, scale=e.scale_)
        return header, arrays

    @classmethod
    def _file_shapes(cls, header: Mapping[str, Any]) -> dict[str, tuple[int | None, ...]]:
        shapes = Network._file_shapes(header)
        n_inputs = header["layer_sizes"][0]
        return {**shapes, "mean": (n_inputs,), "scale": (n_inputs,)}

    @classmethod
    def _from_file(cls, header: Mapping[str, Any], arrays: Mapping[str, Any]) -> TabularModel:
        features = _strings(header["features"], "features")
        categories = header["categories"]
        if not isinstance(categories, dict) or not set(categories) <= set(features):
            raise ValueError("categories must map some of the features to their values")
        categories = {k: _strings(v, f"categories[{k!r}]") for k, v in categories.items()}
        if len(set(features)) != len(features) or any(not v for v in categories.values()):
            raise ValueError("features must be distinct and categories non-empty")
        encoder = TableEncoding()
        encoder.features_, encoder.categories_, encoder.dropped_ = features, categories, {}
        mean = _finite_array(arrays, "mean")
        scale = _finite_array(arrays, "scale")
        if (scale <= 0).any():
            raise ValueError("scale must be positive")
        encoder.mean_, encoder.scale_ = mean, scale
        network = Network._from_file(header, arrays)
        n = len(encoder.get_feature_names_out())
        if mean.shape != (n,) or scale.shape != (n,) or network.n_inputs != n:
            raise ValueError(
                f"the features encode to {n} columns, but the scaling has "
                f"{mean.shape} and the network {network.n_inputs} inputs"
            )
        classes = header["classes"]
        if classes is not None:
            classes = _strings(classes, "classes")
            if network.n_outputs != (1 if len(classes) == 2 else len(classes)) or len(classes) < 2:
                raise ValueError(f"{len(classes)} classes do not fit {network.n_outputs} outputs")
        target = header["target"]
        if not isinstance(target, str):
            raise ValueError("target must be a column name")
        target_mean = check_number(header.get("target_mean", 0.0), "target_mean")
        target_scale = check_number(
            header.get("target_scale", 1.0), "target_scale", 0.0, low_open=True
        )
        return cls(network, encoder, target, classes, target_mean, target_scale)


def _strings(values: object, name: str) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{name} must be a list of strings")
    return list(values)


def _finite_array(arrays: Mapping[str, Any], key: str) -> FloatArray:
    arr = np.asarray(arrays[key], dtype=np.float64)
    if arr.ndim != 1 or not np.isfinite(arr).all():
        raise ValueError(f"{key} must be a vector of finite numbers")
    return np.ascontiguousarray(arr)
