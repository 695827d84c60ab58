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

from typing import Any

from ._compat import BaseEstimator, TransformerMixin
from ._encoding import TableEncoding, TabularModel, TargetEncoder
from ._table import Table

__all__ = ["Table", "TableEncoder", "TabularModel", "TargetEncoder"]


class TableEncoder(TransformerMixin, BaseEstimator, TableEncoding):
    """Encode a table's columns as numbers: a scikit-learn transformer (``fit``,
    ``transform``, ``fit_transform``, ``get_feature_names_out``; works in a ``Pipeline``),
    usable without scikit-learn too.

    Numbers are standardised, text is one-hot encoded (then standardised), identifiers and
    dates are dropped with a warning, values too large to standardise are refused: see the
    ``nnfast.tabular`` module docstring for the rules. ``nnfast train`` encodes CSV files
    with the same rules (``TableEncoding``, this class without the scikit-learn protocol),
    so a table gives the same features in Python as on the command line.

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

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        return tags

    def _more_tags(self) -> dict[str, Any]:
        return {"requires_y": False, "X_types": ["2darray", "string", "categorical"]}

    def __sklearn_is_fitted__(self) -> bool:
        return self._is_fitted()
