"""Tabular data from CSV files, for the command line: read a table, encode its features
(numbers standardised, categories one-hot) and its target (class indices, or a standardised
number), and a model that keeps those encodings next to its network so that ``predict``
works on raw rows.

A column is numeric when every value is a finite number, and categorical when most of its
values are not numbers. A column of numbers with a few other values in it (``NA``, ``?``,
a typo) is an error that names the line, never a silent switch to categories.
"""
from __future__ import annotations

import csv

import numpy as np

from . import io
from .network import Network

MAX_CLASSES = 20  # "auto": an integer target with at most this many values is a class label
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})


class Table:
    """The columns of a CSV file with a header row: ``names``, and one list of strings per
    column in ``columns``; ``lines[i]`` is the file line of data row ``i`` (for messages)."""

    def __init__(self, names, columns, lines=None, path="<table>"):
        self.names, self.columns, self.path = list(names), columns, path
        self.lines = list(lines) if lines is not None else list(range(2, self.n_rows + 2))

    @property
    def n_rows(self):
        return len(self.columns[0]) if self.columns else 0

    @classmethod
    def read(cls, path):
        """Read a comma-separated file (UTF-8, an optional BOM; blank lines are skipped)."""
        path = str(path)
        try:
            with open(path, newline="", encoding="utf-8-sig") as f:
                reader = csv.reader(f)
                rows = [(reader.line_num, r) for r in reader if any(v.strip() for v in r)]
        except FileNotFoundError:
            raise ValueError(f"no such file: {path}") from None
        except IsADirectoryError:
            raise ValueError(f"{path} is a directory, not a CSV file.") from None
        except UnicodeDecodeError:
            raise ValueError(f"cannot read {path}: it is not a UTF-8 text file.") from None
        except (OSError, csv.Error) as exc:
            raise ValueError(f"cannot read {path}: {exc}") from None
        if len(rows) < 2:
            raise ValueError(f"{path} needs a header row and at least one data row.")
        names = [n.strip() for n in rows[0][1]]
        if any(not n for n in names):
            raise ValueError(f"{path}: the header row has an empty column name.")
        duplicate = sorted({n for n in names if names.count(n) > 1})
        if duplicate:
            raise ValueError(f"{path}: the header row repeats the column name(s) {duplicate}.")
        for line, row in rows[1:]:
            if len(row) != len(names):
                raise ValueError(f"{path} line {line} has {len(row)} fields, the header has "
                                 f"{len(names)}.")
        columns = [[r[c].strip() for _, r in rows[1:]] for c in range(len(names))]
        return cls(names, columns, [line for line, _ in rows[1:]], path)

    def column(self, name):
        """The values (strings) of column ``name``; ValueError listing the columns if unknown."""
        if name not in self.names:
            raise ValueError(f"{self.path} has no column {name!r}; its columns are "
                             f"{', '.join(self.names)}.")
        return self.columns[self.names.index(name)]

    def numbers(self, name):
        """Column ``name`` as float64; ValueError naming the first line that is not a number."""
        values = self.column(name)
        out = _parse(values)
        bad = np.flatnonzero(~np.isfinite(out))
        if bad.size:
            i = bad[0]
            what = "a missing value" if values[i].lower() in MISSING else "a value that is not a number"
            raise ValueError(f"column {name!r} must hold numbers, but {self.path} line "
                             f"{self.lines[i]} has {what}: {values[i]!r}.")
        return out

    def is_numeric(self, name):
        """True for a column of numbers, False for categories (most values are not numbers).

        A mostly numeric column with values that are not finite numbers raises the error of
        ``numbers``: a missing value or a typo should be fixed, not one-hot encoded.
        """
        n_numbers = int(np.isfinite(_parse(self.column(name))).sum())
        if 2 * n_numbers <= self.n_rows:
            return False
        self.numbers(name)
        return True


def _parse(values):
    """float64 array of ``values``, NaN where a value is not a number (or is missing)."""
    out = np.empty(len(values))
    for i, v in enumerate(values):
        try:
            out[i] = float(v)
        except ValueError:
            out[i] = np.nan
    return out


def _natural(value):
    """Sort key: numbers by value, before other strings."""
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def _levels(table, name):
    values = table.column(name)
    if "" in values:
        raise ValueError(f"column {name!r} has an empty value on {table.path} line "
                         f"{table.lines[values.index('')]}.")
    return sorted(set(values), key=_natural)


def _codes(table, name, levels):
    """Index of each value of column ``name`` in ``levels``; ValueError for an unseen one."""
    index = {v: i for i, v in enumerate(levels)}
    values = table.column(name)
    try:
        return np.array([index[v] for v in values], dtype=np.intp)
    except KeyError as exc:
        value = exc.args[0]
        shown = ", ".join(repr(v) for v in levels[:10]) + (", ..." if len(levels) > 10 else "")
        raise ValueError(f"column {name!r} has the value {value!r} on {table.path} line "
                         f"{table.lines[values.index(value)]}, which the model did not see "
                         f"in training (known values: {shown}).") from None


class Encoder:
    """Feature encoding learnt from a table: numbers standardised, categories one-hot.

    Every encoded column (one-hot ones included) is standardised with the mean and standard
    deviation of the training rows, ``(x - mean_) / scale_``; constant columns keep scale 1.
    """

    def fit(self, table, features, categorical=()):
        """Learn the encoding; ``categorical`` names numeric columns to one-hot encode too."""
        self.features, self.categories = list(features), {}
        if not self.features:
            raise ValueError("there are no feature columns left besides the target.")
        for name in self.features:
            if name in categorical or not table.is_numeric(name):
                self.categories[name] = _levels(table, name)
        X = self._raw(table)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def _raw(self, table):
        parts = []
        for name in self.features:
            if name in self.categories:
                levels = self.categories[name]
                parts.append(np.eye(len(levels))[_codes(table, name, levels)])
            else:
                parts.append(table.numbers(name)[:, None])
        return np.hstack(parts)

    def transform(self, table):
        """The encoded, standardised feature matrix of ``table`` (its rows in order)."""
        return (self._raw(table) - self.mean_) / self.scale_

    @property
    def output_names(self):
        """Names of the encoded columns: ``gre``, ``rank=1``, ``rank=2``, ..."""
        names = []
        for name in self.features:
            names += [f"{name}={c}" for c in self.categories[name]] if name in self.categories else [name]
        return names

    def describe(self):
        """One line: which columns are scaled numbers and which are one-hot categories."""
        parts = [f"{n} (one-hot, {len(self.categories[n])} values)" if n in self.categories
                 else n for n in self.features]
        return ", ".join(parts)


class TargetEncoder:
    """The target column: class labels to indices ``0..k-1``, or numbers standardised.

    ``task`` is ``"classification"``, ``"regression"`` or ``"auto"``: text labels, or
    integers with at most ``MAX_CLASSES`` distinct values, are classes; other numbers are a
    regression target.
    """

    TASKS = ("auto", "classification", "regression")

    def fit(self, table, name, task="auto"):
        if task not in self.TASKS:
            raise ValueError(f"task must be one of {self.TASKS}, got {task!r}.")
        self.name = name
        values = table.column(name)
        if task == "auto":
            numeric = table.is_numeric(name)
            numbers = table.numbers(name) if numeric else None
            task = "regression" if numeric and not (
                np.all(numbers == np.round(numbers)) and len(set(values)) <= MAX_CLASSES
            ) else "classification"
        if task == "regression":
            y = table.numbers(name)
            std = y.std()
            self.classes, self.mean_, self.scale_ = None, float(y.mean()), float(std if std > 0 else 1.0)
            return self
        levels = _levels(table, name)
        if len(levels) < 2:
            raise ValueError(f"the target column {name!r} has a single value, {levels[0]!r}: "
                             f"nothing to learn.")
        if len(levels) > max(MAX_CLASSES, table.n_rows // 2):
            raise ValueError(f"the target column {name!r} has {len(levels)} distinct values in "
                             f"{table.n_rows} rows: too many classes (for numbers, use "
                             f"--task regression).")
        self.classes, self.mean_, self.scale_ = levels, 0.0, 1.0
        return self

    def transform(self, table):
        """Training targets: class indices (float), or ``(y - mean_) / scale_``."""
        if self.classes is None:
            return (table.numbers(self.name) - self.mean_) / self.scale_
        return _codes(table, self.name, self.classes).astype(np.float64)

    def true_values(self, table):
        """The target as the user sees it: labels (object array) or numbers."""
        if self.classes is None:
            return table.numbers(self.name)
        return np.asarray(table.column(self.name), dtype=object)


@io.register
class TabularModel:
    """A Network plus the encodings of its CSV columns and of its target.

    ``predict(table)`` takes raw rows (the feature columns by name, in any order; other
    columns are ignored) and returns class labels, or numbers in the target's units.
    """

    def __init__(self, network, encoder, target, classes=None, target_mean=0.0,
                 target_scale=1.0):
        self.network, self.encoder, self.target, self.classes = network, encoder, target, classes
        self.target_mean, self.target_scale = float(target_mean), float(target_scale)

    def __repr__(self):
        kind = f"classes={self.classes}" if self.classes is not None else "regression"
        return (f"TabularModel({self.network!r}, target={self.target!r}, {kind}, "
                f"features={self.encoder.features})")

    def predict(self, table):
        """Labels (object array) or numbers, one per row of ``table``."""
        out = self.network.feedforward(self.encoder.transform(table))
        if self.classes is None:
            return out[:, 0] * self.target_scale + self.target_mean
        index = (out[:, 0] >= 0.5).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)
        return np.asarray(self.classes, dtype=object)[index]

    def save(self, path):
        return io.save(self, path)

    def _to_file(self):
        header, arrays = self.network._to_file()
        e = self.encoder
        header.update(target=self.target, classes=self.classes, features=e.features,
                      categories=e.categories, target_mean=self.target_mean,
                      target_scale=self.target_scale)
        arrays.update(mean=e.mean_, scale=e.scale_)
        return header, arrays

    @classmethod
    def _from_file(cls, header, arrays):
        encoder = Encoder()
        encoder.features, encoder.categories = list(header["features"]), dict(header["categories"])
        encoder.mean_, encoder.scale_ = arrays["mean"], arrays["scale"]
        network = Network._from_file(header, arrays)
        n = len(encoder.output_names)
        if encoder.mean_.shape != (n,) or encoder.scale_.shape != (n,) or network.n_inputs != n:
            raise ValueError(f"the features encode to {n} columns, but the scaling has "
                             f"{encoder.mean_.shape} and the network {network.n_inputs} inputs")
        classes = header["classes"]
        if classes is not None and network.n_outputs != (1 if len(classes) == 2 else len(classes)):
            raise ValueError(f"{len(classes)} classes do not fit {network.n_outputs} outputs")
        return cls(network, encoder, header["target"], classes,
                   header.get("target_mean", 0.0), header.get("target_scale", 1.0))
