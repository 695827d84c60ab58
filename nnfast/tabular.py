"""Tables of mixed columns: read a CSV file, encode its features as numbers (``TableEncoder``,
a scikit-learn-compatible transformer), encode its target, and keep those encodings next to
a network (``TabularModel``) so that ``predict`` works on raw rows. The command line
(``nnfast train``) is built from these pieces.

How ``TableEncoder`` treats a column (the same in the command line and in a Pipeline):

- **numbers** (every value a finite number, or text that reads as one) are standardised;
- **text** (most values are not numbers) is one-hot encoded, one column per value;
- a column of numbers with a few other values in it (``NA``, ``?``, a typo) is an error
  that names the row, never a silent switch to categories;
- **identifiers** (a text column whose values are all different, such as an ID or a name,
  or with more than 20 values and more values than half its rows) and **dates** (text that
  reads as dates, or a datetime column) are dropped with a warning naming the column:
  one-hot encoding them would add a column per row and learn nothing that carries over to
  new rows. Name a column in ``categorical`` to one-hot encode it anyway;
- columns named in ``categorical`` are one-hot encoded even when they hold numbers
  (``rank`` in the admissions data, as the lessons encode it);
- values too large to standardise (a column of +-1e308) are refused, naming the column.

Every encoded column (one-hot ones included) is standardised with the mean and standard
deviation of the rows ``fit`` saw, ``(x - mean_) / scale_``; constant columns keep scale 1.
"""
from __future__ import annotations

import csv
import math
import numbers
import os
import re
import warnings

import numpy as np

from . import io
from ._estimator import BaseEstimator
from ._validation import check_number, format_bytes, memory_limit
from .network import Network

MAX_CLASSES = 20  # "auto": an integer target with at most this many values is a class label
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?", "-"})
#: Bytes of memory a CSV file takes per byte once read (a str object and list slots per
#: field, then the float matrix): about 10; a file this much larger than memory is refused.
CSV_EXPANSION = 16
#: A text column with more values than this, and than half its rows, is an identifier.
MAX_LEVELS = 20
_DATE = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?"
    r"|\d{4}/\d{1,2}/\d{1,2}( \d{1,2}:\d{2}(:\d{2})?)?"
    r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{4}( \d{1,2}:\d{2}(:\d{2})?)?")


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
        limit = memory_limit()
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0  # open() below says what is wrong
        if limit is not None and size * CSV_EXPANSION > limit:
            raise ValueError(f"{path} has {format_bytes(size)}: read into memory it would take "
                             f"about {format_bytes(size * CSV_EXPANSION)}, more than this "
                             f"machine has ({format_bytes(limit)}).")
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
            if any("\0" in v for v in row):
                raise ValueError(f"{path} line {line} holds a NUL character: it is not a text "
                                 f"CSV file (or it is damaged).")
        columns = [[r[c].strip() for _, r in rows[1:]] for c in range(len(names))]
        return cls(names, columns, [line for line, _ in rows[1:]], path)

    def column(self, name):
        """The values (strings) of column ``name``; ValueError listing the columns if unknown."""
        if name not in self.names:
            raise ValueError(f"{self.path} has no column {name!r}; its columns are "
                             f"{', '.join(self.names)}.")
        return self.columns[self.names.index(name)]

    def where(self, i):
        """Where data row ``i`` is, for messages: ``data.csv line 7``."""
        return f"{self.path} line {self.lines[i]}"

    def numbers(self, name):
        """Column ``name`` as float64; ValueError naming the first line that is not a number."""
        values = self.column(name)
        out = _parse(values)
        bad = np.flatnonzero(~np.isfinite(out))
        if bad.size:
            i = bad[0]
            what = "a missing value" if values[i].lower() in MISSING else "a value that is not a number"
            raise ValueError(f"column {name!r} must hold numbers, but {self.where(i)} has "
                             f"{what}: {values[i]!r}.")
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
        except (TypeError, ValueError):
            out[i] = np.nan
    return out


def _natural(value):
    """Sort key: numbers by value, before other strings."""
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


# --- columns of any table: a CSV Table, a pandas DataFrame, a 2-D array ---------------------

class _Columns:
    """Uniform access to the named columns of the tables ``TableEncoder`` accepts."""

    def __init__(self, X):
        self.where = lambda i: f"row {i}"
        if isinstance(X, Table):
            self.names, self.n_rows = list(X.names), X.n_rows
            self._get = lambda j: X.columns[j]
            self.where, self.kinds = X.where, ["text"] * len(X.names)
            return
        if hasattr(X, "columns") and hasattr(X, "iloc") and hasattr(X, "dtypes"):  # pandas
            self.names = [str(c) for c in X.columns]
            self.n_rows = len(X)
            self._get = lambda j: X.iloc[:, j]
            self.kinds = [_pandas_kind(X.iloc[:, j]) for j in range(X.shape[1])]
        else:
            try:
                arr = np.asarray(X)
            except Exception as exc:  # ragged lists
                raise ValueError(f"X must be a table (a pandas DataFrame, an nnfast Table or "
                                 f"a 2-D array): {exc}") from None
            if arr.ndim != 2:
                raise ValueError(f"X must be 2-D (rows x columns), got an array of shape "
                                 f"{arr.shape}.")
            self.names = [f"x{j}" for j in range(arr.shape[1])]
            self.n_rows = arr.shape[0]
            self._get = lambda j: arr[:, j]
            kind = ("date" if arr.dtype.kind == "M" else "number" if arr.dtype.kind in "biuf"
                    else "text" if arr.dtype.kind in "USO" else "other")
            self.kinds = [kind] * arr.shape[1]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"X has repeated column names: "
                             f"{sorted({n for n in self.names if self.names.count(n) > 1})}.")

    def __contains__(self, name):
        return name in self.names

    def values(self, name):
        """The column's values: a float array ("number"), else a list of Python objects."""
        j = self.names.index(name)
        kind, col = self.kinds[j], self._get(j)
        if kind == "number":
            return np.asarray(col, dtype=np.float64)
        if hasattr(col, "tolist"):
            return col.tolist()
        return list(col)

    def kind(self, name):
        return self.kinds[self.names.index(name)]


def _pandas_kind(series):
    dtype = series.dtype
    if str(dtype) == "category":
        return "category"
    kind = getattr(dtype, "kind", "O")
    if kind in "biuf" and not str(dtype).startswith(("Int", "UInt", "Float", "boolean")):
        return "number"
    if kind == "M" or "datetime" in str(dtype):
        return "date"
    return "text"  # object, string, category, nullable numbers (with NA): value by value


def _is_missing(value):
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return value.strip().lower() in MISSING
    return type(value).__name__ in ("NAType", "NaTType")


def _number(value):
    """``value`` as a float when it is (or reads as) a finite number, else None."""
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, (str, bytes)):
        try:
            value = float(value)
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    return None


def _label(value):
    """A category's text: 3 for 3.0, the string itself for text."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value.strip()
    number = _number(value)
    if number is not None and number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return str(value)


def _dates(values):
    """Whether every (non-missing) value is a date: datetime objects, or text in a common
    date format (2024-03-01, 2024/03/01, 01/03/2024, with an optional time)."""
    seen = False
    for v in values:
        if _is_missing(v):
            continue
        if hasattr(v, "year") and hasattr(v, "month") and hasattr(v, "day"):
            seen = True
            continue
        if not isinstance(v, str) or not _DATE.fullmatch(v.strip()):
            return False
        seen = True
    return seen


class TableEncoder(BaseEstimator):
    """Encode a table's columns as numbers: scikit-learn's transformer protocol (``fit``,
    ``transform``, ``fit_transform``, ``get_feature_names_out``; works in a ``Pipeline``),
    without needing scikit-learn.

    Numbers are standardised, text is one-hot encoded (then standardised), identifiers and
    dates are dropped with a warning, values too large to standardise are refused: see the
    ``nnfast.tabular`` module docstring for the rules. ``nnfast train`` encodes CSV files
    with this class, so a table gives the same features in Python as on the command line.

    Parameters
    ----------
    categorical : sequence of str, default=()
        Columns to one-hot encode even though they hold numbers (or look like identifiers).
    features : sequence of str or None, default=None
        The columns to use, in this order (None: every column not in ``drop``).
    drop : sequence of str, default=()
        Columns to leave out.

    Accepted tables: a pandas DataFrame (columns by name), an ``nnfast.tabular.Table`` (a
    CSV file), or a 2-D NumPy array (columns named ``x0``, ``x1``, ...; text arrays too).

    Attributes
    ----------
    features_ : list of str
        The columns encoded, in order.
    categories_ : dict
        ``{column: [values]}`` of the one-hot encoded columns.
    dropped_ : dict
        ``{column: reason}`` of the columns left out automatically (identifiers, dates).
    mean_, scale_ : ndarray of shape (n_features_out,)
        The standardisation of each encoded column.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    Examples
    --------
    >>> import pandas as pd, nnfast as nf
    >>> df = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0], "color": ["red", "blue", "red", "red"]})
    >>> enc = nf.TableEncoder().fit(df)
    >>> enc.get_feature_names_out().tolist()
    ['size', 'color=blue', 'color=red']
    """

    def __init__(self, categorical=(), features=None, drop=()):
        self.categorical = categorical
        self.features = features
        self.drop = drop

    # --- scikit-learn protocol ------------------------------------------------------------

    def __sklearn_tags__(self):
        from sklearn.utils import Tags, TargetTags, TransformerTags

        tags = Tags(estimator_type=None, target_tags=TargetTags(required=False),
                    transformer_tags=TransformerTags(), regressor_tags=None,
                    classifier_tags=None)
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags

    def _more_tags(self):
        return {"requires_y": False, "X_types": ["2darray", "string", "categorical"]}

    def _is_fitted(self):
        return "features_" in self.__dict__

    def fit(self, X, y=None):
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
            raise ValueError("there are no feature columns to encode (features and drop leave "
                             "none).")
        if columns.n_rows < 1:
            raise ValueError("X has no rows.")
        features, categories, dropped = [], {}, {}
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
            raise ValueError(f"there are no feature columns left: {', '.join(dropped)} "
                             f"{'was' if len(dropped) == 1 else 'were'} dropped (name them in "
                             f"categorical to one-hot encode them anyway).")
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

    def transform(self, X):
        """The encoded, standardised float64 matrix of the table's rows (columns looked up by
        name; others ignored)."""
        self._check_fitted("transform")
        columns = _Columns(X)
        with np.errstate(over="ignore", invalid="ignore"):
            out = (self._raw(columns) - self.mean_) / self.scale_
        if not np.isfinite(out).all():
            j = int(np.flatnonzero(~np.isfinite(out).all(axis=0))[0])
            raise ValueError(f"column {self._source(j)!r} has values too large to standardise "
                             f"(scale it down first).")
        return out

    def fit_transform(self, X, y=None):
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self, input_features=None):
        """Names of the encoded columns: ``gre``, ``rank=1``, ``rank=2``, ..."""
        self._check_fitted("get_feature_names_out")
        names = []
        for name in self.features_:
            names += ([f"{name}={c}" for c in self.categories_[name]]
                      if name in self.categories_ else [name])
        return np.asarray(names, dtype=object)

    def describe(self):
        """One line: which columns are scaled numbers and which are one-hot categories."""
        self._check_fitted("describe")
        parts = [f"{n} (one-hot, {len(self.categories_[n])} values)" if n in self.categories_
                 else n for n in self.features_]
        return ", ".join(parts)

    # --- the rules --------------------------------------------------------------------------

    @staticmethod
    def _names(what, names, columns):
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
                raise ValueError(f"{what} names the column {n!r}, which X does not have; its "
                                 f"columns are {', '.join(columns.names)}.")
        return names

    def _kind(self, columns, name, forced):
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
                raise ValueError(f"column {name!r} must hold numbers, but {columns.where(i)} "
                                 f"has {what}.")
            return "category" if forced else "number"
        values = columns.values(name)
        parsed = [_number(v) for v in values]
        n_numbers = sum(p is not None for p in parsed)
        if forced:
            return "category"
        if 2 * n_numbers > len(values):  # numbers, with a few values to fix
            if n_numbers < len(values):
                i = next(i for i, p in enumerate(parsed) if p is None)
                what = ("a missing value" if _is_missing(values[i])
                        else "a value that is not a number")
                raise ValueError(f"column {name!r} must hold numbers, but {columns.where(i)} "
                                 f"has {what}: {values[i]!r}.")
            return "number"
        if _dates(values):
            return "date"
        levels = len({_label(v) for v in values if not _is_missing(v)})
        n = len(values)
        if (levels == n >= 3) or levels > max(MAX_LEVELS, n // 2):
            return "identifier"
        return "category"

    @staticmethod
    def _levels(columns, name):
        values = columns.values(name)
        for i, v in enumerate(values):
            if _is_missing(v) and not (isinstance(v, str) and v.strip()):
                raise ValueError(f"column {name!r} has an empty value on {columns.where(i)}.")
        return sorted({_label(v) for v in values}, key=_natural)

    def _raw(self, columns):
        parts = []
        for name in self.features_:
            if name not in columns:
                raise ValueError(f"X has no column {name!r}; the encoder was fitted on "
                                 f"{', '.join(self.features_)}.")
            if name in self.categories_:
                parts.append(self._one_hot(columns, name))
            elif columns.kind(name) == "number":
                values = columns.values(name)
                bad = np.flatnonzero(~np.isfinite(values))
                if bad.size:
                    raise ValueError(f"column {name!r} must hold numbers, but "
                                     f"{columns.where(bad[0])} has a missing or infinite "
                                     f"value.")
                parts.append(values[:, None])
            else:
                values = columns.values(name)
                out = np.empty(len(values))
                for i, v in enumerate(values):
                    number = _number(v)
                    if number is None:
                        what = ("a missing value" if _is_missing(v)
                                else "a value that is not a number")
                        raise ValueError(f"column {name!r} must hold numbers, but "
                                         f"{columns.where(i)} has {what}: {v!r}.")
                    out[i] = number
                parts.append(out[:, None])
        return np.hstack(parts) if parts else np.zeros((columns.n_rows, 0))

    def _one_hot(self, columns, name):
        levels = self.categories_[name]
        index = {v: i for i, v in enumerate(levels)}
        values = columns.values(name)
        codes = np.empty(len(values), dtype=np.intp)
        for i, v in enumerate(values):
            code = index.get(_label(v))
            if code is None:
                shown = ", ".join(repr(v) for v in levels[:10]) + (", ..." if len(levels) > 10
                                                                    else "")
                raise ValueError(f"column {name!r} has the value {_label(v)!r} on "
                                 f"{columns.where(i)}, which the model did not see in "
                                 f"training (known values: {shown}).")
            codes[i] = code
        out = np.zeros((len(values), len(levels)))
        out[np.arange(len(values)), codes] = 1.0
        return out

    def _check_scalable(self, mean, std):
        bad = ~(np.isfinite(mean) & np.isfinite(std))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ValueError(f"column {self._source(j)!r} has values too large to standardise "
                             f"(its mean or standard deviation overflows): divide it by a "
                             f"power of ten first, or drop it.")

    def _source(self, j):
        """The table column that encoded column ``j`` comes from."""
        for name in self.features_:
            width = len(self.categories_[name]) if name in self.categories_ else 1
            if j < width:
                return name
            j -= width
        return "?"

    def _check_fitted(self, method):
        if not self._is_fitted():
            from ._estimator import not_fitted

            raise not_fitted(self, method)



def _dropped_reason(name, reason):
    if reason == "date":
        return (f"column {name!r} holds dates: dropped (turn it into numbers, such as a day "
                f"of the year, to use it)")
    return (f"column {name!r} looks like an identifier (nearly every row has a value of its "
            f"own): dropped (name it in --categorical / categorical to one-hot encode it)")


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
            numbers_ = table.numbers(name) if numeric else None
            task = "regression" if numeric and not (
                np.all(numbers_ == np.round(numbers_)) and len(set(values)) <= MAX_CLASSES
            ) else "classification"
        if task == "regression":
            y = table.numbers(name)
            with np.errstate(over="ignore", invalid="ignore"):
                mean, std = float(y.mean()), float(y.std())
            if not (math.isfinite(mean) and math.isfinite(std)):
                raise ValueError(f"the target column {name!r} has values too large to "
                                 f"standardise (its mean or standard deviation overflows): "
                                 f"divide it by a power of ten first.")
            self.classes, self.mean_, self.scale_ = None, mean, std if std > 0 else 1.0
            return self
        levels = _text_levels(table, name)
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
        index = {v: i for i, v in enumerate(self.classes)}
        return np.array([index[v] for v in table.column(self.name)], dtype=np.float64)

    def true_values(self, table):
        """The target as the user sees it: labels (object array) or numbers."""
        if self.classes is None:
            return table.numbers(self.name)
        return np.asarray(table.column(self.name), dtype=object)


def _text_levels(table, name):
    values = table.column(name)
    if "" in values:
        raise ValueError(f"column {name!r} has an empty value on "
                         f"{table.where(values.index(''))}.")
    return sorted(set(values), key=_natural)


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
                f"features={self.encoder.features_})")

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
        header.update(target=self.target, classes=self.classes, features=e.features_,
                      categories=e.categories_, target_mean=self.target_mean,
                      target_scale=self.target_scale)
        arrays.update(mean=e.mean_, scale=e.scale_)
        return header, arrays

    @classmethod
    def _file_shapes(cls, header):
        shapes = Network._file_shapes(header)
        n_inputs = header["layer_sizes"][0]
        return {**shapes, "mean": (n_inputs,), "scale": (n_inputs,)}

    @classmethod
    def _from_file(cls, header, arrays):
        features = _strings(header["features"], "features")
        categories = header["categories"]
        if not isinstance(categories, dict) or not set(categories) <= set(features):
            raise ValueError("categories must map some of the features to their values")
        categories = {k: _strings(v, f"categories[{k!r}]") for k, v in categories.items()}
        if len(set(features)) != len(features) or any(not v for v in categories.values()):
            raise ValueError("features must be distinct and categories non-empty")
        encoder = TableEncoder()
        encoder.features_, encoder.categories_, encoder.dropped_ = features, categories, {}
        mean = _finite_array(arrays, "mean")
        scale = _finite_array(arrays, "scale")
        if (scale <= 0).any():
            raise ValueError("scale must be positive")
        encoder.mean_, encoder.scale_ = mean, scale
        network = Network._from_file(header, arrays)
        n = len(encoder.get_feature_names_out())
        if mean.shape != (n,) or scale.shape != (n,) or network.n_inputs != n:
            raise ValueError(f"the features encode to {n} columns, but the scaling has "
                             f"{mean.shape} and the network {network.n_inputs} inputs")
        classes = header["classes"]
        if classes is not None:
            classes = _strings(classes, "classes")
            if network.n_outputs != (1 if len(classes) == 2 else len(classes)) or \
                    len(classes) < 2:
                raise ValueError(f"{len(classes)} classes do not fit {network.n_outputs} "
                                 f"outputs")
        target = header["target"]
        if not isinstance(target, str):
            raise ValueError("target must be a column name")
        target_mean = check_number(header.get("target_mean", 0.0), "target_mean")
        target_scale = check_number(header.get("target_scale", 1.0), "target_scale", 0.0,
                                    low_open=True)
        return cls(network, encoder, target, classes, target_mean, target_scale)


def _strings(values, name):
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"{name} must be a list of strings")
    return list(values)


def _finite_array(arrays, key):
    arr = np.asarray(arrays[key], dtype=np.float64)
    if arr.ndim != 1 or not np.isfinite(arr).all():
        raise ValueError(f"{key} must be a vector of finite numbers")
    return np.ascontiguousarray(arr)
