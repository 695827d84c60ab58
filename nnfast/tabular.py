"""Tabular data from CSV files: read, encode (one-hot categories, scale numbers), and a model
that keeps that encoding next to its network so ``predict`` works on raw rows."""
from __future__ import annotations

import csv

import numpy as np

from . import io
from .network import Network


class Table:
    """Columns of a CSV file: ``names`` and one list of strings per column."""

    def __init__(self, names, columns):
        self.names, self.columns = names, columns

    @classmethod
    def read(cls, path):
        try:
            with open(path, newline="") as f:
                rows = [r for r in csv.reader(f) if r]
        except FileNotFoundError:
            raise ValueError(f"no such file: {path}") from None
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise ValueError(f"cannot read {path}: {exc}") from None
        if len(rows) < 2:
            raise ValueError(f"{path} needs a header row and at least one data row.")
        names = [n.strip() for n in rows[0]]
        for i, row in enumerate(rows[1:], start=2):
            if len(row) != len(names):
                raise ValueError(f"{path} line {i} has {len(row)} fields, the header has {len(names)}.")
        return cls(names, [[r[c].strip() for r in rows[1:]] for c in range(len(names))])

    def column(self, name):
        if name not in self.names:
            raise ValueError(f"unknown column {name!r}; the columns are {self.names}.")
        return self.columns[self.names.index(name)]


def _natural(value):
    """Sort key: numbers by value, before other strings."""
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def _as_numbers(values):
    """Floats, or None when any value is not a number (a categorical column)."""
    try:
        out = np.array([float(v) for v in values])
    except ValueError:
        return None
    return out if np.isfinite(out).all() else None


class Encoder:
    """Feature encoding learnt from a table: numbers standardised, categories one-hot."""

    def fit(self, table, features, categorical=()):
        """Learn the encoding; ``categorical`` names numeric columns to one-hot encode too."""
        self.features, self.categories = list(features), {}
        for name in self.features:
            values = table.column(name)
            if any(v == "" for v in values):
                raise ValueError(f"column {name!r} has empty values.")
            if name in categorical or _as_numbers(values) is None:
                self.categories[name] = sorted(set(values), key=_natural)
        X = self._raw(table)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def _raw(self, table):
        parts = []
        for name in self.features:
            values = table.column(name)
            if name in self.categories:
                levels = self.categories[name]
                parts.append(np.array([[v == level for level in levels] for v in values], float))
            else:
                numbers = _as_numbers(values)
                if numbers is None:
                    raise ValueError(f"column {name!r} must hold numbers (it did when trained).")
                parts.append(numbers[:, None])
        return np.hstack(parts)

    def transform(self, table):
        return (self._raw(table) - self.mean_) / self.scale_

    @property
    def output_names(self):
        names = []
        for name in self.features:
            names += [f"{name}={c}" for c in self.categories[name]] if name in self.categories else [name]
        return names


@io.register
class TabularModel:
    """A Network plus the encoding of its CSV columns and the target's classes (if any)."""

    def __init__(self, network, encoder, target, classes=None):
        self.network, self.encoder, self.target, self.classes = network, encoder, target, classes

    def predict(self, table):
        out = self.network.feedforward(self.encoder.transform(table))
        if self.classes is None:
            return out[:, 0]
        index = (out[:, 0] >= 0.5).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)
        return np.asarray(self.classes, dtype=object)[index]

    def save(self, path):
        return io.save(self, path)

    def _to_file(self):
        header, arrays = self.network._to_file()
        e = self.encoder
        header.update(target=self.target, classes=self.classes, features=e.features,
                      categories=e.categories)
        arrays.update(mean=e.mean_, scale=e.scale_)
        return header, arrays

    @classmethod
    def _from_file(cls, header, arrays):
        encoder = Encoder()
        encoder.features, encoder.categories = header["features"], header["categories"]
        encoder.mean_, encoder.scale_ = arrays["mean"], arrays["scale"]
        return cls(Network._from_file(header, arrays), encoder, header["target"], header["classes"])
