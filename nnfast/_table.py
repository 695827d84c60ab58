"""Tables of mixed columns: read a CSV file (``Table``), and access the named columns of
any table ``TableEncoder`` accepts (a CSV ``Table``, a pandas DataFrame, a 2-D array), value
by value."""

from __future__ import annotations

import csv
import math
import numbers
import os
import re
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ._validation import format_bytes, memory_limit

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ._typing import FloatArray, StrPath

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
    r"|\d{1,2}[/.-]\d{1,2}[/.-]\d{4}( \d{1,2}:\d{2}(:\d{2})?)?"
)


class Table:
    """The columns of a CSV file with a header row: ``names``, and one list of strings per
    column in ``columns``; ``lines[i]`` is the file line of data row ``i`` (for messages)."""

    names: list[str]
    columns: list[list[str]]
    lines: list[int]
    path: str

    def __init__(
        self,
        names: Iterable[str],
        columns: list[list[str]],
        lines: Iterable[int] | None = None,
        path: str = "<table>",
    ) -> None:
        self.names, self.columns, self.path = list(names), columns, path
        self.lines = list(lines) if lines is not None else list(range(2, self.n_rows + 2))

    @property
    def n_rows(self) -> int:
        """The number of data rows."""
        return len(self.columns[0]) if self.columns else 0

    @classmethod
    def read(cls, path: StrPath) -> Table:
        """Read a comma-separated file (UTF-8, an optional BOM; blank lines are skipped)."""
        path = str(path)
        limit = memory_limit()
        try:
            size = os.path.getsize(path)
        except OSError:
            size = 0  # open() below says what is wrong
        if limit is not None and size * CSV_EXPANSION > limit:
            raise ValueError(
                f"{path} has {format_bytes(size)}: read into memory it would take "
                f"about {format_bytes(size * CSV_EXPANSION)}, more than this "
                f"machine has ({format_bytes(limit)})."
            )
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
                raise ValueError(
                    f"{path} line {line} has {len(row)} fields, the header has {len(names)}."
                )
            if any("\0" in v for v in row):
                raise ValueError(
                    f"{path} line {line} holds a NUL character: it is not a text "
                    f"CSV file (or it is damaged)."
                )
        columns = [[r[c].strip() for _, r in rows[1:]] for c in range(len(names))]
        return cls(names, columns, [line for line, _ in rows[1:]], path)

    def column(self, name: str) -> list[str]:
        """The values (strings) of column ``name``; ValueError listing the columns if unknown."""
        if name not in self.names:
            raise ValueError(
                f"{self.path} has no column {name!r}; its columns are {', '.join(self.names)}."
            )
        return self.columns[self.names.index(name)]

    def where(self, i: int) -> str:
        """Where data row ``i`` is, for messages: ``data.csv line 7``."""
        return f"{self.path} line {self.lines[i]}"

    def numbers(self, name: str) -> FloatArray:
        """Column ``name`` as float64; ValueError naming the first line that is not a number."""
        values = self.column(name)
        out = _parse(values)
        bad = np.flatnonzero(~np.isfinite(out))
        if bad.size:
            i = bad[0]
            what = (
                "a missing value"
                if values[i].lower() in MISSING
                else "a value that is not a number"
            )
            raise ValueError(
                f"column {name!r} must hold numbers, but {self.where(i)} has {what}: {values[i]!r}."
            )
        return out

    def is_numeric(self, name: str) -> bool:
        """True for a column of numbers, False for categories (most values are not numbers).

        A mostly numeric column with values that are not finite numbers raises the error of
        ``numbers``: a missing value or a typo should be fixed, not one-hot encoded.
        """
        n_numbers = int(np.isfinite(_parse(self.column(name))).sum())
        if 2 * n_numbers <= self.n_rows:
            return False
        self.numbers(name)
        return True


def _parse(values: Sequence[str]) -> FloatArray:
    """float64 array of ``values``, NaN where a value is not a number (or is missing)."""
    out = np.empty(len(values))
    for i, v in enumerate(values):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            out[i] = np.nan
    return out


def _natural(value: str) -> tuple[int, float, str]:
    """Sort key: numbers by value, before other strings."""
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


# --- columns of any table: a CSV Table, a pandas DataFrame, a 2-D array ---------------------


class _Columns:
    """Uniform access to the named columns of the tables ``TableEncoder`` accepts."""

    names: list[str]
    n_rows: int
    kinds: list[str]  # per column: "number", "text", "date", "category" or "other"
    where: Callable[[int], str]
    _get: Callable[[int], Any]

    def __init__(self, X: Any) -> None:
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
                raise ValueError(
                    f"X must be a table (a pandas DataFrame, an nnfast Table or a 2-D array): {exc}"
                ) from None
            if arr.ndim != 2:
                raise ValueError(
                    f"X must be 2-D (rows x columns), got an array of shape {arr.shape}."
                )
            self.names = [f"x{j}" for j in range(arr.shape[1])]
            self.n_rows = arr.shape[0]
            self._get = lambda j: arr[:, j]
            kind = (
                "date"
                if arr.dtype.kind == "M"
                else "number"
                if arr.dtype.kind in "biuf"
                else "text"
                if arr.dtype.kind in "USO"
                else "other"
            )
            self.kinds = [kind] * arr.shape[1]
        if len(set(self.names)) != len(self.names):
            raise ValueError(
                f"X has repeated column names: "
                f"{sorted({n for n in self.names if self.names.count(n) > 1})}."
            )

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def values(self, name: str) -> Any:
        """The column's values: a float array ("number"), else a list of Python objects."""
        j = self.names.index(name)
        kind, col = self.kinds[j], self._get(j)
        if kind == "number":
            return np.asarray(col, dtype=np.float64)
        if hasattr(col, "tolist"):
            return col.tolist()
        return list(col)

    def kind(self, name: str) -> str:
        return self.kinds[self.names.index(name)]


def _pandas_kind(series: Any) -> str:
    dtype = series.dtype
    if str(dtype) == "category":
        return "category"
    kind = getattr(dtype, "kind", "O")
    if kind in "biuf" and not str(dtype).startswith(("Int", "UInt", "Float", "boolean")):
        return "number"
    if kind == "M" or "datetime" in str(dtype):
        return "date"
    return "text"  # object, string, category, nullable numbers (with NA): value by value


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str):
        return value.strip().lower() in MISSING
    return type(value).__name__ in ("NAType", "NaTType")


def _number(value: object) -> float | None:
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


def _label(value: object) -> str:
    """A category's text: 3 for 3.0, the string itself for text."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value.strip()
    number = _number(value)
    if number is not None and number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return str(value)


def _dates(values: Iterable[object]) -> bool:
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
