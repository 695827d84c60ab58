"""Loaders for the small data sets of the classic lessons, bundled in ``nnfast/data``.

Each loader returns a ``Dataset``: it unpacks as ``X, y`` and also carries the column names.
Sources and licences: ``nnfast/data/PROVENANCE.md``.
"""
from __future__ import annotations

import csv
import io
from importlib import resources

import numpy as np


class Dataset(tuple):
    """``(X, y)`` with names: unpack it as ``X, y = load_...()``.

    Attributes
    ----------
    X : ndarray of float64, shape (n_samples, n_features)
    y : ndarray of int, shape (n_samples,)
    feature_names : tuple of str
        One name per column of X.
    target_names : tuple of str
        What each label means: ``target_names[label]``.
    sample_names : tuple of str or None
        One name per row, where the rows have names.
    """

    def __new__(cls, X, y, feature_names, target_names, sample_names=None):
        self = super().__new__(cls, (X, y))
        self.feature_names = tuple(feature_names)
        self.target_names = tuple(target_names)
        self.sample_names = None if sample_names is None else tuple(sample_names)
        return self

    def __getnewargs__(self):  # pickle and copy through __new__
        return (self.X, self.y, self.feature_names, self.target_names, self.sample_names)

    @property
    def X(self):
        return self[0]

    @property
    def y(self):
        return self[1]

    def __repr__(self):
        return (f"Dataset(X: {self.X.shape}, y: {self.y.shape}, "
                f"feature_names={self.feature_names}, target_names={self.target_names})")


def _read(name):
    """The rows of a bundled CSV file as lists of strings (importlib.resources: works from
    a wheel or a zip)."""
    text = resources.files("nnfast").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.reader(io.StringIO(text)))


def load_admissions(preprocess=False):
    """The 400 graduate-school applicants of Udacity's student-admissions lesson.

    Parameters
    ----------
    preprocess : bool
        False: the raw columns ``gre, gpa, rank``. True: the lesson's preprocessing in one
        call: ``rank`` one-hot encoded into ``rank_1 .. rank_4``, ``gre / 800`` and
        ``gpa / 4.0``, so the columns are ``gre, gpa, rank_1, rank_2, rank_3, rank_4`` all in
        [0, 1].

    Returns
    -------
    Dataset
        ``X`` (400, 3) or (400, 6); ``y`` the ``admit`` label (1 admitted, 0 not; 127 ones).

    Examples
    --------
    >>> from nnfast.datasets import load_admissions
    >>> X, y = load_admissions(preprocess=True)
    >>> X.shape, float(1 - y.mean())     # share of the majority class
    ((400, 6), 0.6825)
    """
    header, *rows = _read("student_data.csv")
    data = np.array(rows, dtype=np.float64)
    y = data[:, 0].astype(np.intp)
    gre, gpa, rank = data[:, 1], data[:, 2], data[:, 3]
    targets = ("not admitted", "admitted")
    if not preprocess:
        return Dataset(np.ascontiguousarray(data[:, 1:]), y, header[1:], targets)
    ranks = (rank[:, None] == np.arange(1, 5)).astype(np.float64)
    X = np.column_stack([gre / 800.0, gpa / 4.0, ranks])
    names = ("gre", "gpa", "rank_1", "rank_2", "rank_3", "rank_4")
    return Dataset(X, y, names, targets)


def load_perceptron_points():
    """The 100 labelled 2-D points of Udacity's perceptron-algorithm and gradient-descent
    lessons (not linearly separable: the best line gets 95 right).

    Returns
    -------
    Dataset
        ``X`` (100, 2) with columns ``x1, x2``; ``y`` (100,) in {0, 1} (the first 50 are 1).
    """
    data = np.array(_read("gradient_descent_data.csv"), dtype=np.float64)
    return Dataset(np.ascontiguousarray(data[:, :2]), data[:, 2].astype(np.intp),
                   ("x1", "x2"), ("0", "1"))


def load_gender(shift=True):
    """Victor Zhou's four people: weight and height, and gender as the label.

    Parameters
    ----------
    shift : bool
        True (the post's inputs): weight - 135 lb and height - 66 in. False: weight in lb
        and height in inches.

    Returns
    -------
    Dataset
        ``X`` (4, 2); ``y`` (4,) with 1 = female, 0 = male, as in the post;
        ``sample_names`` Alice, Bob, Charlie, Diana.
    """
    header, *rows = _read("victorzhou_gender.csv")
    cols = (4, 5) if shift else (1, 2)
    X = np.array([[float(r[c]) for c in cols] for r in rows])
    y = np.array([int(r[6]) for r in rows], dtype=np.intp)
    return Dataset(X, y, [header[c] for c in cols], ("male", "female"), [r[0] for r in rows])
